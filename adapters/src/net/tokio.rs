//! Sockets on tokio. Making a socket needs a tokio runtime context (with time enabled when a
//! socket timeout is set).
//!
//! The write channel is written to the socket by a pump task. The read channel has no pump:
//! its reader, in whatever task or thread polls it, reads the socket itself once the channel
//! is empty, into the channel or, for a read of 16 KiB or more, straight into the caller's
//! buffer. tokio remembers that a socket is empty, so a read that must wait costs no system
//! call, and no bytes wait for a hand-off between tasks (a wake and a copy each). As with
//! tokio's own `TcpStream`, arriving bytes therefore stay in the socket until a read:
//! `available_for_read` counts only what reads moved into the channel, the peer's end or a
//! reset shows at the next read, and the socket timeout runs while a read waits.
//!
//! A stream is split into tokio's owned halves, one per pump, so `Socket::close` shuts the
//! socket down through a third handle: a duplicate of its descriptor
//! ([`socket2::Socket::try_clone`]), which reaches the same kernel socket, as smol's stream
//! clone does. Like that clone, it keeps the socket open until the [`Socket`] is dropped.

use std::future::Future;
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use socket2::SockRef;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpSocket, TcpStream, UdpSocket};

use super::builder::{TcpSocketBuilder, Tokio, UdpSocketBuilder};
#[cfg(doc)]
use super::datagram::MAX_DATAGRAM;
use super::datagram::{Datagram, check_size, expect_whole, receive_into};
use super::options::SocketOptions;
use super::pump::{self, Deadline, PollRead, PollWrite};
use super::socket::{Socket, SocketAddress};
use super::sys;
use crate::driver::{Timer, TokioTimer};

impl TcpSocketBuilder<Tokio> {
    /// Connects to `addr`, with every option applied before the connect. The socket
    /// timeout, if set, bounds the connect too.
    pub async fn connect(self, addr: impl ToSocketAddrs) -> io::Result<Socket> {
        let addr = sys::resolve(addr)?;
        let stream = connect_stream(addr, &self.options).await?;
        tcp_socket(stream, &self.options)
    }

    /// Binds a listener to `addr` (port 0 picks a free port).
    pub async fn bind(self, addr: impl ToSocketAddrs) -> io::Result<ServerSocket> {
        let addr = sys::resolve(addr)?;
        let listener = TcpListener::from_std(sys::tcp_listener(addr, &self.options, true)?)?;
        let local = listener.local_addr()?;
        Ok(ServerSocket {
            listener: Listener::Tcp(listener),
            local: SocketAddress::Inet(local),
            options: self.options,
        })
    }
}

#[cfg(unix)]
impl super::builder::UnixSocketBuilder<Tokio> {
    /// Connects to the Unix domain socket at `path`.
    pub async fn connect(self, path: impl AsRef<std::path::Path>) -> io::Result<Socket> {
        let path = path.as_ref();
        let stream = tokio::net::UnixStream::connect(path)
            .await
            .map_err(|e| sys::context(e, format_args!("connect to {}", path.display())))?;
        sys::apply_unix(SockRef::from(&stream), &self.options)?;
        unix_socket(stream, &self.options)
    }

    /// Binds a listener to `path` (which must not exist yet).
    pub async fn bind(self, path: impl AsRef<std::path::Path>) -> io::Result<ServerSocket> {
        let path = path.as_ref();
        let listener = tokio::net::UnixListener::bind(path)
            .map_err(|e| sys::context(e, format_args!("bind {}", path.display())))?;
        Ok(ServerSocket {
            listener: Listener::Unix(listener),
            local: SocketAddress::Unix(Some(path.to_path_buf())),
            options: self.options,
        })
    }
}

/// A listening socket (Ktor's `ServerSocket`).
#[derive(Debug)]
pub struct ServerSocket {
    listener: Listener,
    local: SocketAddress,
    options: SocketOptions,
}

#[derive(Debug)]
enum Listener {
    Tcp(TcpListener),
    #[cfg(unix)]
    Unix(tokio::net::UnixListener),
}

impl ServerSocket {
    /// Where it listens.
    pub fn local_address(&self) -> &SocketAddress {
        &self.local
    }

    /// The internet address it listens on (the port a `bind` to port 0 picked).
    pub fn local_addr(&self) -> SocketAddr {
        self.local
            .inet()
            .unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], 0)))
    }

    /// Waits for the next connection; the builder's options apply to it.
    pub async fn accept(&self) -> io::Result<Socket> {
        match &self.listener {
            Listener::Tcp(listener) => {
                let (stream, _) = listener.accept().await?;
                sys::apply_tcp(SockRef::from(&stream), &self.options)?;
                tcp_socket(stream, &self.options)
            }
            #[cfg(unix)]
            Listener::Unix(listener) => {
                let (stream, _) = listener.accept().await?;
                sys::apply_unix(SockRef::from(&stream), &self.options)?;
                unix_socket(stream, &self.options)
            }
        }
    }
}

