//! [`RSocketRelay`]: moves the machine's events out inside the driver's round.
//!
//! ```text
//!   driver round ──publish──▶ Next / Complete / Error / Cancelled / Closed ──▶ Routes slot ──wake──▶ reader
//!                          └▶ Setup / Request / MetadataPush ──▶ Inbox ──wake──▶ router task ──▶ responder
//! ```
//!
//! A response thus reaches the task that awaits it straight from the driver, without a
//! routing task in between; only what needs application code goes through the router
//! (the responder never runs under the connection's lock).
//!
//! Bounds: the inbox holds [`INBOX_EVENTS`](super::inbox::INBOX_EVENTS) events, past
//! which events stay in the machine (whose budget then stops input). A stream's slot holds
//! what the peer sent within the credit this side granted (the machine fails a stream past
//! its overrun allowance), and credit is granted as the slot's reader reads: a slot grows
//! without bound only for a stream whose reader asked for unbounded credit.
//!
//! Lock order: `publish` runs under the connection's lock and takes the inbox's and the
//! routes' locks; neither of those is ever held while taking the connection's lock.

use std::sync::{Arc, Mutex, MutexGuard};

use wirestate_core::Machine;
use wirestate_core::rsocket::Connection;
use wirestate_core::rsocket::conn::{Event, Interaction};

use super::Error;
use super::inbox::Inbox;
use super::routes::{self, Routes};
use crate::driver::{LazyNow, Relay};
use crate::wire::Wire;

/// The driver's end of an RSocket's routes and router inbox.
#[derive(Debug)]
pub(super) struct RSocketRelay {
    routes: Arc<Mutex<Routes>>,
    inbox: Arc<Inbox>,
    /// The connection was seen open (or closed) and the inbox told.
    established: bool,
}

impl RSocketRelay {
    pub(super) fn new(routes: Arc<Mutex<Routes>>, inbox: Arc<Inbox>) -> RSocketRelay {
        RSocketRelay {
            routes,
            inbox,
            established: false,
        }
    }
}

impl Relay<Wire<Connection>> for RSocketRelay {
    fn take_commands(&mut self, _: &mut Wire<Connection>, _: &mut LazyNow) -> bool {
        false // commands go to the machine directly, under the connection's lock
    }

    fn publish(&mut self, machine: &mut Wire<Connection>) -> bool {
        if !self.established && (machine.is_open() || machine.is_closed()) {
            self.established = true;
            self.inbox.set_established();
        }
        // Taking an event may queue a frame (a channel responder's first REQUEST_N).
        let before = machine.buffered_amount();
        let mut queue = self.inbox.lock();
        let mut routes: Option<MutexGuard<'_, Routes>> = None;
        while queue.has_room() {
            let Some(event) = machine.poll_event() else {
                break;
            };
            let slots = routes.get_or_insert_with(|| routes::lock(&self.routes));
            match event {
                Event::Next { stream, payload } => slots.next(stream, payload),
                Event::Complete { stream } | Event::Cancelled { stream } => {
                    slots.end(stream, Ok(()));
                }
                Event::Error {
                    stream,
                    code,
                    message,
                } => slots.end(stream, Err(Error::Stream { code, message })),
                Event::Closed(reason) => slots.close(Error::closed_on(machine, reason)),
                Event::Request {
                    stream,
                    interaction: Interaction::Channel { complete },
                    ..
                } => {
                    // The slot exists before any item of the channel can be routed.
                    slots.open(stream);
                    if complete {
                        slots.end(stream, Ok(()));
                    }
                    queue.push(event);
                }
                Event::Setup(_) | Event::Request { .. } | Event::MetadataPush(_) => {
                    queue.push(event);
                }
                _ => {} // leases, tolerated violations
            }
        }
        drop(routes);
        let router = queue.waker_to_wake();
        drop(queue);
        if let Some(router) = router {
            router.wake();
        }
        machine.buffered_amount() > before
    }

    fn stopped(&mut self) {
        self.inbox.stop();
    }
}
