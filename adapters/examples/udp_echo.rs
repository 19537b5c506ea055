//! UDP echo: as a server (`--listen`) it sends every datagram back to its sender; as a
//! client (`--send HOST:PORT --message TEXT`) it sends one datagram and prints the answer.
//!
//! `cargo run -p wirestate --all-features --example udp_echo -- --listen 127.0.0.1:7001 [--runtime smol|tokio|blocking]`
//! `cargo run -p wirestate --all-features --example udp_echo -- --send 127.0.0.1:7001 --message hi`

#[path = "support/args.rs"]
mod args;

use std::io;
use std::time::Duration;

use args::{Args, Runtime, announce};
use wirestate::net::{Blocking, Smol, Tokio, a_socket};

/// How long a client waits for the answer.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(5);

fn main() -> io::Result<()> {
    let args = Args::parse(
        "udp_echo (--listen HOST:PORT | --send HOST:PORT --message TEXT) [--runtime smol|tokio|blocking]",
    );
    let runtime = args.runtime();
    let send = args.get("send", "");
    if !send.is_empty() {
        return client(runtime, &send, args.get("message", "ping"));
    }
    let listen = args.get("listen", "127.0.0.1:7001");
    match runtime {
        Runtime::Smol => smol::block_on(async {
            let socket = a_socket(Smol).udp().bind(listen).await?;
            announce(socket.local_addr()?);
            loop {
                let datagram = socket.receive().await?;
                socket.send(&datagram).await?;
            }
        }),
        Runtime::Tokio => tokio::runtime::Runtime::new()?.block_on(async {
            let socket = a_socket(Tokio).udp().bind(listen).await?;
            announce(socket.local_addr()?);
            loop {
                let datagram = socket.receive().await?;
                socket.send(&datagram).await?;
            }
        }),
        Runtime::Blocking => {
            let socket = a_socket(Blocking).udp().bind(listen)?;
            announce(socket.local_addr()?);
            loop {
                let datagram = socket.receive()?;
                socket.send(&datagram)?;
            }
        }
    }
}

fn client(runtime: Runtime, server: &str, message: String) -> io::Result<()> {
    let answer = match runtime {
        Runtime::Smol => smol::block_on(async {
            let socket = a_socket(Smol)
                .socket_timeout(Some(ANSWER_TIMEOUT))
                .udp()
                .connect(server, None)
                .await?;
            socket.send(message.as_bytes()).await?;
            smol::future::or(socket.receive(), async {
                smol::Timer::after(ANSWER_TIMEOUT).await;
                Err(io::ErrorKind::TimedOut.into())
            })
            .await
        })?,
        Runtime::Tokio => tokio::runtime::Runtime::new()?.block_on(async {
            let socket = a_socket(Tokio).udp().connect(server, None).await?;
            socket.send(message.as_bytes()).await?;
            tokio::time::timeout(ANSWER_TIMEOUT, socket.receive())
                .await
                .map_err(|_| io::Error::from(io::ErrorKind::TimedOut))?
        })?,
        Runtime::Blocking => {
            let socket = a_socket(Blocking)
                .socket_timeout(Some(ANSWER_TIMEOUT))
                .udp()
                .connect(server, None)?;
            socket.send(message.as_bytes())?;
            socket.receive()?
        }
    };
    println!("{}", String::from_utf8_lossy(&answer));
    Ok(())
}
