//! The RSocket connection machine: one symmetric machine with the role as data. SETUP,
//! keepalive, the four interactions and metadata push, credit both ways, fragmentation,
//! lease, and the spec's "ignore" rules for the unexpected.
//!
//! ```text
//!  client: Open (SETUP sent first) ───────────────────────────────▶ Closed
//!  server: AwaitingSetup ──SETUP──▶ AwaitingDecision ──Accept──▶ Open ──▶ Closed
//!                                          └──Reject──▶ Closed (ERROR REJECTED_SETUP)
//!  a bad first frame: ERROR INVALID_SETUP; a connection-level fault: ERROR CONNECTION_ERROR
//! ```

mod config;
mod event;
mod fragment;
#[cfg(test)]
mod memory;
mod stream;
#[cfg(all(test, feature = "testing"))]
mod tests;
mod wire;

use alloc::boxed::Box;
use alloc::collections::{BTreeMap, VecDeque};
use alloc::string::{String, ToString};
use alloc::sync::Arc;
use bytes::Bytes;
use core::time::Duration;

pub use config::{Config, Framing};
pub use event::{CloseReason, Command, Demand, Event, Interaction, Request, StreamId, UsageError};

use self::fragment::fragment;
use self::stream::{Assembling, Credit, Kind, Partial, Side, Stream};
use self::wire::Wire;
use super::{ErrorCode, Frame, MAX_REQUEST_N, MAX_STREAM_ID, Payload, RequestKind, Setup};
use crate::machine::Machine;
use crate::time::{Instant, earliest};
use crate::ws;

/// Input stops while this much output waits to be transmitted.
const OUT_HIGH_WATER: usize = 4 * 1024 * 1024;

/// Frames held while the server application decides on SETUP.
const MAX_HELD_FRAMES: usize = 1024;

/// Which end we are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Sent SETUP; opens odd stream ids.
    Client,
    /// Received SETUP; opens even stream ids.
    Server,
}

#[derive(Debug)]
enum Phase {
    /// Server: waiting for the first frame.
    AwaitingSetup,
    /// Server: the application decides; frames that arrive meanwhile wait here.
    AwaitingDecision(VecDeque<Bytes>),
    /// Frames flow.
    Open,
    /// Over; `Event::Closed` has been queued.
    Closed,
}

/// Leases both ways, when SETUP agreed on them.
#[derive(Debug, Clone, Copy, Default)]
struct Leases {
    /// What the peer granted us.
    received: Lease,
    /// What we granted the peer.
    issued: Lease,
}

/// Leases in one direction.
#[derive(Debug, Clone, Copy, Default)]
struct Lease {
    requests: u32,
    expires: Option<Instant>,
}

impl Lease {
    fn take(&mut self, now: Instant) -> bool {
        if self.requests == 0 || self.expires.is_none_or(|at| at <= now) {
            return false;
        }
        self.requests -= 1;
        true
    }
}

/// An RSocket connection (RSocket 1.0) as a [`Machine`]. See the [module docs](self).
///
/// The machine itself is at most 256 bytes (a test holds it to that): the [`Config`] can be
/// shared by many connections (see [`server`](Connection::server)), leases are
/// boxed only when agreed, and only the framing in use has buffers.
#[derive(Debug)]
pub struct Connection {
    role: Role,
    config: Arc<Config>,
    /// `Config::channel_refill`, which [`set_channel_refill`](Connection::set_channel_refill)
    /// changes for this connection alone.
    channel_refill: bool,
    phase: Phase,
    /// The transport's buffers, by framing.
    wire: Wire,
    events: VecDeque<Event>,
    queued_bytes: usize,
    streams: BTreeMap<StreamId, Stream>,
    next_id: StreamId,
    /// Leases, when in use (the L flag of SETUP).
    leases: Option<Box<Leases>>,
    /// A server: the max lifetime the client's SETUP announced, in milliseconds (until
    /// then, and for a client, `Config::max_lifetime` applies).
    peer_lifetime_ms: Option<u32>,
    /// Timers start from the first time the machine sees; until then it asks for it.
    timers_armed: bool,
    next_keepalive: Option<Instant>,
    last_received: Instant,
    last_now: Instant,
    transmit_closed: bool,
    /// RSocket over WebSocket: the WebSocket connection underneath, one binary message per
    /// frame.
    ws: Option<Box<ws::Connection>>,
}

impl Connection {
    /// A client; its SETUP is the first transmit. `config` may be an `Arc<Config>` shared
    /// with other connections.
    pub fn client(config: impl Into<Arc<Config>>) -> Connection {
        let mut connection = Connection::new(Role::Client, config.into());
        let setup = Frame::Setup(Setup {
            version: (1, 0),
            keepalive_ms: millis(connection.config.keepalive_interval),
            lifetime_ms: millis(connection.config.max_lifetime),
            resume_token: None,
            lease: connection.config.lease,
            metadata_mime: connection.config.metadata_mime.clone(),
            data_mime: connection.config.data_mime.clone(),
            payload: connection.config.setup_payload.clone(),
        });
        if connection.config.lease {
            connection.leases = Some(Box::default());
        }
        connection.emit(setup);
        connection.phase = Phase::Open;
        connection
    }

