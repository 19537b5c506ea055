//! A connected stream socket and the byte channels it hands out (Ktor's `Socket`).

use std::fmt;
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use crate::chan::{ByteReader, ByteWriter, PipeConfig, byte_channel};

/// Where a socket is: an internet address or, for Unix domain sockets, a path
/// (Ktor's `InetSocketAddress` / `UnixSocketAddress`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SocketAddress {
    /// An IPv4 or IPv6 address and port.
    Inet(SocketAddr),
    /// A Unix domain socket path (`None` for an unnamed socket, such as a client's).
    Unix(Option<PathBuf>),
}

impl SocketAddress {
    /// The internet address, if this is one.
    pub fn inet(&self) -> Option<SocketAddr> {
        match self {
            SocketAddress::Inet(addr) => Some(*addr),
            SocketAddress::Unix(_) => None,
        }
    }

    /// The port of an internet address.
    pub fn port(&self) -> Option<u16> {
        self.inet().map(|addr| addr.port())
    }
}

impl fmt::Display for SocketAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SocketAddress::Inet(addr) => write!(f, "{addr}"),
            SocketAddress::Unix(Some(path)) => write!(f, "unix:{}", path.display()),
            SocketAddress::Unix(None) => f.write_str("unix:(unnamed)"),
        }
    }
}

impl From<SocketAddr> for SocketAddress {
    fn from(addr: SocketAddr) -> Self {
        SocketAddress::Inet(addr)
    }
}

/// Options as the operating system reports them for a connected socket: what was really
/// applied. TCP-only options are `None` on Unix domain sockets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ActiveOptions {
    /// `TCP_NODELAY`.
    pub no_delay: Option<bool>,
    /// `SO_KEEPALIVE`.
    pub keep_alive: Option<bool>,
    /// `SO_LINGER`.
    pub linger: Option<Option<Duration>>,
    /// `IP_TOS` (IPv4).
    pub type_of_service: Option<u8>,
    /// `SO_SNDBUF` (Linux reports twice the size asked for, its bookkeeping included).
    pub send_buffer_size: usize,
    /// `SO_RCVBUF` (likewise doubled on Linux).
    pub receive_buffer_size: usize,
}

/// A connected stream socket. Its bytes flow through two byte channels, each opened at most
/// once: [`open_read_channel`](Socket::open_read_channel) and
/// [`open_write_channel`](Socket::open_write_channel). Pumps on the socket's runtime move
/// the bytes between the channels and the socket (on blocking sockets, the application's
/// own threads do it while they block; see `net::blocking`).
///
/// - Bytes written to the write channel go out once flushed (or at once with auto-flush).
///   Closing the write channel sends a FIN after the last byte (a half-close); the read
///   channel stays open until the peer's FIN.
/// - A socket error (a reset, a timeout) cancels the channel of the direction that met it
///   with that error: the next call on it reports it with its `io::ErrorKind`.
/// - Dropping the socket without opening a channel closes that direction: an unopened read
///   channel is cancelled, an unopened write channel closed (FIN).
pub struct Socket {
    local: SocketAddress,
    remote: SocketAddress,
    read: Mutex<Option<ByteReader>>,
    write: Mutex<Option<ByteWriter>>,
    /// A duplicate of the socket's descriptor: for `close` and `active_options`.
    handle: socket2::Socket,
}

impl fmt::Debug for Socket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Socket")
            .field("local", &self.local)
            .field("remote", &self.remote)
            .finish_non_exhaustive()
    }
}

/// The channel ends a runtime's pumps work on.
pub(crate) struct PumpEnds {
    /// The read pump, or the reader's own source, fills this (the application reads the
    /// other end).
    pub(crate) inbound: ByteWriter,
    /// The write pump drains this (the application writes the other end).
    pub(crate) outbound: ByteReader,
}

