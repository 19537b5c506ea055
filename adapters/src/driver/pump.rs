//! The runtime-free half of every driver: what sits between a machine and a transport.
//!
//! A driver owns an [`Inbound`] (bytes read but not yet accepted, and whether the transport's
//! read half ended) and an [`Outbound`] (the transmit being written, and whether the write
//! half was shut down). The async driver holds both; the blocking driver gives one to each of
//! its threads. Neither does I/O or reads a clock: the caller passes `now` and performs the
//! reads, writes and shutdowns they ask for.

use std::collections::VecDeque;
use std::io::IoSlice;

use bytes::{Buf, Bytes};
use wirestate_core::{Instant, Machine};

/// Unaccepted input above this many bytes is not kept once drained.
const KEEP_UNACCEPTED: usize = 32 * 1024;

/// Where a driver reads the transport into. It starts small, so that a connection with
/// little traffic holds little, doubles while reads fill it (a 16 KiB message then arrives
/// in one read), and halves again after a run of reads that used less than a quarter of it.
/// A connection that falls idle after a burst keeps its size until reads resume.
#[derive(Debug)]
pub(crate) struct ReadBuffer {
    buf: Vec<u8>,
    /// Reads in a row that used less than a quarter of the buffer.
    small_reads: u8,
}

impl ReadBuffer {
    /// The size a buffer starts at, and never goes below.
    pub(crate) const MIN: usize = 4 * 1024;
    /// The size it never goes above.
    pub(crate) const MAX: usize = 64 * 1024;
    /// How many small reads in a row halve it.
    const SHRINK_AFTER: u8 = 32;

    /// Where the next read goes.
    pub(crate) fn space(&mut self) -> &mut [u8] {
        &mut self.buf
    }

    /// The first `n` bytes of the last read, after which the buffer adapts to its size.
    pub(crate) fn filled(&mut self, n: usize) -> &[u8] {
        let len = self.buf.len();
        if n == len && len < Self::MAX {
            self.small_reads = 0;
            self.resize(len * 2);
            // The doubled buffer kept the bytes that were read: only its tail is new.
        } else if n < len / 4 && len > Self::MIN {
            self.small_reads += 1;
            if self.small_reads == Self::SHRINK_AFTER {
                self.small_reads = 0;
                self.resize(len / 2);
            }
        } else {
            self.small_reads = 0;
        }
        &self.buf[..n]
    }

    /// The first `n` bytes of the buffer: after [`filled(n)`](ReadBuffer::filled), what
    /// that read brought.
    pub(crate) fn bytes(&self, n: usize) -> &[u8] {
        &self.buf[..n]
    }

    fn resize(&mut self, len: usize) {
        self.buf.resize(len, 0);
        self.buf.shrink_to_fit();
    }
}

impl Default for ReadBuffer {
    fn default() -> Self {
        ReadBuffer {
            buf: vec![0; Self::MIN],
            small_reads: 0,
        }
    }
}

/// The transport-to-machine direction.
#[derive(Debug, Default)]
pub(crate) struct Inbound {
    /// Bytes the machine did not accept: `unaccepted[start..]`. Offered again before any
    /// new read, and no new read happens while some remain, so input stays in order.
    unaccepted: Vec<u8>,
    start: usize,
    /// The transport's read half ended and the machine was told.
    eof: bool,
}

impl Inbound {
    /// Offers freshly read bytes through `handle` (the machine's `handle_input`, or a
    /// caller's way of taking input that ends in it); keeps what it does not accept.
    #[inline(always)]
    pub(crate) fn feed<M: Machine>(
        &mut self,
        machine: &mut M,
        now: Instant,
        data: &[u8],
        handle: impl FnOnce(&mut M, Instant, &[u8]) -> usize,
    ) {
        debug_assert!(
            self.is_drained(),
            "read more while bytes were still unaccepted"
        );
        let accepted = handle(machine, now, data).min(data.len());
        if accepted < data.len() {
            self.unaccepted.clear();
            self.start = 0;
            self.unaccepted.extend_from_slice(&data[accepted..]);
        }
    }

