//! The async driver, written once over two small traits a runtime implements.

use std::fmt;
use std::future::Future;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll};

use wirestate_core::{Instant, Machine};

use super::clock::LazyNow;
use super::handle::Connection;
use super::pump::{Inbound, MAX_GATHER, Outbound, ReadBuffer};
use super::readiness::ReadReadiness;

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
    /// [`poll_read`](Transport::poll_read) describes.
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
    io: T,
    timer: Tm,
    /// The deadline the timer is armed for.
    armed: Option<Instant>,
    input: Inbound,
    output: Outbound,
    read_buf: ReadBuffer,
    /// Whether the transport may have bytes: reads wait for its wake after a `Pending`.
    readable: ReadReadiness,
    /// The waker last registered with the connection, to skip registering it again.
    registered: Option<std::task::Waker>,
    /// The time the last round gave the machine, if it read the clock.
    round_now: Option<Instant>,
    /// The last read filled the whole buffer: more input is likely waiting.
    read_was_full: bool,
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
            io,
            timer,
            armed: None,
            input: Inbound::default(),
            output: Outbound::default(),
            read_buf: ReadBuffer::default(),
            readable: ReadReadiness::default(),
            registered: None,
            round_now: None,
            read_was_full: false,
            attached: false,
            done: false,
        }
    }

    /// One pass over every source of work (the transport's read side only if `read`),
    /// letting `take` take the machine's events, if given, before the transmits and after
    /// input. Returns an error for a transport failure.
    fn round(
        &mut self,
        cx: &mut Context<'_>,
        read: bool,
        mut take: Option<TakeEvents<'_, M>>,
    ) -> io::Result<Round> {
        let clock = self.conn.clock();
        self.round_now = None;

        if !self
            .registered
            .as_ref()
            .is_some_and(|waker| waker.will_wake(cx.waker()))
        {
            self.conn.register_driver(cx.waker());
            self.registered = Some(cx.waker().clone());
        }
        let tracked = self.io.tracks_readiness();
        if !tracked {
            // A wake takes the task's waker out of the readiness slot: put it back every round.
            self.readable.register(cx.waker());
        }
        // A wake from the application counts as progress even if the round finds nothing
        // else to do: what it changed (an event, say) is for the caller to look at.
        let mut progress = self.conn.begin_round();

        // Under the lock: time, retried input, the relay, the next transmit, and what to do
        // next.
        let (deadline, wants_read, shutdown, finished, abandoned) = {
            let mut state = self.conn.lock();
            // Read under the lock (the application's commands read it there too, so the
            // machine's time never goes back), and only if the round needs it.
            let mut now = LazyNow::new(clock);
            let machine = &mut state.machine;
            // Whether the machine may have new events for the application.
            let mut touched = false;
            if machine.poll_timeout().is_some_and(|d| d <= now.get()) {
                machine.handle_timeout(now.get());
                touched = true;
                // It may have left events: an idle round promises an inline caller none.
                progress = true;
            }
            if self.input.retry_unaccepted(machine, || now.get()) {
                touched = true;
                progress = true;
            }
            // Commands queued through a relay go in before the transmits are taken.
            touched |= state.relay_take_commands(&mut now);
            if let Some(take) = take.as_mut() {
                take(&mut state.machine); // its room for input frees up first
            }
            let machine = &mut state.machine;
            let was_sending = self.output.is_sending();
            let mut sending = self.output.next_outgoing(machine);
            // A relay moves events out (freeing the machine's room for input) and may make
            // the machine transmit (a fault it held back): take that too, and go round again.
            if state.relay_publish() {
                progress = true;
                sending = self.output.next_outgoing(&mut state.machine);
            }
            touched |= sending && !was_sending;
            let machine = &mut state.machine;
            let deadline = machine.poll_timeout();
            if deadline.is_some_and(|d| d <= now.get()) {
                progress = true; // still due: go round again (bounded per poll)
            }
            let flags = (
                deadline,
                self.input.wants_read(machine),
                !sending && self.output.should_shutdown_write(machine),
                !sending && self.output.is_finished(machine),
                !sending && state.is_abandoned(),
            );
            if touched {
                state.wake_events();
            }
            self.round_now = now.read();
            flags
        };

        // Without the lock: the transport. Unless it tracks readiness, every call gets the
        // readiness waker, so that a transport which keeps one waker for all directions (the
        // latest it was given) still marks reads ready when it wakes.
        let mut io_cx = Context::from_waker(match tracked {
            true => cx.waker(),
            false => self.readable.waker(),
        });
        if self.output.is_sending() {
            // One transmit (the common case) skips building the slice array.
            let write = if self.output.transmits() == 1 {
                self.io.poll_write(&mut io_cx, self.output.first())
            } else {
                let mut slices = [IoSlice::new(&[]); MAX_GATHER];
                let n = self.output.slices(&mut slices);
                self.io.poll_write_vectored(&mut io_cx, &slices[..n])
            };
            match completed(write, &mut progress)? {
                Some(0) => return Err(io::ErrorKind::WriteZero.into()),
                Some(n) => self.output.advance_written(n),
                None => {}
            }
        }
        // A write that took everything is flushed in the same round. (`shutdown` and
        // `finished` hold only if nothing was being sent when the round began.)
        if !self.output.is_sending() && self.output.needs_flush() {
            if completed(self.io.poll_flush(&mut io_cx), &mut progress)?.is_some() {
                self.output.flushed();
            }
        } else if shutdown {
            // A peer that already closed and reset the connection leaves nothing to shut
            // down: the FIN's purpose, no more data from us, holds either way.
            let shut = self
                .io
                .poll_shutdown(&mut io_cx)
                .map(|result| match result {
                    Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(()),
                    other => other,
                });
            if completed(shut, &mut progress)?.is_some() {
                self.output.write_shut_down();
            }
        } else if finished || abandoned {
            // Abandoned: the machine waits for an application that dropped every handle.
            return Ok(Round::Finished);
        }

        if read && wants_read && (tracked || self.readable.take()) {
            let space = self.read_buf.space();
            let room = space.len();
            let read = self.io.poll_read(&mut io_cx, space);
            if read.is_ready() && !tracked {
                self.readable.read_completed();
            }
            self.read_was_full = matches!(read, Poll::Ready(Ok(n)) if n == room);
            if let Some(n) = completed(read, &mut progress)? {
                let bytes = self.read_buf.filled(n); // may resize: before the lock
                let mut state = self.conn.lock();
                let mut now = LazyNow::new(clock);
                match n {
                    0 => self.input.on_eof(&mut state.machine, now.get()),
                    _ => self.input.feed(&mut state.machine, now.get(), bytes),
                }
                if let Some(take) = take {
                    take(&mut state.machine);
                }
                state.relay_take_commands(&mut now);
                state.relay_publish();
                state.wake_events();
                self.round_now = now.read();
            }
        }

        if progress {
            return Ok(Round::Progress);
        }
        // Nothing else to do: wait for the deadline (it is in the future, see above).
        if let Some(deadline) = deadline {
            if self.armed != Some(deadline) {
                self.timer.reset(clock.to_std(deadline));
                self.armed = Some(deadline);
            }
            if self.timer.poll_expired(cx).is_ready() {
                self.armed = None; // a fired one-shot timer must be set again
                return Ok(Round::Progress);
            }
        }
        Ok(Round::Idle)
    }

    /// Records the outcome in the connection and wakes the event waiter.
    fn stop(&mut self, result: Result<(), &io::Error>) {
        self.done = true;
        self.conn.lock().stop(result);
    }
}

