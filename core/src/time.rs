//! Time as a value.
//!
//! Machines never read a clock. Adapters create [`Instant`]s from their runtime's monotonic
//! clock (tokio's, so paused-time tests work; `std::time::Instant` elsewhere) and pass them
//! into every `handle_*` call; machines hand deadlines back through `poll_timeout`. Tests use
//! virtual time: an `Instant` is just a count of nanoseconds since an arbitrary origin.

use core::fmt;
use core::num::NonZeroU64;
use core::ops::{Add, AddAssign, Sub};
use core::time::Duration;

/// A point on a monotonic timeline, in nanoseconds since an origin chosen by the adapter.
///
/// Arithmetic saturates instead of panicking: a deadline past the end of time is simply
/// never reached. An `Option<Instant>` (a deadline that may be unset) takes no more room
/// than an `Instant`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant {
    /// Nanoseconds since the origin, plus one: the zero left free lets `Option` use it.
    nanos_plus_one: NonZeroU64,
}

impl Instant {
    /// The origin of the timeline.
    pub const ZERO: Instant = Instant::from_nanos(0);
    /// The latest representable instant (about 584 years after the origin).
    pub const MAX: Instant = Instant::from_nanos(u64::MAX - 1);

    /// The instant `nanos` nanoseconds after the origin (at most [`Instant::MAX`]).
    pub const fn from_nanos(nanos: u64) -> Self {
        match NonZeroU64::new(nanos.saturating_add(1)) {
            Some(nanos_plus_one) => Instant { nanos_plus_one },
            None => unreachable!(), // a saturating add of one is never zero
        }
    }

    /// The instant `elapsed` after the origin, saturating at [`Instant::MAX`].
    pub fn from_elapsed(elapsed: Duration) -> Self {
        Instant::from_nanos(u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX))
    }

    /// Nanoseconds since the origin.
    pub const fn as_nanos(self) -> u64 {
        self.nanos_plus_one.get() - 1
    }

    /// Time since the origin.
    pub const fn elapsed_since_origin(self) -> Duration {
        Duration::from_nanos(self.as_nanos())
    }

    /// `self + duration`, or `None` past [`Instant::MAX`].
    pub fn checked_add(self, duration: Duration) -> Option<Instant> {
        let add = u64::try_from(duration.as_nanos()).ok()?;
        self.as_nanos()
            .checked_add(add)
            .filter(|&nanos| nanos <= Instant::MAX.as_nanos())
            .map(Instant::from_nanos)
    }

    /// `self + duration`, saturating at [`Instant::MAX`].
    pub fn saturating_add(self, duration: Duration) -> Instant {
        self.checked_add(duration).unwrap_or(Instant::MAX)
    }

    /// Time from `earlier` to `self`, or zero if `earlier` is later.
    pub fn saturating_duration_since(self, earlier: Instant) -> Duration {
        Duration::from_nanos(self.as_nanos().saturating_sub(earlier.as_nanos()))
    }

    /// Time from `earlier` to `self`, or `None` if `earlier` is later.
    pub fn checked_duration_since(self, earlier: Instant) -> Option<Duration> {
        self.as_nanos()
            .checked_sub(earlier.as_nanos())
            .map(Duration::from_nanos)
    }
}

impl Default for Instant {
    fn default() -> Self {
        Instant::ZERO
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;
    fn add(self, rhs: Duration) -> Instant {
        self.saturating_add(rhs)
    }
}

impl AddAssign<Duration> for Instant {
    fn add_assign(&mut self, rhs: Duration) {
        *self = *self + rhs;
    }
}

impl Sub<Instant> for Instant {
    type Output = Duration;
    fn sub(self, rhs: Instant) -> Duration {
        self.saturating_duration_since(rhs)
    }
}

impl fmt::Debug for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Instant({:?})", self.elapsed_since_origin())
    }
}

/// The earlier of two optional deadlines (`None` means "no deadline").
pub fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, None) => a,
        (None, b) => b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_saturates() {
        let t = Instant::from_nanos(10);
        assert_eq!(t + Duration::from_nanos(5), Instant::from_nanos(15));
        assert_eq!(Instant::MAX + Duration::from_secs(1), Instant::MAX);
        assert_eq!(t - Instant::from_nanos(20), Duration::ZERO);
        assert_eq!(Instant::from_nanos(20) - t, Duration::from_nanos(10));
        assert_eq!(t.checked_add(Duration::MAX), None);
        assert_eq!(t.checked_duration_since(Instant::from_nanos(11)), None);
        assert_eq!(
            Instant::from_elapsed(Duration::from_millis(3)),
            Instant::from_nanos(3_000_000)
        );
        assert_eq!(Instant::from_elapsed(Duration::MAX), Instant::MAX);
        assert_eq!(Instant::from_nanos(u64::MAX), Instant::MAX);
        assert_eq!(Instant::MAX.checked_add(Duration::from_nanos(1)), None);
        assert_eq!(Instant::default(), Instant::ZERO);
        assert!(Instant::ZERO < Instant::from_nanos(1) && Instant::from_nanos(1) < Instant::MAX);
    }

    #[test]
    fn an_unset_deadline_costs_nothing() {
        assert_eq!(size_of::<Option<Instant>>(), size_of::<u64>());
    }

    #[test]
    fn earliest_prefers_some() {
        let a = Some(Instant::from_nanos(1));
        let b = Some(Instant::from_nanos(2));
        assert_eq!(earliest(a, b), a);
        assert_eq!(earliest(None, b), b);
        assert_eq!(earliest(a, None), a);
        assert_eq!(earliest(None, None), None);
    }
}
