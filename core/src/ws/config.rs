//! How a WebSocket connection is set up.

use core::time::Duration;

use crate::http::DEFAULT_MAX_HEAD;

/// Default largest message: 64 MiB (Autobahn's largest case is 16 MiB).
pub const DEFAULT_MAX_MESSAGE_SIZE: usize = 64 * 1024 * 1024;

/// Limits and timers of a [`Connection`](super::Connection).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// Largest message (all fragments together); a larger one fails the connection with
    /// 1009 (RFC 6455 §7.4.1).
    pub max_message_size: usize,
    /// Largest frame payload; a larger one fails the connection with 1009.
    pub max_frame_size: usize,
    /// Streaming delivery: `Some(n)` hands out a message that grows past `n` bytes in
    /// pieces of about `n` bytes ([`Event::Fragment`](super::Event::Fragment); text pieces
    /// end on whole characters), so that receiving holds about `n` bytes of it, not the
    /// whole message. Messages up to `n` bytes still arrive whole. `max_message_size`
    /// still caps the whole message. `None` (the default) delivers every message whole.
    pub piece_size: Option<usize>,
    /// Largest HTTP upgrade head; a larger one is answered with 431.
    pub max_head: usize,
    /// How long to wait for the peer's close frame (or, as a client, the server's end of
    /// the TCP connection) once ours is sent.
    pub close_timeout: Duration,
    /// Send a ping this often while open (Ktor's `pingPeriod`); `None` sends none.
    pub ping_interval: Option<Duration>,
    /// Fail the connection if a ping is not answered within this time (Ktor's `timeout`).
    pub pong_timeout: Duration,
    /// Start the closing handshake (1001) after this long without input; `None` never.
    pub idle_timeout: Option<Duration>,
    /// End the connection if the upgrade handshake is not complete this long after the
    /// machine first sees the time (a server: the request head, then the application's
    /// answer; a client: the response). `None` waits forever.
    pub handshake_timeout: Option<Duration>,
    /// permessage-deflate (RFC 7692): a client offers it, a server accepts an offer of it;
    /// `None` (the default) neither offers nor accepts.
    #[cfg(feature = "deflate")]
    pub deflate: Option<super::deflate::DeflateConfig>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_message_size: DEFAULT_MAX_MESSAGE_SIZE,
            max_frame_size: DEFAULT_MAX_MESSAGE_SIZE,
            piece_size: None,
            max_head: DEFAULT_MAX_HEAD,
            close_timeout: Duration::from_secs(5),
            ping_interval: None,
            pong_timeout: Duration::from_secs(15),
            idle_timeout: None,
            handshake_timeout: Some(Duration::from_secs(10)),
            #[cfg(feature = "deflate")]
            deflate: None,
        }
    }
}
