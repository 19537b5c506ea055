//! WebSocket over blocking std sockets: `connect`, `accept`, and a [`WebSocket`] whose
//! calls block the calling thread. The driver runs on its own threads
//! ([`driver::blocking::spawn`]).

use std::net::TcpStream;
use std::time::{Duration, Instant};

use bytes::Bytes;
use wirestate_core::ws::{CloseCode, Message};

use super::handshake::{self, Policy, accept_all};
use super::{ClientOptions, Error, ServerOptions, WsUrl};
use crate::driver::{self, Connection};
use crate::park;

/// Connects to a `ws://` URL with default options.
///
/// ```no_run
/// # fn main() -> Result<(), wirestate::ws::Error> {
/// let mut socket = wirestate::ws::blocking::connect("ws://127.0.0.1:9001/chat")?;
/// socket.send("hello")?;
/// if let Some(reply) = socket.recv()? {
///     println!("{}", reply.as_text().unwrap_or("(binary)"));
/// }
/// socket.close(wirestate::core::ws::CloseCode::NORMAL, "bye")
/// # }
/// ```
pub fn connect(url: &str) -> Result<WebSocket, Error> {
    connect_with(url, &ClientOptions::default())
}

/// Connects to a `ws://` URL: TCP (no delay), then the upgrade handshake.
pub fn connect_with(url: &str, options: &ClientOptions) -> Result<WebSocket, Error> {
    let url = WsUrl::parse(url)?;
    let machine = handshake::client_machine(&url, options, crate::os_rng())?;
    let stream = TcpStream::connect((url.host.as_str(), url.port))?;
    start(
        Connection::new(machine),
        stream,
        options.send_high_water,
        accept_all,
    )
}

/// Runs the server's side of the handshake on an accepted stream, accepting every valid
/// upgrade.
pub fn accept(stream: TcpStream, options: &ServerOptions) -> Result<WebSocket, Error> {
    accept_with(stream, options, accept_all)
}

/// Runs the server's side of the handshake, letting `policy` accept or reject the request.
pub fn accept_with(
    stream: TcpStream,
    options: &ServerOptions,
    policy: impl Policy,
) -> Result<WebSocket, Error> {
    let machine = handshake::server_machine(options, crate::os_rng())?;
    start(
        Connection::new(machine),
        stream,
        options.send_high_water,
        policy,
    )
}

fn start(
    conn: super::WsConnection,
    stream: TcpStream,
    send_high_water: usize,
    policy: impl Policy,
) -> Result<WebSocket, Error> {
    stream.set_nodelay(true)?;
    driver::blocking::spawn(conn.clone(), stream)?;
    let inner = park::block_on(handshake::open(conn, send_high_water, policy))?;
    Ok(WebSocket { inner })
}

/// A WebSocket whose calls block the calling thread (see [`super::WebSocket`] for what
/// each does). Do not use it from an async task.
#[derive(Debug)]
pub struct WebSocket {
    inner: super::WebSocket,
}

impl WebSocket {
    /// The next message; `Ok(None)` once the connection ended cleanly.
    pub fn recv(&mut self) -> Result<Option<Message>, Error> {
        park::block_on(self.inner.recv())
    }

    /// Like [`recv`](WebSocket::recv), but gives up after `timeout` with an
    /// [`Error::Io`] of kind `TimedOut` (no message is lost).
    pub fn recv_timeout(&mut self, timeout: Duration) -> Result<Option<Message>, Error> {
        let (reader, _) = self.inner.halves_mut();
        let deadline = Instant::now() + timeout;
        park::block_on_poll_until(deadline, |cx| reader.poll_recv(cx))
            .unwrap_or_else(|| Err(Error::Io(std::io::ErrorKind::TimedOut.into())))
    }

    /// Sends a message once the send queue is below its high-water mark.
    pub fn send(&mut self, message: impl Into<Message>) -> Result<(), Error> {
        park::block_on(self.inner.send(message))
    }

    /// Sends a ping (at most 125 bytes).
    pub fn ping(&mut self, payload: impl Into<Bytes>) -> Result<(), Error> {
        self.inner.ping(payload)
    }

    /// Blocks until every queued frame was handed to the transport.
    pub fn flush(&mut self) -> Result<(), Error> {
        park::block_on(self.inner.flush())
    }

    /// Closes with `code` and `reason` and blocks until the end (see
    /// [`super::WebSocket::close`]).
    pub fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), Error> {
        park::block_on(self.inner.close(code, reason))
    }

    /// The subprotocol both ends agreed on.
    pub fn subprotocol(&self) -> Option<&str> {
        self.inner.subprotocol()
    }

    /// The peer's close frame, once it arrived.
    pub fn peer_close(&self) -> Option<(Option<CloseCode>, &str)> {
        self.inner.peer_close()
    }

    /// Whether permessage-deflate is in use on this connection.
    #[cfg(feature = "deflate")]
    pub fn is_compressed(&self) -> bool {
        self.inner.is_compressed()
    }

    /// The async WebSocket underneath (its methods work from any executor).
    pub fn into_async(self) -> super::WebSocket {
        self.inner
    }
}

impl Iterator for WebSocket {
    type Item = Result<Message, Error>;

    /// The next message (see [`recv`](WebSocket::recv)); ends after the connection's end.
    fn next(&mut self) -> Option<Self::Item> {
        self.recv().transpose()
    }
}
