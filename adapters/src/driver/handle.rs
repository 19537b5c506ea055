//! [`Connection`]: the machine shared between the application and its driver.

use std::fmt;
use std::future::poll_fn;
use std::io;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use wirestate_core::{Instant, Machine};

use super::clock::{Clock, LazyNow};
use super::relay::Relay;
use super::waker::DriverWaker;
use crate::park;

/// A handle on a machine that a driver runs: the application and the driver each hold one.
///
/// Clones share the same machine. The handle is `Send + Sync` when the machine is `Send`.
///
/// # How the two sides meet
///
/// - The application acts through [`command`](Connection::command) and
///   [`with`](Connection::with), and consumes events with
///   [`poll_event`](Connection::poll_event), [`next_event`](Connection::next_event) or
///   [`wait_event`](Connection::wait_event). Each of these wakes the driver, which then
///   writes what the machine queued, reads again if consuming freed room, and re-arms its
///   timer.
/// - The driver wakes the event waiter whenever it fed input, fired timers, drained
///   transmits or stopped. The event stream ends (`None`) once the driver has stopped and
///   the machine has no events left; [`driver_result`](Connection::driver_result) then
///   says how it stopped.
///
/// Events are one stream: let one task or thread consume them at a time (only the most
/// recent waiter is woken).
///
/// # When the application lets go
///
/// The handle a driver is given becomes the driver's own; the application's clones keep it
/// present. Once every application handle is dropped, the driver goes on while the machine
/// has work of its own (bytes to write, input it accepts, timers), and stops (with `Ok`) as
/// soon as the machine would wait for the application, which can no longer act.
///
/// # A relay instead of the lock
///
/// A connection may carry a relay (the WebSocket halves install one): commands and events
/// then also flow through its lock-free queues, which the driver fills and drains in each
/// round. The driver's waker has its own slot outside the lock, so waking the driver never
/// takes the machine's mutex.
///
/// # The locking rule
///
/// The machine sits behind a mutex. Never hold it across an `.await` or a blocking I/O
/// call: closures passed to [`with`](Connection::with) must be short and must not block or
/// call back into the same connection (that would deadlock).
pub struct Connection<M> {
    shared: Arc<Shared<M>>,
    /// An application handle (counted in `State::app_handles`), not the driver's own.
    counted: bool,
}

struct Shared<M> {
    clock: Clock,
    /// Woken when the application acted: a command, `with`, a consumed event, or something
    /// queued through the relay. Outside the lock, so that waking takes no lock.
    driver_waker: DriverWaker,
    state: Mutex<State<M>>,
}

/// What the mutex guards.
pub(crate) struct State<M> {
    /// The machine itself.
    pub(crate) machine: M,
    /// Moves commands in and events out in bulk, if installed (see [`Relay`]).
    relay: Option<Box<dyn Relay<M>>>,
    /// Woken (once per registration) when the machine may have new events.
    event_waker: Option<Waker>,
    /// Woken (once per registration) when the driver made progress or the application
    /// acted: see [`Connection::poll_watch`]. Several tasks may watch at once.
    watch_wakers: Vec<Waker>,
    /// A driver has started on this connection.
    attached: bool,
    /// How the driver stopped; `None` while it runs (or before it starts).
    outcome: Option<Result<(), DriverError>>,
    /// Application handles alive. At zero nobody can consume events or data any more.
    app_handles: usize,
}

impl<M> State<M> {
    /// Lets the relay, if any, apply what the application queued: call before the machine
    /// is asked for transmits or used directly. Returns whether it applied anything.
    pub(crate) fn relay_take_commands(&mut self, now: &mut LazyNow) -> bool {
        match &mut self.relay {
            Some(relay) => relay.take_commands(&mut self.machine, now),
            None => false,
        }
    }

    /// Lets the relay, if any, move events out and publish the machine's state: call after
    /// [`relay_take_commands`](State::relay_take_commands), once the machine changed.
    /// Returns whether the machine has new bytes to transmit.
    pub(crate) fn relay_publish(&mut self) -> bool {
        match &mut self.relay {
            Some(relay) => relay.publish(&mut self.machine),
            None => false,
        }
    }

    /// Wakes whoever waits for events or watches the machine: it may have changed.
    pub(crate) fn wake_events(&mut self) {
        if let Some(waker) = self.event_waker.take() {
            waker.wake();
        }
        for waker in self.watch_wakers.drain(..) {
            waker.wake();
        }
    }

