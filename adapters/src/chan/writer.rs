//! The write half of a byte channel.

use std::future::poll_fn;
use std::io;
use std::sync::Arc;
use std::task::{Context, Poll};

use wirestate_core::chan::{ByteSink, Cause, ChannelError, TypedWrite};

use super::io_error::{Side, cause_like, to_io_error};
use super::spsc::{RingWriter, into_io};

/// The write half of a byte channel (Ktor's `ByteWriteChannel`).
///
/// Written bytes become visible to the reader on [`flush`](Self::flush), at once with
/// `auto_flush`, and in any case once half the capacity is unflushed (so a forgotten flush
/// cannot deadlock the writer). Writes wait only while the channel is full.
///
/// Implements `futures_io::AsyncWrite` (`poll_flush` publishes, `poll_close` closes
/// gracefully) and, with the `tokio` feature, `tokio::io::AsyncWrite`. Dropping the writer
/// closes the channel gracefully: the reader drains, then sees the end.
pub struct ByteWriter {
    ring: RingWriter,
    /// Where the blocking view writes itself while the ring is empty (a blocking socket).
    through: Option<Arc<dyn WriteThrough>>,
}

impl std::fmt::Debug for ByteWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ByteWriter")
            .field("ring", &self.ring)
            .field("write_through", &self.through.is_some())
            .finish()
    }
}

/// The destination a channel's reader forwards to, which a blocking writer may write to
/// itself: a blocking socket's stream, whose write pump would otherwise take the bytes on
/// another thread. Skipping that hand-off matters most where threads outnumber cores.
pub(crate) trait WriteThrough: Send + Sync {
    /// Writes some of `buf`, blocking until the destination takes at least one byte.
    fn write_through(&self, buf: &[u8]) -> io::Result<usize>;
}

impl ByteWriter {
    pub(crate) fn new(ring: RingWriter) -> Self {
        ByteWriter {
            ring,
            through: None,
        }
    }

    /// Lets the blocking view write to `sink` itself while the ring is empty.
    #[cfg(any(feature = "blocking", test))]
    pub(crate) fn set_write_through(&mut self, sink: Arc<dyn WriteThrough>) {
        self.through = Some(sink);
    }

    /// For the blocking view: writes some of `buf` straight to the write-through sink when
    /// that keeps the byte order and the flush rule, `None` otherwise (use the ring).
    ///
    /// The ring must be empty: every byte written before was consumed, so the reader (the
    /// socket's write pump) has finished writing it and is idle. And the bytes must be due
    /// at once: with auto-flush, or a write of half the capacity or more, which the ring
    /// would publish at once anyway; smaller writes without auto-flush still gather in the
    /// ring until a flush.
    pub(crate) fn try_write_through(&mut self, buf: &[u8]) -> Option<io::Result<usize>> {
        let sink = self.through.as_ref()?;
        let due = self.ring.is_auto_flush() || buf.len() >= self.ring.capacity() / 2;
        if buf.is_empty() || !due || !self.ring.is_idle() || self.ring.is_closed_for_write() {
            return None;
        }
        let written = match sink.write_through(buf) {
            // A destination that takes nothing would have the caller retry forever.
            Ok(0) => Err(io::ErrorKind::WriteZero.into()),
            other => other,
        };
        Some(match written {
            Ok(n) => {
                self.ring.count_written_through(n);
                Ok(n)
            }
            Err(error) => {
                // As the pump would: both sides now report the socket's error.
                self.ring.cancel(cause_like(&error));
                Err(error)
            }
        })
    }

    fn poll_ring<T>(
        &mut self,
        cx: &mut Context<'_>,
        op: impl FnMut(&mut RingWriter) -> Result<T, ChannelError>,
    ) -> Poll<io::Result<T>> {
        into_io(self.ring.poll(cx, op), |error| {
            to_io_error(error, Side::Writer)
        })
    }

    // ---- poll primitives --------------------------------------------------------------

