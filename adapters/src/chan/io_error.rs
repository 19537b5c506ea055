//! How channel errors reach `std::io` users.

use std::io;

use wirestate_core::chan::{Cause, ChannelError};

/// Which half is asking: it decides how errors are worded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    Reader,
    Writer,
}

/// Maps a channel error to the `io::Error` a Rust I/O user expects, keeping the channel
/// error (and through it the cancellation cause) as the source.
pub(crate) fn to_io_error(error: ChannelError, side: Side) -> io::Error {
    let kind = match &error {
        ChannelError::Cancelled(cause) => match cause.error().downcast_ref::<io::Error>() {
            Some(io) => io.kind(),
            None if side == Side::Writer => io::ErrorKind::BrokenPipe,
            None => io::ErrorKind::ConnectionAborted,
        },
        ChannelError::ClosedForWrite => io::ErrorKind::BrokenPipe,
        ChannelError::UnexpectedEof { .. } => io::ErrorKind::UnexpectedEof,
        ChannelError::MinExceedsCapacity { .. } => io::ErrorKind::InvalidInput,
        ChannelError::TooLongLine { .. } | ChannelError::LimitExceeded { .. } => {
            io::ErrorKind::InvalidData
        }
        ChannelError::Blocked => io::ErrorKind::WouldBlock,
        _ => io::ErrorKind::Other,
    };
    io::Error::new(kind, error)
}

/// A cancellation cause mirroring `error` (its kind and message), for when the error itself
/// also goes back to the caller.
pub(crate) fn cause_like(error: &io::Error) -> Cause {
    Cause::new(io::Error::new(error.kind(), error.to_string()))
}
