//! Blocking `std::io` views of the channel halves, for plain threads.

use std::io::{self, BufRead, Read, Write};

use wirestate_core::chan::LineEnding;

use crate::park::{block_on, block_on_poll};

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
        block_on(self.reader.read_line(line, limit, ending))
    }
}

impl Read for BlockingReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        block_on_poll(|cx| self.reader.poll_read_available(cx, buf))
    }
}

impl BufRead for BlockingReader<'_> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        // Poll until ready, then borrow the reader's view once (the borrow checker cannot
        // see that a `Pending` poll holds no borrow).
        block_on_poll(|cx| self.reader.poll_fill_buf(cx).map_ok(|_| ()))?;
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
            let n = block_on_poll(|cx| self.writer.poll_write_available(cx, data))?;
            data = &data[n..];
        }
        block_on_poll(|cx| self.writer.poll_flush_now(cx))
    }
}

impl Write for BlockingWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        block_on_poll(|cx| self.writer.poll_write_available(cx, buf))
    }

    fn flush(&mut self) -> io::Result<()> {
        block_on_poll(|cx| self.writer.poll_flush_delivered(cx))
    }
}
