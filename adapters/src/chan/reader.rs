//! The read half of a byte channel.

use std::future::poll_fn;
use std::io;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use wirestate_core::chan::{
    ByteSink, ByteSource, Cause, ChannelError, Delimited, LineEnding, LineReader, PipeConfig,
    TypedRead,
};

use super::io_error::{Side, cause_like, to_io_error};
use super::spsc::{RingReader, into_io, ring};
use super::writer::ByteWriter;

/// The read half of a byte channel (Ktor's `ByteReadChannel`).
///
/// Every method works from any executor (it only uses wakers); [`blocking`](Self::blocking)
/// gives a `std::io::Read + BufRead` view for plain threads. Reads see bytes once the writer
/// flushes them. At the end of the channel reads return `0` (or `None`, or `false`); after a
/// cancellation every read fails with the cause.
///
/// Implements `futures_io::{AsyncRead, AsyncBufRead}` and, with the `tokio` feature,
/// `tokio::io::{AsyncRead, AsyncBufRead}`. Dropping the reader cancels the channel: the
/// writer's next call fails with `BrokenPipe`.
pub struct ByteReader {
    ring: RingReader,
    line: LineReader,
    /// Where the reader fetches bytes itself when the ring runs dry (a socket).
    source: Option<Source>,
}

/// Where a reader whose channel is empty fetches bytes itself, instead of waiting for a
/// pump to hand them over.
enum Source {
    /// A blocking socket, which a waiting blocking view reads (see [`ReadThrough`]).
    #[cfg_attr(not(any(feature = "blocking", test)), allow(dead_code))]
    Thread(Arc<dyn ReadThrough>),
    /// An async socket's read half, which whatever task polls the reader reads (see
    /// [`PollSource`]).
    #[cfg_attr(not(feature = "tokio"), allow(dead_code))]
    Polled(Box<dyn PollSource>),
}

impl std::fmt::Debug for ByteReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ByteReader")
            .field("ring", &self.ring)
            .field("line", &self.line)
            .field("reads_its_source", &self.source.is_some())
            .finish()
    }
}

/// The source that feeds a channel's writer, which a blocking read view can read itself: a
/// blocking socket, whose read pump thread is then not needed. With one thread doing the
/// reading, as with a plain `TcpStream`, no bytes wait for a hand-off.
pub(crate) trait ReadThrough: Send + Sync {
    /// Called from a blocking read view's wait (see `park::reading_through`): moves what the
    /// source has next into the channel, blocking until it has something (or ends, or
    /// fails, which closes or cancels the channel). `false` if a pump thread owns the
    /// source, or it is over: then the reader waits as usual.
    fn fill(&self) -> bool;
    /// Called from any other wait (an executor, which must not block, or a block-on loop
    /// with other work): makes sure a pump thread feeds the channel from now on.
    fn pump(&self);
    /// Like [`fill`](Self::fill), but reads into `buf` instead of the channel, for a reader
    /// whose channel is empty (so no byte can overtake another). `None` if a pump thread
    /// owns the source. An end or an error closes or cancels the channel, as `fill` does.
    fn read_into(&self, buf: &mut [u8]) -> Option<io::Result<usize>>;
}

/// The source that feeds a channel's writer, polled by the channel's reader when it finds
/// the channel empty: an async socket's read half, which then needs no pump task, so no
/// bytes wait for a hand-off between tasks and no task is woken to pass them on. The
/// source belongs to the reader alone (it holds the channel's writer).
pub(crate) trait PollSource: Send {
    /// Moves what the source has next into the channel: `Ready` once bytes moved, or the
    /// end closed the channel, or an error cancelled it.
    fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<()>;
    /// Reads straight into `buf`, for a reader whose channel is empty (so no byte can
    /// overtake another): `Ready(n)` with `n > 0` bytes, or `Ready(0)` once the end closed
    /// the channel or an error cancelled it (the channel then tells which).
    fn poll_read_into(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<usize>;
}

/// The smallest read that goes from a read-through source straight into the caller's
/// buffer: from about this size on, one system call per read costs less than the copy out
/// of the ring it saves.
const READ_THROUGH_MIN: usize = 16 * 1024;

impl ByteReader {
    pub(crate) fn new(ring: RingReader) -> Self {
        ByteReader {
            ring,
            line: LineReader::new(),
            source: None,
        }
    }

    /// For the blocking view: reads from the read-through source straight into `buf` when
    /// the channel is empty and `buf` is large, `None` otherwise (use the channel).
    pub(crate) fn try_read_through(&mut self, buf: &mut [u8]) -> Option<io::Result<usize>> {
        let Some(Source::Thread(source)) = &self.source else {
            return None;
        };
        if buf.len() < READ_THROUGH_MIN || !self.ring.is_waiting() {
            return None;
        }
        let read = source.read_into(buf)?;
        if let Ok(n) = read {
            self.ring.count_read_through(n);
        }
        Some(read)
    }