impl Socket {
    /// A socket with fresh channels, and the ends its pumps must run on.
    pub(crate) fn new(
        local: SocketAddress,
        remote: SocketAddress,
        handle: socket2::Socket,
        capacity: usize,
    ) -> (Socket, PumpEnds) {
        // The read pump publishes every socket read at once: a reader never waits for more.
        let (inbound, app_reader) =
            byte_channel(PipeConfig::with_capacity(capacity).auto_flush(true));
        let (app_writer, outbound) = byte_channel(PipeConfig::with_capacity(capacity));
        let socket = Socket {
            local,
            remote,
            read: Mutex::new(Some(app_reader)),
            write: Mutex::new(Some(app_writer)),
            handle,
        };
        (socket, PumpEnds { inbound, outbound })
    }

    /// This end's address.
    pub fn local_address(&self) -> &SocketAddress {
        &self.local
    }

    /// The peer's address.
    pub fn remote_address(&self) -> &SocketAddress {
        &self.remote
    }

    /// The channel the peer's bytes arrive on. Only once per socket.
    pub fn open_read_channel(&self) -> io::Result<ByteReader> {
        take_once(&self.read, "read")
    }

    /// The channel whose flushed bytes go to the peer; with `auto_flush` every write goes
    /// out at once. Only once per socket.
    pub fn open_write_channel(&self, auto_flush: bool) -> io::Result<ByteWriter> {
        let mut writer = take_once(&self.write, "write")?;
        writer.set_auto_flush(auto_flush);
        Ok(writer)
    }

    /// Both channels (the write channel without auto-flush), as Ktor's `connection()`.
    pub fn connection(&self) -> io::Result<(ByteReader, ByteWriter)> {
        Ok((self.open_read_channel()?, self.open_write_channel(false)?))
    }

    /// Lets the application's threads make the socket calls themselves (blocking sockets,
    /// whose pumps are threads): the write channel's blocking view writes to `sink` while
    /// its ring is empty, and a blocking read view reads through `source`.
    #[cfg(feature = "blocking")]
    pub(crate) fn set_own_thread_io(
        &self,
        sink: std::sync::Arc<dyn crate::chan::WriteThrough>,
        source: std::sync::Arc<dyn crate::chan::ReadThrough>,
    ) {
        if let Some(writer) = lock(&self.write).as_mut() {
            writer.set_write_through(sink);
        }
        if let Some(reader) = lock(&self.read).as_mut() {
            reader.set_read_through(source);
        }
    }

    /// Another descriptor for the same socket (for a socket layered on this one).
    /// Lets the read channel's reader read the socket through `source` itself, instead of
    /// a read pump (see [`PollSource`](crate::chan::PollSource)).
    #[cfg(feature = "tokio")]
    pub(crate) fn read_inline(&self, source: Box<dyn crate::chan::PollSource>) {
        if let Some(reader) = lock(&self.read).as_mut() {
            reader.set_poll_source(source);
        }
    }

    #[cfg(feature = "tls")]
    pub(crate) fn duplicate_handle(&self) -> io::Result<socket2::Socket> {
        self.handle.try_clone()
    }

    /// Shuts the socket down both ways at once, abandoning what is in flight: the pumps
    /// stop and the channels report the end or an error. For a clean end, close the write
    /// channel and read the read channel to its end instead.
    pub fn close(&self) -> io::Result<()> {
        match self.handle.shutdown(Shutdown::Both) {
            Err(error) if error.kind() != io::ErrorKind::NotConnected => Err(error),
            _ => Ok(()),
        }
    }
}

impl Socket {
    /// The options as the operating system now reports them for this socket.
    pub fn active_options(&self) -> io::Result<ActiveOptions> {
        let socket = &self.handle;
        let tcp = self.remote.inet();
        Ok(ActiveOptions {
            no_delay: tcp.map(|_| socket.tcp_nodelay()).transpose()?,
            keep_alive: tcp.map(|_| socket.keepalive()).transpose()?,
            linger: tcp.map(|_| socket.linger()).transpose()?,
            type_of_service: match tcp {
                Some(SocketAddr::V4(_)) => Some(socket.tos_v4()? as u8),
                _ => None,
            },
            send_buffer_size: socket.send_buffer_size()?,
            receive_buffer_size: socket.recv_buffer_size()?,
        })
    }
}

fn lock<T>(slot: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    slot.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn take_once<T>(slot: &Mutex<Option<T>>, which: &str) -> io::Result<T> {
    lock(slot).take().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!("the socket's {which} channel was already opened"),
        )
    })
}
