//! The blocking driver: a std `TcpStream`, the calling thread and one writer thread.
//!
//! ```text
//!  calling thread (reader)                      writer thread
//!  ─────────────────────────                    ──────────────────────────────────
//!  fire due timers, retry unaccepted            fire due timers
//!  read with a timeout (the next deadline,      write poll_transmit's bytes
//!    1 ms ..= 250 ms), or park while the        shut down the write half once the
//!    machine wants no input                       machine's transmit side is closed
//!  feed bytes / EOF, wake events + writer       park until the application acts
//!                                               (the driver waker) or a deadline
//! ```
//!
//! Whichever thread stops the driver (the writer once the machine is finished, either on a
//! transport error) records the outcome in the [`Connection`], shuts the socket down both
//! ways to unblock the other thread and unparks it. No wait is unbounded: reads, writes and
//! parks all time out within 250 ms and look at the shared state again.

use std::io::{self, IoSlice, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::Arc;
use std::task::{Wake, Waker};
use std::thread::{self, JoinHandle, Thread};
use std::time::Duration;

use wirestate_core::{Instant, Machine};

use super::clock::LazyNow;
use super::handle::Connection;
use super::pump::{Inbound, MAX_GATHER, Outbound, ReadBuffer};

/// The longest any wait lasts before the shared state is looked at again.
const MAX_WAIT: Duration = Duration::from_millis(250);
/// The shortest read timeout (std refuses a zero one).
const MIN_WAIT: Duration = Duration::from_millis(1);

/// Runs `conn`'s machine over `stream` on the calling thread (reading) and one scoped writer
/// thread, until the machine is finished (`Ok`) or the transport fails (`Err`). The
/// connection records the same outcome and its event stream ends.
///
/// The machine is timed by the connection's clock; deadlines are honoured within about a
/// millisecond. The stream's read and write timeouts are changed. If the driver cannot
/// start (cloning the socket or spawning the thread fails) that error is returned and
/// recorded too. Only one driver ever runs a connection: a second one returns an
/// [`AlreadyExists`](io::ErrorKind::AlreadyExists) error at once and records nothing.
pub fn run<M: Machine + Send>(conn: Connection<M>, stream: TcpStream) -> io::Result<()> {
    let conn = conn.into_driver_handle();
    conn.lock().attach()?;
    if let Err(error) = run_threads(&conn, &stream) {
        conn.lock().stop(Err(&error));
    }
    conn.driver_result().unwrap_or(Ok(()))
}

/// Runs [`run`] on a new thread named `wirestate-driver`; join the handle for the outcome.
pub fn spawn<M: Machine + Send + 'static>(
    conn: Connection<M>,
    stream: TcpStream,
) -> io::Result<JoinHandle<io::Result<()>>> {
    let shared = conn.clone();
    thread::Builder::new()
        .name("wirestate-driver".into())
        .spawn(move || run(conn, stream))
        .inspect_err(|error| {
            // The driver never started: unless another one runs, say so to the application.
            let mut state = shared.lock();
            if state.attach().is_ok() {
                state.stop(Err(error));
            }
        })
}

fn run_threads<M: Machine + Send>(conn: &Connection<M>, stream: &TcpStream) -> io::Result<()> {
    let writer_stream = stream.try_clone()?;
    writer_stream.set_write_timeout(Some(MAX_WAIT))?;
    let reader = thread::current();
    thread::scope(|scope| {
        let writer = thread::Builder::new()
            .name("wirestate-writer".into())
            .spawn_scoped(scope, || {
                let _stop = StopOnExit::new(conn, &writer_stream, reader.clone());
                if let Err(error) = write_loop(conn, &writer_stream, &reader) {
                    conn.lock().stop(Err(&error));
                }
            })?;
        let writer_thread = writer.thread().clone();
        let waker = Waker::from(Arc::new(Unpark([reader.clone(), writer_thread.clone()])));
        conn.register_driver(&waker);
        writer_thread.unpark();
        {
            let _stop = StopOnExit::new(conn, stream, writer_thread.clone());
            if let Err(error) = read_loop(conn, stream, &writer_thread) {
                conn.lock().stop(Err(&error));
            }
        }
        // A panic in the writer was recorded by its guard; the outcome says what happened.
        let _ = writer.join();
        Ok(())
    })
}

/// The calling thread's half: timers, input and the transport's end.
fn read_loop<M: Machine>(
    conn: &Connection<M>,
    stream: &TcpStream,
    writer: &Thread,
) -> io::Result<()> {
    let clock = conn.clock();
    let mut input = Inbound::default();
    let mut buf = ReadBuffer::default();
    let mut read_timeout = None;
    loop {
        conn.begin_round();
        let (wants_read, wait) = {
            let mut state = conn.lock();
            if state.is_stopped() {
                return Ok(());
            }
            let mut now = LazyNow::new(clock);
            let fired = fire_due_timer(&mut state.machine, now.get());
            let retried = input.retry_unaccepted(&mut state.machine, || now.get());
            // A relay's reader may have freed room: moving events out lets input resume.
            state.relay_take_commands(&mut now);
            let transmit = state.relay_publish();
            if fired | retried | transmit {
                state.wake_events();
                writer.unpark();
            }
            let wait = wait_until(state.machine.poll_timeout(), now.get());
            (input.wants_read(&state.machine), wait)
        };
        if !wants_read {
            thread::park_timeout(wait);
            continue;
        }
        if read_timeout != Some(wait) {
            stream.set_read_timeout(Some(wait))?;
            read_timeout = Some(wait);
        }
        // The buffer adapts to the read's size (it may reallocate): before the lock.
        let result = (&*stream).read(buf.space()).map(|n| buf.filled(n));
        let mut state = conn.lock();
        if state.is_stopped() {
            return Ok(());
        }
        let mut now = LazyNow::new(clock);
        match result {
            Ok([]) => input.on_eof(&mut state.machine, now.get()),
            Ok(bytes) => input.feed(&mut state.machine, now.get(), bytes, M::handle_input),
            Err(error) if is_retry(&error) => continue,
            Err(error) => return Err(error),
        }
        state.relay_take_commands(&mut now);
        state.relay_publish();
        state.wake_events();
        drop(state);
        writer.unpark();
    }
}