    /// Lets a waiting reader fetch its bytes from `source` (see [`ReadThrough`]).
    #[cfg(any(feature = "blocking", test))]
    pub(crate) fn set_read_through(&mut self, source: Arc<dyn ReadThrough>) {
        self.source = Some(Source::Thread(source));
    }

    /// Makes the reader poll `source` itself whenever its channel is empty (see
    /// [`PollSource`]).
    #[cfg(feature = "tokio")]
    pub(crate) fn set_poll_source(&mut self, source: Box<dyn PollSource>) {
        self.source = Some(Source::Polled(source));
    }

    /// A reader over `bytes` that ends after them.
    pub fn from_bytes(bytes: impl Into<Bytes>) -> Self {
        let bytes: Bytes = bytes.into();
        let (mut writer, reader) = ring(PipeConfig::with_capacity(bytes.len().max(1)));
        let written = writer.write(&bytes).unwrap_or(0);
        debug_assert_eq!(written, bytes.len());
        let _ = writer.close();
        ByteReader::new(reader)
    }

    /// A reader that is already at its end (Ktor's `ByteReadChannel.Empty`).
    pub fn empty() -> Self {
        ByteReader::from_bytes(Bytes::new())
    }

    /// Runs a pipe operation, waiting for the writer while it reports `Blocked`.
    fn poll_pipe<T>(
        &mut self,
        cx: &mut Context<'_>,
        mut op: impl FnMut(&mut RingReader, &mut LineReader) -> Result<T, ChannelError>,
    ) -> Poll<io::Result<T>> {
        if let Some(Source::Polled(source)) = &mut self.source {
            // Only the source writes to this ring: wait for it, not for the ring's wake
            // (which its own fill would spend on this very task).
            loop {
                match op(&mut self.ring, &mut self.line) {
                    Err(ChannelError::Blocked) => {}
                    done => return Poll::Ready(done.map_err(|e| to_io_error(e, Side::Reader))),
                }
                std::task::ready!(source.poll_fill(cx)); // bytes, the end or an error
            }
        }
        loop {
            let line = &mut self.line;
            let poll = self.ring.poll(cx, |ring| op(ring, line));
            if let (Poll::Pending, Some(Source::Thread(source))) = (&poll, &self.source) {
                if crate::park::is_reading_through() && source.fill() {
                    continue; // the source moved something (or the end) into the ring
                }
                // A pump feeds the channel from now on (or nothing will): done with the source.
                source.pump();
                self.source = None;
            }
            return into_io(poll, |error| to_io_error(error, Side::Reader));
        }
    }

    // ---- poll primitives --------------------------------------------------------------

    /// Reads up to `buf.len()` bytes; `Ok(0)` at the end.
    pub fn poll_read_available(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        // A large read of an empty channel goes straight from the source into `buf`: one
        // copy, as from the socket itself, instead of two.
        if let Some(Source::Polled(source)) = &mut self.source {
            if buf.len() >= READ_THROUGH_MIN && self.ring.is_waiting() {
                match source.poll_read_into(cx, buf) {
                    Poll::Ready(0) => {} // ended or failed: the channel says which
                    Poll::Ready(n) => {
                        self.ring.count_read_through(n);
                        return Poll::Ready(Ok(n));
                    }
                    Poll::Pending => return Poll::Pending,
                }
            }
        }
        self.poll_pipe(cx, |pipe, _| pipe.read(buf))
    }

    /// The `AsyncBufRead` view: the readable bytes in place, lent from the channel's ring
    /// without a copy (the first contiguous part when the ring wraps). Empty at the end.
    pub fn poll_fill_buf(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        match self.poll_pipe(cx, |ring, _| ring.has_content(1)) {
            Poll::Ready(Ok(_)) => {}
            Poll::Ready(Err(error)) => return Poll::Ready(Err(error)),
            Poll::Pending => return Poll::Pending,
        }
        let readable = self.ring.readable();
        Poll::Ready(
            readable
                .map(|(first, _)| first)
                .map_err(|error| to_io_error(error, Side::Reader)),
        )
    }

    /// Marks `amount` bytes of the last [`poll_fill_buf`](Self::poll_fill_buf) view as read
    /// (at most what is readable, as std's `BufReader` clamps).
    pub fn consume_view(&mut self, amount: usize) {
        let amount = amount.min(self.ring.available());
        self.ring.consume(amount);
    }

    // ---- async API --------------------------------------------------------------------

    /// Reads what is available into `buf`, waiting only if nothing is; `Ok(0)` at the end.
    pub async fn read_available(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // Published bytes need no future machinery: only a wait goes through the poll path.
        match self.ring.read(buf) {
            Err(ChannelError::Blocked) => poll_fn(|cx| self.poll_read_available(cx, buf)).await,
            done => done.map_err(|error| to_io_error(error, Side::Reader)),
        }
    }

