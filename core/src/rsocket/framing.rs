//! Byte-stream framing (TCP): each frame preceded by its 24-bit length. [`FrameReader`]
//! cuts frames out of arbitrarily chunked input without copying them again.

use bytes::{Buf, Bytes, BytesMut};

/// A frame length beyond the reader's limit: the stream cannot be read further.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameTooLong {
    /// The length the prefix announced.
    pub len: usize,
    /// The reader's limit.
    pub max: usize,
}

/// Collects length-prefixed frames from a byte stream.
#[derive(Debug)]
pub struct FrameReader {
    buf: BytesMut,
    max_frame: usize,
}

impl FrameReader {
    /// A reader that refuses frames longer than `max_frame` bytes (at most 16 MiB - 1).
    pub fn new(max_frame: usize) -> FrameReader {
        FrameReader {
            buf: BytesMut::new(),
            max_frame: max_frame.min(super::MAX_FRAME_LEN),
        }
    }

    /// Bytes held: a partial frame (or its prefix).
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Takes input bytes.
    pub fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// The next complete frame, without its prefix; `Ok(None)` until one is complete.
    pub fn next_frame(&mut self) -> Result<Option<Bytes>, FrameTooLong> {
        if self.buf.len() < 3 {
            return Ok(None);
        }
        let len = (usize::from(self.buf[0]) << 16)
            | (usize::from(self.buf[1]) << 8)
            | usize::from(self.buf[2]);
        if len > self.max_frame {
            return Err(FrameTooLong {
                len,
                max: self.max_frame,
            });
        }
        if self.buf.len() < 3 + len {
            self.buf.reserve(3 + len - self.buf.len());
            return Ok(None);
        }
        self.buf.advance(3);
        Ok(Some(self.buf.split_to(len).freeze()))
    }
}
