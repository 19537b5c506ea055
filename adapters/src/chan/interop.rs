//! Conversions between byte channels and other I/O types (Ktor's I/O interoperability).
//!
//! | Ktor | wirestate |
//! |---|---|
//! | `ByteReadChannel.asSource()` / `toInputStream()` | [`ByteReader::blocking`] (`std::io::Read + BufRead`) |
//! | `ByteWriteChannel.asSink()` / `toOutputStream()` | [`ByteWriter::blocking`] (`std::io::Write`; `flush` waits until the reader has the bytes) |
//! | `OutputStream.asByteWriteChannel()` / `RawSink.asByteWriteChannel()` | [`writer_to_write`]: a `ByteWriter` whose bytes reach the `Write` on flush |
//! | `InputStream.toByteReadChannel()` / `ByteReadChannel(Source)` | [`reader_from_read`] |
//! | (futures/tokio `AsyncRead`) | [`reader_from_async_read`] |
//! | (futures/tokio `AsyncWrite`) | [`writer_to_async_write`] |
//! | `ByteReadChannel(ByteArray)` / `ByteReadChannel.Empty` | [`ByteReader::from_bytes`] / [`ByteReader::empty`] |
//! | `copyTo` / `copyAndClose` | [`ByteReader::copy_to`] / [`ByteReader::copy_and_close`] |
//!
//! The std conversions run their copy loop on a thread of their own; the async ones return
//! the copy loop as a future for you to spawn on your runtime.

use std::future::Future;
use std::io::{self, Read, Write};
use std::thread;

use futures_io::{AsyncRead, AsyncWrite};
use wirestate_core::chan::PipeConfig;

use super::io_error::cause_like;
use super::reader::ByteReader;
use super::writer::ByteWriter;
use super::{BlockingReader, byte_channel};
use wirestate_core::chan::Cause;

const CHUNK: usize = 16 * 1024;

/// A `ByteWriter` whose bytes are written to `sink` when flushed (or closed), from a thread
/// of its own (Ktor's `OutputStream.asByteWriteChannel()`: buffered until flush). The sink
/// is flushed whenever the channel runs dry and once at the end. If the sink fails, the
/// channel is cancelled with its error, so the writer's next call reports it.
///
/// Returns the writer and the thread, which ends with the sink after the writer closes.
pub fn writer_to_write<W: Write + Send + 'static>(
    mut sink: W,
    config: PipeConfig,
) -> (ByteWriter, thread::JoinHandle<io::Result<W>>) {
    let (writer, mut reader) = byte_channel(config);
    let handle = thread::spawn(move || {
        let result = pump_to_write(&mut reader.blocking(), &mut sink).map(|()| sink);
        cancel_on_error(result, |cause| reader.cancel_with(cause))
    });
    (writer, handle)
}

fn pump_to_write(reader: &mut BlockingReader<'_>, sink: &mut impl Write) -> io::Result<()> {
    let mut chunk = vec![0u8; CHUNK];
    loop {
        let n = reader.read(&mut chunk)?;
        if n == 0 {
            return sink.flush();
        }
        sink.write_all(&chunk[..n])?;
        if reader.available() == 0 {
            sink.flush()?;
        }
    }
}

/// A `ByteReader` fed from `source` by a thread of its own (Ktor's
/// `InputStream.toByteReadChannel()`). The channel ends when the source does; a read error
/// cancels the channel with that error. Dropping the reader stops the thread at its next
/// write.
pub fn reader_from_read<R: Read + Send + 'static>(
    mut source: R,
    config: PipeConfig,
) -> (ByteReader, thread::JoinHandle<io::Result<u64>>) {
    let (mut writer, reader) = byte_channel(config.auto_flush(true));
    let handle = thread::spawn(move || {
        let mut chunk = vec![0u8; CHUNK];
        let mut total = 0u64;
        let result = (|| loop {
            let n = match source.read(&mut chunk) {
                Ok(0) => return writer.close().map(|()| total),
                Ok(n) => n,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) => return Err(error),
            };
            writer.blocking().write_all_published(&chunk[..n])?;
            total += n as u64;
        })();
        cancel_on_error(result, |cause| writer.cancel_with(cause))
    });
    (reader, handle)
}

/// A `ByteReader` fed from an `AsyncRead`, and the copy loop to spawn on your runtime
/// (e.g. `smol::spawn`, or `tokio::spawn` with `tokio_util::compat`). The loop ends at the
/// source's end (closing the channel) or on error (cancelling it with the error).
pub fn reader_from_async_read<R: AsyncRead + Unpin>(
    mut source: R,
    config: PipeConfig,
) -> (ByteReader, impl Future<Output = io::Result<u64>>) {
    let (mut writer, reader) = byte_channel(config.auto_flush(true));
    let pump = async move {
        let mut chunk = vec![0u8; CHUNK];
        let mut total = 0u64;
        let result = async {
            loop {
                let read = std::future::poll_fn(|cx| {
                    std::pin::Pin::new(&mut source).poll_read(cx, &mut chunk)
                })
                .await;
                let n = match read {
                    Ok(0) => return writer.close().map(|()| total),
                    Ok(n) => n,
                    Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                    Err(error) => return Err(error),
                };
                writer.write_all(&chunk[..n]).await?;
                total += n as u64;
            }
        }
        .await;
        cancel_on_error(result, |cause| writer.cancel_with(cause))
    };
    (reader, pump)
}

/// A `ByteWriter` whose flushed bytes go to an `AsyncWrite`, and the copy loop to spawn on
/// your runtime. The sink is flushed whenever the channel runs dry and closed at the end;
/// a sink error cancels the channel with that error.
pub fn writer_to_async_write<W: AsyncWrite + Unpin>(
    mut sink: W,
    config: PipeConfig,
) -> (ByteWriter, impl Future<Output = io::Result<u64>>) {
    let (writer, mut reader) = byte_channel(config);
    let pump = async move {
        let mut chunk = vec![0u8; CHUNK];
        let mut total = 0u64;
        let result: io::Result<u64> = async {
            loop {
                let n = reader.read_available(&mut chunk).await?;
                if n == 0 {
                    break;
                }
                let mut written = 0;
                while written < n {
                    let w = std::future::poll_fn(|cx| {
                        std::pin::Pin::new(&mut sink).poll_write(cx, &chunk[written..n])
                    })
                    .await?;
                    if w == 0 {
                        return Err(io::ErrorKind::WriteZero.into());
                    }
                    written += w;
                }
                total += n as u64;
                if reader.available_for_read() == 0 {
                    std::future::poll_fn(|cx| std::pin::Pin::new(&mut sink).poll_flush(cx)).await?;
                }
            }
            std::future::poll_fn(|cx| std::pin::Pin::new(&mut sink).poll_close(cx)).await
        }
        .await
        .map(|()| total);
        cancel_on_error(result, |cause| reader.cancel_with(cause))
    };
    (writer, pump)
}

/// Passes `result` through; an error first cancels the channel with a mirror of itself, so
/// the other half reports the same kind and message.
fn cancel_on_error<T>(result: io::Result<T>, cancel: impl FnOnce(Cause)) -> io::Result<T> {
    if let Err(error) = &result {
        cancel(cause_like(error));
    }
    result
}
