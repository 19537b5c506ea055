//! The WebSocket connection machine: the upgrade handshake, then frames, for either role.
//!
//! ```text
//!  client: ClientHandshake ──101──▶ Open ──close sent & received──▶ Closed (after the server's FIN)
//!  server: ServerHandshake ──request──▶ AwaitingDecision ──Accept──▶ Open ──▶ Closed
//!                                             └──Reject──▶ Closed (status sent)
//!  any peer fault: close frame with its code, then Closed(Protocol)
//! ```

use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use bytes::{Bytes, BytesMut};

use super::close::{CloseCode, ClosePayload};
use super::config::Config;
use super::error::ProtocolError;
use super::event::{CloseReason, Command, Event, Message, TimeoutKind, UsageError};
use super::frame::{FrameHeader, MAX_CONTROL_PAYLOAD_LEN};
use super::opcode::Opcode;
use super::outgoing::{Outgoing, SHARE_MIN};
use super::recv::{Received, Receiver};
use super::rules::{FrameRules, Role};
use super::send::write_frame;
use crate::http::{
    ClientHandshake, ClientRequest, Feed, HandshakeError, HeadBuffer, Response, UpgradeRequest,
};
use crate::machine::Machine;
use crate::rng::Rng;
use crate::time::{Instant, earliest};

mod borrowed;
mod owned;
pub use borrowed::{InPlace, MessageRef};
pub use owned::Owned;

/// Bytes charged per queued event beyond its payload, so that a flood of empty control
/// frames is bounded too.
const EVENT_COST: usize = 64;

/// Input stops while this much output waits to be transmitted: a peer that does not read
/// (while making us answer pings) meets backpressure instead of growing our memory.
const OUT_HIGH_WATER: usize = 1024 * 1024;

/// Ping and pong events queued at most: past this, new ones are not reported (pongs are
/// still sent), so a peer's pings are answered even while the application only writes.
const MAX_QUEUED_CONTROL_EVENTS: usize = 32;

/// The handshake timer: armed from the first time the machine is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HandshakeTimer {
    /// Waiting for a first `now`: `poll_timeout` asks for it at once.
    Unarmed,
    /// The handshake must be complete by then.
    At(Instant),
    /// No timer (disabled).
    Off,
}

/// Where the connection is. What only the handshake needs is boxed in its phase, so an
/// open connection does not carry it.
#[derive(Debug)]
enum Phase {
    /// The upgrade handshake.
    Handshake(Box<Handshake>),
    /// Frames flow.
    Open,
    /// Over; `Event::Closed` has been queued.
    Closed,
}

/// The upgrade handshake: its timer, and how far it got.
#[derive(Debug)]
struct Handshake {
    timer: HandshakeTimer,
    stage: Stage,
}

/// How far the upgrade handshake got.
#[derive(Debug)]
enum Stage {
    /// Client: the request is sent; reading the response head.
    Client(ClientOpening),
    /// Server: reading the request head.
    Server(HeadBuffer),
    /// Server: the application decides on this request.
    Decision(Decision),
}

/// A client's handshake: the request it sent, and the response head as it arrives.
#[derive(Debug)]
struct ClientOpening {
    handshake: ClientHandshake,
    head: HeadBuffer,
}

/// A server's upgrade request awaiting the application's answer.
#[derive(Debug)]
struct Decision {
    request: UpgradeRequest,
    /// Bytes after the request head, held until the application accepts.
    early: Vec<u8>,
}

