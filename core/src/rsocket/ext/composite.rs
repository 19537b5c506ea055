//! Composite metadata (`message/x.rsocket.composite-metadata.v0`): a sequence of entries,
//! each a MIME type, a 24-bit length and that many bytes. Order is kept; types may repeat.

use alloc::vec::Vec;
use bytes::{Buf, BufMut, Bytes, BytesMut};

use super::{ExtError, MimeType};

/// Composite metadata, as entries in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CompositeMetadata {
    /// The entries.
    pub entries: Vec<(MimeType, Bytes)>,
}

impl CompositeMetadata {
    /// Appends an entry.
    pub fn push(&mut self, mime: MimeType, content: Bytes) {
        self.entries.push((mime, content));
    }

    /// The first entry of type `mime`.
    pub fn get(&self, mime: &MimeType) -> Option<&Bytes> {
        self.entries.iter().find(|(m, _)| m == mime).map(|(_, c)| c)
    }

    /// The encoded metadata.
    pub fn encode(&self) -> Result<Bytes, ExtError> {
        let mut out = BytesMut::new();
        for (mime, content) in &self.entries {
            if content.len() > 0xFF_FFFF {
                return Err(ExtError::Invalid("an entry is at most 16 MiB - 1"));
            }
            mime.encode(&mut out)?;
            out.put_uint(content.len() as u64, 3);
            out.put_slice(content);
        }
        Ok(out.freeze())
    }

    /// Reads every entry; contents share `input`.
    pub fn decode(mut input: Bytes) -> Result<CompositeMetadata, ExtError> {
        let mut entries = Vec::new();
        while input.has_remaining() {
            let mime = MimeType::decode(&mut input)?;
            if input.remaining() < 3 {
                return Err(ExtError::TooShort);
            }
            let len = input.get_uint(3) as usize;
            if input.remaining() < len {
                return Err(ExtError::TooShort);
            }
            entries.push((mime, input.split_to(len)));
        }
        Ok(CompositeMetadata { entries })
    }
}
