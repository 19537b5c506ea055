//! What an RSocket connection reports, what it is asked to do, and why it ended.

use alloc::string::String;
use bytes::Bytes;
use core::fmt;
use core::time::Duration;

use crate::rsocket::{ErrorCode, Payload, Setup};

/// A stream id (31 bits; odd for streams the client opened, even for the server's).
pub type StreamId = u32;

/// An interaction the peer opened, as the responder sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interaction {
    /// Fire-and-forget: no answer.
    FireAndForget,
    /// Request-response: answer with one `Send { complete: true, .. }` or an error.
    Response,
    /// Request-stream: answer with items, then `Complete` (or an error).
    Stream,
    /// Request-channel: items both ways. `complete` if the requester has no more items.
    Channel {
        /// The requester's side is complete already.
        complete: bool,
    },
}

/// How a requester asks for items on a stream or channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Demand {
    /// Grant `n` at once, and grant again as the application consumes items, keeping up
    /// to `n` in flight (a prefetch window). `MAX_REQUEST_N` means unbounded.
    Window(u32),
    /// Grant `n` at once; the application grants more with [`Command::RequestN`].
    Manual(u32),
}

impl Demand {
    pub(crate) fn initial(self) -> u32 {
        match self {
            Demand::Window(n) | Demand::Manual(n) => n,
        }
    }
}

/// A request to open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// Fire-and-forget.
    FireAndForget(Payload),
    /// Request-response.
    Response(Payload),
    /// Request-stream.
    Stream {
        /// The request payload.
        payload: Payload,
        /// How items are asked for.
        demand: Demand,
    },
    /// Request-channel: the payload is the requester's first item.
    Channel {
        /// The first item.
        payload: Payload,
        /// How the responder's items are asked for.
        demand: Demand,
        /// The requester has no more items after this one.
        complete: bool,
    },
}

/// What the connection reports to the application.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// Server: the client's SETUP. Answer with [`Command::AcceptSetup`] or
    /// [`Command::RejectSetup`]; requests that arrive meanwhile wait.
    Setup(Setup),
    /// The peer opened a stream; we are its responder.
    Request {
        /// The stream.
        stream: StreamId,
        /// Which interaction.
        interaction: Interaction,
        /// The request payload (reassembled if it came in fragments).
        payload: Payload,
    },
    /// An item on a stream.
    Next {
        /// The stream.
        stream: StreamId,
        /// The item.
        payload: Payload,
    },
    /// The peer completed its side of a stream.
    Complete {
        /// The stream.
        stream: StreamId,
    },
    /// The stream failed: an ERROR from the peer, or a local verdict on the peer's
    /// behaviour (the peer was told).
    Error {
        /// The stream.
        stream: StreamId,
        /// The error code.
        code: ErrorCode,
        /// The message.
        message: String,
    },
    /// The requester cancelled a stream we were answering.
    Cancelled {
        /// The stream.
        stream: StreamId,
    },
    /// Connection metadata from the peer.
    MetadataPush(Bytes),
    /// The peer granted a lease.
    Lease {
        /// How long it lasts.
        ttl: Duration,
        /// Requests allowed within it.
        requests: u32,
    },
    /// The peer broke a rule in a way we tolerate (credit overrun within the allowance,
    /// METADATA_PUSH on a stream, a request on a live or wrong-parity id).
    Violation {
        /// The stream concerned (0 for the connection).
        stream: StreamId,
        /// What happened.
        what: &'static str,
    },
    /// The connection is over. Always the last event.
    Closed(CloseReason),
}

/// Why a connection ended.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CloseReason {
    /// We closed it ([`Command::Close`]).
    Local,
    /// The peer closed it gracefully (ERROR CONNECTION_CLOSE).
    PeerClosed {
        /// The peer's message.
        message: String,
    },
    /// The peer ended it with a connection-level ERROR (setup rejection included).
    PeerError {
        /// The code.
        code: ErrorCode,
        /// The message.
        message: String,
    },
    /// The peer broke the protocol; we sent ERROR with this code and closed.
    Protocol {
        /// The code we sent.
        code: ErrorCode,
        /// What was wrong.
        what: String,
    },
    /// Nothing arrived from the peer within the max lifetime.
    KeepaliveTimeout,
    /// The transport ended.
    TransportClosed,
}

/// What the application asks of the connection.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Command {
    /// Server: accept the pending SETUP.
    AcceptSetup,
    /// Server: reject the pending SETUP (ERROR REJECTED_SETUP) and close.
    RejectSetup {
        /// The message sent.
        message: String,
    },
    /// Open a stream as requester; the reply is its id (none for fire-and-forget... which
    /// also gets one, unused afterwards).
    Request(Request),
    /// Send an item on a stream (responder of a response, stream or channel; requester of
    /// a channel). Held until the peer's credit allows; `complete` ends our side after it.
    Send {
        /// The stream.
        stream: StreamId,
        /// The item.
        payload: Payload,
        /// Our side is complete after this item.
        complete: bool,
    },
    /// Complete our side of a stream (after any held items).
    Complete {
        /// The stream.
        stream: StreamId,
    },
    /// Fail a stream with an ERROR (APPLICATION_ERROR unless another stream-level code).
    Error {
        /// The stream.
        stream: StreamId,
        /// A stream-level code.
        code: ErrorCode,
        /// The message.
        message: String,
    },
    /// Requester: cancel a stream.
    Cancel {
        /// The stream.
        stream: StreamId,
    },
    /// Grant the peer more items on a stream.
    RequestN {
        /// The stream.
        stream: StreamId,
        /// How many more (saturating at 2^31-1, which is unbounded).
        n: u32,
    },
    /// Send connection metadata.
    MetadataPush(Bytes),
    /// Grant the peer a lease (when leases are in use).
    Lease {
        /// How long it lasts.
        ttl: Duration,
        /// Requests allowed within it.
        requests: u32,
    },
    /// Close gracefully: ERROR CONNECTION_CLOSE, then the end.
    Close,
}

/// A command the connection cannot carry out: local misuse, never a peer fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum UsageError {
    /// No SETUP is waiting for an answer.
    NoPendingSetup,
    /// The connection is not established (server before accepting) or is closed.
    NotOpen,
    /// No such stream, or it is over.
    UnknownStream(StreamId),
    /// The stream does not allow this (say, sending on a stream we requested).
    NotAllowed(&'static str),
    /// Leases are in use and none is valid now.
    NoLease,
    /// Every stream id is in use.
    NoStreamIds,
    /// A request-n of 0, or a code that is not stream-level.
    InvalidArgument(&'static str),
}

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UsageError::NoPendingSetup => f.write_str("no SETUP is waiting for an answer"),
            UsageError::NotOpen => f.write_str("the RSocket connection is not open"),
            UsageError::UnknownStream(id) => write!(f, "no stream {id}"),
            UsageError::NotAllowed(what) => write!(f, "not allowed: {what}"),
            UsageError::NoLease => f.write_str("no valid lease for a new request"),
            UsageError::NoStreamIds => f.write_str("every stream id is in use"),
            UsageError::InvalidArgument(what) => write!(f, "invalid argument: {what}"),
        }
    }
}

impl core::error::Error for UsageError {}
