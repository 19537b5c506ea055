//! The lock-free ring shared by a channel's two halves.
//!
//! The channel semantics (reads, writes, typed values, lines, `has_content`) live in the
//! core's [`ByteSource`] and [`ByteSink`] traits; this module only provides their slice
//! primitives across two threads without a lock, which is what makes a small write and read
//! cost a few nanoseconds instead of two lock round trips.
//!
//! # Ownership of the bytes (the safety argument)
//!
//! Positions run over `0..2 * capacity`, so a full ring and an empty one differ.
//!
//! - The **reader** owns `[head, tail)`: published bytes. Only it moves `head`.
//! - The **writer** owns `[end, head + capacity)`: free space, and `[tail, end)`: bytes it
//!   wrote but has not published. Only it moves `tail` and `end`.
//!
//! The writer publishes with a release store of `tail` after writing the bytes; the reader
//! loads `tail` with acquire before reading them. The reader frees space with a release
//! store of `head` after reading; the writer loads `head` with acquire before reusing it.
//! Each side creates slices only over the region it owns, and only while it holds `&self`
//! or `&mut self` of its own half, which cannot outlive the borrow. So no byte is ever
//! accessed by both sides at once, and every access is ordered by those release/acquire
//! pairs.
//!
//! # Waking without a lock
//!
//! A side that must wait registers its waker, sets its `waiting` flag, issues a SeqCst fence
//! and tries again; the other side, after publishing or consuming, issues a SeqCst fence and
//! wakes the waiter only if its flag is set. By the fences, either the waiter's retry sees
//! the change or the other side sees the flag (Dekker's argument), so no wakeup is lost and
//! a side that never waits costs no atomic read-modify-write.

use std::cell::{Cell, UnsafeCell};
use std::io;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering, fence};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};

use atomic_waker::AtomicWaker;
use wirestate_core::chan::{ByteSink, ByteSource, Cause, ChannelError, PipeConfig, copy_bytes};

const CANCELLED: u8 = 1;
const CLOSED: u8 = 2;

/// The state both halves share.
struct Shared {
    capacity: usize,
    /// Allocated by the first write.
    buf: OnceLock<Box<[Line]>>,
    /// End of the published bytes. Stored only by the writer.
    tail: AtomicUsize,
    /// Start of the unread bytes. Stored only by the reader.
    head: AtomicUsize,
    flags: AtomicU8,
    cause: OnceLock<Cause>,
    reader_waiting: AtomicBool,
    writer_waiting: AtomicBool,
    reader_waker: AtomicWaker,
    writer_waker: AtomicWaker,
}

// SAFETY: the only non-`Sync` field is the byte buffer, whose cells are accessed under the
// ownership rules in the module docs: each byte belongs to exactly one side at a time, and
// hand-overs are ordered by release/acquire stores and loads of `tail` and `head`.
unsafe impl Sync for Shared {}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("capacity", &self.capacity)
            .field("tail", &self.tail)
            .field("head", &self.head)
            .field("flags", &self.flags)
            .finish_non_exhaustive()
    }
}

impl Shared {
    fn advance(&self, pos: usize, n: usize) -> usize {
        let next = pos + n;
        if next >= 2 * self.capacity {
            next - 2 * self.capacity
        } else {
            next
        }
    }

    fn distance(&self, from: usize, to: usize) -> usize {
        if to >= from {
            to - from
        } else {
            to + 2 * self.capacity - from
        }
    }

    fn index(&self, pos: usize) -> usize {
        if pos >= self.capacity {
            pos - self.capacity
        } else {
            pos
        }
    }

    fn base(&self) -> Option<*mut u8> {
        self.buf.get().map(|cells| cells_base(cells))
    }

    /// The buffer, allocated on first use.
    fn buffer(&self) -> *mut u8 {
        let capacity = self.capacity;
        let lines = capacity.div_ceil(LINE);
        cells_base(self.buf.get_or_init(|| {
            (0..lines)
                .map(|_| Line(UnsafeCell::new([0; LINE])))
                .collect()
        }))
    }

