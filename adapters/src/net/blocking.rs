//! Sockets on blocking std sockets, for plain threads.
//!
//! The same API as `net::smol`, with blocking methods. The application's own threads move
//! the bytes while they can, as with a plain `TcpStream`: a reader that waits on the read
//! channel's blocking view reads the socket itself, and the write channel's blocking view
//! writes to the socket itself while the channel holds nothing. A write pump thread sends
//! what the application leaves in the write channel (small writes gathered until a flush,
//! writes from async code); a read pump thread starts only if the read channel is awaited
//! another way (from an executor, which must not block).
//!
//! So, as with a plain `TcpStream`, arriving bytes stay in the socket until a reader waits:
//! `available_for_read` counts only what reads moved into the channel, and the peer's end
//! or a reset shows at the next read. A thread that writes a large request while its peer
//! does the same before reading can block for good, as with std sockets: read on another
//! thread then, or use the smol sockets, whose read pump keeps reading into the channel.
//!
//! The socket timeout is the socket's own read and write timeout: a read or write that waits
//! longer cancels its channel with `TimedOut`. [`Socket::close`] ends both directions at
//! once.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs, UdpSocket};
#[cfg(unix)]
use std::os::unix::net::{UnixListener, UnixStream};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::thread;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use socket2::SockRef;

use super::builder::{Blocking, TcpSocketBuilder, UdpSocketBuilder};
use super::datagram::{Datagram, check_size, expect_whole, receive_into};
use super::options::SocketOptions;
use super::pump::{self, Deadline, PollRead, PollWrite};
use super::socket::{Socket, SocketAddress};
use super::sys;
use crate::chan::ByteWriter;
use crate::chan::io_error::cause_like;
use crate::driver::Timer;
use crate::park;

impl TcpSocketBuilder<Blocking> {
    /// Connects to `addr`. The socket timeout, if set, bounds the connect too.
    pub fn connect(self, addr: impl ToSocketAddrs) -> io::Result<Socket> {
        let addr = sys::resolve(addr)?;
        let stream = sys::tcp_connect_blocking(addr, &self.options)?;
        tcp_socket(stream, &self.options)
    }

    /// Binds a listener to `addr` (port 0 picks a free port).
    pub fn bind(self, addr: impl ToSocketAddrs) -> io::Result<ServerSocket> {
        let addr = sys::resolve(addr)?;
        let listener = sys::tcp_listener(addr, &self.options, false)?;
        let local = listener.local_addr()?;
        Ok(ServerSocket {
            listener: Listener::Tcp(listener),
            local: SocketAddress::Inet(local),
            options: self.options,
        })
    }
}

#[cfg(unix)]
impl super::builder::UnixSocketBuilder<Blocking> {
    /// Connects to the Unix domain socket at `path`.
    pub fn connect(self, path: impl AsRef<std::path::Path>) -> io::Result<Socket> {
        let path = path.as_ref();
        let stream = UnixStream::connect(path)
            .map_err(|e| sys::context(e, format_args!("connect to {}", path.display())))?;
        sys::apply_unix(SockRef::from(&stream), &self.options)?;
        unix_socket(stream, &self.options)
    }

    /// Binds a listener to `path` (which must not exist yet).
    pub fn bind(self, path: impl AsRef<std::path::Path>) -> io::Result<ServerSocket> {
        let path = path.as_ref();
        let listener = UnixListener::bind(path)
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
    Unix(UnixListener),
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

    /// Blocks until the next connection; the builder's options apply to it.
    pub fn accept(&self) -> io::Result<Socket> {
        match &self.listener {
            Listener::Tcp(listener) => {
                let (stream, _) = listener.accept()?;
                sys::apply_tcp(SockRef::from(&stream), &self.options)?;
                tcp_socket(stream, &self.options)
            }
            #[cfg(unix)]
            Listener::Unix(listener) => {
                let (stream, _) = listener.accept()?;
                sys::apply_unix(SockRef::from(&stream), &self.options)?;
                unix_socket(stream, &self.options)
            }
        }
    }
}

fn tcp_socket(stream: TcpStream, options: &SocketOptions) -> io::Result<Socket> {
    let local = SocketAddress::Inet(stream.local_addr()?);
    let remote = SocketAddress::Inet(stream.peer_addr()?);
    start(stream, local, remote, options)
}

#[cfg(unix)]
fn unix_socket(stream: UnixStream, options: &SocketOptions) -> io::Result<Socket> {
    let path = |addr: std::os::unix::net::SocketAddr| addr.as_pathname().map(Into::into);
    let local = SocketAddress::Unix(path(stream.local_addr()?));
    let remote = SocketAddress::Unix(path(stream.peer_addr()?));
    start(stream, local, remote, options)
}

/// A blocking std stream socket, shared by its two pumps and the socket's shutdown hook.
trait Stream: Send + Sync + 'static {
    fn read_some(&self, buf: &mut [u8]) -> io::Result<usize>;
    fn write_some(&self, buf: &[u8]) -> io::Result<usize>;
    fn shutdown(&self, how: Shutdown) -> io::Result<()>;
    fn set_timeouts(&self, timeout: Option<Duration>) -> io::Result<()>;
    /// A duplicate descriptor of the same socket, for `Socket::close` and its options.
    fn duplicate(&self) -> io::Result<socket2::Socket>;
}

