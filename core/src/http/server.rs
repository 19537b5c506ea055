//! The server side: validating a client's upgrade request (RFC 6455 §4.2.1).

use alloc::string::String;
use alloc::vec::Vec;

use super::accept_key::is_valid_key;
use super::error::HandshakeError;
use super::extension::{Extension, parse_extensions};
use super::head::MAX_HEADERS;
use super::headers::{
    CONNECTION, CONTENT_LENGTH, HOST, Headers, SEC_WEBSOCKET_KEY, SEC_WEBSOCKET_PROTOCOL,
    SEC_WEBSOCKET_VERSION, TRANSFER_ENCODING, UPGRADE, is_token,
};

/// A valid WebSocket upgrade request, waiting for the application to accept or reject it.
///
/// Accept with [`accept`](Self::accept) (see [`Accept`](super::Accept)); reject with
/// [`Reject`](super::Reject).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpgradeRequest {
    path: String,
    headers: Headers,
    key: String,
    subprotocols: Vec<String>,
    extensions: Vec<Extension>,
}

impl UpgradeRequest {
    /// Parses and validates a complete request head, as [`HeadBuffer`](super::HeadBuffer)
    /// returns it.
    ///
    /// # Errors
    /// A [`HandshakeError`] whose [`status`](HandshakeError::status) is the answer:
    /// 400 for malformed or invalid requests, 405 for a method other than GET, 426 for a
    /// `Sec-WebSocket-Version` other than 13, 431 for more than [`MAX_HEADERS`] fields.
    pub fn parse(head: &[u8]) -> Result<Self, HandshakeError> {
        let mut storage = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut request = httparse::Request::new(&mut storage);
        let parsed = request
            .parse(head)
            .map_err(|e| HandshakeError::from_httparse(e, MAX_HEADERS))?;
        let complete_at = match parsed {
            httparse::Status::Complete(n) => n,
            httparse::Status::Partial => {
                return Err(HandshakeError::Malformed {
                    what: "incomplete head",
                });
            }
        };
        if complete_at != head.len() {
            return Err(HandshakeError::Malformed {
                what: "bytes after the head",
            });
        }
        // A complete parse fills in all three.
        let (Some(method), Some(path), Some(minor_version)) =
            (request.method, request.path, request.version)
        else {
            return Err(HandshakeError::Malformed {
                what: "incomplete request line",
            });
        };
        let headers = Headers::from_parsed(request.headers);
        UpgradeRequest::from_parts(method, minor_version, path, headers)
    }

    /// Validates a request some other HTTP stack parsed: its method, the `y` of its
    /// `HTTP/1.y` version, its request target and its header fields.
    ///
    /// The checks, in order (RFC 6455 §4.2.1): method GET (else 405); HTTP/1.1 (else 400);
    /// one `Host`; `Upgrade` naming `websocket`; `Connection` naming `upgrade`;
    /// `Sec-WebSocket-Version: 13` (else 426); one `Sec-WebSocket-Key` that decodes to 16
    /// bytes; well-formed subprotocol and extension lists; no body.
    ///
    /// # Errors
    /// As for [`parse`](Self::parse).
    pub fn from_parts(
        method: &str,
        minor_version: u8,
        path: &str,
        headers: Headers,
    ) -> Result<Self, HandshakeError> {
        if method != "GET" {
            return Err(HandshakeError::MethodNotAllowed {
                method: method.into(),
            });
        }
        if minor_version < 1 {
            return Err(HandshakeError::HttpVersionTooOld);
        }
        // RFC 9112 §3.2: a request with no Host, or more than one, is answered with 400.
        headers.exactly_one(HOST)?;
        headers.require_token(UPGRADE, "websocket", HandshakeError::UpgradeNotWebSocket)?;
        headers.require_token(CONNECTION, "upgrade", HandshakeError::ConnectionNotUpgrade)?;
        if headers.exactly_one(SEC_WEBSOCKET_VERSION) != Ok(b"13") {
            return Err(HandshakeError::UnsupportedVersion);
        }
        let key = headers.exactly_one(SEC_WEBSOCKET_KEY)?;
        if !is_valid_key(key) {
            return Err(HandshakeError::InvalidKey);
        }
        // A valid key is base64, so it is ASCII.
        let key = String::from_utf8_lossy(key).into_owned();
        let subprotocols = headers
            .list(SEC_WEBSOCKET_PROTOCOL)
            .map(|p| {
                is_token(p)
                    .then(|| String::from_utf8_lossy(p).into_owned())
                    .ok_or(HandshakeError::InvalidSubprotocols)
            })
            .collect::<Result<Vec<_>, _>>()?;
        let extensions = parse_extensions(&headers)?;
        let has_body = headers.contains(TRANSFER_ENCODING)
            || headers.get_all(CONTENT_LENGTH).any(|v| v != b"0");
        if has_body {
            return Err(HandshakeError::UnexpectedBody);
        }
        Ok(UpgradeRequest {
            path: path.into(),
            headers,
            key,
            subprotocols,
            extensions,
        })
    }

    /// The request target, e.g. `/chat?room=1` (RFC 6455 §3 resource name).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The `Host` field's value.
    pub fn host(&self) -> &[u8] {
        self.headers.get(HOST).unwrap_or_default()
    }

    /// All header fields, including the handshake's own (e.g. `Origin`, cookies).
    pub fn headers(&self) -> &Headers {
        &self.headers
    }

    /// The client's `Sec-WebSocket-Key`.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The subprotocols the client offered, in its order of preference (RFC 6455 §4.1).
    pub fn subprotocols(&self) -> &[String] {
        &self.subprotocols
    }

    /// The extensions the client offered, in its order of preference (RFC 6455 §9.1).
    pub fn extensions(&self) -> &[Extension] {
        &self.extensions
    }

    /// Whether the client offered subprotocol `protocol` (an exact match).
    pub fn offers_subprotocol(&self, protocol: &str) -> bool {
        self.subprotocols.iter().any(|p| p == protocol)
    }

    /// Whether the client offered an extension named `name` (ASCII case ignored).
    pub fn offers_extension(&self, name: &str) -> bool {
        self.extensions.iter().any(|e| e.is_named(name))
    }
}
