//! The client side: the upgrade request (RFC 6455 §4.1) and the check of the server's
//! answer.

use alloc::string::String;
use alloc::vec::Vec;

use bytes::Bytes;

use super::accept_key::{accept_key, generate_key, is_valid_key};
use super::error::{HandshakeError, UsageError};
use super::extension::{Extension, extensions_value, parse_extensions};
use super::head::MAX_HEADERS;
use super::headers::{
    CONNECTION, CONTENT_LENGTH, HOST, Headers, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_EXTENSIONS,
    SEC_WEBSOCKET_KEY, SEC_WEBSOCKET_PROTOCOL, SEC_WEBSOCKET_VERSION, TRANSFER_ENCODING, UPGRADE,
    is_token, push_field,
};
use crate::Rng;

/// What a client asks for: where to connect and what to offer.
///
/// ```
/// use wirestate_core::Rng;
/// use wirestate_core::http::ClientRequest;
///
/// let handshake = ClientRequest::new("example.com", "/chat")
///     .subprotocol("chat.v2")
///     .header("Origin", "https://example.com")
///     .build(&mut Rng::from_u64(7))
///     .unwrap();
/// assert!(handshake.request().starts_with(b"GET /chat HTTP/1.1\r\nHost: example.com\r\n"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientRequest {
    host: String,
    path: String,
    subprotocols: Vec<String>,
    extensions: Vec<Extension>,
    headers: Headers,
}

impl ClientRequest {
    /// A request for `path` (origin-form, e.g. `/chat?room=1`) on `host` (the `Host` value,
    /// with a port if it is not the default one).
    pub fn new(host: impl Into<String>, path: impl Into<String>) -> Self {
        ClientRequest {
            host: host.into(),
            path: path.into(),
            subprotocols: Vec::new(),
            extensions: Vec::new(),
            headers: Headers::new(),
        }
    }

    /// Offers a subprotocol; offers are sent in the order of preference they are added in.
    pub fn subprotocol(mut self, protocol: impl Into<String>) -> Self {
        self.subprotocols.push(protocol.into());
        self
    }

    /// Offers an extension (RFC 6455 §9.1).
    pub fn extension(mut self, extension: Extension) -> Self {
        self.extensions.push(extension);
        self
    }

    /// Adds an extra header field, e.g. `Origin` or `Authorization`.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<Vec<u8>>) -> Self {
        self.headers.push(name, value);
        self
    }

    /// The handshake with a fresh key from `rng` (RFC 6455 §4.1 asks for a random nonce
    /// per connection).
    ///
    /// # Errors
    /// As for [`build_with_key`](Self::build_with_key), minus the key check.
    pub fn build(&self, rng: &mut Rng) -> Result<ClientHandshake, UsageError> {
        self.build_with_key(generate_key(rng))
    }

    /// The handshake with a given `Sec-WebSocket-Key`, for tests and for callers with their
    /// own source of nonces.
    ///
    /// # Errors
    /// [`UsageError::InvalidHost`], [`UsageError::InvalidPath`],
    /// [`UsageError::InvalidSubprotocol`] (not a token, or repeated),
    /// [`UsageError::InvalidExtension`], [`UsageError::InvalidHeader`],
    /// [`UsageError::ReservedHeader`] (an extra field the handshake sets itself, or one
    /// that announces a body) or [`UsageError::InvalidKey`].
    pub fn build_with_key(&self, key: impl Into<String>) -> Result<ClientHandshake, UsageError> {
        let key = key.into();
        self.check()?;
        if !is_valid_key(key.as_bytes()) {
            return Err(UsageError::InvalidKey);
        }
        Ok(ClientHandshake {
            request: Bytes::from(self.encode(&key)),
            expected_accept: accept_key(&key),
            key,
            subprotocols: self.subprotocols.clone(),
            extensions: self.extensions.clone(),
        })
    }

    fn check(&self) -> Result<(), UsageError> {
        let visible = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_graphic());
        if !visible(&self.host) {
            return Err(UsageError::InvalidHost);
        }
        if !self.path.starts_with('/') || !visible(&self.path) {
            return Err(UsageError::InvalidPath);
        }
        for (i, protocol) in self.subprotocols.iter().enumerate() {
            if !is_token(protocol.as_bytes()) || self.subprotocols[..i].contains(protocol) {
                return Err(UsageError::InvalidSubprotocol {
                    protocol: protocol.clone(),
                });
            }
        }
        for extension in &self.extensions {
            extension.check()?;
        }
        self.headers.check_outgoing(&[
            HOST,
            UPGRADE,
            CONNECTION,
            SEC_WEBSOCKET_KEY,
            SEC_WEBSOCKET_VERSION,
            SEC_WEBSOCKET_PROTOCOL,
            SEC_WEBSOCKET_EXTENSIONS,
            CONTENT_LENGTH,
            TRANSFER_ENCODING,
        ])
    }

    /// The request head, already checked.
    fn encode(&self, key: &str) -> Vec<u8> {
        let mut out = Vec::with_capacity(256);
        out.extend_from_slice(b"GET ");
        out.extend_from_slice(self.path.as_bytes());
        out.extend_from_slice(b" HTTP/1.1\r\n");
        push_field(&mut out, HOST, self.host.as_bytes());
        push_field(&mut out, UPGRADE, b"websocket");
        push_field(&mut out, CONNECTION, b"Upgrade");
        push_field(&mut out, SEC_WEBSOCKET_KEY, key.as_bytes());
        push_field(&mut out, SEC_WEBSOCKET_VERSION, b"13");
        if !self.subprotocols.is_empty() {
            push_field(
                &mut out,
                SEC_WEBSOCKET_PROTOCOL,
                self.subprotocols.join(", ").as_bytes(),
            );
        }
        if let Some(value) = extensions_value(&self.extensions) {
            push_field(&mut out, SEC_WEBSOCKET_EXTENSIONS, value.as_bytes());
        }
        self.headers.encode(&mut out);
        out.extend_from_slice(b"\r\n");
        out
    }
}

