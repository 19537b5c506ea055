//! RSocket extensions (all "incubating, version 0"): composite metadata, routing,
//! authentication (simple and bearer), per-stream data MIME types, and the well-known MIME
//! table. Pure codecs over `Bytes`, byte-compatible with the Java, Kotlin, Python and
//! JavaScript implementations (custom MIME and auth type lengths are stored as length - 1,
//! as they write them).
//!
//! ```
//! use wirestate_core::rsocket::ext::{CompositeMetadata, MimeType, routing};
//!
//! let mut metadata = CompositeMetadata::default();
//! metadata.push(MimeType::new("message/x.rsocket.routing.v0"), routing::encode(&["echo"]).unwrap());
//! let bytes = metadata.encode().unwrap();
//! let back = CompositeMetadata::decode(bytes).unwrap();
//! let route = back.get(&MimeType::new("message/x.rsocket.routing.v0")).unwrap();
//! assert_eq!(routing::decode(route.clone()).unwrap(), ["echo"]);
//! ```

pub mod auth;
mod composite;
mod mime;
pub mod routing;

pub use composite::CompositeMetadata;
pub use mime::{MimeType, WELL_KNOWN};

use alloc::vec::Vec;
use bytes::{Bytes, BytesMut};
use core::fmt;

/// Why extension metadata could not be read or written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExtError {
    /// The bytes end inside a field.
    TooShort,
    /// A value out of its range or not in its character set.
    Invalid(&'static str),
}

impl fmt::Display for ExtError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExtError::TooShort => f.write_str("extension metadata ends inside a field"),
            ExtError::Invalid(what) => write!(f, "invalid extension metadata: {what}"),
        }
    }
}

impl core::error::Error for ExtError {}

/// `message/x.rsocket.mime-type.v0`: the data MIME type of this request.
pub fn encode_mime_type(mime: &MimeType) -> Result<Bytes, ExtError> {
    let mut out = BytesMut::new();
    mime.encode(&mut out)?;
    Ok(out.freeze())
}

/// Reads `message/x.rsocket.mime-type.v0`.
pub fn decode_mime_type(mut input: Bytes) -> Result<MimeType, ExtError> {
    MimeType::decode(&mut input)
}

/// `message/x.rsocket.accept-mime-types.v0`: the response types a requester accepts.
pub fn encode_accept_mime_types(types: &[MimeType]) -> Result<Bytes, ExtError> {
    let mut out = BytesMut::new();
    for mime in types {
        mime.encode(&mut out)?;
    }
    Ok(out.freeze())
}

/// Reads `message/x.rsocket.accept-mime-types.v0`.
pub fn decode_accept_mime_types(mut input: Bytes) -> Result<Vec<MimeType>, ExtError> {
    let mut types = Vec::new();
    while !input.is_empty() {
        types.push(MimeType::decode(&mut input)?);
    }
    Ok(types)
}

#[cfg(test)]
mod tests;
