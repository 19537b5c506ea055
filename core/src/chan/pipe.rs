//! The byte pipe: a bounded single-producer, single-consumer channel as a pure state machine.

use alloc::vec::Vec;

use super::error::{Cause, ChannelError};
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

    /// Room for more bytes now.
    pub fn free_space(&self) -> usize {
        match self.state {
            State::Open => self.ring.free(),
            _ => 0,
        }
    }

    /// Written bytes not yet visible to the reader.
    pub fn unflushed(&self) -> usize {
        self.ring.len() - self.published
    }

    /// Whether writing is over (closed or cancelled).
    pub fn is_closed_for_write(&self) -> bool {
        !matches!(self.state, State::Open)
    }

    fn check_writable(&self) -> Result<(), ChannelError> {
        match &self.state {
            State::Open => Ok(()),
            State::Closed => Err(ChannelError::ClosedForWrite),
            State::Cancelled(cause) => Err(ChannelError::Cancelled(cause.clone())),
        }
    }

    /// Copies as much of `data` as fits; returns the count. An empty `data` returns `Ok(0)`;
    /// a full pipe returns [`ChannelError::Blocked`].
    pub fn write(&mut self, data: &[u8]) -> Result<usize, ChannelError> {
        self.check_writable()?;
        if data.is_empty() {
            return Ok(0);
        }
        let n = self.ring.push(data);
        if n == 0 {
            return Err(ChannelError::Blocked);
        }
        self.after_write(n);
        Ok(n)
    }

    /// Writes all of `bytes` or nothing: for typed values that must not be split.
    pub fn write_array<const N: usize>(&mut self, bytes: [u8; N]) -> Result<(), ChannelError> {
        self.check_writable()?;
        if N > self.capacity() {
            return Err(ChannelError::MinExceedsCapacity {
                min: N,
                capacity: self.capacity(),
            });
        }
        if self.ring.free() < N {
            return Err(ChannelError::Blocked);
        }
        self.ring.push(&bytes);
        self.after_write(N);
        Ok(())
    }

    /// The contiguous free space after the written bytes, for a producer that writes in
    /// place (a socket reading straight into the pipe). Follow with [`commit`](Pipe::commit).
    /// Empty when the pipe is full.
    pub fn write_slot(&mut self) -> Result<&mut [u8], ChannelError> {
        self.check_writable()?;
        Ok(self.ring.write_slot())
    }

    /// Marks `n` bytes of the last [`write_slot`](Pipe::write_slot) as written.
    ///
    /// # Panics
    /// If `n` is larger than the free space.
    pub fn commit(&mut self, n: usize) -> Result<(), ChannelError> {
        self.check_writable()?;
        self.ring.commit(n);
        self.after_write(n);
        Ok(())
    }

    fn after_write(&mut self, n: usize) {
        self.total_written += n as u64;
        if self.auto_flush || self.unflushed() >= (self.capacity() / 2).max(1) {
            self.published = self.ring.len();
        }
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

    /// Published bytes the reader can take now.
    pub fn available(&self) -> usize {
        self.published
    }

    /// Whether the reader has seen everything: closed and drained, or cancelled.
    pub fn is_closed_for_read(&self) -> bool {
        match self.state {
            State::Open => false,
            State::Closed => self.ring.len() == 0,
            State::Cancelled(_) => true,
        }
    }

    /// Whether the writer closed gracefully (more data may still be buffered).
    pub fn is_write_closed_gracefully(&self) -> bool {
        matches!(self.state, State::Closed)
    }

    /// What the reader can see, as at most two slices (the ring may wrap).
    pub fn readable(&self) -> Result<(&[u8], &[u8]), ChannelError> {
        self.check_cancelled()?;
        Ok(self.ring.slices(self.published))
    }

    /// Marks `n` published bytes as read.
    ///
    /// # Panics
    /// If `n` is more than [`available`](Pipe::available).
    pub fn consume(&mut self, n: usize) {
        assert!(n <= self.published, "consume past the published bytes");
        self.ring.consume(n);
        self.published -= n;
        self.total_read += n as u64;
    }

    /// Fails with the right error when nothing is readable: the end (`Ok(false)`), the cause,
    /// or [`ChannelError::Blocked`]. `Ok(true)` when bytes are readable.
    fn readiness(&self) -> Result<bool, ChannelError> {
        self.check_cancelled()?;
        if self.published > 0 {
            Ok(true)
        } else if self.is_closed_for_read() {
            Ok(false)
        } else {
            Err(ChannelError::Blocked)
        }
    }

    /// Copies up to `dst.len()` published bytes out. `Ok(0)` means the end (or an empty
    /// `dst`); an open, empty pipe answers [`ChannelError::Blocked`].
    pub fn read(&mut self, dst: &mut [u8]) -> Result<usize, ChannelError> {
        if dst.is_empty() {
            self.check_cancelled()?;
            return Ok(0);
        }
        if !self.readiness()? {
            return Ok(0);
        }
        let n = dst.len().min(self.published);
        self.ring.copy_to(&mut dst[..n]);
        self.consume(n);
        Ok(n)
    }

    /// Appends up to `max` published bytes to `out`; `Ok(0)` means the end.
    pub fn read_into_vec(&mut self, out: &mut Vec<u8>, max: usize) -> Result<usize, ChannelError> {
        if max == 0 {
            self.check_cancelled()?;
            return Ok(0);
        }
        if !self.readiness()? {
            return Ok(0);
        }
        let n = max.min(self.published);
        let (a, b) = self.ring.slices(n);
        out.extend_from_slice(a);
        out.extend_from_slice(b);
        self.consume(n);
        Ok(n)
    }

    /// Whether at least `min` bytes are readable: `Ok(true)` if so, `Ok(false)` if the
    /// channel ended first (Ktor's `awaitContent`). A `min` above the capacity can never be
    /// met and is refused with [`ChannelError::MinExceedsCapacity`] instead of waiting forever.
    pub fn has_content(&self, min: usize) -> Result<bool, ChannelError> {
        self.check_cancelled()?;
        if min > self.capacity() {
            return Err(ChannelError::MinExceedsCapacity {
                min,
                capacity: self.capacity(),
            });
        }
        if self.published >= min {
            Ok(true)
        } else if self.is_closed_for_read() || self.is_write_closed_gracefully() {
            Ok(false)
        } else {
            Err(ChannelError::Blocked)
        }
    }

    /// Copies exactly `dst.len()` bytes without consuming them. Fails with
    /// [`ChannelError::UnexpectedEof`] if the channel ends first.
    pub fn peek(&self, dst: &mut [u8]) -> Result<(), ChannelError> {
        if self.has_content(dst.len())? {
            self.ring.copy_to(dst);
            Ok(())
        } else {
            Err(ChannelError::UnexpectedEof {
                needed: dst.len(),
                available: self.published,
            })
        }
    }

    /// Takes exactly `N` bytes, or nothing.
    pub fn read_array<const N: usize>(&mut self) -> Result<[u8; N], ChannelError> {
        let mut out = [0u8; N];
        self.peek(&mut out)?;
        self.consume(N);
        Ok(out)
    }

    /// Drops up to `max` published bytes; returns the count. `Ok(0)` means the end.
    pub fn discard(&mut self, max: usize) -> Result<usize, ChannelError> {
        if max == 0 {
            self.check_cancelled()?;
            return Ok(0);
        }
        if !self.readiness()? {
            return Ok(0);
        }
        let n = max.min(self.published);
        self.consume(n);
        Ok(n)
    }

    /// The readable byte at `index` (which must be below [`available`](Pipe::available)).
    pub(crate) fn byte_at(&self, index: usize) -> u8 {
        self.ring.get(index)
    }
}

