//! Line and delimiter reading with byte limits, resumable across chunks.

use alloc::vec::Vec;

use super::error::ChannelError;
use super::io::ByteSource;

/// Which bytes end a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LineEnding {
    /// LF or CRLF; a lone CR is data (Ktor's `LineEnding.Default`, what HTTP wants).
    #[default]
    Default,
    /// LF, CRLF or a lone CR (Ktor's `LineEnding.Lenient`).
    Lenient,
}

/// How a delimited read ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delimited {
    /// The delimiter was found and consumed; this many content bytes were appended.
    Found(usize),
    /// The channel ended after this many content bytes (at least one) without a delimiter.
    Eof(usize),
    /// The channel ended with no bytes at all.
    End,
}

/// The state of one line (or delimited record) being read: the bytes taken from the pipe so
/// far, kept here rather than in the caller's buffer so that an abandoned read (a dropped
/// future) loses nothing and the next call resumes where it stopped without rescanning.
#[derive(Debug, Default)]
pub struct LineReader {
    partial: Vec<u8>,
    /// Lenient mode ended the last line at a CR: an LF right after it belongs to that line.
    skip_lf: bool,
}

impl LineReader {
    /// A reader with nothing pending. Allocates nothing.
    pub const fn new() -> Self {
        LineReader {
            partial: Vec::new(),
            skip_lf: false,
        }
    }

    /// Bytes of an unfinished line held so far.
    pub fn pending(&self) -> usize {
        self.partial.len()
    }

    /// Reads one line from `pipe` (any [`ByteSource`]), appending its content (without the line ending) to `out`.
    ///
    /// `limit` counts content bytes; the ending is not counted. A line longer than that is
    /// [`ChannelError::TooLongLine`], never a silent split. A last line without an ending is
    /// returned as [`Delimited::Eof`]. [`ChannelError::Blocked`] means: wait for more bytes
    /// and call again with the same reader.
    pub fn read_line<S: ByteSource>(
        &mut self,
        pipe: &mut S,
        out: &mut Vec<u8>,
        limit: usize,
        ending: LineEnding,
    ) -> Result<Delimited, ChannelError> {
        if self.skip_lf {
            match pipe.available() {
                0 if !pipe.is_closed_for_read() => {
                    pipe.readable()?; // surfaces a cancellation
                    return Err(ChannelError::Blocked);
                }
                0 => self.skip_lf = false,
                _ => {
                    if pipe.byte_at(0) == b'\n' {
                        pipe.consume(1);
                    }
                    self.skip_lf = false;
                }
            }
        }
        match ending {
            LineEnding::Default => self.scan(pipe, out, limit, Scan::Lf),
            LineEnding::Lenient => self.scan(pipe, out, limit, Scan::LfOrCr),
        }
    }

    /// Reads up to a single-byte `delimiter`, appending the content (without the delimiter)
    /// to `out`. Same limit and resumption rules as [`read_line`](LineReader::read_line).
    pub fn read_until<S: ByteSource>(
        &mut self,
        pipe: &mut S,
        delimiter: u8,
        out: &mut Vec<u8>,
        limit: usize,
    ) -> Result<Delimited, ChannelError> {
        self.scan(pipe, out, limit, Scan::Byte(delimiter))
    }

    fn scan<S: ByteSource>(
        &mut self,
        pipe: &mut S,
        out: &mut Vec<u8>,
        limit: usize,
        scan: Scan,
    ) -> Result<Delimited, ChannelError> {
        let (first, second) = pipe.readable()?;
        let found = scan
            .find(first)
            .or_else(|| scan.find(second).map(|i| first.len() + i));
        match found {
            Some(at) => {
                let delimiter = if at < first.len() {
                    first[at]
                } else {
                    second[at - first.len()]
                };
                // Content is `partial` plus `at` new bytes, minus the CR of a CRLF.
                let strip_cr = scan.strips_cr()
                    && delimiter == b'\n'
                    && if at > 0 {
                        pipe.byte_at(at - 1) == b'\r'
                    } else {
                        self.partial.last() == Some(&b'\r')
                    };
                let content = self.partial.len() + at - usize::from(strip_cr);
                let too_long = content > limit;
                if !too_long {
                    let start = out.len();
                    out.extend_from_slice(&self.partial);
                    let (a, b) = pipe.readable()?;
                    out.extend_from_slice(&a[..at.min(a.len())]);
                    out.extend_from_slice(&b[..at.saturating_sub(a.len())]);
                    out.truncate(start + content);
                }
                self.partial.clear();
                pipe.consume(at + 1);
                if delimiter == b'\r' && scan.strips_cr() {
                    // Lenient lone CR: an LF right after it (now or later) is the same ending.
                    if pipe.available() > 0 {
                        if pipe.byte_at(0) == b'\n' {
                            pipe.consume(1);
                        }
                    } else {
                        self.skip_lf = true;
                    }
                }
                if too_long {
                    return Err(ChannelError::TooLongLine { limit });
                }
                Ok(Delimited::Found(content))
            }
            None => {
                let available = pipe.available();
                let last = match available {
                    0 => self.partial.last().copied(),
                    n => Some(pipe.byte_at(n - 1)),
                };
                // A trailing CR may still turn out to be half of a CRLF, so it does not count
                // yet; once the writer has closed, nothing can follow it and it is data.
                let trailing_cr =
                    matches!(scan, Scan::Lf) && last == Some(b'\r') && !pipe.is_ended();
                if self.partial.len() + available - usize::from(trailing_cr) > limit {
                    pipe.consume(available);
                    self.partial.clear();
                    return Err(ChannelError::TooLongLine { limit });
                }
                pipe.read_into_vec(&mut self.partial, available)?;
                if !pipe.is_closed_for_read() {
                    return Err(ChannelError::Blocked);
                }
                if self.partial.is_empty() {
                    return Ok(Delimited::End);
                }
                let content = self.partial.len();
                out.append(&mut self.partial);
                Ok(Delimited::Eof(content))
            }
        }
    }
}

#[derive(Clone, Copy)]
enum Scan {
    Lf,
    LfOrCr,
    Byte(u8),
}

impl Scan {
    fn find(self, haystack: &[u8]) -> Option<usize> {
        match self {
            Scan::Lf => memchr::memchr(b'\n', haystack),
            Scan::LfOrCr => memchr::memchr2(b'\n', b'\r', haystack),
            Scan::Byte(b) => memchr::memchr(b, haystack),
        }
    }

    fn strips_cr(self) -> bool {
        matches!(self, Scan::Lf | Scan::LfOrCr)
    }
}