    /// Fills `buf` completely, or fails with `UnexpectedEof` (Ktor's `readFully`).
    /// Works for any length: it consumes as it goes, so `buf` may exceed the capacity.
    pub async fn read_exact(&mut self, buf: &mut [u8]) -> io::Result<()> {
        let mut filled = 0;
        while filled < buf.len() {
            match self.read_available(&mut buf[filled..]).await? {
                0 => {
                    return Err(to_io_error(
                        ChannelError::UnexpectedEof {
                            needed: buf.len(),
                            available: filled,
                        },
                        Side::Reader,
                    ));
                }
                n => filled += n,
            }
        }
        Ok(())
    }

    /// Waits until at least `min` bytes are readable: `true`, or `false` if the channel ends
    /// first (Ktor's `awaitContent`). A `min` above the capacity fails at once with
    /// `InvalidInput` instead of waiting forever.
    pub async fn await_content(&mut self, min: usize) -> io::Result<bool> {
        poll_fn(|cx| self.poll_pipe(cx, |pipe, _| pipe.has_content(min))).await
    }

    /// Copies the next `buf.len()` bytes without consuming them; `UnexpectedEof` if the
    /// channel ends first.
    pub async fn peek(&mut self, buf: &mut [u8]) -> io::Result<()> {
        poll_fn(|cx| self.poll_pipe(cx, |pipe, _| pipe.peek(buf))).await
    }

    /// Drops up to `max` bytes, waiting for them; returns how many were dropped (fewer only
    /// at the end).
    pub async fn discard(&mut self, max: u64) -> io::Result<u64> {
        let mut dropped = 0u64;
        while dropped < max {
            let want = usize::try_from(max - dropped).unwrap_or(usize::MAX);
            match poll_fn(|cx| self.poll_pipe(cx, |pipe, _| pipe.discard(want))).await? {
                0 => break,
                n => dropped += n as u64,
            }
        }
        Ok(dropped)
    }

    /// Appends everything up to the end to `out`; fails with `InvalidData` (and stops) once
    /// more than `limit` bytes would be appended. Returns the count appended.
    pub async fn read_to_end(&mut self, out: &mut Vec<u8>, limit: usize) -> io::Result<usize> {
        let start = out.len();
        loop {
            let room = limit - (out.len() - start);
            let n = poll_fn(|cx| {
                self.poll_pipe(cx, |pipe, _| {
                    if room == 0 {
                        // One more byte would break the limit: only the end is acceptable.
                        return match pipe.has_content(1)? {
                            true => Err(ChannelError::LimitExceeded { limit }),
                            false => Ok(0),
                        };
                    }
                    pipe.read_into_vec(out, room)
                })
            })
            .await?;
            if n == 0 {
                return Ok(out.len() - start);
            }
        }
    }

    /// Everything up to the end as `Bytes`, at most `limit` bytes (Ktor's `readBuffer`).
    pub async fn read_to_bytes(&mut self, limit: usize) -> io::Result<Bytes> {
        let mut out = Vec::new();
        self.read_to_end(&mut out, limit).await?;
        Ok(out.into())
    }

