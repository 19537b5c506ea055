//! The tokio driver: tokio I/O traits and tokio timers, on tokio's clock.

use std::future::Future;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Sleep;
use wirestate_core::Machine;

use super::clock::Clock;
use super::handle::Connection;
use super::inline::{Inline, InlineDriver};
use super::poll::{self, Driver};

/// A [`Connection`] timed by tokio's clock ([`Clock::tokio`]), as the tokio driver wants:
/// machine timers then follow `tokio::time::pause` and `advance`.
pub fn connection<M: Machine>(machine: M) -> Connection<M> {
    Connection::with_clock(machine, Clock::tokio())
}

/// Runs `conn`'s machine over `io` until the machine is finished (`Ok`) or the transport
/// fails (`Err`); see [`Driver`] for what it does on the way. Must run inside a tokio
/// runtime with time enabled. Sleeps on `tokio::time::Sleep`: create `conn` with
/// [`connection`] (or [`Clock::tokio`]) so that paused time works; a std-clock connection
/// also works while time is not paused.
///
/// The future is `Send` when the machine and transport are, so it can be spawned:
/// `tokio::spawn(wirestate::driver::tokio::run(conn.clone(), stream))`.
pub async fn run<M, T>(conn: Connection<M>, io: T) -> io::Result<()>
where
    M: Machine,
    T: AsyncRead + AsyncWrite + Unpin,
{
    Driver::new(conn, TokioIo(io), TokioTimer(None)).await
}

/// A driver over `io` for a machine the application's own task owns and steps (an inline
/// WebSocket's), on tokio's clock.
pub(crate) fn inline<M, T>(io: T) -> Box<dyn Inline<M>>
where
    M: Machine,
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    Box::new(InlineDriver::new(
        TokioIo(io),
        TokioTimer(None),
        Clock::tokio(),
    ))
}

/// A tokio stream as a [`poll::Transport`].
struct TokioIo<T>(T);

impl<T: AsyncRead + AsyncWrite + Unpin> poll::Transport for TokioIo<T> {
    fn poll_read(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        let mut buf = ReadBuf::new(buf);
        ready!(Pin::new(&mut self.0).poll_read(cx, &mut buf))?;
        Poll::Ready(Ok(buf.filled().len()))
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
        Pin::new(&mut self.0).poll_shutdown(cx)
    }

    /// tokio's I/O types keep the readiness the reactor reported and clear it when a read
    /// finds the socket empty, so reading again costs no system call until the next event.
    fn tracks_readiness(&self) -> bool {
        true
    }
}

/// A tokio sleep as a [`poll::Timer`], created when first armed.
pub(crate) struct TokioTimer(pub(crate) Option<Pin<Box<Sleep>>>);

impl poll::Timer for TokioTimer {
    fn reset(&mut self, deadline: std::time::Instant) {
        let deadline = tokio::time::Instant::from_std(deadline);
        match &mut self.0 {
            Some(sleep) => sleep.as_mut().reset(deadline),
            None => self.0 = Some(Box::pin(tokio::time::sleep_until(deadline))),
        }
    }

    fn poll_expired(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        match &mut self.0 {
            Some(sleep) => sleep.as_mut().poll(cx),
            None => Poll::Pending,
        }
    }
}