    /// A server, waiting for the client's SETUP. A server accepting many connections can
    /// share one configuration by passing an `Arc<Config>`.
    pub fn server(config: impl Into<Arc<Config>>) -> Connection {
        Connection::new(Role::Server, config.into())
    }

    fn new(role: Role, config: Arc<Config>) -> Connection {
        Connection {
            role,
            wire: Wire::new(
                config.framing,
                config.max_inbound_payload.saturating_add(64),
            ),
            channel_refill: config.channel_refill,
            config,
            phase: Phase::AwaitingSetup,
            events: VecDeque::new(),
            queued_bytes: 0,
            streams: BTreeMap::new(),
            next_id: match role {
                Role::Client => 1,
                Role::Server => 2,
            },
            leases: None,
            peer_lifetime_ms: None,
            timers_armed: false,
            next_keepalive: None,
            last_received: Instant::ZERO,
            last_now: Instant::ZERO,
            transmit_closed: false,
            ws: None,
        }
    }

    /// A client over a WebSocket client connection (`ws`, not yet upgraded): the upgrade
    /// happens first, then SETUP goes out as the first binary message.
    pub fn client_over_websocket(config: Config, ws: ws::Connection) -> Connection {
        let config = Config {
            framing: Framing::Frames,
            ..config
        };
        let mut connection = Connection::client(config);
        connection.ws = Some(Box::new(ws));
        connection
    }

    /// A server over a WebSocket server connection (`ws`, waiting for the upgrade request,
    /// which is accepted).
    pub fn server_over_websocket(config: Config, ws: ws::Connection) -> Connection {
        let config = Config {
            framing: Framing::Frames,
            ..config
        };
        let mut connection = Connection::server(config);
        connection.ws = Some(Box::new(ws));
        connection
    }

    /// Takes what the WebSocket connection reports: the upgrade, frames as binary
    /// messages, and its end.
    fn pump_websocket(&mut self, now: Instant) {
        while let Some(event) = self.ws.as_mut().and_then(|ws| ws.poll_event()) {
            match event {
                ws::Event::UpgradeRequest(_) => {
                    if let Some(ws) = &mut self.ws {
                        let _ = ws.command(now, ws::Command::Accept(Default::default()));
                    }
                }
                ws::Event::Message(ws::Message::Binary(frame)) => self.handle_frame(now, frame),
                ws::Event::Message(ws::Message::Text(_)) | ws::Event::Fragment { .. } => {
                    self.fail(
                        ErrorCode::CONNECTION_ERROR,
                        "RSocket frames travel in binary messages",
                    );
                }
                ws::Event::Closed(_) => self.close(CloseReason::TransportClosed),
                _ => {} // open, pings, the peer's close frame
            }
        }
    }

    /// Hands queued frames to the WebSocket connection once it is open, and closes it once
    /// RSocket is done.
    fn feed_websocket(&mut self) {
        let Some(ws) = &mut self.ws else {
            return;
        };
        if ws.is_closing() {
            // Nothing more can go out: queued frames would hold the connection open.
            self.wire.clear();
            return;
        }
        while ws.is_open() {
            let Some(frame) = self.wire.take() else {
                break;
            };
            let now = self.last_now;
            if ws
                .command(now, ws::Command::Send(ws::Message::Binary(frame)))
                .is_err()
            {
                break;
            }
        }
        if self.transmit_closed && self.wire.buffered() == 0 && ws.is_open() {
            let close = ws::Command::Close {
                code: ws::CloseCode::NORMAL,
                reason: String::new(),
            };
            let _ = ws.command(self.last_now, close);
        }
    }

    /// Bytes of state beyond `size_of::<Connection>()` that this connection alone holds,
    /// buffers and streams excluded (a shared [`Config`] is not counted).
    #[cfg(test)]
    pub(crate) fn boxed_state(&self) -> usize {
        use core::mem::size_of;
        let leases = self.leases.as_ref().map_or(0, |_| size_of::<Leases>());
        let ws = self
            .ws
            .as_ref()
            .map_or(0, |ws| size_of::<ws::Connection>() + ws.boxed_state());
        leases + ws
    }

