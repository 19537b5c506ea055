//! TLS over rustls, stacked under any machine (feature `tls`).
//!
//! rustls is a sans-I/O state machine like wirestate's own, so TLS is not a wrapper around
//! a socket here: a [`TlsLayer`] sits between the transport's bytes and a machine, inside a
//! [`Wire`](crate::wire::Wire), and the same drivers run it on smol, tokio and blocking std.
//!
//! ```text
//!   transport ◀── ciphertext ──▶ TlsLayer (rustls) ◀── plaintext ──▶ WebSocket / RSocket / Duplex
//! ```
//!
//! Where it is used:
//!
//! | what | client | server |
//! |---|---|---|
//! | WebSocket | `connect("wss://...")`, [`ClientOptions::tls`](crate::ws::ClientOptions::tls) | [`ServerOptions::tls`](crate::ws::ServerOptions::tls) on `accept` |
//! | RSocket over TCP | `rsocket::{smol,tokio}::connect_tls`, `rsocket::blocking::connect_tls` | `accept_tls` |
//! | RSocket over WebSocket | `connect_wss` (or `connect_ws` with a `wss://` URL) | `accept_wss` |
//! | byte-channel sockets (Ktor's `socket.tls()`) | `net::{smol,tokio,blocking}::tls` | `net::{smol,tokio,blocking}::tls_server` |
//!
//! The provider is rustls's `ring`; roots come from the platform's store unless given.
//! Certificate verification cannot be switched off through this module. Failures are
//! [`TlsError`]s split by what to fix: [`UnknownIssuer`](TlsError::UnknownIssuer),
//! [`NameMismatch`](TlsError::NameMismatch), [`Expired`](TlsError::Expired),
//! [`HandshakeTimeout`](TlsError::HandshakeTimeout), and so on.

mod config;
mod error;
mod layer;

pub(crate) use config::platform_client_config;
pub use config::{
    ALPN_HTTP_1_1, ClientConfig, ClientConfigBuilder, DEFAULT_HANDSHAKE_TIMEOUT, Identity,
    ServerConfig, ServerConfigBuilder, certificates_from_pem,
};
pub use error::TlsError;
pub use layer::TlsLayer;
pub use rustls::pki_types::{CertificateDer, PrivateKeyDer};

#[cfg(test)]
mod tests;
