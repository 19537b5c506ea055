//! What can go wrong with an RSocket request, as the application sees it.

use std::fmt;
use std::io;

use wirestate_core::rsocket::ErrorCode;
use wirestate_core::rsocket::conn::{CloseReason, UsageError};

use super::RSocketConnection;
#[cfg(feature = "tls")]
use crate::tls::TlsError;

/// An RSocket error: the peer's ERROR on the stream, the connection's end, or misuse.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The peer failed the stream (or we did, because of the peer; see the message).
    Stream {
        /// The ERROR code.
        code: ErrorCode,
        /// The ERROR message.
        message: String,
    },
    /// The connection is over.
    Closed(CloseReason),
    /// A request the connection refused (no lease, no stream ids, closed …).
    Usage(UsageError),
    /// The transport failed.
    Io(io::ErrorKind, String),
    /// TLS failed: a certificate was refused, the handshake timed out, or the peer broke
    /// the TLS protocol.
    #[cfg(feature = "tls")]
    Tls(TlsError),
}

impl Error {
    pub(crate) fn from_io(error: &io::Error) -> Error {
        Error::Io(error.kind(), error.to_string())
    }

    /// The error for a connection that ended with `reason`: its TLS failure if that is why.
    pub(crate) fn closed(conn: &RSocketConnection, reason: CloseReason) -> Error {
        #[cfg(feature = "tls")]
        if let Some(error) = conn.with(|m| m.tls_error().cloned()) {
            return Error::Tls(error);
        }
        let _ = conn;
        Error::Closed(reason)
    }

    /// Like [`closed`](Error::closed), from the machine itself (under the connection's
    /// lock, as the relay sees it).
    pub(crate) fn closed_on(
        machine: &crate::wire::Wire<wirestate_core::rsocket::Connection>,
        reason: CloseReason,
    ) -> Error {
        #[cfg(feature = "tls")]
        if let Some(error) = machine.tls_error() {
            return Error::Tls(error.clone());
        }
        let _ = machine;
        Error::Closed(reason)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Stream { code, message } => {
                write!(f, "RSocket stream error {code:?}: {message}")
            }
            Error::Closed(reason) => write!(f, "RSocket connection closed: {reason:?}"),
            Error::Usage(error) => write!(f, "RSocket request refused: {error}"),
            Error::Io(_, message) => write!(f, "RSocket transport: {message}"),
            #[cfg(feature = "tls")]
            Error::Tls(error) => write!(f, "RSocket over {error}"),
        }
    }
}

impl std::error::Error for Error {}

#[cfg(feature = "tls")]
impl From<TlsError> for Error {
    fn from(error: TlsError) -> Self {
        Error::Tls(error)
    }
}

/// What a responder answers a failed request with: an ERROR frame on the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponderError {
    /// A stream-level code (APPLICATION_ERROR unless the handler says otherwise).
    pub code: ErrorCode,
    /// The message.
    pub message: String,
}

impl ResponderError {
    /// An APPLICATION_ERROR with `message`.
    pub fn application(message: impl Into<String>) -> ResponderError {
        ResponderError {
            code: ErrorCode::APPLICATION_ERROR,
            message: message.into(),
        }
    }

    /// The answer to an interaction the responder does not implement.
    pub fn unsupported(what: &str) -> ResponderError {
        ResponderError {
            code: ErrorCode::REJECTED,
            message: format!("{what} is not supported"),
        }
    }
}