    /// Bytes of state for each live stream: its entry, and a boxed message in fragments.
    #[cfg(test)]
    pub(crate) fn stream_state(&self) -> impl Iterator<Item = usize> + '_ {
        self.streams.values().map(|stream| {
            let partial = stream
                .partial
                .as_ref()
                .map_or(0, |_| core::mem::size_of::<(Assembling, Partial)>());
            core::mem::size_of::<Stream>() + partial
        })
    }

    /// This end's role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// Whether streams can be opened and answered.
    pub fn is_open(&self) -> bool {
        matches!(self.phase, Phase::Open)
    }

    /// The credit a channel responder grants at first (`Config::channel_window`).
    pub fn channel_window(&self) -> u32 {
        self.config.channel_window.max(1)
    }

    /// Sets `Config::channel_refill` (before any channel arrives).
    pub fn set_channel_refill(&mut self, refill: bool) {
        self.channel_refill = refill;
    }

    /// Whether the connection is over.
    pub fn is_closed(&self) -> bool {
        matches!(self.phase, Phase::Closed)
    }

    /// Streams alive now.
    pub fn stream_count(&self) -> usize {
        self.streams.len()
    }

    /// Whether `stream` is live (a request still arriving in fragments included).
    pub fn has_stream(&self, stream: StreamId) -> bool {
        self.streams.contains_key(&stream)
    }

    /// Items held on `stream` until the peer grants credit.
    pub fn held_items(&self, stream: StreamId) -> usize {
        self.streams.get(&stream).map_or(0, |s| s.held.len())
    }

    /// Bytes waiting to be transmitted.
    pub fn buffered_amount(&self) -> usize {
        self.wire.buffered() + self.ws.as_ref().map_or(0, |ws| ws.buffered_amount())
    }

    /// Feeds one whole frame (its bytes without a length prefix). Message transports call
    /// this through `handle_input`; it is public for transports that carry frames by other
    /// means.
    pub fn handle_frame(&mut self, now: Instant, frame: Bytes) {
        self.last_now = now;
        self.last_received = now;
        if frame.len() > self.config.max_inbound_payload.saturating_add(64) {
            return self.fail(ErrorCode::CONNECTION_ERROR, "a frame over the size limit");
        }
        match &mut self.phase {
            Phase::Closed => {}
            Phase::AwaitingSetup => self.first_frame(now, frame),
            Phase::AwaitingDecision(held) => {
                let held_bytes: usize = held.iter().map(Bytes::len).sum();
                let room = self.config.max_inbound_payload.saturating_sub(held_bytes);
                if held.len() < MAX_HELD_FRAMES && frame.len() <= room {
                    held.push_back(frame);
                } else {
                    self.fail(
                        ErrorCode::REJECTED_SETUP,
                        "too many frames before the SETUP was answered",
                    );
                }
            }
            Phase::Open => match Frame::decode(frame) {
                Ok(frame) => self.dispatch(now, frame),
                Err(error) if error.ignore => {}
                Err(error) => self.fail(ErrorCode::CONNECTION_ERROR, &error.to_string()),
            },
        }
    }

    // ---- setup ------------------------------------------------------------------------------

    fn first_frame(&mut self, now: Instant, bytes: Bytes) {
        match Frame::decode(bytes) {
            Ok(Frame::Setup(setup)) if setup.resume_token.is_some() => {
                self.fail(ErrorCode::REJECTED_SETUP, "resumption is not supported");
            }
            Ok(Frame::Setup(setup)) if setup.version.0 != 1 => {
                self.fail(
                    ErrorCode::UNSUPPORTED_SETUP,
                    "only version 1.x is supported",
                );
            }
            Ok(Frame::Setup(setup)) => {
                self.peer_lifetime_ms = Some(setup.lifetime_ms);
                if setup.lease {
                    self.leases = Some(Box::default());
                }
                self.last_received = now;
                self.phase = Phase::AwaitingDecision(VecDeque::new());
                self.events.push_back(Event::Setup(setup));
            }
            Ok(Frame::Resume { .. }) => {
                self.fail(ErrorCode::REJECTED_RESUME, "resumption is not supported");
            }
            Ok(_) => self.fail(ErrorCode::INVALID_SETUP, "the first frame must be SETUP"),
            Err(error) => self.fail(ErrorCode::INVALID_SETUP, &error.to_string()),
        }
    }

    // ---- inbound frames ---------------------------------------------------------------------

    fn dispatch(&mut self, now: Instant, frame: Frame) {
        match frame {
            // A second SETUP, or one sent to a client, and a stray RESUME_OK: ignored (§1.11).
            Frame::Setup(_) | Frame::ResumeOk { .. } => {}
            Frame::Resume { .. } => self.fail(
                ErrorCode::CONNECTION_ERROR,
                "RESUME on an established connection",
            ),
            Frame::Lease {
                ttl_ms, requests, ..
            } => {
                if let Some(leases) = &mut self.leases {
                    let ttl = Duration::from_millis(u64::from(ttl_ms));
                    leases.received = Lease {
                        requests,
                        expires: Some(now + ttl),
                    };
                    self.enqueue(Event::Lease { ttl, requests });
                }
            }
            Frame::Keepalive { respond, data, .. } => {
                if respond {
                    self.emit(Frame::Keepalive {
                        respond: false,
                        last_position: 0,
                        data,
                    });
                }
            }
            Frame::MetadataPush { metadata } => self.enqueue(Event::MetadataPush(metadata)),
            Frame::Request {
                stream,
                kind,
                follows,
                payload,
            } => self.on_request(now, stream, kind, follows, payload),
            Frame::RequestN { stream, n } => {
                if let Some(state) = self.streams.get_mut(&stream) {
                    state.outbound_credit.grant(n);
                    self.flush_held(stream);
                }
            }
            Frame::Cancel { stream } => {
                let responder = self
                    .streams
                    .get(&stream)
                    .is_some_and(|s| s.side == Side::Responder);
                if responder {
                    self.streams.remove(&stream);
                    self.enqueue(Event::Cancelled { stream });
                }
            }
            Frame::Payload {
                stream,
                follows,
                complete,
                next,
                payload,
            } => self.on_payload(stream, follows, complete, next, payload),
            Frame::Error {
                stream: 0,
                code,
                message,
            } => {
                // Setup errors after establishment are ignored (§1.11), save by a client,
                // for which they are the rejection of its SETUP.
                if code.is_setup_level() && self.role == Role::Server {
                    return;
                }
                let reason = match code {
                    ErrorCode::CONNECTION_CLOSE => CloseReason::PeerClosed { message },
                    code => CloseReason::PeerError { code, message },
                };
                self.close(reason);
            }
            Frame::Error {
                stream,
                code,
                message,
            } => {
                if self.streams.remove(&stream).is_some() {
                    self.enqueue(Event::Error {
                        stream,
                        code,
                        message,
                    });
                }
            }
            Frame::Ext { ignore: true, .. } => {}
            Frame::Ext { extended_type, .. } => {
                self.fail(
                    ErrorCode::CONNECTION_ERROR,
                    &alloc::format!("unsupported extension frame {extended_type}"),
                );
            }
        }
    }

    fn on_request(
        &mut self,
        now: Instant,
        stream: StreamId,
        kind: RequestKind,
        follows: bool,
        payload: Payload,
    ) {
        let peer_parity = match self.role {
            Role::Client => 0, // the server opens even ids
            Role::Server => 1,
        };
        if stream == 0 || stream % 2 != peer_parity {
            self.enqueue(Event::Violation {
                stream,
                what: "a request on a stream id the peer may not open",
            });
            return;
        }
        if self.streams.contains_key(&stream) {
            // A request on an active id is ignored (§1.3).
            self.enqueue(Event::Violation {
                stream,
                what: "a request on an active stream id",
            });
            return;
        }
        if self
            .leases
            .as_mut()
            .is_some_and(|leases| !leases.issued.take(now))
        {
            if !matches!(kind, RequestKind::FireAndForget) {
                self.emit(Frame::Error {
                    stream,
                    code: ErrorCode::REJECTED,
                    message: "no lease".into(),
                });
            }
            return;
        }
        let interaction = match kind {
            RequestKind::FireAndForget => Interaction::FireAndForget,
            RequestKind::Response => Interaction::Response,
            RequestKind::Stream { .. } => Interaction::Stream,
            RequestKind::Channel { complete, .. } => Interaction::Channel { complete },
        };
        let (kind_of, credit) = match kind {
            RequestKind::FireAndForget | RequestKind::Response => (Kind::Response, 1),
            RequestKind::Stream { initial_n } => (Kind::Stream, initial_n),
            RequestKind::Channel { initial_n, .. } => (Kind::Channel, initial_n),
        };
        let window = self.config.channel_window.max(1);
        let demand = match self.channel_refill {
            true => Demand::Window(window),
            false => Demand::Manual(window),
        };
        let mut state = Stream::new(Side::Responder, kind_of, demand, Credit::new(credit));
        // Channel inbound credit is granted when the application takes the request.
        state.inbound_credit = Credit::default();
        state.inbound_open = matches!(interaction, Interaction::Channel { complete: false });
        if follows {
            let mut partial = Partial::default();
            partial.push(&payload);
            state.partial = Some(Box::new((Assembling::Request(interaction), partial)));
            self.streams.insert(stream, state);
            self.check_partial_size(stream);
            return;
        }
        self.open_request(stream, state, interaction, payload);
    }

    /// A complete request: the stream is live (unless fire-and-forget) and reported.
    fn open_request(
        &mut self,
        stream: StreamId,
        mut state: Stream,
        interaction: Interaction,
        payload: Payload,
    ) {
        state.partial = None;
        match interaction {
            Interaction::FireAndForget => {
                self.streams.remove(&stream);
            }
            _ => {
                self.streams.insert(stream, state);
            }
        }
        self.enqueue(Event::Request {
            stream,
            interaction,
            payload,
        });
    }

    fn on_payload(
        &mut self,
        stream: StreamId,
        follows: bool,
        complete: bool,
        next: bool,
        payload: Payload,
    ) {
        let Some(state) = self.streams.get_mut(&stream) else {
            return; // unknown streams are ignored (§1.11)
        };
        if state.partial.is_none() && !follows {
            return self.deliver(stream, next, complete, payload);
        }
        // A fragment: follow F; C and N count from whichever fragment carries them.
        let (assembling, partial) = &mut **state
            .partial
            .get_or_insert_with(|| Box::new((Assembling::Item, Partial::default())));
        partial.push(&payload);
        partial.next |= next;
        partial.complete |= complete;
        let assembling = *assembling;
        if !self.check_partial_size(stream) || follows {
            return;
        }
        let Some(mut state) = self.streams.remove(&stream) else {
            return;
        };
        let (_, partial) = *state.partial.take().expect("a partial message");
        let (next, complete) = (partial.next, partial.complete);
        match assembling {
            Assembling::Request(interaction) => {
                // C may come on the last fragment (it does from us): it counts for the request.
                let interaction = match interaction {
                    Interaction::Channel { complete: first } => {
                        let complete = first || complete;
                        state.inbound_open = !complete;
                        Interaction::Channel { complete }
                    }
                    other => other,
                };
                self.open_request(stream, state, interaction, partial.into_payload());
            }
            Assembling::Item => {
                self.streams.insert(stream, state);
                self.deliver(stream, next, complete, partial.into_payload());
            }
        }
    }

    /// Fails the stream if reassembly passed the limit, which holds for the stream and for
    /// every stream's partial messages together; `true` if it is within.
    fn check_partial_size(&mut self, stream: StreamId) -> bool {
        let partial_len = |s: &Stream| s.partial.as_ref().map_or(0, |p| p.1.len());
        let len = self.streams.get(&stream).map_or(0, partial_len);
        let total: usize = self.streams.values().map(partial_len).sum();
        if len <= self.config.max_inbound_payload && total <= self.config.max_inbound_payload {
            return true;
        }
        self.fail_stream(
            stream,
            ErrorCode::INVALID,
            "reassembled payload over the limit",
        );
        false
    }

    /// An item (or completion) from the peer on a live stream.
    fn deliver(&mut self, stream: StreamId, next: bool, complete: bool, payload: Payload) {
        let Some(state) = self.streams.get_mut(&stream) else {
            return;
        };
        if !state.inbound_open {
            return; // nothing more was expected: ignore
        }
        if !next && !complete {
            return self.fail_stream(
                stream,
                ErrorCode::INVALID,
                "PAYLOAD with neither NEXT nor COMPLETE",
            );
        }
        // A response's single payload completes it, C or not (§1.8).
        let complete = complete || (state.kind == Kind::Response && state.side == Side::Requester);
        if next && !state.inbound_credit.take() && state.kind != Kind::Response {
            state.overflow += 1;
            if state.overflow > self.config.overflow_allowance {
                return self.fail_stream(
                    stream,
                    ErrorCode::INVALID,
                    "the peer sent more items than its credit",
                );
            }
            self.enqueue(Event::Violation {
                stream,
                what: "an item beyond the credit granted (tolerated)",
            });
        }
        if next {
            self.enqueue(Event::Next { stream, payload });
        }
        if complete {
            if let Some(state) = self.streams.get_mut(&stream) {
                state.inbound_open = false;
            }
            self.enqueue(Event::Complete { stream });
            self.forget_if_done(stream);
        }
    }

    /// Ends a stream because of the peer: tells the peer (CANCEL as requester, ERROR as
    /// responder) and the application.
    fn fail_stream(&mut self, stream: StreamId, code: ErrorCode, why: &str) {
        let Some(state) = self.streams.remove(&stream) else {
            return;
        };
        self.emit(match state.side {
            Side::Requester => Frame::Cancel { stream },
            Side::Responder => Frame::Error {
                stream,
                code,
                message: why.into(),
            },
        });
        self.enqueue(Event::Error {
            stream,
            code,
            message: why.into(),
        });
    }

    fn forget_if_done(&mut self, stream: StreamId) {
        if self.streams.get(&stream).is_some_and(Stream::is_done) {
            self.streams.remove(&stream);
        }
    }

    // ---- outbound ---------------------------------------------------------------------------

    /// Sends held items as far as credit allows, then a held completion.
    fn flush_held(&mut self, stream: StreamId) {
        loop {
            let Some(state) = self.streams.get_mut(&stream) else {
                return;
            };
            if state.held.is_empty() {
                if core::mem::take(&mut state.complete_after_held) && state.outbound_open {
                    state.outbound_open = false;
                    self.emit(Frame::Payload {
                        stream,
                        follows: false,
                        complete: true,
                        next: false,
                        payload: Payload::default(),
                    });
                }
                self.forget_if_done(stream);
                return;
            }
            if !state.outbound_credit.take() {
                return;
            }
            let (payload, complete) = state.held.pop_front().expect("not empty");
            if complete {
                state.outbound_open = false;
            }
            self.emit(Frame::Payload {
                stream,
                follows: false,
                complete,
                next: true,
                payload,
            });
        }
    }

    /// Queues a frame, fragmented to the frame limit.
    fn emit(&mut self, frame: Frame) {
        let limit = self.config.frame_limit();
        fragment(frame, limit, |piece| self.wire.put(&piece));
    }

    fn enqueue(&mut self, event: Event) {
        self.queued_bytes += event_cost(&event);
        self.events.push_back(event);
    }

    /// A connection-level fault: ERROR with `code` on stream 0, then the end.
    fn fail(&mut self, code: ErrorCode, what: &str) {
        if matches!(self.phase, Phase::Closed) {
            return;
        }
        self.emit(Frame::Error {
            stream: 0,
            code,
            message: what.into(),
        });
        self.close(CloseReason::Protocol {
            code,
            what: what.into(),
        });
    }

    fn close(&mut self, reason: CloseReason) {
        if matches!(self.phase, Phase::Closed) {
            return;
        }
        self.phase = Phase::Closed;
        self.transmit_closed = true;
        self.streams.clear();
        self.next_keepalive = None;
        self.events.push_back(Event::Closed(reason));
    }

    fn allocate_id(&mut self) -> Result<StreamId, UsageError> {
        let first = match self.role {
            Role::Client => 1,
            Role::Server => 2,
        };
        // At most one lap over the id space, skipping ids still in use.
        for _ in 0..=self.streams.len() {
            let id = self.next_id;
            self.next_id = match id.checked_add(2) {
                Some(next) if next <= MAX_STREAM_ID => next,
                _ => first,
            };
            if !self.streams.contains_key(&id) {
                return Ok(id);
            }
        }
        Err(UsageError::NoStreamIds)
    }

    fn open_stream(&mut self, now: Instant, request: Request) -> Result<StreamId, UsageError> {
        if !self.is_open() {
            return Err(UsageError::NotOpen);
        }
        if self
            .leases
            .as_mut()
            .is_some_and(|leases| !leases.received.take(now))
        {
            return Err(UsageError::NoLease);
        }
        let stream = self.allocate_id()?;
        let (kind, payload, state) = match request {
            Request::FireAndForget(payload) => (RequestKind::FireAndForget, payload, None),
            Request::Response(payload) => {
                let mut state = Stream::new(
                    Side::Requester,
                    Kind::Response,
                    Demand::Manual(1),
                    Credit::default(),
                );
                state.outbound_open = false;
                (RequestKind::Response, payload, Some(state))
            }
            Request::Stream { payload, demand } => {
                check_n(demand.initial())?;
                let mut state =
                    Stream::new(Side::Requester, Kind::Stream, demand, Credit::default());
                state.outbound_open = false;
                (
                    RequestKind::Stream {
                        initial_n: demand.initial(),
                    },
                    payload,
                    Some(state),
                )
            }
            Request::Channel {
                payload,
                demand,
                complete,
            } => {
                check_n(demand.initial())?;
                let mut state =
                    Stream::new(Side::Requester, Kind::Channel, demand, Credit::default());
                state.outbound_open = !complete;
                (
                    RequestKind::Channel {
                        initial_n: demand.initial(),
                        complete,
                    },
                    payload,
                    Some(state),
                )
            }
        };
        if let Some(state) = state {
            self.streams.insert(stream, state);
        }
        self.emit(Frame::Request {
            stream,
            kind,
            follows: false,
            payload,
        });
        Ok(stream)
    }

    /// A stream the application knows: live, and not a request still arriving in
    /// fragments (which the application has not been told about).
    fn live_stream(&mut self, stream: StreamId) -> Result<&mut Stream, UsageError> {
        if matches!(self.phase, Phase::Closed) {
            return Err(UsageError::NotOpen);
        }
        match self.streams.get_mut(&stream) {
            Some(state)
                if !matches!(state.partial.as_deref(), Some((Assembling::Request(_), _))) =>
            {
                Ok(state)
            }
            _ => Err(UsageError::UnknownStream(stream)),
        }
    }

    fn arm_timers(&mut self, now: Instant) {
        self.timers_armed = true;
        self.last_received = self.last_received.max(now);
        if self.role == Role::Client {
            self.next_keepalive = Some(now + self.config.keepalive_interval);
        }
    }

    /// How long the peer may stay silent: what a client's SETUP announced.
    fn max_lifetime(&self) -> Duration {
        self.peer_lifetime_ms
            .map_or(self.config.max_lifetime, |ms| {
                Duration::from_millis(u64::from(ms))
            })
    }

    fn lifetime_deadline(&self) -> Option<Instant> {
        // Also while waiting for SETUP: a client that never sends one does not hold the
        // connection forever (the server's own max lifetime applies until SETUP says).
        (self.timers_armed && !matches!(self.phase, Phase::Closed))
            .then(|| self.last_received + self.max_lifetime())
    }
}

