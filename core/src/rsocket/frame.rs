//! RSocket frames as values: the header's type and flags, payloads, and one variant per
//! frame type (RSocket 1.0, "Frame Types").

use alloc::string::String;
use bytes::Bytes;

use super::ErrorCode;

/// The largest frame on any transport, header included (24-bit lengths).
pub const MAX_FRAME_LEN: usize = 0xFF_FFFF;

/// The largest request-n, which every implementation treats as unbounded.
pub const MAX_REQUEST_N: u32 = 0x7FFF_FFFF;

/// The largest stream id (31 bits).
pub const MAX_STREAM_ID: u32 = 0x7FFF_FFFF;

/// The frame header's 6 bits of type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FrameType {
    /// Connection setup, client to server.
    Setup,
    /// A lease grant.
    Lease,
    /// Keepalive, with or without a request to respond.
    Keepalive,
    /// Request-response.
    RequestResponse,
    /// Fire-and-forget.
    RequestFnf,
    /// Request-stream.
    RequestStream,
    /// Request-channel.
    RequestChannel,
    /// More credit for a stream.
    RequestN,
    /// Cancel a stream.
    Cancel,
    /// A payload (next, complete, or both) or a fragment.
    Payload,
    /// An error, on a stream or the connection.
    Error,
    /// Connection-level metadata.
    MetadataPush,
    /// Resume a connection.
    Resume,
    /// Resumption accepted.
    ResumeOk,
    /// An extension frame.
    Ext,
}

impl FrameType {
    /// The type for a wire code, or `None` for a code the spec does not define.
    pub const fn from_code(code: u8) -> Option<FrameType> {
        Some(match code {
            0x01 => FrameType::Setup,
            0x02 => FrameType::Lease,
            0x03 => FrameType::Keepalive,
            0x04 => FrameType::RequestResponse,
            0x05 => FrameType::RequestFnf,
            0x06 => FrameType::RequestStream,
            0x07 => FrameType::RequestChannel,
            0x08 => FrameType::RequestN,
            0x09 => FrameType::Cancel,
            0x0A => FrameType::Payload,
            0x0B => FrameType::Error,
            0x0C => FrameType::MetadataPush,
            0x0D => FrameType::Resume,
            0x0E => FrameType::ResumeOk,
            0x3F => FrameType::Ext,
            _ => return None,
        })
    }

    /// The wire code.
    pub const fn code(self) -> u8 {
        match self {
            FrameType::Setup => 0x01,
            FrameType::Lease => 0x02,
            FrameType::Keepalive => 0x03,
            FrameType::RequestResponse => 0x04,
            FrameType::RequestFnf => 0x05,
            FrameType::RequestStream => 0x06,
            FrameType::RequestChannel => 0x07,
            FrameType::RequestN => 0x08,
            FrameType::Cancel => 0x09,
            FrameType::Payload => 0x0A,
            FrameType::Error => 0x0B,
            FrameType::MetadataPush => 0x0C,
            FrameType::Resume => 0x0D,
            FrameType::ResumeOk => 0x0E,
            FrameType::Ext => 0x3F,
        }
    }
}

/// Flag bits within the 16-bit type-and-flags word.
pub mod flags {
    /// I: a receiver that does not understand the frame may drop it.
    pub const IGNORE: u16 = 0x200;
    /// M: metadata is present.
    pub const METADATA: u16 = 0x100;
    /// F: more fragments follow.
    pub const FOLLOWS: u16 = 0x080;
    /// C: the stream (or the requester's side of a channel) is complete.
    pub const COMPLETE: u16 = 0x040;
    /// N: the payload is a next item.
    pub const NEXT: u16 = 0x020;
    /// R in SETUP: resumption is enabled.
    pub const RESUME: u16 = 0x080;
    /// L in SETUP: lease is honoured.
    pub const LEASE: u16 = 0x040;
    /// R in KEEPALIVE: the receiver must answer.
    pub const RESPOND: u16 = 0x080;
}

/// Data and optional metadata, shared with the frame they came in (no copy).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Payload {
    /// Metadata, if the frame had the M flag.
    pub metadata: Option<Bytes>,
    /// Data.
    pub data: Bytes,
}

impl Payload {
    /// A payload with data and no metadata.
    pub fn data(data: impl Into<Bytes>) -> Payload {
        Payload {
            metadata: None,
            data: data.into(),
        }
    }

    /// A payload with data and metadata.
    pub fn with_metadata(data: impl Into<Bytes>, metadata: impl Into<Bytes>) -> Payload {
        Payload {
            metadata: Some(metadata.into()),
            data: data.into(),
        }
    }

    /// Bytes the payload takes in a frame: metadata (with its 24-bit length) and data.
    pub fn encoded_len(&self) -> usize {
        self.metadata.as_ref().map_or(0, |m| 3 + m.len()) + self.data.len()
    }
}

/// A SETUP frame's contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setup {
    /// Protocol version, major and minor (1.0).
    pub version: (u16, u16),
    /// How often the client sends KEEPALIVE, in milliseconds (31 bits, > 0).
    pub keepalive_ms: u32,
    /// How long without any frame before the peer is considered dead (31 bits, > 0).
    pub lifetime_ms: u32,
    /// The resume token, present when the R flag is set.
    pub resume_token: Option<Bytes>,
    /// The L flag: the client will honour leases.
    pub lease: bool,
    /// The metadata MIME type (ASCII, at most 255 bytes).
    pub metadata_mime: String,
    /// The data MIME type (ASCII, at most 255 bytes).
    pub data_mime: String,
    /// The setup payload.
    pub payload: Payload,
}

