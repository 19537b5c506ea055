//! What can go wrong in the upgrade handshake: the peer's fault or ours.
//!
//! The split follows h11: [`HandshakeError`] is a peer that broke RFC 6455 §4 (a server
//! answers it with an HTTP status, a client fails the connection), [`UsageError`] is local
//! misuse of this API (nothing went on the wire).

use alloc::string::String;
use core::error::Error;
use core::fmt;

/// A peer's head broke the HTTP/1.1 or RFC 6455 §4 rules.
///
/// The same type serves both roles. A server answers a request that fails this way with
/// [`status`](Self::status) (see [`Response::for_error`](super::Response::for_error)); a
/// client that gets one from a response fails the WebSocket connection (RFC 6455 §4.1).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum HandshakeError {
    /// The head grew past its byte limit before the blank line that ends it (431).
    HeadTooLarge {
        /// The limit, in bytes, including the blank line.
        limit: usize,
    },
    /// The head has more header fields than the parser holds (431).
    TooManyHeaders {
        /// The most header fields accepted.
        limit: usize,
    },
    /// The head is not HTTP/1.x syntax (400).
    Malformed {
        /// What the parser choked on.
        what: &'static str,
    },
    /// The request method is not `GET` (RFC 6455 §4.1); answered with 405 and `Allow: GET`.
    MethodNotAllowed {
        /// The method the peer used.
        method: String,
    },
    /// The head is HTTP/1.0; the upgrade needs HTTP/1.1 (RFC 6455 §4.1) (400).
    HttpVersionTooOld,
    /// A header field the handshake needs is absent (400).
    MissingHeader {
        /// The field's name.
        name: &'static str,
    },
    /// A header field that must appear once appears more often (400).
    DuplicateHeader {
        /// The field's name.
        name: &'static str,
    },
    /// `Upgrade` does not carry the `websocket` token (RFC 6455 §4.1, §4.2.1) (400).
    UpgradeNotWebSocket,
    /// `Connection` does not carry the `upgrade` token (RFC 6455 §4.1, §4.2.1) (400).
    ConnectionNotUpgrade,
    /// `Sec-WebSocket-Version` is absent or not 13 (RFC 6455 §4.2.2); answered with 426 and
    /// `Sec-WebSocket-Version: 13` (§4.4).
    UnsupportedVersion,
    /// `Sec-WebSocket-Key` does not base64-decode to 16 bytes (RFC 6455 §4.2.1) (400).
    InvalidKey,
    /// `Sec-WebSocket-Protocol` is not a list of tokens, or a response names more than one
    /// (RFC 6455 §4.1, §11.3.4) (400).
    InvalidSubprotocols,
    /// `Sec-WebSocket-Extensions` does not follow the RFC 6455 §9.1 grammar (400).
    InvalidExtensions,
    /// The upgrade request announces a body (`Content-Length` other than 0, or
    /// `Transfer-Encoding`): its bytes would be taken for WebSocket frames (400).
    UnexpectedBody,
    /// The response status is not 101 Switching Protocols (RFC 6455 §4.1). Client side only.
    UnexpectedStatus {
        /// The status the server sent.
        status: u16,
    },
    /// `Sec-WebSocket-Accept` is not the accept key of the key we sent (RFC 6455 §4.1).
    /// Client side only.
    AcceptMismatch,
    /// The server chose a subprotocol we did not offer (RFC 6455 §4.1). Client side only.
    UnofferedSubprotocol {
        /// The subprotocol the server named.
        protocol: String,
    },
    /// The server answered with an extension we did not offer (RFC 6455 §4.1, §9.1).
    /// Client side only.
    UnofferedExtension {
        /// The extension's name.
        name: String,
    },
    /// The server accepted an extension we offered with parameters we cannot follow
    /// (RFC 7692 §5.1 for permessage-deflate). Client side only.
    InvalidExtensionResponse {
        /// The extension's name.
        name: &'static str,
        /// What is wrong with the parameters.
        why: &'static str,
    },
}

impl HandshakeError {
    /// The HTTP status a server answers a request that fails this way with, or `None` for
    /// faults only a response can have (a client has no one to answer; it closes).
    pub fn status(&self) -> Option<u16> {
        match self {
            HandshakeError::HeadTooLarge { .. } | HandshakeError::TooManyHeaders { .. } => {
                Some(431)
            }
            HandshakeError::MethodNotAllowed { .. } => Some(405),
            HandshakeError::UnsupportedVersion => Some(426),
            HandshakeError::Malformed { .. }
            | HandshakeError::HttpVersionTooOld
            | HandshakeError::MissingHeader { .. }
            | HandshakeError::DuplicateHeader { .. }
            | HandshakeError::UpgradeNotWebSocket
            | HandshakeError::ConnectionNotUpgrade
            | HandshakeError::InvalidKey
            | HandshakeError::InvalidSubprotocols
            | HandshakeError::InvalidExtensions
            | HandshakeError::UnexpectedBody => Some(400),
            HandshakeError::UnexpectedStatus { .. }
            | HandshakeError::AcceptMismatch
            | HandshakeError::UnofferedSubprotocol { .. }
            | HandshakeError::UnofferedExtension { .. }
            | HandshakeError::InvalidExtensionResponse { .. } => None,
        }
    }

    /// The error for an `httparse` failure on a complete head.
    pub(crate) fn from_httparse(error: httparse::Error, max_headers: usize) -> Self {
        let what = match error {
            httparse::Error::TooManyHeaders => {
                return HandshakeError::TooManyHeaders { limit: max_headers };
            }
            httparse::Error::HeaderName => "invalid header name",
            httparse::Error::HeaderValue => "invalid header value",
            httparse::Error::NewLine => "invalid line ending",
            httparse::Error::Status => "invalid status",
            httparse::Error::Token => "invalid method or token",
            httparse::Error::Version => "invalid HTTP version",
        };
        HandshakeError::Malformed { what }
    }
}

