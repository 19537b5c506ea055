//! [`InlineWebSocket`]: a WebSocket whose driver runs inside the task that uses it.

use std::fmt;
use std::future::poll_fn;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use futures_core::Stream;
use futures_sink::Sink;

use wirestate_core::ws::{CloseCode, Command, Event, Message, Owned};
use wirestate_core::{Instant, Machine};

use super::error::Ending;
use super::handshake::Policy;
use super::reception::{Piece, Reception};
use super::{Error, WsMachine};
use crate::driver::{Inline, ROUNDS_PER_POLL, Step};

/// Reads a `recv` makes past the first while each fills the driver's buffer (at most
/// 64 KiB each): a pipelined batch of up to half a megabyte is read before it is answered.
const READ_AHEAD: usize = 8;

/// What the send paths return inside: an error behind a pointer, so that a result fits two
/// registers. Moving the 48-byte `Result<(), Error>` between frames cost the echo loop
/// stalled stack copies (loads spanning the narrower stores that wrote it).
type Fallible<T> = Result<T, Box<Error>>;

/// The driver, boxed so that one socket type serves every runtime and transport.
type BoxedDriver = Box<dyn Inline<WsMachine>>;

/// A WebSocket connection driven by the task that uses it, as tokio-tungstenite's and
/// fastwebsockets' are: no spawned driver, no queues between tasks and no lock (the socket
/// owns its machine), so each message costs one task wake-up instead of two. Made by
/// `accept_inline` and `connect_inline` on
/// [`smol`](super::smol::accept_inline) and [`tokio`](super::tokio::accept_inline).
///
/// The price is the one those crates pay: **the connection makes progress only while one
/// of its methods is being polled.** Pings are answered, the peer's close is echoed and
/// timers fire while [`recv`](InlineWebSocket::recv) (or `send`, `flush`, `close`)
/// runs; a task that stops receiving for a long time stalls its peer's pings. Use
/// [`WebSocket`](super::WebSocket) when reading and writing happen in different tasks or
/// the connection must be served while the application is busy elsewhere.
///
/// - [`recv`](InlineWebSocket::recv) writes what was sent before it waits for input.
/// - [`send`](InlineWebSocket::send) writes at once, unless received messages are already
///   waiting: then the write is left to the next `recv` (which comes for them), so that a
///   pipelined echo answers a batch in one write. It waits while more than the send
///   high-water mark is unwritten.
/// - [`close`](InlineWebSocket::close) runs the closing handshake to its end. Dropping the
///   socket instead sends a close (1001, going away) as far as the transport takes it at
///   once, and drops the connection.
///
/// It is also a [`Stream`] of messages and a [`Sink`] of them, as `WebSocket` is. Receiving
/// is cancel-safe, as on [`WebSocket`](super::WebSocket).
#[repr(C)] // the fields every receive and send touches first: fewer cache lines per message
pub struct InlineWebSocket {
    /// A whole message the last read took straight out of its bytes (see
    /// [`take_whole`]): it comes before the machine's events.
    arrived: Option<Message>,
    driver: BoxedDriver,
    /// The latest time the machine was given since this task last found nothing to do:
    /// sends reuse it instead of reading the clock (a pipelined batch would read it once
    /// per message). A send starts no timer, so a time a few microseconds old costs
    /// nothing; it never goes back, as every newer reading replaces it.
    wake_now: Option<Instant>,
    /// The driver stopped: nothing more is read or written.
    driver_done: bool,
    /// The protocol machine: commands and events are plain calls on it, and each driver
    /// step borrows it.
    machine: WsMachine,
    reception: Reception,
    send_high_water: usize,
}

impl fmt::Debug for InlineWebSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InlineWebSocket")
            .field("machine", &self.machine)
            .field("driver_done", &self.driver_done)
            .field("reception", &self.reception)
            .finish_non_exhaustive()
    }
}