/// What the writer does next.
enum Step {
    Write,
    Shutdown,
    Finish,
    Wait(Duration),
}

/// The writer thread's half: transmits, the write half's shutdown, and finishing.
fn write_loop<M: Machine>(
    conn: &Connection<M>,
    stream: &TcpStream,
    reader: &Thread,
) -> io::Result<()> {
    let clock = conn.clock();
    let mut output = Outbound::default();
    loop {
        conn.begin_round();
        let step = {
            let mut state = conn.lock();
            if state.is_stopped() {
                return Ok(());
            }
            let mut now = LazyNow::new(clock);
            let fired = fire_due_timer(&mut state.machine, now.get());
            if fired {
                reader.unpark(); // the machine may want input again
            }
            // Commands queued through a relay go in before the transmits are taken.
            state.relay_take_commands(&mut now);
            let was_sending = output.is_sending();
            let mut sending = output.next_outgoing(&mut state.machine);
            if state.relay_publish() {
                sending = output.next_outgoing(&mut state.machine);
            }
            if fired || (sending && !was_sending) {
                state.wake_events();
            }
            if sending {
                Step::Write
            } else if output.should_shutdown_write(&state.machine) {
                Step::Shutdown
            } else if output.is_finished(&state.machine) || state.is_abandoned() {
                // Abandoned: the machine waits for an application that dropped every handle.
                state.stop(Ok(()));
                Step::Finish
            } else {
                Step::Wait(wait_until(state.machine.poll_timeout(), now.get()))
            }
        };
        match step {
            Step::Write => {
                let written = if output.transmits() == 1 {
                    (&*stream).write(output.first())
                } else {
                    let mut slices = [IoSlice::new(&[]); MAX_GATHER];
                    let n = output.slices(&mut slices);
                    (&*stream).write_vectored(&slices[..n])
                };
                match written {
                    Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                    Ok(n) => output.advance_written(n),
                    Err(error) if is_retry(&error) => {}
                    Err(error) => return Err(error),
                }
            }
            Step::Shutdown => {
                match stream.shutdown(Shutdown::Write) {
                    // The peer already closed and reset: nothing is left to shut down.
                    Err(e) if e.kind() != io::ErrorKind::NotConnected => return Err(e),
                    _ => output.write_shut_down(),
                }
            }
            Step::Finish => return Ok(()),
            Step::Wait(wait) => thread::park_timeout(wait),
        }
    }
}

/// Fires the machine's timer if it is due; returns whether it did.
fn fire_due_timer<M: Machine>(machine: &mut M, now: Instant) -> bool {
    let due = machine
        .poll_timeout()
        .is_some_and(|deadline| deadline <= now);
    if due {
        machine.handle_timeout(now);
    }
    due
}

/// How long to wait for I/O before the next deadline, within [`MIN_WAIT`, `MAX_WAIT`].
fn wait_until(deadline: Option<Instant>, now: Instant) -> Duration {
    deadline.map_or(MAX_WAIT, |deadline| {
        // Whole milliseconds, rounded up, so the socket's timeout rarely needs changing.
        let micros = deadline.saturating_duration_since(now).as_micros();
        let millis = u64::try_from(micros.div_ceil(1000)).unwrap_or(u64::MAX);
        Duration::from_millis(millis).clamp(MIN_WAIT, MAX_WAIT)
    })
}

/// A timed-out or interrupted call: look at the state and try again.
fn is_retry(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
    )
}

/// The driver waker: the application's actions concern both threads.
struct Unpark([Thread; 2]);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        for thread in &self.0 {
            thread.unpark();
        }
    }
}

/// Stops the whole driver when either thread leaves its loop, even by panicking: records an
/// outcome if none was, and unblocks the other thread.
struct StopOnExit<'a, M> {
    conn: &'a Connection<M>,
    stream: &'a TcpStream,
    other: Thread,
}

impl<'a, M> StopOnExit<'a, M> {
    fn new(conn: &'a Connection<M>, stream: &'a TcpStream, other: Thread) -> Self {
        StopOnExit {
            conn,
            stream,
            other,
        }
    }
}

impl<M> Drop for StopOnExit<'_, M> {
    fn drop(&mut self) {
        let error = io::Error::other("a wirestate driver thread stopped unexpectedly");
        self.conn.lock().stop(Err(&error));
        let _ = self.stream.shutdown(Shutdown::Both);
        self.other.unpark();
    }
}
