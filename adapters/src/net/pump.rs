//! The two pumps that join a connected socket to its byte channels, written once for every
//! runtime: smol and tokio run them as tasks, the blocking runtime on two threads.
//!
//! - The **read pump** waits for room in the read channel, then reads from the socket
//!   straight into the channel's free space (no intermediate buffer) and publishes it. The
//!   peer's FIN closes the channel; an error cancels it with that error.
//! - The **write pump** waits for bytes the application flushed, writes them to the socket
//!   straight from the channel's ring, and consumes what the socket took. Once the
//!   application closes the channel and it is drained, the pump shuts the socket's write
//!   half (TCP FIN). An error cancels the channel with it.
//!
//! The socket timeout (Ktor's `socketTimeout`) runs only while a pump waits for the socket,
//! never while it waits for the application; on expiry the pump's channel is cancelled with
//! `TimedOut`.

use std::future::poll_fn;
use std::io;
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use crate::chan::io_error::cause_like;
use crate::chan::{ByteReader, ByteWriter, PollSource};
use crate::driver::Timer;

/// The read half of a socket, as the read pump polls it.
pub(crate) trait PollRead {
    /// Reads into `buf`; `Ok(0)` is the peer's FIN.
    fn poll_read(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>>;
}

/// The write half of a socket, as the write pump polls it.
pub(crate) trait PollWrite {
    /// Writes some of `buf`.
    fn poll_write(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>>;
    /// Shuts the write half down (TCP FIN).
    fn poll_shutdown(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;
}

/// A per-operation deadline on a runtime timer.
pub(crate) struct Deadline<T> {
    timer: Option<T>,
    timeout: Option<Duration>,
    armed: bool,
}

impl<T: Timer> Deadline<T> {
    /// A deadline of `timeout` per wait; `None` never expires (and needs no timer).
    pub(crate) fn new(timeout: Option<Duration>, timer: impl FnOnce() -> T) -> Self {
        Deadline {
            timer: timeout.map(|_| timer()),
            timeout,
            armed: false,
        }
    }

    /// The operation made progress: the next wait gets a fresh timeout.
    fn reset(&mut self) {
        self.armed = false;
    }

    /// Called while the operation waits: whether its timeout has passed.
    fn expired(&mut self, cx: &mut Context<'_>) -> bool {
        let (Some(timer), Some(timeout)) = (&mut self.timer, self.timeout) else {
            return false;
        };
        if !self.armed {
            timer.reset(Instant::now() + timeout);
            self.armed = true;
        }
        timer.poll_expired(cx).is_ready()
    }
}

fn timed_out(what: &str, timeout: Option<Duration>) -> io::Error {
    io::Error::new(
        io::ErrorKind::TimedOut,
        format!("socket {what} timed out after {timeout:?}"),
    )
}

/// A socket's read half feeding its read channel, polled either by the read pump or by the
/// channel's reader itself (see [`PollSource`]). The peer's FIN closes the channel; an
/// error cancels it with that error.
pub(crate) struct ReadSource<R, T> {
    socket: R,
    channel: ByteWriter,
    deadline: Deadline<T>,
}

impl<R: PollRead, T: Timer> ReadSource<R, T> {
    pub(crate) fn new(socket: R, channel: ByteWriter, deadline: Deadline<T>) -> Self {
        ReadSource {
            socket,
            channel,
            deadline,
        }
    }

    /// Reads the socket into the channel's free space, waiting for room first.
    fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let ReadSource {
            socket,
            channel,
            deadline,
        } = self;
        // The timeout runs only while the socket, not the application, keeps us waiting.
        let read = ready!(channel.poll_fill(cx, |slot, cx| {
            timed(socket.poll_read(cx, slot), deadline, "read", cx)
        }));
        Poll::Ready(self.settle(read))
    }

    /// A read completed: the next wait gets a fresh timeout; the end closes the channel and
    /// an error cancels it.
    fn settle(&mut self, read: io::Result<usize>) -> io::Result<usize> {
        self.deadline.reset();
        match &read {
            Ok(0) => {
                let _ = self.channel.close();
            }
            Ok(_) => {}
            // A channel error means the application let go: the cancel is then a no-op.
            Err(error) => self.channel.cancel_with(cause_like(error)),
        }
        read
    }
}

impl<R: PollRead + Send, T: Timer + Send> PollSource for ReadSource<R, T> {
    fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        self.poll_next(cx).map(drop)
    }

    fn poll_read_into(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<usize> {
        let read = ready!(timed(
            self.socket.poll_read(cx, buf),
            &mut self.deadline,
            "read",
            cx
        ));
        Poll::Ready(self.settle(read).unwrap_or(0))
    }
}

/// A socket call's answer under the socket timeout: still pending past the deadline, it
/// fails with `TimedOut`.
fn timed<T: Timer, V>(
    poll: Poll<io::Result<V>>,
    deadline: &mut Deadline<T>,
    what: &str,
    cx: &mut Context<'_>,
) -> Poll<io::Result<V>> {
    match poll {
        Poll::Pending if deadline.expired(cx) => {
            Poll::Ready(Err(timed_out(what, deadline.timeout)))
        }
        other => other,
    }
}

/// Socket to read channel, until the peer's FIN, an error, or the application dropping the
/// channel.
#[cfg(any(feature = "smol", feature = "blocking"))]
pub(crate) async fn read_pump<R: PollRead, T: Timer>(mut source: ReadSource<R, T>) {
    while let Ok(1..) = poll_fn(|cx| source.poll_next(cx)).await {}
}

/// Write channel to socket, until the application closes the channel (then FIN), an
/// error, or a cancellation.
pub(crate) async fn write_pump<W: PollWrite, T: Timer>(
    mut socket: W,
    mut channel: ByteReader,
    mut deadline: Deadline<T>,
) {
    // Whether the last round wrote something: then the pump yields once before parking on
    // an empty channel, so that an application writing steadily refills it without paying
    // a cross-thread wakeup per write.
    let mut just_wrote = false;
    loop {
        let written = poll_fn(|cx| {
            let buf = match channel.poll_fill_buf(cx) {
                Poll::Ready(Ok(buf)) => buf,
                Poll::Ready(Err(error)) => return Poll::Ready(Err(error)),
                Poll::Pending if std::mem::take(&mut just_wrote) => {
                    cx.waker().wake_by_ref();
                    return Poll::Pending;
                }
                Poll::Pending => return Poll::Pending, // the application has not flushed
            };
            if buf.is_empty() {
                return Poll::Ready(Ok(None)); // closed and drained
            }
            match timed(socket.poll_write(cx, buf), &mut deadline, "write", cx) {
                Poll::Ready(Ok(0)) => Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                other => other.map_ok(Some),
            }
        })
        .await;
        deadline.reset();
        match written {
            Ok(Some(n)) => {
                channel.consume_view(n);
                just_wrote = true;
            }
            Ok(None) => {
                let _ = poll_fn(|cx| socket.poll_shutdown(cx)).await;
                return;
            }
            Err(error) => {
                channel.cancel_with(cause_like(&error));
                return;
            }
        }
    }
}
