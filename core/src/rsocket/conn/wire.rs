//! The transport side of a connection: how frames come in and go out, with the buffers
//! that way needs and no others.

use alloc::collections::VecDeque;
use bytes::{Bytes, BytesMut};

use super::config::Framing;
use crate::rsocket::{Frame, FrameReader};

/// The buffers of one framing (see [`Framing`]).
#[derive(Debug)]
pub(crate) enum Wire {
    /// Byte streams: length-prefixed frames are cut from the input and written to one
    /// output buffer.
    Stream { reader: FrameReader, out: BytesMut },
    /// Message transports: each input is one frame, and each frame is one transmit.
    Frames {
        out: VecDeque<Bytes>,
        /// Bytes in `out`.
        len: usize,
    },
}

impl Wire {
    /// The buffers for `framing`; a byte stream refuses frames over `max_frame` bytes.
    pub(crate) fn new(framing: Framing, max_frame: usize) -> Wire {
        match framing {
            Framing::LengthPrefixed => Wire::Stream {
                reader: FrameReader::new(max_frame),
                out: BytesMut::new(),
            },
            Framing::Frames => Wire::Frames {
                out: VecDeque::new(),
                len: 0,
            },
        }
    }

    /// A byte stream's frame reader; `None` on a message transport.
    pub(crate) fn reader(&mut self) -> Option<&mut FrameReader> {
        match self {
            Wire::Stream { reader, .. } => Some(reader),
            Wire::Frames { .. } => None,
        }
    }

    /// Queues one frame (already cut to the frame limit) for transmission.
    pub(crate) fn put(&mut self, frame: &Frame) {
        match self {
            Wire::Stream { out, .. } => frame.encode_prefixed(out),
            Wire::Frames { out, len } => {
                let mut one = BytesMut::with_capacity(frame.encoded_len());
                frame.encode(&mut one);
                *len += one.len();
                out.push_back(one.freeze());
            }
        }
    }

    /// The next transmit: one frame, or every queued byte of a stream.
    pub(crate) fn take(&mut self) -> Option<Bytes> {
        match self {
            Wire::Stream { out, .. } => (!out.is_empty()).then(|| out.split().freeze()),
            Wire::Frames { out, len } => {
                let frame = out.pop_front()?;
                *len -= frame.len();
                Some(frame)
            }
        }
    }

    /// Bytes waiting to be transmitted.
    pub(crate) fn buffered(&self) -> usize {
        match self {
            Wire::Stream { out, .. } => out.len(),
            Wire::Frames { len, .. } => *len,
        }
    }

    /// Drops what waits to be transmitted.
    pub(crate) fn clear(&mut self) {
        match self {
            Wire::Stream { out, .. } => out.clear(),
            Wire::Frames { out, len } => {
                out.clear();
                *len = 0;
            }
        }
    }
}
