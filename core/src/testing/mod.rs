//! Test infrastructure for any [`Machine`](crate::Machine) (feature `testing`).
//!
//! - [`Pair`] joins two machines through two [`Link`]s on virtual time: links re-chunk,
//!   delay and cap the bytes in flight, like a TCP connection with a given MSS, latency and
//!   window. Nothing sleeps; time jumps to the next deadline.
//! - [`Conversation`] is Ktor's `handleWebSocketConversation`: a WebSocket server
//!   application, written as a handler of events, talking to a test that plays the client.
//! - [`vectors`] checks a byte vector whole, one byte at a time, at every split point, and
//!   followed by trailing bytes.

mod conversation;
mod link;
mod pair;
pub mod vectors;

pub use conversation::Conversation;
pub use link::{Link, LinkConfig};
pub use pair::Pair;
