//! [`WebSocket`] and its halves: messages in and out of a connection a driver runs.

use std::future::poll_fn;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_core::Stream;
use futures_sink::Sink;
use wirestate_core::ws::{CloseCode, Command, Message};

use super::error::Ending;
use super::inbox::Inbox;
use super::outbox::Outbox;
use super::reception::{Piece, Reception};
use super::relay::relay;
use super::{Error, WsConnection};

/// The shared connection. Dropping the last half without closing starts the closing
/// handshake with 1001 (going away), which the driver completes on its own.
#[derive(Debug)]
struct Shared {
    conn: WsConnection,
}

impl Drop for Shared {
    fn drop(&mut self) {
        let _ = self.conn.command(Command::Close {
            code: CloseCode::GOING_AWAY,
            reason: String::new(),
        });
    }
}

/// An open WebSocket connection, on any runtime: the driver that moves its bytes was
/// spawned by [`connect`](super::smol::connect) or [`accept`](super::smol::accept) (or
/// their tokio and blocking twins).
///
/// - Receive with [`recv`](WebSocket::recv) or as a [`Stream`] of `Result<Message, Error>`.
///   Pings are answered and the peer's close is echoed by the connection itself; the
///   stream ends after a clean closing handshake and yields [`Error::Closed`] once for any
///   other end. Receiving is cancel-safe: a dropped `recv` future loses no message.
/// - Send with [`send`](WebSocket::send) or as a [`Sink`] of [`Message`]s. Sending waits
///   while more than the high-water mark is queued unsent (outgoing backpressure).
/// - [`close`](WebSocket::close) runs the closing handshake to its end or to the
///   configured close timeout.
/// - [`split`](WebSocket::split) gives a [`ReadHalf`] and a [`WriteHalf`] for two tasks.
///
/// # No lock on the data path
///
/// The halves do not share the machine's lock with each other or with the driver for
/// messages: the write half queues messages in a lock-free queue that the driver drains
/// into the machine each round, and the driver moves received messages into another one
/// that the read half takes from. Receiving a message that has arrived, and sending below
/// the high-water mark, take no lock; a half that must wait parks its waker in a lock-free
/// slot, and wakes of the driver take a small mutex that holds only its waker, once per
/// driver round. Closing, pings, [`connection`](WebSocket::connection), TLS errors and the
/// end of the connection go through the connection's lock, as they are rare.
///
/// A message sent while the connection is closing on its own (the peer's close frame, a
/// fault or a timeout arrived meanwhile) may be dropped without an error; the next send
/// reports [`Error::AlreadyClosed`]. Messages sent before [`close`](WebSocket::close) are
/// always sent before the close frame.
#[derive(Debug)]
pub struct WebSocket {
    reader: ReadHalf,
    writer: WriteHalf,
}

impl WebSocket {
    /// Wraps an open connection.
    pub(crate) fn new(
        conn: WsConnection,
        subprotocol: Option<String>,
        send_high_water: usize,
    ) -> WebSocket {
        let (relay, inbox, outbox) = relay(send_high_water);
        conn.set_relay(Box::new(relay));
        let shared = Arc::new(Shared { conn });
        WebSocket {
            reader: ReadHalf {
                shared: Arc::clone(&shared),
                inbox,
                reception: Reception::new(subprotocol),
            },
            writer: WriteHalf {
                shared,
                outbox,
                close_sent: false,
            },
        }
    }

    /// The next message; `Ok(None)` once the connection ended cleanly.
    pub async fn recv(&mut self) -> Result<Option<Message>, Error> {
        self.reader.recv().await
    }

    /// The next message or piece of one (streaming delivery, see
    /// [`ReadHalf::recv_piece`]).
    pub async fn recv_piece(&mut self) -> Result<Option<(Message, Piece)>, Error> {
        self.reader.recv_piece().await
    }

    /// Sends a message once the send queue is below its high-water mark.
    pub async fn send(&mut self, message: impl Into<Message>) -> Result<(), Error> {
        self.writer.send(message).await
    }

    /// Sends a ping (at most 125 bytes).
    pub fn ping(&mut self, payload: impl Into<bytes::Bytes>) -> Result<(), Error> {
        self.writer.ping(payload)
    }

    /// Waits until every queued frame was handed to the transport.
    pub async fn flush(&mut self) -> Result<(), Error> {
        self.writer.flush().await
    }