/// A WebSocket connection (RFC 6455) as a [`Machine`]: feed it the transport's bytes,
/// drain frames and events. Pong replies and the close echo are automatic.
///
/// The machine itself is at most 256 bytes (a test holds it to that). What most connections
/// never need is boxed only once needed: the handshake (dropped on open), the idle and ping
/// timers, the closing handshake, permessage-deflate, and the state of a frame split across
/// reads (kept once allocated, for reuse). The [`Config`] can be shared by many connections
/// (see [`server`](Connection::server)).
#[derive(Debug)]
pub struct Connection {
    role: Role,
    config: Arc<Config>,
    /// A client's masking keys (RFC 6455 §5.3); a server never masks and keeps none.
    masks: Option<Box<Rng>>,
    phase: Phase,
    receiver: Receiver,
    out: Outgoing,
    events: VecDeque<Event>,
    /// What queued events cost (payload plus [`EVENT_COST`]); input stops while they pile up.
    queued_bytes: usize,
    /// Ping and pong events in `events` (at most [`MAX_QUEUED_CONTROL_EVENTS`]).
    queued_control_events: u8,
    close_sent: bool,
    /// No frame will be written any more: the transport's write half may close.
    transmit_closed: bool,
    /// Once `out` is drained the transport may be dropped.
    done: bool,
    /// `Event::Closed` has been queued.
    closed_reported: bool,
    eof: bool,
    /// Messages were handed to the application, which has not come back to an empty queue
    /// since: it may still be answering them.
    answering: bool,
    /// The latest time seen, for a deferred failure.
    last_now: Instant,
    /// The idle and ping timers, while open and configured (boxed: most connections use
    /// neither).
    timers: Option<Box<Timers>>,
    /// The closing handshake and the end, once begun (boxed: needed once, at the end).
    closing: Option<Box<Closing>>,
    /// permessage-deflate's sending side, once negotiated (boxed: most connections never
    /// compress).
    #[cfg(feature = "deflate")]
    compressing: Option<Box<Compressing>>,
}

/// The timers an open connection runs when configured to.
#[derive(Debug, Default)]
struct Timers {
    /// When to start the closing handshake for lack of input.
    idle_deadline: Option<Instant>,
    next_ping: Option<Instant>,
    pong_deadline: Option<Instant>,
    /// Pings sent; the next one's payload.
    ping_count: u64,
}

/// How the connection ends.
#[derive(Debug, Default)]
struct Closing {
    /// The peer's close frame.
    received: Option<(Option<CloseCode>, String)>,
    /// How long to wait for the peer's close frame (or FIN) once ours is sent.
    deadline: Option<Instant>,
    /// After an abortive end: keep reading (and dropping) input until the peer's end or
    /// this deadline, so that closing the socket with unread input does not send a reset,
    /// which can make the peer's kernel discard our last frames before it reads them.
    linger_deadline: Option<Instant>,
    /// A peer fault found while the application may still be answering messages: it fails
    /// the connection once the application comes back to an empty event queue, so that its
    /// answers go out before the close frame (Autobahn 3.x, 4.x, 5.15).
    deferred_fault: Option<ProtocolError>,
}

/// permessage-deflate's sending side.
#[cfg(feature = "deflate")]
#[derive(Debug)]
struct Compressing {
    /// What negotiation agreed on.
    agreed: super::deflate::Negotiated,
    /// `None` when the agreed window cannot be honoured: every message then goes out
    /// uncompressed.
    deflater: Option<super::deflate::Deflater>,
    /// Messages shorter than this go out uncompressed.
    threshold: usize,
    /// Compressed payload of the message being sent.
    compressed: Vec<u8>,
}

impl Connection {
    /// A client connection; its upgrade request is the first transmit. `config` may be an
    /// `Arc<Config>` shared with other connections.
    pub fn client(
        config: impl Into<Arc<Config>>,
        mut rng: Rng,
        request: &ClientRequest,
    ) -> Result<Self, UsageError> {
        let config = config.into();
        #[cfg(feature = "deflate")]
        let offered;
        #[cfg(feature = "deflate")]
        let request = match &config.deflate {
            Some(deflate) => {
                offered = request
                    .clone()
                    .extension(super::deflate::client_offer(deflate));
                &offered
            }
            None => request,
        };
        let handshake = request.build(&mut rng).map_err(UsageError::Handshake)?;
        let request_bytes = BytesMut::from(&handshake.request()[..]);
        let head = HeadBuffer::new(config.max_head);
        let stage = Stage::Client(ClientOpening { handshake, head });
        let mut connection = Connection::new(Role::Client, config, Some(Box::new(rng)), stage);
        connection.out = Outgoing::Buffered(request_bytes); // the first transmit
        Ok(connection)
    }

    /// A server connection, waiting for the client's upgrade request. A server accepting
    /// many connections can share one configuration by passing an `Arc<Config>`. `_rng` is
    /// not kept: a server never masks (taking one keeps both roles' constructors alike).
    pub fn server(config: impl Into<Arc<Config>>, _rng: Rng) -> Self {
        let config = config.into();
        let stage = Stage::Server(HeadBuffer::new(config.max_head));
        Connection::new(Role::Server, config, None, stage)
    }

