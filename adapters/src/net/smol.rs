//! Sockets on smol (async-io's reactor); the pumps run as smol tasks.

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll};
use std::time::Duration;

use async_io::{Async, Timer};
use bytes::{Bytes, BytesMut};
use futures_io::{AsyncRead, AsyncWrite};
use smol::net::{TcpListener, TcpStream, UdpSocket};
use socket2::SockRef;

use super::builder::{Smol, TcpSocketBuilder, UdpSocketBuilder};
#[cfg(doc)]
use super::datagram::MAX_DATAGRAM;
use super::datagram::{Datagram, check_size, expect_whole, receive_into};
use super::options::SocketOptions;
use super::pump::{self, Deadline, PollRead, PollWrite};
use super::socket::{Socket, SocketAddress};
use super::sys;
use crate::driver::SmolTimer;

impl TcpSocketBuilder<Smol> {
    /// Connects to `addr`. The socket timeout, if set, bounds the connect too.
    pub async fn connect(self, addr: impl ToSocketAddrs) -> io::Result<Socket> {
        let addr = sys::resolve(addr)?;
        let options = self.options;
        let connect = async {
            let stream = Async::new(sys::tcp_connect_start(addr, &options)?)?;
            stream.writable().await?;
            sys::finish_connect(stream.get_ref(), addr)?;
            Ok(TcpStream::from(stream))
        };
        let stream = with_timeout(options.socket_timeout, "connect", connect).await?;
        tcp_socket(stream, &options)
    }

    /// Binds a listener to `addr` (port 0 picks a free port).
    pub async fn bind(self, addr: impl ToSocketAddrs) -> io::Result<ServerSocket> {
        let addr = sys::resolve(addr)?;
        let listener = sys::tcp_listener(addr, &self.options, true)?;
        let local = listener.local_addr()?;
        Ok(ServerSocket {
            listener: Listener::Tcp(TcpListener::from(Async::new(listener)?)),
            local: SocketAddress::Inet(local),
            options: self.options,
        })
    }
}

#[cfg(unix)]
impl super::builder::UnixSocketBuilder<Smol> {
    /// Connects to the Unix domain socket at `path`.
    pub async fn connect(self, path: impl AsRef<std::path::Path>) -> io::Result<Socket> {
        let path = path.as_ref();
        let stream = smol::net::unix::UnixStream::connect(path)
            .await
            .map_err(|e| sys::context(e, format_args!("connect to {}", path.display())))?;
        sys::apply_unix(SockRef::from(&stream), &self.options)?;
        unix_socket(stream, &self.options)
    }

    /// Binds a listener to `path` (which must not exist yet).
    pub async fn bind(self, path: impl AsRef<std::path::Path>) -> io::Result<ServerSocket> {
        let path = path.as_ref();
        let listener = smol::net::unix::UnixListener::bind(path)
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
    Unix(smol::net::unix::UnixListener),
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

fn tcp_socket(stream: TcpStream, options: &SocketOptions) -> io::Result<Socket> {
    let local = SocketAddress::Inet(stream.local_addr()?);
    let remote = SocketAddress::Inet(stream.peer_addr()?);
    let handle = SockRef::from(&stream).try_clone()?;
    Ok(start(stream, local, remote, handle, options))
}

#[cfg(unix)]
fn unix_socket(stream: smol::net::unix::UnixStream, options: &SocketOptions) -> io::Result<Socket> {
    let path = |addr: std::os::unix::net::SocketAddr| addr.as_pathname().map(Into::into);
    let local = SocketAddress::Unix(path(stream.local_addr()?));
    let remote = SocketAddress::Unix(path(stream.peer_addr()?));
    let handle = SockRef::from(&stream).try_clone()?;
    Ok(start(stream, local, remote, handle, options))
}

/// Makes the socket and spawns its two pumps on smol's executor.
fn start<S>(
    stream: S,
    local: SocketAddress,
    remote: SocketAddress,
    handle: socket2::Socket,
    options: &SocketOptions,
) -> Socket
where
    S: AsyncRead + AsyncWrite + Clone + Unpin + Send + 'static,
{
    let (socket, ends) = Socket::new(local, remote, handle, options.channel_capacity);
    let timeout = options.socket_timeout;
    let read = pump::read_pump(pump::ReadSource::new(
        SmolIo(stream.clone()),
        ends.inbound,
        Deadline::new(timeout, never),
    ));
    let write = pump::write_pump(SmolIo(stream), ends.outbound, Deadline::new(timeout, never));
    smol::spawn(read).detach();
    smol::spawn(write).detach();
    socket
}

/// Puts a TLS client session on a connected socket (Ktor's `socket.tls()`): the server's
/// certificate must be valid for `server_name` under `config`. Returns, once the handshake
/// is done, a socket whose channels carry plaintext; `socket` is consumed. A refused
/// certificate or a timeout is an `io::Error` whose inner error is the
/// [`TlsError`](crate::tls::TlsError).
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
    let layered = tls::layer(socket, session, crate::driver::Connection::new)?;
    let driver = crate::driver::Driver::new(layered.conn.clone(), layered.transport, never());
    smol::spawn(async move {
        let _ = driver.await;
    })
    .detach();
    smol::spawn(tls::deliver_plaintext(
        layered.conn.clone(),
        layered.inbound,
    ))
    .detach();
    smol::spawn(tls::send_plaintext(layered.conn.clone(), layered.outbound)).detach();
    crate::wire::handshake_done(&layered.conn).await?;
    Ok(layered.socket)
}

fn never() -> SmolTimer {
    SmolTimer(Timer::never())
}

/// Runs `operation`, failing with `TimedOut` after `timeout` (if any).
async fn with_timeout<T>(
    timeout: Option<Duration>,
    what: &str,
    operation: impl std::future::Future<Output = io::Result<T>>,
) -> io::Result<T> {
    let Some(timeout) = timeout else {
        return operation.await;
    };
    smol::future::or(operation, async {
        Timer::after(timeout).await;
        Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("{what} timed out after {timeout:?}"),
        ))
    })
    .await
}

/// A smol stream (one clone per pump) as the pumps see it. async-net streams shut their
/// write half down in `poll_close`.
struct SmolIo<S>(S);

impl<S: AsyncRead + Unpin> PollRead for SmolIo<S> {
    fn poll_read(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> PollWrite for SmolIo<S> {
    fn poll_write(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_shutdown(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_close(cx)
    }
}

// ---- UDP --------------------------------------------------------------------------------

impl UdpSocketBuilder<Smol> {
    /// Binds a datagram socket to `addr` (port 0 picks a free port).
    pub async fn bind(self, addr: impl ToSocketAddrs) -> io::Result<BoundDatagramSocket> {
        let addr = sys::resolve(addr)?;
        let socket = sys::udp_bind(addr, &self.options, true)?;
        Ok(BoundDatagramSocket {
            socket: UdpSocket::from(Async::new(socket)?),
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
        let socket = UdpSocket::from(Async::new(sys::udp_bind(local, &self.options, true)?)?);
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
