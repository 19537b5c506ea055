//! [`Link`]: the transport's half of an async driver round, written once for the driver
//! that shares its machine ([`Driver`](super::Driver)) and the one its task owns
//! ([`InlineDriver`](super::inline::InlineDriver)).
//!
//! A round has a machine half and a transport half. The machine half (time, retried input,
//! the transmits to take, what to do next) depends on where the machine sits: behind a lock
//! with relays, or in the caller's hands. The transport half does not: write what was taken
//! (gathered into one vectored write), flush, shut the write half down, read, and sleep on
//! the timer until the machine's deadline.

use std::io::{self, IoSlice};
use std::task::{Context, Poll, Waker};

use wirestate_core::{Instant, Machine};

use super::clock::{Clock, LazyNow};
use super::poll::{Timer, Transport};
use super::pump::{Inbound, MAX_GATHER, Outbound, ReadBuffer};
use super::readiness::ReadReadiness;

/// A transport, its timer, and what sits between them and a machine.
#[derive(Debug)]
#[repr(C)] // what every round reads first, so that a round touches few cache lines
pub(crate) struct Link<T, Tm> {
    /// The transport tracks its own readiness ([`Transport::tracks_readiness`], asked once).
    tracked: bool,
    /// The last read filled the whole buffer: more input is likely waiting.
    read_was_full: bool,
    /// Transmits taken from the machine and not yet written.
    pub(crate) output: Outbound,
    /// Bytes read and not yet accepted; the transport's end.
    input: Inbound,
    read_buf: ReadBuffer,
    io: T,
    /// Whether the transport may have bytes, for a transport that does not track its own
    /// readiness: reads wait for its wake after a `Pending`.
    readable: ReadReadiness,
    /// The deadline the timer is armed for.
    armed: Option<Instant>,
    timer: Tm,
}

/// What the machine half of a round decided for the transport half, from the machine's
/// state once its transmits were taken.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Plan {
    /// When the machine's timer next fires.
    pub(crate) deadline: Option<Instant>,
    /// Read the transport (if the caller asks for reads).
    pub(crate) read: bool,
    /// Shut the write half down once nothing is left to write.
    pub(crate) shutdown: bool,
    /// The driver is done once nothing is left to write.
    pub(crate) finished: bool,
}

impl<T: Transport, Tm: Timer> Link<T, Tm> {
    pub(crate) fn new(io: T, timer: Tm) -> Self {
        Link {
            tracked: io.tracks_readiness(),
            io,
            timer,
            armed: None,
            input: Inbound::default(),
            output: Outbound::default(),
            read_buf: ReadBuffer::default(),
            readable: ReadReadiness::default(),
            read_was_full: false,
        }
    }

    /// Starts a round run by the task of `cx`: a transport that does not track its
    /// readiness wakes that task through the driver's readiness waker, whose registration
    /// a wake uses up.
    #[inline(always)]
    pub(crate) fn begin(&self, cx: &Context<'_>) {
        if !self.tracked {
            self.readable.register(cx.waker());
        }
    }

    /// Fires the machine's timer if it is due and offers unaccepted input again; returns
    /// whether it did either (the machine may have new events and transmits).
    #[inline(always)]
    pub(crate) fn catch_up<M: Machine>(&mut self, machine: &mut M, now: &mut LazyNow) -> bool {
        let mut acted = false;
        if machine.poll_timeout().is_some_and(|d| d <= now.get()) {
            machine.handle_timeout(now.get());
            acted = true;
        }
        acted | self.input.retry_unaccepted(machine, || now.get())
    }

    /// What the transport half should do, once the machine's transmits were taken
    /// (`sending`: some wait to be written). A deadline that is already due counts as
    /// progress, so that the caller goes round again.
    #[inline(always)]
    pub(crate) fn plan<M: Machine>(
        &self,
        machine: &M,
        sending: bool,
        now: &mut LazyNow,
        progress: &mut bool,
    ) -> Plan {
        let deadline = machine.poll_timeout();
        if deadline.is_some_and(|d| d <= now.get()) {
            *progress = true;
        }
        Plan {
            deadline,
            read: self.input.wants_read(machine),
            shutdown: !sending && self.output.should_shutdown_write(machine),
            finished: !sending && self.output.is_finished(machine),
        }
    }

