//! How an RSocket connection is set up.

use alloc::string::String;
use core::time::Duration;

use crate::rsocket::{MAX_FRAME_LEN, Payload};

/// How frames travel on the transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// Byte streams (TCP): every frame has a 24-bit length prefix; input may come in any
    /// chunking.
    LengthPrefixed,
    /// Message transports (WebSocket): each `handle_input` call is exactly one frame, and
    /// each `poll_transmit` is exactly one frame, both without a prefix.
    Frames,
}

/// Limits, timers and the SETUP contents of a [`Connection`](super::Connection).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// How frames travel.
    pub framing: Framing,
    /// Client: how often to send KEEPALIVE (and what SETUP announces). Default 20 s.
    pub keepalive_interval: Duration,
    /// Client: how long without any frame before the server is dead (and what SETUP
    /// announces); a server uses the client's value. Default 90 s.
    pub max_lifetime: Duration,
    /// Client: the metadata MIME type announced in SETUP.
    pub metadata_mime: String,
    /// Client: the data MIME type announced in SETUP.
    pub data_mime: String,
    /// Client: the SETUP payload.
    pub setup_payload: Payload,
    /// Client: ask for leases (the L flag); requests then wait for a LEASE from the peer.
    pub lease: bool,
    /// Largest frame sent, header included; larger payloads are fragmented. `None` sends
    /// up to the protocol's limit (16 MiB - 1) and fragments only past it. At least 64.
    pub fragment_size: Option<usize>,
    /// Largest payload accepted after reassembly (metadata and data); a larger one fails
    /// its stream. Also caps a single incoming frame.
    pub max_inbound_payload: usize,
    /// Items a peer may send beyond the credit it was given before the stream fails; each
    /// one is reported as a [`Violation`](super::Event::Violation). Peers that ignore
    /// REQUEST_N exist (rsocket-rust 0.7).
    pub overflow_allowance: u32,
    /// Responder: the credit granted automatically for a channel's inbound items, and
    /// granted again as the application takes them from the event queue.
    pub channel_window: u32,
    /// Responder: grant channel credit again as events are taken (`true`), or leave it to
    /// [`Command::RequestN`](super::Command::RequestN) from a layer that knows when items
    /// are really consumed (`false`; the adapters do this). The first grant is automatic
    /// either way.
    pub channel_refill: bool,
    /// Events held for the application, in payload bytes, before input stops.
    pub max_queued_bytes: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            framing: Framing::LengthPrefixed,
            keepalive_interval: Duration::from_secs(20),
            max_lifetime: Duration::from_secs(90),
            metadata_mime: String::from("application/octet-stream"),
            data_mime: String::from("application/octet-stream"),
            setup_payload: Payload::default(),
            lease: false,
            fragment_size: None,
            max_inbound_payload: 64 * 1024 * 1024,
            overflow_allowance: 256,
            channel_window: 64,
            channel_refill: true,
            max_queued_bytes: 16 * 1024 * 1024,
        }
    }
}

impl Config {
    /// The largest frame this connection sends.
    pub(crate) fn frame_limit(&self) -> usize {
        self.fragment_size
            .map_or(MAX_FRAME_LEN, |size| size.clamp(64, MAX_FRAME_LEN))
    }
}