    #[inline]
    fn is_cancelled(&self) -> bool {
        self.flags.load(Ordering::Acquire) & CANCELLED != 0
    }

    /// The cancellation as an error; out of line, off the hot path.
    #[cold]
    fn cancelled_error(&self) -> ChannelError {
        let cause = self.cause.get().cloned();
        ChannelError::Cancelled(cause.unwrap_or_else(|| Cause::message("cancelled")))
    }

    fn cancelled(&self) -> Option<ChannelError> {
        self.is_cancelled().then(|| self.cancelled_error())
    }

    fn cancel(&self, cause: Cause) {
        let _ = self.cause.set(cause); // the first cause wins
        self.flags.fetch_or(CANCELLED, Ordering::SeqCst);
        self.reader_waker.wake();
        self.writer_waker.wake();
    }

    /// After a change the other side may wait for: wake it if it said it waits.
    fn notify(waiting: &AtomicBool, waker: &AtomicWaker) {
        fence(Ordering::SeqCst);
        if waiting.load(Ordering::Relaxed) && waiting.swap(false, Ordering::AcqRel) {
            waker.wake();
        }
    }
}

/// Bytes per storage line.
const LINE: usize = 64;

/// One cache line of ring storage. Aligning the ring to cache lines keeps bulk copies in and
/// out of it on the fast path of `memcpy` (unaligned rings measured about 15% slower).
#[repr(C, align(64))]
struct Line(UnsafeCell<[u8; LINE]>);

/// The first byte of the storage. The lines are contiguous without padding (size equals
/// alignment), so the storage is one byte array, all of it inside `UnsafeCell`s.
fn cells_base(lines: &[Line]) -> *mut u8 {
    lines.as_ptr().cast::<u8>().cast_mut()
}

/// A new ring with `config`'s capacity (at least 1) and flush rule.
pub(crate) fn ring(config: PipeConfig) -> (RingWriter, RingReader) {
    // Positions run to twice the capacity: keep that representable.
    let capacity = config.capacity.clamp(1, usize::MAX / 4);
    let shared = Arc::new(Shared {
        capacity,
        buf: OnceLock::new(),
        tail: AtomicUsize::new(0),
        head: AtomicUsize::new(0),
        flags: AtomicU8::new(0),
        cause: OnceLock::new(),
        reader_waiting: AtomicBool::new(false),
        writer_waiting: AtomicBool::new(false),
        reader_waker: AtomicWaker::new(),
        writer_waker: AtomicWaker::new(),
    });
    let writer = RingWriter {
        shared: shared.clone(),
        tail: 0,
        end: 0,
        closed: false,
        auto_flush: config.auto_flush,
        slot_free: 0,
        total_written: 0,
    };
    let reader = RingReader {
        shared,
        head: 0,
        ended: Cell::new(false),
        total_read: 0,
    };
    (writer, reader)
}

/// Polls `op`; on `Blocked`, registers to be woken and tries once more before `Pending`.
fn poll_side<S, T>(
    side: &mut S,
    cx: &mut Context<'_>,
    waiting: impl Fn(&S) -> (&AtomicBool, &AtomicWaker),
    mut op: impl FnMut(&mut S) -> Result<T, ChannelError>,
) -> Poll<Result<T, ChannelError>> {
    match op(side) {
        Err(ChannelError::Blocked) => {}
        done => return Poll::Ready(done),
    }
    {
        let (flag, waker) = waiting(side);
        waker.register(cx.waker());
        flag.store(true, Ordering::Relaxed);
    }
    fence(Ordering::SeqCst);
    match op(side) {
        Err(ChannelError::Blocked) => Poll::Pending,
        done => {
            waiting(side).0.store(false, Ordering::Relaxed);
            Poll::Ready(done)
        }
    }
}

/// Maps a finished poll's channel error to `io::Error`.
pub(crate) fn into_io<T>(
    poll: Poll<Result<T, ChannelError>>,
    to_io: impl FnOnce(ChannelError) -> io::Error,
) -> Poll<io::Result<T>> {
    poll.map(|result| result.map_err(to_io))
}

