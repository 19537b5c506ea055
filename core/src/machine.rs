//! The contract every wirestate machine implements.

use bytes::Bytes;

use crate::time::Instant;

/// A sans-I/O protocol state machine: bytes and time go in; bytes, events and deadlines come
/// out.
///
/// The methods fall into four kinds, as in quinn-proto:
///
/// - **inputs** (`handle_*`): bytes from the transport, the transport's end of stream, and the
///   passage of time;
/// - **commands** ([`Machine::command`]): what the application wants, answered with a
///   [`Result`] whose error is for local misuse only;
/// - **outputs** (`poll_*`): bytes to write, events for the application, the next deadline;
/// - **getters**: whether the machine wants more input, and whether it is finished.
///
/// # The drain contract
///
/// After any input or command, drain [`poll_transmit`](Machine::poll_transmit),
/// [`poll_event`](Machine::poll_event) and [`poll_timeout`](Machine::poll_timeout) until the
/// first two return `None`. The order does not matter, and more inputs may arrive between
/// drains: no call must come "before" another.
///
/// # Peer faults are not errors
///
/// Bad bytes from the peer never come back as `Err`: the machine queues whatever the protocol
/// says to send (a close frame, an ERROR frame, an HTTP status) and reports the failure as an
/// event. `Err` from a command means the application asked for something impossible.
pub trait Machine {
    /// What the machine reports to the application.
    type Event;
    /// What the application asks of the machine.
    type Command;
    /// The answer to a successful command.
    type Reply;
    /// Why a command was refused: local misuse, never a peer fault.
    type UsageError;

    /// Feeds bytes read from the transport; returns how many were accepted.
    ///
    /// Accepting fewer than offered is backpressure: offer the rest again after the
    /// application has consumed events or data (the driver keeps them).
    fn handle_input(&mut self, now: Instant, data: &[u8]) -> usize;

    /// The transport's read half has ended (the peer sent FIN, or the stream closed).
    fn handle_eof(&mut self, now: Instant);

    /// Lets timers fire. Idempotent, and safe to call early or more often than needed.
    fn handle_timeout(&mut self, now: Instant);

    /// Applies an application intent.
    fn command(
        &mut self,
        now: Instant,
        command: Self::Command,
    ) -> Result<Self::Reply, Self::UsageError>;

    /// The next bytes to write to the transport, in order.
    #[must_use]
    fn poll_transmit(&mut self) -> Option<Bytes>;

    /// What [`poll_transmit`](Machine::poll_transmit) would hand out, lent in place
    /// instead: a driver that writes at once writes these bytes from the machine's own
    /// buffer, then says how many the transport took with
    /// [`advance_lent`](Machine::advance_lent). This spares handing out a buffer per
    /// write.
    ///
    /// `None` when nothing waits, and also whenever the machine does not lend what waits
    /// (the default: it never does). Bytes already taken with `poll_transmit` go first, so a
    /// driver writes those before it asks for a loan.
    #[must_use]
    fn lend_transmit(&self) -> Option<&[u8]> {
        None
    }

    /// The transport took the first `n` bytes of what
    /// [`lend_transmit`](Machine::lend_transmit) lent (`n` at most their length).
    fn advance_lent(&mut self, n: usize) {
        debug_assert_eq!(n, 0, "advance_lent without a loan");
    }

    /// The next event for the application.
    #[must_use]
    fn poll_event(&mut self) -> Option<Self::Event>;

    /// When [`handle_timeout`](Machine::handle_timeout) next needs to be called; `None` means
    /// no timer is armed. May change after any input or command.
    #[must_use]
    fn poll_timeout(&self) -> Option<Instant>;

    /// Whether the machine can accept input now. A driver stops reading the transport while
    /// this is false, which turns a full buffer into TCP backpressure.
    fn wants_read(&self) -> bool;

    /// Whether the machine will never transmit again once `poll_transmit` has been drained.
    /// A driver then shuts down the transport's write half (TCP FIN).
    fn is_transmit_closed(&self) -> bool;

    /// Whether the machine is done both ways: the driver may drop the transport.
    fn is_finished(&self) -> bool;
}
