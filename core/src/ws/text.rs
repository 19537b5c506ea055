//! [`Text`]: the payload of a text message, UTF-8 checked, sharing its buffer.

use alloc::string::String;
use alloc::vec::Vec;
use bytes::Bytes;
use core::fmt;
use core::ops::Deref;

/// A text message's payload: bytes known to be UTF-8, cheap to clone (reference counted)
/// and received without an allocation of its own (a slice of the receive buffer).
/// Derefs to `str`.
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Text(Bytes);

impl Text {
    /// A text from a static string, without copying.
    pub const fn from_static(text: &'static str) -> Text {
        Text(Bytes::from_static(text.as_bytes()))
    }

    /// Takes `bytes` as text if they are UTF-8; gives them back if not.
    pub fn try_from_bytes(bytes: Bytes) -> Result<Text, Bytes> {
        match core::str::from_utf8(&bytes) {
            Ok(_) => Ok(Text(bytes)),
            Err(_) => Err(bytes),
        }
    }

    /// Wraps bytes already checked to be UTF-8.
    pub(crate) fn from_checked(bytes: Bytes) -> Text {
        debug_assert!(core::str::from_utf8(&bytes).is_ok());
        Text(bytes)
    }

    /// The text.
    ///
    /// The bytes were checked on construction, but this crate has no unsafe code, so
    /// every call checks them again (at memory speed for ASCII): for a large text, keep
    /// the `&str` rather than calling this in a loop.
    pub fn as_str(&self) -> &str {
        core::str::from_utf8(&self.0).unwrap_or_default()
    }

    /// The UTF-8 bytes (no check needed, unlike [`as_str`](Text::as_str)).
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the text is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The UTF-8 bytes, sharing the buffer.
    pub fn into_bytes(self) -> Bytes {
        self.0
    }

    /// The UTF-8 bytes as the shared buffer they are.
    pub(crate) fn bytes(&self) -> &Bytes {
        &self.0
    }
}

impl Deref for Text {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Text {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<[u8]> for Text {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<String> for Text {
    fn from(text: String) -> Self {
        Text(Bytes::from(Vec::from(text)))
    }
}

impl From<&str> for Text {
    fn from(text: &str) -> Self {
        Text(Bytes::copy_from_slice(text.as_bytes()))
    }
}

impl From<Text> for String {
    fn from(text: Text) -> Self {
        String::from(text.as_str())
    }
}

impl PartialEq<str> for Text {
    fn eq(&self, other: &str) -> bool {
        self.as_bytes() == other.as_bytes() // equal bytes, equal text: no UTF-8 check needed
    }
}

impl PartialEq<&str> for Text {
    fn eq(&self, other: &&str) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl PartialEq<String> for Text {
    fn eq(&self, other: &String) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

/// A text message's payload borrowed from the caller's buffer (see
/// [`Connection::read_in_place`](super::Connection::read_in_place)): bytes known to be
/// UTF-8. Like [`Text`], it derefs to `str` by checking the bytes again, since this crate
/// has no unsafe code; [`as_bytes`](TextRef::as_bytes) and comparisons need no check.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TextRef<'a>(&'a [u8]);

impl<'a> TextRef<'a> {
    /// Wraps bytes already checked to be UTF-8.
    pub(crate) fn from_checked(bytes: &'a [u8]) -> TextRef<'a> {
        debug_assert!(core::str::from_utf8(bytes).is_ok());
        TextRef(bytes)
    }

    /// The text (checked again: keep the `&str` rather than calling this in a loop).
    pub fn as_str(&self) -> &'a str {
        core::str::from_utf8(self.0).unwrap_or_default()
    }

    /// The UTF-8 bytes.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.0
    }
}

impl Deref for TextRef<'_> {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Debug for TextRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for TextRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<str> for TextRef<'_> {
    fn eq(&self, other: &str) -> bool {
        self.0 == other.as_bytes()
    }
}

impl PartialEq<&str> for TextRef<'_> {
    fn eq(&self, other: &&str) -> bool {
        self.0 == other.as_bytes()
    }
}