    fn new(role: Role, config: Arc<Config>, masks: Option<Box<Rng>>, stage: Stage) -> Self {
        let rules = FrameRules::new(role).with_max_payload_len(config.max_frame_size as u64);
        let timer = match config.handshake_timeout {
            Some(_) => HandshakeTimer::Unarmed,
            None => HandshakeTimer::Off,
        };
        Connection {
            role,
            config,
            masks,
            phase: Phase::Handshake(Box::new(Handshake { timer, stage })),
            receiver: Receiver::new(rules),
            out: Outgoing::default(),
            events: VecDeque::new(),
            queued_bytes: 0,
            queued_control_events: 0,
            close_sent: false,
            transmit_closed: false,
            done: false,
            closed_reported: false,
            eof: false,
            answering: false,
            last_now: Instant::ZERO,
            timers: None,
            closing: None,
            #[cfg(feature = "deflate")]
            compressing: None,
        }
    }

    /// The handshake state, during the handshake.
    fn handshake(&mut self) -> &mut Handshake {
        match &mut self.phase {
            Phase::Handshake(handshake) => handshake,
            _ => unreachable!("only during the handshake"),
        }
    }

    /// The closing state, created when first needed.
    fn closing(&mut self) -> &mut Closing {
        self.closing.get_or_insert_with(Box::default)
    }

    /// The peer's close frame, once received.
    fn close_received(&self) -> Option<&(Option<CloseCode>, String)> {
        self.closing.as_ref()?.received.as_ref()
    }

    /// Whether a peer fault waits for the application to come back.
    fn has_deferred_fault(&self) -> bool {
        self.closing
            .as_ref()
            .is_some_and(|closing| closing.deferred_fault.is_some())
    }

    /// Bytes of state beyond `size_of::<Connection>()` that this connection alone holds,
    /// buffers excluded (a shared [`Config`] is not counted).
    #[cfg(test)]
    pub(crate) fn boxed_state(&self) -> usize {
        use core::mem::size_of;
        let phase = match &self.phase {
            Phase::Handshake(_) => size_of::<Handshake>(),
            _ => 0,
        };
        let masks = self.masks.as_ref().map_or(0, |_| size_of::<Rng>());
        let timers = self.timers.as_ref().map_or(0, |_| size_of::<Timers>());
        let closing = self.closing.as_ref().map_or(0, |_| size_of::<Closing>());
        #[cfg(feature = "deflate")]
        let closing = closing
            + self
                .compressing
                .as_ref()
                .map_or(0, |_| size_of::<Compressing>());
        phase + masks + timers + closing + self.out.boxed_state() + self.receiver.boxed_state()
    }

    /// This end's role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// Whether messages may be sent (open, and the closing handshake not started).
    pub fn is_open(&self) -> bool {
        matches!(self.phase, Phase::Open) && !self.close_sent
    }

    /// Whether the closing handshake has started or the connection is over: no message
    /// will be sent any more.
    pub fn is_closing(&self) -> bool {
        self.close_sent || matches!(self.phase, Phase::Closed)
    }

    /// Bytes allocated for received payloads.
    #[cfg(test)]
    pub(crate) fn receive_allocated(&self) -> usize {
        self.receiver.allocated()
    }

    /// What permessage-deflate negotiation agreed on; `None` if it is not in use.
    #[cfg(feature = "deflate")]
    pub fn deflate(&self) -> Option<&super::deflate::Negotiated> {
        self.compressing.as_ref().map(|c| &c.agreed)
    }

    /// Bytes waiting to be transmitted.
    pub fn buffered_amount(&self) -> usize {
        self.out.len()
    }

    /// Whether events wait to be taken with `poll_event`. Unlike `poll_event` this never
    /// counts as the application coming back to an empty queue (which releases a deferred
    /// fault), so a driver can move events out ahead of the application.
    pub fn has_events(&self) -> bool {
        !self.events.is_empty()
    }

    // ---- handshake ------------------------------------------------------------------------

