//! The inbound queue: events the driver moves out of the machine for the read half.
//!
//! ```text
//!   machine ──poll_event──▶ Filler (driver, under the connection's lock) ──▶ Inbox (read half, no lock)
//! ```
//!
//! The queue is a bounded `std::sync::mpsc` channel (lock-free). The rest is counters that
//! each side stores alone (the driver what it delivered, the read half what it took) and a
//! few flags, so neither side does an atomic read-modify-write per event.
//!
//! # The read half's "back for more"
//!
//! The machine holds a peer's fault back while the application may still be answering the
//! messages it was given, and releases it when the application comes back to an empty event
//! queue (`poll_event` on an empty queue), so that the answers go out before the close frame
//! (Autobahn 3.x, 4.x, 5.15). The driver therefore never calls `poll_event` on the machine's
//! empty queue on its own: only when the read half has taken everything delivered and asked
//! for more (`asked_after` equals what was delivered, plus one). A later delivery makes the
//! request stale by itself.
//!
//! # Bounds and wakes
//!
//! The queue holds at most [`INBOX_EVENTS`] events and [`INBOX_BYTES`] bytes of them (plus
//! one event: a message larger than that still moves, alone). Past that the driver leaves
//! events in the machine, whose own budget then stops input (TCP backpressure), and says it
//! waits; the read half wakes it once the queue is half empty. Every wait (the read half's
//! for events, the driver's for room or for a request) is announced with a flag, a SeqCst
//! fence and a second look, as in `chan::spsc`: no wake is lost.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering, fence};
use std::sync::mpsc::{self, Receiver, SyncSender, TryRecvError, TrySendError};
use std::task::{Context, Poll};

use atomic_waker::AtomicWaker;
use wirestate_core::Machine;
use wirestate_core::ws::Event;

use super::WsConnection;
use crate::wire::Wire;

/// Events the queue holds at most.
pub(super) const INBOX_EVENTS: usize = 64;

/// Bytes of events the queue holds at most (plus one event).
pub(super) const INBOX_BYTES: u64 = 1024 * 1024;

/// What an event costs against the byte budget: its payload plus a fixed share, as in the
/// machine's own queue.
fn cost(event: &Event) -> u64 {
    let payload = match event {
        Event::Message(message) | Event::Fragment { piece: message, .. } => message.len(),
        _ => 0,
    };
    64 + payload as u64
}

/// What both sides see.
#[derive(Debug, Default)]
struct Shared {
    /// Events delivered, and their cost. Stored by the driver only.
    delivered: AtomicU64,
    delivered_bytes: AtomicU64,
    /// Events taken, and their cost. Stored by the read half only.
    taken: AtomicU64,
    taken_bytes: AtomicU64,
    /// The read half came back to an empty queue having taken this many events, plus one
    /// (0: never). Stored by the read half only.
    asked_after: AtomicU64,
    /// The read half waits for an event.
    reader_waiting: AtomicBool,
    reader_waker: AtomicWaker,
    /// The driver left events in the machine for want of room here.
    driver_waiting: AtomicBool,
    /// The machine takes no input: a fault it holds back may wait for a request.
    stalled: AtomicBool,
    /// The driver has stopped: no more events come unless the read half fetches them.
    stopped: AtomicBool,
}

/// A new queue: the driver's side, and the read half's.
pub(super) fn inbox() -> (Filler, Inbox) {
    let shared = Arc::new(Shared::default());
    let (tx, rx) = mpsc::sync_channel(INBOX_EVENTS);
    let filler = Filler {
        shared: Arc::clone(&shared),
        tx,
        delivered: 0,
        delivered_bytes: 0,
    };
    let inbox = Inbox {
        shared,
        rx,
        taken: 0,
        taken_bytes: 0,
    };
    (filler, inbox)
}

/// The driver's side: moves events out of the machine, under the connection's lock.
#[derive(Debug)]
pub(super) struct Filler {
    shared: Arc<Shared>,
    tx: SyncSender<Event>,
    delivered: u64,
    delivered_bytes: u64,
}

impl Filler {
    /// Moves the machine's events into the queue while there is room, and asks the machine
    /// for more on an empty queue if the read half asked. Returns whether that released a
    /// held-back fault (the machine then has a close frame to transmit).
    pub(super) fn fill(&mut self, machine: &mut Wire<wirestate_core::ws::Connection>) -> bool {
        let before = self.delivered;
        let mut released = false;
        loop {
            if machine.has_events() {
                if !self.has_room() {
                    break;
                }
                if let Some(event) = machine.poll_event() {
                    self.deliver(event);
                }
                continue;
            }
            // The machine's queue is empty. Say whether it takes input before looking for a
            // request: a read half that asks after this look sees the flag and wakes us.
            self.shared
                .stalled
                .store(!machine.wants_read(), Ordering::Relaxed);
            fence(Ordering::SeqCst);
            if self.shared.asked_after.load(Ordering::Relaxed) != self.delivered + 1 {
                break;
            }
            match machine.poll_event() {
                Some(event) => {
                    released = true;
                    self.deliver(event);
                }
                None => break,
            }
        }
        if self.delivered != before {
            notify(&self.shared.reader_waiting, &self.shared.reader_waker);
        }
        released
    }