/// The writer's half of the ring.
#[derive(Debug)]
pub(crate) struct RingWriter {
    shared: Arc<Shared>,
    /// What the reader was last shown (a copy of `shared.tail`).
    tail: usize,
    /// End of the written bytes; `[tail, end)` is written but unpublished.
    end: usize,
    closed: bool,
    auto_flush: bool,
    /// The free space the last `write_slots` showed: `commit` checks against it.
    slot_free: usize,
    total_written: u64,
}

impl RingWriter {
    pub(crate) fn total_written(&self) -> u64 {
        self.total_written
    }

    pub(crate) fn is_auto_flush(&self) -> bool {
        self.auto_flush
    }

    pub(crate) fn set_auto_flush(&mut self, on: bool) {
        self.auto_flush = on;
    }

    pub(crate) fn closed_cause(&self) -> Option<Cause> {
        closed_cause(&self.shared)
    }

    pub(crate) fn is_closed_for_write(&self) -> bool {
        self.closed || self.shared.cancelled().is_some()
    }

    /// Whether the reader has taken every published byte.
    pub(crate) fn is_drained(&self) -> bool {
        self.shared.head.load(Ordering::Acquire) == self.tail
    }

    /// Whether every written byte was published and taken: the ring is empty.
    pub(crate) fn is_idle(&self) -> bool {
        self.end == self.tail && self.is_drained()
    }

    /// Counts bytes that went to the reader's destination without passing the ring.
    pub(crate) fn count_written_through(&mut self, n: usize) {
        self.total_written += n as u64;
    }

    /// The first `len` bytes of the free region, as the part up to the ring's end and the
    /// part from its start (empty unless the region wraps). `len` is at most the free space.
    #[inline]
    fn free_slots(&mut self, len: usize) -> (&mut [u8], &mut [u8]) {
        if len == 0 {
            return (&mut [], &mut []);
        }
        let shared = &*self.shared;
        let capacity = shared.capacity;
        let base = shared.buffer();
        let start = shared.index(self.end);
        let first = len.min(capacity - start);
        let second = len - first;
        // SAFETY: `[end, end + len)` lies in the writer's free region (module docs): the
        // reader released it with its last `head` store, loaded with acquire in
        // `free_space`, and will not read it before a later `tail` store. `first` bytes
        // from index `start` and `second` bytes from index 0 are that region, they do not
        // overlap (the second part ends at the head's index, which is at most `start`),
        // both lie inside the buffer, and the slices borrow `self` mutably, so no other
        // slice of this half exists while they live.
        unsafe {
            (
                std::slice::from_raw_parts_mut(base.add(start), first),
                std::slice::from_raw_parts_mut(base, second),
            )
        }
    }

    /// Counts `n` freshly written bytes and publishes them if the flush rule says so.
    #[inline]
    fn wrote(&mut self, n: usize) {
        self.end = self.shared.advance(self.end, n);
        self.total_written += n as u64;
        if self.auto_flush || self.unflushed() >= (self.shared.capacity / 2).max(1) {
            self.publish();
        }
    }

    fn unflushed(&self) -> usize {
        self.shared.distance(self.tail, self.end)
    }

    fn publish(&mut self) -> usize {
        let newly = self.unflushed();
        if newly > 0 {
            self.tail = self.end;
            self.shared.tail.store(self.end, Ordering::Release);
            Shared::notify(&self.shared.reader_waiting, &self.shared.reader_waker);
        }
        newly
    }

    /// Makes every written byte visible to the reader; returns how many became visible.
    pub(crate) fn flush(&mut self) -> Result<usize, ChannelError> {
        match self.shared.cancelled() {
            Some(error) => Err(error),
            None => Ok(self.publish()),
        }
    }

    /// Graceful close: publishes everything, then marks the end.
    pub(crate) fn close(&mut self) -> Result<(), ChannelError> {
        if let Some(error) = self.shared.cancelled() {
            return Err(error);
        }
        self.publish();
        if !self.closed {
            self.closed = true;
            // Released after the last `tail` store: a reader that sees CLOSED sees all bytes.
            self.shared.flags.fetch_or(CLOSED, Ordering::Release);
            Shared::notify(&self.shared.reader_waiting, &self.shared.reader_waker);
        }
        Ok(())
    }

