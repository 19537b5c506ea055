//! What a received frame header must satisfy: masking by role, RSV bits claimed by
//! extensions, control-frame limits and the payload size limit.

use core::fmt;
use core::ops::BitOr;

use super::error::ProtocolError;
use super::frame::{FrameHeader, MAX_CONTROL_PAYLOAD_LEN};
use super::opcode::Opcode;

/// Which end of the connection we are. It decides the masking rule (RFC 6455 §5.1): clients
/// mask every frame they send, servers never do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// The end that opened the connection and sent the upgrade request.
    Client,
    /// The end that accepted the upgrade.
    Server,
}

impl Role {
    /// The role at the other end.
    pub const fn peer(self) -> Role {
        match self {
            Role::Client => Role::Server,
            Role::Server => Role::Client,
        }
    }

    /// Whether frames sent by this role carry a masking key.
    pub const fn masks_outgoing(self) -> bool {
        matches!(self, Role::Client)
    }
}

/// A set of the three reserved header bits, in their wire positions in the first header byte
/// (RSV1 = 0x40, RSV2 = 0x20, RSV3 = 0x10).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct RsvBits(u8);

impl RsvBits {
    /// No bits.
    pub const NONE: RsvBits = RsvBits(0);
    /// RSV1, claimed by permessage-deflate (RFC 7692).
    pub const RSV1: RsvBits = RsvBits(0x40);
    /// RSV2.
    pub const RSV2: RsvBits = RsvBits(0x20);
    /// RSV3.
    pub const RSV3: RsvBits = RsvBits(0x10);
    /// All three bits.
    pub const ALL: RsvBits = RsvBits(0x70);

    /// The RSV bits of a first header byte; every other bit of `byte` is ignored.
    pub const fn from_header_byte(byte: u8) -> RsvBits {
        RsvBits(byte & Self::ALL.0)
    }

    /// The bits in their wire positions.
    pub const fn bits(self) -> u8 {
        self.0
    }

    /// Whether no bit is set.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Whether every bit of `other` is in `self`.
    pub const fn contains(self, other: RsvBits) -> bool {
        self.0 & other.0 == other.0
    }

    /// The bits in either set.
    pub const fn union(self, other: RsvBits) -> RsvBits {
        RsvBits(self.0 | other.0)
    }

    /// The bits in `self` but not in `other`.
    pub const fn difference(self, other: RsvBits) -> RsvBits {
        RsvBits(self.0 & !other.0)
    }
}

impl BitOr for RsvBits {
    type Output = RsvBits;

    fn bitor(self, other: RsvBits) -> RsvBits {
        self.union(other)
    }
}

impl fmt::Debug for RsvBits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = [
            (Self::RSV1, "RSV1"),
            (Self::RSV2, "RSV2"),
            (Self::RSV3, "RSV3"),
        ];
        let mut set = f.debug_set();
        for (bit, name) in names {
            if self.contains(bit) {
                set.entry(&format_args!("{name}"));
            }
        }
        set.finish()
    }
}

/// The payload limit [`FrameRules::new`] starts with: 16 MiB, tungstenite's default frame
/// limit, and the smallest message `ws_echo_server` must accept (DESIGN.md).
pub const DEFAULT_MAX_PAYLOAD_LEN: u64 = 16 * 1024 * 1024;

