//! MIME types in extension metadata: the well-known table (one byte on the wire) or a
//! custom ASCII string (a length byte storing length - 1, then the string), as the RSocket
//! extensions and their implementations write them.

use alloc::string::String;
use bytes::{Buf, BufMut, Bytes, BytesMut};

use super::ExtError;

/// The well-known MIME types and the rsocket metadata types, by id (WellKnownMimeTypes.md).
pub const WELL_KNOWN: [(u8, &str); 49] = [
    (0x00, "application/avro"),
    (0x01, "application/cbor"),
    (0x02, "application/graphql"),
    (0x03, "application/gzip"),
    (0x04, "application/javascript"),
    (0x05, "application/json"),
    (0x06, "application/octet-stream"),
    (0x07, "application/pdf"),
    (0x08, "application/vnd.apache.thrift.binary"),
    (0x09, "application/vnd.google.protobuf"),
    (0x0A, "application/xml"),
    (0x0B, "application/zip"),
    (0x0C, "audio/aac"),
    (0x0D, "audio/mp3"),
    (0x0E, "audio/mp4"),
    (0x0F, "audio/mpeg3"),
    (0x10, "audio/mpeg"),
    (0x11, "audio/ogg"),
    (0x12, "audio/opus"),
    (0x13, "audio/vorbis"),
    (0x14, "image/bmp"),
    (0x15, "image/gif"),
    (0x16, "image/heic-sequence"),
    (0x17, "image/heic"),
    (0x18, "image/heif-sequence"),
    (0x19, "image/heif"),
    (0x1A, "image/jpeg"),
    (0x1B, "image/png"),
    (0x1C, "image/tiff"),
    (0x1D, "multipart/mixed"),
    (0x1E, "text/css"),
    (0x1F, "text/csv"),
    (0x20, "text/html"),
    (0x21, "text/plain"),
    (0x22, "text/xml"),
    (0x23, "video/H264"),
    (0x24, "video/H265"),
    (0x25, "video/VP8"),
    (0x26, "application/x-hessian"),
    (0x27, "application/x-java-object"),
    (0x28, "application/cloudevents+json"),
    (0x29, "application/x-capnp"),
    (0x2A, "application/x-flatbuffers"),
    (0x7A, "message/x.rsocket.mime-type.v0"),
    (0x7B, "message/x.rsocket.accept-mime-types.v0"),
    (0x7C, "message/x.rsocket.authentication.v0"),
    (0x7D, "message/x.rsocket.tracing-zipkin.v0"),
    (0x7E, "message/x.rsocket.routing.v0"),
    (0x7F, "message/x.rsocket.composite-metadata.v0"),
];

/// A MIME type as extension metadata carries it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum MimeType {
    /// One of [`WELL_KNOWN`], by id.
    WellKnown(u8),
    /// Any other type (ASCII, 1 to 128 bytes), or a well-known id this table lacks.
    Custom(String),
}

impl MimeType {
    /// The well-known id for `name` if it has one, else the name itself.
    pub fn new(name: &str) -> MimeType {
        match WELL_KNOWN.iter().find(|(_, known)| *known == name) {
            Some((id, _)) => MimeType::WellKnown(*id),
            None => MimeType::Custom(name.into()),
        }
    }

    /// The type's name; `None` for a well-known id the table does not list.
    pub fn name(&self) -> Option<&str> {
        match self {
            MimeType::WellKnown(id) => WELL_KNOWN
                .iter()
                .find(|(known, _)| known == id)
                .map(|(_, n)| *n),
            MimeType::Custom(name) => Some(name),
        }
    }

    /// Writes the type: `0x80 | id`, or `length - 1` and the ASCII name.
    pub fn encode(&self, out: &mut BytesMut) -> Result<(), ExtError> {
        match self {
            MimeType::WellKnown(id) if *id < 0x80 => out.put_u8(0x80 | id),
            MimeType::WellKnown(_) => return Err(ExtError::Invalid("a well-known id is 7 bits")),
            MimeType::Custom(name) => {
                if name.is_empty() || name.len() > 128 || !name.is_ascii() {
                    return Err(ExtError::Invalid("a MIME type is 1 to 128 ASCII bytes"));
                }
                out.put_u8((name.len() - 1) as u8);
                out.put_slice(name.as_bytes());
            }
        }
        Ok(())
    }

    /// Reads a type written by [`encode`](MimeType::encode).
    pub fn decode(input: &mut Bytes) -> Result<MimeType, ExtError> {
        if !input.has_remaining() {
            return Err(ExtError::TooShort);
        }
        let first = input.get_u8();
        if first & 0x80 != 0 {
            return Ok(MimeType::WellKnown(first & 0x7F));
        }
        let len = usize::from(first) + 1;
        if input.remaining() < len {
            return Err(ExtError::TooShort);
        }
        let raw = input.split_to(len);
        if !raw.is_ascii() {
            return Err(ExtError::Invalid("a MIME type is ASCII"));
        }
        Ok(MimeType::Custom(
            raw.iter().map(|&b| char::from(b)).collect(),
        ))
    }
}