    pub(crate) fn cancel(&self, cause: Cause) {
        self.shared.cancel(cause);
    }

    /// Polls `op` on this half, waiting for the reader when it reports `Blocked`.
    pub(crate) fn poll<T>(
        &mut self,
        cx: &mut Context<'_>,
        op: impl FnMut(&mut Self) -> Result<T, ChannelError>,
    ) -> Poll<Result<T, ChannelError>> {
        poll_side(
            self,
            cx,
            |w| (&w.shared.writer_waiting, &w.shared.writer_waker),
            op,
        )
    }
}

impl ByteSink for RingWriter {
    #[inline]
    fn writable(&self) -> Result<(), ChannelError> {
        if self.shared.is_cancelled() {
            Err(self.shared.cancelled_error())
        } else if self.closed {
            Err(ChannelError::ClosedForWrite)
        } else {
            Ok(())
        }
    }

    fn write_slots(&mut self) -> Result<(&mut [u8], &mut [u8]), ChannelError> {
        self.writable()?;
        let free = self.free_space();
        self.slot_free = free;
        Ok(self.free_slots(free))
    }

    fn commit(&mut self, n: usize) -> Result<(), ChannelError> {
        self.writable()?;
        assert!(n <= self.slot_free, "commit past the free space");
        self.slot_free -= n;
        self.wrote(n);
        Ok(())
    }

    /// The hot path of every write: one check, one load of `head`, the copy, the publish.
    #[inline]
    fn write(&mut self, data: &[u8]) -> Result<usize, ChannelError> {
        self.writable()?;
        self.slot_free = 0; // slots shown before are stale once this writes

        let n = self.free_space().min(data.len());
        if n == 0 {
            return if data.is_empty() {
                Ok(0)
            } else {
                Err(ChannelError::Blocked)
            };
        }
        let (first, second) = self.free_slots(n);
        let (a, b) = data[..n].split_at(first.len());
        copy_bytes(first, a);
        if !b.is_empty() {
            // Only when the free space wraps: skipping it saves a memcpy call.
            copy_bytes(second, b);
        }
        self.wrote(n);
        Ok(n)
    }

    fn free_space(&self) -> usize {
        if self.closed {
            return 0;
        }
        let head = self.shared.head.load(Ordering::Acquire);
        self.shared.capacity - self.shared.distance(head, self.end)
    }

    fn capacity(&self) -> usize {
        self.shared.capacity
    }
}

impl Drop for RingWriter {
    fn drop(&mut self) {
        // Like piper and tokio: a dropped writer is a graceful end, not an abort.
        let _ = self.close();
    }
}

/// The reader's half of the ring.
#[derive(Debug)]
pub(crate) struct RingReader {
    shared: Arc<Shared>,
    /// A copy of `shared.head`.
    head: usize,
    /// Whether the writer had closed as of the last `readable` or `read`, read before `tail`
    /// so that "ended" always covers every byte the writer wrote.
    ended: Cell<bool>,
    total_read: u64,
}

impl RingReader {
    pub(crate) fn total_read(&self) -> u64 {
        self.total_read
    }

    /// Whether nothing is readable yet and more may come: open, not ended, empty.
    pub(crate) fn is_waiting(&self) -> bool {
        matches!(self.readable(), Ok((a, b)) if a.is_empty() && b.is_empty() && !self.is_ended())
    }

    /// Counts bytes the reader took from the writer's source without passing the ring.
    pub(crate) fn count_read_through(&mut self, n: usize) {
        self.total_read += n as u64;
    }

    pub(crate) fn closed_cause(&self) -> Option<Cause> {
        closed_cause(&self.shared)
    }

    pub(crate) fn cancel(&self, cause: Cause) {
        self.shared.cancel(cause);
    }

    /// Polls `op` on this half, waiting for the writer when it reports `Blocked`.
    pub(crate) fn poll<T>(
        &mut self,
        cx: &mut Context<'_>,
        op: impl FnMut(&mut Self) -> Result<T, ChannelError>,
    ) -> Poll<Result<T, ChannelError>> {
        poll_side(
            self,
            cx,
            |r| (&r.shared.reader_waiting, &r.shared.reader_waker),
            op,
        )
    }
}