    fn handshake_input(&mut self, now: Instant, data: &[u8]) -> usize {
        let buffer = match &mut self.handshake().stage {
            Stage::Client(opening) => &mut opening.head,
            Stage::Server(buffer) => buffer,
            Stage::Decision(_) => unreachable!("no input is read while awaiting the decision"),
        };
        let (head, leftover) = match buffer.feed(data) {
            Feed::Partial => return data.len(),
            Feed::Complete { head, leftover } => (head, leftover),
            Feed::TooLarge { limit } => {
                self.handshake_failed(HandshakeError::HeadTooLarge { limit });
                return data.len();
            }
        };
        let consumed = data.len() - leftover.len();
        let Phase::Handshake(mut handshake) = core::mem::replace(&mut self.phase, Phase::Closed)
        else {
            unreachable!("handshake input outside the handshake");
        };
        match handshake.stage {
            Stage::Client(opening) => match opening.handshake.check_response(&head) {
                Ok(accepted) => {
                    #[cfg(feature = "deflate")]
                    if let Err(error) = self.client_deflate(accepted.extensions()) {
                        self.handshake_failed(error);
                        return data.len();
                    }
                    self.open(now, accepted.subprotocol().map(String::from));
                    consumed + self.frame_input(now, leftover)
                }
                Err(error) => {
                    self.handshake_failed(error);
                    data.len()
                }
            },
            _ => match UpgradeRequest::parse(&head) {
                Ok(request) => {
                    self.events
                        .push_back(Event::UpgradeRequest(Box::new(request.clone())));
                    let early = leftover.to_vec();
                    handshake.stage = Stage::Decision(Decision { request, early });
                    self.phase = Phase::Handshake(handshake);
                    data.len()
                }
                Err(error) => {
                    self.handshake_failed(error);
                    data.len()
                }
            },
        }
    }

    fn handshake_failed(&mut self, error: HandshakeError) {
        if self.role == Role::Server {
            if let Some(response) = Response::for_error(&error) {
                self.out.buf().extend_from_slice(&response.to_vec());
            }
        }
        self.end(CloseReason::Handshake(error));
    }

    fn open(&mut self, now: Instant, subprotocol: Option<String>) {
        self.phase = Phase::Open;
        self.events.push_back(Event::Open { subprotocol });
        if self.config.ping_interval.is_some() || self.config.idle_timeout.is_some() {
            self.timers = Some(Box::new(Timers {
                next_ping: self.config.ping_interval.map(|every| now + every),
                ..Timers::default()
            }));
        }
        self.touch(now);
    }

    // ---- frames ---------------------------------------------------------------------------

    fn frame_input(&mut self, now: Instant, data: &[u8]) -> usize {
        if self.close_received().is_some() || data.is_empty() {
            return data.len(); // nothing may follow a close frame
        }
        self.touch(now);
        let mut pos = 0;
        let result = loop {
            match self.receiver.read(&data[pos..], &self.config) {
                Ok((consumed, unit)) => {
                    pos += consumed;
                    let Some(unit) = unit else { break Ok(pos) };
                    let close = matches!(unit, Received::Close { .. });
                    self.on_received(now, unit);
                    if close || pos == data.len() {
                        break Ok(pos); // nothing may follow a close frame
                    }
                }
                Err(error) => break Err(error),
            }
        };
        match result {
            Ok(consumed) => consumed,
            Err(error) => {
                self.peer_fault(now, error);
                data.len() // nothing after a bad frame matters
            }
        }
    }

    /// The peer broke the protocol: fail the connection, or, while the application may
    /// still be answering messages it was given, once it comes back for more.
    fn peer_fault(&mut self, now: Instant, error: ProtocolError) {
        match self.answering {
            true => self.closing().deferred_fault = Some(error),
            false => self.fail(now, error),
        }
    }

    fn on_received(&mut self, now: Instant, unit: Received) {
        match unit {
            Received::Message(message) => self.enqueue(Event::Message(message)),
            Received::Fragment { piece, last } => self.enqueue(Event::Fragment { piece, last }),
            Received::Ping(payload) => {
                if !self.close_sent {
                    self.frame(Opcode::Pong, &payload);
                }
                self.enqueue(Event::Ping(payload));
            }
            Received::Pong(payload) => {
                if let Some(timers) = &mut self.timers {
                    timers.pong_deadline = None;
                }
                self.enqueue(Event::Pong(payload));
            }
            Received::Close { code, reason } => {
                self.events.push_back(Event::CloseReceived {
                    code,
                    reason: reason.clone(),
                });
                if !self.close_sent {
                    // Echo the code (RFC 6455 §5.5.1); a close without one is echoed empty.
                    match code.and_then(|code| ClosePayload::new(code, "").ok()) {
                        Some(payload) => self.send_close(now, payload),
                        None => self.send_close_empty(now),
                    }
                }
                self.closing().received = Some((code, reason));
                self.closing_handshake_done();
            }
        }
    }