impl Machine for Connection {
    type Event = Event;
    type Command = Command;
    type Reply = Option<StreamId>;
    type UsageError = UsageError;

    fn handle_input(&mut self, now: Instant, data: &[u8]) -> usize {
        self.last_now = now;
        if let Some(ws) = &mut self.ws {
            let taken = ws.handle_input(now, data);
            self.pump_websocket(now);
            return taken;
        }
        if matches!(self.phase, Phase::Closed) {
            return data.len();
        }
        if !self.wants_read() {
            return 0;
        }
        let Some(reader) = self.wire.reader() else {
            self.handle_frame(now, Bytes::copy_from_slice(data)); // one input, one frame
            return data.len();
        };
        reader.push(data);
        while let Some(reader) = self.wire.reader() {
            match reader.next_frame() {
                Ok(Some(frame)) => self.handle_frame(now, frame),
                Ok(None) => break,
                Err(too_long) => {
                    let what = alloc::format!("a {}-byte frame is over the limit", too_long.len);
                    self.fail(ErrorCode::CONNECTION_ERROR, &what);
                    break;
                }
            }
            if matches!(self.phase, Phase::Closed) {
                break;
            }
        }
        data.len()
    }

    fn handle_eof(&mut self, now: Instant) {
        self.last_now = now;
        if let Some(ws) = &mut self.ws {
            ws.handle_eof(now);
            self.pump_websocket(now);
        }
        self.close(CloseReason::TransportClosed);
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.last_now = now;
        if let Some(ws) = &mut self.ws {
            ws.handle_timeout(now);
            self.pump_websocket(now);
        }
        if !self.timers_armed {
            self.arm_timers(now);
        }
        if self
            .lifetime_deadline()
            .is_some_and(|deadline| deadline <= now)
        {
            self.fail(
                ErrorCode::CONNECTION_ERROR,
                "no frame within the max lifetime",
            );
            if let Some(Event::Closed(reason)) = self.events.back_mut() {
                *reason = CloseReason::KeepaliveTimeout;
            }
            return;
        }
        if let Some(due) = self.next_keepalive.filter(|due| *due <= now) {
            if self.is_open() {
                self.emit(Frame::Keepalive {
                    respond: true,
                    last_position: 0,
                    data: Bytes::new(),
                });
            }
            self.next_keepalive = Some(due.max(now) + self.config.keepalive_interval);
        }
    }

