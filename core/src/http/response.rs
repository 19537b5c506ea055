//! The server's answer: the 101 that completes the upgrade (RFC 6455 §4.2.2) or a reject.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use super::accept_key::accept_key;
use super::error::{HandshakeError, UsageError};
use super::extension::{Extension, extensions_value};
use super::headers::{
    CONNECTION, CONTENT_LENGTH, Headers, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_EXTENSIONS,
    SEC_WEBSOCKET_PROTOCOL, SEC_WEBSOCKET_VERSION, TRANSFER_ENCODING, UPGRADE, is_field_value,
};
use super::server::UpgradeRequest;

/// An HTTP/1.1 response head and body, ready to encode or to hand to another HTTP stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    status: u16,
    reason: String,
    headers: Headers,
    body: Vec<u8>,
}

impl Response {
    /// The status code.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The reason phrase.
    pub fn reason(&self) -> &str {
        &self.reason
    }

    /// The header fields, in the order they are sent.
    pub fn headers(&self) -> &Headers {
        &self.headers
    }

    /// The body (empty for a 101).
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// Whether this is the 101 that completes the upgrade.
    pub fn is_accept(&self) -> bool {
        self.status == 101
    }

    /// Appends the response as it goes on the wire.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(format!("HTTP/1.1 {} {}\r\n", self.status, self.reason).as_bytes());
        self.headers.encode(out);
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&self.body);
    }

    /// The response as it goes on the wire.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode(&mut out);
        out
    }

    /// The answer to a request that failed with `error`: its [`status`](HandshakeError::status),
    /// the error's text as a plain-text body, `Allow: GET` for a 405, and for a 426 the
    /// `Sec-WebSocket-Version: 13` RFC 6455 §4.2.2 asks for. `None` for errors only a
    /// response can have.
    pub fn for_error(error: &HandshakeError) -> Option<Response> {
        let status = error.status()?;
        let mut reject = Reject::new(status)
            .header("Content-Type", "text/plain; charset=utf-8")
            .body(format!("{error}\n"));
        if status == 405 {
            reject = reject.header("Allow", "GET");
        }
        if status == 426 {
            // RFC 9110 §15.5.22: a 426 names the protocol in Upgrade, which the Connection
            // field must then list (RFC 9110 §7.8).
            reject = reject
                .header(SEC_WEBSOCKET_VERSION, "13")
                .header(UPGRADE, "websocket")
                .header(CONNECTION, "Upgrade, close");
        }
        // The statuses above are final and the fields valid, so this cannot fail.
        reject.into_response().ok()
    }
}

/// The application's acceptance of an [`UpgradeRequest`]: the subprotocol and extensions it
/// chose and extra header fields (e.g. `Set-Cookie`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Accept {
    subprotocol: Option<String>,
    extensions: Vec<Extension>,
    headers: Headers,
}

impl Accept {
    /// Accept with no subprotocol, no extensions and no extra fields.
    pub fn new() -> Self {
        Accept::default()
    }

    /// Chooses `protocol`, which must be one the client offered (RFC 6455 §4.2.2).
    pub fn subprotocol(mut self, protocol: impl Into<String>) -> Self {
        self.subprotocol = Some(protocol.into());
        self
    }

    /// Accepts `extension`, whose name the client must have offered (RFC 6455 §9.1).
    pub fn extension(mut self, extension: Extension) -> Self {
        self.extensions.push(extension);
        self
    }

    /// Adds an extra header field.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<Vec<u8>>) -> Self {
        self.headers.push(name, value);
        self
    }

    /// The chosen subprotocol.
    pub fn chosen_subprotocol(&self) -> Option<&str> {
        self.subprotocol.as_deref()
    }

    /// The accepted extensions.
    pub fn extensions(&self) -> &[Extension] {
        &self.extensions
    }
}

