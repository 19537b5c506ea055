//! permessage-deflate (RFC 7692), feature `deflate`: negotiation in the upgrade handshake
//! and per-message compression in the framing layer of the same
//! [`Connection`](super::Connection). Enable it with [`Config::deflate`](super::Config).
//!
//! - A client offers it with its [`DeflateConfig`]; a server accepts the first acceptable
//!   offer (or none) and answers with the parameters both ends then follow. Invalid offers
//!   are declined; an invalid response fails the client's handshake.
//! - Messages of at least [`threshold`](DeflateConfig::threshold) bytes are sent compressed
//!   (RSV1 set on the first frame); smaller ones uncompressed, which is always allowed.
//!   Received messages are inflated as they arrive, within the message size limit: a
//!   compression bomb fails the connection with 1009.
//! - An agreed 8-bit window for our compressor cannot be honoured by zlib (it uses 9), so
//!   such a connection sends every message uncompressed; it still inflates what it gets.
//!
//! Memory per connection, with zlib-rs: a compressor takes about `2^(bits+2) + 128 KiB`
//! (256 KiB at 15 bits, level 6) and a decompressor about `2^bits + 7 KiB` (39 KiB at 15
//! bits). Both are created on first use. With no context takeover in a direction and
//! [`release_between_messages`](DeflateConfig::release_between_messages), that side's
//! state is dropped after every message, so an idle connection holds none of it.

mod codec;
mod negotiate;

pub(crate) use codec::{Deflater, InflateError, Inflater, TAIL};
pub use negotiate::{
    Negotiated, PERMESSAGE_DEFLATE, ResponseError, client_offer, client_verify, server_accept,
};

/// How a connection negotiates and uses permessage-deflate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeflateConfig {
    /// Client: ask the server to compress each message afresh. Server: do so always.
    pub server_no_context_takeover: bool,
    /// Client: compress each message afresh. Server: ask the client to.
    pub client_no_context_takeover: bool,
    /// The largest window the server may compress with (8..=15). A client offers it when
    /// below 15; a server never uses more.
    pub server_max_window_bits: u8,
    /// The largest window the client may compress with (8..=15). A client offers it; a
    /// server limits a client that offered the parameter to it.
    pub client_max_window_bits: u8,
    /// zlib compression level, 0 (store) to 9 (best); 6 is zlib's default.
    pub level: u32,
    /// Messages shorter than this are sent uncompressed.
    pub threshold: usize,
    /// With no context takeover, drop the compressor (or decompressor) after each message
    /// instead of resetting it: less memory while idle, an allocation per message.
    pub release_between_messages: bool,
}

impl Default for DeflateConfig {
    fn default() -> Self {
        DeflateConfig {
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            server_max_window_bits: 15,
            client_max_window_bits: 15,
            level: 6,
            threshold: 32,
            release_between_messages: false,
        }
    }
}
