//! The runtime-free part of `connect` and `accept`: waiting for the upgrade to complete.

use wirestate_core::http::{Accept, Reject, UpgradeRequest};
use wirestate_core::rng::Rng;
use wirestate_core::ws::{self, Command, Event};

use super::error::Ending;
use super::{ClientOptions, Error, ServerOptions, WebSocket, WsConnection, WsMachine, WsUrl};
use crate::wire::Wire;

/// Decides on an upgrade request: accept it (choosing a subprotocol, adding headers) or
/// reject it with a status and body.
pub trait Policy: FnOnce(&UpgradeRequest) -> Result<Accept, Reject> {}

impl<F: FnOnce(&UpgradeRequest) -> Result<Accept, Reject>> Policy for F {}

/// The policy of [`accept`](super::smol::accept): every valid upgrade is accepted, with
/// no subprotocol.
pub fn accept_all(_: &UpgradeRequest) -> Result<Accept, Reject> {
    Ok(Accept::new())
}

/// A client machine for `url`, under TLS for `wss://`.
pub(crate) fn client_machine(
    url: &WsUrl,
    options: &ClientOptions,
    rng: Rng,
) -> Result<WsMachine, Error> {
    let machine =
        ws::Connection::client(options.config, rng, &options.request(url)).map_err(Error::Usage)?;
    if !url.secure {
        return Ok(Wire::plain(machine));
    }
    #[cfg(feature = "tls")]
    {
        let config = options.tls_config()?;
        let session = config
            .with_default_alpn(&[crate::tls::ALPN_HTTP_1_1])
            .start(&url.host)?;
        Ok(Wire::tls(machine, session))
    }
    #[cfg(not(feature = "tls"))]
    Err(Error::InvalidUrl(format!(
        "wss:// needs the `tls` feature: {}",
        url.authority
    )))
}

/// A server machine, under TLS when the options carry a TLS configuration.
pub(crate) fn server_machine(options: &ServerOptions, rng: Rng) -> Result<WsMachine, Error> {
    let machine = ws::Connection::server(std::sync::Arc::clone(&options.config), rng);
    #[cfg(feature = "tls")]
    if let Some(config) = &options.tls {
        return Ok(Wire::tls(machine, config.start()?));
    }
    Ok(Wire::plain(machine))
}

/// Waits until the connection opens, answering a server's upgrade request with `policy`.
pub(crate) async fn open(
    conn: WsConnection,
    send_high_water: usize,
    policy: impl Policy,
) -> Result<WebSocket, Error> {
    let mut policy = Some(policy);
    loop {
        match conn.next_event().await {
            Some(Event::UpgradeRequest(request)) => {
                let decide = policy.take().expect("one upgrade request per connection");
                let command = match decide(&request) {
                    Ok(accept) => Command::Accept(accept),
                    Err(reject) => Command::Reject(reject),
                };
                conn.command(command).map_err(Error::Usage)?;
            }
            Some(Event::Open { subprotocol }) => {
                return Ok(WebSocket::new(conn, subprotocol, send_high_water));
            }
            Some(Event::Closed(reason)) => {
                return Err(Error::ended(Ending::of(&conn), reason)
                    .unwrap_or_else(Error::from_handshake_end));
            }
            Some(_) => {}
            None => return Err(Error::stopped(Ending::of(&conn))),
        }
    }
}
