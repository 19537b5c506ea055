//! Where inbound events for each stream wait for the task that reads them.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};

use wirestate_core::rsocket::Payload;
use wirestate_core::rsocket::conn::StreamId;

use super::Error;

/// One stream's inbound side: items, then an end (complete or an error).
#[derive(Debug, Default)]
pub(crate) struct Slot {
    items: VecDeque<Payload>,
    end: Option<Result<(), Error>>,
    waker: Option<Waker>,
}

/// Every stream's slot, and the connection's end once it came.
#[derive(Debug, Default)]
pub(crate) struct Routes {
    slots: HashMap<StreamId, Slot>,
    closed: Option<Error>,
}

/// Locks `routes` (a panic elsewhere leaves them usable). Never take the connection's
/// lock while holding this one: the relay takes them in the other order.
pub(crate) fn lock(routes: &Mutex<Routes>) -> MutexGuard<'_, Routes> {
    routes.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Routes {
    /// A slot for a new stream; if the connection is over, the slot ends at once.
    pub(crate) fn open(&mut self, stream: StreamId) {
        let mut slot = Slot::default();
        if let Some(error) = &self.closed {
            slot.end = Some(Err(error.clone()));
        }
        self.slots.insert(stream, slot);
    }

    /// The stream's reader went away.
    pub(crate) fn forget(&mut self, stream: StreamId) {
        self.slots.remove(&stream);
    }

    fn slot(&mut self, stream: StreamId) -> Option<&mut Slot> {
        self.slots.get_mut(&stream)
    }

    pub(crate) fn next(&mut self, stream: StreamId, payload: Payload) {
        if let Some(slot) = self.slot(stream) {
            slot.items.push_back(payload);
            wake(slot);
        }
    }

    pub(crate) fn end(&mut self, stream: StreamId, end: Result<(), Error>) {
        if let Some(slot) = self.slot(stream) {
            slot.end.get_or_insert(end);
            wake(slot);
        }
    }

    /// The connection is over: every stream ends with `error`.
    pub(crate) fn close(&mut self, error: Error) {
        for slot in self.slots.values_mut() {
            slot.end.get_or_insert(Err(error.clone()));
            wake(slot);
        }
        self.closed.get_or_insert(error);
    }

    /// The next item, or the end (`Ready(None)` after completion, `Some(Err)` once for an
    /// error); `Pending` registers the waker.
    pub(crate) fn poll(
        &mut self,
        stream: StreamId,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Payload, Error>>> {
        let Some(slot) = self.slots.get_mut(&stream) else {
            return Poll::Ready(None);
        };
        if let Some(item) = slot.items.pop_front() {
            return Poll::Ready(Some(Ok(item)));
        }
        match slot.end.take() {
            Some(Ok(())) => {
                slot.end = Some(Ok(()));
                Poll::Ready(None)
            }
            Some(Err(error)) => {
                slot.end = Some(Ok(())); // reported once; the stream is over after it
                Poll::Ready(Some(Err(error)))
            }
            None => {
                slot.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

fn wake(slot: &mut Slot) {
    if let Some(waker) = slot.waker.take() {
        waker.wake();
    }
}