impl fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HandshakeError::HeadTooLarge { limit } => {
                write!(f, "HTTP head exceeds the limit of {limit} bytes")
            }
            HandshakeError::TooManyHeaders { limit } => {
                write!(f, "HTTP head has more than {limit} header fields")
            }
            HandshakeError::Malformed { what } => write!(f, "malformed HTTP head: {what}"),
            HandshakeError::MethodNotAllowed { method } => {
                write!(
                    f,
                    "method {method} is not allowed; a WebSocket upgrade uses GET"
                )
            }
            HandshakeError::HttpVersionTooOld => {
                f.write_str("a WebSocket upgrade needs HTTP/1.1, not HTTP/1.0")
            }
            HandshakeError::MissingHeader { name } => write!(f, "missing {name} header"),
            HandshakeError::DuplicateHeader { name } => {
                write!(f, "{name} header appears more than once")
            }
            HandshakeError::UpgradeNotWebSocket => {
                f.write_str("Upgrade header does not name websocket")
            }
            HandshakeError::ConnectionNotUpgrade => {
                f.write_str("Connection header does not carry the upgrade token")
            }
            HandshakeError::UnsupportedVersion => {
                f.write_str("unsupported WebSocket version; this server speaks version 13")
            }
            HandshakeError::InvalidKey => {
                f.write_str("Sec-WebSocket-Key is not the base64 encoding of 16 bytes")
            }
            HandshakeError::InvalidSubprotocols => {
                f.write_str("Sec-WebSocket-Protocol is not a valid list of subprotocols")
            }
            HandshakeError::InvalidExtensions => {
                f.write_str("Sec-WebSocket-Extensions is not a valid list of extensions")
            }
            HandshakeError::UnexpectedBody => {
                f.write_str("a WebSocket upgrade request must not have a body")
            }
            HandshakeError::UnexpectedStatus { status } => {
                write!(
                    f,
                    "server answered {status} instead of 101 Switching Protocols"
                )
            }
            HandshakeError::AcceptMismatch => {
                f.write_str("Sec-WebSocket-Accept does not match the key sent")
            }
            HandshakeError::UnofferedSubprotocol { protocol } => {
                write!(
                    f,
                    "server chose subprotocol {protocol:?}, which was not offered"
                )
            }
            HandshakeError::UnofferedExtension { name } => {
                write!(f, "server chose extension {name:?}, which was not offered")
            }
            HandshakeError::InvalidExtensionResponse { name, why } => {
                write!(
                    f,
                    "server accepted extension {name:?} with bad parameters: {why}"
                )
            }
        }
    }
}

impl Error for HandshakeError {}

/// Local misuse of the handshake API: an invalid value handed to a builder, or an answer
/// the peer's request does not allow. Nothing was sent.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum UsageError {
    /// The host is empty or holds whitespace or control characters.
    InvalidHost,
    /// The path is not origin-form: it must start with `/` and hold only visible ASCII
    /// (RFC 6455 §3: percent-encode anything else).
    InvalidPath,
    /// A header name is not a token, or a value holds CR, LF or another control character.
    InvalidHeader {
        /// The offending field's name.
        name: String,
    },
    /// An extra header would override one the handshake sets itself (or would announce a
    /// body); use the dedicated option instead.
    ReservedHeader {
        /// The offending field's name.
        name: String,
    },
    /// A subprotocol is not a token, or is offered twice (RFC 6455 §4.1).
    InvalidSubprotocol {
        /// The offending subprotocol.
        protocol: String,
    },
    /// An extension name or parameter is not a token (RFC 6455 §9.1).
    InvalidExtension {
        /// The offending extension's name.
        name: String,
    },
    /// The key given to a client handshake is not the base64 encoding of 16 bytes.
    InvalidKey,
    /// The chosen subprotocol was not offered by the client (RFC 6455 §4.2.2).
    SubprotocolNotOffered {
        /// The chosen subprotocol.
        protocol: String,
    },
    /// A chosen extension was not offered by the client (RFC 6455 §9.1).
    ExtensionNotOffered {
        /// The chosen extension's name.
        name: String,
    },
    /// A reject status must be a final status, 200 to 599.
    InvalidStatus {
        /// The status given.
        status: u16,
    },
    /// A reason phrase holds CR, LF or another control character.
    InvalidReason,
}

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UsageError::InvalidHost => f.write_str("invalid host"),
            UsageError::InvalidPath => {
                f.write_str("invalid path: it must start with / and hold only visible ASCII")
            }
            UsageError::InvalidHeader { name } => write!(f, "invalid header {name:?}"),
            UsageError::ReservedHeader { name } => {
                write!(f, "header {name:?} is set by the handshake itself")
            }
            UsageError::InvalidSubprotocol { protocol } => {
                write!(f, "invalid or repeated subprotocol {protocol:?}")
            }
            UsageError::InvalidExtension { name } => write!(f, "invalid extension {name:?}"),
            UsageError::InvalidKey => {
                f.write_str("a Sec-WebSocket-Key must be the base64 encoding of 16 bytes")
            }
            UsageError::SubprotocolNotOffered { protocol } => {
                write!(f, "subprotocol {protocol:?} was not offered by the client")
            }
            UsageError::ExtensionNotOffered { name } => {
                write!(f, "extension {name:?} was not offered by the client")
            }
            UsageError::InvalidStatus { status } => {
                write!(f, "status {status} is not a final status (200 to 599)")
            }
            UsageError::InvalidReason => f.write_str("invalid reason phrase"),
        }
    }
}

impl Error for UsageError {}
