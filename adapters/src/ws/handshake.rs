//! The runtime-free part of `connect` and `accept`: waiting for the upgrade to complete.

use wirestate_core::http::{Accept, Reject, UpgradeRequest};
use wirestate_core::rng::Rng;
use wirestate_core::ws::{self, CloseReason, Command, Event};

use super::{ClientOptions, Error, ServerOptions, WebSocket, WsUrl};
use crate::driver::Connection;

/// Decides on an upgrade request: accept it (choosing a subprotocol, adding headers) or
/// reject it with a status and body.
pub trait Policy: FnOnce(&UpgradeRequest) -> Result<Accept, Reject> {}

impl<F: FnOnce(&UpgradeRequest) -> Result<Accept, Reject>> Policy for F {}

/// The policy of [`accept`](super::smol::accept): every valid upgrade is accepted, with
/// no subprotocol.
pub fn accept_all(_: &UpgradeRequest) -> Result<Accept, Reject> {
    Ok(Accept::new())
}

/// A client machine for `url`.
pub(crate) fn client_machine(
    url: &WsUrl,
    options: &ClientOptions,
    rng: Rng,
) -> Result<ws::Connection, Error> {
    ws::Connection::client(options.config, rng, &options.request(url)).map_err(Error::Usage)
}

/// A server machine.
pub(crate) fn server_machine(options: &ServerOptions, rng: Rng) -> ws::Connection {
    ws::Connection::server(options.config, rng)
}

/// Waits until the connection opens, answering a server's upgrade request with `policy`.
pub(crate) async fn open(
    conn: Connection<ws::Connection>,
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
            Some(Event::Closed(reason)) => return Err(Error::from_handshake_end(reason)),
            Some(_) => {}
            None => {
                return Err(match conn.driver_result() {
                    Some(Err(error)) => Error::Io(error),
                    _ => Error::Closed(CloseReason::Abnormal),
                });
            }
        }
    }
}
