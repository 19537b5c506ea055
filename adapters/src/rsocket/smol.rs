//! RSocket over TCP and WebSocket on smol, plain or under TLS: the driver and the routing
//! task on smol's global executor.

use std::sync::Arc;

use smol::net::{AsyncToSocketAddrs, TcpStream};
use wirestate_core::rsocket::{self, conn::Config};

use super::responder::BoxFuture;
use super::socket::Spawn;
use super::transport;
use super::{Error, RSocket, Responder};
use crate::driver::{self, Connection};
#[cfg(feature = "tls")]
use crate::tls;
use crate::wire::Wire;

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
    let machine = Wire::plain(rsocket::Connection::client(config));
    Ok(start(stream, machine, responder).0)
}

/// Serves one accepted TCP connection: its SETUP is accepted, and `responder` answers
/// its requests. The returned [`RSocket`] makes requests to the client.
///
/// `config` may be an `Arc<Config>`: a server then keeps one for all its connections.
pub fn accept(
    stream: TcpStream,
    config: impl Into<Arc<Config>>,
    responder: impl Responder,
) -> RSocket {
    start(
        stream,
        Wire::plain(rsocket::Connection::server(config)),
        responder,
    )
    .0
}

/// Connects to an RSocket server over WebSocket (one binary message per frame) and sends
/// SETUP from `config` once the upgrade is done. A `wss://` URL runs under TLS with the
/// platform's roots (see [`connect_wss`] for others).
pub async fn connect_ws(
    url: &str,
    config: Config,
    responder: impl Responder,
) -> Result<RSocket, Error> {
    let (machine, host, port) = transport::ws_client(
        url,
        config,
        #[cfg(feature = "tls")]
        None,
    )?;
    let stream = TcpStream::connect((host.as_str(), port))
        .await
        .map_err(|e| Error::from_io(&e))?;
    Ok(start(stream, machine, responder).0)
}

/// Serves one accepted TCP connection as RSocket over WebSocket: the upgrade is accepted,
/// then SETUP.
pub fn accept_ws(stream: TcpStream, config: Config, responder: impl Responder) -> RSocket {
    start(stream, Wire::plain(transport::ws_server(config)), responder).0
}

/// Like [`connect`], over TLS: the server's certificate must be valid for `server_name`
/// under `tls`. Returns once the TLS handshake is done, with [`Error::Tls`] if it fails.
#[cfg(feature = "tls")]
pub async fn connect_tls(
    addr: impl AsyncToSocketAddrs,
    server_name: &str,
    tls: &tls::ClientConfig,
    config: Config,
    responder: impl Responder,
) -> Result<RSocket, Error> {
    let machine = transport::tls_client(rsocket::Connection::client(config), server_name, tls)?;
    let stream = TcpStream::connect(addr)
        .await
        .map_err(|e| Error::from_io(&e))?;
    transport::established(start(stream, machine, responder)).await
}

/// Like [`accept`], over TLS. Returns once the TLS handshake is done, with
/// [`Error::Tls`] if it fails (the connection is then closed).
#[cfg(feature = "tls")]
pub async fn accept_tls(
    stream: TcpStream,
    tls: &tls::ServerConfig,
    config: impl Into<Arc<Config>>,
    responder: impl Responder,
) -> Result<RSocket, Error> {
    let machine = transport::tls_server(rsocket::Connection::server(config), tls)?;
    transport::established(start(stream, machine, responder)).await
}

/// Like [`connect_ws`] for a `wss://` URL, trusting what `tls` trusts. Returns once the
/// TLS handshake is done.
#[cfg(feature = "tls")]
pub async fn connect_wss(
    url: &str,
    tls: &tls::ClientConfig,
    config: Config,
    responder: impl Responder,
) -> Result<RSocket, Error> {
    let (machine, host, port) = transport::ws_client(url, config, Some(tls))?;
    let stream = TcpStream::connect((host.as_str(), port))
        .await
        .map_err(|e| Error::from_io(&e))?;
    transport::established(start(stream, machine, responder)).await
}

/// Like [`accept_ws`], over TLS. Returns once the TLS handshake is done.
#[cfg(feature = "tls")]
pub async fn accept_wss(
    stream: TcpStream,
    tls: &tls::ServerConfig,
    config: Config,
    responder: impl Responder,
) -> Result<RSocket, Error> {
    let machine = transport::tls_server(transport::ws_server(config), tls)?;
    transport::established(start(stream, machine, responder)).await
}

fn start(
    stream: TcpStream,
    machine: Wire<rsocket::Connection>,
    responder: impl Responder,
) -> (RSocket, crate::rsocket::RSocketConnection) {
    let _ = stream.set_nodelay(true);
    let conn = Connection::new(machine);
    smol::spawn(driver::smol::run_tcp(conn.clone(), stream)).detach();
    let socket = RSocket::start(conn.clone(), Arc::new(responder), Box::new(SmolSpawn));
    (socket, conn)
}