/// Which interaction a request frame opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestKind {
    /// REQUEST_RESPONSE.
    Response,
    /// REQUEST_FNF.
    FireAndForget,
    /// REQUEST_STREAM with its initial credit.
    Stream {
        /// Items the responder may send before more credit.
        initial_n: u32,
    },
    /// REQUEST_CHANNEL with its initial credit.
    Channel {
        /// Items the responder may send before more credit.
        initial_n: u32,
        /// C: the requester's side is complete already.
        complete: bool,
    },
}

impl RequestKind {
    /// The frame type carrying this request.
    pub const fn frame_type(self) -> FrameType {
        match self {
            RequestKind::Response => FrameType::RequestResponse,
            RequestKind::FireAndForget => FrameType::RequestFnf,
            RequestKind::Stream { .. } => FrameType::RequestStream,
            RequestKind::Channel { .. } => FrameType::RequestChannel,
        }
    }
}

/// One RSocket frame.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Frame {
    /// SETUP (stream 0).
    Setup(Setup),
    /// LEASE (stream 0).
    Lease {
        /// How long the lease is valid, in milliseconds (31 bits).
        ttl_ms: u32,
        /// Requests allowed within it (31 bits).
        requests: u32,
        /// Optional metadata (no length field on the wire).
        metadata: Option<Bytes>,
    },
    /// KEEPALIVE (stream 0).
    Keepalive {
        /// R: the receiver must answer with the same data.
        respond: bool,
        /// The sender's last received position (0 without resumption; 63 bits).
        last_position: u64,
        /// Data, echoed back in the answer.
        data: Bytes,
    },
    /// A REQUEST_* frame.
    Request {
        /// The new stream's id.
        stream: u32,
        /// The interaction.
        kind: RequestKind,
        /// F: fragments of this request follow as PAYLOAD frames.
        follows: bool,
        /// The request payload (or its first fragment).
        payload: Payload,
    },
    /// REQUEST_N.
    RequestN {
        /// The stream.
        stream: u32,
        /// More items allowed (31 bits, > 0).
        n: u32,
    },
    /// CANCEL.
    Cancel {
        /// The stream.
        stream: u32,
    },
    /// PAYLOAD.
    Payload {
        /// The stream.
        stream: u32,
        /// F: more fragments follow.
        follows: bool,
        /// C: the stream (or this side of a channel) is complete.
        complete: bool,
        /// N: this is a next item.
        next: bool,
        /// The item (or fragment).
        payload: Payload,
    },
    /// ERROR.
    Error {
        /// The stream, or 0 for the connection.
        stream: u32,
        /// The code.
        code: ErrorCode,
        /// The message (UTF-8 on the wire; invalid bytes are replaced).
        message: String,
    },
    /// METADATA_PUSH (stream 0).
    MetadataPush {
        /// The metadata.
        metadata: Bytes,
    },
    /// RESUME (stream 0).
    Resume {
        /// Protocol version.
        version: (u16, u16),
        /// The token from SETUP.
        token: Bytes,
        /// The last server position the client received.
        last_received_server_position: u64,
        /// The first client position the client still has.
        first_available_client_position: u64,
    },
    /// RESUME_OK (stream 0).
    ResumeOk {
        /// The last client position the server received.
        last_received_client_position: u64,
    },
    /// EXT.
    Ext {
        /// The stream.
        stream: u32,
        /// I: drop it if not understood.
        ignore: bool,
        /// M: the body starts with metadata (kept raw in `body`).
        metadata: bool,
        /// The extended type (31 bits, > 0).
        extended_type: u32,
        /// Everything after the extended type.
        body: Bytes,
    },
}

impl Frame {
    /// The stream the frame belongs to (0 for the connection).
    pub fn stream(&self) -> u32 {
        match self {
            Frame::Request { stream, .. }
            | Frame::RequestN { stream, .. }
            | Frame::Cancel { stream }
            | Frame::Payload { stream, .. }
            | Frame::Error { stream, .. }
            | Frame::Ext { stream, .. } => *stream,
            _ => 0,
        }
    }

    /// The frame's type.
    pub fn frame_type(&self) -> FrameType {
        match self {
            Frame::Setup(_) => FrameType::Setup,
            Frame::Lease { .. } => FrameType::Lease,
            Frame::Keepalive { .. } => FrameType::Keepalive,
            Frame::Request { kind, .. } => kind.frame_type(),
            Frame::RequestN { .. } => FrameType::RequestN,
            Frame::Cancel { .. } => FrameType::Cancel,
            Frame::Payload { .. } => FrameType::Payload,
            Frame::Error { .. } => FrameType::Error,
            Frame::MetadataPush { .. } => FrameType::MetadataPush,
            Frame::Resume { .. } => FrameType::Resume,
            Frame::ResumeOk { .. } => FrameType::ResumeOk,
            Frame::Ext { .. } => FrameType::Ext,
        }
    }
}