/// What an inline caller runs on the machine, under the round's lock, to take its events.
pub(crate) type TakeEvents<'a, M> = &'a mut dyn FnMut(&mut M);

/// A transport call's value once it completed, `None` while it is pending. Completing and
/// being interrupted both count as progress (an interrupted call is simply made again);
/// any other error ends the driver.
fn completed<T>(poll: Poll<io::Result<T>>, progress: &mut bool) -> io::Result<Option<T>> {
    match poll {
        Poll::Ready(Ok(value)) => {
            *progress = true;
            Ok(Some(value))
        }
        Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::Interrupted => {
            *progress = true;
            Ok(None)
        }
        Poll::Ready(Err(e)) => Err(e),
        Poll::Pending => Ok(None),
    }
}

impl<M: Machine, T: Transport, Tm: Timer> Driver<M, T, Tm> {
    /// Claims the connection on the first call, then runs one round: `Ok` with what it
    /// found while the driver runs, `Err` with the outcome once it has resolved (now or
    /// before).
    fn step(
        &mut self,
        cx: &mut Context<'_>,
        read: bool,
        take: Option<TakeEvents<'_, M>>,
    ) -> Result<Round, io::Result<()>> {
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
        match self.round(cx, read, take) {
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
            match this.step(cx, true, None) {
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

/// What one round of an [`Inline`] driver found.
#[cfg(any(feature = "smol", feature = "tokio"))]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// It did something: another round may find more.
    Progress,
    /// Nothing to do: the task is woken when there is (`Pending`).
    Idle,
    /// The driver has resolved, now or before; the connection holds the outcome.
    Resolved,
}

/// A driver that the application's own task polls one round at a time, type-erased (the
/// inline WebSocket's), for a machine `M`. Stepping instead of polling the future lets the
/// task stop as soon as a round gave it what it waits for, instead of going round once more
/// to find nothing.
#[cfg(any(feature = "smol", feature = "tokio"))]
pub(crate) trait Inline<M>: Send {
    /// Runs one round (claiming the connection on the first). Without `read`, the round
    /// leaves the transport's read side alone: a caller that only wants its sends written
    /// saves a read that would find nothing (and, on tokio, a waker registration). With
    /// `take`, the round lets the caller take the machine's events under the lock it takes
    /// anyway.
    fn step(&mut self, cx: &mut Context<'_>, read: bool, take: Option<TakeEvents<'_, M>>) -> Step;
    /// The time the last step gave the machine, if it read the clock: the latest time the
    /// machine has seen from the driver.
    fn step_now(&self) -> Option<Instant>;
    /// The last read filled the whole buffer, so more input is likely waiting in the
    /// transport (a pipelining peer's batch larger than one read).
    fn input_likely(&self) -> bool;
    /// Bytes the driver took from the machine and has not written yet, plus one while
    /// written bytes wait for a flush.
    fn unwritten(&self) -> usize;
}

#[cfg(any(feature = "smol", feature = "tokio"))]
impl<M, T, Tm> Inline<M> for Driver<M, T, Tm>
where
    M: Machine + Send,
    T: Transport + Send,
    Tm: Timer + Send,
{
    fn step(&mut self, cx: &mut Context<'_>, read: bool, take: Option<TakeEvents<'_, M>>) -> Step {
        match Driver::step(self, cx, read, take) {
            Ok(Round::Idle) => Step::Idle,
            Ok(_) => Step::Progress,
            Err(_) => Step::Resolved,
        }
    }

    fn step_now(&self) -> Option<Instant> {
        self.round_now
    }

    fn input_likely(&self) -> bool {
        self.read_was_full
    }

    fn unwritten(&self) -> usize {
        self.output.unwritten() + usize::from(self.output.needs_flush())
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
            .field("armed", &self.armed)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}
