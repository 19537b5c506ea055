//! Byte channels: Ktor's `ByteReadChannel`/`ByteWriteChannel` as pure state machines.
//!
//! - [`ByteSource`] and [`ByteSink`] (with [`TypedRead`] and [`TypedWrite`]) hold the read and
//!   write algorithms, written once over slice access; every channel implementation gets them.
//! - [`Pipe`] is one bounded single-producer, single-consumer byte pipe with Ktor's flush,
//!   close and cancel semantics, typed big- and little-endian reads and writes, peeking,
//!   discarding and byte counters. It never waits: when nothing can happen it says
//!   [`ChannelError::Blocked`], and an adapter parks a thread or returns `Pending`.
//! - [`LineReader`] reads lines (LF, CRLF, optionally a lone CR) and delimited records with a
//!   byte limit, resuming across chunks without rescanning.
//! - [`Duplex`] joins an inbound and an outbound pipe to a transport as a
//!   [`Machine`](crate::Machine): the machine behind socket channels.
//!
//! The async and blocking halves (`ByteReader`, `ByteWriter`) live in the `wirestate` crate.

mod duplex;
mod error;
mod io;
mod line;
mod pipe;
mod ring;

pub use duplex::{DEFAULT_MAX_TRANSMIT, Duplex, DuplexCommand, DuplexConfig, DuplexEvent};
pub use error::{Cause, ChannelError};
pub use io::{ByteSink, ByteSource, TypedRead, TypedWrite, copy_bytes};
pub use line::{Delimited, LineEnding, LineReader};
pub use pipe::{DEFAULT_CAPACITY, Pipe, PipeConfig};

#[cfg(test)]
mod tests;