    /// After both close frames: the server ends the TCP connection at once; the client
    /// half-closes and waits (within the close timeout) for the server's end.
    fn closing_handshake_done(&mut self) {
        if !self.close_sent || self.close_received().is_none() {
            return;
        }
        self.transmit_closed = true;
        if self.role == Role::Server || self.eof {
            self.finish_normally();
        }
    }

    fn finish_normally(&mut self) {
        let (code, reason) = self.close_received().cloned().unwrap_or_default();
        self.end(CloseReason::Normal { code, reason });
    }

    /// Fails the connection (RFC 6455 §7.1.7): a close frame with the error's code, then
    /// the end, without waiting for the peer.
    fn fail(&mut self, now: Instant, error: ProtocolError) {
        if !self.close_sent {
            let payload = ClosePayload::new(error.close_code(), "").expect("a sendable code");
            self.send_close(now, payload);
        }
        self.end(CloseReason::Protocol(error));
    }

    /// The connection is over: nothing more is written after `out` drains. An abortive end
    /// (a fault, a failed or rejected handshake) lingers for the peer's end first.
    fn end(&mut self, reason: CloseReason) {
        if self.closed_reported {
            return;
        }
        self.closed_reported = true;
        let abortive = matches!(
            reason,
            CloseReason::Protocol(_) | CloseReason::Handshake(_) | CloseReason::Rejected { .. }
        );
        self.phase = Phase::Closed;
        self.transmit_closed = true;
        if abortive && !self.eof {
            let linger = self.last_now + self.config.close_timeout;
            self.closing().linger_deadline = Some(linger);
        } else {
            self.done = true;
        }
        if let Some(closing) = &mut self.closing {
            closing.deadline = None;
        }
        self.timers = None;
        self.events.push_back(Event::Closed(reason));
    }

    fn enqueue(&mut self, event: Event) {
        if is_control(&event) {
            if usize::from(self.queued_control_events) >= MAX_QUEUED_CONTROL_EVENTS {
                return; // already answered; reporting it is not worth unbounded memory
            }
            self.queued_control_events += 1; // within MAX_QUEUED_CONTROL_EVENTS
        }
        self.answering |= matches!(event, Event::Message(_) | Event::Fragment { .. });
        self.queued_bytes += cost(&event);
        self.events.push_back(event);
    }

    /// The next masking key, for a client.
    fn next_mask(&mut self) -> Option<[u8; 4]> {
        self.masks.as_mut().map(|rng| rng.next_u32().to_ne_bytes())
    }

    fn frame(&mut self, opcode: Opcode, payload: &[u8]) {
        let mask = self.next_mask();
        write_frame(self.out.buf(), opcode, true, payload, mask);
    }

    // ---- permessage-deflate -----------------------------------------------------------------

    /// Client: checks the server's answer to our offer and enables what was agreed.
    #[cfg(feature = "deflate")]
    fn client_deflate(
        &mut self,
        accepted: &[crate::http::Extension],
    ) -> Result<(), HandshakeError> {
        use super::deflate::{PERMESSAGE_DEFLATE, ResponseError, client_verify};
        let Some(config) = &self.config.deflate else {
            return Ok(()); // nothing offered: an answer with it was refused already
        };
        match client_verify(config, accepted) {
            Ok(Some(negotiated)) => {
                self.enable_deflate(negotiated);
                Ok(())
            }
            Ok(None) => Ok(()),
            Err(error) => Err(HandshakeError::InvalidExtensionResponse {
                name: PERMESSAGE_DEFLATE,
                why: match error {
                    ResponseError::InvalidParams => "unknown, repeated or invalid parameters",
                    ResponseError::WindowTooLarge => "a window larger than offered",
                    ResponseError::Repeated => "accepted more than once",
                    ResponseError::Missing => "a parameter the offer asked for is missing",
                },
            }),
        }
    }

