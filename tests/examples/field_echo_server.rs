//! A WebSocket echo server in one of six implementations, for comparing wirestate with
//! the field (see `field_bench`): every text and binary message is sent back as it came.
//! A seventh, `floor`, is no WebSocket server but the least a tokio server can do per echo
//! of the harness's raw load client (`wirestate_tests::raw_ws_floor`).
//! Prints `listening on HOST:PORT` once ready; runs until killed.
//!
//! `cargo run --release -p wirestate-tests --example field_echo_server --
//!  --impl wirestate-smol|wirestate-smol-inline|wirestate-tokio|wirestate-tokio-inline|tokio-tungstenite|fastwebsockets|floor --listen 127.0.0.1:0`
//!
//! Every server runs on one executor thread so that the comparison is per core: the tokio
//! ones on a multi-thread runtime with one worker, wirestate on smol on smol's global
//! executor (its drivers live there) with `SMOL_THREADS=1`, the default. The peers are
//! written as their own echo examples show: tokio-tungstenite forwards the read half into
//! the write half (`StreamExt::forward`, which feeds and flushes once the reader has
//! nothing ready); fastwebsockets upgrades through hyper and echoes frames through a
//! `FragmentCollector`. No permessage-deflate anywhere.

use std::future::Future;
use std::io::{self, Write};
use std::net::TcpListener;
use wirestate_tests::arg;

fn announce(listener: &TcpListener) -> io::Result<()> {
    let mut out = io::stdout().lock();
    writeln!(out, "listening on {}", listener.local_addr()?)?;
    out.flush()
}

/// Serves every connection with a task of `serve`'s, on a multi-thread tokio runtime with
/// one worker: the same for every tokio server.
fn serve_tokio<S, F>(listener: TcpListener, mut serve: S) -> io::Result<()>
where
    S: FnMut(tokio::net::TcpStream) -> F,
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    listener.set_nonblocking(true)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    announce(&listener)?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::from_std(listener)?;
        loop {
            let (stream, _) = listener.accept().await?;
            tokio::spawn(serve(stream));
        }
    })
}

fn main() -> io::Result<()> {
    let implementation = arg("impl", "wirestate-tokio");
    let listener = TcpListener::bind(arg("listen", "127.0.0.1:0"))?;
    match implementation.as_str() {
        "wirestate-smol" => wirestate_smol(listener),
        "wirestate-smol-inline" => wirestate_smol_inline(listener),
        "wirestate-tokio" => wirestate_tokio(listener),
        "wirestate-tokio-inline" => wirestate_tokio_inline(listener),
        "tokio-tungstenite" => tokio_tungstenite(listener),
        "fastwebsockets" => fastwebsockets(listener),
        "floor" => floor(listener),
        other => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("unknown --impl {other}"),
        )),
    }
}

/// wirestate's echo, the same on either runtime. `send` only queues (it waits only above
/// the high-water mark): the driver writes whatever is queued in one go.
async fn echo(mut socket: wirestate::ws::WebSocket) -> Result<(), wirestate::ws::Error> {
    while let Some(message) = socket.recv().await? {
        socket.send(message).await?;
    }
    Ok(())
}

/// Serves every connection with a task of `serve`'s on smol's global executor: the same
/// for both smol servers.
fn serve_smol<S, F>(listener: TcpListener, mut serve: S) -> io::Result<()>
where
    S: FnMut(smol::net::TcpStream) -> F,
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    announce(&listener)?;
    smol::block_on(async {
        let listener = smol::net::TcpListener::try_from(listener)?;
        loop {
            let (stream, _) = listener.accept().await?;
            smol::spawn(serve(stream)).detach();
        }
    })
}

fn wirestate_smol(listener: TcpListener) -> io::Result<()> {
    use wirestate::ws::{self, ServerOptions};
    let options = ServerOptions::default();
    serve_smol(listener, move |stream| {
        let options = options.clone();
        async move { echo(ws::smol::accept(stream, &options).await?).await }
    })
}

