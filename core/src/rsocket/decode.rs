//! Decoding one frame (without a length prefix) from `Bytes`, zero-copy: payloads share the
//! input. Lenient where the spec says to ignore (undefined flags, the reserved stream-id bit,
//! METADATA_PUSH without M); strict where a wrong length would misread the frame.

use alloc::string::String;
use bytes::{Buf, Bytes};
use core::fmt;

use super::ErrorCode;
use super::frame::{Frame, FrameType, Payload, RequestKind, Setup, flags};

/// Why a frame could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeErrorKind {
    /// Fewer bytes than the header or the frame type's fields need.
    TooShort,
    /// A type code the spec does not define.
    UnknownType(u8),
    /// A metadata length that runs past the end of the frame.
    MetadataLength,
    /// A field out of its range (request-n 0, keepalive interval 0, non-ASCII MIME type …).
    InvalidField(&'static str),
}

/// A frame that could not be decoded, with what the receiver needs to react: the stream it
/// was on and whether its I (ignore) flag was set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeError {
    /// What is wrong.
    pub kind: DecodeErrorKind,
    /// The stream id from the header (0 if the header itself was cut short).
    pub stream: u32,
    /// The I flag: the frame may be dropped without an answer.
    pub ignore: bool,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            DecodeErrorKind::TooShort => f.write_str("frame too short")?,
            DecodeErrorKind::UnknownType(code) => write!(f, "unknown frame type {code:#x}")?,
            DecodeErrorKind::MetadataLength => f.write_str("metadata length past the frame")?,
            DecodeErrorKind::InvalidField(what) => write!(f, "invalid {what}")?,
        }
        write!(f, " (stream {})", self.stream)
    }
}

impl core::error::Error for DecodeError {}

/// Reads fields off a frame body, failing with [`DecodeErrorKind::TooShort`] past its end.
struct Fields {
    body: Bytes,
}

impl Fields {
    fn need(&self, n: usize) -> Result<(), DecodeErrorKind> {
        if self.body.remaining() < n {
            return Err(DecodeErrorKind::TooShort);
        }
        Ok(())
    }

    fn u8(&mut self) -> Result<u8, DecodeErrorKind> {
        self.need(1)?;
        Ok(self.body.get_u8())
    }

    fn u16(&mut self) -> Result<u16, DecodeErrorKind> {
        self.need(2)?;
        Ok(self.body.get_u16())
    }

    fn u24(&mut self) -> Result<usize, DecodeErrorKind> {
        self.need(3)?;
        Ok(self.body.get_uint(3) as usize)
    }

    fn u32(&mut self) -> Result<u32, DecodeErrorKind> {
        self.need(4)?;
        Ok(self.body.get_u32())
    }

    fn u64(&mut self) -> Result<u64, DecodeErrorKind> {
        self.need(8)?;
        Ok(self.body.get_u64())
    }

    /// A 31-bit field that must be positive.
    fn positive31(&mut self, what: &'static str) -> Result<u32, DecodeErrorKind> {
        match self.u32()? & 0x7FFF_FFFF {
            0 => Err(DecodeErrorKind::InvalidField(what)),
            n => Ok(n),
        }
    }

    fn bytes(&mut self, n: usize) -> Result<Bytes, DecodeErrorKind> {
        self.need(n)?;
        Ok(self.body.split_to(n))
    }

    /// A u8-length-prefixed ASCII string (SETUP's MIME types).
    fn ascii8(&mut self, what: &'static str) -> Result<String, DecodeErrorKind> {
        let len = usize::from(self.u8()?);
        let raw = self.bytes(len)?;
        if !raw.is_ascii() {
            return Err(DecodeErrorKind::InvalidField(what));
        }
        Ok(raw.iter().map(|&b| char::from(b)).collect())
    }

    /// The rest as a payload: with M, a 24-bit metadata length, the metadata, then data.
    fn payload(mut self, metadata: bool) -> Result<Payload, DecodeErrorKind> {
        let metadata = if metadata {
            let len = self.u24()?;
            if len > self.body.remaining() {
                return Err(DecodeErrorKind::MetadataLength);
            }
            Some(self.body.split_to(len))
        } else {
            None
        };
        Ok(Payload {
            metadata,
            data: self.body,
        })
    }

    fn rest(self) -> Bytes {
        self.body
    }
}