    #[cfg(feature = "deflate")]
    fn enable_deflate(&mut self, agreed: super::deflate::Negotiated) {
        use super::deflate::{Deflater, Inflater};
        let Some(config) = self.config.deflate else {
            return;
        };
        let release = config.release_between_messages;
        self.compressing = Some(Box::new(Compressing {
            agreed,
            deflater: Deflater::new(
                config.level,
                agreed.local_max_window_bits,
                agreed.local_no_context_takeover,
                release,
            ),
            threshold: config.threshold,
            compressed: Vec::new(),
        }));
        self.receiver.enable_inflate(Inflater::new(
            agreed.remote_max_window_bits,
            agreed.remote_no_context_takeover,
            release,
        ));
    }

    /// Sends the message compressed if deflate is on and it is worth it; `false` if it
    /// should go out as it is.
    #[cfg(feature = "deflate")]
    fn send_compressed(&mut self, opcode: Opcode, payload: &[u8]) -> bool {
        let Some(compressing) = self.compressing.as_deref_mut() else {
            return false;
        };
        let Some(deflater) = &mut compressing.deflater else {
            return false;
        };
        if payload.len() < compressing.threshold {
            return false;
        }
        compressing.compressed.clear();
        deflater.compress(payload, &mut compressing.compressed);
        let mask = self.masks.as_mut().map(|rng| rng.next_u32().to_ne_bytes());
        let compressed = &compressing.compressed;
        super::send::write_compressed_frame(self.out.buf(), opcode, compressed, mask);
        true
    }

    /// Frames a data message, compressed if that was agreed and pays.
    fn send_payload(&mut self, opcode: Opcode, payload: &[u8]) -> Result<(), UsageError> {
        self.check_open()?;
        #[cfg(feature = "deflate")]
        if self.send_compressed(opcode, payload) {
            return Ok(());
        }
        self.frame(opcode, payload);
        Ok(())
    }

    /// Frames a data message the application handed over: a large payload that goes out
    /// as it is (a server's, uncompressed) is queued without a copy.
    fn send_shared(&mut self, opcode: Opcode, payload: &Bytes) -> Result<(), UsageError> {
        #[cfg(feature = "deflate")]
        let compressing = self.compressing.is_some();
        #[cfg(not(feature = "deflate"))]
        let compressing = false;
        if self.masks.is_some() || compressing || payload.len() < SHARE_MIN {
            return self.send_payload(opcode, payload);
        }
        self.check_open()?;
        FrameHeader::new(opcode, true, payload.len() as u64).encode(self.out.buf());
        self.out.push_shared(payload.clone());
        Ok(())
    }

    fn send_close(&mut self, now: Instant, payload: ClosePayload<'_>) {
        let mut body = Vec::with_capacity(payload.encoded_len());
        payload.encode(&mut body);
        self.frame(Opcode::Close, &body);
        self.after_close_sent(now);
    }

    fn send_close_empty(&mut self, now: Instant) {
        self.frame(Opcode::Close, &[]);
        self.after_close_sent(now);
    }

    fn after_close_sent(&mut self, now: Instant) {
        self.close_sent = true;
        let deadline = now + self.config.close_timeout;
        self.closing().deadline = Some(deadline);
        if let Some(timers) = &mut self.timers {
            timers.next_ping = None;
            timers.pong_deadline = None;
        }
    }

    fn touch(&mut self, now: Instant) {
        if let Some(timers) = &mut self.timers {
            timers.idle_deadline = self.config.idle_timeout.map(|idle| now + idle);
        }
    }

    fn check_open(&self) -> Result<(), UsageError> {
        match self.phase {
            Phase::Open if self.close_sent => Err(UsageError::Closing),
            Phase::Open => Ok(()),
            _ => Err(UsageError::NotOpen),
        }
    }
}

impl Machine for Connection {
    type Event = Event;
    type Command = Command;
    type Reply = ();
    type UsageError = UsageError;

    fn handle_input(&mut self, now: Instant, data: &[u8]) -> usize {
        self.last_now = now;
        if self.has_deferred_fault() {
            return data.len();
        }
        if let Phase::Handshake(handshake) = &mut self.phase {
            let Stage::Decision(decision) = &mut handshake.stage else {
                return self.handshake_input(now, data);
            };
            // Hold what the client sends before the answer, up to one head's worth.
            let room = self.config.max_head.saturating_sub(decision.early.len());
            let n = room.min(data.len());
            decision.early.extend_from_slice(&data[..n]);
            return n;
        }
        match self.phase {
            Phase::Handshake(_) => unreachable!("handled above"),
            Phase::Open if !self.wants_read() => 0,
            Phase::Open => self.frame_input(now, data),
            Phase::Closed => data.len(),
        }
    }