/// A stream connected to `addr` from a socket that had every option applied before the
/// connect, within the socket timeout.
async fn connect_stream(addr: SocketAddr, options: &SocketOptions) -> io::Result<TcpStream> {
    let connect = async {
        let socket = TcpSocket::from_std_stream(sys::tcp_unconnected(&addr, options)?.into());
        socket
            .connect(addr)
            .await
            .map_err(|e| sys::context(e, format_args!("connect to {addr}")))
    };
    with_timeout(options.socket_timeout, "connect", connect).await
}

fn tcp_socket(stream: TcpStream, options: &SocketOptions) -> io::Result<Socket> {
    let local = SocketAddress::Inet(stream.local_addr()?);
    let remote = SocketAddress::Inet(stream.peer_addr()?);
    let handle = SockRef::from(&stream).try_clone()?;
    let (read, write) = stream.into_split();
    Ok(start(read, write, local, remote, handle, options))
}

#[cfg(unix)]
fn unix_socket(stream: tokio::net::UnixStream, options: &SocketOptions) -> io::Result<Socket> {
    let path = |addr: tokio::net::unix::SocketAddr| addr.as_pathname().map(Into::into);
    let local = SocketAddress::Unix(path(stream.local_addr()?));
    let remote = SocketAddress::Unix(path(stream.peer_addr()?));
    let handle = SockRef::from(&stream).try_clone()?;
    let (read, write) = stream.into_split();
    Ok(start(read, write, local, remote, handle, options))
}

/// Makes the socket and spawns its write pump on the current tokio runtime; the read
/// channel's reader reads the socket itself (see the module docs).
fn start<R, W>(
    read: R,
    write: W,
    local: SocketAddress,
    remote: SocketAddress,
    handle: socket2::Socket,
    options: &SocketOptions,
) -> Socket
where
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let (socket, ends) = Socket::new(local, remote, handle, options.channel_capacity);
    let timeout = options.socket_timeout;
    let runtime = tokio::runtime::Handle::current();
    let timer = || SocketTimer {
        runtime: runtime.clone(),
        sleep: TokioTimer(None),
    };
    let read = pump::ReadSource::new(TokioIo(read), ends.inbound, Deadline::new(timeout, timer));
    socket.read_inline(Box::new(read));
    let write = pump::write_pump(TokioIo(write), ends.outbound, Deadline::new(timeout, timer));
    tokio::spawn(write);
    socket
}

/// The socket timeout's timer. It is set in the runtime it was made in, because the read
/// channel's reader, which waits on it, may be polled from any thread (a blocking view,
/// another executor).
struct SocketTimer {
    runtime: tokio::runtime::Handle,
    sleep: TokioTimer,
}

impl Timer for SocketTimer {
    fn reset(&mut self, deadline: std::time::Instant) {
        let _context = self.runtime.enter();
        self.sleep.reset(deadline);
    }

    fn poll_expired(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        self.sleep.poll_expired(cx)
    }
}

/// Runs `operation`, failing with `TimedOut` after `timeout` (if any).
async fn with_timeout<T>(
    timeout: Option<Duration>,
    what: &str,
    operation: impl Future<Output = io::Result<T>>,
) -> io::Result<T> {
    let Some(timeout) = timeout else {
        return operation.await;
    };
    tokio::time::timeout(timeout, operation)
        .await
        .unwrap_or_else(|_| {
            Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("{what} timed out after {timeout:?}"),
            ))
        })
}

/// One owned half of a tokio stream as the pumps see it. Shutting the write half down sends
/// the FIN; tokio's write half also shuts down when dropped without it, so a write pump
/// that stops on an error or a cancellation half-closes the socket too.
struct TokioIo<S>(S);

impl<S: AsyncRead + Unpin> PollRead for TokioIo<S> {
    fn poll_read(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        let mut buf = ReadBuf::new(buf);
        ready!(Pin::new(&mut self.0).poll_read(cx, &mut buf))?;
        Poll::Ready(Ok(buf.filled().len()))
    }
}

