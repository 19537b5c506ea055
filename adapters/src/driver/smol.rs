//! The smol driver: futures-io transports and async-io timers.

use std::future::Future;
use std::io::{self, IoSlice, Read};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use async_io::{Async, Timer};
use futures_io::{AsyncRead, AsyncWrite};
use wirestate_core::Machine;

use super::clock::Clock;
use super::handle::Connection;
use super::inline::{Inline, InlineDriver};
use super::poll::{self, Driver};

/// Runs `conn`'s machine over `io` until the machine is finished (`Ok`) or the transport
/// fails (`Err`); see [`Driver`] for what it does on the way. Sleeps on `async_io::Timer`,
/// which reads the std clock: create `conn` with the std clock ([`Connection::new`]).
///
/// Any executor can poll it (async-io runs its own reactor); spawn it next to the
/// application, e.g. `smol::spawn(wirestate::driver::smol::run(conn.clone(), stream))`.
pub async fn run<M, T>(conn: Connection<M>, io: T) -> io::Result<()>
where
    M: Machine,
    T: AsyncRead + AsyncWrite + Unpin,
{
    Driver::new(conn, FuturesIo(io), SmolTimer(Timer::never())).await
}

/// [`run`] over a smol TCP stream, reading the socket only once async-io's reactor reports
/// it readable after a read that drained it. async-io's own `poll_read` tries the read
/// first, so each arrival would cost one more read that finds nothing (`EAGAIN`); this
/// costs one read per arrival, as on tokio.
pub async fn run_tcp<M: Machine>(
    conn: Connection<M>,
    stream: smol::net::TcpStream,
) -> io::Result<()> {
    Driver::new(conn, AsyncTcp::new(stream), SmolTimer(Timer::never())).await
}

/// A driver over `io` for a machine the application's own task owns and steps (an inline
/// WebSocket's), on the std clock.
pub(crate) fn inline<M, T>(io: T) -> Box<dyn Inline<M>>
where
    M: Machine,
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    Box::new(InlineDriver::new(
        FuturesIo(io),
        SmolTimer(Timer::never()),
        Clock::std(),
    ))
}

/// [`inline`] over a smol TCP stream, read as [`run_tcp`] reads it.
pub(crate) fn inline_tcp<M: Machine>(stream: smol::net::TcpStream) -> Box<dyn Inline<M>> {
    Box::new(InlineDriver::new(
        AsyncTcp::new(stream),
        SmolTimer(Timer::never()),
        Clock::std(),
    ))
}

/// A TCP socket on async-io's reactor, read after readiness.
struct AsyncTcp {
    io: Arc<Async<std::net::TcpStream>>,
    /// The last read emptied the socket: wait for the reactor before the next.
    drained: bool,
}

impl AsyncTcp {
    fn new(stream: smol::net::TcpStream) -> AsyncTcp {
        AsyncTcp {
            io: stream.into(),
            drained: false,
        }
    }
}

impl poll::Transport for AsyncTcp {
    fn poll_read(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        loop {
            if self.drained {
                // Pending registers with the reactor without a read.
                ready!(self.io.poll_readable(cx))?;
                self.drained = false;
            }
            match (&mut self.io.get_ref()).read(buf) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.drained = true,
                Ok(n) => {
                    // A stream socket that filled less than `buf` had nothing more.
                    self.drained = n < buf.len();
                    return Poll::Ready(Ok(n));
                }
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }

    fn poll_write(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut &*self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        &mut self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut &*self.io).poll_write_vectored(cx, bufs)
    }

    fn poll_flush(&mut self, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(())) // a TCP socket buffers nothing in user space
    }

    /// A real shutdown: async-io's `poll_close` only flushes, which sends no FIN (the bug
    /// that made the first version of this transport fail Autobahn's close checks).
    fn poll_shutdown(&mut self, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.io.get_ref().shutdown(std::net::Shutdown::Write))
    }
    /// `drained` remembers an empty socket; async-io then answers from the reactor.
    fn tracks_readiness(&self) -> bool {
        true
    }
}

/// A futures-io stream as a [`poll::Transport`]; shutting down is `poll_close`.
struct FuturesIo<T>(T);

impl<T: AsyncRead + AsyncWrite + Unpin> poll::Transport for FuturesIo<T> {
    fn poll_read(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }

    fn poll_write(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        &mut self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write_vectored(cx, bufs)
    }

    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_close(cx)
    }
}

/// An async-io timer as a [`poll::Timer`].
pub(crate) struct SmolTimer(pub(crate) Timer);

impl poll::Timer for SmolTimer {
    fn reset(&mut self, deadline: std::time::Instant) {
        self.0.set_at(deadline);
    }

    fn poll_expired(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.0).poll(cx).map(drop)
    }
}
