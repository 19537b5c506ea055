//! Incremental, fail-fast UTF-8 validation of text messages (RFC 6455 §8.1).
//!
//! A text message arrives in fragments, and each fragment in chunks split anywhere, even
//! inside a character. Autobahn (cases 6.x) checks that an endpoint fails the connection at
//! the first byte that cannot belong to valid UTF-8, not at the end of the frame or message.

use core::fmt;

use super::error::ProtocolError;

/// Where and how a text message stopped being valid UTF-8.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Utf8Error {
    position: u64,
    truncated: bool,
}

impl Utf8Error {
    /// The offset in the message of the first byte that cannot continue valid UTF-8, or the
    /// message length if it ended inside a character.
    pub const fn position(&self) -> u64 {
        self.position
    }

    /// Whether the message ended inside a character (every byte was otherwise valid).
    pub const fn is_truncated(&self) -> bool {
        self.truncated
    }
}

impl fmt::Display for Utf8Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.truncated {
            write!(f, "text ends inside a character at byte {}", self.position)
        } else {
            write!(f, "invalid UTF-8 at byte {}", self.position)
        }
    }
}

impl core::error::Error for Utf8Error {}

impl From<Utf8Error> for ProtocolError {
    fn from(_: Utf8Error) -> ProtocolError {
        ProtocolError::InvalidUtf8
    }
}

/// Validates one text message fed in chunks: [`feed`](Utf8Validator::feed) each chunk as it
/// arrives, then [`finish`](Utf8Validator::finish) at the end of the message.
///
/// `feed` fails on the chunk holding the first byte that no valid UTF-8 can have at that
/// point: overlong forms (0xC0 0x80), surrogates (0xED 0xA0 …), code points above U+10FFFF
/// (0xF4 0x90 …), stray or missing continuation bytes. The bulk of each chunk goes through
/// `core::str::from_utf8`; only a character cut by a chunk boundary is carried over (at most
/// three bytes).
#[derive(Debug, Clone, Default)]
pub struct Utf8Validator {
    /// The start of a character cut off by the end of the last chunk.
    pending: [u8; 4],
    /// How many bytes of `pending` are in use: 0 to 3 (a `u8`: validators live in every
    /// connection's receiving state).
    pending_len: u8,
    /// Bytes of the message fed so far, `pending` included.
    seen: u64,
    /// The first error; once set, every call reports it until the message ends.
    failed: Option<Utf8Error>,
}

impl Utf8Validator {
    /// A validator at the start of a message.
    pub const fn new() -> Utf8Validator {
        Utf8Validator {
            pending: [0; 4],
            pending_len: 0,
            seen: 0,
            failed: None,
        }
    }

    /// Checks the next chunk of the message. Fails if the bytes seen so far cannot be the
    /// start of valid UTF-8; after that, every call fails the same way until
    /// [`finish`](Utf8Validator::finish) or [`reset`](Utf8Validator::reset).
    #[inline]
    pub fn feed(&mut self, chunk: &[u8]) -> Result<(), Utf8Error> {
        if let Some(error) = self.failed {
            return Err(error);
        }
        let chunk_start = self.seen;
        if self.pending_len == 0 && chunk.is_ascii() {
            self.seen = chunk_start + chunk.len() as u64; // the common case, word at a time
            return Ok(());
        }
        let mut rest = chunk;
        if self.pending_len > 0 {
            match self.continue_pending(chunk, chunk_start) {
                Ok(taken) => rest = &chunk[taken..],
                Err(position) => return Err(self.fail(position)),
            }
        }
        let rest_start = chunk_start + (chunk.len() - rest.len()) as u64;
        self.seen = chunk_start + chunk.len() as u64;
        match core::str::from_utf8(rest) {
            Ok(_) => Ok(()),
            Err(error) => {
                let valid = error.valid_up_to();
                match error.error_len() {
                    // A character cut off by the end of the chunk: carry it over.
                    None => {
                        let tail = &rest[valid..];
                        let len = tail.len().min(3);
                        self.pending[..len].copy_from_slice(&tail[..len]);
                        self.pending_len = len as u8;
                        Ok(())
                    }
                    Some(len) => {
                        let at = first_bad_byte(&rest[valid..], len);
                        Err(self.fail(rest_start + (valid + at) as u64))
                    }
                }
            }
        }
    }

    /// Ends the message: fails if it ended inside a character (or failed earlier), then
    /// resets for the next message either way.
    #[inline]
    pub fn finish(&mut self) -> Result<(), Utf8Error> {
        let verdict = match self.failed {
            Some(error) => Err(error),
            None if self.pending_len > 0 => Err(Utf8Error {
                position: self.seen,
                truncated: true,
            }),
            None => Ok(()),
        };
        self.reset();
        verdict
    }

    /// Forgets the current message, to start a new one.
    pub fn reset(&mut self) {
        *self = Utf8Validator::new();
    }

    /// How many bytes at the end of what was fed form an incomplete character (0 to 3).
    /// A streaming reader can hand out text up to, but not including, these bytes.
    pub const fn incomplete_len(&self) -> usize {
        self.pending_len as usize
    }

    /// Extends the pending character with the first bytes of `chunk`, which starts at
    /// message offset `chunk_start`. Returns how many bytes of `chunk` it took, or the
    /// message offset of the first bad byte.
    fn continue_pending(&mut self, chunk: &[u8], chunk_start: u64) -> Result<usize, u64> {
        let have = self.incomplete_len();
        let want = sequence_len(self.pending[0]).saturating_sub(have);
        let take = want.min(chunk.len());
        let mut char_bytes = self.pending;
        char_bytes[have..have + take].copy_from_slice(&chunk[..take]);
        let char_bytes = &char_bytes[..have + take];
        match core::str::from_utf8(char_bytes) {
            Ok(_) => {
                self.pending_len = 0;
                Ok(take)
            }
            Err(error) => match error.error_len() {
                // Still incomplete: `chunk` was too short, and all of it was taken.
                None => {
                    self.pending[have..have + take].copy_from_slice(&chunk[..take]);
                    self.pending_len = (have + take) as u8;
                    Ok(take)
                }
                Some(len) => {
                    let valid = error.valid_up_to();
                    let at = valid + first_bad_byte(&char_bytes[valid..], len);
                    // The pending bytes were a valid start, so `at >= have`.
                    Err(chunk_start + at.saturating_sub(have) as u64)
                }
            },
        }
    }

    fn fail(&mut self, position: u64) -> Utf8Error {
        let error = Utf8Error {
            position,
            truncated: false,
        };
        self.failed = Some(error);
        error
    }
}

/// The length of the character a lead byte starts (for a valid lead; 4 otherwise, which only
/// bounds how much is looked at).
const fn sequence_len(lead: u8) -> usize {
    match lead {
        0xC2..=0xDF => 2,
        0xE0..=0xEF => 3,
        _ => 4,
    }
}

/// Given bytes starting at an invalid sequence and `from_utf8`'s `error_len` for it, the
/// index of the first byte that made it invalid. `error_len` counts the bytes of the longest
/// valid start: when the first byte is a valid lead, the culprit is the byte after them;
/// otherwise the first byte itself.
fn first_bad_byte(bytes: &[u8], error_len: usize) -> usize {
    match bytes.first() {
        Some(0xC2..=0xF4) => error_len,
        _ => 0,
    }
}