impl InlineWebSocket {
    /// Drives the handshake of `machine` with `driver` until the connection opens,
    /// answering a server's upgrade request with `policy`.
    pub(crate) async fn open(
        machine: WsMachine,
        driver: BoxedDriver,
        send_high_water: usize,
        policy: impl Policy,
    ) -> Result<InlineWebSocket, Error> {
        let mut socket = InlineWebSocket {
            machine,
            arrived: None,
            driver,
            driver_done: false,
            wake_now: None,
            reception: Reception::new(None),
            send_high_water,
        };
        let mut policy = Some(policy);
        loop {
            match poll_fn(|cx| socket.poll_event(cx)).await {
                Some(Event::UpgradeRequest(request)) => {
                    let decide = policy.take().expect("one upgrade request per connection");
                    let command = match decide(&request) {
                        Ok(accept) => Command::Accept(accept),
                        Err(reject) => Command::Reject(reject),
                    };
                    socket.command(command).map_err(|error| *error)?;
                }
                Some(Event::Open { subprotocol }) => {
                    socket.reception = Reception::new(subprotocol);
                    return Ok(socket);
                }
                Some(Event::Closed(reason)) => {
                    // Let a rejection's response go out before the transport is dropped.
                    poll_fn(|cx| socket.poll_driver_done(cx)).await;
                    return Err(Error::ended(socket.ending(), reason)
                        .unwrap_or_else(Error::from_handshake_end));
                }
                Some(_) => {}
                None => return Err(Error::stopped(socket.ending())),
            }
        }
    }

    /// The next message; `Ok(None)` once the connection ended cleanly (and after any end
    /// was reported). Cancel-safe.
    pub async fn recv(&mut self) -> Result<Option<Message>, Error> {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// Polls for the next message (see [`recv`](InlineWebSocket::recv)).
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Result<Option<Message>, Error>> {
        self.poll_recv_piece(cx)
            .map(|received| self.reception.whole(received))
    }

    /// The next message, or piece of one when streaming delivery is on (see
    /// [`ReadHalf::recv_piece`](super::ReadHalf::recv_piece)). Cancel-safe.
    pub async fn recv_piece(&mut self) -> Result<Option<(Message, Piece)>, Error> {
        poll_fn(|cx| self.poll_recv_piece(cx)).await
    }

    /// Polls for the next message or piece (see [`recv_piece`](InlineWebSocket::recv_piece)).
    pub fn poll_recv_piece(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Result<Option<(Message, Piece)>, Error>> {
        if let Some(received) = self.reception.before_events() {
            return Poll::Ready(received);
        }
        loop {
            let event = std::task::ready!(self.poll_event(cx));
            let (machine, driver) = (&self.machine, &self.driver);
            let ending = || Ending::new(machine, driver.outcome());
            if let Some(received) = self.reception.on_event(event, ending) {
                return Poll::Ready(received);
            }
        }
    }

    /// Sends a message: queues it, writes it unless received messages wait (see the type's
    /// docs), and waits while more than the send high-water mark is unwritten.
    pub async fn send(&mut self, message: impl Into<Message>) -> Result<(), Error> {
        let events_wait = self
            .command(Command::Send(message.into()))
            .map_err(|error| *error)?;
        if events_wait {
            return Ok(()); // the next recv writes it, before it waits for input
        }
        poll_fn(|cx| self.poll_sent(cx))
            .await
            .map_err(|error| *error)
    }

    /// Sends a ping (at most 125 bytes); it is written with the next write.
    pub fn ping(&mut self, payload: impl Into<bytes::Bytes>) -> Result<(), Error> {
        self.command(Command::Ping(payload.into()))
            .map(drop)
            .map_err(|error| *error)
    }

    /// Writes everything queued to the transport.
    pub async fn flush(&mut self) -> Result<(), Error> {
        poll_fn(|cx| self.poll_flush(cx)).await
    }

    /// Polls until everything queued was written and flushed (see
    /// [`flush`](InlineWebSocket::flush)).
    pub fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.poll_written(cx, 0).map_err(|error| *error)
    }

    /// Closes with `code` and `reason` (unless the connection is closing or over already)
    /// and drives the closing handshake to its end, discarding messages that still arrive:
    /// `Ok` after a completed handshake, [`Error::Closed`] with the reason otherwise. Also
    /// the way to finish after `recv` reported the end.
    pub async fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), Error> {
        self.start_close(code, reason)?;
        let drained = async {
            while self.recv_piece().await?.is_some() {}
            Ok(())
        }
        .await;
        poll_fn(|cx| self.poll_driver_done(cx)).await;
        self.driver_outcome().and(drained)
    }

    /// The subprotocol both ends agreed on.
    pub fn subprotocol(&self) -> Option<&str> {
        self.reception.subprotocol()
    }

    /// The peer's close frame, once it arrived: its code (`None` for an empty close
    /// frame) and reason.
    pub fn peer_close(&self) -> Option<(Option<CloseCode>, &str)> {
        self.reception.peer_close()
    }

    /// The machine underneath, for what this type does not cover: the core connection's
    /// getters through `Deref` (`buffered_amount`, `role`, with the `deflate` feature
    /// `deflate`) and, with the `tls` feature, the TLS session (`tls_layer`).
    pub fn machine(&self) -> &WsMachine {
        &self.machine
    }