impl RingReader {
    /// Whether the writer had closed, and the published end, after checking for
    /// cancellation. The flags are read before `tail`, so that "closed" covers every byte up
    /// to that end.
    #[inline]
    fn published(&self) -> Result<(bool, usize), ChannelError> {
        let shared = &*self.shared;
        let flags = shared.flags.load(Ordering::Acquire);
        if flags & CANCELLED != 0 {
            return Err(shared.cancelled_error());
        }
        Ok((flags & CLOSED != 0, shared.tail.load(Ordering::Acquire)))
    }

    /// Frees `n` read bytes for the writer and wakes it if it waits for room.
    #[inline]
    fn release(&mut self, n: usize) {
        self.head = self.shared.advance(self.head, n);
        self.total_read += n as u64;
        self.shared.head.store(self.head, Ordering::Release);
        Shared::notify(&self.shared.writer_waiting, &self.shared.writer_waker);
    }

    /// The first `len` unread bytes, as the part up to the ring's end and the part from its
    /// start (empty unless they wrap). `len` is at most what `published` showed.
    #[inline]
    fn unread(&self, len: usize) -> (&[u8], &[u8]) {
        let shared = &*self.shared;
        let Some(base) = shared.base().filter(|_| len > 0) else {
            return (&[], &[]);
        };
        let start = shared.index(self.head);
        let first = len.min(shared.capacity - start);
        // SAFETY: `[head, head + len)` lies in the reader's region (module docs): the writer
        // wrote it before its release store of `tail`, which `published` observed with
        // acquire, and will not write it again before a later `head` store, which only
        // `consume` (taking `&mut self`, so not while these slices live) makes. `first`
        // bytes from `start` and `len - first` from 0 lie inside the buffer and do not
        // overlap.
        unsafe {
            (
                std::slice::from_raw_parts(base.add(start), first),
                std::slice::from_raw_parts(base, len - first),
            )
        }
    }
}

impl ByteSource for RingReader {
    fn readable(&self) -> Result<(&[u8], &[u8]), ChannelError> {
        let (closed, tail) = self.published()?;
        self.ended.set(closed);
        Ok(self.unread(self.shared.distance(self.head, tail)))
    }

    /// The hot path of every read: one check, one load of `tail`, the copy, the release.
    #[inline]
    fn read(&mut self, dst: &mut [u8]) -> Result<usize, ChannelError> {
        let (closed, tail) = self.published()?;
        self.ended.set(closed);
        let n = self.shared.distance(self.head, tail).min(dst.len());
        if n == 0 {
            return if dst.is_empty() || closed {
                Ok(0)
            } else {
                Err(ChannelError::Blocked)
            };
        }
        let (a, b) = self.unread(n);
        let (front, back) = dst[..n].split_at_mut(a.len());
        copy_bytes(front, a);
        if !b.is_empty() {
            // Only when the bytes wrap: skipping it saves a memcpy call.
            copy_bytes(back, b);
        }
        self.release(n);
        Ok(n)
    }

    fn consume(&mut self, n: usize) {
        // Only published bytes can be consumed (`tail` only grows, so a fresh load bounds
        // whatever an earlier `readable` showed).
        let tail = self.shared.tail.load(Ordering::Acquire);
        assert!(
            n <= self.shared.distance(self.head, tail),
            "consume past the published bytes"
        );
        if n > 0 {
            self.release(n);
        }
    }

    fn is_ended(&self) -> bool {
        self.ended.get()
    }

    fn capacity(&self) -> usize {
        self.shared.capacity
    }
}

impl Drop for RingReader {
    fn drop(&mut self) {
        if !self.is_closed_for_read() {
            self.shared.cancel(Cause::new(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "byte channel reader dropped",
            )));
        }
    }
}

fn closed_cause(shared: &Shared) -> Option<Cause> {
    match shared.cancelled() {
        Some(ChannelError::Cancelled(cause)) => Some(cause),
        _ => None,
    }
}
