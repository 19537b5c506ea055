//! Routing metadata (`message/x.rsocket.routing.v0`): tags, each a length byte and 1 to 255
//! bytes of UTF-8.

use alloc::string::String;
use alloc::vec::Vec;
use bytes::{Buf, BufMut, Bytes, BytesMut};

use super::ExtError;

/// Encodes route tags.
pub fn encode(tags: &[&str]) -> Result<Bytes, ExtError> {
    let mut out = BytesMut::new();
    for tag in tags {
        if tag.is_empty() || tag.len() > 255 {
            return Err(ExtError::Invalid("a route tag is 1 to 255 bytes"));
        }
        out.put_u8(tag.len() as u8);
        out.put_slice(tag.as_bytes());
    }
    Ok(out.freeze())
}

/// Decodes route tags.
pub fn decode(mut input: Bytes) -> Result<Vec<String>, ExtError> {
    let mut tags = Vec::new();
    while input.has_remaining() {
        let len = usize::from(input.get_u8());
        if input.remaining() < len {
            return Err(ExtError::TooShort);
        }
        let tag = input.split_to(len);
        let tag =
            core::str::from_utf8(&tag).map_err(|_| ExtError::Invalid("a route tag is UTF-8"))?;
        tags.push(String::from(tag));
    }
    Ok(tags)
}
