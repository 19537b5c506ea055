//! Blocking `std::io` views of the channel halves, for plain threads.

use std::io::{self, BufRead, Read, Write};

use wirestate_core::chan::LineEnding;

use crate::park::{block_on, block_on_poll, reading_through};

use super::reader::ByteReader;
use super::writer::ByteWriter;

/// A `std::io::Read + BufRead` view of a [`ByteReader`] that parks the thread while the
/// channel is empty (Ktor's `ByteReadChannel.asSource()` / `toInputStream()`).
#[derive(Debug)]
pub struct BlockingReader<'a> {
    reader: &'a mut ByteReader,
}

impl<'a> BlockingReader<'a> {
    pub(crate) fn new(reader: &'a mut ByteReader) -> Self {
        BlockingReader { reader }
    }
}

impl BlockingReader<'_> {
    /// Bytes readable now without parking.
    pub fn available(&self) -> usize {
        self.reader.available_for_read()
    }

    /// [`ByteReader::read_line`] for threads: one line with a byte limit (a longer line is
    /// `InvalidData`, never split); `false` at the end. Prefer it to `BufRead::lines`,
    /// whose lines have no limit.
    pub fn read_line_limited(
        &mut self,
        line: &mut String,
        limit: usize,
        ending: LineEnding,
    ) -> io::Result<bool> {
        reading_through(|| block_on(self.reader.read_line(line, limit, ending)))
    }
}

impl Read for BlockingReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // A blocking socket's channel: with the ring empty, a large read comes from the
        // socket straight into `buf`, as from a plain `TcpStream`.
        if let Some(done) = self.reader.try_read_through(buf) {
            return done;
        }
        reading_through(|| block_on_poll(|cx| self.reader.poll_read_available(cx, buf)))
    }
}

impl BufRead for BlockingReader<'_> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        // Poll until ready, then borrow the reader's view once (the borrow checker cannot
        // see that a `Pending` poll holds no borrow).
        reading_through(|| block_on_poll(|cx| self.reader.poll_fill_buf(cx).map_ok(|_| ())))?;
        let waker = std::task::Waker::noop();
        match self
            .reader
            .poll_fill_buf(&mut std::task::Context::from_waker(waker))
        {
            std::task::Poll::Ready(result) => result,
            std::task::Poll::Pending => unreachable!("the view was filled by the poll above"),
        }
    }

    fn consume(&mut self, amount: usize) {
        self.reader.consume_view(amount);
    }
}

/// A `std::io::Write` view of a [`ByteWriter`] (Ktor's `ByteWriteChannel.asSink()`):
/// `write` parks only while the channel is full; `flush` publishes and parks until the
/// reader has taken every byte.
#[derive(Debug)]
pub struct BlockingWriter<'a> {
    writer: &'a mut ByteWriter,
}

impl<'a> BlockingWriter<'a> {
    pub(crate) fn new(writer: &'a mut ByteWriter) -> Self {
        BlockingWriter { writer }
    }

    /// Closes the channel gracefully.
    pub fn close(&mut self) -> io::Result<()> {
        self.writer.close()
    }

    /// Writes all of `data`, parking while the channel is full, without waiting for the
    /// reader afterwards (`write_all` followed by `flush` waits for it).
    pub fn write_all_published(&mut self, mut data: &[u8]) -> io::Result<()> {
        while !data.is_empty() {
            let n = self.write(data)?;
            data = &data[n..];
        }
        block_on_poll(|cx| self.writer.poll_flush_now(cx))
    }
}

impl Write for BlockingWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // A blocking socket's channel: with the ring empty, the socket takes the bytes from
        // this thread, as a plain `TcpStream` would.
        if let Some(done) = self.writer.try_write_through(buf) {
            return done;
        }
        block_on_poll(|cx| self.writer.poll_write_available(cx, buf))
    }

    fn flush(&mut self) -> io::Result<()> {
        block_on_poll(|cx| self.writer.poll_flush_delivered(cx))
    }
}

#[cfg(test)]
mod tests {
    use std::io::{self, Read, Write};
    use std::sync::{Arc, Mutex};

    use super::super::{PipeConfig, WriteThrough, byte_channel};

    /// A write-through sink that records what it took, or fails with `fail`, or (with
    /// `stuck`) takes nothing.
    #[derive(Default)]
    struct Recorder {
        taken: Mutex<Vec<u8>>,
        fail: Option<io::ErrorKind>,
        stuck: bool,
    }

    impl WriteThrough for Recorder {
        fn write_through(&self, buf: &[u8]) -> io::Result<usize> {
            if let Some(kind) = self.fail {
                return Err(kind.into());
            }
            if self.stuck {
                return Ok(0);
            }
            self.taken.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
    }

    #[test]
    fn due_writes_on_an_empty_ring_skip_it_and_others_keep_their_order() {
        let sink = Arc::new(Recorder::default());
        let (mut writer, mut reader) = byte_channel(PipeConfig::with_capacity(64));
        writer.set_write_through(sink.clone());

        // Without auto-flush, a small write gathers in the ring until a flush.
        writer.blocking().write_all(b"small").unwrap();
        assert!(sink.taken.lock().unwrap().is_empty());
        // The ring holds bytes: a large write must queue behind them.
        writer.blocking().write_all(&[1; 40]).unwrap();
        assert!(sink.taken.lock().unwrap().is_empty());
        let mut queued = [0u8; 45];
        reader.blocking().read_exact(&mut queued).unwrap();
        assert_eq!(&queued[..5], b"small");

        // The ring is empty again: half the capacity or more goes straight through.
        writer.blocking().write_all(&[2; 32]).unwrap();
        assert_eq!(*sink.taken.lock().unwrap(), [2; 32]);
        // With auto-flush every write is due at once.
        writer.set_auto_flush(true);
        writer.blocking().write_all(b"tiny").unwrap();
        assert_eq!(&sink.taken.lock().unwrap()[32..], b"tiny");
        assert_eq!(writer.total_written(), 5 + 40 + 32 + 4);
        assert_eq!(reader.available_for_read(), 0);
    }

    #[test]
    fn a_failed_write_through_cancels_the_channel_with_its_error() {
        let sink = Arc::new(Recorder {
            fail: Some(io::ErrorKind::ConnectionReset),
            ..Recorder::default()
        });
        let (mut writer, mut reader) = byte_channel(PipeConfig::with_capacity(64).auto_flush(true));
        writer.set_write_through(sink);
        let error = writer.blocking().write(b"lost").unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::ConnectionReset);
        let again = writer.blocking().write(b"again").unwrap_err();
        assert_eq!(again.kind(), io::ErrorKind::ConnectionReset);
        let seen = reader.blocking().read(&mut [0u8; 4]).unwrap_err();
        assert_eq!(seen.kind(), io::ErrorKind::ConnectionReset);
    }

    #[test]
    fn a_write_through_that_takes_nothing_fails_instead_of_spinning() {
        let sink = Arc::new(Recorder {
            stuck: true,
            ..Recorder::default()
        });
        let (mut writer, _reader) = byte_channel(PipeConfig::with_capacity(64).auto_flush(true));
        writer.set_write_through(sink);
        let error = writer.blocking().write_all(b"data").unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::WriteZero);
        assert!(writer.is_closed_for_write(), "the channel is cancelled");
    }
}