    /// What explains the connection's end: its TLS failure, how the driver stopped.
    fn ending(&self) -> Ending {
        Ending::new(&self.machine, self.driver.outcome())
    }

    /// Starts the closing handshake, unless it has started already.
    fn start_close(&mut self, code: CloseCode, reason: &str) -> Result<(), Error> {
        let close = Command::Close {
            code,
            reason: reason.to_string(),
        };
        match self.command(close) {
            Ok(_) => Ok(()),
            Err(error) => match *error {
                Error::AlreadyClosed => Ok(()),
                error => Err(error),
            },
        }
    }

    /// How the driver ended: `Err` if the transport failed.
    fn driver_outcome(&self) -> Result<(), Error> {
        match self.driver.outcome() {
            Some(Err(error)) => Err(Error::Io(error)),
            _ => Ok(()),
        }
    }

    /// Applies `command` to the machine; returns whether events wait for the application.
    fn command(&mut self, command: Command) -> Fallible<bool> {
        if self.driver_done {
            return Err(Box::new(Error::AlreadyClosed));
        }
        let now = match (&command, self.wake_now) {
            (Command::Send(_), Some(now)) => now,
            _ => *self.wake_now.insert(self.driver.now()),
        };
        let machine = &mut self.machine;
        machine
            .command(now, command)
            .map_err(|error| Box::new(Error::from_usage(error)))?;
        Ok(self.has_events())
    }

    /// Whether received messages or other events wait for the application.
    fn has_events(&self) -> bool {
        self.arrived.is_some() || self.machine.has_events()
    }

    /// The next event, driving the connection while there is none: `Ready(None)` once the
    /// driver stopped and no event is left. The machine is asked for an event only when the
    /// application wants one: a look into its empty queue is the application coming back
    /// for more, which releases a close it held back until the application had answered
    /// what came before (a peer's fault after a message: the echo goes out first).
    fn poll_event(&mut self, cx: &mut Context<'_>) -> Poll<Option<Event>> {
        for _ in 0..ROUNDS_PER_POLL {
            if let Some(message) = self.arrived.take() {
                return Poll::Ready(Some(Event::Message(message)));
            }
            if let Some(event) = self.machine.poll_event() {
                if matches!(event, Event::Closed(_)) {
                    // The end may have queued a close frame (a fault this very look released):
                    // write it now, as a round would, not whenever the socket is next used.
                    self.step_while_progress(cx, false);
                }
                return Poll::Ready(Some(event));
            }
            if self.driver_done {
                return Poll::Ready(None); // what the machine held was all there is
            }
            let mut step = self.step(cx, true);
            // A read that filled its buffer left more of a pipelining peer's batch in the
            // transport: read that too (a bounded amount), so that the sends answering the
            // whole batch wait for one write.
            for _ in 0..READ_AHEAD {
                if step != Step::Progress || !self.driver.input_likely() {
                    break;
                }
                step = self.step(cx, true);
            }
            // Idle means no read came back, but an earlier step of the read-ahead may have
            // queued messages: those are the caller's now.
            if step == Step::Idle && !self.has_events() {
                return Poll::Pending;
            }
        }
        yield_now(cx)
    }

    /// Runs rounds (reading only if `read`) as long as they make progress, a poll's worth
    /// at most: what the transport takes now goes out, without waiting.
    fn step_while_progress(&mut self, cx: &mut Context<'_>, read: bool) {
        for _ in 0..ROUNDS_PER_POLL {
            if self.step(cx, read) != Step::Progress {
                break;
            }
        }
    }

    /// Writes what was queued as far as the transport takes it now, then waits while more
    /// than the high-water mark is unwritten.
    fn poll_sent(&mut self, cx: &mut Context<'_>) -> Poll<Fallible<()>> {
        // Write what the transport takes now, without reading: what arrives is the next
        // `recv`'s to read (or the wait's below), and a read now would mostly find nothing.
        for _ in 0..ROUNDS_PER_POLL {
            if self.step(cx, false) != Step::Progress {
                break;
            }
            if let Some(outcome) = self.written(0) {
                return Poll::Ready(outcome);
            }
        }
        self.poll_written(cx, self.send_high_water)
    }

    /// Drives the connection while more than `limit` bytes wait to be written: in the
    /// machine, or taken by the driver and not yet written and flushed.
    fn poll_written(&mut self, cx: &mut Context<'_>, limit: usize) -> Poll<Fallible<()>> {
        for _ in 0..ROUNDS_PER_POLL {
            if let Some(outcome) = self.written(limit) {
                return Poll::Ready(outcome);
            }
            if self.step(cx, true) == Step::Idle {
                return Poll::Pending;
            }
        }
        yield_now(cx)
    }