    /// The driver has stopped: the read half fetches what is left itself.
    pub(super) fn stop(&mut self) {
        self.shared.stopped.store(true, Ordering::SeqCst);
        self.shared.reader_waker.wake();
    }

    /// Whether one more event may go in; if not, says that the driver waits for room
    /// (and looks once more, so that a read half freeing room meanwhile is not missed).
    fn has_room(&mut self) -> bool {
        if self.room() {
            return true;
        }
        self.shared.driver_waiting.store(true, Ordering::Relaxed);
        fence(Ordering::SeqCst);
        if self.room() {
            self.shared.driver_waiting.store(false, Ordering::Relaxed);
            return true;
        }
        false
    }

    fn room(&self) -> bool {
        let events = self.delivered - self.shared.taken.load(Ordering::Acquire);
        let bytes = self.delivered_bytes - self.shared.taken_bytes.load(Ordering::Acquire);
        events == 0 || (events < INBOX_EVENTS as u64 && bytes < INBOX_BYTES)
    }

    fn deliver(&mut self, event: Event) {
        if matches!(event, Event::Ping(_) | Event::Pong(_)) {
            return; // answered by the machine already; the halves do not report them
        }
        let cost = cost(&event);
        match self.tx.try_send(event) {
            Ok(()) => {
                self.delivered += 1;
                self.delivered_bytes += cost;
                self.shared
                    .delivered_bytes
                    .store(self.delivered_bytes, Ordering::Release);
                self.shared
                    .delivered
                    .store(self.delivered, Ordering::Release);
            }
            // The read half is gone: nobody will read it, and it costs nothing to drop.
            Err(TrySendError::Disconnected(_)) => {}
            Err(TrySendError::Full(_)) => {
                unreachable!("the inbox was checked for room before delivering")
            }
        }
    }
}

/// The read half's side: takes events without a lock.
#[derive(Debug)]
pub(super) struct Inbox {
    shared: Arc<Shared>,
    rx: Receiver<Event>,
    taken: u64,
    taken_bytes: u64,
}

impl Inbox {
    /// The next event: `Ready(None)` once the queue is empty and the driver has stopped
    /// (what the machine still holds must then be fetched under the lock, see
    /// `WsConnection::sync_relay`). `Pending` asks the driver for more and registers `cx`.
    pub(super) fn poll_next(
        &mut self,
        cx: &mut Context<'_>,
        conn: &WsConnection,
    ) -> Poll<Option<Event>> {
        if let Some(event) = self.take(conn) {
            return Poll::Ready(Some(event));
        }
        if let Some(event) = self.try_next(cx, conn) {
            return Poll::Ready(Some(event));
        }
        match self.shared.stopped.load(Ordering::Acquire) {
            true => Poll::Ready(None),
            false => Poll::Pending,
        }
    }

    /// Back at an empty queue: registers `cx`, asks for more, looks again.
    fn try_next(&mut self, cx: &mut Context<'_>, conn: &WsConnection) -> Option<Event> {
        let shared = &self.shared;
        shared.reader_waker.register(cx.waker());
        shared.reader_waiting.store(true, Ordering::Relaxed);
        shared.asked_after.store(self.taken + 1, Ordering::Relaxed);
        fence(Ordering::SeqCst);
        if let Some(event) = self.take(conn) {
            self.shared.reader_waiting.store(false, Ordering::Relaxed);
            return Some(event);
        }
        // The driver looks for the request when it next runs; wake it if it may not run
        // on its own: it waits for room, or the machine takes no input (a held-back fault).
        let waiting = self.shared.driver_waiting.load(Ordering::Relaxed)
            && self.shared.driver_waiting.swap(false, Ordering::AcqRel);
        if waiting || self.shared.stalled.load(Ordering::Relaxed) {
            conn.wake_driver();
        }
        None
    }

    /// Takes an event if one is queued; wakes a driver waiting for room once the queue is
    /// half empty.
    fn take(&mut self, conn: &WsConnection) -> Option<Event> {
        let event = match self.rx.try_recv() {
            Ok(event) => event,
            Err(TryRecvError::Empty | TryRecvError::Disconnected) => return None,
        };
        self.taken += 1;
        self.taken_bytes += cost(&event);
        self.shared
            .taken_bytes
            .store(self.taken_bytes, Ordering::Release);
        self.shared.taken.store(self.taken, Ordering::Release);
        if self.shared.driver_waiting.load(Ordering::Relaxed)
            && self.half_empty()
            && self.shared.driver_waiting.swap(false, Ordering::AcqRel)
        {
            conn.wake_driver();
        }
        Some(event)
    }

    fn half_empty(&self) -> bool {
        // The driver stores its counts after sending: they may lag what was taken.
        let delivered = self.shared.delivered.load(Ordering::Acquire);
        let delivered_bytes = self.shared.delivered_bytes.load(Ordering::Acquire);
        let events = delivered.saturating_sub(self.taken);
        let bytes = delivered_bytes.saturating_sub(self.taken_bytes);
        events <= INBOX_EVENTS as u64 / 2 && bytes <= INBOX_BYTES / 2
    }
}

/// After a change the other side may wait for: wake it if it said it waits.
pub(super) fn notify(waiting: &AtomicBool, waker: &AtomicWaker) {
    fence(Ordering::SeqCst);
    if waiting.load(Ordering::Relaxed) && waiting.swap(false, Ordering::AcqRel) {
        waker.wake();
    }
}
