//! Close status codes (RFC 6455 §7.4, IANA "WebSocket Close Code Number Registry") and the
//! close frame payload: an optional code, then a UTF-8 reason (§5.5.1).

use core::fmt;

use bytes::BufMut;

use super::error::ProtocolError;
use super::frame::MAX_CONTROL_PAYLOAD_LEN;
use super::opcode::Opcode;

/// The longest close reason in bytes: a control payload of 125 bytes less the 2-byte code.
pub const MAX_CLOSE_REASON_LEN: usize = MAX_CONTROL_PAYLOAD_LEN - 2;

/// A close status code: any `u16`, as it may arrive; [`is_valid_on_wire`] says whether it
/// may be sent or received.
///
/// [`is_valid_on_wire`]: CloseCode::is_valid_on_wire
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CloseCode(u16);

impl CloseCode {
    /// 1000: the purpose of the connection is fulfilled.
    pub const NORMAL: CloseCode = CloseCode(1000);
    /// 1001: the endpoint is going away (server shutdown, page navigation).
    pub const GOING_AWAY: CloseCode = CloseCode(1001);
    /// 1002: the peer broke the protocol.
    pub const PROTOCOL_ERROR: CloseCode = CloseCode(1002);
    /// 1003: a kind of data the endpoint cannot accept (say, binary where only text is).
    pub const UNSUPPORTED_DATA: CloseCode = CloseCode(1003);
    /// 1004: reserved, never sent.
    pub const RESERVED: CloseCode = CloseCode(1004);
    /// 1005: reserved, never sent; reported locally when a close frame had no code.
    pub const NO_STATUS_RECEIVED: CloseCode = CloseCode(1005);
    /// 1006: reserved, never sent; reported locally when the connection ended without a
    /// close frame.
    pub const ABNORMAL: CloseCode = CloseCode(1006);
    /// 1007: message data inconsistent with its type (text that is not UTF-8).
    pub const INVALID_PAYLOAD: CloseCode = CloseCode(1007);
    /// 1008: a message violates the endpoint's policy (generic).
    pub const POLICY_VIOLATION: CloseCode = CloseCode(1008);
    /// 1009: a message too big to process.
    pub const MESSAGE_TOO_BIG: CloseCode = CloseCode(1009);
    /// 1010: the client needed an extension the server did not negotiate.
    pub const MANDATORY_EXTENSION: CloseCode = CloseCode(1010);
    /// 1011: the server hit an unexpected condition.
    pub const INTERNAL_ERROR: CloseCode = CloseCode(1011);
    /// 1012: the service is restarting (IANA).
    pub const SERVICE_RESTART: CloseCode = CloseCode(1012);
    /// 1013: try again later, e.g. overloaded (IANA).
    pub const TRY_AGAIN_LATER: CloseCode = CloseCode(1013);
    /// 1014: a gateway or proxy got an invalid response upstream (IANA).
    pub const BAD_GATEWAY: CloseCode = CloseCode(1014);
    /// 1015: reserved, never sent; reported locally when the TLS handshake failed.
    pub const TLS_HANDSHAKE: CloseCode = CloseCode(1015);

    /// The code with value `code`.
    pub const fn new(code: u16) -> CloseCode {
        CloseCode(code)
    }

    /// The numeric value.
    pub const fn as_u16(self) -> u16 {
        self.0
    }

    /// Whether this code may appear in a close frame, sent or received (§7.4.1, §7.4.2):
    ///
    /// - 1000–1003 and 1007–1014: defined by RFC 6455 or registered with IANA;
    /// - 3000–4999: for libraries, frameworks and applications;
    /// - not 0–999 (unused), 1004–1006 and 1015 (reserved, local only), nor 1016–2999
    ///   (reserved for the RFC and IANA; Autobahn 7.9.x expects them rejected), nor 5000 and
    ///   up (outside the ranges §7.4.2 defines).
    pub const fn is_valid_on_wire(self) -> bool {
        matches!(self.0, 1000..=1003 | 1007..=1014 | 3000..=4999)
    }