    /// Reads one line into `line` (appending, without the line ending). `limit` counts
    /// content bytes in UTF-8; a longer line fails with `InvalidData` instead of being
    /// split. Returns `false` at the end of the channel.
    ///
    /// Cancel-safe: if the future is dropped, the bytes taken so far stay in the reader and
    /// the next `read_line` continues the same line.
    pub async fn read_line(
        &mut self,
        line: &mut String,
        limit: usize,
        ending: LineEnding,
    ) -> io::Result<bool> {
        let mut bytes = Vec::new();
        let found = self.read_line_bytes(&mut bytes, limit, ending).await?;
        let text = String::from_utf8(bytes)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.utf8_error()))?;
        line.push_str(&text);
        Ok(found)
    }

    /// Like [`read_line`](Self::read_line), as bytes, with no UTF-8 check.
    pub async fn read_line_bytes(
        &mut self,
        line: &mut Vec<u8>,
        limit: usize,
        ending: LineEnding,
    ) -> io::Result<bool> {
        let outcome = poll_fn(|cx| {
            self.poll_pipe(cx, |pipe, reader| {
                reader.read_line(pipe, line, limit, ending)
            })
        })
        .await?;
        Ok(!matches!(outcome, Delimited::End))
    }

    /// Appends bytes up to `delimiter` (consumed, not appended) to `out`; `limit` bounds the
    /// content. Returns what happened: found, or the end with or without bytes.
    pub async fn read_until(
        &mut self,
        delimiter: u8,
        out: &mut Vec<u8>,
        limit: usize,
    ) -> io::Result<Delimited> {
        poll_fn(|cx| {
            self.poll_pipe(cx, |pipe, reader| {
                reader.read_until(pipe, delimiter, out, limit)
            })
        })
        .await
    }

    /// Copies everything to `to`, flushing after each chunk, until the end or `limit`
    /// bytes. Returns the count. On failure the other channel is cancelled with the error
    /// (Ktor's `copyTo`); `to` is not closed.
    pub async fn copy_to(&mut self, to: &mut ByteWriter, limit: u64) -> io::Result<u64> {
        let mut chunk = vec![0u8; 16 * 1024];
        let mut copied = 0u64;
        while copied < limit {
            let want = chunk
                .len()
                .min(usize::try_from(limit - copied).unwrap_or(usize::MAX));
            let n = match self.read_available(&mut chunk[..want]).await {
                Ok(0) => break,
                Ok(n) => n,
                Err(error) => {
                    to.cancel_with(cause_like(&error));
                    return Err(error);
                }
            };
            if let Err(error) = async {
                to.write_all(&chunk[..n]).await?;
                to.flush().await
            }
            .await
            {
                self.cancel_with(cause_like(&error));
                return Err(error);
            }
            copied += n as u64;
        }
        Ok(copied)
    }

    /// [`copy_to`](Self::copy_to) with no limit, then closes `to` gracefully (Ktor's
    /// `copyAndClose`).
    pub async fn copy_and_close(&mut self, to: &mut ByteWriter) -> io::Result<u64> {
        let copied = self.copy_to(to, u64::MAX).await?;
        to.flush_and_close().await?;
        Ok(copied)
    }

    // ---- state ------------------------------------------------------------------------

    /// Bytes readable now without waiting.
    pub fn available_for_read(&self) -> usize {
        self.ring.available()
    }

    /// Bytes read so far.
    pub fn total_read(&self) -> u64 {
        self.ring.total_read()
    }

    /// Whether the channel is over for the reader: ended and drained, or cancelled.
    pub fn is_closed_for_read(&self) -> bool {
        self.ring.is_closed_for_read()
    }

    /// The cancellation cause, if the channel was cancelled.
    pub fn closed_cause(&self) -> Option<Cause> {
        self.ring.closed_cause()
    }

    /// The capacity of the channel.
    pub fn capacity(&self) -> usize {
        self.ring.capacity()
    }

    /// Cancels the channel: buffered bytes are dropped; the writer's next call fails with
    /// `BrokenPipe`.
    pub fn cancel(&self) {
        self.cancel_with(Cause::new(io::Error::new(
            io::ErrorKind::BrokenPipe,
            "byte channel cancelled by the reader",
        )));
    }

    /// Cancels the channel with a cause both sides will report.
    pub fn cancel_with(&self, cause: Cause) {
        self.ring.cancel(cause);
    }

    /// A blocking `std::io::Read + BufRead` view for plain threads (Ktor's `asSource`).
    ///
    /// It parks the calling thread: never use it on an async executor's worker thread
    /// (use `spawn_blocking` or `blocking::unblock`).
    pub fn blocking(&mut self) -> super::blocking::BlockingReader<'_> {
        super::blocking::BlockingReader::new(self)
    }
}

macro_rules! async_typed_reads {
    ($( $ty:ty => $be:ident, $le:ident; )*) => {
        impl ByteReader {
            $(
                #[doc = concat!("Reads a big-endian `", stringify!($ty), "` (Ktor's default order).")]
                pub async fn $be(&mut self) -> io::Result<$ty> {
                    poll_fn(|cx| self.poll_pipe(cx, |pipe, _| pipe.$be())).await
                }
                #[doc = concat!("Reads a little-endian `", stringify!($ty), "`.")]
                pub async fn $le(&mut self) -> io::Result<$ty> {
                    poll_fn(|cx| self.poll_pipe(cx, |pipe, _| pipe.$le())).await
                }
            )*
        }
    };
}

async_typed_reads! {
    u16 => read_u16, read_u16_le;
    i16 => read_i16, read_i16_le;
    u32 => read_u32, read_u32_le;
    i32 => read_i32, read_i32_le;
    u64 => read_u64, read_u64_le;
    i64 => read_i64, read_i64_le;
    f32 => read_f32, read_f32_le;
    f64 => read_f64, read_f64_le;
}

impl ByteReader {
    /// Reads one byte.
    pub async fn read_u8(&mut self) -> io::Result<u8> {
        poll_fn(|cx| self.poll_pipe(cx, |pipe, _| pipe.read_u8())).await
    }

    /// Reads one signed byte.
    pub async fn read_i8(&mut self) -> io::Result<i8> {
        poll_fn(|cx| self.poll_pipe(cx, |pipe, _| pipe.read_i8())).await
    }
}
