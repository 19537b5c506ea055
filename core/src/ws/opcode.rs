//! Frame opcodes (RFC 6455 §5.2, §11.8).

use core::fmt;

/// What a frame carries: a data fragment or a control message.
///
/// The set is closed on purpose: RFC 6455 reserves 0x3–0x7 and 0xB–0xF for extensions, but
/// none registered with IANA uses them, and a frame carrying one is a protocol error
/// (close code 1002), so those values never become an `Opcode`. The enum is therefore
/// exhaustive, and code that matches on it needs no wildcard arm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Opcode {
    /// 0x0: a further fragment of the message a Text or Binary frame started (§5.4).
    Continuation = 0x0,
    /// 0x1: the first (or only) frame of a text message, UTF-8 encoded.
    Text = 0x1,
    /// 0x2: the first (or only) frame of a binary message.
    Binary = 0x2,
    /// 0x8: the closing handshake (§5.5.1).
    Close = 0x8,
    /// 0x9: a ping, which the receiver answers with a pong (§5.5.2).
    Ping = 0x9,
    /// 0xA: a pong, answering a ping or unsolicited as a heartbeat (§5.5.3).
    Pong = 0xA,
}

impl Opcode {
    /// The opcode whose wire value is `bits`, or `None` for a reserved value (0x3–0x7,
    /// 0xB–0xF) or anything above 0xF.
    pub const fn from_u8(bits: u8) -> Option<Opcode> {
        match bits {
            0x0 => Some(Opcode::Continuation),
            0x1 => Some(Opcode::Text),
            0x2 => Some(Opcode::Binary),
            0x8 => Some(Opcode::Close),
            0x9 => Some(Opcode::Ping),
            0xA => Some(Opcode::Pong),
            _ => None,
        }
    }

    /// The 4-bit wire value.
    pub const fn as_u8(self) -> u8 {
        self as u8
    }

    /// Whether this is a control opcode (Close, Ping, Pong): at most 125 bytes of payload,
    /// never fragmented, and allowed between the fragments of a message (§5.5).
    pub const fn is_control(self) -> bool {
        // Control opcodes are exactly those with the high bit of the nibble set.
        self.as_u8() & 0x8 != 0
    }

    /// Whether this frame starts a new message (Text or Binary).
    pub const fn starts_message(self) -> bool {
        matches!(self, Opcode::Text | Opcode::Binary)
    }
}

impl fmt::Display for Opcode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            Opcode::Continuation => "continuation",
            Opcode::Text => "text",
            Opcode::Binary => "binary",
            Opcode::Close => "close",
            Opcode::Ping => "ping",
            Opcode::Pong => "pong",
        };
        f.write_str(name)
    }
}