macro_rules! std_stream {
    ($ty:ty) => {
        impl Stream for $ty {
            fn read_some(&self, buf: &mut [u8]) -> io::Result<usize> {
                (&mut &*self).read(buf)
            }
            fn write_some(&self, buf: &[u8]) -> io::Result<usize> {
                (&mut &*self).write(buf)
            }
            fn shutdown(&self, how: Shutdown) -> io::Result<()> {
                <$ty>::shutdown(self, how)
            }
            fn set_timeouts(&self, timeout: Option<Duration>) -> io::Result<()> {
                self.set_read_timeout(timeout)?;
                self.set_write_timeout(timeout)
            }
            fn duplicate(&self) -> io::Result<socket2::Socket> {
                socket2::SockRef::from(self).try_clone()
            }
        }
    };
}

std_stream!(TcpStream);
#[cfg(unix)]
std_stream!(UnixStream);

/// Makes the socket and starts its write pump thread (reads run on demand: `ReadSide`).
fn start<S: Stream>(
    stream: S,
    local: SocketAddress,
    remote: SocketAddress,
    options: &SocketOptions,
) -> io::Result<Socket> {
    let timeout = options.socket_timeout;
    stream.set_timeouts(timeout.map(os_timeout))?;
    let stream = Arc::new(stream);
    let handle = stream.duplicate()?;
    let (socket, ends) = Socket::new(local, remote, handle, options.channel_capacity);
    let io = |stream| StdIo { stream, timeout };
    // The application's threads read and write the socket themselves while they can, as
    // with a plain `TcpStream`; the pumps cover the rest (see `ReadSide`, `WriteThrough`).
    socket.set_own_thread_io(
        Arc::new(io(Arc::clone(&stream))),
        Arc::new(ReadSide::new(io(Arc::clone(&stream)), ends.inbound)),
    );
    let write = pump::write_pump(io(Arc::clone(&stream)), ends.outbound, no_deadline());
    if let Err(error) = spawn("wirestate-socket-write", write) {
        let _ = stream.shutdown(Shutdown::Both);
        return Err(error);
    }
    Ok(socket)
}

/// The read direction of a blocking socket. A blocking read view reads the socket itself,
/// straight into the channel (or, for a large read, the caller's buffer), whenever it
/// waits: one thread, no hand-off. Once the channel is awaited any other way (from an
/// executor, which must not block), a pump thread takes over for good.
struct ReadSide<S> {
    state: Mutex<ReadState<S>>,
}

enum ReadState<S> {
    /// The reader's threads read the socket: the socket and the channel's write end.
    OnDemand(StdIo<S>, ByteWriter),
    /// A pump thread has them.
    Pumped,
    /// The socket reached its end or failed; the channel says which.
    Over,
}

