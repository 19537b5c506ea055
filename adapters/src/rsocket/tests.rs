//! The relay without a driver or a router: the test moves the bytes between an RSocket's
//! connection and a server machine by hand, and no spawned future ever runs.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Wake, Waker};

use futures_core::Stream;
use wirestate_core::rsocket::conn::{Command, Config, Event, Interaction};
use wirestate_core::rsocket::{self, Payload};
use wirestate_core::{Instant, Machine};

use super::responder::BoxFuture;
use super::socket::Spawn;
use super::{NoResponder, RSocket, RSocketConnection};
use crate::driver::Connection;
use crate::wire::Wire;

/// Drops every future: neither the router nor any handler ever runs.
struct NoTasks;

impl Spawn for NoTasks {
    fn spawn(&self, _: BoxFuture<()>) {}
}

/// Counts its wakes.
#[derive(Default)]
struct Wakes(AtomicUsize);

impl Wake for Wakes {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// A client RSocket without tasks, and a server machine that accepted its SETUP.
fn pair() -> (RSocket, RSocketConnection, rsocket::Connection) {
    let conn = Connection::new(Wire::plain(rsocket::Connection::client(Config::default())));
    let socket = RSocket::start(conn.clone(), Arc::new(NoResponder), Box::new(NoTasks));
    let mut server = rsocket::Connection::server(Config::default());
    to_server(&conn, &mut server);
    assert!(matches!(server.poll_event(), Some(Event::Setup(_))));
    server.command(Instant::ZERO, Command::AcceptSetup).unwrap();
    (socket, conn, server)
}

fn to_server(conn: &RSocketConnection, server: &mut rsocket::Connection) {
    while let Some(bytes) = conn.with(|m| m.poll_transmit()) {
        assert_eq!(server.handle_input(Instant::ZERO, &bytes), bytes.len());
    }
}

/// Feeds the server's bytes to the client as a driver would: under the lock, and the
/// relay publishes after it (`with`).
fn to_client(server: &mut rsocket::Connection, conn: &RSocketConnection) {
    while let Some(bytes) = server.poll_transmit() {
        let accepted = conn.with(|m| m.handle_input(Instant::ZERO, &bytes));
        assert_eq!(accepted, bytes.len());
    }
}

#[test]
fn a_response_reaches_its_requester_without_the_router() {
    let (socket, conn, mut server) = pair();
    let wakes = Arc::new(Wakes::default());
    let waker = Waker::from(Arc::clone(&wakes));
    let mut cx = Context::from_waker(&waker);
    let mut answer = pin!(socket.request_response(Payload::data("ping")));
    assert!(answer.as_mut().poll(&mut cx).is_pending());

    to_server(&conn, &mut server);
    let Some(Event::Request {
        stream,
        interaction: Interaction::Response,
        payload,
    }) = server.poll_event()
    else {
        panic!("a request-response");
    };
    assert_eq!(payload.data, "ping");
    let send = Command::Send {
        stream,
        payload: Payload::data("pong"),
        complete: true,
    };
    server.command(Instant::ZERO, send).unwrap();
    to_client(&mut server, &conn);

    assert_eq!(
        wakes.0.load(Ordering::SeqCst),
        1,
        "the relay woke the requester"
    );
    match answer.as_mut().poll(&mut cx) {
        Poll::Ready(Ok(payload)) => assert_eq!(payload.data, "pong"),
        other => panic!("{other:?}"),
    }
    // A response that arrived is not cancelled: nothing more goes out.
    to_server(&conn, &mut server);
    assert_eq!(server.poll_event(), None);
}

#[test]
fn stream_items_and_the_close_reach_the_reader_without_the_router() {
    let (socket, conn, mut server) = pair();
    let waker = Waker::noop();
    let mut cx = Context::from_waker(waker);
    let mut opening = pin!(socket.request_stream(Payload::data("n"), 4));
    let Poll::Ready(Ok(mut items)) = opening.as_mut().poll(&mut cx) else {
        panic!("a client opens at once");
    };
    to_server(&conn, &mut server);
    let Some(Event::Request { stream, .. }) = server.poll_event() else {
        panic!("a request-stream");
    };
    for i in 0..4 {
        let send = Command::Send {
            stream,
            payload: Payload::data(format!("item-{i}")),
            complete: false,
        };
        server.command(Instant::ZERO, send).unwrap();
    }
    to_client(&mut server, &conn);
    for i in 0..2 {
        let Poll::Ready(Some(Ok(item))) = std::pin::Pin::new(&mut items).poll_next(&mut cx) else {
            panic!("item {i}");
        };
        assert_eq!(item.data, format!("item-{i}").as_str());
    }
    // Reading half the window granted two more.
    to_server(&conn, &mut server);
    assert_eq!(server.poll_event(), None);
    assert_eq!(server.held_items(stream), 0);

    server.command(Instant::ZERO, Command::Close).unwrap();
    to_client(&mut server, &conn);
    let mut rest = Vec::new();
    while let Poll::Ready(Some(item)) = std::pin::Pin::new(&mut items).poll_next(&mut cx) {
        rest.push(item);
    }
    assert_eq!(rest.len(), 3, "two items, then the close: {rest:?}");
    assert!(matches!(rest[2], Err(super::Error::Closed(_))));
}
