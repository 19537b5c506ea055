//! Shared helpers for the integration tests.
//!
//! Everything here is independent of the runtime that drives a connection: raw std
//! [`TcpStream`](std::net::TcpStream) peers ([`peers`]), the application's side of a driven
//! [`Duplex`](wirestate_core::chan::Duplex) ([`app`]), written once against the [`app::Wait`]
//! trait that each driver test implements for its runtime, a test-only machine with
//! timers ([`ticker`]), certificates made in the test for TLS ([`pki`]), and the field
//! harness's load client ([`raw_ws_client`]) and its floor server ([`raw_ws_floor`]).

#![warn(missing_docs)]

use std::time::Duration;

pub mod app;
pub mod peers;
pub mod pki;
pub mod raw_ws_client;
pub mod raw_ws_floor;
pub mod rsocket_peer;
pub mod ticker;
pub mod ws_peers;

/// Every test, and every blocking call in a peer, gives up after this long.
pub const LIMIT: Duration = Duration::from_secs(20);

/// An upper bound on the rounds of any application loop.
pub const MAX_ROUNDS: usize = 1_000_000;

/// The value after `--name` on the command line, or `default`: options of the example
/// binaries (the load generator, the field harness and its servers).
pub fn arg(name: &str, default: &str) -> String {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == &format!("--{name}"))
        .and_then(|i| args.get(i + 1).cloned())
        .unwrap_or_else(|| default.to_string())
}

/// A reproducible pseudo-random byte pattern (xorshift64).
pub fn pattern(len: usize, mut seed: u64) -> Vec<u8> {
    (0..len)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed as u8
        })
        .collect()
}
