//! The state both halves of a channel share: the core pipe and one waker per side.

use std::io;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use wirestate_core::chan::ByteSource;
use wirestate_core::chan::{Cause, ChannelError, Pipe};

/// Which half is asking: it decides whose waker to park and how errors are worded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    Reader,
    Writer,
}

#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) pipe: Pipe,
    reader_waker: Option<Waker>,
    writer_waker: Option<Waker>,
}

/// The pipe behind one channel. Wakers fire only on edges that matter to the parked side
/// (bytes published, room made, closed, cancelled) and only if that side is parked, so a
/// busy pipe whose halves never wait costs no wakeups.
#[derive(Debug)]
pub(crate) struct Shared {
    inner: Mutex<Inner>,
}

/// What the wake decision compares before and after an operation.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Marks {
    available: usize,
    total_read: u64,
    closed_for_write: bool,
    cancelled: bool,
}

impl Marks {
    fn of(pipe: &Pipe) -> Self {
        Marks {
            available: pipe.available(),
            total_read: pipe.total_read(),
            closed_for_write: pipe.is_closed_for_write(),
            cancelled: pipe.closed_cause().is_some(),
        }
    }
}

impl Shared {
    pub(crate) fn new(pipe: Pipe) -> Arc<Self> {
        Arc::new(Shared {
            inner: Mutex::new(Inner {
                pipe,
                reader_waker: None,
                writer_waker: None,
            }),
        })
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the pipe half-updated in a way that
        // matters more than the panic itself; keep serving the other half.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs `op` on the pipe. `Blocked` parks `side`'s waker and returns `Pending`; any
    /// change the other side may be waiting for wakes it.
    pub(crate) fn poll_op<T>(
        &self,
        cx: &mut Context<'_>,
        side: Side,
        op: impl FnOnce(&mut Pipe) -> Result<T, ChannelError>,
    ) -> Poll<io::Result<T>> {
        let mut inner = self.lock();
        let before = Marks::of(&inner.pipe);
        let result = op(&mut inner.pipe);
        let wake = inner.take_wakers(before);
        let poll = match result {
            Ok(value) => Poll::Ready(Ok(value)),
            Err(ChannelError::Blocked) => {
                let slot = match side {
                    Side::Reader => &mut inner.reader_waker,
                    Side::Writer => &mut inner.writer_waker,
                };
                match slot {
                    Some(waker) if waker.will_wake(cx.waker()) => {}
                    _ => *slot = Some(cx.waker().clone()),
                }
                Poll::Pending
            }
            Err(error) => Poll::Ready(Err(to_io_error(error, side))),
        };
        drop(inner);
        wake.wake();
        poll
    }

    /// Runs `op` on the pipe without waiting, waking whoever the change concerns.
    pub(crate) fn with<T>(&self, op: impl FnOnce(&mut Pipe) -> T) -> T {
        let mut inner = self.lock();
        let before = Marks::of(&inner.pipe);
        let value = op(&mut inner.pipe);
        let wake = inner.take_wakers(before);
        drop(inner);
        wake.wake();
        value
    }

    pub(crate) fn cancel(&self, cause: Cause) {
        self.with(|pipe| pipe.cancel(cause));
    }
}

/// Wakers taken under the lock, woken after it is released.
#[derive(Default)]
pub(crate) struct Wakeups(Option<Waker>, Option<Waker>);

impl Wakeups {
    fn wake(self) {
        if let Some(waker) = self.0 {
            waker.wake();
        }
        if let Some(waker) = self.1 {
            waker.wake();
        }
    }
}

impl Inner {
    fn take_wakers(&mut self, before: Marks) -> Wakeups {
        let after = Marks::of(&self.pipe);
        if after == before {
            return Wakeups::default();
        }
        let reader = after.available > before.available
            || after.closed_for_write != before.closed_for_write
            || after.cancelled != before.cancelled;
        let writer = after.total_read > before.total_read || after.cancelled != before.cancelled;
        Wakeups(
            if reader {
                self.reader_waker.take()
            } else {
                None
            },
            if writer {
                self.writer_waker.take()
            } else {
                None
            },
        )
    }
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
