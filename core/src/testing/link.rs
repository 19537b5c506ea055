//! One direction of a simulated connection.

use alloc::collections::VecDeque;
use bytes::Bytes;
use core::time::Duration;

use crate::machine::Machine;
use crate::time::Instant;

/// How a [`Link`] shapes traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkConfig {
    /// Largest piece delivered by one `handle_input` call (1 delivers byte by byte).
    pub max_chunk: usize,
    /// Time from transmit to delivery.
    pub latency: Duration,
    /// Most bytes in flight; the sender's transmits wait in the sender while the link is full.
    pub capacity: usize,
}

impl Default for LinkConfig {
    fn default() -> Self {
        LinkConfig {
            max_chunk: usize::MAX,
            latency: Duration::ZERO,
            capacity: usize::MAX,
        }
    }
}

impl LinkConfig {
    /// Delivers at most `max_chunk` bytes per input call.
    pub fn chunked(max_chunk: usize) -> Self {
        LinkConfig {
            max_chunk: max_chunk.max(1),
            ..LinkConfig::default()
        }
    }

    /// The same link with a latency.
    pub fn with_latency(mut self, latency: Duration) -> Self {
        self.latency = latency;
        self
    }

    /// The same link with at most `capacity` bytes in flight.
    pub fn with_capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity.max(1);
        self
    }
}

/// One direction of a simulated connection: carries a sender's transmits to a receiver's
/// input, then its end of stream.
#[derive(Debug, Default)]
pub struct Link {
    config: LinkConfig,
    queue: VecDeque<(Instant, Bytes)>,
    in_flight: usize,
    /// When the sender's end of stream reaches the receiver.
    eof_at: Option<Instant>,
    eof_delivered: bool,
    delivered: u64,
}

impl Link {
    /// An empty link.
    pub fn new(config: LinkConfig) -> Self {
        Link {
            config,
            ..Link::default()
        }
    }

    /// Bytes sent and not yet accepted by the receiver.
    pub fn in_flight(&self) -> usize {
        self.in_flight
    }

    /// Bytes the receiver has accepted.
    pub fn delivered(&self) -> u64 {
        self.delivered
    }

    /// Whether the end of stream has reached the receiver.
    pub fn is_eof_delivered(&self) -> bool {
        self.eof_delivered
    }

    /// When the next piece (or the end of stream) is due, if anything is in flight.
    pub fn next_delivery(&self) -> Option<Instant> {
        match self.queue.front() {
            Some((at, _)) => Some(*at),
            None if !self.eof_delivered => self.eof_at,
            None => None,
        }
    }

    /// Moves the sender's transmits into the link while it has room. Returns whether
    /// anything moved.
    pub(crate) fn pull<M: Machine>(&mut self, sender: &mut M, now: Instant) -> bool {
        let mut moved = false;
        while self.in_flight < self.config.capacity {
            // What the sender lends is taken as a driver writing in place takes it: up to
            // a piece at a time, as far as the link has room (partial writes).
            if let Some(lent) = sender.lend_transmit() {
                let room = self.config.capacity - self.in_flight;
                let n = lent.len().min(self.config.max_chunk).min(room);
                let bytes = Bytes::copy_from_slice(&lent[..n]);
                sender.advance_lent(n);
                self.in_flight += n;
                self.queue.push_back((now + self.config.latency, bytes));
                moved = true;
                continue;
            }
            match sender.poll_transmit() {
                Some(bytes) if bytes.is_empty() => continue,
                Some(bytes) => {
                    self.in_flight += bytes.len();
                    self.queue.push_back((now + self.config.latency, bytes));
                    moved = true;
                }
                None => break,
            }
        }
        if self.eof_at.is_none() && self.in_flight == 0 && sender.is_transmit_closed() {
            // Nothing can follow: the end of stream travels like a byte.
            self.eof_at = Some(now + self.config.latency);
            moved = true;
        }
        moved
    }

    /// Delivers what is due at `now` to the receiver, re-chunked. Returns whether anything
    /// was accepted.
    pub(crate) fn push<M: Machine>(&mut self, receiver: &mut M, now: Instant) -> bool {
        let mut moved = false;
        while let Some((at, bytes)) = self.queue.front_mut() {
            if *at > now {
                break;
            }
            let piece = bytes.len().min(self.config.max_chunk);
            let accepted = receiver.handle_input(now, &bytes[..piece]);
            assert!(accepted <= piece, "handle_input accepted more than offered");
            if accepted == 0 {
                break; // backpressure: offer again after the receiver makes progress
            }
            moved = true;
            self.in_flight -= accepted;
            self.delivered += accepted as u64;
            let _ = bytes.split_to(accepted);
            if bytes.is_empty() {
                self.queue.pop_front();
            }
        }
        if self.queue.is_empty() && !self.eof_delivered && self.eof_at.is_some_and(|at| at <= now) {
            self.eof_delivered = true;
            receiver.handle_eof(now);
            moved = true;
        }
        moved
    }
}