    fn handle_eof(&mut self, now: Instant) {
        self.last_now = now;
        self.eof = true;
        if self.closed_reported {
            self.done = true; // the linger is over
            if let Some(closing) = &mut self.closing {
                closing.linger_deadline = None;
            }
        } else if self.close_sent && self.close_received().is_some() {
            self.finish_normally();
        } else if !matches!(self.phase, Phase::Closed) {
            self.end(CloseReason::Abnormal);
        }
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.last_now = now;
        if let Phase::Handshake(handshake) = &mut self.phase {
            match handshake.timer {
                HandshakeTimer::Unarmed => {
                    let timeout = self.config.handshake_timeout.unwrap_or_default();
                    handshake.timer = HandshakeTimer::At(now + timeout);
                }
                HandshakeTimer::At(deadline) if deadline <= now => {
                    handshake.timer = HandshakeTimer::Off;
                    self.end(CloseReason::Timeout(TimeoutKind::Handshake));
                    return;
                }
                _ => {}
            }
        }
        let due = |deadline: Option<Instant>| deadline.is_some_and(|deadline| deadline <= now);
        if let Some(closing) = &mut self.closing {
            if due(closing.linger_deadline) {
                closing.linger_deadline = None;
                self.done = true;
                return;
            }
            if due(closing.deadline) {
                if closing.received.is_some() {
                    self.finish_normally(); // the client waited long enough for the server's FIN
                } else {
                    self.end(CloseReason::Timeout(TimeoutKind::CloseHandshake));
                }
                return;
            }
        }
        let Some(timers) = self.timers.as_deref_mut() else {
            return;
        };
        if due(timers.pong_deadline) {
            if !self.close_sent {
                let payload = ClosePayload::new(CloseCode::GOING_AWAY, "ping timeout")
                    .expect("a sendable close");
                self.send_close(now, payload);
            }
            self.end(CloseReason::Timeout(TimeoutKind::Pong));
            return;
        }
        if due(timers.idle_deadline) && !self.close_sent {
            timers.idle_deadline = None;
            let payload =
                ClosePayload::new(CloseCode::GOING_AWAY, "idle").expect("a sendable close");
            self.send_close(now, payload);
            return;
        }
        if let Some(due) = timers.next_ping.filter(|due| *due <= now) {
            timers.ping_count += 1;
            let payload = timers.ping_count.to_be_bytes();
            if timers.pong_deadline.is_none() {
                timers.pong_deadline = Some(now + self.config.pong_timeout);
            }
            timers.next_ping = self.config.ping_interval.map(|every| due.max(now) + every);
            self.frame(Opcode::Ping, &payload);
        }
    }

    fn command(&mut self, now: Instant, command: Command) -> Result<(), UsageError> {
        self.last_now = now;
        match command {
            Command::Accept(accept) => {
                let Phase::Handshake(handshake) = &self.phase else {
                    return Err(UsageError::NoPendingUpgrade);
                };
                let Stage::Decision(decision) = &handshake.stage else {
                    return Err(UsageError::NoPendingUpgrade);
                };
                let request = &decision.request;
                #[cfg(feature = "deflate")]
                let (accept, negotiated) = match &self.config.deflate {
                    Some(deflate) => {
                        match super::deflate::server_accept(deflate, request.extensions()) {
                            Some((response, negotiated)) => {
                                (accept.extension(response), Some(negotiated))
                            }
                            None => (accept, None),
                        }
                    }
                    None => (accept, None),
                };
                let response = request.accept(&accept).map_err(UsageError::Handshake)?;
                #[cfg(feature = "deflate")]
                if let Some(negotiated) = negotiated {
                    self.enable_deflate(negotiated);
                }
                self.out.buf().extend_from_slice(&response.to_vec());
                let early = match &mut self.handshake().stage {
                    Stage::Decision(decision) => core::mem::take(&mut decision.early),
                    _ => Vec::new(),
                };
                self.open(now, accept.chosen_subprotocol().map(String::from));
                let taken = self.frame_input(now, &early);
                debug_assert_eq!(taken, early.len());
                Ok(())
            }
            Command::Reject(reject) => {
                let awaiting = match &self.phase {
                    Phase::Handshake(handshake) => matches!(handshake.stage, Stage::Decision(_)),
                    _ => false,
                };
                if !awaiting {
                    return Err(UsageError::NoPendingUpgrade);
                }
                let response = reject.into_response().map_err(UsageError::Handshake)?;
                self.out.buf().extend_from_slice(&response.to_vec());
                self.end(CloseReason::Rejected {
                    status: response.status(),
                });
                Ok(())
            }
            Command::Send(message) => match &message {
                Message::Text(text) => self.send_shared(Opcode::Text, text.bytes()),
                Message::Binary(bytes) => self.send_shared(Opcode::Binary, bytes),
            },
            Command::Ping(payload) => {
                self.check_open()?;
                if payload.len() > MAX_CONTROL_PAYLOAD_LEN {
                    return Err(UsageError::PingTooLong);
                }
                self.frame(Opcode::Ping, &payload);
                Ok(())
            }
            Command::Close { code, reason } => {
                self.check_open()?;
                let payload = ClosePayload::new(code, &reason).map_err(UsageError::InvalidClose)?;
                self.send_close(now, payload);
                self.closing_handshake_done();
                Ok(())
            }
        }
    }