    /// Offers the unaccepted bytes again; returns whether the machine took any. `now` is
    /// asked for only if there are bytes to offer, so that a caller reading a clock reads it
    /// only then.
    #[inline(always)]
    pub(crate) fn retry_unaccepted<M: Machine>(
        &mut self,
        machine: &mut M,
        now: impl FnOnce() -> Instant,
    ) -> bool {
        if self.is_drained() {
            return false;
        }
        let pending = &self.unaccepted[self.start..];
        let accepted = machine.handle_input(now(), pending).min(pending.len());
        self.start += accepted;
        if self.is_drained() {
            // Keep the allocation only if it is small; a burst should not pin memory.
            self.unaccepted.clear();
            if self.unaccepted.capacity() > KEEP_UNACCEPTED {
                self.unaccepted = Vec::new();
            }
            self.start = 0;
        }
        accepted > 0
    }

    /// The transport's read half ended: tells the machine.
    pub(crate) fn on_eof<M: Machine>(&mut self, machine: &mut M, now: Instant) {
        debug_assert!(self.is_drained(), "EOF overtook unaccepted bytes");
        self.eof = true;
        machine.handle_eof(now);
    }

    /// Whether every byte read so far has been accepted.
    #[inline(always)]
    pub(crate) fn is_drained(&self) -> bool {
        self.start == self.unaccepted.len()
    }

    /// Bytes waiting to be accepted.
    #[cfg(test)]
    pub(crate) fn unaccepted_len(&self) -> usize {
        self.unaccepted.len() - self.start
    }

    /// Whether the driver should read the transport now: the machine wants input, nothing
    /// read earlier is still waiting, and the transport has not ended.
    #[inline(always)]
    pub(crate) fn wants_read<M: Machine>(&self, machine: &M) -> bool {
        !self.eof && self.is_drained() && machine.wants_read()
    }
}

/// Transmits one write takes at most: the machine's frames and the payloads it queued
/// without copying them (see `wirestate_core::ws`) go out in one vectored write.
pub(crate) const MAX_GATHER: usize = 64;

/// The machine-to-transport direction.
#[derive(Debug, Default)]
pub(crate) struct Outbound {
    /// The transmits being written, oldest first; the first may be partly written. Taken
    /// from the machine only once the last batch is written, so that the machine's own
    /// output limit still holds back its input.
    pending: VecDeque<Bytes>,
    /// Bytes were written since the last flush.
    unflushed: bool,
    /// The write half was shut down (TCP FIN sent).
    write_shut: bool,
}

impl Outbound {
    /// Takes the machine's next transmits (up to [`MAX_GATHER`]) once the last batch is
    /// written. Returns whether any bytes wait to be written.
    #[inline(always)]
    pub(crate) fn next_outgoing<M: Machine>(&mut self, machine: &mut M) -> bool {
        if self.pending.is_empty() {
            while self.pending.len() < MAX_GATHER {
                match machine.poll_transmit() {
                    Some(transmit) if transmit.is_empty() => {}
                    Some(transmit) => self.pending.push_back(transmit),
                    None => break,
                }
            }
        }
        self.is_sending()
    }

    /// Whether bytes wait to be written.
    #[inline(always)]
    pub(crate) fn is_sending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Bytes taken from the machine and not yet written.
    #[cfg(any(feature = "smol", feature = "tokio"))]
    pub(crate) fn unwritten(&self) -> usize {
        self.pending.iter().map(Bytes::len).sum()
    }

    /// How many transmits wait to be written.
    pub(crate) fn transmits(&self) -> usize {
        self.pending.len()
    }

    /// The first transmit's unwritten bytes (empty if none).
    pub(crate) fn first(&self) -> &[u8] {
        self.pending.front().map_or(&[], |bytes| bytes)
    }

    /// Fills `slices` with the unwritten transmits, in order; returns how many it filled.
    pub(crate) fn slices<'a>(&'a self, slices: &mut [IoSlice<'a>; MAX_GATHER]) -> usize {
        for (slice, bytes) in slices.iter_mut().zip(&self.pending) {
            *slice = IoSlice::new(bytes);
        }
        self.pending.len()
    }

    /// Records that the transport took `n` bytes from the front of the transmits.
    pub(crate) fn advance_written(&mut self, mut n: usize) {
        if n > 0 {
            self.unflushed = true;
        }
        while let Some(front) = self.pending.front_mut() {
            if n < front.len() {
                front.advance(n);
                return;
            }
            n -= front.len();
            self.pending.pop_front();
        }
    }

    /// Records that bytes the machine lent were written (they need a flush).
    pub(crate) fn wrote_lent(&mut self) {
        self.unflushed = true;
    }

