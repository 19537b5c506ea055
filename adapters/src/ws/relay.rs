//! [`WsRelay`]: the driver's end of a WebSocket's lock-free queues.

use wirestate_core::ws::Connection;

use super::inbox::{self, Filler, Inbox};
use super::outbox::{self, Drain, Outbox};
use crate::driver::{LazyNow, Relay};
use crate::wire::Wire;

/// Moves a WebSocket's messages between the machine and its halves' queues, in each driver
/// round: queued messages in first, then events out and the machine's state published.
#[derive(Debug)]
pub(super) struct WsRelay {
    inbound: Filler,
    outbound: Drain,
}

/// A relay for a connection, and the queues' other ends for the read and the write half.
pub(super) fn relay(send_high_water: usize) -> (WsRelay, Inbox, Outbox) {
    let (inbound, inbox) = inbox::inbox();
    let (outbound, outbox) = outbox::outbox(send_high_water);
    (WsRelay { inbound, outbound }, inbox, outbox)
}

impl Relay<Wire<Connection>> for WsRelay {
    fn take_commands(&mut self, machine: &mut Wire<Connection>, now: &mut LazyNow) -> bool {
        self.outbound.apply(machine, now)
    }

    fn publish(&mut self, machine: &mut Wire<Connection>) -> bool {
        // Events first: asking the machine for more may release a fault, which closes it.
        let released = self.inbound.fill(machine);
        self.outbound.publish(machine);
        released
    }

    fn stopped(&mut self) {
        self.inbound.stop();
        self.outbound.stop();
    }
}