impl<S: Stream> ReadSide<S> {
    fn new(io: StdIo<S>, inbound: ByteWriter) -> Self {
        ReadSide {
            state: Mutex::new(ReadState::OnDemand(io, inbound)),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ReadState<S>> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl<S> ReadState<S> {
    /// After a read on the reader's thread: the socket's end closes the channel and an error
    /// cancels it, as the pump would; either way the socket is done.
    fn settle(&mut self, read: &io::Result<usize>) {
        let ReadState::OnDemand(_, inbound) = self else {
            return;
        };
        match read {
            Ok(0) => drop(inbound.close()), // the peer's FIN
            Ok(_) => return,
            Err(error) => inbound.cancel_with(cause_like(error)),
        }
        *self = ReadState::Over;
    }
}

impl<S: Stream> crate::chan::ReadThrough for ReadSide<S> {
    fn fill(&self) -> bool {
        let mut state = self.lock();
        let ReadState::OnDemand(io, inbound) = &mut *state else {
            return false; // a pump's to feed it, or it is over (then nobody waits)
        };
        // The socket blocks; the channel's room is known now: no waker is needed.
        let mut cx = Context::from_waker(std::task::Waker::noop());
        // Pending: the channel is full, and the reader has bytes to take first.
        if let Poll::Ready(read) = inbound.poll_fill(&mut cx, |slot, _| Poll::Ready(io.read(slot)))
        {
            state.settle(&read);
        }
        true
    }

    fn read_into(&self, buf: &mut [u8]) -> Option<io::Result<usize>> {
        let mut state = self.lock();
        let ReadState::OnDemand(io, _) = &*state else {
            return None;
        };
        let read = io.read(buf);
        state.settle(&read);
        Some(read)
    }

    fn pump(&self) {
        let mut state = self.lock();
        let (io, inbound) = match std::mem::replace(&mut *state, ReadState::Over) {
            ReadState::OnDemand(io, inbound) => (io, inbound),
            other => {
                *state = other; // a pump already has it, or it is over
                return;
            }
        };
        // The thread gets the socket and the channel only once it exists, so that a failed
        // spawn can still cancel the channel with its error.
        let (hand_over, take) = std::sync::mpsc::sync_channel(1);
        let spawned = thread::Builder::new()
            .name("wirestate-socket-read".into())
            .spawn(move || {
                if let Ok((io, inbound)) = take.recv() {
                    park::block_on(pump::read_pump(pump::ReadSource::new(
                        io,
                        inbound,
                        no_deadline(),
                    )));
                }
            });
        match spawned {
            Ok(_) => {
                let _ = hand_over.send((io, inbound));
                *state = ReadState::Pumped;
            }
            Err(error) => inbound.cancel_with(cause_like(&error)),
        }
    }
}

fn spawn(name: &str, pump: impl Future<Output = ()> + Send + 'static) -> io::Result<()> {
    thread::Builder::new()
        .name(name.into())
        .spawn(move || park::block_on(pump))
        .map(drop)
}

/// std refuses a zero timeout; the shortest one the OS takes stands in for it.
fn os_timeout(timeout: Duration) -> Duration {
    timeout.max(Duration::from_micros(1))
}

/// The OS enforces the socket timeout, so the pumps' own deadline never fires.
fn no_deadline() -> Deadline<NoTimer> {
    Deadline::new(None, || NoTimer)
}

struct NoTimer;

impl Timer for NoTimer {
    fn reset(&mut self, _deadline: std::time::Instant) {}

    fn poll_expired(&mut self, _cx: &mut Context<'_>) -> Poll<()> {
        Poll::Pending
    }
}

/// Runs a blocking socket call, retrying interruptions. With a socket timeout set, the
/// timeout's expiry (`WouldBlock` on Unix, `TimedOut` on Windows) becomes `TimedOut`.
fn blocking<T>(
    what: &str,
    timeout: Option<Duration>,
    mut call: impl FnMut() -> io::Result<T>,
) -> io::Result<T> {
    use io::ErrorKind::{Interrupted, TimedOut, WouldBlock};
    loop {
        let error = match call() {
            Err(error) => error,
            done => return done,
        };
        match (error.kind(), timeout) {
            (Interrupted, _) => {}
            (WouldBlock | TimedOut, Some(timeout)) => {
                let message = format!("socket {what} timed out after {timeout:?}");
                return Err(io::Error::new(TimedOut, message));
            }
            _ => return Err(error),
        }
    }
}

/// A blocking stream as the pumps see it: every poll blocks until the socket is done (or
/// its timeout expires) and is always ready.
struct StdIo<S> {
    stream: Arc<S>,
    timeout: Option<Duration>,
}

impl<S: Stream> StdIo<S> {
    /// Reads some bytes into `buf`, blocking until there are some (or the end, or an error).
    fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        blocking("read", self.timeout, || self.stream.read_some(buf))
    }
}

impl<S: Stream> PollRead for StdIo<S> {
    fn poll_read(&mut self, _cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        Poll::Ready(self.read(buf))
    }
}

impl<S: Stream> PollWrite for StdIo<S> {
    fn poll_write(&mut self, _cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Poll::Ready(crate::chan::WriteThrough::write_through(self, buf))
    }

    fn poll_shutdown(&mut self, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.stream.shutdown(Shutdown::Write))
    }
}

impl<S: Stream> crate::chan::WriteThrough for StdIo<S> {
    fn write_through(&self, buf: &[u8]) -> io::Result<usize> {
        blocking("write", self.timeout, || self.stream.write_some(buf))
    }
}

// ---- UDP --------------------------------------------------------------------------------

impl UdpSocketBuilder<Blocking> {
    /// Binds a datagram socket to `addr` (port 0 picks a free port). The socket timeout, if
    /// set, bounds each receive.
    pub fn bind(self, addr: impl ToSocketAddrs) -> io::Result<BoundDatagramSocket> {
        let addr = sys::resolve(addr)?;
        Ok(BoundDatagramSocket {
            socket: udp_socket(addr, &self.options)?,
            timeout: self.options.socket_timeout,
            buffer: Mutex::new(BytesMut::new()),
        })
    }