    /// Claims the connection for a driver: only one may ever run it.
    pub(crate) fn attach(&mut self) -> io::Result<()> {
        if self.attached {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                "a driver already runs (or ran) this connection",
            ));
        }
        self.attached = true;
        Ok(())
    }

    /// Whether every application handle is gone and the machine waits for the application
    /// (it takes no input): nothing will ever unblock it, so a driver should stop.
    pub(crate) fn is_abandoned(&self) -> bool
    where
        M: Machine,
    {
        self.app_handles == 0 && !self.machine.wants_read()
    }

    /// Whether the driver has stopped.
    pub(crate) fn is_stopped(&self) -> bool {
        self.outcome.is_some()
    }

    /// Records how the driver stopped (the first outcome wins) and wakes the event waiter.
    pub(crate) fn stop(&mut self, result: Result<(), &io::Error>) {
        if self.outcome.is_none() {
            self.outcome = Some(result.map_err(DriverError::new));
            if let Some(relay) = &mut self.relay {
                relay.stopped();
            }
        }
        self.wake_events();
    }
}

/// A transport error kept so that every caller of
/// [`driver_result`](Connection::driver_result) gets an equal `io::Error`.
#[derive(Debug, Clone)]
pub(crate) struct DriverError {
    kind: io::ErrorKind,
    os_code: Option<i32>,
    message: Arc<str>,
}

impl DriverError {
    pub(crate) fn new(error: &io::Error) -> DriverError {
        DriverError {
            kind: error.kind(),
            os_code: error.raw_os_error(),
            message: error.to_string().into(),
        }
    }

    pub(crate) fn to_io(&self) -> io::Error {
        match self.os_code {
            Some(code) => io::Error::from_raw_os_error(code),
            None => io::Error::new(self.kind, &*self.message),
        }
    }
}

/// [`Connection::wait_event_timeout`] gave up before an event arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimedOut;

impl fmt::Display for TimedOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("timed out waiting for a connection event")
    }
}

impl std::error::Error for TimedOut {}

impl<M> Clone for Connection<M> {
    fn clone(&self) -> Self {
        if self.counted {
            self.lock().app_handles += 1;
        }
        Connection {
            shared: Arc::clone(&self.shared),
            counted: self.counted,
        }
    }
}

impl<M> Drop for Connection<M> {
    fn drop(&mut self) {
        if !self.counted {
            return;
        }
        let last = {
            let mut state = self.lock();
            state.app_handles -= 1;
            state.app_handles == 0
        };
        // The last application handle is gone: let the driver see whether it may stop.
        if last {
            self.wake_driver();
        }
    }
}

impl<M> fmt::Debug for Connection<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("clock", &self.shared.clock)
            .field("driver_done", &self.is_driver_done())
            .finish_non_exhaustive()
    }
}

impl<M> Connection<M> {
    /// Locks the shared state. A panic in another holder does not stop the others: the lock
    /// is taken over as it was left.
    pub(crate) fn lock(&self) -> MutexGuard<'_, State<M>> {
        #[cfg(test)]
        lock_count::add_one();
        self.shared
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// How the driver stopped: `None` while it runs (or has not started), `Some(Ok(()))` once
    /// the machine finished and everything was written, `Some(Err(_))` after a transport
    /// error. Every call returns an equal result.
    pub fn driver_result(&self) -> Option<io::Result<()>> {
        let state = self.lock();
        state
            .outcome
            .as_ref()
            .map(|outcome| outcome.as_ref().map(|&()| ()).map_err(DriverError::to_io))
    }

    /// Whether the driver has stopped.
    pub fn is_driver_done(&self) -> bool {
        self.lock().is_stopped()
    }

    /// The clock that times this machine.
    pub fn clock(&self) -> Clock {
        self.shared.clock
    }

    /// The clock's reading now.
    pub fn now(&self) -> Instant {
        self.shared.clock.now()
    }

    /// Wakes the driver without taking the lock: the application queued something through
    /// the relay or freed room in it. Wakes coalesce until the driver's next round.
    pub(crate) fn wake_driver(&self) {
        self.shared.driver_waker.wake();
    }

    /// The driver registers the waker that application actions wake.
    pub(crate) fn register_driver(&self, waker: &Waker) {
        self.shared.driver_waker.register(waker);
    }

    /// The driver is about to look at the shared state (see [`DriverWaker::begin_round`]);
    /// returns whether the application woke it since the last round.
    pub(crate) fn begin_round(&self) -> bool {
        self.shared.driver_waker.begin_round()
    }

    /// The driver's own handle: it does not keep the application present.
    pub(crate) fn into_driver_handle(mut self) -> Connection<M> {
        if self.counted {
            self.lock().app_handles -= 1;
            self.counted = false;
        }
        self
    }
}

