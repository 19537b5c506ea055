//! rustls stacked under a machine: ciphertext in and out on the transport side, plaintext
//! in and out on the machine's side.
//!
//! rustls is itself sans-I/O, so the layer is plain bookkeeping around two buffers that
//! rustls owns: plaintext it decrypted but the machine has not accepted yet (left inside
//! rustls, read with `fill_buf`/`consume`, so nothing is copied twice), and plaintext the
//! machine transmitted that rustls has not encrypted yet (during the handshake).
//!
//! Backpressure works as without TLS. The layer stops taking ciphertext while decrypted
//! plaintext waits for the machine; once the machine wants input again,
//! [`poll_timeout`](TlsLayer::poll_timeout) asks for an immediate `handle_timeout`, which
//! delivers the rest, because the driver may hold no unaccepted bytes that would make it
//! call `handle_input` again.

use std::io::{BufRead, Write};
use std::time::Duration;

use bytes::{Buf, Bytes};
use wirestate_core::time::earliest;
use wirestate_core::{Instant, Machine};

use super::TlsError;

/// Stop encrypting the machine's output once this much ciphertext is ready to go, so one
/// transmit stays a bounded allocation.
const TRANSMIT_BATCH: usize = 256 * 1024;

/// Where the handshake is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Handshake {
    /// Not started on the clock: the first `now` seen arms the timeout.
    Unarmed,
    /// In progress; fails at this deadline.
    Until(Instant),
    /// Finished.
    Done,
}

/// Where the layer is.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Phase {
    /// Passing bytes both ways.
    Running,
    /// Failed: the alert rustls queued (if any) is still sent, then nothing.
    Failed(TlsError),
}

/// A TLS session under a machine; see the module docs.
#[derive(Debug)]
pub struct TlsLayer {
    conn: rustls::Connection,
    handshake: Handshake,
    handshake_timeout: Duration,
    phase: Phase,
    /// The machine's transmit that rustls has not taken in full yet.
    outgoing: Bytes,
    /// Decrypted plaintext waits inside rustls because the machine stopped accepting.
    plaintext_waiting: bool,
    /// The transport ended; the machine hears of it once the plaintext before it is in.
    transport_ended: bool,
    /// The machine was told its input ended (close_notify, transport end or failure).
    eof_delivered: bool,
    /// Our close_notify is queued.
    close_sent: bool,
    /// The transport ended without the peer's close_notify.
    truncated: bool,
}

impl TlsLayer {
    pub(crate) fn new(conn: rustls::Connection, handshake_timeout: Duration) -> Self {
        TlsLayer {
            conn,
            handshake: Handshake::Unarmed,
            handshake_timeout,
            phase: Phase::Running,
            outgoing: Bytes::new(),
            plaintext_waiting: false,
            transport_ended: false,
            eof_delivered: false,
            close_sent: false,
            truncated: false,
        }
    }

    /// Why the session failed, once it has.
    pub fn error(&self) -> Option<&TlsError> {
        match &self.phase {
            Phase::Failed(error) => Some(error),
            Phase::Running => None,
        }
    }

    /// Whether the peer's input ended without its close_notify: the transport closed under
    /// it, so the last bytes may be missing. Protocols with their own framing (WebSocket,
    /// RSocket) see a cut themselves; a raw byte stream must treat this as an error.
    pub fn is_truncated(&self) -> bool {
        self.truncated
    }

    /// Whether the handshake has finished.
    pub fn is_handshake_done(&self) -> bool {
        self.handshake == Handshake::Done
    }

    /// The ALPN protocol both sides agreed on, once the handshake is done.
    pub fn alpn_protocol(&self) -> Option<&[u8]> {
        self.conn.alpn_protocol()
    }

    /// The certificate chain the peer presented, leaf first.
    pub fn peer_certificates(&self) -> Option<&[rustls::pki_types::CertificateDer<'static>]> {
        self.conn.peer_certificates()
    }

    /// The negotiated protocol version.
    pub fn protocol_version(&self) -> Option<rustls::ProtocolVersion> {
        self.conn.protocol_version()
    }

    fn is_failed(&self) -> bool {
        matches!(self.phase, Phase::Failed(_))
    }

    fn arm(&mut self, now: Instant) {
        if self.handshake == Handshake::Unarmed {
            self.handshake = Handshake::Until(now.saturating_add(self.handshake_timeout));
        }
    }

    fn note_handshake(&mut self) {
        if self.handshake != Handshake::Done && !self.conn.is_handshaking() {
            self.handshake = Handshake::Done;
        }
    }

    /// Fails the session: the machine's input ends (so it reports its own abnormal end),
    /// and only the alert rustls queued is still sent.
    fn fail<M: Machine>(&mut self, inner: &mut M, now: Instant, error: TlsError) {
        if self.is_failed() {
            return;
        }
        self.phase = Phase::Failed(error);
        self.plaintext_waiting = false;
        self.outgoing = Bytes::new();
        if !self.eof_delivered {
            self.eof_delivered = true;
            inner.handle_eof(now);
        }
    }

    /// Offers decrypted plaintext to the machine; returns whether all of it went in.
    fn deliver<M: Machine>(&mut self, inner: &mut M, now: Instant) -> bool {
        loop {
            let mut reader = self.conn.reader();
            let accepted = match reader.fill_buf() {
                Ok([]) => None, // close_notify, and every byte before it was delivered
                Ok(chunk) => Some(inner.handle_input(now, chunk).min(chunk.len())),
                Err(_) => {
                    // Nothing decrypted (`WouldBlock`), or the transport ended without
                    // close_notify: the transport's own end tells the machine.
                    self.plaintext_waiting = false;
                    if self.transport_ended {
                        self.truncated = true;
                        self.end_input(inner, now);
                    }
                    return true;
                }
            };
            match accepted {
                None => {
                    self.plaintext_waiting = false;
                    self.end_input(inner, now);
                    return true;
                }
                Some(0) => {
                    self.plaintext_waiting = true;
                    return false;
                }
                Some(n) => reader.consume(n),
            }
        }
    }

