//! Test infrastructure for any [`Machine`](crate::Machine) (feature `testing`).
//!
//! - [`Pair`] joins two machines through two [`Link`]s on virtual time: links re-chunk,
//!   delay and cap the bytes in flight, like a TCP connection with a given MSS, latency and
//!   window. Nothing sleeps; time jumps to the next deadline.
//! - [`vectors`] checks a byte vector whole, one byte at a time, at every split point, and
//!   followed by trailing bytes.

mod link;
mod pair;
pub mod vectors;

pub use link::{Link, LinkConfig};
pub use pair::Pair;
