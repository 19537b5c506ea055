//! A WebSocket echo server: accepts every upgrade and sends every text and binary message
//! back. Messages up to 64 MiB. Runs until killed; prints `listening on HOST:PORT` once
//! ready. This is the server the Autobahn testsuite's fuzzing client checks.
//!
//! `cargo run -p wirestate --all-features --example ws_echo_server -- --listen 127.0.0.1:9001 [--runtime smol|tokio|blocking]`

#[path = "support/args.rs"]
mod args;

use std::io;
use std::net::TcpListener;

use args::{Args, Runtime, announce};
use wirestate::core::ws::{self, Command, Event};
use wirestate::driver::{self, Connection};

fn main() -> io::Result<()> {
    let args = Args::parse("ws_echo_server --listen HOST:PORT [--runtime smol|tokio|blocking]");
    let listener = TcpListener::bind(args.get("listen", "127.0.0.1:9001"))?;
    announce(listener.local_addr()?);
    match args.runtime() {
        Runtime::Smol => smol::block_on(async {
            let listener = smol::net::TcpListener::try_from(listener)?;
            loop {
                let (stream, _) = listener.accept().await?;
                stream.set_nodelay(true)?;
                let conn = Connection::new(server());
                smol::spawn(driver::smol::run(conn.clone(), stream)).detach();
                smol::spawn(async move { echo(&conn).await }).detach();
            }
        }),
        Runtime::Tokio => tokio::runtime::Runtime::new()?.block_on(async {
            listener.set_nonblocking(true)?;
            let listener = tokio::net::TcpListener::from_std(listener)?;
            loop {
                let (stream, _) = listener.accept().await?;
                stream.set_nodelay(true)?;
                let conn = driver::tokio::connection(server());
                tokio::spawn(driver::tokio::run(conn.clone(), stream));
                tokio::spawn(async move { echo(&conn).await });
            }
        }),
        Runtime::Blocking => loop {
            let (stream, _) = listener.accept()?;
            stream.set_nodelay(true)?;
            let conn = Connection::new(server());
            driver::blocking::spawn(conn.clone(), stream)?;
            std::thread::spawn(move || echo_blocking(&conn));
        },
    }
}

fn server() -> ws::Connection {
    ws::Connection::server(ws::Config::default(), wirestate::os_rng())
}

/// What to do with one event; `false` once the connection is over.
fn answer(conn: &Connection<ws::Connection>, event: Event) -> bool {
    let command = match event {
        Event::UpgradeRequest(_) => Command::Accept(Default::default()),
        Event::Message(message) => Command::Send(message),
        Event::Closed(_) => return false,
        _ => return true,
    };
    // A message arriving while we close is not an error worth reporting.
    let _ = conn.command(command);
    true
}

async fn echo(conn: &Connection<ws::Connection>) {
    while let Some(event) = conn.next_event().await {
        if !answer(conn, event) {
            break;
        }
    }
}

fn echo_blocking(conn: &Connection<ws::Connection>) {
    while let Some(event) = conn.wait_event() {
        if !answer(conn, event) {
            break;
        }
    }
}