impl UpgradeRequest {
    /// The 101 Switching Protocols response that accepts this request (RFC 6455 §4.2.2
    /// step 5): `Upgrade`, `Connection`, `Sec-WebSocket-Accept`, the chosen subprotocol and
    /// extensions, then the extra fields.
    ///
    /// # Errors
    /// [`UsageError::SubprotocolNotOffered`] or [`UsageError::ExtensionNotOffered`] for a
    /// choice the client did not offer; [`UsageError::ReservedHeader`] for an extra field
    /// the handshake sets itself; [`UsageError::InvalidHeader`] or
    /// [`UsageError::InvalidExtension`] for values that cannot go on the wire.
    pub fn accept(&self, accept: &Accept) -> Result<Response, UsageError> {
        if let Some(protocol) = &accept.subprotocol {
            if !self.offers_subprotocol(protocol) {
                return Err(UsageError::SubprotocolNotOffered {
                    protocol: protocol.clone(),
                });
            }
        }
        for extension in &accept.extensions {
            extension.check()?;
            if !self.offers_extension(extension.name()) {
                return Err(UsageError::ExtensionNotOffered {
                    name: extension.name().into(),
                });
            }
        }
        accept.headers.check_outgoing(&[
            UPGRADE,
            CONNECTION,
            SEC_WEBSOCKET_ACCEPT,
            SEC_WEBSOCKET_PROTOCOL,
            SEC_WEBSOCKET_EXTENSIONS,
            CONTENT_LENGTH,
            TRANSFER_ENCODING,
        ])?;
        let mut headers = Headers::new();
        headers.push(UPGRADE, "websocket");
        headers.push(CONNECTION, "Upgrade");
        headers.push(SEC_WEBSOCKET_ACCEPT, accept_key(self.key()));
        if let Some(protocol) = &accept.subprotocol {
            headers.push(SEC_WEBSOCKET_PROTOCOL, protocol.as_str());
        }
        if let Some(value) = extensions_value(&accept.extensions) {
            headers.push(SEC_WEBSOCKET_EXTENSIONS, value);
        }
        for (name, value) in accept.headers.iter() {
            headers.push(name, value);
        }
        Ok(Response {
            status: 101,
            reason: "Switching Protocols".into(),
            headers,
            body: Vec::new(),
        })
    }
}

/// The application's refusal of an upgrade request: any final status, a reason phrase,
/// extra header fields and a body.
///
/// The response always carries `Content-Length`, and `Connection: close` unless the extra
/// fields set `Connection`: a refused upgrade ends the connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reject {
    status: u16,
    reason: Option<String>,
    headers: Headers,
    body: Vec<u8>,
}

impl Reject {
    /// A refusal with `status`, e.g. 403, and the standard reason phrase.
    pub fn new(status: u16) -> Self {
        Reject {
            status,
            reason: None,
            headers: Headers::new(),
            body: Vec::new(),
        }
    }

    /// Replaces the standard reason phrase.
    pub fn reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }

    /// Adds an extra header field.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<Vec<u8>>) -> Self {
        self.headers.push(name, value);
        self
    }

    /// Sets the body.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// The response.
    ///
    /// # Errors
    /// [`UsageError::InvalidStatus`] for a status outside 200 to 599 (1xx responses do not
    /// end an exchange); [`UsageError::InvalidReason`] or [`UsageError::InvalidHeader`] for
    /// text that cannot go on the wire; [`UsageError::ReservedHeader`] for `Content-Length`
    /// or `Transfer-Encoding`, which the response sets itself.
    pub fn into_response(self) -> Result<Response, UsageError> {
        if !(200..=599).contains(&self.status) {
            return Err(UsageError::InvalidStatus {
                status: self.status,
            });
        }
        let reason = match self.reason {
            Some(reason) if is_field_value(reason.as_bytes()) => reason,
            Some(_) => return Err(UsageError::InvalidReason),
            None => reason_phrase(self.status).into(),
        };
        self.headers
            .check_outgoing(&[CONTENT_LENGTH, TRANSFER_ENCODING])?;
        let mut headers = self.headers;
        if !headers.contains(CONNECTION) {
            headers.push(CONNECTION, "close");
        }
        headers.push(CONTENT_LENGTH, format!("{}", self.body.len()));
        Ok(Response {
            status: self.status,
            reason,
            headers,
            body: self.body,
        })
    }
}

/// The standard reason phrase for the statuses a WebSocket server is likely to send
/// (RFC 9110 §15, RFC 6585 §5), or an empty one (RFC 9112 §4 allows it).
fn reason_phrase(status: u16) -> &'static str {
    match status {
        200 => "OK",
        301 => "Moved Permanently",
        302 => "Found",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        426 => "Upgrade Required",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "",
    }
}
