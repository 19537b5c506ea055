//! The runtime-free part of connecting and accepting: which machine runs on the TCP
//! stream, for RSocket over TCP and over WebSocket.

use std::io;

use wirestate_core::http::ClientRequest;
use wirestate_core::rsocket::{self, conn::Config};
use wirestate_core::ws;

use super::Error;
use crate::ws::WsUrl;

/// A client machine for RSocket over WebSocket at `url`, and where to connect.
pub(crate) fn ws_client(
    url: &str,
    config: Config,
) -> Result<(rsocket::Connection, String, u16), Error> {
    let invalid = |why: String| Error::Io(io::ErrorKind::InvalidInput, why);
    let url = WsUrl::parse(url).map_err(|e| invalid(e.to_string()))?;
    let request = ClientRequest::new(url.authority.clone(), url.resource.clone());
    let ws = ws::Connection::client(Default::default(), crate::os_rng(), &request)
        .map_err(|e| invalid(e.to_string()))?;
    Ok((
        rsocket::Connection::client_over_websocket(config, ws),
        url.host,
        url.port,
    ))
}

/// A server machine for RSocket over WebSocket: the upgrade is accepted, then SETUP.
pub(crate) fn ws_server(config: Config) -> rsocket::Connection {
    let ws = ws::Connection::server(Default::default(), crate::os_rng());
    rsocket::Connection::server_over_websocket(config, ws)
}