/// A client handshake in flight: the request to send, and what the answer must hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientHandshake {
    request: Bytes,
    key: String,
    expected_accept: String,
    subprotocols: Vec<String>,
    extensions: Vec<Extension>,
}

impl ClientHandshake {
    /// The request head to send.
    pub fn request(&self) -> &Bytes {
        &self.request
    }

    /// The `Sec-WebSocket-Key` sent.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Parses and checks a complete response head, as [`HeadBuffer`](super::HeadBuffer)
    /// returns it.
    ///
    /// # Errors
    /// A [`HandshakeError`]: the client fails the WebSocket connection (RFC 6455 §4.1).
    pub fn check_response(&self, head: &[u8]) -> Result<Accepted, HandshakeError> {
        let mut storage = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut response = httparse::Response::new(&mut storage);
        let parsed = response
            .parse(head)
            .map_err(|e| HandshakeError::from_httparse(e, MAX_HEADERS))?;
        if parsed != httparse::Status::Complete(head.len()) {
            return Err(HandshakeError::Malformed {
                what: "incomplete head",
            });
        }
        // A complete parse fills in both.
        let (Some(minor_version), Some(status)) = (response.version, response.code) else {
            return Err(HandshakeError::Malformed {
                what: "incomplete status line",
            });
        };
        if status == 101 && minor_version < 1 {
            return Err(HandshakeError::HttpVersionTooOld);
        }
        self.check_parts(status, Headers::from_parsed(response.headers))
    }

    /// Checks a response some other HTTP stack parsed (RFC 6455 §4.1, the server's
    /// handshake): status 101; `Upgrade` naming `websocket`; `Connection` naming `upgrade`;
    /// one `Sec-WebSocket-Accept` matching the key; at most one subprotocol, one we offered;
    /// only extensions we offered.
    ///
    /// # Errors
    /// A [`HandshakeError`]: the client fails the WebSocket connection.
    pub fn check_parts(&self, status: u16, headers: Headers) -> Result<Accepted, HandshakeError> {
        if status != 101 {
            return Err(HandshakeError::UnexpectedStatus { status });
        }
        headers.require_token(UPGRADE, "websocket", HandshakeError::UpgradeNotWebSocket)?;
        headers.require_token(CONNECTION, "upgrade", HandshakeError::ConnectionNotUpgrade)?;
        if headers.exactly_one(SEC_WEBSOCKET_ACCEPT)? != self.expected_accept.as_bytes() {
            return Err(HandshakeError::AcceptMismatch);
        }
        let subprotocol = self.chosen_subprotocol(&headers)?;
        let extensions = parse_extensions(&headers)?;
        if let Some(unoffered) = extensions
            .iter()
            .find(|chosen| !self.extensions.iter().any(|e| e.is_named(chosen.name())))
        {
            return Err(HandshakeError::UnofferedExtension {
                name: unoffered.name().into(),
            });
        }
        Ok(Accepted {
            subprotocol,
            extensions,
            headers,
        })
    }

    /// The subprotocol the response names: none, or one we offered (RFC 6455 §4.1).
    fn chosen_subprotocol(&self, headers: &Headers) -> Result<Option<String>, HandshakeError> {
        let mut chosen = headers.list(SEC_WEBSOCKET_PROTOCOL);
        let protocol = match (chosen.next(), chosen.next()) {
            (None, _) => return Ok(None),
            (Some(_), Some(_)) => return Err(HandshakeError::InvalidSubprotocols),
            (Some(protocol), None) => protocol,
        };
        match self.subprotocols.iter().find(|p| p.as_bytes() == protocol) {
            Some(offered) => Ok(Some(offered.clone())),
            None => Err(HandshakeError::UnofferedSubprotocol {
                protocol: String::from_utf8_lossy(protocol).into_owned(),
            }),
        }
    }
}

/// A server's valid acceptance: the upgrade is done and the connection speaks WebSocket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    subprotocol: Option<String>,
    extensions: Vec<Extension>,
    headers: Headers,
}

impl Accepted {
    /// The subprotocol the server chose, if any.
    pub fn subprotocol(&self) -> Option<&str> {
        self.subprotocol.as_deref()
    }

    /// The extensions the server accepted, with the parameters it answered with.
    pub fn extensions(&self) -> &[Extension] {
        &self.extensions
    }

    /// All header fields of the response (e.g. `Set-Cookie`).
    pub fn headers(&self) -> &Headers {
        &self.headers
    }
}