    fn command(&mut self, now: Instant, command: Command) -> Result<Option<StreamId>, UsageError> {
        self.last_now = now;
        match command {
            Command::AcceptSetup => {
                if !matches!(self.phase, Phase::AwaitingDecision(_)) {
                    return Err(UsageError::NoPendingSetup); // and the phase stays as it is
                }
                let Phase::AwaitingDecision(held) =
                    core::mem::replace(&mut self.phase, Phase::Open)
                else {
                    unreachable!("checked above");
                };
                for frame in held {
                    self.handle_frame(now, frame);
                }
                Ok(None)
            }
            Command::RejectSetup { message } => {
                if !matches!(self.phase, Phase::AwaitingDecision(_)) {
                    return Err(UsageError::NoPendingSetup);
                }
                self.fail(ErrorCode::REJECTED_SETUP, &message);
                Ok(None)
            }
            Command::Request(request) => self.open_stream(now, request).map(Some),
            Command::Send {
                stream,
                payload,
                complete,
            } => {
                let state = self.live_stream(stream)?;
                let may_send = match (state.side, state.kind) {
                    (Side::Responder, _) | (Side::Requester, Kind::Channel) => state.outbound_open,
                    _ => false,
                };
                let completing = state.held.back().is_some_and(|(_, complete)| *complete);
                if !may_send || state.complete_after_held || completing {
                    return Err(UsageError::NotAllowed(
                        "this side of the stream cannot send",
                    ));
                }
                let complete = complete || state.kind == Kind::Response;
                state.held.push_back((payload, complete));
                self.flush_held(stream);
                Ok(None)
            }
            Command::Complete { stream } => {
                let state = self.live_stream(stream)?;
                if !state.outbound_open
                    || (state.side == Side::Requester && state.kind != Kind::Channel)
                {
                    return Err(UsageError::NotAllowed(
                        "this side of the stream is not open",
                    ));
                }
                state.complete_after_held = true;
                self.flush_held(stream);
                Ok(None)
            }
            Command::Error {
                stream,
                code,
                message,
            } => {
                if code.is_connection_level() {
                    return Err(UsageError::InvalidArgument(
                        "a stream error needs a stream-level code",
                    ));
                }
                self.live_stream(stream)?;
                self.streams.remove(&stream);
                self.emit(Frame::Error {
                    stream,
                    code,
                    message,
                });
                Ok(None)
            }
            Command::Cancel { stream } => {
                let state = self.live_stream(stream)?;
                if state.side != Side::Requester {
                    return Err(UsageError::NotAllowed("only the requester cancels"));
                }
                self.streams.remove(&stream);
                self.emit(Frame::Cancel { stream });
                Ok(None)
            }
            Command::RequestN { stream, n } => {
                check_n(n)?;
                let state = self.live_stream(stream)?;
                if !state.inbound_open {
                    return Err(UsageError::NotAllowed("the peer's side is complete"));
                }
                state.inbound_credit.grant(n);
                self.emit(Frame::RequestN { stream, n });
                Ok(None)
            }
            Command::MetadataPush(metadata) => {
                if !self.is_open() {
                    return Err(UsageError::NotOpen);
                }
                self.emit(Frame::MetadataPush { metadata });
                Ok(None)
            }
            Command::Lease { ttl, requests } => {
                if !self.is_open() {
                    return Err(UsageError::NotOpen);
                }
                let Some(leases) = &mut self.leases else {
                    return Err(UsageError::NotAllowed("leases were not agreed in SETUP"));
                };
                leases.issued = Lease {
                    requests,
                    expires: Some(now + ttl),
                };
                self.emit(Frame::Lease {
                    ttl_ms: millis(ttl),
                    requests,
                    metadata: None,
                });
                Ok(None)
            }
            Command::Close => {
                if matches!(self.phase, Phase::Closed) {
                    return Err(UsageError::NotOpen);
                }
                self.emit(Frame::Error {
                    stream: 0,
                    code: ErrorCode::CONNECTION_CLOSE,
                    message: String::new(),
                });
                self.close(CloseReason::Local);
                Ok(None)
            }
        }
    }

