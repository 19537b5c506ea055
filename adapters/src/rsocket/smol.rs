//! RSocket over TCP on smol: the driver and the routing task on smol's global executor.

use std::sync::Arc;

use smol::net::{AsyncToSocketAddrs, TcpStream};
use wirestate_core::rsocket::{self, conn::Config};

use super::responder::BoxFuture;
use super::socket::Spawn;
use super::transport;
use super::{Error, RSocket, Responder};
use crate::driver::{self, Connection};

struct SmolSpawn;

impl Spawn for SmolSpawn {
    fn spawn(&self, future: BoxFuture<()>) {
        smol::spawn(future).detach();
    }
}

/// Connects to an RSocket server over TCP (length-prefixed frames) and sends SETUP from
/// `config`; `responder` answers the server's requests.
pub async fn connect(
    addr: impl AsyncToSocketAddrs,
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
/// its requests. The returned [`RSocket`] makes requests to the client.
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
    let conn = Connection::new(machine);
    smol::spawn(driver::smol::run(conn.clone(), stream)).detach();
    RSocket::start(conn, Arc::new(responder), Box::new(SmolSpawn))
}