    #[inline]
    fn poll_transmit(&mut self) -> Option<Bytes> {
        // Drivers ask every round; most rounds find nothing.
        if self.out.is_empty() {
            return None;
        }
        self.out.next()
    }

    /// Lends the frames waiting while they are one buffer: while no payload queued without
    /// a copy (a server's, of 4 KiB or more, uncompressed) is among them.
    #[inline]
    fn lend_transmit(&self) -> Option<&[u8]> {
        self.out.lend()
    }

    #[inline]
    fn advance_lent(&mut self, n: usize) {
        self.out.advance_lent(n);
    }

    fn poll_event(&mut self) -> Option<Event> {
        if self.events.is_empty() {
            // The application is back for more: it has answered what it was given.
            self.answering = false;
            let error = self.closing.as_mut()?.deferred_fault.take()?;
            self.fail(self.last_now, error);
        }
        // Accounted for before it is moved out: the event is moved once, straight out.
        let front = self.events.front()?;
        self.queued_bytes = self.queued_bytes.saturating_sub(cost(front));
        if is_control(front) {
            self.queued_control_events -= 1;
        }
        self.events.pop_front()
    }

    fn poll_timeout(&self) -> Option<Instant> {
        let handshake = match &self.phase {
            Phase::Handshake(handshake) => match handshake.timer {
                HandshakeTimer::Unarmed => Some(Instant::ZERO), // at once: the timer arms itself
                HandshakeTimer::At(deadline) => Some(deadline),
                HandshakeTimer::Off => None,
            },
            _ => None,
        };
        let closing = self.closing.as_deref();
        let timers = self.timers.as_deref();
        if closing.is_none() && timers.is_none() {
            // No ping or idle timers and no close under way (an open connection, or one in
            // its handshake): drivers ask every round, so this case skips the fold.
            return handshake;
        }
        [
            handshake,
            closing.and_then(|closing| closing.deadline),
            closing.and_then(|closing| closing.linger_deadline),
            timers.and_then(|timers| timers.pong_deadline),
            timers.and_then(|timers| timers.idle_deadline),
            timers.and_then(|timers| timers.next_ping),
        ]
        .into_iter()
        .fold(None, earliest)
    }

    fn wants_read(&self) -> bool {
        !self.eof
            && !self.done
            && !self.has_deferred_fault()
            && self.queued_bytes <= self.config.max_message_size
            && self.out.len() <= OUT_HIGH_WATER
    }

    fn is_transmit_closed(&self) -> bool {
        self.transmit_closed
    }

    fn is_finished(&self) -> bool {
        self.done && self.out.is_empty()
    }
}

/// Whether the event only reports a control frame that was already handled.
fn is_control(event: &Event) -> bool {
    matches!(event, Event::Ping(_) | Event::Pong(_))
}

/// What an event costs against the queue budget: its payload plus a fixed share.
fn cost(event: &Event) -> usize {
    EVENT_COST
        + match event {
            Event::Message(message) | Event::Fragment { piece: message, .. } => message.len(),
            Event::Ping(payload) | Event::Pong(payload) => payload.len(),
            _ => 0,
        }
}