    fn poll_transmit(&mut self) -> Option<Bytes> {
        if self.ws.is_some() {
            self.feed_websocket();
            return self.ws.as_mut().and_then(|ws| ws.poll_transmit());
        }
        self.wire.take()
    }

    fn poll_event(&mut self) -> Option<Event> {
        let event = self.events.pop_front()?;
        self.queued_bytes = self.queued_bytes.saturating_sub(event_cost(&event));
        match &event {
            Event::Next { stream, .. } => self.consumed(*stream),
            Event::Request {
                stream,
                interaction: Interaction::Channel { complete: false },
                ..
            } => {
                // The responder's initial REQUEST_N is automatic (§1.7).
                let window = self.config.channel_window.max(1);
                if let Some(state) = self.streams.get_mut(stream) {
                    if state.inbound_open {
                        state.inbound_credit.grant(window);
                        let stream = *stream;
                        self.emit(Frame::RequestN { stream, n: window });
                    }
                }
            }
            _ => {}
        }
        Some(event)
    }

    fn poll_timeout(&self) -> Option<Instant> {
        let transport = self.ws.as_ref().and_then(|ws| ws.poll_timeout());
        if matches!(self.phase, Phase::Closed) {
            return transport;
        }
        if !self.timers_armed {
            return Some(Instant::ZERO); // at once: the timers arm themselves
        }
        earliest(
            transport,
            earliest(self.next_keepalive, self.lifetime_deadline()),
        )
    }

