//! The outbound queue: messages the write half queues for the driver to send.
//!
//! ```text
//!   write half ──▶ Outbox (no lock) ──▶ Drain (driver, under the connection's lock) ──Command::Send──▶ machine
//! ```
//!
//! The queue is a bounded `std::sync::mpsc` channel (lock-free). The driver drains it into
//! the machine at the start of every round, before it takes transmits, and after each round
//! publishes what the write half's fast path needs: the machine's buffered bytes and whether
//! it is open. Outgoing backpressure counts both what is queued here and what the machine
//! buffers, against the send high-water mark.
//!
//! A message queued while the machine is already closing (the peer's close, a fault or a
//! timeout raced it) is dropped by the driver without an error: the write half learns of
//! the close with its next send. Messages queued before a local close are never lost: every
//! direct command (`close`, `ping`) drains this queue first.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering, fence};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::task::{Context, Poll};

use atomic_waker::AtomicWaker;
use wirestate_core::Machine;
use wirestate_core::ws::{Command, Message};

use super::inbox::notify;
use super::{Error, WsConnection};
use crate::driver::LazyNow;
use crate::wire::Wire;

/// Messages the queue holds at most; the write half waits for room past that.
pub(super) const OUTBOX_MESSAGES: usize = 64;

/// What a queued message counts against the high-water mark: its frame at the largest
/// (a 14-byte header), as the machine will buffer it.
fn framed_len(message: &Message) -> u64 {
    message.len() as u64 + 14
}

/// What both sides see.
#[derive(Debug)]
struct Shared {
    /// Messages queued, and their bytes. Stored by the write half only.
    pushed: AtomicU64,
    pushed_bytes: AtomicU64,
    /// Messages the driver took from the queue (sent, or dropped once closing), and their
    /// bytes. Stored by the driver only.
    applied: AtomicU64,
    applied_bytes: AtomicU64,
    /// The machine's buffered (not yet transmitted) bytes at the driver's last look.
    buffered: AtomicU64,
    /// The machine is open (messages may be sent) at the driver's last look.
    open: AtomicBool,
    /// The driver has stopped.
    stopped: AtomicBool,
    /// The write half waits until queued plus buffered bytes are at most `writer_wants`.
    writer_waiting: AtomicBool,
    writer_wants: AtomicU64,
    writer_waker: AtomicWaker,
}

impl Shared {
    /// Bytes queued here or buffered in the machine, and messages queued here.
    fn level(&self) -> (u64, u64) {
        // Each side stores its counts after acting on the queue: they may lag it.
        let bytes = (self.pushed_bytes.load(Ordering::Acquire))
            .saturating_sub(self.applied_bytes.load(Ordering::Acquire));
        let messages = (self.pushed.load(Ordering::Acquire))
            .saturating_sub(self.applied.load(Ordering::Acquire));
        (bytes + self.buffered.load(Ordering::Acquire), messages)
    }
}

/// A new queue: the driver's side, and the write half's, which waits while more than
/// `high_water` bytes are queued or buffered.
pub(super) fn outbox(high_water: usize) -> (Drain, Outbox) {
    let shared = Arc::new(Shared {
        pushed: AtomicU64::new(0),
        pushed_bytes: AtomicU64::new(0),
        applied: AtomicU64::new(0),
        applied_bytes: AtomicU64::new(0),
        buffered: AtomicU64::new(0),
        open: AtomicBool::new(true), // a WebSocket is made once its connection opened
        stopped: AtomicBool::new(false),
        writer_waiting: AtomicBool::new(false),
        writer_wants: AtomicU64::new(0),
        writer_waker: AtomicWaker::new(),
    });
    let (tx, rx) = mpsc::sync_channel(OUTBOX_MESSAGES);
    let drain = Drain {
        shared: Arc::clone(&shared),
        rx,
        applied: 0,
        applied_bytes: 0,
    };
    let outbox = Outbox {
        shared,
        tx,
        pushed: 0,
        pushed_bytes: 0,
        high_water: high_water as u64,
    };
    (drain, outbox)
}

/// The driver's side: applies queued messages, under the connection's lock.
#[derive(Debug)]
pub(super) struct Drain {
    shared: Arc<Shared>,
    rx: Receiver<Message>,
    applied: u64,
    applied_bytes: u64,
}

impl Drain {
    /// Sends every queued message; returns whether there was any.
    pub(super) fn apply(
        &mut self,
        machine: &mut Wire<wirestate_core::ws::Connection>,
        now: &mut LazyNow,
    ) -> bool {
        let before = self.applied;
        while let Ok(message) = self.rx.try_recv() {
            self.applied += 1;
            self.applied_bytes += framed_len(&message);
            // Refused only once the machine is closing: the message lost a race with the
            // close (see the module docs).
            let _ = machine.command(now.get(), Command::Send(message));
        }
        if self.applied == before {
            return false;
        }
        self.shared
            .applied_bytes
            .store(self.applied_bytes, Ordering::Release);
        self.shared.applied.store(self.applied, Ordering::Release);
        true
    }

