//! What can go wrong with a WebSocket, as the application sees it.

use std::fmt;
use std::io;

use wirestate_core::http::HandshakeError;
use wirestate_core::ws::{CloseReason, UsageError};

use super::WsConnection;
#[cfg(feature = "tls")]
use crate::tls::TlsError;

/// A WebSocket error: the transport, the handshake, the peer, or local misuse.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The transport failed (connect refused, reset, …).
    Io(io::Error),
    /// The URL is not a `ws://` URL this crate can connect to.
    InvalidUrl(String),
    /// The upgrade handshake failed: the server's answer, or the client's request, was
    /// not a valid WebSocket upgrade (a server answered it with the matching status).
    Handshake(HandshakeError),
    /// The server's policy rejected the upgrade with this HTTP status.
    Rejected {
        /// The status sent to the client.
        status: u16,
    },
    /// The connection ended without a clean closing handshake: a protocol violation by
    /// the peer (the close code sent is [`ProtocolError::close_code`]), a timeout, or the
    /// transport ending early (1006).
    ///
    /// [`ProtocolError::close_code`]: wirestate_core::ws::ProtocolError::close_code
    Closed(CloseReason),
    /// A send after the closing handshake started or after the connection ended.
    AlreadyClosed,
    /// `recv` met a piece of a message: streaming delivery is on
    /// ([`Config::piece_size`](wirestate_core::ws::Config::piece_size)), so receive with
    /// `recv_piece`, which returns the piece `recv` met first: nothing is lost.
    PieceReceived,
    /// A command the connection cannot carry out (a ping over 125 bytes, an invalid close
    /// code or reason).
    Usage(UsageError),
    /// TLS failed: a certificate was refused, the handshake timed out, or the peer broke
    /// the TLS protocol.
    #[cfg(feature = "tls")]
    Tls(TlsError),
}

impl Error {
    /// Maps a refused command: a connection that is closing or closed is
    /// [`Error::AlreadyClosed`], anything else is misuse.
    pub(crate) fn from_usage(error: UsageError) -> Error {
        match error {
            UsageError::Closing | UsageError::NotOpen => Error::AlreadyClosed,
            other => Error::Usage(other),
        }
    }

    /// The error for a connection that ended with `reason`: its TLS failure if that is why
    /// (`Ok`), else `Err(reason)` for the caller to map.
    pub(crate) fn ended(ending: Ending, reason: CloseReason) -> Result<Error, CloseReason> {
        #[cfg(feature = "tls")]
        if let Some(error) = ending.tls {
            return Ok(Error::Tls(error));
        }
        let _ = ending;
        Err(reason)
    }

    /// The error for a connection whose driver stopped before the machine reported an end.
    pub(crate) fn stopped(mut ending: Ending) -> Error {
        match ending.driver.take() {
            Some(Err(error)) => Error::Io(error),
            _ => Error::ended(ending, CloseReason::Abnormal).unwrap_or_else(Error::Closed),
        }
    }

    /// The error for a connection that ended with `reason` before it opened.
    pub(crate) fn from_handshake_end(reason: CloseReason) -> Error {
        match reason {
            CloseReason::Handshake(error) => Error::Handshake(error),
            CloseReason::Rejected { status } => Error::Rejected { status },
            other => Error::Closed(other),
        }
    }
}

/// What explains a connection's end beyond the machine's close reason: its TLS failure and
/// how its driver stopped. Looked up only once an end is reported.
#[derive(Debug)]
pub(crate) struct Ending {
    #[cfg(feature = "tls")]
    tls: Option<TlsError>,
    /// `None` while the driver runs.
    driver: Option<io::Result<()>>,
}

impl Ending {
    /// The ending of `machine`, whose driver stopped as `driver` says.
    #[cfg(any(feature = "tls", feature = "smol", feature = "tokio"))]
    pub(crate) fn new(machine: &super::WsMachine, driver: Option<io::Result<()>>) -> Ending {
        let _ = machine;
        Ending {
            #[cfg(feature = "tls")]
            tls: machine.tls_error().cloned(),
            driver,
        }
    }

    /// The ending of a connection shared with a driver.
    pub(crate) fn of(conn: &WsConnection) -> Ending {
        let driver = conn.driver_result(); // takes the lock: not inside `with`
        #[cfg(feature = "tls")]
        return conn.with(|machine| Ending::new(machine, driver));
        #[cfg(not(feature = "tls"))]
        Ending { driver }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io(error) => write!(f, "WebSocket transport: {error}"),
            Error::InvalidUrl(why) => write!(f, "invalid WebSocket URL: {why}"),
            Error::Handshake(error) => write!(f, "WebSocket handshake failed: {error}"),
            Error::Rejected { status } => write!(f, "WebSocket upgrade rejected with {status}"),
            Error::Closed(reason) => write!(f, "WebSocket connection ended: {reason:?}"),
            Error::AlreadyClosed => f.write_str("the WebSocket connection is closing or closed"),
            Error::PieceReceived => {
                f.write_str("a message arrived in pieces (piece_size is set): use recv_piece")
            }
            Error::Usage(error) => write!(f, "WebSocket misuse: {error}"),
            #[cfg(feature = "tls")]
            Error::Tls(error) => write!(f, "WebSocket over {error}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io(error) => Some(error),
            Error::Usage(error) => Some(error),
            #[cfg(feature = "tls")]
            Error::Tls(error) => Some(error),
            _ => None,
        }
    }
}

impl From<io::Error> for Error {
    fn from(error: io::Error) -> Self {
        Error::Io(error)
    }
}

impl From<Error> for io::Error {
    fn from(error: Error) -> Self {
        match error {
            Error::Io(error) => error,
            Error::InvalidUrl(_) | Error::Usage(_) | Error::PieceReceived => {
                io::Error::new(io::ErrorKind::InvalidInput, error)
            }
            Error::AlreadyClosed => io::Error::new(io::ErrorKind::NotConnected, error),
            Error::Handshake(_) | Error::Rejected { .. } => {
                io::Error::new(io::ErrorKind::ConnectionRefused, error)
            }
            Error::Closed(_) => io::Error::new(io::ErrorKind::ConnectionAborted, error),
            #[cfg(feature = "tls")]
            Error::Tls(tls) => tls.into(),
        }
    }
}

#[cfg(feature = "tls")]
impl From<TlsError> for Error {
    fn from(error: TlsError) -> Self {
        Error::Tls(error)
    }
}
