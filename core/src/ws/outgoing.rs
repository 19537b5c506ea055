//! [`Outgoing`]: the frames waiting for `poll_transmit`.
//!
//! Frames are written into one buffer, which `poll_transmit` hands out whole (or which a
//! driver writing at once borrows with `lend_transmit`, sparing the hand-out). A large
//! unmasked payload (a server's) is not copied: the buffer so far, with the payload's
//! header at its end, is sealed off as one chunk and the payload's own `Bytes` follows it
//! as the next, so that a driver that writes several transmits at once (vectored) sends
//! header and payload in one system call without the copy.

use alloc::boxed::Box;
use alloc::collections::VecDeque;

use bytes::{Bytes, BytesMut};

/// Payloads at least this long are queued as they came rather than copied: below it the
/// copy costs less than a chunk of its own.
pub(crate) const SHARE_MIN: usize = 4096;

/// The bytes to transmit, in order.
#[derive(Debug)]
pub(crate) enum Outgoing {
    /// All of them in one buffer: no payload was ever shared.
    Buffered(BytesMut),
    /// Chunks, then a buffer (boxed the first time a payload is shared, then kept).
    Chunked(Box<Chunked>),
}

/// Sealed chunks to transmit before the buffer.
#[derive(Debug, Default)]
pub(crate) struct Chunked {
    chunks: VecDeque<Bytes>,
    /// Bytes in `chunks`.
    chunks_len: usize,
    buf: BytesMut,
}

impl Chunked {
    /// Moves the buffer's bytes to the end of the chunks.
    fn seal(&mut self) {
        if !self.buf.is_empty() {
            let sealed = self.buf.split().freeze();
            self.push(sealed);
        }
    }

    fn push(&mut self, chunk: Bytes) {
        self.chunks_len += chunk.len();
        self.chunks.push_back(chunk);
    }
}

impl Default for Outgoing {
    fn default() -> Self {
        Outgoing::Buffered(BytesMut::new())
    }
}

impl Outgoing {
    /// The buffer the next frame is written into, after everything queued.
    pub(crate) fn buf(&mut self) -> &mut BytesMut {
        match self {
            Outgoing::Buffered(buf) => buf,
            Outgoing::Chunked(chunked) => &mut chunked.buf,
        }
    }

    /// Queues `payload` after what the buffer holds (its header, last), without copying.
    pub(crate) fn push_shared(&mut self, payload: Bytes) {
        if let Outgoing::Buffered(buf) = self {
            let buf = core::mem::take(buf);
            *self = Outgoing::Chunked(Box::new(Chunked {
                buf,
                ..Chunked::default()
            }));
        }
        if let Outgoing::Chunked(chunked) = self {
            chunked.seal();
            chunked.push(payload);
        }
    }

    /// Bytes waiting.
    pub(crate) fn len(&self) -> usize {
        match self {
            Outgoing::Buffered(buf) => buf.len(),
            Outgoing::Chunked(chunked) => chunked.chunks_len + chunked.buf.len(),
        }
    }

    /// Whether nothing waits.
    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The next bytes to transmit: the oldest chunk, or else the whole buffer.
    pub(crate) fn next(&mut self) -> Option<Bytes> {
        let buf = match self {
            Outgoing::Buffered(buf) => buf,
            Outgoing::Chunked(chunked) => match chunked.chunks.pop_front() {
                Some(chunk) => {
                    chunked.chunks_len -= chunk.len();
                    return Some(chunk);
                }
                None => &mut chunked.buf,
            },
        };
        (!buf.is_empty()).then(|| buf.split().freeze())
    }

    /// Everything waiting, when it is one buffer (no shared payload is queued), to be
    /// written in place.
    pub(crate) fn lend(&self) -> Option<&[u8]> {
        match self {
            Outgoing::Buffered(buf) if !buf.is_empty() => Some(buf),
            Outgoing::Chunked(chunked) if chunked.chunks.is_empty() && !chunked.buf.is_empty() => {
                Some(&chunked.buf)
            }
            _ => None,
        }
    }

    /// The first `n` bytes of what [`lend`](Outgoing::lend) lent were written.
    pub(crate) fn advance_lent(&mut self, n: usize) {
        bytes::Buf::advance(self.buf(), n);
    }

    /// Bytes of state kept on the heap besides the buffers (for the memory budget).
    #[cfg(test)]
    pub(crate) fn boxed_state(&self) -> usize {
        match self {
            Outgoing::Buffered(_) => 0,
            Outgoing::Chunked(_) => core::mem::size_of::<Chunked>(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    fn drain(outgoing: &mut Outgoing) -> Vec<Bytes> {
        core::iter::from_fn(|| outgoing.next()).collect()
    }

    #[test]
    fn shared_payloads_keep_their_place_between_buffered_bytes() {
        let mut outgoing = Outgoing::default();
        outgoing.buf().extend_from_slice(b"ab");
        let payload = Bytes::from(alloc::vec![7u8; 5]);
        outgoing.push_shared(payload.clone());
        outgoing.buf().extend_from_slice(b"cd");
        outgoing.push_shared(Bytes::from_static(b"ef"));
        outgoing.push_shared(Bytes::from_static(b"gh"));
        outgoing.buf().extend_from_slice(b"ij");
        assert_eq!(outgoing.len(), 15);
        let chunks = drain(&mut outgoing);
        let flat: Vec<u8> = chunks.iter().flat_map(|c| c.iter().copied()).collect();
        assert_eq!(flat, b"ab\x07\x07\x07\x07\x07cdefghij");
        assert_eq!(
            chunks[1].as_ptr(),
            payload.as_ptr(),
            "the payload was not copied"
        );
        assert!(outgoing.is_empty());
        assert_eq!(outgoing.next(), None);
        outgoing.buf().extend_from_slice(b"k");
        assert_eq!(drain(&mut outgoing), [Bytes::from_static(b"k")]);
    }
}
