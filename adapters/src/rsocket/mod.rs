//! RSocket 1.0 on smol and tokio over TCP and over WebSocket, and a blocking std client: a
//! requester API (fire-and-forget,
//! request-response, request-stream and request-channel with credit that follows
//! consumption, metadata push) and a [`Responder`] for the peer's requests. Both ends are
//! requesters and responders.
//!
//! The protocol is the core's [`rsocket::Connection`](wirestate_core::rsocket::Connection)
//! machine, run by the runtime's driver. A relay moves the machine's events out in the
//! driver's own round: each stream's items go straight to whoever reads that stream, and
//! what needs application code (SETUP, the peer's requests, metadata push) to a routing
//! task that answers or spawns the responder's handlers.
//!
//! ```no_run
//! # #[cfg(feature = "smol")]
//! # fn main() -> Result<(), wirestate::rsocket::Error> {
//! use wirestate::core::rsocket::Payload;
//! use wirestate::rsocket::{self, NoResponder};
//!
//! smol::block_on(async {
//!     let socket = rsocket::smol::connect("127.0.0.1:7878", Default::default(), NoResponder).await?;
//!     let answer = socket.request_response(Payload::data("hello")).await?;
//!     println!("{:?}", answer.data);
//!     Ok(())
//! })
//! # }
//! # #[cfg(not(feature = "smol"))]
//! # fn main() {}
//! ```

#[cfg(feature = "blocking")]
pub mod blocking;
mod error;
mod inbox;
mod relay;
mod responder;
mod routes;
#[cfg(feature = "smol")]
pub mod smol;
mod socket;
mod stream;
#[cfg(test)]
mod tests;
#[cfg(feature = "tokio")]
pub mod tokio;
#[cfg(any(feature = "smol", feature = "tokio", feature = "tls"))]
mod transport;

pub use error::{Error, ResponderError};

/// The connection an [`RSocket`] shares with its driver: the RSocket machine, plain or
/// under TLS.
pub type RSocketConnection =
    crate::driver::Connection<crate::wire::Wire<wirestate_core::rsocket::Connection>>;
pub use responder::{BoxFuture, BoxStream, NoResponder, Responder};
pub use socket::RSocket;
pub use stream::PayloadStream;
