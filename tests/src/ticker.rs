//! A test-only machine with timers.

use std::collections::VecDeque;
use std::time::Duration;

use wirestate_core::bytes::Bytes;
use wirestate_core::{Instant, Machine};

/// Sends one byte at each of `ticks` deadlines, `interval` apart from the `()` command,
/// then closes its transmit side. Input is counted and dropped. Each tick is also an event:
/// the instant it fired.
#[derive(Debug)]
pub struct Ticker {
    interval: Duration,
    left: u32,
    next: Option<Instant>,
    out: VecDeque<Bytes>,
    events: VecDeque<Instant>,
}

impl Ticker {
    /// A ticker for `ticks` ticks, `interval` apart; the command starts it.
    pub fn new(interval: Duration, ticks: u32) -> Self {
        Ticker {
            interval,
            left: ticks,
            next: None,
            out: VecDeque::new(),
            events: VecDeque::new(),
        }
    }
}

impl Machine for Ticker {
    type Event = Instant;
    type Command = ();
    type Reply = ();
    type UsageError = &'static str;

    fn handle_input(&mut self, _now: Instant, data: &[u8]) -> usize {
        data.len()
    }
    fn handle_eof(&mut self, _now: Instant) {}
    fn handle_timeout(&mut self, now: Instant) {
        if let Some(next) = self.next.filter(|&next| next <= now) {
            self.out.push_back(Bytes::from_static(b"*"));
            self.events.push_back(now);
            self.left -= 1;
            self.next = (self.left > 0).then(|| next + self.interval);
        }
    }
    fn command(&mut self, now: Instant, (): ()) -> Result<(), &'static str> {
        if self.next.is_some() || self.left == 0 {
            return Err("already started");
        }
        self.next = Some(now + self.interval);
        Ok(())
    }
    fn poll_transmit(&mut self) -> Option<Bytes> {
        self.out.pop_front()
    }
    fn poll_event(&mut self) -> Option<Instant> {
        self.events.pop_front()
    }
    fn poll_timeout(&self) -> Option<Instant> {
        self.next
    }
    fn wants_read(&self) -> bool {
        true
    }
    fn is_transmit_closed(&self) -> bool {
        self.left == 0 && self.out.is_empty()
    }
    fn is_finished(&self) -> bool {
        self.is_transmit_closed()
    }
}

/// Asserts that `count` ticks arrived and that the i-th (from 0) fired no sooner than
/// `(i + 1) * interval` after `started`.
#[track_caller]
pub fn assert_ticks(ticks: &[Instant], count: usize, started: Instant, interval: Duration) {
    assert_eq!(ticks.len(), count);
    for (i, at) in ticks.iter().enumerate() {
        assert!(*at - started >= interval * (i as u32 + 1));
    }
}
