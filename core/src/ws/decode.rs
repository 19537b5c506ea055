//! Decoding frame headers: from one slice, or incrementally from input in any chunking.
//!
//! Only the header (at most 14 bytes) is ever copied. The payload stays in the caller's
//! buffer; the caller unmasks it in place with [`apply_mask`](super::apply_mask) as it
//! arrives.

use super::error::ProtocolError;
use super::frame::{FrameHeader, MAX_HEADER_LEN};
use super::rules::FrameRules;

/// Parses one header from the start of `input`, checking it against `rules`.
///
/// - `Ok(Some((header, len)))`: the header took the first `len` bytes; the payload follows.
/// - `Ok(None)`: `input` is a valid start of a header but too short. Nothing is retained:
///   call again with more bytes (or use [`HeaderDecoder`], which keeps them).
/// - `Err(_)`: the header breaks a rule. Errors are found at the first byte that shows them,
///   so a short `input` can already fail.
#[inline]
pub fn parse_header(
    input: &[u8],
    rules: &FrameRules,
) -> Result<Option<(FrameHeader, usize)>, ProtocolError> {
    let Some(&first) = input.first() else {
        return Ok(None);
    };
    let (fin, opcode) = rules.check_first_byte(first)?;
    let Some(&second) = input.get(1) else {
        return Ok(None);
    };
    let masked = second & 0x80 != 0;
    rules.check_mask(masked)?;
    let (payload_len, len_end) = match second & 0x7F {
        126 => match input.get(2..4) {
            Some(&[a, b]) => (u64::from(u16::from_be_bytes([a, b])), 4),
            _ => return Ok(None),
        },
        127 => match input.get(2..10) {
            Some(&[a, b, c, d, e, f, g, h]) => (u64::from_be_bytes([a, b, c, d, e, f, g, h]), 10),
            _ => return Ok(None),
        },
        short => (u64::from(short), 2),
    };
    rules.check_len(opcode, payload_len)?;
    let (mask, end) = if masked {
        match input.get(len_end..len_end + 4) {
            Some(&[a, b, c, d]) => (Some([a, b, c, d]), len_end + 4),
            _ => return Ok(None),
        }
    } else {
        (None, len_end)
    };
    let header = FrameHeader {
        fin,
        rsv1: first & 0x40 != 0,
        rsv2: first & 0x20 != 0,
        rsv3: first & 0x10 != 0,
        opcode,
        mask,
        payload_len,
    };
    Ok(Some((header, end)))
}

/// What one [`HeaderDecoder::decode`] call found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum HeaderStatus {
    /// A whole header. The first `consumed` bytes of this call's input were its end (its
    /// start may have come in earlier calls); the payload starts right after them.
    Complete {
        /// The decoded, checked header.
        header: FrameHeader,
        /// How many bytes of this call's input the header took.
        consumed: usize,
    },
    /// Every input byte was taken and held; the header is not complete yet.
    Partial,
}

/// An incremental header decoder: feed it bytes as they arrive, split anywhere, even one at
/// a time, and it yields each header once it is complete.
///
/// It holds at most [`MAX_HEADER_LEN`] bytes between calls, and applies its
/// [`FrameRules`] as soon as the relevant byte arrives. After a `Complete` it expects the next
/// header: skipping `payload_len` payload bytes in between is the caller's job. After an
/// error it is reset, but the connection must fail: the byte stream has lost its framing.
#[derive(Debug, Clone)]
pub struct HeaderDecoder {
    rules: FrameRules,
    held: [u8; MAX_HEADER_LEN],
    /// How many bytes of `held` belong to the header being decoded (at most 14).
    held_len: u8,
}

impl HeaderDecoder {
    /// A decoder that checks headers against `rules`.
    pub const fn new(rules: FrameRules) -> HeaderDecoder {
        HeaderDecoder {
            rules,
            held: [0; MAX_HEADER_LEN],
            held_len: 0,
        }
    }

    /// The rules headers are checked against.
    pub const fn rules(&self) -> &FrameRules {
        &self.rules
    }

    /// Replaces the rules, for example once an extension has been negotiated. Bytes already
    /// held are checked again under the new rules on the next call.
    pub fn set_rules(&mut self, rules: FrameRules) {
        self.rules = rules;
    }

    /// How many bytes of an incomplete header are held from earlier calls.
    pub const fn buffered(&self) -> usize {
        self.held_len as usize
    }

    /// Drops any held bytes, to start at a header boundary.
    pub fn reset(&mut self) {
        self.held_len = 0;
    }

    /// Decodes from `input`, continuing any header started in earlier calls.
    #[inline]
    pub fn decode(&mut self, input: &[u8]) -> Result<HeaderStatus, ProtocolError> {
        if self.held_len == 0 {
            // Fast path: parse straight from the input, copying only if it ends mid-header.
            return match parse_header(input, &self.rules)? {
                Some((header, consumed)) => Ok(HeaderStatus::Complete { header, consumed }),
                None => {
                    self.hold(input);
                    Ok(HeaderStatus::Partial)
                }
            };
        }
        let before = self.buffered();
        self.hold(input);
        match parse_header(&self.held[..self.buffered()], &self.rules) {
            Ok(Some((header, len))) => {
                self.held_len = 0;
                let consumed = len.saturating_sub(before);
                Ok(HeaderStatus::Complete { header, consumed })
            }
            // `hold` took every input byte: had any been left out, the 14 held bytes would
            // have made a whole header.
            Ok(None) => Ok(HeaderStatus::Partial),
            Err(error) => {
                self.held_len = 0;
                Err(error)
            }
        }
    }

    /// Appends as much of `input` as fits after the held bytes.
    fn hold(&mut self, input: &[u8]) {
        let held = self.buffered();
        let take = input.len().min(MAX_HEADER_LEN - held);
        let end = held + take;
        self.held[held..end].copy_from_slice(&input[..take]);
        self.held_len = end as u8; // at most MAX_HEADER_LEN
    }
}
