//! WebSocket on smol: `connect` and `accept`, the driver spawned on smol's global executor.

use futures_io::{AsyncRead, AsyncWrite};
use smol::net::TcpStream;

use super::handshake::{self, Policy, accept_all};
use super::{ClientOptions, Error, InlineWebSocket, ServerOptions, WebSocket, WsMachine, WsUrl};
use crate::driver::{self, Connection};

/// Connects to a `ws://` URL with default options.
///
/// ```no_run
/// # fn main() -> Result<(), wirestate::ws::Error> {
/// smol::block_on(async {
///     let mut socket = wirestate::ws::smol::connect("ws://127.0.0.1:9001/chat").await?;
///     socket.send("hello").await?;
///     if let Some(reply) = socket.recv().await? {
///         println!("{}", reply.as_text().unwrap_or("(binary)"));
///     }
///     socket.close(wirestate::core::ws::CloseCode::NORMAL, "bye").await
/// })
/// # }
/// ```
pub async fn connect(url: &str) -> Result<WebSocket, Error> {
    connect_with(url, &ClientOptions::default()).await
}

/// Connects to a `ws://` or `wss://` URL: TCP (no delay), TLS for `wss://` (see
/// [`ClientOptions::tls`]), then the upgrade handshake.
pub async fn connect_with(url: &str, options: &ClientOptions) -> Result<WebSocket, Error> {
    let (machine, stream) = dial(url, options).await?;
    let conn = Connection::new(machine);
    smol::spawn(driver::smol::run_tcp(conn.clone(), stream)).detach();
    handshake::open(conn, options.send_high_water, accept_all).await
}

/// Runs the server's side of the handshake on an accepted stream, accepting every valid
/// upgrade.
pub async fn accept(stream: TcpStream, options: &ServerOptions) -> Result<WebSocket, Error> {
    accept_with(stream, options, accept_all).await
}

/// Runs the server's side of the handshake, letting `policy` accept or reject the request.
/// A rejected upgrade is answered with the policy's status and returns
/// [`Error::Rejected`].
pub async fn accept_with(
    stream: TcpStream,
    options: &ServerOptions,
    policy: impl Policy,
) -> Result<WebSocket, Error> {
    let conn = Connection::new(answer(&stream, options)?);
    smol::spawn(driver::smol::run_tcp(conn.clone(), stream)).detach();
    handshake::open(conn, options.send_high_water, policy).await
}

/// Connects like [`connect_with`], returning an [`InlineWebSocket`]: no driver is spawned;
/// the connection is driven by the task that uses the socket.
pub async fn connect_inline(url: &str, options: &ClientOptions) -> Result<InlineWebSocket, Error> {
    let (machine, stream) = dial(url, options).await?;
    let driver = driver::smol::inline_tcp(stream);
    InlineWebSocket::open(machine, driver, options.send_high_water, accept_all).await
}

/// Accepts like [`accept_with`], returning an [`InlineWebSocket`]: no driver is spawned;
/// the connection is driven by the task that uses the socket.
pub async fn accept_inline(
    stream: TcpStream,
    options: &ServerOptions,
    policy: impl Policy,
) -> Result<InlineWebSocket, Error> {
    let machine = answer(&stream, options)?;
    let driver = driver::smol::inline_tcp(stream);
    InlineWebSocket::open(machine, driver, options.send_high_water, policy).await
}

/// Accepts like [`accept_with`] on any futures-io byte stream the caller set up: a Unix
/// socket, a stream under another crate's TLS, an in-memory pipe. The driver is spawned on
/// smol's executor.
pub async fn accept_on<S>(
    stream: S,
    options: &ServerOptions,
    policy: impl Policy,
) -> Result<WebSocket, Error>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let conn = Connection::new(handshake::server_machine(options, crate::os_rng())?);
    smol::spawn(driver::smol::run(conn.clone(), stream)).detach();
    handshake::open(conn, options.send_high_water, policy).await
}

/// Accepts like [`accept_inline`] on any futures-io byte stream the caller set up (see
/// [`accept_on`]).
pub async fn accept_inline_on<S>(
    stream: S,
    options: &ServerOptions,
    policy: impl Policy,
) -> Result<InlineWebSocket, Error>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let machine = handshake::server_machine(options, crate::os_rng())?;
    let driver = driver::smol::inline(stream);
    InlineWebSocket::open(machine, driver, options.send_high_water, policy).await
}

/// A client machine for `url` (under TLS for `wss://`) and its TCP stream (no delay),
/// ready for a driver.
async fn dial(url: &str, options: &ClientOptions) -> Result<(WsMachine, TcpStream), Error> {
    let url = WsUrl::parse(url)?;
    let machine = handshake::client_machine(&url, options, crate::os_rng())?;
    let stream = TcpStream::connect((url.host.as_str(), url.port)).await?;
    stream.set_nodelay(true)?;
    Ok((machine, stream))
}

/// A server machine for an accepted `stream`, which gets no delay, ready for a driver.
fn answer(stream: &TcpStream, options: &ServerOptions) -> Result<WsMachine, Error> {
    stream.set_nodelay(true)?;
    handshake::server_machine(options, crate::os_rng())
}
