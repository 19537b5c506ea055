//! RSocket 1.0: frames, their codec and byte-stream framing.
//!
//! [`Frame`] has one variant per frame type; [`Frame::decode`] reads one frame from
//! `Bytes` without copying its payload, and [`Frame::encode`] (or
//! [`Frame::encode_prefixed`] for TCP) writes it back with exact lengths. [`FrameReader`]
//! cuts length-prefixed frames out of a byte stream in any chunking.
//!
//! ```
//! use bytes::BytesMut;
//! use wirestate_core::rsocket::{Frame, FrameReader, Payload, RequestKind};
//!
//! let request = Frame::Request {
//!     stream: 1,
//!     kind: RequestKind::Stream { initial_n: 2 },
//!     follows: false,
//!     payload: Payload::with_metadata("5", "route"),
//! };
//! let mut wire = BytesMut::new();
//! request.encode_prefixed(&mut wire);
//!
//! let mut reader = FrameReader::new(1 << 20);
//! reader.push(&wire);
//! let frame = reader.next_frame().unwrap().expect("a whole frame");
//! assert_eq!(Frame::decode(frame).unwrap(), request);
//! ```

pub mod conn;
mod decode;
mod encode;
mod error_code;
pub mod ext;
mod frame;
mod framing;

pub use conn::Connection;
pub use decode::{DecodeError, DecodeErrorKind};
pub use error_code::ErrorCode;
pub use frame::{
    Frame, FrameType, MAX_FRAME_LEN, MAX_REQUEST_N, MAX_STREAM_ID, Payload, RequestKind, Setup,
    flags,
};
pub use framing::{FrameReader, FrameTooLong};

#[cfg(test)]
mod tests;
