//! The byte pipe: a bounded single-producer, single-consumer channel as a pure state machine.

use super::error::{Cause, ChannelError};
use super::io::{ByteSink, ByteSource};
use super::ring::Ring;

/// Default capacity of a pipe: 64 KiB.
pub const DEFAULT_CAPACITY: usize = 64 * 1024;

/// How a [`Pipe`] is set up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PipeConfig {
    /// The most bytes the pipe holds, written and not yet read. At least 1.
    pub capacity: usize,
    /// Publish every write at once, as if `flush` followed it (Ktor's `autoFlush`).
    pub auto_flush: bool,
}

impl Default for PipeConfig {
    fn default() -> Self {
        PipeConfig {
            capacity: DEFAULT_CAPACITY,
            auto_flush: false,
        }
    }
}

impl PipeConfig {
    /// A configuration with the given capacity (at least 1 is enforced) and no auto-flush.
    pub fn with_capacity(capacity: usize) -> Self {
        PipeConfig {
            capacity: capacity.max(1),
            auto_flush: false,
        }
    }

    /// The same configuration with auto-flush set to `on`.
    pub fn auto_flush(mut self, on: bool) -> Self {
        self.auto_flush = on;
        self
    }
}

/// Where the pipe is in its life.
#[derive(Debug, Clone)]
enum State {
    /// Both sides may act.
    Open,
    /// The writer closed gracefully: everything written is published, the reader drains and
    /// then sees the end.
    Closed,
    /// A side cancelled: buffered bytes are gone and every operation reports the cause.
    Cancelled(Cause),
}

/// A bounded single-producer, single-consumer byte pipe, modelled on Ktor's `ByteChannel`.
///
/// ```text
///   writer ── write/commit ──▶ [ unflushed │ published ] ── read/consume ──▶ reader
///                     flush ────────┘ (auto_flush, or half the capacity, publishes too)
/// ```
///
/// - Written bytes are private to the writer until [`flush`](Pipe::flush) publishes them
///   (or `auto_flush` is on). Once unflushed bytes reach half the capacity they are published
///   anyway, so a writer that forgets to flush can never deadlock against its own buffer.
/// - [`close`](Pipe::close) is graceful: it publishes everything, the reader drains, then
///   reads report the end (`Ok(0)`).
/// - [`cancel`](Pipe::cancel), from either side, is abortive: buffered bytes are dropped and
///   every later call on either side returns [`ChannelError::Cancelled`] with the first cause.
/// - No call ever waits: when nothing can happen the answer is [`ChannelError::Blocked`], and
///   the adapter decides whether to park a thread or return `Pending`.
/// - The ring is allocated on the first write, never before.
#[derive(Debug)]
pub struct Pipe {
    ring: Ring,
    /// Bytes at the front of the ring that the reader may see.
    published: usize,
    auto_flush: bool,
    state: State,
    total_written: u64,
    total_read: u64,
}

impl Default for Pipe {
    fn default() -> Self {
        Pipe::new(PipeConfig::default())
    }
}

impl Pipe {
    /// An empty, open pipe. Allocates nothing.
    pub const fn new(config: PipeConfig) -> Self {
        let capacity = if config.capacity == 0 {
            1
        } else {
            config.capacity
        };
        Pipe {
            ring: Ring::new(capacity),
            published: 0,
            auto_flush: config.auto_flush,
            state: State::Open,
            total_written: 0,
            total_read: 0,
        }
    }

    // ---- shared getters -----------------------------------------------------------------

    /// The most bytes the pipe holds.
    pub fn capacity(&self) -> usize {
        self.ring.capacity()
    }

    /// Whether writes publish at once.
    pub fn is_auto_flush(&self) -> bool {
        self.auto_flush
    }

    /// The cause, once cancelled.
    pub fn closed_cause(&self) -> Option<&Cause> {
        match &self.state {
            State::Cancelled(cause) => Some(cause),
            _ => None,
        }
    }

    /// Whether the ring currently holds heap memory.
    pub fn is_allocated(&self) -> bool {
        self.ring.is_allocated()
    }

