//! Byte channels with async and blocking halves (Ktor's `ByteChannel`).
//!
//! [`byte_channel`] makes a bounded pipe and returns its two halves. The halves work from
//! any executor (they only use wakers) and offer Ktor's API in Rust form: typed big- and
//! little-endian reads and writes, `read_exact`, `await_content`, `peek`, `discard`,
//! `read_to_end` with a limit, `read_line` with a byte limit, `read_until`, `copy_to`,
//! counters, flush, close and cancel with a cause. They implement the `futures-io` traits,
//! the `tokio` ones with the `tokio` feature, and `std::io` through `blocking()`.
//!
//! ```
//! use wirestate::chan::{byte_channel, LineEnding, PipeConfig};
//!
//! # smol::block_on(async {
//! let (mut writer, mut reader) = byte_channel(PipeConfig::with_capacity(1024));
//! writer.write_u32(0xCAFE_F00D).await?;
//! writer.write_str("hello\r\nworld").await?;
//! writer.flush_and_close().await?;
//!
//! assert_eq!(reader.read_u32().await?, 0xCAFE_F00D);
//! let mut line = String::new();
//! assert!(reader.read_line(&mut line, 80, LineEnding::Default).await?);
//! assert_eq!(line, "hello");
//! line.clear();
//! assert!(reader.read_line(&mut line, 80, LineEnding::Default).await?); // last line, no ending
//! assert_eq!(line, "world");
//! assert!(!reader.read_line(&mut line, 80, LineEnding::Default).await?); // the end
//! # std::io::Result::Ok(())
//! # }).unwrap();
//! ```
//!
//! See [`interop`] for conversions to and from `std::io` and `futures-io` types, with the
//! Ktor equivalents.

mod blocking;
mod futures_io;
pub mod interop;
pub(crate) mod io_error;
mod reader;
#[allow(unsafe_code)] // the channel ring; its safety argument is in its module docs
mod spsc;
#[cfg(feature = "tokio")]
mod tokio_io;
mod writer;

pub use blocking::{BlockingReader, BlockingWriter};

pub use reader::ByteReader;
#[cfg(any(feature = "smol", feature = "tokio", feature = "blocking"))]
pub(crate) use reader::PollSource;
#[cfg(any(feature = "blocking", test))]
pub(crate) use reader::ReadThrough;
pub use wirestate_core::chan::{
    Cause, ChannelError, DEFAULT_CAPACITY, Delimited, LineEnding, PipeConfig,
};
pub use writer::ByteWriter;
#[cfg(any(feature = "blocking", test))]
pub(crate) use writer::WriteThrough;

/// A bounded byte channel: bytes written to the [`ByteWriter`] are read, in order, from the
/// [`ByteReader`]. Allocates the shared state now and the buffer on the first write.
///
/// The halves share a lock-free ring: a write publishes with one release store and a read
/// takes bytes with one acquire load, so neither ever blocks the other's thread.
pub fn byte_channel(config: PipeConfig) -> (ByteWriter, ByteReader) {
    let (writer, reader) = spsc::ring(config);
    (ByteWriter::new(writer), ByteReader::new(reader))
}
