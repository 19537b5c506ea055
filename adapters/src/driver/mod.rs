//! Drivers: run any [`Machine`](wirestate_core::Machine) over a transport.
//!
//! A driver does the job described by the canonical loop in the core's crate docs, for
//! real: it writes what the machine transmits, reads while the machine wants input
//! (offering unaccepted bytes again before reading more, so a full machine becomes TCP
//! backpressure), reports the transport's end with `handle_eof`, fires timers at the
//! machine's deadlines, shuts down the write half once the machine's transmit side is
//! closed, and stops once the machine is finished and everything was written, or at the
//! first transport error.
//!
//! The application and the driver share the machine through a [`Connection`]: commands and
//! direct access ([`Connection::with`]) wake the driver; the driver wakes the event waiter.
//! A connection may also carry a relay, an optional hook through which the driver moves
//! commands in and events out in bulk each round, so that an application's halves (the
//! WebSocket's) exchange them over lock-free queues instead of the machine's lock.
//!
//! ```text
//!   application ──command / with──▶ Connection (Arc<Mutex<machine>>) ◀──── driver ◀──▶ transport
//!               ◀──── events ──────                                   wakes both ways
//! ```
//!
//! | runtime | function | transport | timer and clock |
//! |---|---|---|---|
//! | smol (feature `smol`) | `smol::run`; `smol::run_tcp` for a smol TCP stream (one read per arrival, not two) | futures-io `AsyncRead + AsyncWrite` | `async_io::Timer`, std clock |
//! | tokio (feature `tokio`) | `tokio::run` | tokio `AsyncRead + AsyncWrite` | `tokio::time::Sleep`, tokio clock (`tokio::connection`) |
//! | blocking (feature `blocking`) | `blocking::run`, `blocking::spawn` | `std::net::TcpStream` | read timeouts, std clock |
//!
//! The runtime-free part (unaccepted input, partly written transmits, shutdown and
//! finishing) is written once and shared by all three; the two async drivers share one
//! future, [`Driver`], over the small [`Transport`] and [`Timer`] traits, which another
//! runtime can implement too.
//!
//! ```no_run
//! # #[cfg(feature = "smol")]
//! # fn main() -> std::io::Result<()> {
//! use wirestate::core::chan::{ByteSink, ByteSource, Duplex, DuplexEvent};
//! use wirestate::driver::{self, Connection};
//!
//! smol::block_on(async {
//!     let stream = smol::net::TcpStream::connect("127.0.0.1:7").await?;
//!     let conn = Connection::new(Duplex::default());
//!     let task = smol::spawn(driver::smol::run(conn.clone(), stream));
//!     conn.with(|m| {
//!         m.outbound_mut().write(b"hello").unwrap();
//!         m.outbound_mut().close().unwrap();
//!     });
//!     while let Some(event) = conn.next_event().await {
//!         if event == DuplexEvent::Readable {
//!             // Drain what arrived: the next Readable comes once the pipe was empty.
//!             let mut buf = [0u8; 4096];
//!             while let Ok(n @ 1..) = conn.with(|m| m.inbound_mut().read(&mut buf)) {
//!                 println!("{}", String::from_utf8_lossy(&buf[..n]));
//!             }
//!         }
//!     }
//!     task.await
//! })
//! # }
//! # #[cfg(not(feature = "smol"))]
//! # fn main() {}
//! ```

mod clock;
mod handle;
#[cfg(any(feature = "smol", feature = "tokio"))]
mod inline;
mod link;
mod poll;
mod pump;
mod readiness;
mod relay;
mod waker;

#[cfg(feature = "blocking")]
pub mod blocking;
#[cfg(feature = "smol")]
pub mod smol;
#[cfg(feature = "smol")]
pub(crate) use smol::SmolTimer;
#[cfg(feature = "tokio")]
pub mod tokio;
#[cfg(feature = "tokio")]
pub(crate) use tokio::TokioTimer;

pub use clock::Clock;
#[cfg(any(feature = "smol", feature = "tokio", feature = "blocking"))]
pub(crate) use clock::LazyNow;
#[cfg(test)]
pub(crate) use handle::lock_count as handle_lock_count;
pub use handle::{Connection, TimedOut};
#[cfg(any(feature = "smol", feature = "tokio"))]
pub(crate) use inline::{Inline, Step};
#[cfg(any(feature = "smol", feature = "tokio"))]
pub(crate) use poll::ROUNDS_PER_POLL;
pub use poll::{Driver, Timer, Transport};
// The relays live in the protocol adapters, which need a runtime.
#[cfg(any(feature = "smol", feature = "tokio", feature = "blocking"))]
pub(crate) use relay::Relay;
