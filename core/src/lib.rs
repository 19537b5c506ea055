//! # wirestate-core: protocol state machines that do no I/O
//!
//! Every machine in this crate is a value you feed bytes and time, and drain for bytes,
//! events and deadlines. It never touches a socket, never reads a clock, never spawns a
//! thread and never asks the OS for randomness, so the same machine runs under smol, tokio,
//! blocking std sockets, a fuzzer or a test on virtual time.
//!
//! ```text
//!               transport side                      application side
//!          ┌───────────────────────────────────────────────────────────┐
//!  bytes ─▶│ handle_input(now, &[u8]) -> usize     command(now, cmd)   │◀─ intents
//!    EOF ─▶│ handle_eof(now)                       -> Result<Reply,    │
//!   time ─▶│ handle_timeout(now)                        UsageError>    │
//!          │                  Machine                                  │
//!  bytes ◀─│ poll_transmit() -> Option<Bytes>      poll_event()        │─▶ events
//!  timer ◀─│ poll_timeout() -> Option<Instant>       -> Option<Event>  │
//!          └───────────────────────────────────────────────────────────┘
//! ```
//!
//! ## The contract
//!
//! - **Time is a value.** [`Instant`] comes from the adapter's runtime clock;
//!   [`Machine::poll_timeout`] says when to call [`Machine::handle_timeout`], which is
//!   idempotent and safe to call early.
//! - **Bytes in** with [`Machine::handle_input`], which returns how many bytes it accepted:
//!   accepting fewer is backpressure. [`Machine::handle_eof`] reports the transport's end.
//! - **Bytes out** with [`Machine::poll_transmit`]; **events** with [`Machine::poll_event`].
//!   A driver that writes at once may instead write what [`Machine::lend_transmit`] lends
//!   in place and report it with [`Machine::advance_lent`] (the WebSocket machine lends).
//! - **Commands** carry application intents and fail only for local misuse. Bad bytes from
//!   a peer are never an `Err`: the machine sends the protocol's answer (close code, ERROR
//!   frame, HTTP status) and reports what happened as an event.
//! - **Drain in any order.** After any input or command, drain `poll_transmit` and
//!   `poll_event` until both are `None`, then look at `poll_timeout`.
//! - **Every buffer is bounded** and says what happens at the bound; **randomness is
//!   injected** ([`Rng`]) and seedable.
//!
//! ## The canonical driver loop
//!
//! This is the whole job of an adapter, written once for every machine (the `wirestate`
//! crate has it for smol, tokio and blocking std sockets). Here it runs a [`chan::Duplex`]
//! (a plain byte connection) over an in-memory transport:
//!
//! ```
//! use std::io::{self, Read, Write};
//! use wirestate_core::chan::{ByteSink, ByteSource, Duplex, DuplexEvent};
//! use wirestate_core::{Instant, Machine};
//!
//! /// Runs `machine` over `transport` until it is finished or the transport ends.
//! /// `clock` is the runtime's monotonic clock.
//! fn drive<M: Machine, T: Read + Write>(
//!     machine: &mut M,
//!     transport: &mut T,
//!     clock: impl Fn() -> Instant,
//!     mut on_event: impl FnMut(&mut M, M::Event),
//! ) -> io::Result<()> {
//!     let mut buf = [0u8; 16 * 1024];
//!     let mut unaccepted: Vec<u8> = Vec::new();
//!     loop {
//!         // 1. Drain: bytes to the transport, events to the application.
//!         while let Some(bytes) = machine.poll_transmit() {
//!             transport.write_all(&bytes)?;
//!         }
//!         while let Some(event) = machine.poll_event() {
//!             on_event(machine, event);
//!         }
//!         if machine.is_finished() {
//!             return Ok(());
//!         }
//!         // 2. Time: fire due timers before waiting for anything.
//!         let now = clock();
//!         if machine.poll_timeout().is_some_and(|deadline| deadline <= now) {
//!             machine.handle_timeout(now);
//!             continue;
//!         }
//!         // 3. Offer again what the machine could not take last time.
//!         if !unaccepted.is_empty() {
//!             let n = machine.handle_input(now, &unaccepted);
//!             unaccepted.drain(..n);
//!             if n > 0 {
//!                 continue;
//!             }
//!         }
//!         // 4. Wait for input (a real driver also waits for the deadline and commands).
//!         if !machine.wants_read() || !unaccepted.is_empty() {
//!             return Ok(()); // the application must consume before more can be read
//!         }
//!         match transport.read(&mut buf)? {
//!             0 => machine.handle_eof(now),
//!             n => {
//!                 let accepted = machine.handle_input(now, &buf[..n]);
//!                 unaccepted.extend_from_slice(&buf[accepted..n]);
//!             }
//!         }
//!     }
//! }
//!
//! // An in-memory transport: reads come from `incoming`, writes land in `written`.
//! struct Memory { incoming: io::Cursor<Vec<u8>>, written: Vec<u8> }
//! impl Read for Memory {
//!     fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> { self.incoming.read(buf) }
//! }
//! impl Write for Memory {
//!     fn write(&mut self, buf: &[u8]) -> io::Result<usize> { self.written.write(buf) }
//!     fn flush(&mut self) -> io::Result<()> { Ok(()) }
//! }
//!
//! let mut transport = Memory { incoming: io::Cursor::new(b"ping\n".to_vec()), written: vec![] };
//! let mut conn = Duplex::default();
//! // The application answers every byte that arrives by writing it back.
//! drive(&mut conn, &mut transport, || Instant::ZERO, |conn, event| {
//!     if event == DuplexEvent::Readable {
//!         let mut line = [0u8; 64];
//!         let n = conn.inbound_mut().read(&mut line).unwrap();
//!         conn.outbound_mut().write(&line[..n]).unwrap();
//!         conn.outbound_mut().close().unwrap();
//!     }
//! })
//! .unwrap();
//! assert_eq!(transport.written, b"ping\n");
//! ```
//!
//! ## Modules
//!
//! - [`chan`]: byte channels (Ktor `ByteReadChannel`/`ByteWriteChannel`) and [`chan::Duplex`].
//! - [`http`]: the HTTP/1.1 WebSocket upgrade handshake, both roles, usable from any HTTP stack.
//! - [`ws`]: RFC 6455 framing pieces: frame headers, masking, close codes, UTF-8 validation.
//! - [`time`]: [`Instant`], time as a value.
//! - [`rng`]: [`Rng`], injected randomness.
//! - `testing` (feature `testing`): the `Pair` harness on virtual time and byte-vector helpers.

#![no_std]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

extern crate alloc;

pub mod chan;
mod copy;
pub mod http;
mod machine;
pub mod rng;
pub mod rsocket;
pub mod time;
pub mod ws;

#[cfg(feature = "testing")]
pub mod testing;

pub use bytes;
pub use machine::Machine;
pub use rng::Rng;
pub use time::Instant;
