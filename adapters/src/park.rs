//! Blocking on a future-style poll from a plain thread.

use std::cell::Cell;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};
use std::time::Instant;

struct ThreadWaker(Thread);

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

/// A waker that unparks the current thread.
pub(crate) fn thread_waker() -> Waker {
    Waker::from(Arc::new(ThreadWaker(thread::current())))
}

thread_local! {
    /// Set while this thread waits in a blocking read view (see [`reading_through`]).
    static READING_THROUGH: Cell<bool> = const { Cell::new(false) };
}

/// Whether the current thread waits in a blocking read view, which may block in its
/// channel's source itself (a blocking socket's `recv`) instead of waiting for a pump.
/// Only those views set it: any other block-on loop may have other work to poll.
pub(crate) fn is_reading_through() -> bool {
    READING_THROUGH.with(Cell::get)
}

/// Runs `wait`, a blocking read view's wait, with [`is_reading_through`] set (restored
/// after, for waits nested in one another).
pub(crate) fn reading_through<T>(wait: impl FnOnce() -> T) -> T {
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            READING_THROUGH.with(|flag| flag.set(self.0));
        }
    }
    let _restore = Restore(READING_THROUGH.with(|flag| flag.replace(true)));
    wait()
}

/// How often a blocked thread yields and polls again before it parks.
const SPINS_BEFORE_PARK: usize = 3;

/// Polls `poll` on the current thread, parking between polls, until it is ready.
/// This is how the blocking halves reuse the async code paths without a runtime.
pub(crate) fn block_on_poll<T>(mut poll: impl FnMut(&mut Context<'_>) -> Poll<T>) -> T {
    let waker = thread_waker();
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(value) = poll(&mut cx) {
            return value;
        }
        // Give the other side a few time slices before sleeping: a peer thread that is
        // about to produce then finds us running, and no futex wakeup is needed.
        for _ in 0..SPINS_BEFORE_PARK {
            thread::yield_now();
            if let Poll::Ready(value) = poll(&mut cx) {
                return value;
            }
        }
        thread::park();
    }
}

/// Runs `future` to completion on the current thread, parking between polls.
pub(crate) fn block_on<F: std::future::Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    block_on_poll(|cx| future.as_mut().poll(cx))
}

/// Like [`block_on_poll`], but gives up at `deadline` and returns `None`.
pub(crate) fn block_on_poll_until<T>(
    deadline: Instant,
    mut poll: impl FnMut(&mut Context<'_>) -> Poll<T>,
) -> Option<T> {
    let waker = thread_waker();
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(value) = poll(&mut cx) {
            return Some(value);
        }
        let now = Instant::now();
        if now >= deadline {
            return None;
        }
        thread::park_timeout(deadline - now);
    }
}