impl<M: Machine> Connection<M> {
    /// Shares `machine`, timed by the std clock (smol and blocking drivers; for tokio see
    /// `Clock::tokio`).
    pub fn new(machine: M) -> Self {
        Connection::with_clock(machine, Clock::std())
    }

    /// Shares `machine`, timed by `clock`. The driver that runs it must sleep on the same
    /// runtime's timer (the tokio clock for the tokio driver under paused time).
    pub fn with_clock(machine: M, clock: Clock) -> Self {
        Connection {
            shared: Arc::new(Shared {
                clock,
                driver_waker: DriverWaker::default(),
                state: Mutex::new(State {
                    machine,
                    relay: None,
                    event_waker: None,
                    watch_wakers: Vec::new(),
                    attached: false,
                    outcome: None,
                    app_handles: 1,
                }),
            }),
            counted: true,
        }
    }

    /// Applies an application intent at the clock's current time, then wakes the driver.
    pub fn command(&self, command: M::Command) -> Result<M::Reply, M::UsageError> {
        self.with(|machine| machine.command(self.shared.clock.now(), command))
    }

    /// Runs `f` on the machine (under the lock: keep it short and non-blocking), then wakes
    /// the driver, since `f` may have queued bytes, freed room or armed a timer.
    ///
    /// With a relay installed, what the application queued through it is applied first
    /// (so `f` comes after it), and the relay publishes the machine's state after `f`.
    pub fn with<R>(&self, f: impl FnOnce(&mut M) -> R) -> R {
        let (result, watcher) = {
            let mut state = self.lock();
            let relayed = state.relay.is_some();
            if relayed {
                state.relay_take_commands(&mut LazyNow::new(self.shared.clock));
            }
            let result = f(&mut state.machine);
            if relayed {
                state.relay_publish();
            }
            // A watcher waits on the machine's state, which `f` may have changed.
            (result, std::mem::take(&mut state.watch_wakers))
        };
        self.wake_driver();
        for watcher in watcher {
            watcher.wake();
        }
        result
    }

    /// The next event, if one is ready: `Ready(None)` once the driver has stopped and no
    /// events are left; `Pending` registers `cx`'s waker. Consuming an event wakes the
    /// driver (it may have freed room for input).
    pub fn poll_event(&self, cx: &mut Context<'_>) -> Poll<Option<M::Event>> {
        let waker = {
            let mut state = self.lock();
            match state.machine.poll_event() {
                Some(event) => Ok(event),
                None if state.is_stopped() => return Poll::Ready(None),
                None => {
                    match &mut state.event_waker {
                        Some(current) if current.will_wake(cx.waker()) => {}
                        slot => *slot = Some(cx.waker().clone()),
                    }
                    Err(())
                }
            }
        };
        match waker {
            Ok(event) => {
                self.wake_driver();
                Poll::Ready(Some(event))
            }
            Err(()) => Poll::Pending,
        }
    }

    /// `Ready(true)` once `ready` holds for the machine, `Ready(false)` once the driver has
    /// stopped without it; `Pending` registers `cx`'s waker, woken whenever the driver fed
    /// input, fired a timer, took a transmit or stopped, and after every command or
    /// [`with`](Connection::with). This is how a writer waits for room (a machine's buffered
    /// output to drain) without consuming events. Any number of tasks may watch at once.
    pub fn poll_watch(&self, cx: &mut Context<'_>, ready: impl FnOnce(&M) -> bool) -> Poll<bool> {
        let mut state = self.lock();
        if ready(&state.machine) {
            return Poll::Ready(true);
        }
        if state.is_stopped() {
            return Poll::Ready(false);
        }
        if !state.watch_wakers.iter().any(|w| w.will_wake(cx.waker())) {
            state.watch_wakers.push(cx.waker().clone());
        }
        Poll::Pending
    }

    /// Installs `relay` (see [`Relay`]) and lets it publish at once: the machine may already
    /// hold events for it, and its driver may be idle, or may have stopped already.
    #[cfg(any(feature = "smol", feature = "tokio", feature = "blocking"))]
    pub(crate) fn set_relay(&self, mut relay: Box<dyn Relay<M>>) {
        {
            let mut state = self.lock();
            if state.is_stopped() {
                relay.stopped();
            }
            state.relay = Some(relay);
            state.relay_take_commands(&mut LazyNow::new(self.shared.clock));
            state.relay_publish();
        }
        self.wake_driver();
    }