    /// The registry's description of a named code.
    pub const fn description(self) -> Option<&'static str> {
        Some(match self.0 {
            1000 => "normal closure",
            1001 => "going away",
            1002 => "protocol error",
            1003 => "unsupported data",
            1004 => "reserved",
            1005 => "no status received",
            1006 => "abnormal closure",
            1007 => "invalid payload data",
            1008 => "policy violation",
            1009 => "message too big",
            1010 => "mandatory extension",
            1011 => "internal error",
            1012 => "service restart",
            1013 => "try again later",
            1014 => "bad gateway",
            1015 => "TLS handshake",
            _ => return None,
        })
    }
}

impl From<u16> for CloseCode {
    fn from(code: u16) -> CloseCode {
        CloseCode(code)
    }
}

impl From<CloseCode> for u16 {
    fn from(code: CloseCode) -> u16 {
        code.0
    }
}

impl fmt::Display for CloseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.description() {
            Some(text) => write!(f, "{} ({text})", self.0),
            None => write!(f, "{}", self.0),
        }
    }
}

/// Why a close payload could not be built: local misuse, not a peer fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CloseBuildError {
    /// The code may not be sent ([`CloseCode::is_valid_on_wire`] is false).
    UnsendableCode(CloseCode),
    /// The reason is longer than [`MAX_CLOSE_REASON_LEN`] bytes.
    ReasonTooLong {
        /// The reason's length in bytes.
        len: usize,
    },
}

impl fmt::Display for CloseBuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CloseBuildError::UnsendableCode(code) => write!(f, "close code {code} cannot be sent"),
            CloseBuildError::ReasonTooLong { len } => write!(
                f,
                "close reason of {len} bytes is longer than {MAX_CLOSE_REASON_LEN}"
            ),
        }
    }
}

impl core::error::Error for CloseBuildError {}

/// The payload of a close frame that carries a code: a code valid on the wire and a UTF-8
/// reason of at most [`MAX_CLOSE_REASON_LEN`] bytes. A close frame without a code has an
/// empty payload, which is `None` wherever an `Option<ClosePayload>` appears.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClosePayload<'a> {
    code: CloseCode,
    reason: &'a str,
}

impl<'a> ClosePayload<'a> {
    /// A payload to send, if `code` may be sent and `reason` fits.
    pub fn new(code: CloseCode, reason: &'a str) -> Result<ClosePayload<'a>, CloseBuildError> {
        if !code.is_valid_on_wire() {
            return Err(CloseBuildError::UnsendableCode(code));
        }
        if reason.len() > MAX_CLOSE_REASON_LEN {
            return Err(CloseBuildError::ReasonTooLong { len: reason.len() });
        }
        Ok(ClosePayload { code, reason })
    }

    /// Parses a received close payload (already unmasked).
    ///
    /// Empty is a close without a code (`Ok(None)`). Otherwise the first two bytes are a code
    /// that must be valid on the wire (else 1002) and the rest a reason that must be UTF-8
    /// (else 1007). One byte, or more than 125, is a protocol error.
    pub fn parse(payload: &'a [u8]) -> Result<Option<ClosePayload<'a>>, ProtocolError> {
        if payload.len() > MAX_CONTROL_PAYLOAD_LEN {
            return Err(ProtocolError::ControlFrameTooLong {
                opcode: Opcode::Close,
                len: payload.len() as u64,
            });
        }
        let (hi, lo, reason) = match payload {
            [] => return Ok(None),
            [_] => return Err(ProtocolError::CloseCodeTruncated),
            [hi, lo, reason @ ..] => (*hi, *lo, reason),
        };
        let code = CloseCode(u16::from_be_bytes([hi, lo]));
        if !code.is_valid_on_wire() {
            return Err(ProtocolError::InvalidCloseCode(code));
        }
        let reason = core::str::from_utf8(reason).map_err(|_| ProtocolError::InvalidCloseReason)?;
        Ok(Some(ClosePayload { code, reason }))
    }

    /// The status code.
    pub const fn code(&self) -> CloseCode {
        self.code
    }

    /// The reason, possibly empty.
    pub const fn reason(&self) -> &'a str {
        self.reason
    }

    /// The payload length in bytes: 2 plus the reason's length, at most 125.
    pub const fn encoded_len(&self) -> usize {
        2 + self.reason.len()
    }

    /// Appends the payload (unmasked) to `out`.
    pub fn encode<B: BufMut + ?Sized>(&self, out: &mut B) {
        out.put_u16(self.code.0);
        out.put_slice(self.reason.as_bytes());
    }
}
