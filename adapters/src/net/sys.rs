//! Creating sockets and applying options with socket2: the part every runtime shares.
//!
//! Options go on before `bind`/`connect` (buffer sizes must, for the TCP window scale to
//! follow them). Errors keep their `io::ErrorKind` (refused, reset, timed out, address in
//! use) and gain the address in their message.

use std::fmt::Display;
use std::io;
use std::net::{SocketAddr, TcpListener, UdpSocket};

use socket2::{Domain, Protocol, SockRef, Socket, Type};

use super::options::SocketOptions;

/// `error` with `what` (an operation and its address) in front, of the same kind.
pub(crate) fn context(error: io::Error, what: impl Display) -> io::Error {
    io::Error::new(error.kind(), format!("{what}: {error}"))
}

/// Options every socket kind takes.
fn apply_common(socket: SockRef<'_>, ipv4: bool, options: &SocketOptions) -> io::Result<()> {
    if options.reuse_address {
        socket.set_reuse_address(true)?;
    }
    #[cfg(all(unix, not(any(target_os = "solaris", target_os = "illumos"))))]
    if options.reuse_port {
        socket.set_reuse_port(true)?;
    }
    if options.type_of_service != 0 && ipv4 {
        socket.set_tos_v4(u32::from(options.type_of_service))?;
    }
    if let Some(size) = options.send_buffer_size {
        socket.set_send_buffer_size(size)?;
    }
    if let Some(size) = options.receive_buffer_size {
        socket.set_recv_buffer_size(size)?;
    }
    Ok(())
}

/// TCP-only options, also applied to accepted sockets.
pub(crate) fn apply_tcp(socket: SockRef<'_>, options: &SocketOptions) -> io::Result<()> {
    socket.set_tcp_nodelay(options.no_delay)?;
    if let Some(linger) = options.linger {
        socket.set_linger(Some(linger))?;
    }
    if let Some(keep_alive) = options.keep_alive {
        socket.set_keepalive(keep_alive)?;
    }
    Ok(())
}

/// A TCP socket for `addr`'s family with every option applied, not yet bound or connected.
fn tcp_socket(addr: &SocketAddr, options: &SocketOptions) -> io::Result<Socket> {
    let socket = Socket::new(
        Domain::for_address(*addr),
        Type::STREAM,
        Some(Protocol::TCP),
    )?;
    apply_common(SockRef::from(&socket), addr.is_ipv4(), options)?;
    apply_tcp(SockRef::from(&socket), options)?;
    Ok(socket)
}

/// A listening TCP socket on `addr`.
pub(crate) fn tcp_listener(
    addr: SocketAddr,
    options: &SocketOptions,
    nonblocking: bool,
) -> io::Result<TcpListener> {
    let socket = tcp_socket(&addr, options)?;
    socket.set_nonblocking(nonblocking)?;
    socket
        .bind(&addr.into())
        .map_err(|e| context(e, format_args!("bind {addr}")))?;
    let backlog = i32::try_from(options.backlog).unwrap_or(i32::MAX);
    socket
        .listen(backlog)
        .map_err(|e| context(e, format_args!("listen on {addr}")))?;
    Ok(socket.into())
}

#[cfg(feature = "blocking")]
/// A TCP connection to `addr`, blocking (bounded by the socket timeout, if any).
pub(crate) fn tcp_connect_blocking(
    addr: SocketAddr,
    options: &SocketOptions,
) -> io::Result<std::net::TcpStream> {
    let socket = tcp_socket(&addr, options)?;
    let result = match options.socket_timeout {
        Some(timeout) => socket.connect_timeout(&addr.into(), timeout),
        None => socket.connect(&addr.into()),
    };
    result.map_err(|e| context(e, format_args!("connect to {addr}")))?;
    Ok(socket.into())
}

