//! The router's inbox: the events that need application code (SETUP, the peer's requests,
//! metadata push), which the relay moves out of the machine for the routing task.
//!
//! ```text
//!   machine ──poll_event──▶ RSocketRelay (driver, under the connection's lock) ──▶ Inbox ──▶ router task
//! ```
//!
//! The inbox holds at most [`INBOX_EVENTS`] events. Past that the relay leaves events in
//! the machine, whose own budget then stops input (TCP backpressure), and marks that it
//! waits; the router wakes the driver once it took the batch. The router always drains
//! the inbox (it only spawns handlers or answers at once), so the wait is short.
//!
//! The inbox has its own small lock. The relay takes it under the connection's lock; the
//! router never holds it while taking the connection's lock, so the order is always
//! connection, then inbox.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};

use wirestate_core::rsocket::conn::Event;

/// Events the inbox holds at most.
pub(super) const INBOX_EVENTS: usize = 64;

/// What the lock guards.
#[derive(Debug, Default)]
pub(super) struct Queue {
    events: VecDeque<Event>,
    /// The router waits for events.
    waker: Option<Waker>,
    /// The relay left events in the machine for want of room here.
    driver_waiting: bool,
    /// The driver has stopped: no event comes unless the router fetches it.
    stopped: bool,
}

impl Queue {
    /// Whether one more event may go in; if not, records that the driver waits for room.
    pub(super) fn has_room(&mut self) -> bool {
        let room = self.events.len() < INBOX_EVENTS;
        self.driver_waiting |= !room;
        room
    }

    /// Queues `event` (after [`has_room`](Queue::has_room)).
    pub(super) fn push(&mut self, event: Event) {
        self.events.push_back(event);
    }

    /// The router's waker, if it waits and events came: wake it after letting go of the
    /// lock.
    pub(super) fn waker_to_wake(&mut self) -> Option<Waker> {
        match self.events.is_empty() {
            true => None,
            false => self.waker.take(),
        }
    }
}

/// The queue, and what the relay publishes for the requesters' fast path.
#[derive(Debug, Default)]
pub(super) struct Inbox {
    queue: Mutex<Queue>,
    /// The connection opened (or closed): requests need not wait for SETUP any more.
    established: AtomicBool,
}

/// What the router gets from [`Inbox::poll_take`].
#[derive(Debug)]
pub(super) struct Batch {
    /// The events, oldest first.
    pub(super) events: VecDeque<Event>,
    /// The driver waited for room: wake it.
    pub(super) wake_driver: bool,
}

impl Inbox {
    /// The queue, locked (a panic elsewhere leaves it usable).
    pub(super) fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether the connection opened (or closed) already.
    pub(super) fn is_established(&self) -> bool {
        self.established.load(Ordering::Acquire)
    }

    /// The relay saw the connection open (or closed).
    pub(super) fn set_established(&self) {
        self.established.store(true, Ordering::Release);
    }

    /// The driver has stopped: wakes the router, which fetches what is left itself.
    pub(super) fn stop(&self) {
        let waker = {
            let mut queue = self.lock();
            queue.stopped = true;
            queue.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Every queued event; `Ready(None)` once the queue is empty and the driver has
    /// stopped; `Pending` registers `cx`.
    pub(super) fn poll_take(&self, cx: &mut Context<'_>) -> Poll<Option<Batch>> {
        let mut queue = self.lock();
        if let Some(batch) = Self::take(&mut queue) {
            return Poll::Ready(Some(batch));
        }
        if queue.stopped {
            return Poll::Ready(None);
        }
        match &mut queue.waker {
            Some(current) if current.will_wake(cx.waker()) => {}
            slot => *slot = Some(cx.waker().clone()),
        }
        Poll::Pending
    }

    /// Every queued event, without waiting.
    pub(super) fn take_now(&self) -> Option<Batch> {
        Self::take(&mut self.lock())
    }

    fn take(queue: &mut Queue) -> Option<Batch> {
        if queue.events.is_empty() {
            return None;
        }
        Some(Batch {
            events: std::mem::take(&mut queue.events),
            wake_driver: std::mem::take(&mut queue.driver_waiting),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::task::Waker;

    #[test]
    fn a_full_inbox_makes_the_driver_wait_until_the_router_takes() {
        let inbox = Inbox::default();
        let mut cx = Context::from_waker(Waker::noop());
        assert!(inbox.poll_take(&mut cx).is_pending());
        {
            let mut queue = inbox.lock();
            for _ in 0..INBOX_EVENTS {
                assert!(queue.has_room());
                queue.push(Event::MetadataPush(Default::default()));
            }
            assert!(!queue.has_room(), "bounded");
            assert!(queue.waker_to_wake().is_some(), "the router waits");
        }
        let Poll::Ready(Some(batch)) = inbox.poll_take(&mut cx) else {
            panic!("a batch");
        };
        assert_eq!(batch.events.len(), INBOX_EVENTS);
        assert!(batch.wake_driver);
        assert!(inbox.take_now().is_none());
        inbox.stop();
        assert!(matches!(inbox.poll_take(&mut cx), Poll::Ready(None)));
    }
}