    /// Writes as much of `buf` as fits, waiting only if nothing fits.
    pub fn poll_write_available(
        &mut self,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_ring(cx, |ring| ring.write(buf))
    }

    /// Waits until the channel has room, then lets `fill` write into its first free slot in
    /// place (a socket reading straight into the channel) and commits what it wrote. `fill`
    /// returning `Pending` or an error commits nothing. This is how a producer avoids an
    /// intermediate buffer.
    pub fn poll_fill(
        &mut self,
        cx: &mut Context<'_>,
        fill: impl FnOnce(&mut [u8], &mut Context<'_>) -> Poll<io::Result<usize>>,
    ) -> Poll<io::Result<usize>> {
        let room = self.poll_ring(cx, |ring| {
            if ring.free_space() > 0 {
                Ok(())
            } else {
                ring.writable()?; // a closed or cancelled channel will never have room
                Err(ChannelError::Blocked)
            }
        });
        match room {
            Poll::Ready(Ok(())) => {}
            Poll::Ready(Err(error)) => return Poll::Ready(Err(error)),
            Poll::Pending => return Poll::Pending,
        }
        let slot = match self.ring.write_slot() {
            Ok(slot) => slot,
            Err(error) => return Poll::Ready(Err(to_io_error(error, Side::Writer))),
        };
        let n = match fill(slot, cx) {
            Poll::Ready(Ok(n)) => n,
            other => return other,
        };
        Poll::Ready(
            self.ring
                .commit(n)
                .map(|()| n)
                .map_err(|error| to_io_error(error, Side::Writer)),
        )
    }

    /// Publishes everything written. Never waits.
    pub fn poll_flush_now(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_ring(cx, |ring| ring.flush().map(drop))
    }

    /// Publishes everything written, then waits until the reader has taken it all (or the
    /// channel is over for the reader).
    pub fn poll_flush_delivered(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_ring(cx, |ring| {
            ring.flush()?;
            if ring.is_drained() {
                Ok(())
            } else {
                Err(ChannelError::Blocked)
            }
        })
    }

    /// Graceful close: publishes everything; the reader drains, then sees the end.
    pub fn poll_close_now(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_ring(cx, |ring| ring.close())
    }

    // ---- async API --------------------------------------------------------------------

    /// Writes as much of `buf` as fits, waiting only while the channel is full.
    pub async fn write_available(&mut self, buf: &[u8]) -> io::Result<usize> {
        // Room in the ring needs no future machinery: only a wait goes through the poll path.
        match self.ring.write(buf) {
            Err(ChannelError::Blocked) => poll_fn(|cx| self.poll_write_available(cx, buf)).await,
            done => done.map_err(|error| to_io_error(error, Side::Writer)),
        }
    }

    /// Writes all of `buf`, waiting for room as needed (Ktor's `writeFully`).
    pub async fn write_all(&mut self, mut buf: &[u8]) -> io::Result<()> {
        while !buf.is_empty() {
            let n = self.write_available(buf).await?;
            buf = &buf[n..];
        }
        Ok(())
    }

    /// Writes the UTF-8 bytes of `text`.
    pub async fn write_str(&mut self, text: &str) -> io::Result<()> {
        self.write_all(text.as_bytes()).await
    }

    /// Publishes everything written so far to the reader. Never waits.
    pub async fn flush(&mut self) -> io::Result<()> {
        poll_fn(|cx| self.poll_flush_now(cx)).await
    }

    /// Publishes, then waits until the reader has taken every byte (or is gone).
    pub async fn flush_delivered(&mut self) -> io::Result<()> {
        poll_fn(|cx| self.poll_flush_delivered(cx)).await
    }

    /// Publishes everything and closes the channel gracefully (Ktor's `flushAndClose`).
    pub async fn flush_and_close(&mut self) -> io::Result<()> {
        poll_fn(|cx| self.poll_close_now(cx)).await
    }

    /// Closes gracefully without waiting (Ktor's `BufferedByteWriteChannel.close`).
    /// Closing twice is fine; closing a cancelled channel reports the cause.
    pub fn close(&mut self) -> io::Result<()> {
        self.ring
            .close()
            .map_err(|error| to_io_error(error, Side::Writer))
    }

    // ---- state ------------------------------------------------------------------------

    /// Room for more bytes now.
    pub fn available_for_write(&self) -> usize {
        self.ring.free_space()
    }

    /// Bytes written so far.
    pub fn total_written(&self) -> u64 {
        self.ring.total_written()
    }

    /// Whether writing is over (closed or cancelled).
    pub fn is_closed_for_write(&self) -> bool {
        self.ring.is_closed_for_write()
    }

    /// Publishes every later write at once (or stops doing so); Ktor's `autoFlush`.
    pub fn set_auto_flush(&mut self, on: bool) {
        self.ring.set_auto_flush(on);
    }

    /// Whether every write is published at once.
    pub fn auto_flush(&self) -> bool {
        self.ring.is_auto_flush()
    }

    /// The cancellation cause, if the channel was cancelled.
    pub fn closed_cause(&self) -> Option<Cause> {
        self.ring.closed_cause()
    }

    /// The capacity of the channel.
    pub fn capacity(&self) -> usize {
        self.ring.capacity()
    }

    /// Aborts the channel: buffered bytes are dropped and the reader fails with
    /// `ConnectionAborted`.
    pub fn cancel(&self) {
        self.cancel_with(Cause::new(io::Error::new(
            io::ErrorKind::ConnectionAborted,
            "byte channel cancelled by the writer",
        )));
    }

    /// Aborts the channel with a cause both sides will report. Store an `io::Error` to
    /// choose the `io::ErrorKind` the reader sees.
    pub fn cancel_with(&self, cause: Cause) {
        self.ring.cancel(cause);
    }

    /// A blocking `std::io::Write` view for plain threads (Ktor's `asSink`): writes park
    /// only while the channel is full, and `flush` parks until the reader has taken every
    /// byte.
    ///
    /// Never use it on an async executor's worker thread.
    pub fn blocking(&mut self) -> super::blocking::BlockingWriter<'_> {
        super::blocking::BlockingWriter::new(self)
    }
}

