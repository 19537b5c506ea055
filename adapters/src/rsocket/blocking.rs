//! An RSocket client over blocking std sockets: request-response, fire-and-forget, metadata
//! push, and streams as iterators. The driver and the routing run on threads of their own;
//! each call blocks the calling thread.

use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;

use bytes::Bytes;
use futures_core::Stream;
use wirestate_core::rsocket::{self, Payload, conn::Config};

use super::responder::BoxFuture;
use super::socket::Spawn;
use super::{Error, NoResponder, PayloadStream, RSocket};
use crate::driver::{self, Connection};
use crate::park;
use crate::wire::Wire;

/// Runs each future on a thread of its own (a client's routing task, and any handler).
struct ThreadSpawn;

impl Spawn for ThreadSpawn {
    fn spawn(&self, future: BoxFuture<()>) {
        let _ = std::thread::Builder::new()
            .name("wirestate-rsocket".into())
            .spawn(move || park::block_on(future));
    }
}

/// A blocking RSocket client (requester only). Do not use it from an async task.
#[derive(Debug, Clone)]
pub struct Client {
    socket: RSocket,
}

/// Connects over TCP (length-prefixed frames) and sends SETUP from `config`.
pub fn connect(addr: impl ToSocketAddrs, config: Config) -> Result<Client, Error> {
    let machine = Wire::plain(rsocket::Connection::client(config));
    Ok(Client {
        socket: start(addr, machine)?.0,
    })
}

/// Like [`connect`], over TLS: the server's certificate must be valid for `server_name`
/// under `tls`. Returns once the TLS handshake is done, with [`Error::Tls`] if it fails.
#[cfg(feature = "tls")]
pub fn connect_tls(
    addr: impl ToSocketAddrs,
    server_name: &str,
    tls: &crate::tls::ClientConfig,
    config: Config,
) -> Result<Client, Error> {
    let machine =
        super::transport::tls_client(rsocket::Connection::client(config), server_name, tls)?;
    let socket = park::block_on(super::transport::established(start(addr, machine)?))?;
    Ok(Client { socket })
}

fn start(
    addr: impl ToSocketAddrs,
    machine: Wire<rsocket::Connection>,
) -> Result<(RSocket, super::RSocketConnection), Error> {
    let stream = TcpStream::connect(addr).map_err(|e| Error::from_io(&e))?;
    let _ = stream.set_nodelay(true);
    let conn = Connection::new(machine);
    driver::blocking::spawn(conn.clone(), stream).map_err(|e| Error::from_io(&e))?;
    let socket = RSocket::start(conn.clone(), Arc::new(NoResponder), Box::new(ThreadSpawn));
    Ok((socket, conn))
}

impl Client {
    /// Request-response.
    pub fn request_response(&self, payload: Payload) -> Result<Payload, Error> {
        park::block_on(self.socket.request_response(payload))
    }

    /// Fire-and-forget.
    pub fn fire_and_forget(&self, payload: Payload) -> Result<(), Error> {
        park::block_on(self.socket.fire_and_forget(payload))
    }

    /// Connection metadata to the server.
    pub fn metadata_push(&self, metadata: Bytes) -> Result<(), Error> {
        park::block_on(self.socket.metadata_push(metadata))
    }

    /// Request-stream as an iterator: credit follows iteration, at most `window` items in
    /// flight. Dropping the iterator early cancels the stream.
    pub fn request_stream(&self, payload: Payload, window: u32) -> Result<Items, Error> {
        let items = park::block_on(self.socket.request_stream(payload, window))?;
        Ok(Items { items })
    }

    /// Closes the connection gracefully.
    pub fn close(&self) -> Result<(), Error> {
        self.socket.close()
    }

    /// The async RSocket underneath (its methods work from any executor).
    pub fn as_async(&self) -> &RSocket {
        &self.socket
    }
}

/// A stream's items, blocking for each (see [`Client::request_stream`]).
#[derive(Debug)]
pub struct Items {
    items: PayloadStream,
}

impl Iterator for Items {
    type Item = Result<Payload, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        let items = &mut self.items;
        park::block_on_poll(|cx| std::pin::Pin::new(&mut *items).poll_next(cx))
    }
}