    fn wants_read(&self) -> bool {
        if let Some(ws) = &self.ws {
            // After RSocket's end the WebSocket still reads, for its closing handshake.
            return ws.wants_read()
                && self.queued_bytes <= self.config.max_queued_bytes
                && self.buffered_amount() <= OUT_HIGH_WATER;
        }
        !matches!(self.phase, Phase::Closed)
            && self.queued_bytes <= self.config.max_queued_bytes
            && self.buffered_amount() <= OUT_HIGH_WATER
    }

    fn is_transmit_closed(&self) -> bool {
        match &self.ws {
            Some(ws) => ws.is_transmit_closed(),
            None => self.transmit_closed,
        }
    }

    fn is_finished(&self) -> bool {
        match &self.ws {
            Some(ws) => self.transmit_closed && self.wire.buffered() == 0 && ws.is_finished(),
            None => self.transmit_closed && self.buffered_amount() == 0,
        }
    }
}

impl Connection {
    /// The application took an item: a window-demand stream grants more once half the
    /// window was consumed.
    fn consumed(&mut self, stream: StreamId) {
        let Some(state) = self.streams.get_mut(&stream) else {
            return;
        };
        let Demand::Window(window) = state.demand else {
            return;
        };
        if state.inbound_credit.is_unbounded() || !state.inbound_open {
            return;
        }
        state.consumed += 1;
        if state.consumed >= (window / 2).max(1) {
            let n = core::mem::take(&mut state.consumed);
            state.inbound_credit.grant(n);
            self.emit(Frame::RequestN { stream, n });
        }
    }
}

/// What an event costs against the queue budget.
fn event_cost(event: &Event) -> usize {
    64 + match event {
        Event::Request { payload, .. } | Event::Next { payload, .. } => payload.encoded_len(),
        Event::MetadataPush(metadata) => metadata.len(),
        _ => 0,
    }
}

fn millis(duration: Duration) -> u32 {
    u32::try_from(duration.as_millis())
        .unwrap_or(u32::MAX)
        .clamp(1, MAX_REQUEST_N)
}

fn check_n(n: u32) -> Result<(), UsageError> {
    if n == 0 || n > MAX_REQUEST_N {
        return Err(UsageError::InvalidArgument("request-n is 1 to 2^31-1"));
    }
    Ok(())
}