    /// Closes with `code` and `reason` (unless the connection is closing or over already)
    /// and waits for the end, discarding messages that still arrive, until the driver has
    /// written everything and let go of the transport. `Ok` after a completed closing
    /// handshake; [`Error::Closed`] with the reason otherwise (for example the close
    /// timeout). Also the way to wait for the end after `recv` reported it.
    pub async fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), Error> {
        self.writer.start_close(code, reason)?;
        let drained = async {
            while self.reader.recv_piece().await?.is_some() {}
            Ok(())
        }
        .await;
        poll_fn(|cx| self.writer.poll_done(cx)).await?;
        drained
    }

    /// The subprotocol both ends agreed on.
    pub fn subprotocol(&self) -> Option<&str> {
        self.reader.subprotocol()
    }

    /// The peer's close frame, once it arrived: its code (`None` for an empty close
    /// frame) and reason.
    pub fn peer_close(&self) -> Option<(Option<CloseCode>, &str)> {
        self.reader.peer_close()
    }

    /// Whether permessage-deflate is in use on this connection.
    #[cfg(feature = "deflate")]
    pub fn is_compressed(&self) -> bool {
        self.connection()
            .with(|machine| machine.deflate().is_some())
    }

    /// The connection handle underneath, for what this type does not cover. Its events go
    /// to this socket's read half: take them from there, not from the handle.
    pub fn connection(&self) -> &WsConnection {
        &self.reader.shared.conn
    }

    /// Both halves, borrowed.
    pub fn halves_mut(&mut self) -> (&mut ReadHalf, &mut WriteHalf) {
        (&mut self.reader, &mut self.writer)
    }

    /// Splits into a read half and a write half that can move to different tasks.
    pub fn split(self) -> (ReadHalf, WriteHalf) {
        (self.reader, self.writer)
    }
}

impl Stream for WebSocket {
    type Item = Result<Message, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Pin::new(&mut self.get_mut().reader).poll_next(cx)
    }
}

impl Sink<Message> for WebSocket {
    type Error = Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.get_mut().writer.poll_ready(cx)
    }

    fn start_send(self: Pin<&mut Self>, message: Message) -> Result<(), Error> {
        self.get_mut().writer.start_send(message)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.get_mut().writer.poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        Pin::new(&mut self.get_mut().writer).poll_close(cx)
    }
}

/// The receiving half of a [`WebSocket`]: a [`Stream`] of messages.
#[derive(Debug)]
pub struct ReadHalf {
    shared: Arc<Shared>,
    /// Events the driver moved out of the machine.
    inbox: Inbox,
    reception: Reception,
}

impl ReadHalf {
    /// The next message; `Ok(None)` once the connection ended cleanly (and after any end
    /// was reported). Cancel-safe.
    pub async fn recv(&mut self) -> Result<Option<Message>, Error> {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// Polls for the next message (see [`recv`](ReadHalf::recv)).
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Result<Option<Message>, Error>> {
        self.poll_recv_piece(cx)
            .map(|received| self.reception.whole(received))
    }

    /// The next message, or piece of one when streaming delivery is on
    /// ([`Config::piece_size`](wirestate_core::ws::Config::piece_size)): a message that
    /// grew past the piece size arrives as pieces (`Piece::First`/`Middle`... ending with
    /// `Piece::Last`), any other whole (`Piece::Whole`). Cancel-safe.
    pub async fn recv_piece(&mut self) -> Result<Option<(Message, Piece)>, Error> {
        poll_fn(|cx| self.poll_recv_piece(cx)).await
    }

    /// Polls for the next message or piece (see [`recv_piece`](ReadHalf::recv_piece)).
    pub fn poll_recv_piece(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Result<Option<(Message, Piece)>, Error>> {
        if let Some(received) = self.reception.before_events() {
            return Poll::Ready(received);
        }
        loop {
            let event = match self.inbox.poll_next(cx, &self.shared.conn) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(event)) => Some(event),
                // The driver stopped: what the machine still holds is fetched under the
                // lock, as the driver no longer moves it.
                Poll::Ready(None) => {
                    self.shared.conn.sync_relay();
                    match self.inbox.poll_next(cx, &self.shared.conn) {
                        Poll::Ready(Some(event)) => Some(event),
                        _ => None,
                    }
                }
            };
            if let Some(received) = self
                .reception
                .on_event(event, || Ending::of(&self.shared.conn))
            {
                return Poll::Ready(received);
            }
        }
    }

