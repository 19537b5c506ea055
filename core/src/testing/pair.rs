//! Two machines joined by simulated links on virtual time.

use core::time::Duration;

use super::link::{Link, LinkConfig};
use crate::machine::Machine;
use crate::time::{Instant, earliest};

/// Steps at one instant before [`Pair::drive`] declares a livelock.
const MAX_STEPS_PER_INSTANT: usize = 100_000;

/// Two machines, `a` and `b`, joined by a link each way, on virtual time starting at
/// [`Instant::ZERO`].
///
/// Events stay in the machines: the test polls `pair.a.poll_event()` and issues commands
/// directly, then calls [`drive`](Pair::drive) (settle at the current instant) or
/// [`run_for`](Pair::run_for) (let time pass, jumping from deadline to deadline).
#[derive(Debug)]
pub struct Pair<A, B> {
    /// The first machine (conventionally the client).
    pub a: A,
    /// The second machine (conventionally the server).
    pub b: B,
    /// The virtual clock.
    pub now: Instant,
    /// Bytes from `a` to `b`.
    pub a_to_b: Link,
    /// Bytes from `b` to `a`.
    pub b_to_a: Link,
}

impl<A: Machine, B: Machine> Pair<A, B> {
    /// Joins `a` and `b` with instant, unchunked, uncapped links.
    pub fn new(a: A, b: B) -> Self {
        Pair::with_links(a, b, LinkConfig::default(), LinkConfig::default())
    }

    /// Joins `a` and `b` with the given link shapes.
    pub fn with_links(a: A, b: B, a_to_b: LinkConfig, b_to_a: LinkConfig) -> Self {
        Pair {
            a,
            b,
            now: Instant::ZERO,
            a_to_b: Link::new(a_to_b),
            b_to_a: Link::new(b_to_a),
        }
    }

    /// One round at the current instant: fire due timers, move transmits into the links,
    /// deliver what is due. Returns whether anything happened.
    pub fn step(&mut self) -> bool {
        let now = self.now;
        let mut moved = false;
        if self.a.poll_timeout().is_some_and(|t| t <= now) {
            self.a.handle_timeout(now);
            moved |= true;
        }
        if self.b.poll_timeout().is_some_and(|t| t <= now) {
            self.b.handle_timeout(now);
            moved |= true;
        }
        moved |= self.a_to_b.pull(&mut self.a, now);
        moved |= self.b_to_a.pull(&mut self.b, now);
        moved |= self.a_to_b.push(&mut self.b, now);
        moved |= self.b_to_a.push(&mut self.a, now);
        moved
    }

    /// Steps until nothing more happens at the current instant.
    ///
    /// # Panics
    /// After 100 000 steps without settling (a livelock, e.g. a timer that stays due).
    pub fn drive(&mut self) {
        for _ in 0..MAX_STEPS_PER_INSTANT {
            if !self.step() {
                return;
            }
        }
        panic!(
            "Pair::drive: no quiescence after {MAX_STEPS_PER_INSTANT} steps at {:?}",
            self.now
        );
    }

    /// The next instant after now at which something is due: a delivery or a machine
    /// timer. Deadlines already passed are left out: after [`drive`](Pair::drive) they can
    /// only belong to deliveries held back by a receiver's backpressure, which time does not
    /// release.
    pub fn next_wakeup(&self) -> Option<Instant> {
        [
            self.a.poll_timeout(),
            self.b.poll_timeout(),
            self.a_to_b.next_delivery(),
            self.b_to_a.next_delivery(),
        ]
        .into_iter()
        .map(|at| at.filter(|at| *at > self.now))
        .fold(None, earliest)
    }

    /// Settles, then lets `duration` of virtual time pass, settling at every deadline on the
    /// way. Returns early, at the settled state, if nothing is left to happen.
    pub fn run_for(&mut self, duration: Duration) {
        let end = self.now + duration;
        self.settle_until(end);
        self.now = self.now.max(end);
    }

    /// Settles, and keeps jumping to the next deadline until nothing is left to happen or
    /// `limit` of virtual time has passed. Returns the time spent.
    pub fn run_until_idle(&mut self, limit: Duration) -> Duration {
        let start = self.now;
        self.settle_until(start + limit);
        self.now - start
    }

    /// Settles now, then at every deadline up to `end`.
    fn settle_until(&mut self, end: Instant) {
        self.drive();
        while let Some(next) = self.next_wakeup() {
            if next > end {
                break;
            }
            self.now = next;
            self.drive();
        }
    }
}
