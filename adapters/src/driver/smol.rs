//! The smol driver: futures-io transports and async-io timers.

use std::future::Future;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll};

use async_io::Timer;
use futures_io::{AsyncRead, AsyncWrite};
use wirestate_core::Machine;

use super::handle::Connection;
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

/// The same driver for the application's own task to poll (an inline WebSocket).
pub(crate) fn inline<M, T>(conn: Connection<M>, io: T) -> Box<dyn poll::Inline>
where
    M: Machine + Send + 'static,
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    Box::new(Driver::new(conn, FuturesIo(io), SmolTimer(Timer::never())))
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
