//! [`RSocket`]: the requester API and the task that routes the connection's events, on any
//! runtime that can spawn a future.

use std::future::poll_fn;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_core::Stream;
use wirestate_core::rsocket::conn::{
    CloseReason, Command, Demand, Event, Interaction, Request, StreamId,
};
use wirestate_core::rsocket::{ErrorCode, MAX_REQUEST_N, Payload};

use super::responder::{BoxFuture, Responder};
use super::routes::Routes;
use super::{Error, RSocketConnection, ResponderError};

/// Items a sending task lets the connection hold for credit before it waits.
const HELD_HIGH_WATER: usize = 64;

/// Starts futures on a runtime.
pub(crate) trait Spawn: Send + Sync + 'static {
    fn spawn(&self, future: BoxFuture<()>);
}

struct Shared {
    conn: RSocketConnection,
    routes: Mutex<Routes>,
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

fn conn_is_client(conn: &RSocketConnection) -> bool {
    conn.with(|m| m.role() == wirestate_core::rsocket::conn::Role::Client)
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
    /// Starts routing on `conn` (whose driver runs already) with `responder`.
    pub(crate) fn start(
        conn: RSocketConnection,
        responder: Arc<dyn Responder>,
        spawn: Box<dyn Spawn>,
    ) -> RSocket {
        // Channel credit is granted as the application reads (PayloadStream), not as the
        // router takes events.
        conn.with(|m| m.set_channel_refill(false));
        let shared = Arc::new(Shared {
            conn,
            routes: Mutex::default(),
            spawn,
        });
        let is_client = conn_is_client(&shared.conn);
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

    fn routes(&self) -> MutexGuard<'_, Routes> {
        self.shared
            .routes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The connection handle underneath.
    pub fn connection(&self) -> &RSocketConnection {
        &self.shared.conn
    }

    fn command(&self, command: Command) -> Result<Option<StreamId>, Error> {
        self.shared.conn.command(command).map_err(Error::Usage)
    }

    /// Waits until requests can be made: a server's connection opens once the client's
    /// SETUP is accepted.
    async fn established(&self) {
        poll_fn(|cx| {
            self.shared
                .conn
                .poll_watch(cx, |m| m.is_open() || m.is_closed())
        })
        .await;
    }

    /// Opens a request with a slot for its inbound side (registered before any event for
    /// it can be routed).
    async fn open(&self, request: Request) -> Result<StreamId, Error> {
        self.established().await;
        let mut routes = self.routes();
        let stream = self
            .command(Command::Request(request))?
            .expect("a stream id");
        routes.open(stream);
        Ok(stream)
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
        while let Some(item) = poll_fn(|cx| Pin::new(&mut items).poll_next(cx)).await {
            // Let the connection hold a few items for credit, then wait for room.
            let room = poll_fn(|cx| {
                self.shared.conn.poll_watch(cx, |m| {
                    !m.has_stream(stream) || m.held_items(stream) < HELD_HIGH_WATER
                })
            })
            .await;
            if !room || !self.shared.conn.with(|m| m.has_stream(stream)) {
                return Ok(()); // the stream (or the connection) is over
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
            self.command(command)?;
            if failed {
                return Ok(());
            }
        }
        let _ = self.command(Command::Complete { stream });
        Ok(())
    }

    /// The router: takes every event and sends it where it belongs; answers requests by
    /// spawning the responder's handlers.
    async fn route(self, responder: Arc<dyn Responder>) {
        while let Some(event) = self.shared.conn.next_event().await {
            match event {
                Event::Setup(_) => {
                    let _ = self.command(Command::AcceptSetup);
                }
                Event::Request {
                    stream,
                    interaction,
                    payload,
                } => self.respond(&responder, stream, interaction, payload),
                Event::Next { stream, payload } => self.routes().next(stream, payload),
                Event::Complete { stream } => self.routes().end(stream, Ok(())),
                Event::Error {
                    stream,
                    code,
                    message,
                } => self
                    .routes()
                    .end(stream, Err(Error::Stream { code, message })),
                Event::Cancelled { stream } => self.routes().end(stream, Ok(())),
                Event::MetadataPush(metadata) => responder.metadata_push(metadata),
                Event::Closed(reason) => {
                    let error = Error::closed(&self.shared.conn, reason);
                    self.routes().close(error);
                }
                _ => {} // leases, tolerated violations
            }
        }
        let error = match self.shared.conn.driver_result() {
            Some(Err(error)) => Error::from_io(&error),
            _ => Error::closed(&self.shared.conn, CloseReason::TransportClosed),
        };
        self.routes().close(error);
    }

    fn respond(
        &self,
        responder: &Arc<dyn Responder>,
        stream: StreamId,
        interaction: Interaction,
        payload: Payload,
    ) {
        let socket = self.internal();
        match interaction {
            Interaction::FireAndForget => {
                let mut done = responder.fire_and_forget(payload);
                if poll_now(&mut done).is_none() {
                    self.spawn(done);
                }
            }
            Interaction::Response => {
                let answer_with =
                    move |socket: &RSocket, answer: Result<Payload, ResponderError>| {
                        let command = match answer {
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
                        let _ = socket.command(command); // the requester may have cancelled
                    };
                // A handler that answers at once is answered here, without a task.
                let mut answer = responder.request_response(payload);
                match poll_now(&mut answer) {
                    Some(result) => answer_with(self, result),
                    None => self.spawn(async move { answer_with(&socket, answer.await) }),
                }
            }
            Interaction::Stream => {
                let items = responder.request_stream(payload);
                self.spawn(async move {
                    let _ = socket.send_all(stream, items).await;
                });
            }
            Interaction::Channel { complete } => {
                self.routes().open(stream);
                if complete {
                    self.routes().end(stream, Ok(()));
                }
                let window = self.shared.conn.with(|m| m.channel_window());
                let inbound = PayloadStream::new(self.internal(), stream, Some(window), false);
                let items = responder.request_channel(payload, inbound);
                self.spawn(async move {
                    let _ = socket.send_all(stream, items).await;
                });
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

/// Items of one stream, as they arrive: a [`Stream`] of `Result<Payload, Error>` that ends
/// after the peer completes it and yields one `Err` if it fails. As a requester's stream,
/// reading it grants the peer more credit (half a window at a time); dropping it before
/// the end cancels the stream.
pub struct PayloadStream {
    socket: RSocket,
    stream: StreamId,
    /// The credit window this side grants, if it grants (requester streams, and a
    /// channel responder's inbound side).
    window: Option<u32>,
    /// We requested the stream: dropping it early cancels it.
    requester: bool,
    /// Grant this many more once this many were read.
    refill: u32,
    consumed: u32,
    ended: bool,
}

impl std::fmt::Debug for PayloadStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PayloadStream")
            .field("stream", &self.stream)
            .finish_non_exhaustive()
    }
}

impl PayloadStream {
    fn new(
        socket: RSocket,
        stream: StreamId,
        window: Option<u32>,
        requester: bool,
    ) -> PayloadStream {
        PayloadStream {
            socket,
            stream,
            window,
            requester,
            refill: window.map_or(1, |w| (w / 2).max(1)),
            consumed: 0,
            ended: false,
        }
    }

    /// The stream id.
    pub fn id(&self) -> StreamId {
        self.stream
    }
}

impl Stream for PayloadStream {
    type Item = Result<Payload, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.ended {
            return Poll::Ready(None);
        }
        let stream = self.stream;
        let polled = self.socket.routes().poll(stream, cx);
        match &polled {
            Poll::Ready(Some(Ok(_))) => {
                if self.window.is_some_and(|w| w < MAX_REQUEST_N) {
                    self.consumed += 1;
                    if self.consumed >= self.refill {
                        let n = std::mem::take(&mut self.consumed);
                        let _ = self.socket.command(Command::RequestN { stream, n });
                    }
                }
            }
            Poll::Ready(_) => self.ended = true,
            Poll::Pending => {}
        }
        polled
    }
}

impl Drop for PayloadStream {
    fn drop(&mut self) {
        self.socket.routes().forget(self.stream);
        if !self.ended && self.requester {
            let _ = self.socket.command(Command::Cancel {
                stream: self.stream,
            });
        }
    }
}
