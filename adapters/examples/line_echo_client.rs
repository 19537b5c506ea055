//! The line echo client: sends each line of standard input to a `line_echo_server` and
//! prints each answer.
//!
//! `printf 'hello\nworld\n' | cargo run -p wirestate --all-features --example line_echo_client -- --connect 127.0.0.1:7000 [--runtime smol|tokio|blocking]`

#[path = "support/args.rs"]
mod args;

use std::io::{self, BufRead, Write};

use args::{Args, Runtime};
use wirestate::chan::LineEnding;
use wirestate::net::{Blocking, Smol, Socket, Tokio, a_socket};

const MAX_LINE: usize = 64 * 1024;

fn main() -> io::Result<()> {
    let args = Args::parse("line_echo_client --connect HOST:PORT [--runtime smol|tokio|blocking]");
    let connect = args.get("connect", "127.0.0.1:7000");
    let lines: Vec<String> = io::stdin().lock().lines().collect::<io::Result<_>>()?;
    match args.runtime() {
        Runtime::Smol => smol::block_on(async {
            talk(a_socket(Smol).tcp().connect(connect).await?, &lines).await
        }),
        Runtime::Tokio => tokio::runtime::Runtime::new()?
            .block_on(async { talk(a_socket(Tokio).tcp().connect(connect).await?, &lines).await }),
        Runtime::Blocking => talk_blocking(a_socket(Blocking).tcp().connect(connect)?, &lines),
    }
}

async fn talk(socket: Socket, lines: &[String]) -> io::Result<()> {
    let (mut input, mut output) = socket.connection()?;
    let mut answer = String::new();
    for line in lines {
        output.write_str(line).await?;
        output.write_str("\n").await?;
        output.flush().await?;
        answer.clear();
        if !input
            .read_line(&mut answer, MAX_LINE, LineEnding::Default)
            .await?
        {
            break;
        }
        println!("{answer}");
    }
    output.flush_and_close().await
}

fn talk_blocking(socket: Socket, lines: &[String]) -> io::Result<()> {
    let (mut input, mut output) = socket.connection()?;
    let (mut source, mut sink) = (input.blocking(), output.blocking());
    let mut answer = String::new();
    for line in lines {
        writeln!(sink, "{line}")?;
        sink.flush()?;
        answer.clear();
        if !source.read_line_limited(&mut answer, MAX_LINE, LineEnding::Default)? {
            break;
        }
        println!("{answer}");
    }
    sink.close()
}
