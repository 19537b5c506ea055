//! Collecting an HTTP head from chunks: find the blank line that ends it, under a limit.

use alloc::vec::Vec;

use memchr::memchr_iter;

/// The default head size limit, in bytes: large enough for browsers' cookies, small enough
/// that a slow or hostile peer cannot make a connection hold much memory.
pub const DEFAULT_MAX_HEAD: usize = 16 * 1024;

/// The most header fields a head may have; more is answered with 431.
pub const MAX_HEADERS: usize = 64;

/// Collects the bytes of one HTTP head as they arrive, in any chunking.
///
/// Each byte is scanned once: a feed looks for the end only in the bytes it brings (reaching
/// back at most two bytes into earlier ones), and copies only the bytes of the head. The head ends at the first empty line: CRLF
/// CRLF, or a bare LF in either place, which RFC 9112 §2.2 lets a recipient accept and
/// which `httparse` accepts too, so the boundary found here is the one the parser sees.
///
/// The buffer never holds more than the limit. Bytes after the head are never copied: they
/// come back as a slice of the caller's input.
#[derive(Debug, Clone)]
pub struct HeadBuffer {
    buf: Vec<u8>,
    limit: usize,
    /// The limit was hit; absorbing, so every later feed says so again.
    overflowed: bool,
}

/// The outcome of [`HeadBuffer::feed`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
#[non_exhaustive]
pub enum Feed<'a> {
    /// All the input was taken and the head is not complete yet.
    Partial,
    /// The head is complete.
    Complete {
        /// The whole head, from the first byte through the blank line.
        head: Vec<u8>,
        /// The input after the head, untouched: the first bytes of whatever follows
        /// (WebSocket frames after an upgrade).
        leftover: &'a [u8],
    },
    /// The head reached the limit without ending. The buffered bytes were dropped; this is
    /// a [`HandshakeError::HeadTooLarge`](super::HandshakeError::HeadTooLarge), which a server answers with 431.
    TooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
}

impl Default for HeadBuffer {
    fn default() -> Self {
        HeadBuffer::new(DEFAULT_MAX_HEAD)
    }
}

impl HeadBuffer {
    /// An empty buffer for heads of at most `limit` bytes, the blank line included.
    pub fn new(limit: usize) -> Self {
        HeadBuffer {
            buf: Vec::new(),
            limit,
            overflowed: false,
        }
    }

    /// The limit, in bytes.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// How many bytes of an incomplete head are buffered.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Adds `data`. After [`Feed::Complete`] the buffer is empty again, ready for another
    /// head; after [`Feed::TooLarge`] it stays failed.
    pub fn feed<'a>(&mut self, data: &'a [u8]) -> Feed<'a> {
        if self.overflowed {
            return Feed::TooLarge { limit: self.limit };
        }
        let room = self.limit.saturating_sub(self.buf.len());
        let window = &data[..data.len().min(room)];
        if let Some(end) = find_end(&self.buf, window) {
            self.buf.extend_from_slice(&window[..end]);
            let head = core::mem::take(&mut self.buf);
            return Feed::Complete {
                head,
                leftover: &data[end..],
            };
        }
        self.buf.extend_from_slice(window);
        if self.buf.len() >= self.limit {
            self.overflowed = true;
            self.buf = Vec::new();
            return Feed::TooLarge { limit: self.limit };
        }
        Feed::Partial
    }
}