    /// `Some` once at most `limit` bytes wait to be written, or the driver has stopped
    /// (an error if it failed, or if bytes were left unsent).
    fn written(&self, limit: usize) -> Option<Fallible<()>> {
        let machine_buffered = self.machine.buffered_amount();
        if self.driver_done {
            return Some(match self.driver_outcome() {
                Ok(()) if machine_buffered > 0 => Err(Box::new(Error::AlreadyClosed)),
                outcome => outcome.map_err(Box::new),
            });
        }
        (machine_buffered + self.driver.unwritten() <= limit).then_some(Ok(()))
    }

    /// Runs one driver round (reading only if `read`), unless the driver has stopped.
    fn step(&mut self, cx: &mut Context<'_>, read: bool) -> Step {
        if self.driver_done {
            return Step::Stopped;
        }
        let feed = &mut take_whole(&mut self.arrived);
        let step = self.driver.step(&mut self.machine, cx, read, feed);
        self.driver_done = step == Step::Stopped;
        match step {
            Step::Idle => self.wake_now = None, // the task is about to wait: time will pass
            _ => self.wake_now = self.driver.step_now().or(self.wake_now),
        }
        step
    }

    /// Drives the connection until the driver has stopped.
    fn poll_driver_done(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        for _ in 0..ROUNDS_PER_POLL {
            match self.step(cx, true) {
                Step::Stopped => return Poll::Ready(()),
                Step::Idle => return Poll::Pending,
                Step::Progress => {}
            }
        }
        yield_now(cx)
    }
}

/// How a round feeds what it read: while `arrived` is free, a whole message at the start of
/// the bytes goes straight into it, as
/// [`Connection::read_owned`](wirestate_core::ws::Connection::read_owned) allows, instead
/// of through the machine's event queue (queueing it only for `recv` to take it back at
/// once was 7% of a small echo's instructions). The rest goes through `handle_input`, its
/// events queued behind that message. Under TLS the bytes are the session's, so all of
/// them go through `handle_input`.
fn take_whole(
    arrived: &mut Option<Message>,
) -> impl FnMut(&mut WsMachine, Instant, &[u8]) -> usize + '_ {
    move |machine, now, data| {
        let plain = match machine.plain_mut() {
            Some(plain) if arrived.is_none() => plain,
            _ => return machine.handle_input(now, data),
        };
        match plain.read_owned(now, data) {
            Owned::Message { consumed, message } => {
                *arrived = Some(message);
                match consumed < data.len() {
                    true => consumed + machine.handle_input(now, &data[consumed..]),
                    false => consumed,
                }
            }
            Owned::Fed(accepted) => accepted,
        }
    }
}

/// Gives the runtime back to other tasks after a poll's worth of rounds, asking to be
/// polled again at once, so that a connection that always has work cannot starve them.
fn yield_now<T>(cx: &mut Context<'_>) -> Poll<T> {
    cx.waker().wake_by_ref();
    Poll::Pending
}

impl Stream for InlineWebSocket {
    type Item = Result<Message, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_recv(cx).map(Result::transpose)
    }
}

/// A sink that writes only when flushed (or when more than the high-water mark waits):
/// `feed` several messages, then flush once to write them together.
impl Sink<Message> for InlineWebSocket {
    type Error = Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let this = self.get_mut();
        let limit = this.send_high_water;
        this.poll_written(cx, limit).map_err(|error| *error)
    }

    fn start_send(self: Pin<&mut Self>, message: Message) -> Result<(), Error> {
        self.get_mut()
            .command(Command::Send(message))
            .map(drop)
            .map_err(|error| *error)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.get_mut().poll_flush(cx)
    }

    /// Sends a normal close (1000) and drives the closing handshake to its end.
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let this = self.get_mut();
        this.start_close(CloseCode::NORMAL, "")?;
        // Messages that still arrive are dropped, as `close` does.
        while let Poll::Ready(Ok(Some(_))) = this.poll_recv_piece(cx) {}
        std::task::ready!(this.poll_driver_done(cx));
        Poll::Ready(this.driver_outcome())
    }
}

impl Drop for InlineWebSocket {
    /// Sends a close (1001) as far as the transport takes it now, without waiting.
    fn drop(&mut self) {
        if self.driver_done {
            return;
        }
        let _ = self.command(Command::Close {
            code: CloseCode::GOING_AWAY,
            reason: String::new(),
        });
        self.step_while_progress(&mut Context::from_waker(Waker::noop()), true);
    }
}
