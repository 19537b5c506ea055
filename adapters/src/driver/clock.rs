//! Runtime time as [`wirestate_core::Instant`] values, and back.

use std::fmt;
use std::time::Duration;

use wirestate_core::Instant;

/// How far in the future a deadline at [`Instant::MAX`] (or past the end of the platform's
/// clock) is put: about 30 years, as tokio does for "never".
const FAR_FUTURE: Duration = Duration::from_secs(86_400 * 365 * 30);

/// A clock read at most once, when first needed: a driver round that finds nothing to do
/// with time (no due timer, no input, no command) makes no clock call.
#[derive(Debug)]
pub(crate) struct LazyNow {
    clock: Clock,
    value: Option<Instant>,
}

impl LazyNow {
    /// Reads `clock` on the first [`get`](LazyNow::get).
    pub(crate) fn new(clock: Clock) -> LazyNow {
        LazyNow { clock, value: None }
    }

    /// The time: read now, or the value read before.
    pub(crate) fn get(&mut self) -> Instant {
        *self.value.get_or_insert_with(|| self.clock.now())
    }

    /// The time, if it was read.
    #[cfg(any(feature = "smol", feature = "tokio"))]
    pub(crate) fn read(&self) -> Option<Instant> {
        self.value
    }
}

/// Which runtime clock a [`Clock`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    /// `std::time::Instant::now()`: what async-io timers and blocking sockets use.
    Std,
    /// `tokio::time::Instant::now()`: follows tokio's paused and advanced test time.
    #[cfg(feature = "tokio")]
    Tokio,
}

/// A runtime's monotonic clock, seen as [`Instant`]s: nanoseconds since an origin taken when
/// the clock was created.
///
/// A driver uses the same clock for the `now` it hands to the machine and for the timer it
/// sleeps on, so a deadline the machine returns is reached exactly when the runtime's timer
/// fires. The std clock serves smol and the blocking driver; the tokio clock
/// (`Clock::tokio`) follows `tokio::time::pause`, so `#[tokio::test(start_paused = true)]`
/// runs machine timers on virtual time.
///
/// `Clock` is `Copy`: copies share the origin and agree on every value.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Clock {
    origin: std::time::Instant,
    source: Source,
}

impl Clock {
    /// The std clock (`std::time::Instant`), with its origin now.
    pub fn std() -> Clock {
        Clock {
            origin: std::time::Instant::now(),
            source: Source::Std,
        }
    }

    /// Tokio's clock (`tokio::time::Instant`), with its origin now. Inside a runtime whose
    /// time is paused, this reads the virtual time; elsewhere it reads the std clock.
    #[cfg(feature = "tokio")]
    pub fn tokio() -> Clock {
        Clock {
            origin: tokio::time::Instant::now().into_std(),
            source: Source::Tokio,
        }
    }

    /// Whether this clock reads tokio's time.
    pub fn is_tokio(&self) -> bool {
        #[cfg(feature = "tokio")]
        {
            self.source == Source::Tokio
        }
        #[cfg(not(feature = "tokio"))]
        {
            false
        }
    }

    /// The clock's reading now. Never earlier than [`Instant::ZERO`].
    pub fn now(&self) -> Instant {
        self.from_std(self.now_std())
    }

    /// The clock's reading now, as the runtime's own `std::time::Instant`.
    fn now_std(&self) -> std::time::Instant {
        match self.source {
            Source::Std => std::time::Instant::now(),
            #[cfg(feature = "tokio")]
            Source::Tokio => tokio::time::Instant::now().into_std(),
        }
    }

    /// The [`Instant`] of a point on the runtime's timeline (saturating at the origin).
    pub fn from_std(&self, instant: std::time::Instant) -> Instant {
        Instant::from_elapsed(instant.saturating_duration_since(self.origin))
    }

    /// The point on the runtime's timeline of a machine deadline, for the runtime's timer.
    /// A deadline too far to represent becomes a point about 30 years away.
    pub fn to_std(&self, deadline: Instant) -> std::time::Instant {
        let elapsed = deadline.elapsed_since_origin();
        let far = self.now_std() + FAR_FUTURE;
        match self.origin.checked_add(elapsed) {
            Some(at) if at < far => at,
            _ => far,
        }
    }

    /// How long from now until `deadline`: zero if it has passed.
    pub fn until(&self, deadline: Instant) -> Duration {
        deadline.saturating_duration_since(self.now())
    }
}

impl Default for Clock {
    /// The std clock.
    fn default() -> Clock {
        Clock::std()
    }
}

impl fmt::Debug for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Clock")
            .field("source", &self.source)
            .field("now", &self.now())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_saturates() {
        let clock = Clock::std();
        let a = clock.now();
        let b = clock.now();
        assert!(b >= a);
        let deadline = a + Duration::from_millis(5);
        let at = clock.to_std(deadline);
        assert_eq!(clock.from_std(at), deadline);
        // Before the origin saturates to zero; the end of time becomes "far away".
        let before = clock.origin.checked_sub(Duration::from_secs(1));
        if let Some(before) = before {
            assert_eq!(clock.from_std(before), Instant::ZERO);
        }
        let never = clock.to_std(Instant::MAX);
        assert!(never > std::time::Instant::now() + Duration::from_secs(86_400));
        assert_eq!(clock.until(a), Duration::ZERO);
        assert!(!clock.is_tokio());
    }

    #[cfg(feature = "tokio")]
    #[tokio::test(start_paused = true)]
    async fn tokio_clock_follows_paused_time() {
        let clock = Clock::tokio();
        assert!(clock.is_tokio());
        let start = clock.now();
        tokio::time::advance(Duration::from_secs(3600)).await;
        assert!(clock.now() - start >= Duration::from_secs(3600));
        let deadline = clock.now() + Duration::from_secs(1);
        let at = tokio::time::Instant::from_std(clock.to_std(deadline));
        tokio::time::sleep_until(at).await;
        assert!(clock.now() >= deadline);
    }
}