macro_rules! typed_access {
    ($( $ty:ty => $read_be:ident, $read_le:ident, $write_be:ident, $write_le:ident; )*) => {
        /// Typed reads and writes. Big-endian is Ktor's default; `_le` variants read and
        /// write little-endian. Reads take the whole value or nothing; writes put the whole
        /// value or nothing.
        impl Pipe {
            $(
                #[doc = concat!("Reads a big-endian `", stringify!($ty), "`.")]
                pub fn $read_be(&mut self) -> Result<$ty, ChannelError> {
                    self.read_array().map(<$ty>::from_be_bytes)
                }
                #[doc = concat!("Reads a little-endian `", stringify!($ty), "`.")]
                pub fn $read_le(&mut self) -> Result<$ty, ChannelError> {
                    self.read_array().map(<$ty>::from_le_bytes)
                }
                #[doc = concat!("Writes a big-endian `", stringify!($ty), "`.")]
                pub fn $write_be(&mut self, value: $ty) -> Result<(), ChannelError> {
                    self.write_array(value.to_be_bytes())
                }
                #[doc = concat!("Writes a little-endian `", stringify!($ty), "`.")]
                pub fn $write_le(&mut self, value: $ty) -> Result<(), ChannelError> {
                    self.write_array(value.to_le_bytes())
                }
            )*
        }
    };
}

impl Pipe {
    /// Reads one byte.
    pub fn read_u8(&mut self) -> Result<u8, ChannelError> {
        self.read_array().map(u8::from_be_bytes)
    }
    /// Reads one signed byte.
    pub fn read_i8(&mut self) -> Result<i8, ChannelError> {
        self.read_array().map(i8::from_be_bytes)
    }
    /// Writes one byte.
    pub fn write_u8(&mut self, value: u8) -> Result<(), ChannelError> {
        self.write_array(value.to_be_bytes())
    }
    /// Writes one signed byte.
    pub fn write_i8(&mut self, value: i8) -> Result<(), ChannelError> {
        self.write_array(value.to_be_bytes())
    }
}

typed_access! {
    u16 => read_u16, read_u16_le, write_u16, write_u16_le;
    i16 => read_i16, read_i16_le, write_i16, write_i16_le;
    u32 => read_u32, read_u32_le, write_u32, write_u32_le;
    i32 => read_i32, read_i32_le, write_i32, write_i32_le;
    u64 => read_u64, read_u64_le, write_u64, write_u64_le;
    i64 => read_i64, read_i64_le, write_i64, write_i64_le;
    f32 => read_f32, read_f32_le, write_f32, write_f32_le;
    f64 => read_f64, read_f64_le, write_f64, write_f64_le;
}
