//! Encoding frames: exact lengths, flags only where the frame type defines them.

use bytes::{BufMut, BytesMut};

use super::frame::{Frame, FrameType, Payload, RequestKind, flags};

fn header(out: &mut BytesMut, stream: u32, frame_type: FrameType, bits: u16) {
    out.put_u32(stream & 0x7FFF_FFFF);
    out.put_u16((u16::from(frame_type.code()) << 10) | (bits & 0x3FF));
}

fn metadata_flag(payload: &Payload) -> u16 {
    if payload.metadata.is_some() {
        flags::METADATA
    } else {
        0
    }
}

fn put_payload(out: &mut BytesMut, payload: &Payload) {
    if let Some(metadata) = &payload.metadata {
        out.put_uint(metadata.len() as u64, 3);
        out.put_slice(metadata);
    }
    out.put_slice(&payload.data);
}

fn flag(set: bool, bit: u16) -> u16 {
    if set { bit } else { 0 }
}

impl Frame {
    /// The encoded length, header included and length prefix excluded.
    pub fn encoded_len(&self) -> usize {
        6 + match self {
            Frame::Setup(setup) => {
                12 + setup.resume_token.as_ref().map_or(0, |t| 2 + t.len())
                    + 1
                    + setup.metadata_mime.len()
                    + 1
                    + setup.data_mime.len()
                    + setup.payload.encoded_len()
            }
            Frame::Lease { metadata, .. } => 8 + metadata.as_ref().map_or(0, |m| m.len()),
            Frame::Keepalive { data, .. } => 8 + data.len(),
            Frame::Request { kind, payload, .. } => {
                let initial_n = match kind {
                    RequestKind::Stream { .. } | RequestKind::Channel { .. } => 4,
                    _ => 0,
                };
                initial_n + payload.encoded_len()
            }
            Frame::RequestN { .. } => 4,
            Frame::Cancel { .. } => 0,
            Frame::Payload { payload, .. } => payload.encoded_len(),
            Frame::Error { message, .. } => 4 + message.len(),
            Frame::MetadataPush { metadata } => metadata.len(),
            Frame::Resume { token, .. } => 6 + token.len() + 16,
            Frame::ResumeOk { .. } => 8,
            Frame::Ext { body, .. } => 4 + body.len(),
        }
    }

    /// Appends the frame (no length prefix) to `out`.
    pub fn encode(&self, out: &mut BytesMut) {
        out.reserve(self.encoded_len());
        match self {
            Frame::Setup(setup) => {
                let bits = flag(setup.resume_token.is_some(), flags::RESUME)
                    | flag(setup.lease, flags::LEASE)
                    | metadata_flag(&setup.payload);
                header(out, 0, FrameType::Setup, bits);
                out.put_u16(setup.version.0);
                out.put_u16(setup.version.1);
                out.put_u32(setup.keepalive_ms & 0x7FFF_FFFF);
                out.put_u32(setup.lifetime_ms & 0x7FFF_FFFF);
                if let Some(token) = &setup.resume_token {
                    out.put_u16(token.len() as u16);
                    out.put_slice(token);
                }
                out.put_u8(setup.metadata_mime.len() as u8);
                out.put_slice(setup.metadata_mime.as_bytes());
                out.put_u8(setup.data_mime.len() as u8);
                out.put_slice(setup.data_mime.as_bytes());
                put_payload(out, &setup.payload);
            }
            Frame::Lease {
                ttl_ms,
                requests,
                metadata,
            } => {
                header(
                    out,
                    0,
                    FrameType::Lease,
                    flag(metadata.is_some(), flags::METADATA),
                );
                out.put_u32(ttl_ms & 0x7FFF_FFFF);
                out.put_u32(requests & 0x7FFF_FFFF);
                if let Some(metadata) = metadata {
                    out.put_slice(metadata);
                }
            }
            Frame::Keepalive {
                respond,
                last_position,
                data,
            } => {
                header(out, 0, FrameType::Keepalive, flag(*respond, flags::RESPOND));
                out.put_u64(last_position & 0x7FFF_FFFF_FFFF_FFFF);
                out.put_slice(data);
            }
            Frame::Request {
                stream,
                kind,
                follows,
                payload,
            } => {
                let complete = matches!(kind, RequestKind::Channel { complete: true, .. });
                let bits = metadata_flag(payload)
                    | flag(*follows, flags::FOLLOWS)
                    | flag(complete, flags::COMPLETE);
                header(out, *stream, kind.frame_type(), bits);
                if let RequestKind::Stream { initial_n } | RequestKind::Channel { initial_n, .. } =
                    kind
                {
                    out.put_u32(initial_n & 0x7FFF_FFFF);
                }
                put_payload(out, payload);
            }
            Frame::RequestN { stream, n } => {
                header(out, *stream, FrameType::RequestN, 0);
                out.put_u32(n & 0x7FFF_FFFF);
            }
            Frame::Cancel { stream } => header(out, *stream, FrameType::Cancel, 0),
            Frame::Payload {
                stream,
                follows,
                complete,
                next,
                payload,
            } => {
                let bits = metadata_flag(payload)
                    | flag(*follows, flags::FOLLOWS)
                    | flag(*complete, flags::COMPLETE)
                    | flag(*next, flags::NEXT);
                header(out, *stream, FrameType::Payload, bits);
                put_payload(out, payload);
            }
            Frame::Error {
                stream,
                code,
                message,
            } => {
                header(out, *stream, FrameType::Error, 0);
                out.put_u32(code.0);
                out.put_slice(message.as_bytes());
            }
            Frame::MetadataPush { metadata } => {
                header(out, 0, FrameType::MetadataPush, flags::METADATA);
                out.put_slice(metadata);
            }
            Frame::Resume {
                version,
                token,
                last_received_server_position,
                first_available_client_position,
            } => {
                header(out, 0, FrameType::Resume, 0);
                out.put_u16(version.0);
                out.put_u16(version.1);
                out.put_u16(token.len() as u16);
                out.put_slice(token);
                out.put_u64(*last_received_server_position);
                out.put_u64(*first_available_client_position);
            }
            Frame::ResumeOk {
                last_received_client_position,
            } => {
                header(out, 0, FrameType::ResumeOk, 0);
                out.put_u64(*last_received_client_position);
            }
            Frame::Ext {
                stream,
                ignore,
                metadata,
                extended_type,
                body,
            } => {
                let bits = flag(*ignore, flags::IGNORE) | flag(*metadata, flags::METADATA);
                header(out, *stream, FrameType::Ext, bits);
                out.put_u32(extended_type & 0x7FFF_FFFF);
                out.put_slice(body);
            }
        }
    }

    /// Appends the frame with its 24-bit length prefix (byte-stream transports, TCP).
    ///
    /// # Panics
    /// If the frame is longer than [`MAX_FRAME_LEN`](super::MAX_FRAME_LEN): larger payloads
    /// must be fragmented first.
    pub fn encode_prefixed(&self, out: &mut BytesMut) {
        let len = self.encoded_len();
        assert!(
            len <= super::MAX_FRAME_LEN,
            "a {len}-byte frame needs fragmenting"
        );
        out.reserve(3 + len);
        out.put_uint(len as u64, 3);
        self.encode(out);
    }
}