#[cfg(any(feature = "smol", feature = "tokio"))]
/// A non-blocking TCP socket for `addr` with every option applied, not yet connected: the
/// runtime connects it (tokio's `TcpSocket::from_std_stream`) or waits for it.
pub(crate) fn tcp_unconnected(addr: &SocketAddr, options: &SocketOptions) -> io::Result<Socket> {
    let socket = tcp_socket(addr, options)?;
    socket.set_nonblocking(true)?;
    Ok(socket)
}

#[cfg(feature = "smol")]
/// Starts a non-blocking connect; the caller waits until the socket is writable, then
/// calls [`finish_connect`].
pub(crate) fn tcp_connect_start(
    addr: SocketAddr,
    options: &SocketOptions,
) -> io::Result<std::net::TcpStream> {
    let socket = tcp_unconnected(&addr, options)?;
    match socket.connect(&addr.into()) {
        Ok(()) => {}
        Err(e) if is_in_progress(&e) => {}
        Err(e) => return Err(context(e, format_args!("connect to {addr}"))),
    }
    Ok(socket.into())
}

#[cfg(feature = "smol")]
/// After a non-blocking connect's socket became writable: its outcome.
pub(crate) fn finish_connect(stream: &std::net::TcpStream, addr: SocketAddr) -> io::Result<()> {
    if let Some(error) = stream.take_error()? {
        return Err(context(error, format_args!("connect to {addr}")));
    }
    match stream.peer_addr() {
        Ok(_) => Ok(()),
        // Writable but not connected: the connect failed; read the reason back.
        Err(_) => {
            let error = stream
                .take_error()?
                .unwrap_or_else(|| io::ErrorKind::NotConnected.into());
            Err(context(error, format_args!("connect to {addr}")))
        }
    }
}

#[cfg(feature = "smol")]
fn is_in_progress(error: &io::Error) -> bool {
    // EINPROGRESS on Unix (Linux 115, the BSDs and macOS 36); WSAEWOULDBLOCK on Windows.
    #[cfg(target_os = "linux")]
    const EINPROGRESS: i32 = 115;
    #[cfg(all(unix, not(target_os = "linux")))]
    const EINPROGRESS: i32 = 36;
    #[cfg(not(unix))]
    const EINPROGRESS: i32 = -1;
    error.kind() == io::ErrorKind::WouldBlock || error.raw_os_error() == Some(EINPROGRESS)
}

/// A UDP socket bound to `addr` with every option applied.
pub(crate) fn udp_bind(
    addr: SocketAddr,
    options: &SocketOptions,
    nonblocking: bool,
) -> io::Result<UdpSocket> {
    let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    apply_common(SockRef::from(&socket), addr.is_ipv4(), options)?;
    if options.broadcast {
        socket.set_broadcast(true)?;
    }
    socket.set_nonblocking(nonblocking)?;
    socket
        .bind(&addr.into())
        .map_err(|e| context(e, format_args!("bind {addr}")))?;
    Ok(socket.into())
}

/// The unspecified address of `peer`'s family, port 0: where a connected UDP socket binds
/// when the caller names no local address.
pub(crate) fn any_local_for(peer: &SocketAddr) -> SocketAddr {
    match peer {
        SocketAddr::V4(_) => SocketAddr::from(([0, 0, 0, 0], 0)),
        SocketAddr::V6(_) => SocketAddr::from(([0u16; 8], 0)),
    }
}

/// Options a Unix stream socket takes (buffer sizes; the TCP and IP ones do not apply).
#[cfg(unix)]
pub(crate) fn apply_unix(socket: SockRef<'_>, options: &SocketOptions) -> io::Result<()> {
    if let Some(size) = options.send_buffer_size {
        socket.set_send_buffer_size(size)?;
    }
    if let Some(size) = options.receive_buffer_size {
        socket.set_recv_buffer_size(size)?;
    }
    Ok(())
}

/// Resolves `addr` to its first socket address.
pub(crate) fn resolve(addr: impl std::net::ToSocketAddrs) -> io::Result<SocketAddr> {
    addr.to_socket_addrs()?
        .next()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no address to use"))
}
