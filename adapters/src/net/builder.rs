//! The socket builder: one option set, one shape, for every runtime (Ktor's `aSocket`).

use std::marker::PhantomData;
use std::time::Duration;

use super::options::SocketOptions;

/// Runs sockets on smol (async-io's reactor); the socket's pumps are smol tasks.
#[derive(Debug, Clone, Copy, Default)]
pub struct Smol;

/// Runs sockets on tokio; needs a tokio runtime context. The write pump is a tokio task;
/// the read channel's reader reads the socket itself.
#[derive(Debug, Clone, Copy, Default)]
pub struct Tokio;

/// Runs sockets on plain threads with blocking std sockets.
#[derive(Debug, Clone, Copy, Default)]
pub struct Blocking;

/// Starts a socket builder for `runtime` (Ktor's `aSocket(selector)`): set options, then
/// pick [`tcp`](SocketBuilder::tcp), [`udp`](SocketBuilder::udp) or, on Unix,
/// [`unix`](SocketBuilder::unix).
///
/// ```no_run
/// # #[cfg(feature = "smol")]
/// # fn main() -> std::io::Result<()> { smol::block_on(async {
/// use wirestate::net::{a_socket, Smol};
///
/// let server = a_socket(Smol).reuse_address(true).tcp().bind("127.0.0.1:0").await?;
/// let client = a_socket(Smol).tcp().connect(server.local_addr()).await?;
/// # Ok(()) }) }
/// # #[cfg(not(feature = "smol"))]
/// # fn main() {}
/// ```
pub fn a_socket<R>(runtime: R) -> SocketBuilder<R> {
    let _ = runtime;
    SocketBuilder {
        options: SocketOptions::default(),
        runtime: PhantomData,
    }
}

/// Options common to every socket, before choosing TCP, UDP or Unix. Each setter returns
/// the builder, so a configured builder can be kept and reused (Ktor's copy-on-configure).
#[derive(Debug, Clone, Copy)]
pub struct SocketBuilder<R> {
    options: SocketOptions,
    runtime: PhantomData<R>,
}

macro_rules! setters {
    ($( $(#[$doc:meta])* $name:ident: $ty:ty; )*) => {
        $(
            $(#[$doc])*
            pub fn $name(mut self, value: $ty) -> Self {
                self.options.$name = value;
                self
            }
        )*
    };
}

impl<R> SocketBuilder<R> {
    setters! {
        /// `IP_TOS` (IPv4; 0 leaves it unset).
        type_of_service: u8;
        /// `SO_REUSEADDR`.
        reuse_address: bool;
        /// `SO_REUSEPORT`.
        reuse_port: bool;
        /// `SO_SNDBUF`.
        send_buffer_size: Option<usize>;
        /// `SO_RCVBUF`.
        receive_buffer_size: Option<usize>;
        /// `TCP_NODELAY` (default on).
        no_delay: bool;
        /// `SO_LINGER`.
        linger: Option<Duration>;
        /// `SO_KEEPALIVE`.
        keep_alive: Option<bool>;
        /// Per-operation timeout; expiry cancels the channels with `TimedOut`.
        socket_timeout: Option<Duration>;
        /// Listen backlog (default 511).
        backlog: u32;
        /// `SO_BROADCAST` (UDP).
        broadcast: bool;
        /// Capacity of each byte channel of a stream socket (default 1 MiB).
        channel_capacity: usize;
    }

    /// Replaces every option at once.
    pub fn options(mut self, options: SocketOptions) -> Self {
        self.options = options;
        self
    }

    /// The options set so far.
    pub fn current_options(&self) -> &SocketOptions {
        &self.options
    }

    /// TCP: `connect` to a server or `bind` a listener.
    pub fn tcp(self) -> TcpSocketBuilder<R> {
        TcpSocketBuilder {
            options: self.options,
            runtime: PhantomData,
        }
    }

    /// UDP: `bind` a datagram socket, or `connect` one to a single peer.
    pub fn udp(self) -> UdpSocketBuilder<R> {
        UdpSocketBuilder {
            options: self.options,
            runtime: PhantomData,
        }
    }

    /// Unix domain stream sockets: `connect` to a path or `bind` a listener on one.
    #[cfg(unix)]
    pub fn unix(self) -> UnixSocketBuilder<R> {
        UnixSocketBuilder {
            options: self.options,
            runtime: PhantomData,
        }
    }
}

/// Builds TCP sockets; `connect` and `bind` come from the runtime's module.
#[derive(Debug, Clone, Copy)]
pub struct TcpSocketBuilder<R> {
    pub(crate) options: SocketOptions,
    runtime: PhantomData<R>,
}

/// Builds UDP sockets; `bind` and `connect` come from the runtime's module.
#[derive(Debug, Clone, Copy)]
pub struct UdpSocketBuilder<R> {
    pub(crate) options: SocketOptions,
    runtime: PhantomData<R>,
}

/// Builds Unix domain stream sockets; `connect` and `bind` come from the runtime's module.
#[cfg(unix)]
#[derive(Debug, Clone, Copy)]
pub struct UnixSocketBuilder<R> {
    pub(crate) options: SocketOptions,
    runtime: PhantomData<R>,
}
