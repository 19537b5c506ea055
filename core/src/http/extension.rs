//! One `Sec-WebSocket-Extensions` element: a name and its parameters (RFC 6455 §9.1).
//!
//! The handshake only negotiates names (a server may answer only with extensions the client
//! offered); what the parameters mean is up to each extension, e.g. RFC 7692's
//! `permessage-deflate; client_max_window_bits`.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use super::error::{HandshakeError, UsageError};
use super::headers::{Headers, SEC_WEBSOCKET_EXTENSIONS, is_token, trim};

/// An extension offer or choice: `name; param; param=value`.
///
/// Names and values are tokens (RFC 6455 §9.1: a quoted value must unquote to a token), so
/// they are ASCII and never need quoting on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extension {
    name: String,
    params: Vec<(String, Option<String>)>,
}

impl Extension {
    /// An extension without parameters.
    pub fn new(name: impl Into<String>) -> Self {
        Extension {
            name: name.into(),
            params: Vec::new(),
        }
    }

    /// Adds a parameter without a value, e.g. `client_max_window_bits`.
    pub fn with_param(mut self, name: impl Into<String>) -> Self {
        self.params.push((name.into(), None));
        self
    }

    /// Adds a parameter with a value, e.g. `server_max_window_bits=10`.
    pub fn with_param_value(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.params.push((name.into(), Some(value.into())));
        self
    }

    /// The extension's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The parameters in order, each with its value if it has one.
    pub fn params(&self) -> impl Iterator<Item = (&str, Option<&str>)> {
        self.params.iter().map(|(n, v)| (n.as_str(), v.as_deref()))
    }

    /// The first parameter named `name` (ASCII case ignored): `None` if absent,
    /// `Some(None)` if present without a value.
    pub fn param(&self, name: &str) -> Option<Option<&str>> {
        self.params()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// Whether this extension is named `name`, ignoring ASCII case.
    pub fn is_named(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name)
    }

    /// Parses one list element, e.g. `permessage-deflate; client_max_window_bits`.
    /// `None` if it does not follow the RFC 6455 §9.1 grammar.
    pub fn parse(element: &[u8]) -> Option<Self> {
        let mut parts = element.split(|b| *b == b';').map(trim);
        let name = token_string(parts.next()?)?;
        let mut params = Vec::new();
        for part in parts {
            let (param_name, value) = match part.iter().position(|b| *b == b'=') {
                Some(eq) => (trim(&part[..eq]), Some(param_value(trim(&part[eq + 1..]))?)),
                None => (part, None),
            };
            params.push((token_string(param_name)?, value));
        }
        Some(Extension { name, params })
    }

    /// Checks an extension we are about to send.
    pub(crate) fn check(&self) -> Result<(), UsageError> {
        let tokens_ok = is_token(self.name.as_bytes())
            && self.params.iter().all(|(n, v)| {
                is_token(n.as_bytes()) && v.as_ref().is_none_or(|v| is_token(v.as_bytes()))
            });
        if tokens_ok {
            Ok(())
        } else {
            Err(UsageError::InvalidExtension {
                name: self.name.clone(),
            })
        }
    }
}

impl fmt::Display for Extension {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        for (name, value) in self.params() {
            match value {
                Some(value) => write!(f, "; {name}={value}")?,
                None => write!(f, "; {name}")?,
            }
        }
        Ok(())
    }
}

/// Every extension in the `Sec-WebSocket-Extensions` fields of `headers`, in order.
pub(crate) fn parse_extensions(headers: &Headers) -> Result<Vec<Extension>, HandshakeError> {
    headers
        .list(SEC_WEBSOCKET_EXTENSIONS)
        .map(|element| Extension::parse(element).ok_or(HandshakeError::InvalidExtensions))
        .collect()
}

/// The `Sec-WebSocket-Extensions` value for `extensions`, or `None` if there are none.
pub(crate) fn extensions_value(extensions: &[Extension]) -> Option<String> {
    use fmt::Write as _;
    let mut value = String::new();
    for (i, extension) in extensions.iter().enumerate() {
        let separator = if i == 0 { "" } else { ", " };
        // Writing to a String cannot fail.
        let _ = write!(value, "{separator}{extension}");
    }
    (!value.is_empty()).then_some(value)
}

/// A token as an owned string, or `None` if `s` is not a token.
fn token_string(s: &[u8]) -> Option<String> {
    // A token is ASCII, so it is always UTF-8.
    is_token(s)
        .then(|| core::str::from_utf8(s).ok().map(String::from))
        .flatten()
}

/// A parameter value: a token, or a quoted string that unquotes to a token.
fn param_value(raw: &[u8]) -> Option<String> {
    let Some(quoted) = raw.strip_prefix(b"\"").and_then(|r| r.strip_suffix(b"\"")) else {
        return token_string(raw);
    };
    let mut unquoted = Vec::with_capacity(quoted.len());
    let mut bytes = quoted.iter();
    while let Some(&b) = bytes.next() {
        // A backslash quotes the next byte (RFC 9110 §5.6.4 quoted-pair).
        unquoted.push(if b == b'\\' { *bytes.next()? } else { b });
    }
    token_string(&unquoted)
}