/// The echo on an [`InlineWebSocket`](wirestate::ws::InlineWebSocket): the task that
/// echoes drives the connection, as the peers' servers do.
async fn echo_inline(
    mut socket: wirestate::ws::InlineWebSocket,
) -> Result<(), wirestate::ws::Error> {
    while let Some(message) = socket.recv().await? {
        socket.send(message).await?;
    }
    socket
        .close(wirestate::core::ws::CloseCode::NORMAL, "")
        .await
}

fn wirestate_smol_inline(listener: TcpListener) -> io::Result<()> {
    use wirestate::ws::{self, ServerOptions, accept_all};
    let options = ServerOptions::default();
    serve_smol(listener, move |stream| {
        let options = options.clone();
        async move { echo_inline(ws::smol::accept_inline(stream, &options, accept_all).await?).await }
    })
}

fn wirestate_tokio(listener: TcpListener) -> io::Result<()> {
    use wirestate::ws::{self, ServerOptions};
    let options = ServerOptions::default();
    serve_tokio(listener, move |stream| {
        let options = options.clone();
        async move { echo(ws::tokio::accept(stream, &options).await?).await }
    })
}

fn wirestate_tokio_inline(listener: TcpListener) -> io::Result<()> {
    use wirestate::ws::{self, ServerOptions, accept_all};
    let options = ServerOptions::default();
    serve_tokio(listener, move |stream| {
        let options = options.clone();
        async move { echo_inline(ws::tokio::accept_inline(stream, &options, accept_all).await?).await }
    })
}

fn tokio_tungstenite(listener: TcpListener) -> io::Result<()> {
    use futures_util::{StreamExt, TryStreamExt, future};
    serve_tokio(listener, |stream| async move {
        let _ = stream.set_nodelay(true);
        // As in tokio-tungstenite's echo-server example.
        let Ok(socket) = tokio_tungstenite::accept_async(stream).await else {
            return;
        };
        let (write, read) = socket.split();
        let _ = read
            .try_filter(|message| future::ready(message.is_text() || message.is_binary()))
            .forward(write)
            .await;
    })
}

fn fastwebsockets(listener: TcpListener) -> io::Result<()> {
    use fastwebsockets::{FragmentCollector, OpCode, WebSocketError, upgrade};
    use http_body_util::Empty;
    use hyper::body::{Bytes, Incoming};
    use hyper::server::conn::http1;
    use hyper::service::service_fn;
    use hyper::{Request, Response};

    // As in fastwebsockets' echo_server example.
    async fn handle_client(fut: upgrade::UpgradeFut) -> Result<(), WebSocketError> {
        let mut ws = FragmentCollector::new(fut.await?);
        loop {
            let frame = ws.read_frame().await?;
            match frame.opcode {
                OpCode::Close => break,
                OpCode::Text | OpCode::Binary => ws.write_frame(frame).await?,
                _ => {}
            }
        }
        Ok(())
    }

    async fn server_upgrade(
        mut request: Request<Incoming>,
    ) -> Result<Response<Empty<Bytes>>, WebSocketError> {
        let (response, fut) = upgrade::upgrade(&mut request)?;
        tokio::task::spawn(async move {
            let _ = tokio::task::unconstrained(handle_client(fut)).await;
        });
        Ok(response)
    }

    serve_tokio(listener, |stream| async move {
        let _ = stream.set_nodelay(true);
        let io = hyper_util::rt::TokioIo::new(stream);
        let _ = http1::Builder::new()
            .serve_connection(io, service_fn(server_upgrade))
            .with_upgrades()
            .await;
    })
}

/// The harness's floor (`wirestate_tests::raw_ws_floor`): not a WebSocket server, the least
/// a tokio server can do per echo of the raw load client.
fn floor(listener: TcpListener) -> io::Result<()> {
    serve_tokio(listener, wirestate_tests::raw_ws_floor::serve)
}
