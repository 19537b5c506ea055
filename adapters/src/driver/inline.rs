//! [`InlineDriver`]: a driver for a machine its caller owns, stepped one round at a time by
//! the task that uses the machine (an inline WebSocket's).
//!
//! With one task both using and driving the machine, nothing is shared: no connection
//! handle, no lock, no relay, no wakes between tasks. The caller keeps the machine in its
//! own state (commands and events are plain method calls on it) and lends it to each round.
//! Stepping instead of polling a future lets the task stop as soon as a round gave it what
//! it waits for, instead of going round once more to find nothing.

use std::io;
use std::task::Context;

use wirestate_core::{Instant, Machine};

use super::clock::{Clock, LazyNow};
use super::handle::DriverError;
use super::link::Link;
use super::poll::{Timer, Transport};

/// What one round of an [`Inline`] driver found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// It did something: another round may find more.
    Progress,
    /// Nothing to do: the task is woken when there is (`Pending`).
    Idle,
    /// The driver has stopped, now or before: see [`Inline::outcome`].
    Stopped,
}

/// How a round hands the bytes it read to the machine: a caller's own way of taking input,
/// which ends in [`Machine::handle_input`] for whatever it does not take itself (an inline
/// WebSocket takes a whole message out of the bytes at once). Returns how many bytes were
/// accepted, as `handle_input` does.
pub(crate) type Feed<'a, M> = &'a mut dyn FnMut(&mut M, Instant, &[u8]) -> usize;

/// An [`InlineDriver`] with its transport and timer types erased, so that one socket type
/// serves every runtime and transport.
pub(crate) trait Inline<M>: Send {
    /// Runs one round on `machine`, handing what it reads to `feed`. Without `read`, the
    /// round leaves the transport's read side alone: a caller that only wants its sends
    /// written saves a read that would find nothing (and, on tokio, a waker registration).
    fn step(
        &mut self,
        machine: &mut M,
        cx: &mut Context<'_>,
        read: bool,
        feed: Feed<'_, M>,
    ) -> Step;
    /// The clock's reading now.
    fn now(&self) -> Instant;
    /// The time the last step gave the machine, if it read the clock: the latest time the
    /// machine has seen from the driver.
    fn step_now(&self) -> Option<Instant>;
    /// The last read filled the whole buffer, so more input is likely waiting in the
    /// transport (a pipelining peer's batch larger than one read).
    fn input_likely(&self) -> bool;
    /// Bytes the driver took from the machine and has not written yet, plus one while
    /// written bytes wait for a flush.
    fn unwritten(&self) -> usize;
    /// How the driver stopped: `None` while it runs, `Some(Err)` with the transport's
    /// error if it failed (an equal error on every call).
    fn outcome(&self) -> Option<io::Result<()>>;
}

/// A driver over transport `T` and timer `Tm` for a machine its caller owns.
#[derive(Debug)]
pub(crate) struct InlineDriver<T, Tm> {
    link: Link<T, Tm>,
    clock: Clock,
    /// The time the last round gave the machine, if it read the clock.
    round_now: Option<Instant>,
    state: State,
}

/// Whether the driver runs.
#[derive(Debug)]
enum State {
    Running,
    /// The machine is finished and everything it sent was written.
    Finished,
    /// The transport failed.
    Failed(DriverError),
}

impl<T: Transport, Tm: Timer> InlineDriver<T, Tm> {
    /// A driver over `io`, sleeping on `timer`, giving machines the time of `clock` (the
    /// timer's).
    pub(crate) fn new(io: T, timer: Tm, clock: Clock) -> Self {
        InlineDriver {
            link: Link::new(io, timer),
            clock,
            round_now: None,
            state: State::Running,
        }
    }

    /// One pass over every source of work: the async driver's round, with the machine in
    /// hand instead of behind a lock.
    fn round<M: Machine>(
        &mut self,
        machine: &mut M,
        cx: &mut Context<'_>,
        read: bool,
        feed: Feed<'_, M>,
    ) -> io::Result<Step> {
        self.round_now = None;
        let link = &mut self.link;
        link.begin(cx);
        let mut now = LazyNow::new(self.clock);
        let mut progress = link.catch_up(machine, &mut now);
        // What the machine lends is written in place; only otherwise are transmits taken.
        let sending = (!link.output.is_sending() && machine.lend_transmit().is_some())
            || link.output.next_outgoing(machine);
        let mut plan = link.plan(machine, sending, &mut now, &mut progress);
        plan.read &= read;
        if link.push(cx, Some(&mut *machine), &plan, &mut progress)? {
            return Ok(Step::Stopped); // no more rounds: their time is of no use
        }
        if let Some(n) = link.pull(cx, &plan, &mut progress)? {
            link.feed(machine, now.get(), n, feed);
        }
        self.round_now = now.read();
        if progress {
            return Ok(Step::Progress);
        }
        // Nothing else to do: wait for the deadline (it is in the future, see `plan`).
        match plan.deadline {
            Some(deadline) if link.sleep(cx, self.clock, deadline) => Ok(Step::Progress),
            _ => Ok(Step::Idle),
        }
    }
}

impl<M, T, Tm> Inline<M> for InlineDriver<T, Tm>
where
    M: Machine,
    T: Transport + Send,
    Tm: Timer + Send,
{
    fn step(
        &mut self,
        machine: &mut M,
        cx: &mut Context<'_>,
        read: bool,
        feed: Feed<'_, M>,
    ) -> Step {
        if !matches!(self.state, State::Running) {
            return Step::Stopped;
        }
        match self.round(machine, cx, read, feed) {
            Ok(Step::Stopped) => {
                self.state = State::Finished;
                Step::Stopped
            }
            Ok(step) => step,
            Err(error) => {
                self.state = State::Failed(DriverError::new(&error));
                Step::Stopped
            }
        }
    }

    fn now(&self) -> Instant {
        self.clock.now()
    }

    fn step_now(&self) -> Option<Instant> {
        self.round_now
    }

    fn input_likely(&self) -> bool {
        self.link.input_likely()
    }

    fn unwritten(&self) -> usize {
        self.link.unwritten()
    }

    fn outcome(&self) -> Option<io::Result<()>> {
        match &self.state {
            State::Running => None,
            State::Finished => Some(Ok(())),
            State::Failed(error) => Some(Err(error.to_io())),
        }
    }
}