    /// Publishes the machine's buffered bytes and whether it is open; wakes a waiting write
    /// half if what it waits for now holds.
    pub(super) fn publish(&mut self, machine: &wirestate_core::ws::Connection) {
        let open = machine.is_open();
        self.shared
            .buffered
            .store(machine.buffered_amount() as u64, Ordering::Release);
        self.shared.open.store(open, Ordering::Release);
        fence(Ordering::SeqCst);
        if !self.shared.writer_waiting.load(Ordering::Relaxed) {
            return;
        }
        let (bytes, messages) = self.shared.level();
        let wants = self.shared.writer_wants.load(Ordering::Relaxed);
        let room = bytes <= wants && messages < OUTBOX_MESSAGES as u64;
        if !open || room {
            notify(&self.shared.writer_waiting, &self.shared.writer_waker);
        }
    }

    /// The driver has stopped: nothing queued will be sent.
    pub(super) fn stop(&mut self) {
        self.shared.stopped.store(true, Ordering::SeqCst);
        self.shared.writer_waker.wake();
    }
}

/// The write half's side: queues messages without a lock.
#[derive(Debug)]
pub(super) struct Outbox {
    shared: Arc<Shared>,
    tx: SyncSender<Message>,
    pushed: u64,
    pushed_bytes: u64,
    high_water: u64,
}

impl Outbox {
    /// Ready once a message may be queued: room below the high-water mark, or the
    /// connection is closing (the send then reports it); [`Error::AlreadyClosed`] once the
    /// driver has stopped.
    pub(super) fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let high_water = self.high_water;
        self.poll_until(cx, high_water, |shared| {
            if shared.stopped.load(Ordering::Acquire) {
                return Some(Err(Error::AlreadyClosed));
            }
            let (bytes, messages) = shared.level();
            let room = bytes <= high_water && messages < OUTBOX_MESSAGES as u64;
            (room || !shared.open.load(Ordering::Acquire)).then_some(Ok(()))
        })
    }

    /// Ready once every queued message was handed to the transport;
    /// [`Error::AlreadyClosed`] if the driver stopped first.
    pub(super) fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.poll_until(cx, 0, |shared| {
            if shared.level() == (0, 0) {
                return Some(Ok(()));
            }
            shared
                .stopped
                .load(Ordering::Acquire)
                .then_some(Err(Error::AlreadyClosed))
        })
    }

    /// Checks `ready`; if it does not hold, says what the write half waits for, registers
    /// `cx` and checks again (so that a driver publishing meanwhile is not missed).
    fn poll_until(
        &mut self,
        cx: &mut Context<'_>,
        wants: u64,
        ready: impl Fn(&Shared) -> Option<Result<(), Error>>,
    ) -> Poll<Result<(), Error>> {
        if let Some(result) = ready(&self.shared) {
            return Poll::Ready(result);
        }
        self.shared.writer_waker.register(cx.waker());
        self.shared.writer_wants.store(wants, Ordering::Relaxed);
        self.shared.writer_waiting.store(true, Ordering::Relaxed);
        fence(Ordering::SeqCst);
        match ready(&self.shared) {
            Some(result) => {
                self.shared.writer_waiting.store(false, Ordering::Relaxed);
                Poll::Ready(result)
            }
            None => Poll::Pending,
        }
    }

    /// Queues `message` and wakes the driver. [`Error::AlreadyClosed`] once the connection
    /// is closing or the driver has stopped.
    pub(super) fn push(&mut self, message: Message, conn: &WsConnection) -> Result<(), Error> {
        let shared = &self.shared;
        if shared.stopped.load(Ordering::Acquire) || !shared.open.load(Ordering::Acquire) {
            return Err(Error::AlreadyClosed);
        }
        let len = framed_len(&message);
        match self.tx.try_send(message) {
            Ok(()) => {
                self.pushed += 1;
                self.pushed_bytes += len;
                shared
                    .pushed_bytes
                    .store(self.pushed_bytes, Ordering::Release);
                shared.pushed.store(self.pushed, Ordering::Release);
                conn.wake_driver();
                Ok(())
            }
            // Sent without waiting for room: under the lock, after what is queued.
            Err(TrySendError::Full(message)) => conn
                .command(Command::Send(message))
                .map_err(Error::from_usage),
            Err(TrySendError::Disconnected(_)) => Err(Error::AlreadyClosed),
        }
    }
}
