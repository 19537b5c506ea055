//! [`RSocket`]: the requester API and the task that answers the peer's requests, on any
//! runtime that can spawn a future.
//!
//! Inbound stream events reach their readers through the relay (see `relay.rs`) in the
//! driver's own round; the routing task here only sees what needs application code.

use std::future::poll_fn;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_core::Stream;
use wirestate_core::Machine;
use wirestate_core::rsocket::conn::{
    CloseReason, Command, Demand, Event, Interaction, Request, StreamId,
};
use wirestate_core::rsocket::{ErrorCode, Payload};

use super::inbox::{Batch, Inbox};
use super::relay::RSocketRelay;
use super::responder::{BoxFuture, Responder};
use super::routes::{self, Routes};
use super::{Error, PayloadStream, RSocketConnection, ResponderError};

/// Items a sending task lets the connection hold for credit before it waits.
const HELD_HIGH_WATER: usize = 64;

/// Starts futures on a runtime.
pub(crate) trait Spawn: Send + Sync + 'static {
    fn spawn(&self, future: BoxFuture<()>);
}

struct Shared {
    conn: RSocketConnection,
    /// Filled by the relay under the connection's lock; see `routes::lock` for the order.
    routes: Arc<Mutex<Routes>>,
    /// What the relay hands the router.
    inbox: Arc<Inbox>,
    /// The credit a channel responder grants at first (fixed by the config).
    channel_window: u32,
    spawn: Box<dyn Spawn>,
}

/// An RSocket connection, as requester (the methods here) and responder (the
/// [`Responder`] it was started with). Clones share the connection. A client's closes
/// gracefully when the application's last clone is dropped; a server's lives on while the
/// client is connected. [`close`](RSocket::close) closes either.
#[derive(Clone)]
pub struct RSocket {
    shared: Arc<Shared>,
    /// Held by the application's clones only (not by the routing and sending tasks): the
    /// last one to go closes the connection.
    _user: Option<Arc<UserHandle>>,
}

/// Closes the connection when the application lets go of it.
struct UserHandle(std::sync::Weak<Shared>);

impl Drop for UserHandle {
    fn drop(&mut self) {
        if let Some(shared) = self.0.upgrade() {
            let _ = shared.conn.command(Command::Close);
        }
    }
}

impl std::fmt::Debug for RSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RSocket").finish_non_exhaustive()
    }
}

impl RSocket {
    /// Starts routing on `conn` (whose driver runs already) with `responder`: installs the
    /// relay, which takes every event from now on, and spawns the router.
    pub(crate) fn start(
        conn: RSocketConnection,
        responder: Arc<dyn Responder>,
        spawn: Box<dyn Spawn>,
    ) -> RSocket {
        // Channel credit is granted as the application reads (PayloadStream), not as the
        // relay takes events.
        let (is_client, channel_window) = conn.with(|m| {
            m.set_channel_refill(false);
            let client = m.role() == wirestate_core::rsocket::conn::Role::Client;
            (client, m.channel_window())
        });
        let routes = Arc::new(Mutex::default());
        let inbox = Arc::new(Inbox::default());
        let relay = RSocketRelay::new(Arc::clone(&routes), Arc::clone(&inbox));
        conn.set_relay(Box::new(relay));
        let shared = Arc::new(Shared {
            conn,
            routes,
            inbox,
            channel_window,
            spawn,
        });
        let socket = RSocket {
            _user: is_client.then(|| Arc::new(UserHandle(Arc::downgrade(&shared)))),
            shared,
        };
        let router = socket.internal();
        socket.spawn(async move { router.route(responder).await });
        socket
    }

    /// A clone for the library's own tasks: it does not keep the connection open.
    fn internal(&self) -> RSocket {
        RSocket {
            shared: Arc::clone(&self.shared),
            _user: None,
        }
    }

    fn spawn(&self, future: impl std::future::Future<Output = ()> + Send + 'static) {
        self.shared.spawn.spawn(Box::pin(future));
    }

