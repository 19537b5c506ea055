//! Owned header fields with the lookups the handshake needs: case-insensitive names,
//! trimmed values, comma-separated token lists (RFC 9110 §5.1, §5.6.1).

use alloc::string::String;
use alloc::vec::Vec;

use super::error::{HandshakeError, UsageError};

pub(crate) const HOST: &str = "Host";
pub(crate) const UPGRADE: &str = "Upgrade";
pub(crate) const CONNECTION: &str = "Connection";
pub(crate) const SEC_WEBSOCKET_KEY: &str = "Sec-WebSocket-Key";
pub(crate) const SEC_WEBSOCKET_ACCEPT: &str = "Sec-WebSocket-Accept";
pub(crate) const SEC_WEBSOCKET_VERSION: &str = "Sec-WebSocket-Version";
pub(crate) const SEC_WEBSOCKET_PROTOCOL: &str = "Sec-WebSocket-Protocol";
pub(crate) const SEC_WEBSOCKET_EXTENSIONS: &str = "Sec-WebSocket-Extensions";
pub(crate) const CONTENT_LENGTH: &str = "Content-Length";
pub(crate) const TRANSFER_ENCODING: &str = "Transfer-Encoding";

/// Header fields in the order they appeared, names as sent, values trimmed of surrounding
/// spaces and tabs. Lookups ignore ASCII case in names (RFC 9110 §5.1).
///
/// Values are bytes: HTTP allows non-ASCII octets in them (RFC 9110 §5.5).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers {
    fields: Vec<(String, Vec<u8>)>,
}

impl Headers {
    /// No fields.
    pub fn new() -> Self {
        Headers::default()
    }

    /// Appends a field; the value is trimmed. A repeated name adds a second field, as a
    /// repeated line in a head would.
    pub fn push(&mut self, name: impl Into<String>, value: impl Into<Vec<u8>>) {
        let mut value = value.into();
        let trimmed = trim(&value);
        if trimmed.len() != value.len() {
            value = trimmed.to_vec();
        }
        self.fields.push((name.into(), value));
    }

    /// The first value of field `name`.
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.get_all(name).next()
    }

    /// The first value of field `name`, if it is UTF-8.
    pub fn get_str(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(|v| core::str::from_utf8(v).ok())
    }

    /// Every value of field `name`, in order.
    pub fn get_all<'a>(&'a self, name: &str) -> impl Iterator<Item = &'a [u8]> {
        self.fields
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
    }

    /// How many fields are named `name`.
    pub fn count(&self, name: &str) -> usize {
        self.get_all(name).count()
    }

    /// Whether a field named `name` is present.
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// The elements of the comma-separated list field `name`, across all its fields
    /// (RFC 9110 §5.3 lets a list be split over repeated fields), trimmed, empty ones
    /// skipped (§5.6.1).
    pub fn list<'a>(&'a self, name: &str) -> impl Iterator<Item = &'a [u8]> {
        self.get_all(name).flat_map(split_list)
    }

    /// Whether the list field `name` holds `token`, ignoring ASCII case: e.g. `Connection:
    /// keep-alive, Upgrade` holds `upgrade`.
    pub fn has_token(&self, name: &str, token: &str) -> bool {
        self.list(name)
            .any(|element| element.eq_ignore_ascii_case(token.as_bytes()))
    }

    /// The fields, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.fields.iter().map(|(n, v)| (n.as_str(), v.as_slice()))
    }

    /// The number of fields.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// Whether there are no fields.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// The value of field `name`, which must appear exactly once.
    pub(crate) fn exactly_one(&self, name: &'static str) -> Result<&[u8], HandshakeError> {
        let mut values = self.get_all(name);
        let value = values
            .next()
            .ok_or(HandshakeError::MissingHeader { name })?;
        match values.next() {
            Some(_) => Err(HandshakeError::DuplicateHeader { name }),
            None => Ok(value),
        }
    }

    /// Checks that list field `name` is present and holds `token`; `otherwise` if it lacks
    /// the token.
    pub(crate) fn require_token(
        &self,
        name: &'static str,
        token: &str,
        otherwise: HandshakeError,
    ) -> Result<(), HandshakeError> {
        if !self.contains(name) {
            Err(HandshakeError::MissingHeader { name })
        } else if self.has_token(name, token) {
            Ok(())
        } else {
            Err(otherwise)
        }
    }

    /// Copies the fields `httparse` found.
    pub(crate) fn from_parsed(parsed: &[httparse::Header<'_>]) -> Self {
        let mut headers = Headers {
            fields: Vec::with_capacity(parsed.len()),
        };
        for field in parsed {
            headers.push(field.name, field.value);
        }
        headers
    }

    /// Checks fields we are about to send: names are tokens, values hold no control
    /// characters (a CR or LF would let a value inject fields), none is in `reserved`.
    pub(crate) fn check_outgoing(&self, reserved: &[&str]) -> Result<(), UsageError> {
        for (name, value) in self.iter() {
            if reserved.iter().any(|r| r.eq_ignore_ascii_case(name)) {
                return Err(UsageError::ReservedHeader { name: name.into() });
            }
            if !is_token(name.as_bytes()) || !is_field_value(value) {
                return Err(UsageError::InvalidHeader { name: name.into() });
            }
        }
        Ok(())
    }

    /// Appends `Name: value\r\n` for every field.
    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        for (name, value) in self.iter() {
            push_field(out, name, value);
        }
    }
}

/// Appends one `Name: value\r\n` line.
pub(crate) fn push_field(out: &mut Vec<u8>, name: &str, value: &[u8]) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

/// The elements of one comma-separated list value, trimmed, empty ones skipped.
pub fn split_list(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value
        .split(|b| *b == b',')
        .map(trim)
        .filter(|element| !element.is_empty())
}

/// `value` without leading and trailing spaces and tabs (RFC 9110 §5.6.3 OWS).
pub(crate) fn trim(value: &[u8]) -> &[u8] {
    let is_ows = |b: &u8| *b == b' ' || *b == b'\t';
    let start = value.iter().position(|b| !is_ows(b)).unwrap_or(value.len());
    let end = value
        .iter()
        .rposition(|b| !is_ows(b))
        .map_or(start, |i| i + 1);
    &value[start..end]
}

/// Whether `s` is a non-empty RFC 9110 §5.6.2 token (the `tchar` set).
pub fn is_token(s: &[u8]) -> bool {
    !s.is_empty()
        && s.iter().all(|b| {
            b.is_ascii_alphanumeric()
                || matches!(
                    b,
                    b'!' | b'#'
                        | b'$'
                        | b'%'
                        | b'&'
                        | b'\''
                        | b'*'
                        | b'+'
                        | b'-'
                        | b'.'
                        | b'^'
                        | b'_'
                        | b'`'
                        | b'|'
                        | b'~'
                )
        })
}

/// Whether `value` may go on the wire as a field value: visible characters, spaces, tabs
/// and obs-text, no CR, LF, NUL or other controls (RFC 9110 §5.5).
pub(crate) fn is_field_value(value: &[u8]) -> bool {
    value
        .iter()
        .all(|b| *b == b'\t' || (*b >= 0x20 && *b != 0x7f))
}
