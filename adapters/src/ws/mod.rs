//! WebSocket (RFC 6455) on smol, tokio and blocking std: `connect` to a `ws://` URL,
//! `accept` on a server's TCP stream, then a [`WebSocket`] of messages.
//!
//! The protocol is the core's [`ws::Connection`](wirestate_core::ws::Connection) machine;
//! a driver spawned by `connect`/`accept` moves its bytes, answers pings, echoes the
//! peer's close and fires its timers, whether or not the application is reading.
//!
//! | runtime | functions | the socket |
//! |---|---|---|
//! | smol (feature `smol`) | [`smol::connect`], [`smol::accept`], `_with` variants | [`WebSocket`]: `Stream` + `Sink`, `recv`/`send`, [`split`](WebSocket::split) |
//! | tokio (feature `tokio`) | `tokio::connect`, `tokio::accept`, `_with` variants | the same [`WebSocket`] |
//! | blocking (feature `blocking`) | `blocking::connect`, `blocking::accept` | `blocking::WebSocket`: blocking `recv`/`send`/`close`, an `Iterator` |
//! | smol or tokio, one task | `connect_inline`, `accept_inline` | [`InlineWebSocket`]: the task that uses it drives it |
//!
//! A [`WebSocket`] is served by its spawned driver whatever the application does, and its
//! halves can live in different tasks. An [`InlineWebSocket`] has no driver task: the task
//! that receives and sends does the I/O itself, as tokio-tungstenite and fastwebsockets do,
//! on a machine it owns (no lock, no queues between tasks). That halves a small echo's user
//! CPU, but it answers pings and completes a close only while one of its methods is being
//! polled.
//!
//! An echo server on smol, accepting only the `echo` subprotocol:
//!
//! ```no_run
//! # #[cfg(feature = "smol")]
//! # fn main() -> std::io::Result<()> {
//! use wirestate::core::http::{Accept, Reject};
//! use wirestate::ws::{self, ServerOptions};
//!
//! smol::block_on(async {
//!     let listener = smol::net::TcpListener::bind("127.0.0.1:9001").await?;
//!     loop {
//!         let (stream, _) = listener.accept().await?;
//!         smol::spawn(async move {
//!             let policy = |request: &wirestate::core::http::UpgradeRequest| {
//!                 match request.subprotocols().iter().any(|p| p == "echo") {
//!                     true => Ok(Accept::new().subprotocol("echo")),
//!                     false => Err(Reject::new(400).body("the echo subprotocol is required")),
//!                 }
//!             };
//!             let mut socket = ws::smol::accept_with(stream, &ServerOptions::default(), policy).await?;
//!             while let Some(message) = socket.recv().await? {
//!                 socket.send(message).await?;
//!             }
//!             Ok::<(), ws::Error>(())
//!         })
//!         .detach();
//!     }
//! })
//! # }
//! # #[cfg(not(feature = "smol"))]
//! # fn main() {}
//! ```

#[cfg(feature = "blocking")]
pub mod blocking;
mod error;
mod handshake;
mod inbox;
#[cfg(any(feature = "smol", feature = "tokio"))]
mod inline;
mod options;
mod outbox;
mod reception;
mod relay;
#[cfg(feature = "smol")]
pub mod smol;
mod socket;
#[cfg(all(test, feature = "smol"))]
mod tests;
#[cfg(feature = "tokio")]
pub mod tokio;

pub use error::Error;

/// The connection a WebSocket shares with its driver: the WebSocket machine, plain or
/// under TLS.
pub type WsConnection = crate::driver::Connection<WsMachine>;

/// The WebSocket machine as a driver runs it: plain, or under TLS.
pub type WsMachine = crate::wire::Wire<wirestate_core::ws::Connection>;
pub use handshake::{Policy, accept_all};
#[cfg(any(feature = "smol", feature = "tokio"))]
pub use inline::InlineWebSocket;
pub use options::{ClientOptions, DEFAULT_SEND_HIGH_WATER, ServerOptions, WsUrl};
pub use reception::Piece;
pub use socket::{ReadHalf, WebSocket, WriteHalf};