    /// The routes, locked: never take the connection's lock while holding them.
    pub(super) fn routes(&self) -> MutexGuard<'_, Routes> {
        routes::lock(&self.shared.routes)
    }

    /// The connection handle underneath. Its events are the relay's: do not consume them
    /// with `poll_event` or `next_event`.
    pub fn connection(&self) -> &RSocketConnection {
        &self.shared.conn
    }

    pub(super) fn command(&self, command: Command) -> Result<Option<StreamId>, Error> {
        self.shared.conn.command(command).map_err(Error::Usage)
    }

    /// Waits until requests can be made: a server's connection opens once the client's
    /// SETUP is accepted. Once it did, a flag says so without the connection's lock.
    async fn established(&self) {
        if self.shared.inbox.is_established() {
            return;
        }
        poll_fn(|cx| {
            self.shared
                .conn
                .poll_watch(cx, |m| m.is_open() || m.is_closed())
        })
        .await;
    }

    /// Opens a request with a slot for its inbound side, registered under the connection's
    /// lock (before the relay can route any event for it; same lock order as the relay).
    async fn open(&self, request: Request) -> Result<StreamId, Error> {
        self.established().await;
        let now = self.shared.conn.now();
        let routes = &self.shared.routes;
        self.shared
            .conn
            .with(|m| {
                let stream = m.command(now, Command::Request(request))?;
                let stream = stream.expect("a stream id");
                routes::lock(routes).open(stream);
                Ok(stream)
            })
            .map_err(Error::Usage)
    }

    /// Fire-and-forget: done once the request is handed to the connection.
    pub async fn fire_and_forget(&self, payload: Payload) -> Result<(), Error> {
        self.established().await;
        self.command(Command::Request(Request::FireAndForget(payload)))
            .map(drop)
    }

    /// Connection metadata to the peer.
    pub async fn metadata_push(&self, metadata: Bytes) -> Result<(), Error> {
        self.established().await;
        self.command(Command::MetadataPush(metadata)).map(drop)
    }

    /// Request-response.
    pub async fn request_response(&self, payload: Payload) -> Result<Payload, Error> {
        let stream = self.open(Request::Response(payload)).await?;
        let mut items = PayloadStream::new(self.internal(), stream, None, true);
        match poll_fn(|cx| Pin::new(&mut items).poll_next(cx)).await {
            Some(result) => result,
            None => Err(Error::Stream {
                code: ErrorCode::INVALID,
                message: "the response completed without a payload".into(),
            }),
        }
    }

    /// Request-stream: items arrive as the returned stream is read; credit follows
    /// consumption, keeping at most `window` items in flight (`MAX_REQUEST_N`: unbounded).
    pub async fn request_stream(
        &self,
        payload: Payload,
        window: u32,
    ) -> Result<PayloadStream, Error> {
        let window = window.max(1);
        let stream = self
            .open(Request::Stream {
                payload,
                demand: Demand::Manual(window),
            })
            .await?;
        Ok(PayloadStream::new(
            self.internal(),
            stream,
            Some(window),
            true,
        ))
    }

    /// Request-stream with explicit pacing: `initial` credit, then `every` more each time
    /// `every` items were read (rsocket-kotlin's `PrefetchStrategy`, or a reader that asks
    /// in batches).
    pub async fn request_stream_paced(
        &self,
        payload: Payload,
        initial: u32,
        every: u32,
    ) -> Result<PayloadStream, Error> {
        let mut items = self.request_stream(payload, initial).await?;
        items.refill = every.max(1);
        Ok(items)
    }

    /// Request-channel: `first`, then `outbound`'s items as the responder's credit allows;
    /// the responder's items come back in the returned stream, with credit as for
    /// [`request_stream`](RSocket::request_stream).
    pub async fn request_channel(
        &self,
        first: Payload,
        outbound: impl Stream<Item = Payload> + Send + 'static,
        window: u32,
    ) -> Result<PayloadStream, Error> {
        let window = window.max(1);
        let stream = self
            .open(Request::Channel {
                payload: first,
                demand: Demand::Manual(window),
                complete: false,
            })
            .await?;
        let sender = self.internal();
        let outbound = Box::pin(outbound);
        self.spawn(async move {
            let items = StreamMap(outbound);
            let _ = sender.send_all(stream, items).await;
        });
        Ok(PayloadStream::new(
            self.internal(),
            stream,
            Some(window),
            true,
        ))
    }

    /// Closes the connection gracefully (ERROR CONNECTION_CLOSE).
    pub fn close(&self) -> Result<(), Error> {
        self.command(Command::Close).map(drop)
    }

    /// Sends every item of `items` on `stream` as credit allows, then completes it (or
    /// fails it with the items' error). Stops early if the stream goes away.
    async fn send_all(
        &self,
        stream: StreamId,
        mut items: impl Stream<Item = Result<Payload, ResponderError>> + Unpin,
    ) -> Result<(), Error> {
        let conn = &self.shared.conn;
        // Whether the connection had room for another item at the last command.
        let mut room = true;
        while let Some(item) = poll_fn(|cx| Pin::new(&mut items).poll_next(cx)).await {
            // Let the connection hold a few items for credit, then wait for room.
            if !room {
                let watched = poll_fn(|cx| {
                    conn.poll_watch(cx, |m| {
                        !m.has_stream(stream) || m.held_items(stream) < HELD_HIGH_WATER
                    })
                })
                .await;
                if !watched {
                    return Ok(()); // the connection is over
                }
            }
            let command = match item {
                Ok(payload) => Command::Send {
                    stream,
                    payload,
                    complete: false,
                },
                Err(error) => Command::Error {
                    stream,
                    code: error.code,
                    message: error.message,
                },
            };
            let failed = matches!(command, Command::Error { .. });
            let now = conn.now();
            // One lock per item: whether the stream lives, the item, and the room after it.
            let sent = conn.with(|m| {
                if !m.has_stream(stream) {
                    return None;
                }
                let sent = m.command(now, command);
                Some(sent.map(|_| m.held_items(stream) < HELD_HIGH_WATER))
            });
            match sent {
                None => return Ok(()), // the stream is over
                Some(Ok(has_room)) => room = has_room,
                Some(Err(error)) => return Err(Error::Usage(error)),
            }
            if failed {
                return Ok(());
            }
        }
        let _ = self.command(Command::Complete { stream });
        Ok(())
    }

    /// The router: takes what the relay hands it (SETUP, the peer's requests, metadata
    /// push) in batches and answers each batch's ready answers under one lock. Once the
    /// driver stopped, fetches what the machine still holds, then ends every stream.
    async fn route(self, responder: Arc<dyn Responder>) {
        let inbox = Arc::clone(&self.shared.inbox);
        let mut answers = Vec::new();
        loop {
            let batch = match poll_fn(|cx| inbox.poll_take(cx)).await {
                Some(batch) => batch,
                None => {
                    self.shared.conn.sync_relay();
                    match inbox.take_now() {
                        Some(batch) => batch,
                        None => break,
                    }
                }
            };
            self.handle(batch, &responder, &mut answers);
        }
        let error = match self.shared.conn.driver_result() {
            Some(Err(error)) => Error::from_io(&error),
            _ => Error::closed(&self.shared.conn, CloseReason::TransportClosed),
        };
        self.routes().close(error);
    }

    /// Handles one batch from the inbox; `answers` is scratch space.
    fn handle(&self, batch: Batch, responder: &Arc<dyn Responder>, answers: &mut Vec<Command>) {
        if batch.wake_driver {
            self.shared.conn.wake_driver(); // it left events in the machine for want of room
        }
        for event in batch.events {
            match event {
                Event::Setup(_) => answers.push(Command::AcceptSetup),
                Event::Request {
                    stream,
                    interaction,
                    payload,
                } => {
                    if let Some(answer) = self.respond(responder, stream, interaction, payload) {
                        answers.push(answer);
                    }
                }
                Event::MetadataPush(metadata) => responder.metadata_push(metadata),
                _ => {} // the relay routes everything else itself
            }
        }
        if !answers.is_empty() {
            let now = self.shared.conn.now();
            self.shared.conn.with(|m| {
                for answer in answers.drain(..) {
                    let _ = m.command(now, answer); // the requester may have cancelled
                }
            });
        }
    }

    /// Starts answering a request; returns the answer if the handler had it at once.
    fn respond(
        &self,
        responder: &Arc<dyn Responder>,
        stream: StreamId,
        interaction: Interaction,
        payload: Payload,
    ) -> Option<Command> {
        let socket = self.internal();
        match interaction {
            Interaction::FireAndForget => {
                let mut done = responder.fire_and_forget(payload);
                if poll_now(&mut done).is_none() {
                    self.spawn(done);
                }
                None
            }
            Interaction::Response => {
                let answer_with = move |answer: Result<Payload, ResponderError>| match answer {
                    Ok(payload) => Command::Send {
                        stream,
                        payload,
                        complete: true,
                    },
                    Err(error) => Command::Error {
                        stream,
                        code: error.code,
                        message: error.message,
                    },
                };
                // A handler that answers at once is answered with the batch, without a task.
                let mut answer = responder.request_response(payload);
                match poll_now(&mut answer) {
                    Some(result) => Some(answer_with(result)),
                    None => {
                        self.spawn(async move {
                            let _ = socket.shared.conn.command(answer_with(answer.await));
                        });
                        None
                    }
                }
            }
            Interaction::Stream => {
                let items = responder.request_stream(payload);
                self.spawn(async move {
                    let _ = socket.send_all(stream, items).await;
                });
                None
            }
            Interaction::Channel { .. } => {
                // The relay opened the inbound slot (and ended it if the requester had
                // completed) before handing the request over.
                let window = Some(self.shared.channel_window);
                let inbound = PayloadStream::new(self.internal(), stream, window, false);
                let items = responder.request_channel(payload, inbound);
                self.spawn(async move {
                    let _ = socket.send_all(stream, items).await;
                });
                None
            }
        }
    }
}

/// Polls `future` once, with a waker that does nothing: its value if it is ready. A
/// future that is not ready is polled again by whoever takes it next, with a real waker.
fn poll_now<T>(future: &mut BoxFuture<T>) -> Option<T> {
    match future
        .as_mut()
        .poll(&mut Context::from_waker(std::task::Waker::noop()))
    {
        Poll::Ready(value) => Some(value),
        Poll::Pending => None,
    }
}

/// Turns a stream of payloads into a stream of `Ok` payloads.
struct StreamMap(Pin<Box<dyn Stream<Item = Payload> + Send>>);

impl Stream for StreamMap {
    type Item = Result<Payload, ResponderError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.0.as_mut().poll_next(cx).map(|item| item.map(Ok))
    }
}
