//! [`ReadReadiness`]: whether the transport may have bytes, so that the driver reads only
//! then.
//!
//! A driver polls its transport's read side on every round, and it goes round for many
//! reasons: an application command, a write that completed, a timer. Some runtimes answer a
//! read of an empty socket from cached readiness (tokio), others make the system call each
//! time (async-io, under smol), so each such round would cost an `EAGAIN` read. The driver
//! therefore gives the transport a waker of its own: a read that comes back `Pending` marks
//! the transport not ready, and only a wake from the transport marks it ready again. Every
//! transport call gets that waker, so a transport that keeps a single waker for both
//! directions still marks reads ready (at worst, a write's wake costs one spare read).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Wake, Waker};

use atomic_waker::AtomicWaker;

/// The read side's readiness and the waker the driver reads with.
#[derive(Debug)]
pub(crate) struct ReadReadiness {
    shared: Arc<Flag>,
    /// Wakes `shared` (marks ready) and then the driver's task.
    waker: Waker,
}

#[derive(Debug, Default)]
struct Flag {
    ready: AtomicBool,
    task: AtomicWaker,
}

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.ready.store(true, Ordering::Release);
        self.task.wake();
    }
}

impl Default for ReadReadiness {
    fn default() -> Self {
        // Ready at first: nothing is known about the transport yet.
        let shared = Arc::new(Flag {
            ready: AtomicBool::new(true),
            task: AtomicWaker::new(),
        });
        let waker = Waker::from(Arc::clone(&shared));
        ReadReadiness { shared, waker }
    }
}

impl ReadReadiness {
    /// The task to wake when the transport becomes readable. A wake uses it up: register
    /// before every read.
    pub(crate) fn register(&self, task: &Waker) {
        self.shared.task.register(task);
    }

    /// Whether a read is worth trying; clears the mark, so that a read that comes back
    /// `Pending` leaves the transport not ready until its wake. Call
    /// [`read_completed`](Self::read_completed) when the read completes.
    pub(crate) fn take(&self) -> bool {
        self.shared.ready.swap(false, Ordering::AcqRel)
    }

    /// A read completed (with bytes, the end or an error): more may follow at once.
    pub(crate) fn read_completed(&self) {
        self.shared.ready.store(true, Ordering::Relaxed);
    }

    /// The waker to read with.
    pub(crate) fn waker(&self) -> &Waker {
        &self.waker
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::driver::waker::WakeCount;
    use std::sync::atomic::AtomicUsize;

    #[test]
    fn a_pending_read_waits_for_the_transport_wake() {
        let readiness = ReadReadiness::default();
        let task = Arc::new(WakeCount(AtomicUsize::new(0)));
        readiness.register(&Waker::from(Arc::clone(&task)));
        assert!(readiness.take(), "ready before the first read");
        // The read came back Pending: not ready, however often the driver comes round.
        assert!(!readiness.take());
        assert!(!readiness.take());
        // The transport wakes its reader: ready again, and the task is woken.
        readiness.waker().wake_by_ref();
        assert_eq!(task.0.load(Ordering::SeqCst), 1);
        assert!(readiness.take());
        // A wake used the registration up: registered again, the task is woken again.
        readiness.register(&Waker::from(Arc::clone(&task)));
        assert!(!readiness.take());
        readiness.waker().wake_by_ref();
        assert_eq!(task.0.load(Ordering::SeqCst), 2);
        assert!(readiness.take());
        // A completed read keeps it ready for the next.
        readiness.read_completed();
        assert!(readiness.take());
    }
}
