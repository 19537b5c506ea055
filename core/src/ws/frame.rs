//! The frame header (RFC 6455 §5.2) and its encoder.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-------+-+-------------+-------------------------------+
//! |F|R|R|R| opcode|M| Payload len |    Extended payload length    |
//! |I|S|S|S|  (4)  |A|     (7)     |             (16/64)           |
//! |N|V|V|V|       |S|             |   (if payload len==126/127)   |
//! | |1|2|3|       |K|             |                               |
//! +-+-+-+-+-------+-+-------------+ - - - - - - - - - - - - - - - +
//! |     Extended payload length continued, if payload len == 127  |
//! + - - - - - - - - - - - - - - - +-------------------------------+
//! |                               |Masking-key, if MASK set to 1  |
//! +-------------------------------+-------------------------------+
//! ```

use bytes::BufMut;

use super::opcode::Opcode;
use super::rules::RsvBits;

/// The longest header: 2 fixed bytes, an 8-byte length and a 4-byte masking key.
pub const MAX_HEADER_LEN: usize = 14;

/// The most payload a control frame may carry (§5.5).
pub const MAX_CONTROL_PAYLOAD_LEN: usize = 125;

/// Seven-bit length values that announce an extended length.
const LEN_16: u8 = 126;
const LEN_64: u8 = 127;

/// One frame header: everything before the payload.
///
/// The payload itself is never part of this type: a decoder hands back the header and the
/// number of bytes it took, and the payload stays wherever the bytes are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FrameHeader {
    /// Whether this is the last frame of its message.
    pub fin: bool,
    /// Reserved bit 1 (permessage-deflate: the message is compressed).
    pub rsv1: bool,
    /// Reserved bit 2.
    pub rsv2: bool,
    /// Reserved bit 3.
    pub rsv3: bool,
    /// What the frame carries.
    pub opcode: Opcode,
    /// The masking key, present exactly on frames a client sends (§5.3).
    pub mask: Option<[u8; 4]>,
    /// The payload length in bytes.
    pub payload_len: u64,
}

impl FrameHeader {
    /// A header with no RSV bits and no mask.
    pub const fn new(opcode: Opcode, fin: bool, payload_len: u64) -> FrameHeader {
        FrameHeader {
            fin,
            rsv1: false,
            rsv2: false,
            rsv3: false,
            opcode,
            mask: None,
            payload_len,
        }
    }

    /// The same header with a masking key.
    pub const fn with_mask(mut self, key: [u8; 4]) -> FrameHeader {
        self.mask = Some(key);
        self
    }

    /// The RSV bits as a set.
    pub const fn rsv(&self) -> RsvBits {
        RsvBits::from_header_byte(self.first_byte())
    }

    /// The first header byte: FIN, RSV1-3 and the opcode.
    pub(super) const fn first_byte(&self) -> u8 {
        (self.fin as u8) << 7
            | (self.rsv1 as u8) << 6
            | (self.rsv2 as u8) << 5
            | (self.rsv3 as u8) << 4
            | self.opcode.as_u8()
    }

    /// How many bytes [`encode`](FrameHeader::encode) writes: 2 to [`MAX_HEADER_LEN`].
    pub const fn encoded_len(&self) -> usize {
        let len_bytes = match self.payload_len {
            0..=125 => 0,
            126..=0xFFFF => 2,
            _ => 8,
        };
        let mask_bytes = if self.mask.is_some() { 4 } else { 0 };
        2 + len_bytes + mask_bytes
    }

    /// Writes the header into `dst` and returns how many bytes it used
    /// ([`encoded_len`](FrameHeader::encoded_len)). The length takes the shortest form that
    /// holds it, as §5.2 requires of senders.
    ///
    /// Fields are written as given: check a header with
    /// [`FrameRules::check`](super::FrameRules::check) (for the peer's role) if it may break
    /// the rules, for example a `payload_len` of 2^63 or more.
    #[inline]
    pub fn write_to(&self, dst: &mut [u8; MAX_HEADER_LEN]) -> usize {
        dst[0] = self.first_byte();
        let mask_bit = if self.mask.is_some() { 0x80 } else { 0 };
        let mut at = 2;
        match self.payload_len {
            len @ 0..=125 => dst[1] = mask_bit | len as u8,
            len @ 126..=0xFFFF => {
                dst[1] = mask_bit | LEN_16;
                dst[2..4].copy_from_slice(&(len as u16).to_be_bytes());
                at = 4;
            }
            len => {
                dst[1] = mask_bit | LEN_64;
                dst[2..10].copy_from_slice(&len.to_be_bytes());
                at = 10;
            }
        }
        if let Some(key) = self.mask {
            dst[at..at + 4].copy_from_slice(&key);
            at += 4;
        }
        at
    }

    /// Appends the header to `out` (a `Vec<u8>`, a `BytesMut`, …). A `BufMut` that cannot grow
    /// must have [`encoded_len`](FrameHeader::encoded_len) bytes of room.
    #[inline]
    pub fn encode<B: BufMut + ?Sized>(&self, out: &mut B) {
        let mut bytes = [0u8; MAX_HEADER_LEN];
        let len = self.write_to(&mut bytes);
        out.put_slice(&bytes[..len]);
    }
}
