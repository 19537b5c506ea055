//! [`Relay`]: an optional hook that moves commands in and events out in bulk.

use super::clock::LazyNow;

/// A companion of a machine that exchanges commands and events with the application
/// through its own lock-free queues, so that the application's steady state (queueing a
/// command, taking an event) needs no connection lock.
///
/// A relay is installed with `Connection::set_relay`; a connection without one works as
/// before. The connection calls it with the lock held:
///
/// - [`take_commands`](Relay::take_commands) at the start of every driver round, before
///   the driver takes transmits, and before every `Connection::with`/`command`, so that
///   commands queued through the relay and direct ones stay in order;
/// - [`publish`](Relay::publish) after every driver round (input, timers, transmits), and
///   after every `with`/`command`, always right after `take_commands`;
/// - [`stopped`](Relay::stopped) once, when the driver stops.
///
/// Each must be short and must not call back into the connection. The relay wakes the
/// application's tasks itself; the application wakes the driver with
/// `Connection::wake_driver` after queueing something or freeing room.
pub(crate) trait Relay<M>: Send {
    /// Applies what the application queued, at `now` (read only if there is something).
    /// Returns whether it gave the machine anything.
    fn take_commands(&mut self, machine: &mut M, now: &mut LazyNow) -> bool;

    /// Moves what the machine has for the application out, and publishes the machine state
    /// the application's fast paths read. Returns whether the machine has new work of its
    /// own (bytes to transmit): the driver then goes round again.
    fn publish(&mut self, machine: &mut M) -> bool;

    /// The driver has stopped: no round will follow (though `with` still may).
    fn stopped(&mut self);
}
