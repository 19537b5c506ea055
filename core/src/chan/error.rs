//! What can go wrong on a byte channel.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::sync::Arc;
use core::error::Error;
use core::fmt;

/// Why a channel was cancelled: any error, shared by both sides.
///
/// Every later operation on either side reports this cause. Adapters store a
/// `std::io::Error` here so that its kind survives the trip.
#[derive(Clone)]
pub struct Cause(Arc<dyn Error + Send + Sync + 'static>);

impl Cause {
    /// Wraps any error as a cancellation cause.
    pub fn new<E: Error + Send + Sync + 'static>(error: E) -> Self {
        Cause(Arc::new(error))
    }

    /// A cause that is only a message.
    pub fn message(message: impl Into<String>) -> Self {
        let boxed: Box<dyn Error + Send + Sync> = message.into().into();
        Cause(Arc::from(boxed))
    }

    /// The error itself, for downcasting.
    pub fn error(&self) -> &(dyn Error + Send + Sync + 'static) {
        &*self.0
    }

    /// The shared error.
    pub fn into_inner(self) -> Arc<dyn Error + Send + Sync + 'static> {
        self.0
    }
}

impl fmt::Debug for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&*self.0, f)
    }
}

/// The outcome of a channel operation that did not complete.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum ChannelError {
    /// Nothing can happen until the other side acts: no data to read, or no room to write.
    /// Async adapters turn this into `Pending`, blocking ones into a park.
    Blocked,
    /// The writer closed the channel; nothing more can be written.
    ClosedForWrite,
    /// One side cancelled the channel; buffered bytes were dropped.
    Cancelled(Cause),
    /// The channel ended before `needed` bytes arrived.
    UnexpectedEof {
        /// Bytes the operation needed.
        needed: usize,
        /// Bytes that were left.
        available: usize,
    },
    /// A read asked to see more bytes at once than the channel can ever hold. Waiting would
    /// deadlock, so the request is refused.
    MinExceedsCapacity {
        /// Bytes asked for.
        min: usize,
        /// The channel's capacity.
        capacity: usize,
    },
    /// A line (or delimited record) grew past its byte limit before its delimiter arrived.
    /// The bytes examined so far are dropped; the rest of the line stays in the channel.
    TooLongLine {
        /// The limit, in content bytes (the delimiter is not counted).
        limit: usize,
    },
    /// Reading to the end would have exceeded the given limit.
    LimitExceeded {
        /// The limit, in bytes.
        limit: usize,
    },
}

impl ChannelError {
    /// Whether this is [`ChannelError::Blocked`].
    pub fn is_blocked(&self) -> bool {
        matches!(self, ChannelError::Blocked)
    }
}

impl fmt::Display for ChannelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChannelError::Blocked => f.write_str("channel operation would block"),
            ChannelError::ClosedForWrite => f.write_str("channel is closed for writing"),
            ChannelError::Cancelled(cause) => write!(f, "channel was cancelled: {cause}"),
            ChannelError::UnexpectedEof { needed, available } => {
                write!(f, "channel ended with {available} of {needed} needed bytes")
            }
            ChannelError::MinExceedsCapacity { min, capacity } => write!(
                f,
                "asked for {min} bytes at once from a channel that holds at most {capacity}"
            ),
            ChannelError::TooLongLine { limit } => {
                write!(f, "line exceeds the limit of {limit} bytes")
            }
            ChannelError::LimitExceeded { limit } => {
                write!(f, "channel content exceeds the limit of {limit} bytes")
            }
        }
    }
}

impl Error for ChannelError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            ChannelError::Cancelled(cause) => Some(cause.error()),
            _ => None,
        }
    }
}
