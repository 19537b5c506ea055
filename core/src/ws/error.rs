//! Peer faults and the close code each one is answered with.

use core::fmt;

use super::close::CloseCode;
use super::opcode::Opcode;
use super::rules::RsvBits;

/// Something the peer sent that RFC 6455 forbids, or that exceeds a configured limit.
///
/// These are never returned to the application as an `Err` from a machine's input: the
/// connection answers with a close frame carrying [`close_code`](ProtocolError::close_code)
/// and reports the failure as an event. Local misuse has its own error types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProtocolError {
    /// RSV bits set that no negotiated extension claims (§5.2); the unclaimed bits.
    ReservedBits(RsvBits),
    /// A reserved opcode (0x3–0x7, 0xB–0xF, §5.2); the raw value.
    ReservedOpcode(u8),
    /// A control frame with FIN clear: control frames are never fragmented (§5.5).
    FragmentedControlFrame(Opcode),
    /// A control frame with more than 125 bytes of payload (§5.5).
    ControlFrameTooLong {
        /// The control frame's opcode.
        opcode: Opcode,
        /// Its declared payload length.
        len: u64,
    },
    /// A 64-bit payload length with the most significant bit set (§5.2).
    LengthHighBitSet,
    /// An unmasked frame arrived at a server: clients must mask every frame (§5.1).
    UnmaskedFrame,
    /// A masked frame arrived at a client: servers must not mask (§5.1).
    MaskedFrame,
    /// A frame's payload is longer than the configured limit.
    FrameTooBig {
        /// The declared payload length.
        len: u64,
        /// The limit it exceeds.
        max: u64,
    },
    /// A continuation frame arrived while no fragmented message was open (§5.4).
    UnexpectedContinuation,
    /// A Text or Binary frame arrived while a fragmented message was still open (§5.4);
    /// the new frame's opcode.
    ExpectedContinuation(Opcode),
    /// A reassembled message grew past the configured limit.
    MessageTooBig {
        /// The limit it exceeds.
        max: u64,
    },
    /// A text message is not valid UTF-8 (§8.1).
    InvalidUtf8,
    /// A close frame's payload is a single byte: too short for a status code (§5.5.1).
    CloseCodeTruncated,
    /// A close frame carries a status code that must not appear on the wire (§7.4).
    InvalidCloseCode(CloseCode),
    /// A close frame's reason is not valid UTF-8 (§5.5.1).
    InvalidCloseReason,
    /// A compressed message is not valid DEFLATE data (RFC 7692 §7.2.2).
    InvalidCompressedData,
}

impl ProtocolError {
    /// The close code to answer this fault with (RFC 6455 §7.4.1). This is the one place
    /// that mapping lives.
    pub const fn close_code(&self) -> CloseCode {
        match self {
            ProtocolError::ReservedBits(_)
            | ProtocolError::ReservedOpcode(_)
            | ProtocolError::FragmentedControlFrame(_)
            | ProtocolError::ControlFrameTooLong { .. }
            | ProtocolError::LengthHighBitSet
            | ProtocolError::UnmaskedFrame
            | ProtocolError::MaskedFrame
            | ProtocolError::UnexpectedContinuation
            | ProtocolError::ExpectedContinuation(_)
            | ProtocolError::CloseCodeTruncated
            | ProtocolError::InvalidCloseCode(_) => CloseCode::PROTOCOL_ERROR,
            ProtocolError::InvalidUtf8
            | ProtocolError::InvalidCloseReason
            | ProtocolError::InvalidCompressedData => CloseCode::INVALID_PAYLOAD,
            ProtocolError::FrameTooBig { .. } | ProtocolError::MessageTooBig { .. } => {
                CloseCode::MESSAGE_TOO_BIG
            }
        }
    }
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProtocolError::ReservedBits(bits) => {
                write!(f, "reserved bits {bits:?} set without an extension")
            }
            ProtocolError::ReservedOpcode(op) => write!(f, "reserved opcode {op:#x}"),
            ProtocolError::FragmentedControlFrame(op) => write!(f, "fragmented {op} frame"),
            ProtocolError::ControlFrameTooLong { opcode, len } => {
                write!(
                    f,
                    "{opcode} frame with {len} bytes of payload (at most 125)"
                )
            }
            ProtocolError::LengthHighBitSet => {
                f.write_str("64-bit payload length with the high bit set")
            }
            ProtocolError::UnmaskedFrame => f.write_str("unmasked frame from a client"),
            ProtocolError::MaskedFrame => f.write_str("masked frame from a server"),
            ProtocolError::FrameTooBig { len, max } => {
                write!(f, "frame payload of {len} bytes exceeds the limit of {max}")
            }
            ProtocolError::UnexpectedContinuation => {
                f.write_str("continuation frame without a message to continue")
            }
            ProtocolError::ExpectedContinuation(op) => {
                write!(f, "{op} frame inside a fragmented message")
            }
            ProtocolError::MessageTooBig { max } => {
                write!(f, "message exceeds the limit of {max} bytes")
            }
            ProtocolError::InvalidUtf8 => f.write_str("text message is not valid UTF-8"),
            ProtocolError::CloseCodeTruncated => f.write_str("close frame payload of one byte"),
            ProtocolError::InvalidCloseCode(code) => {
                write!(f, "close code {} is not allowed on the wire", code.as_u16())
            }
            ProtocolError::InvalidCloseReason => f.write_str("close reason is not valid UTF-8"),
            ProtocolError::InvalidCompressedData => {
                f.write_str("compressed message is not valid DEFLATE data")
            }
        }
    }
}

impl core::error::Error for ProtocolError {}
