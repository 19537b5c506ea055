//! # wirestate: sans-I/O protocols on smol, tokio and blocking std
//!
//! The protocols live in [`wirestate_core`] (re-exported as [`core`]) as state machines that
//! do no I/O: bytes and time go in; bytes, events and deadlines come out (see the
//! [`Machine`](wirestate_core::Machine) contract and the canonical driver loop in the core's
//! crate docs). This crate binds them to runtimes:
//!
//! - [`chan`]: Ktor-style byte channels, `byte_channel()` with a [`chan::ByteWriter`] and a
//!   [`chan::ByteReader`] that work from any executor, implement the futures-io traits (and
//!   tokio's with the `tokio` feature) and offer blocking `std::io` views and interop
//!   ([`chan::interop`]).
//! - [`driver`]: one generic driver per runtime that runs any machine over a transport:
//!   [`driver::smol`] (feature `smol`, the default), `driver::tokio` (feature `tokio`) and
//!   `driver::blocking` (feature `blocking`), sharing one runtime-free pump.
//! - `net`: Ktor-style sockets (`a_socket(...)`): TCP, UDP and Unix sockets whose
//!   connections hand out byte channels.
//! - `ws`: WebSocket `connect`/`accept` on each runtime and a `WebSocket` of messages
//!   (`Stream`/`Sink`, split halves, `close(code, reason)`), or an `InlineWebSocket` driven by
//!   the task that uses it (`connect_inline`/`accept_inline`).
//! - `rsocket`: RSocket requesters and responders over TCP and WebSocket.
//! - `tls` (feature `tls`): rustls stacked under any machine through [`wire::Wire`]:
//!   `wss://`, RSocket over TLS, and `tls`/`tls_server` on connected sockets.
//!
//! ```
//! use wirestate::chan::{byte_channel, PipeConfig};
//!
//! # smol::block_on(async {
//! let (mut writer, mut reader) = byte_channel(PipeConfig::default());
//! writer.write_f64_le(2.5).await?;
//! writer.close()?;
//! assert_eq!(reader.read_f64_le().await?, 2.5);
//! # std::io::Result::Ok(())
//! # }).unwrap();
//! ```

#![deny(unsafe_code)] // one audited exception: the lock-free channel ring (chan/spsc.rs)

pub use wirestate_core as core;

pub mod chan;
pub mod driver;
#[cfg(any(feature = "smol", feature = "tokio", feature = "blocking"))]
pub mod net;
mod park;
mod rng;
#[cfg(any(feature = "smol", feature = "tokio", feature = "blocking"))]
pub mod rsocket;
#[cfg(feature = "tls")]
pub mod tls;
pub mod wire;
#[cfg(any(feature = "smol", feature = "tokio", feature = "blocking"))]
pub mod ws;

pub use rng::os_rng;

/// The README's examples, compiled and run as doc tests so they cannot drift.
#[doc = include_str!("../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