    /// A datagram socket that talks to `remote` only, bound to `local` (or to any address of
    /// the same family, port 0). The socket timeout, if set, bounds each receive.
    pub fn connect(
        self,
        remote: impl ToSocketAddrs,
        local: Option<SocketAddr>,
    ) -> io::Result<ConnectedDatagramSocket> {
        let remote = sys::resolve(remote)?;
        let local = local.unwrap_or_else(|| sys::any_local_for(&remote));
        let socket = udp_socket(local, &self.options)?;
        socket
            .connect(remote)
            .map_err(|e| sys::context(e, format_args!("connect to {remote}")))?;
        Ok(ConnectedDatagramSocket {
            socket,
            remote,
            timeout: self.options.socket_timeout,
            buffer: Mutex::new(BytesMut::new()),
        })
    }
}

fn udp_socket(addr: SocketAddr, options: &SocketOptions) -> io::Result<UdpSocket> {
    let socket = sys::udp_bind(addr, options, false)?;
    socket.set_read_timeout(options.socket_timeout.map(os_timeout))?;
    Ok(socket)
}

/// A UDP socket bound to a local address (Ktor's `BoundDatagramSocket`).
#[derive(Debug)]
pub struct BoundDatagramSocket {
    socket: UdpSocket,
    timeout: Option<Duration>,
    buffer: Mutex<BytesMut>,
}

impl BoundDatagramSocket {
    /// The address it is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.socket.local_addr()
    }

    /// Sends one datagram (at most [`MAX_DATAGRAM`](super::MAX_DATAGRAM) bytes).
    pub fn send(&self, datagram: &Datagram) -> io::Result<()> {
        check_size(datagram.payload.len())?;
        let sent = blocking("send", None, || {
            self.socket.send_to(&datagram.payload, datagram.address)
        })?;
        expect_whole(sent, datagram.payload.len())
    }

    /// Blocks until the next datagram; `TimedOut` once the socket timeout passes first.
    pub fn receive(&self) -> io::Result<Datagram> {
        let recv =
            async |buf: &mut [u8]| blocking("receive", self.timeout, || self.socket.recv_from(buf));
        let (payload, address) = park::block_on(receive_into(&self.buffer, recv))?;
        Ok(Datagram { payload, address })
    }
}

/// A UDP socket that talks to one peer (Ktor's `ConnectedDatagramSocket`).
#[derive(Debug)]
pub struct ConnectedDatagramSocket {
    socket: UdpSocket,
    remote: SocketAddr,
    timeout: Option<Duration>,
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

    /// Sends one datagram to the peer (at most [`MAX_DATAGRAM`](super::MAX_DATAGRAM) bytes).
    pub fn send(&self, payload: &[u8]) -> io::Result<()> {
        check_size(payload.len())?;
        let sent = blocking("send", None, || self.socket.send(payload))?;
        expect_whole(sent, payload.len())
    }

    /// Blocks until the next datagram from the peer; `TimedOut` once the socket timeout
    /// passes first.
    pub fn receive(&self) -> io::Result<Bytes> {
        let remote = self.remote;
        let recv = async |buf: &mut [u8]| {
            blocking("receive", self.timeout, || self.socket.recv(buf)).map(|n| (n, remote))
        };
        let (payload, _) = park::block_on(receive_into(&self.buffer, recv))?;
        Ok(payload)
    }
}

/// Puts a TLS client session on a connected socket (Ktor's `socket.tls()`): the server's
/// certificate must be valid for `server_name` under `config`. Returns, once the handshake
/// is done, a socket whose channels carry plaintext; `socket` is consumed. A refused
/// certificate or a timeout is an `io::Error` whose inner error is the
/// [`TlsError`](crate::tls::TlsError). The TLS machine and its two bridges run on threads
/// of their own.
#[cfg(feature = "tls")]
pub fn tls(
    socket: Socket,
    server_name: &str,
    config: &crate::tls::ClientConfig,
) -> io::Result<Socket> {
    start_tls(socket, config.start(server_name)?)
}