    /// The subprotocol both ends agreed on.
    pub fn subprotocol(&self) -> Option<&str> {
        self.reception.subprotocol()
    }

    /// The peer's close frame, once it arrived.
    pub fn peer_close(&self) -> Option<(Option<CloseCode>, &str)> {
        self.reception.peer_close()
    }
}

impl Stream for ReadHalf {
    type Item = Result<Message, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_recv(cx).map(Result::transpose)
    }
}

/// The sending half of a [`WebSocket`]: a [`Sink`] of messages.
#[derive(Debug)]
pub struct WriteHalf {
    shared: Arc<Shared>,
    /// Messages on their way to the driver.
    outbox: Outbox,
    /// This half sent the close frame (as a sink being closed, or by `close`).
    close_sent: bool,
}

impl WriteHalf {
    /// Sends a message once the send queue is below its high-water mark.
    pub async fn send(&mut self, message: impl Into<Message>) -> Result<(), Error> {
        poll_fn(|cx| self.poll_ready(cx)).await?;
        self.start_send(message.into())
    }

    /// Sends a ping (at most 125 bytes).
    pub fn ping(&mut self, payload: impl Into<bytes::Bytes>) -> Result<(), Error> {
        self.command(Command::Ping(payload.into()))
    }

    /// Waits until every queued frame was handed to the transport.
    pub async fn flush(&mut self) -> Result<(), Error> {
        poll_fn(|cx| self.poll_flush(cx)).await
    }

    /// Starts the closing handshake with `code` and `reason` and waits until the driver is
    /// done: the handshake completed or timed out (the read half, if still polled, sees
    /// how it ended).
    pub async fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), Error> {
        self.start_close(code, reason)?;
        poll_fn(|cx| self.poll_done(cx)).await
    }

    /// Ready once the send queue is below its high-water mark (queued and unsent bytes
    /// together), or the connection is closing (sending then reports it);
    /// [`Error::AlreadyClosed`] once the driver has stopped. Takes no lock.
    pub fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.outbox.poll_ready(cx)
    }

    /// Queues a message without waiting (after [`poll_ready`](WriteHalf::poll_ready)):
    /// [`Error::AlreadyClosed`] once the closing handshake started. Takes no lock, unless
    /// the queue is full (`poll_ready` was skipped): then the message goes to the
    /// connection directly, still in order.
    pub fn start_send(&mut self, message: Message) -> Result<(), Error> {
        self.outbox.push(message, &self.shared.conn)
    }

    /// Ready once every queued frame was handed to the transport; [`Error::AlreadyClosed`]
    /// if the driver stopped first. Takes no lock.
    pub fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.outbox.poll_flush(cx)
    }

    /// Starts the closing handshake, unless it has started already.
    fn start_close(&mut self, code: CloseCode, reason: &str) -> Result<(), Error> {
        let close = Command::Close {
            code,
            reason: reason.to_string(),
        };
        match self.command(close) {
            Ok(()) | Err(Error::AlreadyClosed) => {
                self.close_sent = true;
                Ok(())
            }
            Err(error) => Err(error),
        }
    }

    /// Ready once the driver has stopped: `Ok` unless the transport failed.
    fn poll_done(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        match self.shared.conn.poll_watch(cx, |_| false) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(_) => Poll::Ready(match self.shared.conn.driver_result() {
                Some(Err(error)) => Err(Error::Io(error)),
                _ => Ok(()),
            }),
        }
    }

    fn command(&self, command: Command) -> Result<(), Error> {
        self.shared.conn.command(command).map_err(Error::from_usage)
    }
}

impl Sink<Message> for WriteHalf {
    type Error = Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.get_mut().poll_ready(cx)
    }

    fn start_send(self: Pin<&mut Self>, message: Message) -> Result<(), Error> {
        self.get_mut().start_send(message)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.get_mut().poll_flush(cx)
    }

    /// Sends a normal close (1000) once, then waits until the driver is done.
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let this = self.get_mut();
        if !this.close_sent {
            this.start_close(CloseCode::NORMAL, "")?;
        }
        this.poll_done(cx)
    }
}