    /// The waker transport calls get: the task's own for a transport that tracks its
    /// readiness; otherwise the readiness waker, so that a transport which keeps one waker
    /// for all directions (the latest it was given) still marks reads ready when it wakes.
    fn io_waker<'a>(tracked: bool, readable: &'a ReadReadiness, cx: &'a Context<'_>) -> &'a Waker {
        match tracked {
            true => cx.waker(),
            false => readable.waker(),
        }
    }

    /// Writes what was taken from the machine (every transmit in one vectored write) or,
    /// with nothing taken, what `lender` lends (see [`Machine::lend_transmit`]), and flushes
    /// once everything was written; with nothing to write, shuts the write half down as
    /// `plan` says. Returns `true` once the driver is finished: nothing to write and
    /// `plan.finished`.
    #[inline(always)]
    pub(crate) fn push<M: Machine>(
        &mut self,
        cx: &Context<'_>,
        lender: Option<&mut M>,
        plan: &Plan,
        progress: &mut bool,
    ) -> io::Result<bool> {
        let mut io_cx = Context::from_waker(Self::io_waker(self.tracked, &self.readable, cx));
        // Whether bytes are left to write after this round's write.
        let mut unwritten = false;
        if self.output.is_sending() {
            // One transmit (the common case) skips building the slice array.
            let write = if self.output.transmits() == 1 {
                self.io.poll_write(&mut io_cx, self.output.first())
            } else {
                let mut slices = [IoSlice::new(&[]); MAX_GATHER];
                let n = self.output.slices(&mut slices);
                self.io.poll_write_vectored(&mut io_cx, &slices[..n])
            };
            if let Some(n) = written(write, progress)? {
                self.output.advance_written(n);
            }
            unwritten = self.output.is_sending();
        } else if let Some(machine) = lender {
            if let Some(lent) = machine.lend_transmit() {
                if let Some(n) = written(self.io.poll_write(&mut io_cx, lent), progress)? {
                    machine.advance_lent(n);
                    self.output.wrote_lent();
                }
                unwritten = machine.lend_transmit().is_some();
            }
        }
        // A write that took everything is flushed in the same round. (`shutdown` and
        // `finished` hold only if nothing was being sent when the round began.)
        if !unwritten && self.output.needs_flush() {
            if completed(self.io.poll_flush(&mut io_cx), progress)?.is_some() {
                self.output.flushed();
            }
        } else if plan.shutdown {
            // A peer that already closed and reset the connection leaves nothing to shut
            // down: the FIN's purpose, no more data from us, holds either way.
            let shut = self
                .io
                .poll_shutdown(&mut io_cx)
                .map(|result| match result {
                    Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(()),
                    other => other,
                });
            if completed(shut, progress)?.is_some() {
                self.output.write_shut_down();
            }
        } else if plan.finished {
            return Ok(true);
        }
        Ok(false)
    }

    /// Reads the transport if the plan says to and it may have bytes; returns how many
    /// bytes came (`Some(0)`: its end) once a read completed. The caller then hands them
    /// to the machine with [`feed`](Link::feed).
    #[inline(always)]
    pub(crate) fn pull(
        &mut self,
        cx: &Context<'_>,
        plan: &Plan,
        progress: &mut bool,
    ) -> io::Result<Option<usize>> {
        if !plan.read || !(self.tracked || self.readable.take()) {
            return Ok(None);
        }
        let mut io_cx = Context::from_waker(Self::io_waker(self.tracked, &self.readable, cx));
        let space = self.read_buf.space();
        let room = space.len();
        let read = self.io.poll_read(&mut io_cx, space);
        if read.is_ready() && !self.tracked {
            self.readable.read_completed();
        }
        self.read_was_full = matches!(read, Poll::Ready(Ok(n)) if n == room);
        let n = completed(read, progress)?;
        if let Some(n) = n {
            // The buffer adapts to the read's size now, before the caller takes any lock.
            self.read_buf.filled(n);
        }
        Ok(n)
    }

    /// Feeds the `n` bytes the last [`pull`](Link::pull) read to `machine` (`0`: the
    /// transport's end) through `handle` (see [`Inbound::feed`]).
    #[inline(always)]
    pub(crate) fn feed<M: Machine>(
        &mut self,
        machine: &mut M,
        now: Instant,
        n: usize,
        handle: impl FnOnce(&mut M, Instant, &[u8]) -> usize,
    ) {
        let bytes = self.read_buf.bytes(n);
        match n {
            0 => self.input.on_eof(machine, now),
            _ => self.input.feed(machine, now, bytes, handle),
        }
    }

    /// With nothing else to do, waits for `deadline` (in the future) on the timer; returns
    /// `true` if it has already passed by the timer's reckoning.
    pub(crate) fn sleep(&mut self, cx: &mut Context<'_>, clock: Clock, deadline: Instant) -> bool {
        if self.armed != Some(deadline) {
            self.timer.reset(clock.to_std(deadline));
            self.armed = Some(deadline);
        }
        if self.timer.poll_expired(cx).is_ready() {
            self.armed = None; // a fired one-shot timer must be set again
            return true;
        }
        false
    }

    /// The last read filled the whole buffer, so more input is likely waiting.
    #[cfg(any(feature = "smol", feature = "tokio"))]
    pub(crate) fn input_likely(&self) -> bool {
        self.read_was_full
    }

    /// Bytes taken from the machine and not written yet, plus one while written bytes
    /// wait for a flush.
    #[cfg(any(feature = "smol", feature = "tokio"))]
    pub(crate) fn unwritten(&self) -> usize {
        self.output.unwritten() + usize::from(self.output.needs_flush())
    }
}

/// How many bytes a write took once it completed (see [`completed`]); a write that took
/// nothing while bytes were offered is an error.
fn written(write: Poll<io::Result<usize>>, progress: &mut bool) -> io::Result<Option<usize>> {
    match completed(write, progress)? {
        Some(0) => Err(io::ErrorKind::WriteZero.into()),
        n => Ok(n),
    }
}

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