    fn end_input<M: Machine>(&mut self, inner: &mut M, now: Instant) {
        if !self.eof_delivered {
            self.eof_delivered = true;
            inner.handle_eof(now);
        }
    }

    pub(crate) fn handle_input<M: Machine>(
        &mut self,
        inner: &mut M,
        now: Instant,
        data: &[u8],
    ) -> usize {
        self.arm(now);
        if self.is_failed() || self.eof_delivered {
            return data.len(); // nothing more is read after the end
        }
        let mut used = 0;
        while self.deliver(inner, now) && used < data.len() && !self.eof_delivered {
            match self.conn.read_tls(&mut &data[used..]) {
                Ok(0) => break,
                Ok(n) => used += n,
                Err(error) => {
                    self.fail(inner, now, TlsError::Protocol(error.to_string()));
                    return data.len();
                }
            }
            if let Err(error) = self.conn.process_new_packets() {
                self.fail(inner, now, error.into());
                return data.len();
            }
            self.note_handshake();
        }
        used
    }

    pub(crate) fn handle_eof<M: Machine>(&mut self, inner: &mut M, now: Instant) {
        self.arm(now);
        self.transport_ended = true;
        if self.is_failed() {
            return;
        }
        if self.handshake != Handshake::Done {
            self.fail(inner, now, TlsError::ClosedDuringHandshake);
            return;
        }
        // Lets rustls see the end too: without close_notify, `deliver` records truncation.
        let _ = self.conn.read_tls(&mut &[][..]);
        self.deliver(inner, now);
    }

    pub(crate) fn handle_timeout<M: Machine>(&mut self, inner: &mut M, now: Instant) {
        self.arm(now);
        if let Handshake::Until(deadline) = self.handshake
            && now >= deadline
            && !self.is_failed()
        {
            let timeout = self.handshake_timeout;
            self.fail(inner, now, TlsError::HandshakeTimeout(timeout));
        }
        if self.plaintext_waiting && inner.wants_read() {
            self.deliver(inner, now);
        }
        inner.handle_timeout(now);
    }

    pub(crate) fn poll_transmit<M: Machine>(&mut self, inner: &mut M) -> Option<Bytes> {
        let mut ciphertext = Vec::new();
        if !self.is_failed() {
            self.encrypt_from(inner, &mut ciphertext);
        }
        self.take_ciphertext(&mut ciphertext);
        (!ciphertext.is_empty()).then(|| Bytes::from(ciphertext))
    }

    /// Appends every record rustls has ready to send (writing to a `Vec` cannot fail).
    fn take_ciphertext(&mut self, out: &mut Vec<u8>) {
        while self.conn.wants_write() {
            if !matches!(self.conn.write_tls(out), Ok(1..)) {
                break;
            }
        }
    }

    /// Moves the machine's transmits into rustls (which encrypts them, or holds them until
    /// the handshake is done), and queues close_notify once the machine has closed.
    fn encrypt_from<M: Machine>(&mut self, inner: &mut M, ciphertext: &mut Vec<u8>) {
        while ciphertext.len() < TRANSMIT_BATCH {
            if self.outgoing.is_empty() {
                match inner.poll_transmit() {
                    Some(bytes) => self.outgoing = bytes,
                    None => break,
                }
            }
            match self.conn.writer().write(&self.outgoing) {
                Ok(0) | Err(_) => break, // rustls's buffer is full: wait for the handshake
                Ok(n) => self.outgoing.advance(n),
            }
            self.take_ciphertext(ciphertext);
        }
        // close_notify waits for the handshake: sent in the middle, it would abort it.
        if !self.close_sent
            && self.outgoing.is_empty()
            && inner.is_transmit_closed()
            && !self.conn.is_handshaking()
        {
            self.close_sent = true;
            self.conn.send_close_notify();
        }
    }

    pub(crate) fn poll_timeout<M: Machine>(&self, inner: &M) -> Option<Instant> {
        if self.is_failed() {
            return None;
        }
        if self.plaintext_waiting && inner.wants_read() {
            return Some(Instant::ZERO); // deliver now: see the module docs
        }
        let handshake = match self.handshake {
            Handshake::Unarmed => Some(Instant::ZERO), // arm on the driver's clock
            Handshake::Until(deadline) => Some(deadline),
            Handshake::Done => None,
        };
        earliest(handshake, inner.poll_timeout())
    }

    pub(crate) fn wants_read<M: Machine>(&self, inner: &M) -> bool {
        !self.is_failed()
            && !self.eof_delivered
            && !self.plaintext_waiting
            && (self.handshake != Handshake::Done || inner.wants_read())
    }

    pub(crate) fn is_transmit_closed<M: Machine>(&self, _inner: &M) -> bool {
        let flushed = !self.conn.wants_write();
        flushed && (self.is_failed() || self.close_sent)
    }

    pub(crate) fn is_finished<M: Machine>(&self, inner: &M) -> bool {
        let flushed = !self.conn.wants_write();
        if self.is_failed() {
            return flushed;
        }
        flushed && self.close_sent && inner.is_finished()
    }
}