impl Frame {
    /// Decodes one frame, `frame` being exactly its bytes (the length prefix, if the
    /// transport has one, already removed).
    pub fn decode(frame: Bytes) -> Result<Frame, DecodeError> {
        if frame.len() < 6 {
            return Err(DecodeError {
                kind: DecodeErrorKind::TooShort,
                stream: 0,
                ignore: false,
            });
        }
        let mut fields = Fields { body: frame };
        // The reserved top bit of the stream id is ignored rather than refused (§1.11).
        let stream = fields.body.get_u32() & 0x7FFF_FFFF;
        let word = fields.body.get_u16();
        let (code, flag_bits) = ((word >> 10) as u8, word & 0x3FF);
        let ignore = flag_bits & flags::IGNORE != 0;
        decode_body(stream, code, flag_bits, fields).map_err(|kind| DecodeError {
            kind,
            stream,
            ignore,
        })
    }
}

fn decode_body(
    stream: u32,
    code: u8,
    bits: u16,
    mut fields: Fields,
) -> Result<Frame, DecodeErrorKind> {
    let has = |flag: u16| bits & flag != 0;
    let frame_type = FrameType::from_code(code).ok_or(DecodeErrorKind::UnknownType(code))?;
    Ok(match frame_type {
        FrameType::Setup => {
            let version = (fields.u16()?, fields.u16()?);
            let keepalive_ms = fields.positive31("keepalive interval")?;
            let lifetime_ms = fields.positive31("max lifetime")?;
            let resume_token = if has(flags::RESUME) {
                let len = usize::from(fields.u16()?);
                Some(fields.bytes(len)?)
            } else {
                None
            };
            let metadata_mime = fields.ascii8("metadata MIME type")?;
            let data_mime = fields.ascii8("data MIME type")?;
            Frame::Setup(Setup {
                version,
                keepalive_ms,
                lifetime_ms,
                resume_token,
                lease: has(flags::LEASE),
                metadata_mime,
                data_mime,
                payload: fields.payload(has(flags::METADATA))?,
            })
        }
        FrameType::Lease => {
            let ttl_ms = fields.u32()? & 0x7FFF_FFFF;
            let requests = fields.u32()? & 0x7FFF_FFFF;
            let rest = fields.rest();
            Frame::Lease {
                ttl_ms,
                requests,
                metadata: has(flags::METADATA).then_some(rest),
            }
        }
        FrameType::Keepalive => Frame::Keepalive {
            respond: has(flags::RESPOND),
            last_position: fields.u64()? & 0x7FFF_FFFF_FFFF_FFFF,
            data: fields.rest(),
        },
        FrameType::RequestResponse | FrameType::RequestFnf => Frame::Request {
            stream,
            kind: if frame_type == FrameType::RequestResponse {
                RequestKind::Response
            } else {
                RequestKind::FireAndForget
            },
            follows: has(flags::FOLLOWS),
            payload: fields.payload(has(flags::METADATA))?,
        },
        FrameType::RequestStream => {
            let initial_n = fields.positive31("initial request-n")?;
            Frame::Request {
                stream,
                kind: RequestKind::Stream { initial_n },
                follows: has(flags::FOLLOWS),
                payload: fields.payload(has(flags::METADATA))?,
            }
        }
        FrameType::RequestChannel => {
            let initial_n = fields.positive31("initial request-n")?;
            Frame::Request {
                stream,
                kind: RequestKind::Channel {
                    initial_n,
                    complete: has(flags::COMPLETE),
                },
                follows: has(flags::FOLLOWS),
                payload: fields.payload(has(flags::METADATA))?,
            }
        }
        FrameType::RequestN => Frame::RequestN {
            stream,
            n: fields.positive31("request-n")?,
        },
        FrameType::Cancel => Frame::Cancel { stream },
        FrameType::Payload => Frame::Payload {
            stream,
            follows: has(flags::FOLLOWS),
            complete: has(flags::COMPLETE),
            next: has(flags::NEXT),
            payload: fields.payload(has(flags::METADATA))?,
        },
        FrameType::Error => {
            let code = ErrorCode(fields.u32()?);
            let message = String::from_utf8_lossy(&fields.rest()).into_owned();
            Frame::Error {
                stream,
                code,
                message,
            }
        }
        // The body is metadata whatever M says: rsocket-js sends it with M clear (§4).
        FrameType::MetadataPush => Frame::MetadataPush {
            metadata: fields.rest(),
        },
        FrameType::Resume => {
            let version = (fields.u16()?, fields.u16()?);
            let len = usize::from(fields.u16()?);
            let token = fields.bytes(len)?;
            Frame::Resume {
                version,
                token,
                last_received_server_position: fields.u64()?,
                first_available_client_position: fields.u64()?,
            }
        }
        FrameType::ResumeOk => Frame::ResumeOk {
            last_received_client_position: fields.u64()?,
        },
        FrameType::Ext => {
            let extended_type = fields.positive31("extended type")?;
            Frame::Ext {
                stream,
                ignore: has(flags::IGNORE),
                metadata: has(flags::METADATA),
                extended_type,
                body: fields.rest(),
            }
        }
    })
}
