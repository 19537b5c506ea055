//! Socket options as plain data, with Ktor's names and defaults.

use std::time::Duration;

/// Ktor's default listen backlog.
pub const DEFAULT_BACKLOG: u32 = 511;

/// Default capacity of each socket byte channel: 1 MiB, Ktor's channel size. The memory is
/// taken on the first byte, not when the socket opens.
pub const DEFAULT_CHANNEL_CAPACITY: usize = 1024 * 1024;

/// Every option a socket builder can set, shared by all runtimes.
///
/// The defaults are Ktor's, including `no_delay = true`: a byte-channel socket publishes on
/// flush, so Nagle's algorithm would only add latency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SocketOptions {
    /// `IP_TOS` (IPv4 only; 0 leaves it unset). Ktor's `typeOfService`.
    pub type_of_service: u8,
    /// `SO_REUSEADDR`.
    pub reuse_address: bool,
    /// `SO_REUSEPORT` (ignored where the platform lacks it).
    pub reuse_port: bool,
    /// `SO_SNDBUF`; `None` lets the system decide.
    pub send_buffer_size: Option<usize>,
    /// `SO_RCVBUF`; `None` lets the system decide.
    pub receive_buffer_size: Option<usize>,
    /// `TCP_NODELAY` (TCP only). On by default.
    pub no_delay: bool,
    /// `SO_LINGER` (TCP only); `None` leaves the system default.
    pub linger: Option<Duration>,
    /// `SO_KEEPALIVE` (TCP only); `None` leaves the system default.
    pub keep_alive: Option<bool>,
    /// Per-operation timeout, enforced by wirestate: a read or write that waits longer
    /// cancels both channels with `TimedOut` (Ktor's `socketTimeout`). `None` waits forever.
    pub socket_timeout: Option<Duration>,
    /// Listen backlog for servers.
    pub backlog: u32,
    /// `SO_BROADCAST` (UDP only).
    pub broadcast: bool,
    /// Capacity of each of a stream socket's byte channels (wirestate's own setting): more
    /// lets the pumps run further ahead of the application; less saves memory per socket.
    pub channel_capacity: usize,
}

impl Default for SocketOptions {
    fn default() -> Self {
        SocketOptions {
            type_of_service: 0,
            reuse_address: false,
            reuse_port: false,
            send_buffer_size: None,
            receive_buffer_size: None,
            no_delay: true,
            linger: None,
            keep_alive: None,
            socket_timeout: None,
            backlog: DEFAULT_BACKLOG,
            broadcast: false,
            channel_capacity: DEFAULT_CHANNEL_CAPACITY,
        }
    }
}