/// Where the head ends in `data`, which follows the `before` bytes already buffered: the
/// index just past the LF that ends the first empty line, if `data` holds it.
fn find_end(before: &[u8], data: &[u8]) -> Option<usize> {
    // The byte `back` places before `data[i]`, reaching into `before` if need be.
    let byte_before = |i: usize, back: usize| match i.checked_sub(back) {
        Some(j) => Some(data[j]),
        None => before.len().checked_sub(back - i).map(|j| before[j]),
    };
    memchr_iter(b'\n', data)
        .find(|&lf| {
            // This LF ends an empty line if the line began right after another LF, with at
            // most a CR in between.
            match byte_before(lf, 1) {
                Some(b'\n') => true,
                Some(b'\r') => byte_before(lf, 2) == Some(b'\n'),
                _ => false,
            }
        })
        .map(|lf| lf + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &[u8] = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n";

    /// Feeds `chunks` in order; the head and every byte after it.
    fn feed_all(buffer: &mut HeadBuffer, chunks: &[&[u8]]) -> Option<(Vec<u8>, Vec<u8>)> {
        let mut done: Option<(Vec<u8>, Vec<u8>)> = None;
        for chunk in chunks {
            if let Some((_, rest)) = done.as_mut() {
                rest.extend_from_slice(chunk);
                continue;
            }
            match buffer.feed(chunk) {
                Feed::Partial => {}
                Feed::Complete { head, leftover } => done = Some((head, leftover.to_vec())),
                Feed::TooLarge { limit } => panic!("too large ({limit})"),
            }
        }
        done
    }

    #[test]
    fn whole_byte_by_byte_and_with_trailing_bytes() {
        let mut with_trailing = HEAD.to_vec();
        with_trailing.extend_from_slice(b"\x81\x00rest");
        for input in [HEAD, &with_trailing[..]] {
            let expected_leftover = &input[HEAD.len()..];
            let whole = feed_all(&mut HeadBuffer::default(), &[input]);
            assert_eq!(whole, Some((HEAD.to_vec(), expected_leftover.to_vec())));
            let bytes: Vec<&[u8]> = input.chunks(1).collect();
            let by_byte = feed_all(&mut HeadBuffer::default(), &bytes);
            assert_eq!(by_byte, Some((HEAD.to_vec(), expected_leftover.to_vec())));
        }
    }

    #[cfg(feature = "testing")]
    #[test]
    fn every_chunking() {
        use crate::testing::vectors::check_decode;
        check_decode(
            HEAD,
            b"\x88\x02\x03\xe8",
            &Some(HEAD.to_vec()),
            |chunks| match feed_all(&mut HeadBuffer::default(), chunks) {
                Some((head, rest)) => (Some(head), rest),
                None => (None, Vec::new()),
            },
        );
    }

    #[test]
    fn partial_until_the_blank_line() {
        let mut buffer = HeadBuffer::default();
        assert_eq!(buffer.feed(&HEAD[..HEAD.len() - 1]), Feed::Partial);
        assert_eq!(buffer.buffered(), HEAD.len() - 1);
        assert!(matches!(
            buffer.feed(b"\n"),
            Feed::Complete { leftover: [], .. }
        ));
        assert_eq!(buffer.buffered(), 0);
    }

    #[test]
    fn bare_line_feeds_end_a_head() {
        for head in [
            &b"GET / HTTP/1.1\nHost: a\n\n"[..],
            b"GET / HTTP/1.1\nHost: a\n\r\n",
        ] {
            let got = feed_all(&mut HeadBuffer::default(), &[head, b"x"]);
            assert_eq!(got, Some((head.to_vec(), b"x".to_vec())));
        }
    }

    #[test]
    fn a_lone_carriage_return_does_not_end_a_head() {
        let mut buffer = HeadBuffer::default();
        assert_eq!(
            buffer.feed(b"GET / HTTP/1.1\r\r\nHost: a\r\n"),
            Feed::Partial
        );
    }

    #[test]
    fn a_head_exactly_at_the_limit_completes() {
        let mut buffer = HeadBuffer::new(HEAD.len());
        let input = [HEAD, b"more"].concat();
        let got = buffer.feed(&input);
        let head = HEAD.to_vec();
        assert_eq!(
            got,
            Feed::Complete {
                head,
                leftover: b"more"
            }
        );
    }

    #[test]
    fn one_byte_over_the_limit_is_too_large_and_stays_so() {
        let mut buffer = HeadBuffer::new(HEAD.len() - 1);
        for b in &HEAD[..HEAD.len() - 2] {
            assert_eq!(buffer.feed(core::slice::from_ref(b)), Feed::Partial);
        }
        let limit = HEAD.len() - 1;
        assert_eq!(
            buffer.feed(&HEAD[HEAD.len() - 2..]),
            Feed::TooLarge { limit }
        );
        assert_eq!(buffer.buffered(), 0);
        assert_eq!(buffer.feed(b"\r\n\r\n"), Feed::TooLarge { limit });
        assert_eq!(buffer.feed(b""), Feed::TooLarge { limit });
    }

    #[test]
    fn reads_a_second_head_after_the_first() {
        let mut buffer = HeadBuffer::default();
        let two = [HEAD, HEAD].concat();
        let Feed::Complete { leftover, .. } = buffer.feed(&two) else {
            panic!("first head incomplete");
        };
        assert!(matches!(
            buffer.feed(leftover),
            Feed::Complete { leftover: [], .. }
        ));
    }
}