macro_rules! async_typed_writes {
    ($( $ty:ty => $be:ident, $le:ident; )*) => {
        impl ByteWriter {
            $(
                #[doc = concat!("Writes a big-endian `", stringify!($ty), "` (Ktor's default order).")]
                pub async fn $be(&mut self, value: $ty) -> io::Result<()> {
                    poll_fn(|cx| self.poll_ring(cx, |ring| ring.$be(value))).await
                }
                #[doc = concat!("Writes a little-endian `", stringify!($ty), "`.")]
                pub async fn $le(&mut self, value: $ty) -> io::Result<()> {
                    poll_fn(|cx| self.poll_ring(cx, |ring| ring.$le(value))).await
                }
            )*
        }
    };
}

async_typed_writes! {
    u16 => write_u16, write_u16_le;
    i16 => write_i16, write_i16_le;
    u32 => write_u32, write_u32_le;
    i32 => write_i32, write_i32_le;
    u64 => write_u64, write_u64_le;
    i64 => write_i64, write_i64_le;
    f32 => write_f32, write_f32_le;
    f64 => write_f64, write_f64_le;
}

impl ByteWriter {
    /// Writes one byte.
    pub async fn write_u8(&mut self, value: u8) -> io::Result<()> {
        poll_fn(|cx| self.poll_ring(cx, |ring| ring.write_u8(value))).await
    }

    /// Writes one signed byte.
    pub async fn write_i8(&mut self, value: i8) -> io::Result<()> {
        poll_fn(|cx| self.poll_ring(cx, |ring| ring.write_i8(value))).await
    }
}