    /// Gives the ring's memory back if it is empty (an idle channel costs no heap).
    pub fn shrink_if_empty(&mut self) {
        self.ring.shrink_if_empty();
    }

    fn check_cancelled(&self) -> Result<(), ChannelError> {
        match &self.state {
            State::Cancelled(cause) => Err(ChannelError::Cancelled(cause.clone())),
            _ => Ok(()),
        }
    }

    // ---- write side ---------------------------------------------------------------------

    /// Bytes written since the pipe was created.
    pub fn total_written(&self) -> u64 {
        self.total_written
    }

    /// Written bytes not yet visible to the reader.
    pub fn unflushed(&self) -> usize {
        self.ring.len() - self.published
    }

    /// Whether writing is over (closed or cancelled).
    pub fn is_closed_for_write(&self) -> bool {
        !matches!(self.state, State::Open)
    }

    /// Makes every written byte visible to the reader; returns how many became visible.
    pub fn flush(&mut self) -> Result<usize, ChannelError> {
        self.check_cancelled()?;
        let newly = self.unflushed();
        self.published = self.ring.len();
        Ok(newly)
    }

    /// Graceful close: publishes everything; the reader drains, then sees the end.
    /// Closing twice is a no-op; closing a cancelled pipe reports the cause.
    pub fn close(&mut self) -> Result<(), ChannelError> {
        self.check_cancelled()?;
        self.published = self.ring.len();
        self.state = State::Closed;
        Ok(())
    }

    /// Abortive close from either side: drops buffered bytes and makes every later call on
    /// both sides report `cause`. The first cause wins; cancelling again is a no-op.
    pub fn cancel(&mut self, cause: Cause) {
        if matches!(self.state, State::Cancelled(_)) {
            return;
        }
        self.ring.release();
        self.published = 0;
        self.state = State::Cancelled(cause);
    }

    // ---- read side ----------------------------------------------------------------------

    /// Bytes read since the pipe was created.
    pub fn total_read(&self) -> u64 {
        self.total_read
    }

    /// Whether the writer closed gracefully (more data may still be buffered).
    pub fn is_write_closed_gracefully(&self) -> bool {
        matches!(self.state, State::Closed)
    }
}

impl ByteSource for Pipe {
    fn readable(&self) -> Result<(&[u8], &[u8]), ChannelError> {
        self.check_cancelled()?;
        Ok(self.ring.slices(self.published))
    }

    fn consume(&mut self, n: usize) {
        assert!(n <= self.published, "consume past the published bytes");
        self.ring.consume(n);
        self.published -= n;
        self.total_read += n as u64;
    }

    fn is_ended(&self) -> bool {
        matches!(self.state, State::Closed)
    }

    fn capacity(&self) -> usize {
        Pipe::capacity(self)
    }

    fn available(&self) -> usize {
        self.published
    }

    fn byte_at(&self, index: usize) -> u8 {
        self.ring.get(index)
    }
}

impl ByteSink for Pipe {
    fn writable(&self) -> Result<(), ChannelError> {
        match &self.state {
            State::Open => Ok(()),
            State::Closed => Err(ChannelError::ClosedForWrite),
            State::Cancelled(cause) => Err(ChannelError::Cancelled(cause.clone())),
        }
    }

    fn write_slots(&mut self) -> Result<(&mut [u8], &mut [u8]), ChannelError> {
        self.writable()?;
        Ok(self.ring.write_slots())
    }

    fn commit(&mut self, n: usize) -> Result<(), ChannelError> {
        self.writable()?;
        self.ring.commit(n);
        self.total_written += n as u64;
        if self.auto_flush || self.unflushed() >= (self.capacity() / 2).max(1) {
            self.published = self.ring.len();
        }
        Ok(())
    }

    fn free_space(&self) -> usize {
        match self.state {
            State::Open => self.ring.free(),
            _ => 0,
        }
    }

    fn capacity(&self) -> usize {
        Pipe::capacity(self)
    }
}
