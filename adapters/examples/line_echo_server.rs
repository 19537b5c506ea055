//! A line echo server (Ktor's telnet echo sample): every line a client sends comes back
//! followed by CRLF. Runs until killed.
//!
//! `cargo run -p wirestate --all-features --example line_echo_server -- --listen 127.0.0.1:7000 [--runtime smol|tokio|blocking]`

#[path = "support/args.rs"]
mod args;

use std::io::{self, Write};

use args::{Args, Runtime, announce};
use wirestate::chan::{ByteReader, ByteWriter, LineEnding};
use wirestate::net::{Blocking, Smol, Socket, Tokio, a_socket};

/// Lines longer than this are refused (the connection ends with an error).
const MAX_LINE: usize = 64 * 1024;

fn main() -> io::Result<()> {
    let args = Args::parse("line_echo_server --listen HOST:PORT [--runtime smol|tokio|blocking]");
    let listen = args.get("listen", "127.0.0.1:7000");
    match args.runtime() {
        Runtime::Smol => smol::block_on(async {
            let server = a_socket(Smol).tcp().bind(listen).await?;
            announce(server.local_addr());
            loop {
                let socket = server.accept().await?;
                smol::spawn(async move { report(serve(socket).await) }).detach();
            }
        }),
        Runtime::Tokio => tokio::runtime::Runtime::new()?.block_on(async {
            let server = a_socket(Tokio).tcp().bind(listen).await?;
            announce(server.local_addr());
            loop {
                let socket = server.accept().await?;
                tokio::spawn(async move { report(serve(socket).await) });
            }
        }),
        Runtime::Blocking => {
            let server = a_socket(Blocking).tcp().bind(listen)?;
            announce(server.local_addr());
            loop {
                let socket = server.accept()?;
                std::thread::spawn(move || report(serve_blocking(socket)));
            }
        }
    }
}

/// Echoes lines on any executor: the channel halves only need wakers.
async fn serve(socket: Socket) -> io::Result<()> {
    let (mut input, mut output): (ByteReader, ByteWriter) = socket.connection()?;
    let mut line = String::new();
    while input
        .read_line(&mut line, MAX_LINE, LineEnding::Default)
        .await?
    {
        output.write_str(&line).await?;
        output.write_str("\r\n").await?;
        output.flush().await?;
        line.clear();
    }
    output.flush_and_close().await
}

/// The same over the blocking views of the channels (`std::io` traits plus limited lines).
fn serve_blocking(socket: Socket) -> io::Result<()> {
    let (mut input, mut output) = socket.connection()?;
    let (mut source, mut sink) = (input.blocking(), output.blocking());
    let mut line = String::new();
    while source.read_line_limited(&mut line, MAX_LINE, LineEnding::Default)? {
        write!(sink, "{line}\r\n")?;
        sink.flush()?; // returns once the socket's pump has taken the bytes
        line.clear();
    }
    sink.close()
}

fn report(result: io::Result<()>) {
    if let Err(error) = result {
        eprintln!("connection ended: {error}");
    }
}
