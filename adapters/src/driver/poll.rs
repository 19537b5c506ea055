//! The async driver, written once over two small traits a runtime implements.

use std::fmt;
use std::future::Future;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll};

use wirestate_core::Machine;

use super::clock::LazyNow;
use super::handle::Connection;
use super::link::Link;

/// Rounds of work one poll does before yielding to the runtime, so that a connection that
/// always has work cannot starve the other tasks.
pub(crate) const ROUNDS_PER_POLL: usize = 32;

/// A byte transport as the async driver sees it: the four calls common to futures-io and
/// tokio's I/O traits. Implement it to run machines on another runtime.
pub trait Transport {
    /// Reads into `buf`; `Ok(0)` is the end of the stream.
    ///
    /// After a `Pending`, the driver reads again only once a waker it passed to the
    /// transport is woken, so that its other rounds cost no read system call. (Every call
    /// gets the same waker, so a transport may keep one per direction or one for all.)
    fn poll_read(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>>;
    /// Writes some of `buf`; returns how many bytes were taken.
    fn poll_write(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>>;
    /// Writes some of `bufs`, in order, in one call where the transport can (`writev`);
    /// returns how many bytes were taken. By default, writes the first non-empty one.
    fn poll_write_vectored(
        &mut self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let first = bufs
            .iter()
            .find(|buf| !buf.is_empty())
            .map_or(&[][..], |buf| buf);
        self.poll_write(cx, first)
    }
    /// Pushes buffered bytes to the wire.
    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;
    /// Shuts down the write half (TCP FIN); reading stays possible.
    fn poll_shutdown(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;
    /// Whether the transport remembers that it has nothing to read, so that a read of it
    /// while empty costs no system call (tokio's streams and smol's TCP stream do). Then the
    /// driver polls reads with its task's own waker on every round that wants input.
    /// Otherwise (the default) the driver tracks readiness itself, as
    /// [`poll_read`](Transport::poll_read) describes. Asked once, when the driver is
    /// created: the answer must not change.
    fn tracks_readiness(&self) -> bool {
        false
    }
}

/// A one-shot timer on the runtime's clock (the same clock as the [`Connection`]'s).
pub trait Timer {
    /// Arms the timer for `deadline`, replacing any earlier setting.
    fn reset(&mut self, deadline: std::time::Instant);
    /// `Ready` once the deadline set by the last [`reset`](Timer::reset) has passed.
    fn poll_expired(&mut self, cx: &mut Context<'_>) -> Poll<()>;
}

/// The future that runs a [`Connection`]'s machine over a [`Transport`], with a [`Timer`].
///
/// It resolves to `Ok(())` once the machine is finished and everything it sent was written
/// and flushed (and the write half shut down), or to the first transport error. Either way
/// the connection records the outcome and its event stream ends. Dropping the future before
/// that stops the driver: the connection then reports an error.
///
/// Only one driver ever runs a connection: another resolves at once to an
/// [`AlreadyExists`](io::ErrorKind::AlreadyExists) error and leaves the connection alone.
/// After a transport error the machine is left as it was (no `handle_eof`): the application
/// learns of the failure from the end of the event stream and
/// [`Connection::driver_result`].
///
/// On each poll it works until nothing is left to do: it writes what the machine
/// transmits, flushes, shuts down the write half once the machine closed its transmit side,
/// reads while the machine wants input (offering unaccepted bytes again first), feeds the
/// transport's end of stream, and fires due timers, checking the clock before waiting on the
/// timer.
pub struct Driver<M, T, Tm> {
    conn: Connection<M>,
    link: Link<T, Tm>,
    /// The waker last registered with the connection, to skip registering it again.
    registered: Option<std::task::Waker>,
    /// This driver claimed the connection (see `State::attach`).
    attached: bool,
    /// The future has resolved (or was refused): dropping it records nothing.
    done: bool,
}

/// What a round found.
enum Round {
    Progress,
    Idle,
    Finished,
}

impl<M: Machine, T: Transport, Tm: Timer> Driver<M, T, Tm> {
    /// A driver for `conn` over `io`, sleeping on `timer`.
    pub fn new(conn: Connection<M>, io: T, timer: Tm) -> Self {
        Driver {
            conn: conn.into_driver_handle(),
            link: Link::new(io, timer),
            registered: None,
            attached: false,
            done: false,
        }
    }

    /// One pass over every source of work. Returns an error for a transport failure.
    fn round(&mut self, cx: &mut Context<'_>) -> io::Result<Round> {
        let clock = self.conn.clock();
        if !self
            .registered
            .as_ref()
            .is_some_and(|waker| waker.will_wake(cx.waker()))
        {
            self.conn.register_driver(cx.waker());
            self.registered = Some(cx.waker().clone());
        }
        self.link.begin(cx);
        // A wake from the application counts as progress even if the round finds nothing
        // else to do: what it changed (an event, say) is for the caller to look at.
        let mut progress = self.conn.begin_round();

        // Under the lock: time, retried input, the relay, the next transmit, and what to do
        // next.
        let plan = {
            let mut state = self.conn.lock();
            // Read under the lock (the application's commands read it there too, so the
            // machine's time never goes back), and only if the round needs it.
            let mut now = LazyNow::new(clock);
            // Whether the machine may have new events for the application.
            let mut touched = self.link.catch_up(&mut state.machine, &mut now);
            progress |= touched;
            // Commands queued through a relay go in before the transmits are taken.
            touched |= state.relay_take_commands(&mut now);
            let output = &mut self.link.output;
            let was_sending = output.is_sending();
            let mut sending = output.next_outgoing(&mut state.machine);
            // A relay moves events out (freeing the machine's room for input) and may make
            // the machine transmit (a fault it held back): take that too, and go round again.
            if state.relay_publish() {
                progress = true;
                sending = self.link.output.next_outgoing(&mut state.machine);
            }
            touched |= sending && !was_sending;
            let mut plan = self
                .link
                .plan(&state.machine, sending, &mut now, &mut progress);
            // Abandoned: the machine waits for an application that dropped every handle.
            plan.finished |= !sending && state.is_abandoned();
            if touched {
                state.wake_events();
            }
            plan
        };

        // Without the lock: the transport.
        // The machine is not lent: its transmits were taken under the lock.
        if self.link.push(cx, None::<&mut M>, &plan, &mut progress)? {
            return Ok(Round::Finished);
        }
        if let Some(n) = self.link.pull(cx, &plan, &mut progress)? {
            let mut state = self.conn.lock();
            let mut now = LazyNow::new(clock);
            self.link
                .feed(&mut state.machine, now.get(), n, M::handle_input);
            state.relay_take_commands(&mut now);
            state.relay_publish();
            state.wake_events();
        }

        if progress {
            return Ok(Round::Progress);
        }
        // Nothing else to do: wait for the deadline (it is in the future, see above).
        match plan.deadline {
            Some(deadline) if self.link.sleep(cx, clock, deadline) => Ok(Round::Progress),
            _ => Ok(Round::Idle),
        }
    }

    /// Records the outcome in the connection and wakes the event waiter.
    fn stop(&mut self, result: Result<(), &io::Error>) {
        self.done = true;
        self.conn.lock().stop(result);
    }
}

impl<M: Machine, T: Transport, Tm: Timer> Driver<M, T, Tm> {
    /// Claims the connection on the first call, then runs one round: `Ok` with what it
    /// found while the driver runs, `Err` with the outcome once it has resolved (now or
    /// before).
    fn step(&mut self, cx: &mut Context<'_>) -> Result<Round, io::Result<()>> {
        if !self.attached && !self.done {
            if let Err(error) = self.conn.lock().attach() {
                self.done = true; // refused: the running driver's outcome stays as it is
                return Err(Err(error));
            }
            self.attached = true;
        }
        if self.done {
            return Err(match self.attached {
                true => self.conn.driver_result().unwrap_or(Ok(())),
                false => Err(io::Error::other("this driver was refused the connection")),
            });
        }
        match self.round(cx) {
            Ok(Round::Finished) => {
                self.stop(Ok(()));
                Err(Ok(()))
            }
            Ok(round) => Ok(round),
            Err(error) => {
                self.stop(Err(&error));
                Err(Err(error))
            }
        }
    }
}

impl<M: Machine, T: Transport + Unpin, Tm: Timer + Unpin> Future for Driver<M, T, Tm> {
    type Output = io::Result<()>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        for _ in 0..ROUNDS_PER_POLL {
            match this.step(cx) {
                Ok(Round::Idle) => return Poll::Pending,
                Ok(_) => {}
                Err(outcome) => return Poll::Ready(outcome),
            }
        }
        // Still busy: let other tasks run, and come back at once.
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

impl<M, T, Tm> Drop for Driver<M, T, Tm> {
    fn drop(&mut self) {
        if !self.done {
            let error = io::Error::other("the connection's driver was dropped before it finished");
            self.conn.lock().stop(Err(&error));
        }
    }
}

impl<M, T, Tm> fmt::Debug for Driver<M, T, Tm> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Driver")
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}