    /// Lets the relay move what the machine holds now, under the lock: how the application
    /// takes the last events once the driver has stopped and no longer does it.
    #[cfg(any(feature = "smol", feature = "tokio", feature = "blocking"))]
    pub(crate) fn sync_relay(&self) {
        self.with(|_| ());
    }

    /// Waits for the next event; `None` once the driver has stopped and no events are left.
    pub async fn next_event(&self) -> Option<M::Event> {
        poll_fn(|cx| self.poll_event(cx)).await
    }

    /// Blocks the calling thread until the next event; `None` once the driver has stopped
    /// and no events are left. Do not call this from an async task.
    pub fn wait_event(&self) -> Option<M::Event> {
        park::block_on_poll(|cx| self.poll_event(cx))
    }

    /// Like [`wait_event`](Connection::wait_event), but gives up after `timeout`.
    pub fn wait_event_timeout(&self, timeout: Duration) -> Result<Option<M::Event>, TimedOut> {
        match std::time::Instant::now().checked_add(timeout) {
            Some(deadline) => {
                park::block_on_poll_until(deadline, |cx| self.poll_event(cx)).ok_or(TimedOut)
            }
            None => Ok(self.wait_event()), // past the end of the clock: no limit
        }
    }
}

/// How often the calling thread took a connection's lock: tests prove with it that the
/// WebSocket halves' steady state takes none.
#[cfg(test)]
pub(crate) mod lock_count {
    use std::cell::Cell;

    thread_local! {
        static TAKEN: Cell<u64> = const { Cell::new(0) };
    }

    pub(crate) fn add_one() {
        TAKEN.with(|taken| taken.set(taken.get() + 1));
    }

    /// Locks taken on this thread so far.
    pub(crate) fn on_this_thread() -> u64 {
        TAKEN.with(Cell::get)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::task::Wake;
    use wirestate_core::chan::{Duplex, DuplexCommand};

    struct Flag(std::sync::atomic::AtomicUsize);
    impl Wake for Flag {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    }

    fn counter() -> (Arc<Flag>, Waker) {
        let flag = Arc::new(Flag(0.into()));
        (flag.clone(), Waker::from(flag))
    }

    fn count(flag: &Flag) -> usize {
        flag.0.load(std::sync::atomic::Ordering::SeqCst)
    }

    #[test]
    fn commands_wake_the_driver_and_stop_ends_events() {
        let conn = Connection::new(Duplex::default());
        let (driver, driver_waker) = counter();
        conn.register_driver(&driver_waker);
        let written = conn.command(DuplexCommand::Write(bytes::Bytes::from_static(b"hi")));
        assert_eq!(written.unwrap(), 2);
        assert_eq!(count(&driver), 1);
        conn.begin_round(); // wakes coalesce until the driver looks again
        conn.with(|m| m.outbound_mut().flush().unwrap());
        assert_eq!(count(&driver), 2);

        let (events, event_waker) = counter();
        let mut cx = Context::from_waker(&event_waker);
        assert!(conn.poll_event(&mut cx).is_pending());
        assert!(!conn.is_driver_done());
        assert!(conn.driver_result().is_none());

        let error = io::Error::from(io::ErrorKind::ConnectionReset);
        conn.lock().stop(Err(&error));
        conn.lock().stop(Ok(()));
        assert_eq!(count(&events), 1);
        assert!(matches!(conn.poll_event(&mut cx), Poll::Ready(None)));
        for _ in 0..2 {
            let result = conn.driver_result().unwrap();
            assert_eq!(result.unwrap_err().kind(), io::ErrorKind::ConnectionReset);
        }
        assert!(conn.is_driver_done());
        assert_eq!(conn.next_event_now(), None);
        assert_eq!(conn.wait_event_timeout(Duration::from_millis(1)), Ok(None));
    }

    #[test]
    fn one_driver_per_connection() {
        let conn = Connection::new(Duplex::default());
        conn.lock().attach().unwrap();
        let refused = conn.clone().lock().attach().unwrap_err();
        assert_eq!(refused.kind(), io::ErrorKind::AlreadyExists);
        assert!(!conn.is_driver_done(), "a refused driver records nothing");
    }

    #[test]
    fn wait_event_timeout_gives_up() {
        let conn = Connection::new(Duplex::default());
        let result = conn.wait_event_timeout(Duration::from_millis(5));
        assert_eq!(result, Err(TimedOut));
    }

    impl<M: Machine> Connection<M> {
        fn next_event_now(&self) -> Option<M::Event> {
            let (_, waker) = counter();
            match self.poll_event(&mut Context::from_waker(&waker)) {
                Poll::Ready(event) => event,
                Poll::Pending => panic!("no event ready"),
            }
        }
    }
}
