//! Sockets: TCP, UDP and Unix domain stream sockets on smol, tokio and blocking std, with
//! Ktor's builder and options, handing out byte channels.
//!
//! ```text
//! a_socket(Smol | Tokio | Blocking)            one option set, Ktor's defaults
//!   .no_delay(true).reuse_address(true)…
//!   .tcp()  .connect(addr) -> Socket            open_read_channel() / open_write_channel()
//!           .bind(addr)    -> ServerSocket      accept() -> Socket
//!   .udp()  .bind(addr)    -> BoundDatagramSocket      send(Datagram) / receive()
//!           .connect(peer, local) -> ConnectedDatagramSocket
//!   .unix() .connect(path) / .bind(path)        (Unix only) the same Socket / ServerSocket
//! ```
//!
//! A connected socket's read channel is filled straight from the socket into the channel's
//! ring, and its write channel is written straight from the ring. On smol two pumps do that
//! as tasks. On tokio a write pump task does the writing, and the read channel's reader reads
//! the socket itself when its channel is empty, straight into the caller's buffer for large
//! reads (see `net::tokio`). Blocking sockets let the application's threads do that work
//! themselves while they block, with pump threads for the rest (see `net::blocking`). Closing the write channel half-closes the socket (TCP FIN); the peer's
//! FIN ends the read channel. A socket error cancels both channels with that error, so every
//! later channel call reports it with its kind (`ConnectionReset`, `TimedOut`, …).

#[cfg(feature = "blocking")]
pub mod blocking;
mod builder;
mod datagram;
mod options;
pub(crate) mod pump;
#[cfg(feature = "smol")]
pub mod smol;
mod socket;
pub(crate) mod sys;
#[cfg(feature = "tls")]
mod tls;
#[cfg(feature = "tokio")]
pub mod tokio;

#[cfg(unix)]
pub use builder::UnixSocketBuilder;
pub use builder::{
    Blocking, Smol, SocketBuilder, TcpSocketBuilder, Tokio, UdpSocketBuilder, a_socket,
};
pub use datagram::{Datagram, MAX_DATAGRAM};
pub use options::{DEFAULT_BACKLOG, DEFAULT_CHANNEL_CAPACITY, SocketOptions};
pub use socket::{ActiveOptions, Socket, SocketAddress};