/// The server's side of [`tls`]: runs the TLS handshake as a server on an accepted socket.
#[cfg(feature = "tls")]
pub fn tls_server(socket: Socket, config: &crate::tls::ServerConfig) -> io::Result<Socket> {
    start_tls(socket, config.start()?)
}

#[cfg(feature = "tls")]
fn start_tls(socket: Socket, session: crate::tls::TlsLayer) -> io::Result<Socket> {
    use super::tls;
    let layered = tls::layer(socket, session, crate::driver::Connection::new)?;
    let deadline = Arc::new(Mutex::new(None));
    let timer = ParkTimer {
        deadline: None,
        waiting_on: Arc::clone(&deadline),
    };
    let driver = crate::driver::Driver::new(layered.conn.clone(), layered.transport, timer);
    let spawn = |name: &str, job: Box<dyn FnOnce() + Send>| {
        thread::Builder::new()
            .name(format!("wirestate-tls-{name}"))
            .spawn(job)
            .map(drop)
    };
    spawn(
        "driver",
        Box::new(move || drop(run_parked(driver, &deadline))),
    )?;
    let (conn, inbound) = (layered.conn.clone(), layered.inbound);
    spawn(
        "read",
        Box::new(move || park::block_on(tls::deliver_plaintext(conn, inbound))),
    )?;
    let (conn, outbound) = (layered.conn.clone(), layered.outbound);
    spawn(
        "write",
        Box::new(move || park::block_on(tls::send_plaintext(conn, outbound))),
    )?;
    park::block_on(crate::wire::handshake_done(&layered.conn))?;
    Ok(layered.socket)
}

/// A timer for a future polled on a parked thread. Each time the future waits on it, it
/// tells [`run_parked`] (through `waiting_on`) how long it may park: a deadline the future
/// no longer waits on must not cut the park short.
#[cfg(feature = "tls")]
struct ParkTimer {
    deadline: Option<std::time::Instant>,
    waiting_on: Arc<Mutex<Option<std::time::Instant>>>,
}

#[cfg(feature = "tls")]
impl Timer for ParkTimer {
    fn reset(&mut self, deadline: std::time::Instant) {
        self.deadline = Some(deadline);
    }

    fn poll_expired(&mut self, _cx: &mut Context<'_>) -> Poll<()> {
        match self.deadline {
            Some(at) if std::time::Instant::now() >= at => Poll::Ready(()),
            at => {
                *self.waiting_on.lock().unwrap_or_else(|p| p.into_inner()) = at;
                Poll::Pending
            }
        }
    }
}

/// Polls `future` on this thread until it resolves, parking until it is woken or until the
/// deadline its timer was polled for during the last poll (if any).
#[cfg(feature = "tls")]
fn run_parked<F: std::future::Future>(
    future: F,
    deadline: &Mutex<Option<std::time::Instant>>,
) -> F::Output {
    let mut future = std::pin::pin!(future);
    let waker = park::thread_waker();
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
        let at = deadline.lock().unwrap_or_else(|p| p.into_inner()).take();
        let wait = at.map_or(Duration::from_secs(3600), |at| {
            at.saturating_duration_since(std::time::Instant::now())
        });
        thread::park_timeout(wait);
    }
}

#[cfg(all(test, feature = "tls"))]
mod tests {
    use super::*;

    /// A deadline that fired must not keep cutting parks short once the future no longer
    /// waits on it (the driver keeps the old deadline in its timer after the handshake).
    #[test]
    fn a_passed_deadline_no_longer_waited_on_does_not_spin() {
        let waiting_on = Arc::new(Mutex::new(None));
        let mut timer = ParkTimer {
            deadline: None,
            waiting_on: Arc::clone(&waiting_on),
        };
        let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut polls = 0u32;
        let future = std::future::poll_fn(|cx| {
            polls += 1;
            if polls == 1 {
                // Waits on the timer once: its deadline has passed.
                timer.reset(std::time::Instant::now());
                assert!(timer.poll_expired(cx).is_ready());
                // Then waits on something else, which arrives in 100 ms.
                let (done, waker) = (Arc::clone(&done), cx.waker().clone());
                thread::spawn(move || {
                    thread::sleep(Duration::from_millis(100));
                    done.store(true, std::sync::atomic::Ordering::SeqCst);
                    waker.wake();
                });
            }
            if done.load(std::sync::atomic::Ordering::SeqCst) {
                Poll::Ready(polls)
            } else {
                Poll::Pending
            }
        });
        let polls = run_parked(future, &waiting_on);
        // Woken once (plus a spurious unpark or two), not thousands of times in 100 ms.
        assert!(polls <= 5, "polled {polls} times while waiting");
    }
}
