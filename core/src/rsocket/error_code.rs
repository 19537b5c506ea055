//! RSocket error codes (RFC-style table in the RSocket 1.0 spec, "Error Codes") and their
//! scope.

use core::fmt;

/// An ERROR frame's code. Codes up to 0x300 belong to the protocol; 0x301 to 0xFFFFFFFE to
/// the application.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ErrorCode(pub u32);

impl ErrorCode {
    /// The SETUP frame is invalid for the server (connection, fatal).
    pub const INVALID_SETUP: ErrorCode = ErrorCode(0x001);
    /// A SETUP parameter is not supported (connection, fatal).
    pub const UNSUPPORTED_SETUP: ErrorCode = ErrorCode(0x002);
    /// The server rejected the SETUP (connection, fatal).
    pub const REJECTED_SETUP: ErrorCode = ErrorCode(0x003);
    /// The server rejected the RESUME (connection, fatal; do not resume again).
    pub const REJECTED_RESUME: ErrorCode = ErrorCode(0x004);
    /// The connection is being terminated (connection).
    pub const CONNECTION_ERROR: ErrorCode = ErrorCode(0x101);
    /// The connection is being closed gracefully (connection).
    pub const CONNECTION_CLOSE: ErrorCode = ErrorCode(0x102);
    /// The application failed the stream (stream).
    pub const APPLICATION_ERROR: ErrorCode = ErrorCode(0x201);
    /// The request was not processed; safe to retry (stream). Also the answer beyond a lease.
    pub const REJECTED: ErrorCode = ErrorCode(0x202);
    /// The responder cancelled the stream, maybe after side effects (stream).
    pub const CANCELED: ErrorCode = ErrorCode(0x203);
    /// The request is invalid (stream).
    pub const INVALID: ErrorCode = ErrorCode(0x204);

    /// Whether this code ends the whole connection (the setup and connection codes) rather
    /// than one stream.
    pub const fn is_connection_level(self) -> bool {
        matches!(self.0, 0x001..=0x004 | 0x101 | 0x102)
    }

    /// Whether this code is one only SETUP or RESUME may be answered with.
    pub const fn is_setup_level(self) -> bool {
        matches!(self.0, 0x001..=0x004)
    }

    /// The spec's name for a protocol code.
    pub const fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            0x001 => "INVALID_SETUP",
            0x002 => "UNSUPPORTED_SETUP",
            0x003 => "REJECTED_SETUP",
            0x004 => "REJECTED_RESUME",
            0x101 => "CONNECTION_ERROR",
            0x102 => "CONNECTION_CLOSE",
            0x201 => "APPLICATION_ERROR",
            0x202 => "REJECTED",
            0x203 => "CANCELED",
            0x204 => "INVALID",
            _ => return None,
        })
    }
}

impl fmt::Debug for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => write!(f, "{name}"),
            None => write!(f, "ErrorCode({:#x})", self.0),
        }
    }
}
