//! The machines under an RSocket connection: TCP or WebSocket, plain or under TLS.

use wirestate_core::rsocket;
#[cfg(any(feature = "smol", feature = "tokio"))]
use wirestate_core::{rsocket::conn::Config, ws};

use super::Error;
#[cfg(feature = "tls")]
use super::RSocketConnection;
use crate::wire::Wire;
#[cfg(any(feature = "smol", feature = "tokio"))]
use crate::ws::WsUrl;

#[cfg(feature = "tls")]
use crate::tls;

#[cfg(any(feature = "smol", feature = "tokio"))]
/// A client machine for RSocket over WebSocket at `url`, and where to connect. A `wss://`
/// URL runs under TLS with `tls`, or the platform's roots when `None`.
pub(crate) fn ws_client(
    url: &str,
    config: Config,
    #[cfg(feature = "tls")] tls: Option<&tls::ClientConfig>,
) -> Result<(Wire<rsocket::Connection>, String, u16), Error> {
    let invalid = |why: String| Error::Io(std::io::ErrorKind::InvalidInput, why);
    let url = WsUrl::parse(url).map_err(|e| invalid(e.to_string()))?;
    let request =
        wirestate_core::http::ClientRequest::new(url.authority.clone(), url.resource.clone());
    let ws = ws::Connection::client(ws::Config::default(), crate::os_rng(), &request)
        .map_err(|e| invalid(e.to_string()))?;
    let machine = rsocket::Connection::client_over_websocket(config, ws);
    let wire = if url.secure {
        #[cfg(feature = "tls")]
        {
            let config = match tls {
                Some(config) => config.clone(),
                None => tls::platform_client_config()?,
            };
            let config = config.with_default_alpn(&[tls::ALPN_HTTP_1_1]);
            tls_client(machine, &url.host, &config)?
        }
        #[cfg(not(feature = "tls"))]
        return Err(invalid(format!(
            "wss:// needs the `tls` feature: {}",
            url.authority
        )));
    } else {
        #[cfg(feature = "tls")]
        if tls.is_some() {
            return Err(invalid(format!(
                "TLS asked for a ws:// URL: {}",
                url.authority
            )));
        }
        Wire::plain(machine)
    };
    Ok((wire, url.host, url.port))
}

#[cfg(any(feature = "smol", feature = "tokio"))]
/// A server machine for RSocket over WebSocket: the upgrade is accepted, then SETUP.
pub(crate) fn ws_server(config: Config) -> rsocket::Connection {
    let ws = ws::Connection::server(ws::Config::default(), crate::os_rng());
    rsocket::Connection::server_over_websocket(config, ws)
}

/// `machine` under a TLS client session for `server_name`.
#[cfg(feature = "tls")]
pub(crate) fn tls_client(
    machine: rsocket::Connection,
    server_name: &str,
    config: &tls::ClientConfig,
) -> Result<Wire<rsocket::Connection>, Error> {
    Ok(Wire::tls(machine, config.start(server_name)?))
}

/// `machine` under a TLS server session.
#[cfg(all(feature = "tls", any(feature = "smol", feature = "tokio")))]
pub(crate) fn tls_server(
    machine: rsocket::Connection,
    config: &tls::ServerConfig,
) -> Result<Wire<rsocket::Connection>, Error> {
    Ok(Wire::tls(machine, config.start()?))
}

/// Returns `socket` once the TLS handshake on `conn` (whose driver runs) is done; the TLS
/// failure, or the transport's, if it does not get there.
#[cfg(feature = "tls")]
pub(crate) async fn established(
    (socket, conn): (super::RSocket, RSocketConnection),
) -> Result<super::RSocket, Error> {
    crate::wire::handshake_done(&conn).await.map_err(|error| {
        match error
            .get_ref()
            .and_then(|e| e.downcast_ref::<tls::TlsError>())
        {
            Some(tls) => Error::Tls(tls.clone()),
            None => Error::from_io(&error),
        }
    })?;
    Ok(socket)
}
