//! What a WebSocket connection reports, what it is asked to do, and why it ended.

use alloc::boxed::Box;
use alloc::string::String;
use bytes::Bytes;
use core::fmt;

use super::close::{CloseBuildError, CloseCode};
use super::error::ProtocolError;
use super::text::Text;
use crate::http::{Accept, HandshakeError, Reject, UpgradeRequest};

/// A complete message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A text message, checked to be UTF-8.
    Text(Text),
    /// A binary message.
    Binary(Bytes),
}

impl Message {
    /// The payload's length in bytes.
    pub fn len(&self) -> usize {
        match self {
            Message::Text(text) => text.len(),
            Message::Binary(bytes) => bytes.len(),
        }
    }

    /// Whether the payload is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The text, if this is a text message.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Message::Text(text) => Some(text.as_str()),
            Message::Binary(_) => None,
        }
    }

    /// The payload's bytes, whichever the kind.
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Message::Text(text) => text.as_bytes(),
            Message::Binary(bytes) => bytes,
        }
    }
}

impl From<Text> for Message {
    fn from(text: Text) -> Self {
        Message::Text(text)
    }
}

impl From<String> for Message {
    fn from(text: String) -> Self {
        Message::Text(text.into())
    }
}

impl From<&str> for Message {
    fn from(text: &str) -> Self {
        Message::Text(text.into())
    }
}

impl From<Bytes> for Message {
    fn from(bytes: Bytes) -> Self {
        Message::Binary(bytes)
    }
}

impl From<alloc::vec::Vec<u8>> for Message {
    fn from(bytes: alloc::vec::Vec<u8>) -> Self {
        Message::Binary(bytes.into())
    }
}

/// What the connection reports to the application.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// Server: a client asks to upgrade. Answer with [`Command::Accept`] or
    /// [`Command::Reject`].
    UpgradeRequest(Box<UpgradeRequest>),
    /// The handshake is complete; messages may flow.
    Open {
        /// The subprotocol both ends agreed on.
        subprotocol: Option<String>,
    },
    /// A complete message arrived.
    Message(Message),
    /// With [`Config::piece_size`](super::Config::piece_size): a piece of a message that
    /// grew past the piece size. Pieces come in order, each text piece valid UTF-8 on its
    /// own; the piece with `last` ends the message.
    Fragment {
        /// The piece: `Text` or `Binary` as the message is.
        piece: Message,
        /// This piece ends the message.
        last: bool,
    },
    /// A ping arrived; the pong has already been sent (RFC 6455 §5.5.2).
    Ping(Bytes),
    /// A pong arrived.
    Pong(Bytes),
    /// The peer sent its close frame; ours is sent in answer (or was sent already).
    CloseReceived {
        /// The peer's code; `None` if its close frame had no payload (1005).
        code: Option<CloseCode>,
        /// The peer's reason.
        reason: String,
    },
    /// The connection is over; nothing more will be sent or received. Always the last event.
    Closed(CloseReason),
}

/// Why a connection ended.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CloseReason {
    /// The closing handshake completed; the code is the peer's (or ours, if it never sent
    /// one).
    Normal {
        /// The close code exchanged; `None` when the close frame carried no code.
        code: Option<CloseCode>,
        /// The close reason exchanged.
        reason: String,
    },
    /// The peer broke the protocol; a close frame with the matching code was sent.
    Protocol(ProtocolError),
    /// The upgrade handshake failed (a server answered with the matching HTTP status).
    Handshake(HandshakeError),
    /// The server rejected the upgrade with this status.
    Rejected {
        /// The HTTP status sent.
        status: u16,
    },
    /// A timer expired.
    Timeout(TimeoutKind),
    /// The transport ended without a closing handshake (1006).
    Abnormal,
}

/// Which timer ended a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TimeoutKind {
    /// The upgrade handshake did not complete in time.
    Handshake,
    /// The peer did not complete the closing handshake in time.
    CloseHandshake,
    /// A ping went unanswered.
    Pong,
}

/// What the application asks of the connection.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Command {
    /// Server: accept the pending upgrade.
    Accept(Accept),
    /// Server: reject the pending upgrade.
    Reject(Reject),
    /// Send a message.
    Send(Message),
    /// Send a ping (at most 125 bytes).
    Ping(Bytes),
    /// Start the closing handshake.
    Close {
        /// A code that may appear on the wire (RFC 6455 §7.4).
        code: CloseCode,
        /// At most 123 bytes of UTF-8.
        reason: String,
    },
}

/// A command the connection cannot carry out: local misuse, never a peer fault.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum UsageError {
    /// Accept or Reject without a pending upgrade request.
    NoPendingUpgrade,
    /// The connection is not open (still in the handshake, or closed).
    NotOpen,
    /// The closing handshake has started: no more messages or pings.
    Closing,
    /// A ping payload over 125 bytes.
    PingTooLong,
    /// The close code or reason cannot be sent.
    InvalidClose(CloseBuildError),
    /// The handshake answer is invalid (for example an unoffered subprotocol).
    Handshake(crate::http::UsageError),
}

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UsageError::NoPendingUpgrade => f.write_str("no upgrade request is pending"),
            UsageError::NotOpen => f.write_str("the WebSocket connection is not open"),
            UsageError::Closing => f.write_str("the WebSocket connection is closing"),
            UsageError::PingTooLong => f.write_str("a ping payload exceeds 125 bytes"),
            UsageError::InvalidClose(error) => write!(f, "invalid close: {error:?}"),
            UsageError::Handshake(error) => write!(f, "invalid handshake answer: {error:?}"),
        }
    }
}

impl core::error::Error for UsageError {}