    /// Whether written bytes still need a transport flush.
    pub(crate) fn needs_flush(&self) -> bool {
        self.unflushed
    }

    /// Records a completed transport flush.
    pub(crate) fn flushed(&mut self) {
        self.unflushed = false;
    }

    /// Whether the write half should be shut down now: the machine will never transmit
    /// again and everything it sent was written. Call after
    /// [`next_outgoing`](Outbound::next_outgoing) returned `None`.
    pub(crate) fn should_shutdown_write<M: Machine>(&self, machine: &M) -> bool {
        !self.write_shut && !self.is_sending() && machine.is_transmit_closed()
    }

    /// Records that the write half was shut down.
    pub(crate) fn write_shut_down(&mut self) {
        self.write_shut = true;
    }

    /// Whether the driver is done: the machine is finished, everything it sent was written,
    /// and the write half was shut down if the machine closed its transmit side. Call after
    /// [`next_outgoing`](Outbound::next_outgoing) returned `None`.
    pub(crate) fn is_finished<M: Machine>(&self, machine: &M) -> bool {
        !self.is_sending()
            && machine.is_finished()
            && (self.write_shut || !machine.is_transmit_closed())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wirestate_core::chan::{
        ByteSink, ByteSource, Duplex, DuplexConfig, DuplexEvent, PipeConfig,
    };

    const NOW: Instant = Instant::ZERO;

    fn small_inbound(capacity: usize) -> Duplex {
        Duplex::new(DuplexConfig {
            inbound: PipeConfig::with_capacity(capacity),
            ..DuplexConfig::default()
        })
    }

    #[test]
    fn unaccepted_bytes_are_offered_again_in_order() {
        let mut machine = small_inbound(4);
        let mut input = Inbound::default();
        assert!(input.wants_read(&machine));
        input.feed(&mut machine, NOW, b"abcdefghij", Duplex::handle_input);
        assert_eq!(input.unaccepted_len(), 6);
        assert!(
            !input.wants_read(&machine),
            "full machine and bytes waiting"
        );
        assert!(!input.retry_unaccepted(&mut machine, || NOW), "still full");

        // The application reads 3 bytes at a time; after each read the pump offers more.
        let mut got = Vec::new();
        for _ in 0..10 {
            let mut buf = [0u8; 3];
            let n = machine.inbound_mut().read(&mut buf).unwrap();
            got.extend_from_slice(&buf[..n]);
            let waiting = input.unaccepted_len();
            assert_eq!(input.retry_unaccepted(&mut machine, || NOW), waiting > 0);
            if got.len() == 10 {
                break;
            }
        }
        assert_eq!(got, b"abcdefghij");
        assert!(
            machine
                .inbound_mut()
                .read(&mut [0u8; 1])
                .unwrap_err()
                .is_blocked()
        );
        assert!(input.is_drained());
        assert!(input.wants_read(&machine));
    }

    #[test]
    fn eof_stops_reading() {
        let mut machine = Duplex::default();
        let mut input = Inbound::default();
        input.on_eof(&mut machine, NOW);
        assert!(!input.wants_read(&machine));
        assert_eq!(machine.poll_event(), Some(DuplexEvent::ReadClosed));
    }

    #[test]
    fn partial_writes_then_shutdown_then_finished() {
        let mut machine = Duplex::default();
        let mut output = Outbound::default();
        assert!(!output.next_outgoing(&mut machine));
        assert!(!output.should_shutdown_write(&machine));

        machine.outbound_mut().write(b"hello").unwrap();
        machine.outbound_mut().close().unwrap();
        assert!(output.next_outgoing(&mut machine));
        assert_eq!(output.first(), b"hello");
        assert!(
            !output.should_shutdown_write(&machine),
            "bytes still pending"
        );
        output.advance_written(2);
        assert_eq!(output.first(), b"llo");
        assert!(output.next_outgoing(&mut machine));
        output.advance_written(3);
        assert!(output.needs_flush());
        output.flushed();
        assert!(!output.needs_flush());
        assert!(!output.next_outgoing(&mut machine));
        assert!(output.should_shutdown_write(&machine));
        assert!(!output.is_finished(&machine), "read side still open");
        output.write_shut_down();
        assert!(!output.should_shutdown_write(&machine));

        let mut input = Inbound::default();
        input.on_eof(&mut machine, NOW);
        assert!(output.is_finished(&machine));
    }

    /// A machine whose transmits are given pieces.
    struct Pieces(VecDeque<Bytes>);

    impl Machine for Pieces {
        type Event = ();
        type Command = ();
        type Reply = ();
        type UsageError = core::convert::Infallible;

        fn handle_input(&mut self, _: Instant, input: &[u8]) -> usize {
            input.len()
        }
        fn handle_eof(&mut self, _: Instant) {}
        fn handle_timeout(&mut self, _: Instant) {}
        fn command(&mut self, _: Instant, _: ()) -> Result<(), Self::UsageError> {
            Ok(())
        }
        fn poll_transmit(&mut self) -> Option<Bytes> {
            self.0.pop_front()
        }
        fn poll_event(&mut self) -> Option<()> {
            None
        }
        fn poll_timeout(&self) -> Option<Instant> {
            None
        }
        fn wants_read(&self) -> bool {
            false
        }
        fn is_transmit_closed(&self) -> bool {
            false
        }
        fn is_finished(&self) -> bool {
            false
        }
    }

    #[test]
    fn transmits_are_gathered_for_one_write_and_advanced_across() {
        let pieces = [&b"ab"[..], b"", b"cde", b"f"].map(Bytes::from_static);
        let mut machine = Pieces(pieces.into_iter().collect());
        let mut output = Outbound::default();
        assert!(output.next_outgoing(&mut machine));
        let mut slices = [IoSlice::new(&[]); MAX_GATHER];
        let n = output.slices(&mut slices);
        let gathered: Vec<&[u8]> = slices[..n].iter().map(|s| &**s).collect();
        assert_eq!(gathered, [&b"ab"[..], b"cde", b"f"], "empty ones skipped");
        output.advance_written(3);
        assert_eq!(output.first(), b"de");
        output.advance_written(3);
        assert!(!output.is_sending());

        let many = (0..MAX_GATHER + 1).map(|_| Bytes::from_static(b"x"));
        let mut machine = Pieces(many.collect());
        assert!(output.next_outgoing(&mut machine));
        assert_eq!(
            output.slices(&mut [IoSlice::new(&[]); MAX_GATHER]),
            MAX_GATHER
        );
        output.advance_written(MAX_GATHER);
        assert!(
            output.next_outgoing(&mut machine),
            "the rest in the next batch"
        );
        assert_eq!(output.first(), b"x");
    }

    #[test]
    fn finished_waits_for_shutdown() {
        let mut machine = Duplex::default();
        let mut output = Outbound::default();
        machine.outbound_mut().close().unwrap();
        machine.handle_eof(NOW);
        assert!(machine.is_finished());
        assert!(!output.next_outgoing(&mut machine));
        assert!(!output.is_finished(&machine), "FIN not sent yet");
        output.write_shut_down();
        assert!(output.is_finished(&machine));
    }

    #[test]
    fn the_read_buffer_grows_while_reads_fill_it_and_shrinks_after_small_ones() {
        let mut buf = ReadBuffer::default();
        assert_eq!(buf.space().len(), ReadBuffer::MIN);
        // Full reads double it, keeping what was read, up to the maximum.
        let mut len = ReadBuffer::MIN;
        while len < ReadBuffer::MAX {
            buf.space().fill(7);
            assert_eq!(buf.filled(len), vec![7; len]);
            len *= 2;
            assert_eq!(buf.space().len(), len);
        }
        buf.filled(len);
        assert_eq!(
            buf.space().len(),
            ReadBuffer::MAX,
            "never above the maximum"
        );
        // Small reads halve it only after a run of them; a larger read resets the run.
        for _ in 0..ReadBuffer::SHRINK_AFTER - 1 {
            buf.filled(10);
        }
        buf.filled(ReadBuffer::MAX / 2);
        for _ in 0..ReadBuffer::SHRINK_AFTER - 1 {
            buf.filled(10);
        }
        assert_eq!(buf.space().len(), ReadBuffer::MAX);
        buf.space()[..3].copy_from_slice(b"abc");
        assert_eq!(buf.filled(3), b"abc", "what was read survives the shrink");
        assert_eq!(buf.space().len(), ReadBuffer::MAX / 2);
        for _ in 0..100 * ReadBuffer::SHRINK_AFTER as usize {
            buf.filled(1);
        }
        assert_eq!(
            buf.space().len(),
            ReadBuffer::MIN,
            "never below the minimum"
        );
    }
}
