//! RSocket over TCP on tokio: the driver and the routing task on the ambient runtime.

use std::sync::Arc;

use tokio::net::{TcpStream, ToSocketAddrs};
use tokio::runtime::Handle;
use wirestate_core::rsocket::{self, conn::Config};

use super::responder::BoxFuture;
use super::socket::Spawn;
use super::transport;
use super::{Error, RSocket, Responder};
use crate::driver;

struct TokioSpawn(Handle);

impl Spawn for TokioSpawn {
    fn spawn(&self, future: BoxFuture<()>) {
        self.0.spawn(future);
    }
}

/// Connects to an RSocket server over TCP (length-prefixed frames) and sends SETUP from
/// `config`; `responder` answers the server's requests. Call from within a tokio runtime.
pub async fn connect(
    addr: impl ToSocketAddrs,
    config: Config,
    responder: impl Responder,
) -> Result<RSocket, Error> {
    let stream = TcpStream::connect(addr)
        .await
        .map_err(|e| Error::from_io(&e))?;
    Ok(start(
        stream,
        rsocket::Connection::client(config),
        responder,
    ))
}

/// Serves one accepted TCP connection: its SETUP is accepted, and `responder` answers
/// its requests. Call from within a tokio runtime.
pub fn accept(stream: TcpStream, config: Config, responder: impl Responder) -> RSocket {
    start(stream, rsocket::Connection::server(config), responder)
}

/// Connects to an RSocket server over WebSocket (`ws://` URL; one binary message per frame)
/// and sends SETUP from `config` once the upgrade is done.
pub async fn connect_ws(
    url: &str,
    config: Config,
    responder: impl Responder,
) -> Result<RSocket, Error> {
    let (machine, host, port) = transport::ws_client(url, config)?;
    let stream = TcpStream::connect((host.as_str(), port))
        .await
        .map_err(|e| Error::from_io(&e))?;
    Ok(start(stream, machine, responder))
}

/// Serves one accepted TCP connection as RSocket over WebSocket: the upgrade is accepted,
/// then SETUP.
pub fn accept_ws(stream: TcpStream, config: Config, responder: impl Responder) -> RSocket {
    start(stream, transport::ws_server(config), responder)
}

fn start(stream: TcpStream, machine: rsocket::Connection, responder: impl Responder) -> RSocket {
    let _ = stream.set_nodelay(true);
    let conn = driver::tokio::connection(machine);
    tokio::spawn(driver::tokio::run(conn.clone(), stream));
    RSocket::start(
        conn,
        Arc::new(responder),
        Box::new(TokioSpawn(Handle::current())),
    )
}
