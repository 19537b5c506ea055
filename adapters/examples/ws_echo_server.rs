//! A WebSocket echo server: accepts every upgrade and sends every text and binary message
//! back. Messages up to 64 MiB; permessage-deflate accepted when built with the `deflate`
//! feature (`--deflate off` turns it off). Runs until killed; prints `listening on
//! HOST:PORT` once ready. This is the server the Autobahn testsuite's fuzzing client checks.
//! With `--tls-cert CERT.pem --tls-key KEY.pem` (feature `tls`) it serves `wss://`. With
//! `--inline on` (smol and tokio) each connection is an `InlineWebSocket`, driven by the task
//! that echoes.
//!
//! `cargo run -p wirestate --all-features --example ws_echo_server -- --listen 127.0.0.1:9001 [--runtime smol|tokio|blocking] [--inline on|off] [--tls-cert CERT.pem --tls-key KEY.pem]`

#[path = "support/args.rs"]
mod args;

use std::io;
use std::net::TcpListener;

use args::{Args, Runtime, announce};
use wirestate::core::ws::CloseCode;
use wirestate::ws::{self, ServerOptions, accept_all};

fn main() -> io::Result<()> {
    let args = Args::parse(
        "ws_echo_server --listen HOST:PORT [--runtime smol|tokio|blocking] [--inline on|off] \
         [--deflate on|off] [--tls-cert CERT.pem --tls-key KEY.pem]",
    );
    let listener = TcpListener::bind(args.get("listen", "127.0.0.1:9001"))?;
    #[allow(unused_mut)] // without the deflate feature nothing changes
    let mut options = ServerOptions::default();
    #[cfg(feature = "deflate")]
    if args.get("deflate", "on") == "on" {
        std::sync::Arc::make_mut(&mut options.config).deflate = Some(Default::default());
    }
    #[cfg(feature = "tls")]
    if let (cert, key) = (args.get("tls-cert", ""), args.get("tls-key", ""))
        && !cert.is_empty()
    {
        let identity =
            wirestate::tls::Identity::from_pem(&std::fs::read(cert)?, &std::fs::read(key)?)?;
        options = options.tls(
            wirestate::tls::ServerConfig::builder(identity)
                .alpn([&b"http/1.1"[..]])
                .build()?,
        );
    }
    let inline = args.get("inline", "off") == "on";
    announce(listener.local_addr()?);
    match args.runtime() {
        Runtime::Smol => smol::block_on(async {
            let listener = smol::net::TcpListener::try_from(listener)?;
            loop {
                let (stream, _) = listener.accept().await?;
                let options = options.clone();
                smol::spawn(async move {
                    if inline {
                        let socket = ws::smol::accept_inline(stream, &options, accept_all).await?;
                        return echo_inline(socket).await;
                    }
                    let mut socket = ws::smol::accept(stream, &options).await?;
                    while let Some(message) = socket.recv().await? {
                        socket.send(message).await?;
                    }
                    Ok::<(), ws::Error>(())
                })
                .detach();
            }
        }),
        Runtime::Tokio => tokio::runtime::Runtime::new()?.block_on(async {
            listener.set_nonblocking(true)?;
            let listener = tokio::net::TcpListener::from_std(listener)?;
            loop {
                let (stream, _) = listener.accept().await?;
                let options = options.clone();
                tokio::spawn(async move {
                    if inline {
                        let socket = ws::tokio::accept_inline(stream, &options, accept_all).await?;
                        return echo_inline(socket).await;
                    }
                    let mut socket = ws::tokio::accept(stream, &options).await?;
                    while let Some(message) = socket.recv().await? {
                        socket.send(message).await?;
                    }
                    Ok::<(), ws::Error>(())
                });
            }
        }),
        Runtime::Blocking => loop {
            let (stream, _) = listener.accept()?;
            let options = options.clone();
            std::thread::spawn(move || {
                let mut socket = ws::blocking::accept(stream, &options)?;
                while let Some(message) = socket.recv()? {
                    socket.send(message)?;
                }
                Ok::<(), ws::Error>(())
            });
        },
    }
}

/// Echoes on a socket this task drives, then lets the closing handshake finish.
async fn echo_inline(mut socket: ws::InlineWebSocket) -> Result<(), ws::Error> {
    while let Some(message) = socket.recv().await? {
        socket.send(message).await?;
    }
    socket.close(CloseCode::NORMAL, "").await
}