/// The rules a received frame header is checked against.
///
/// Checks run in wire order, so a decoder fails at the first byte that breaks one:
///
/// | byte(s) | check | error |
/// |---|---|---|
/// | 1st | RSV bits outside [`allowed_rsv`](FrameRules::allowed_rsv) | [`ProtocolError::ReservedBits`] |
/// | 1st | reserved opcode | [`ProtocolError::ReservedOpcode`] |
/// | 1st | control frame with FIN clear | [`ProtocolError::FragmentedControlFrame`] |
/// | 2nd | mask bit against our [`role`](FrameRules::role) | [`ProtocolError::UnmaskedFrame`], [`ProtocolError::MaskedFrame`] |
/// | length | 64-bit length with the high bit set | [`ProtocolError::LengthHighBitSet`] |
/// | length | control frame over 125 bytes | [`ProtocolError::ControlFrameTooLong`] |
/// | length | payload over [`max_payload_len`](FrameRules::max_payload_len) | [`ProtocolError::FrameTooBig`] (1009) |
///
/// Lengths in a longer form than needed (say, 5 in the 16-bit form) are accepted. RFC 6455
/// §5.2 asks senders for the minimal form, but the value is unambiguous either way, no
/// Autobahn case sends one, and DESIGN.md asks us to be tolerant of what we receive;
/// wsproto rejects them, tungstenite does not. Our encoder always writes the minimal form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct FrameRules {
    /// Our role: a server requires masked frames, a client requires unmasked ones.
    pub role: Role,
    /// RSV bits a negotiated extension has claimed (RSV1 for permessage-deflate). Whether a
    /// claimed bit is allowed on a particular frame (RFC 7692: only on a message's first
    /// frame) is the extension's rule, checked above this layer.
    pub allowed_rsv: RsvBits,
    /// The longest payload a single frame may declare.
    pub max_payload_len: u64,
}

impl FrameRules {
    /// Rules for `role` with no extension bits and [`DEFAULT_MAX_PAYLOAD_LEN`].
    pub const fn new(role: Role) -> FrameRules {
        FrameRules {
            role,
            allowed_rsv: RsvBits::NONE,
            max_payload_len: DEFAULT_MAX_PAYLOAD_LEN,
        }
    }

    /// The same rules with `bits` allowed.
    pub const fn with_allowed_rsv(mut self, bits: RsvBits) -> FrameRules {
        self.allowed_rsv = bits;
        self
    }

    /// The same rules with a different payload limit.
    pub const fn with_max_payload_len(mut self, max: u64) -> FrameRules {
        self.max_payload_len = max;
        self
    }

    /// Checks a complete header; the same checks, in the same order, as the incremental
    /// decoder applies.
    pub fn check(&self, header: &FrameHeader) -> Result<(), ProtocolError> {
        let first = header.first_byte();
        self.check_first_byte(first)?;
        self.check_mask(header.mask.is_some())?;
        self.check_len(header.opcode, header.payload_len)
    }

    /// Checks the first header byte; returns FIN and the opcode.
    pub(super) fn check_first_byte(&self, byte: u8) -> Result<(bool, Opcode), ProtocolError> {
        let unclaimed = RsvBits::from_header_byte(byte).difference(self.allowed_rsv);
        if !unclaimed.is_empty() {
            return Err(ProtocolError::ReservedBits(unclaimed));
        }
        let raw = byte & 0x0F;
        let Some(opcode) = Opcode::from_u8(raw) else {
            return Err(ProtocolError::ReservedOpcode(raw));
        };
        let fin = byte & 0x80 != 0;
        if opcode.is_control() && !fin {
            return Err(ProtocolError::FragmentedControlFrame(opcode));
        }
        Ok((fin, opcode))
    }

    /// Checks the mask bit of the second header byte against our role.
    pub(super) fn check_mask(&self, masked: bool) -> Result<(), ProtocolError> {
        match (self.role, masked) {
            (Role::Server, false) => Err(ProtocolError::UnmaskedFrame),
            (Role::Client, true) => Err(ProtocolError::MaskedFrame),
            (Role::Server, true) | (Role::Client, false) => Ok(()),
        }
    }

    /// Checks a decoded payload length.
    pub(super) fn check_len(&self, opcode: Opcode, len: u64) -> Result<(), ProtocolError> {
        if len >> 63 != 0 {
            return Err(ProtocolError::LengthHighBitSet);
        }
        if opcode.is_control() && len > MAX_CONTROL_PAYLOAD_LEN as u64 {
            return Err(ProtocolError::ControlFrameTooLong { opcode, len });
        }
        if len > self.max_payload_len {
            return Err(ProtocolError::FrameTooBig {
                len,
                max: self.max_payload_len,
            });
        }
        Ok(())
    }
}
