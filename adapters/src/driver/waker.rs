//! [`DriverWaker`]: how the application wakes its driver without the connection's lock.

use std::sync::atomic::{AtomicBool, Ordering, fence};
use std::sync::{Mutex, PoisonError};
use std::task::Waker;

/// The driver's waker, reachable without the connection's lock.
///
/// Wakes coalesce: after one wake, later ones are free until the driver begins its next
/// round, so an application that queues many items wakes its driver once per round, not per
/// item. The small mutex is touched only to register the waker and to wake it.
///
/// # Why no wake is lost
///
/// A waker publishes its change, issues a SeqCst fence and reads `woken`; the driver clears
/// `woken`, issues a SeqCst fence and then looks at the shared state. By the fences, either
/// the waker reads the cleared flag (and wakes the driver) or the driver's look sees the
/// change (Dekker's argument). A waker that finds the flag set skips the wake: a wake since
/// the driver's last look is already on its way, and the driver looks again after it.
#[derive(Debug, Default)]
pub(crate) struct DriverWaker {
    /// A wake arrived since the driver last began a round.
    woken: AtomicBool,
    /// The driver's waker; `None` before a driver registers one.
    waker: Mutex<Option<Waker>>,
}

impl DriverWaker {
    /// Remembers the driver's waker (cheaply, if it is the same as last time).
    pub(crate) fn register(&self, waker: &Waker) {
        let mut slot = self.waker.lock().unwrap_or_else(PoisonError::into_inner);
        match &mut *slot {
            Some(current) if current.will_wake(waker) => {}
            slot => *slot = Some(waker.clone()),
        }
    }

    /// The driver is about to look at the shared state: every change from now on wakes it.
    ///
    /// Costs no fence while no wake came: a waker that then finds the flag clear wakes the
    /// driver itself, and one that finds it set was preceded by a wake that polls the
    /// driver again, and that round clears the flag (with the fence) before it looks.
    ///
    /// Returns whether a wake came.
    pub(crate) fn begin_round(&self) -> bool {
        let woken = self.woken.load(Ordering::Relaxed);
        if woken {
            self.woken.store(false, Ordering::Relaxed);
            fence(Ordering::SeqCst);
        }
        woken
    }

    /// Wakes the driver, unless a wake since its last [`begin_round`](Self::begin_round)
    /// already did. Call after publishing the change the driver should see.
    pub(crate) fn wake(&self) {
        fence(Ordering::SeqCst);
        if self.woken.load(Ordering::Relaxed) || self.woken.swap(true, Ordering::AcqRel) {
            return;
        }
        let waker = self
            .waker
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

/// A waker that counts its wakes, for the driver's tests.
#[cfg(test)]
pub(super) struct WakeCount(pub(super) std::sync::atomic::AtomicUsize);

#[cfg(test)]
impl std::task::Wake for WakeCount {
    fn wake(self: std::sync::Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::AtomicUsize;

    #[test]
    fn wakes_coalesce_until_the_next_round() {
        let slot = DriverWaker::default();
        slot.wake(); // nobody registered: nothing to wake, nothing breaks
        let count = Arc::new(WakeCount(AtomicUsize::new(0)));
        slot.register(&Waker::from(count.clone()));
        slot.begin_round();
        slot.wake();
        slot.wake();
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
        slot.begin_round();
        slot.wake();
        assert_eq!(count.0.load(Ordering::SeqCst), 2);
    }
}