impl<S: AsyncWrite + Unpin> PollWrite for TokioIo<S> {
    fn poll_write(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_shutdown(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

// ---- UDP --------------------------------------------------------------------------------

impl UdpSocketBuilder<Tokio> {
    /// Binds a datagram socket to `addr` (port 0 picks a free port).
    pub async fn bind(self, addr: impl ToSocketAddrs) -> io::Result<BoundDatagramSocket> {
        let addr = sys::resolve(addr)?;
        let socket = sys::udp_bind(addr, &self.options, true)?;
        Ok(BoundDatagramSocket {
            socket: UdpSocket::from_std(socket)?,
            buffer: Mutex::new(BytesMut::new()),
        })
    }

    /// A datagram socket that talks to `remote` only, bound to `local` (or to any address of
    /// the same family, port 0).
    pub async fn connect(
        self,
        remote: impl ToSocketAddrs,
        local: Option<SocketAddr>,
    ) -> io::Result<ConnectedDatagramSocket> {
        let remote = sys::resolve(remote)?;
        let local = local.unwrap_or_else(|| sys::any_local_for(&remote));
        let socket = UdpSocket::from_std(sys::udp_bind(local, &self.options, true)?)?;
        socket
            .connect(remote)
            .await
            .map_err(|e| sys::context(e, format_args!("connect to {remote}")))?;
        Ok(ConnectedDatagramSocket {
            socket,
            remote,
            buffer: Mutex::new(BytesMut::new()),
        })
    }
}

/// A UDP socket bound to a local address (Ktor's `BoundDatagramSocket`).
#[derive(Debug)]
pub struct BoundDatagramSocket {
    socket: UdpSocket,
    buffer: Mutex<BytesMut>,
}

impl BoundDatagramSocket {
    /// The address it is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.socket.local_addr()
    }

    /// Sends one datagram (at most [`MAX_DATAGRAM`] bytes).
    pub async fn send(&self, datagram: &Datagram) -> io::Result<()> {
        check_size(datagram.payload.len())?;
        let sent = self
            .socket
            .send_to(&datagram.payload, datagram.address)
            .await?;
        expect_whole(sent, datagram.payload.len())
    }

    /// Waits for the next datagram.
    pub async fn receive(&self) -> io::Result<Datagram> {
        let (payload, address) =
            receive_into(&self.buffer, async |buf| self.socket.recv_from(buf).await).await?;
        Ok(Datagram { payload, address })
    }
}

/// A UDP socket that talks to one peer (Ktor's `ConnectedDatagramSocket`).
#[derive(Debug)]
pub struct ConnectedDatagramSocket {
    socket: UdpSocket,
    remote: SocketAddr,
    buffer: Mutex<BytesMut>,
}

impl ConnectedDatagramSocket {
    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.socket.local_addr()
    }

    /// The peer.
    pub fn remote_addr(&self) -> SocketAddr {
        self.remote
    }

    /// Sends one datagram to the peer (at most [`MAX_DATAGRAM`] bytes).
    pub async fn send(&self, payload: &[u8]) -> io::Result<()> {
        check_size(payload.len())?;
        let sent = self.socket.send(payload).await?;
        expect_whole(sent, payload.len())
    }

    /// Waits for the next datagram from the peer.
    pub async fn receive(&self) -> io::Result<Bytes> {
        let remote = self.remote;
        let (payload, _) = receive_into(&self.buffer, async |buf| {
            self.socket.recv(buf).await.map(|n| (n, remote))
        })
        .await?;
        Ok(payload)
    }
}

/// Puts a TLS client session on a connected socket (Ktor's `socket.tls()`): the server's
/// certificate must be valid for `server_name` under `config`. Returns, once the handshake
/// is done, a socket whose channels carry plaintext; `socket` is consumed. A refused
/// certificate or a timeout is an `io::Error` whose inner error is the
/// [`TlsError`](crate::tls::TlsError). Call from within a tokio runtime.
#[cfg(feature = "tls")]
pub async fn tls(
    socket: Socket,
    server_name: &str,
    config: &crate::tls::ClientConfig,
) -> io::Result<Socket> {
    start_tls(socket, config.start(server_name)?).await
}

/// The server's side of [`tls`]: runs the TLS handshake as a server on an accepted socket.
#[cfg(feature = "tls")]
pub async fn tls_server(socket: Socket, config: &crate::tls::ServerConfig) -> io::Result<Socket> {
    start_tls(socket, config.start()?).await
}

#[cfg(feature = "tls")]
async fn start_tls(socket: Socket, session: crate::tls::TlsLayer) -> io::Result<Socket> {
    use super::tls;
    let layered = tls::layer(socket, session, crate::driver::tokio::connection)?;
    let driver =
        crate::driver::Driver::new(layered.conn.clone(), layered.transport, TokioTimer(None));
    tokio::spawn(driver);
    tokio::spawn(tls::deliver_plaintext(
        layered.conn.clone(),
        layered.inbound,
    ));
    tokio::spawn(tls::send_plaintext(layered.conn.clone(), layered.outbound));
    crate::wire::handshake_done(&layered.conn).await?;
    Ok(layered.socket)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::a_socket;

    /// The options reach the kernel on both paths: a connected stream (set before the
    /// connect, kept through tokio's conversion) and a listener (set before the bind).
    #[tokio::test]
    async fn options_reach_the_kernel() {
        let size = 24 * 1024; // unlike any default, so a match is this setting
        let builder = a_socket(Tokio)
            .no_delay(true)
            .keep_alive(Some(true))
            .reuse_address(true)
            .send_buffer_size(Some(size))
            .receive_buffer_size(Some(size));
        let server = builder.tcp().bind("127.0.0.1:0").await.unwrap();
        let stream = connect_stream(server.local_addr(), builder.current_options())
            .await
            .unwrap();
        let Listener::Tcp(listener) = &server.listener else {
            unreachable!("a TCP bind")
        };
        for socket in [SockRef::from(&stream), SockRef::from(listener)] {
            assert!(socket.tcp_nodelay().unwrap());
            assert!(socket.keepalive().unwrap());
            assert!(socket.reuse_address().unwrap());
            // Linux reports twice the size set (its bookkeeping share); others report it.
            let set = [size, 2 * size];
            assert!(set.contains(&socket.send_buffer_size().unwrap()));
            assert!(set.contains(&socket.recv_buffer_size().unwrap()));
        }
    }
}
