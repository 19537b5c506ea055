//! The Autobahn|Testsuite client loop: asks the fuzzing server how many cases it has, runs
//! each one echoing every text and binary message, then asks it to write its report.
//!
//! `cargo run -p wirestate --all-features --example ws_autobahn_client -- --url ws://127.0.0.1:9001 --agent wirestate [--runtime smol|tokio|blocking]`

#[path = "support/args.rs"]
mod args;

use std::io;
use std::net::TcpStream;

use args::{Args, Runtime};
use wirestate::core::http::ClientRequest;
use wirestate::core::ws::{self, Command, Event, Message};
use wirestate::driver::{self, Connection};

fn main() -> io::Result<()> {
    let args = Args::parse(
        "ws_autobahn_client --url ws://HOST:PORT --agent NAME [--runtime smol|tokio|blocking]",
    );
    let url = args.get("url", "ws://127.0.0.1:9001");
    let authority = url
        .strip_prefix("ws://")
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "only ws:// URLs"))?
        .trim_end_matches('/')
        .to_string();
    let agent = args.get("agent", "wirestate");
    let runtime = args.runtime();
    let session = |path: String| run_session(runtime, &authority, &path);

    let count: usize = session("/getCaseCount".into())?
        .and_then(|text| text.trim().parse().ok())
        .ok_or_else(|| io::Error::other("the server sent no case count"))?;
    for case in 1..=count {
        session(format!("/runCase?case={case}&agent={agent}"))?;
    }
    session(format!("/updateReports?agent={agent}"))?;
    println!("ran {count} cases as agent {agent}");
    Ok(())
}

/// One WebSocket session on `path`: echoes every message until the connection is over and
/// returns the first text message seen (the case count, for `/getCaseCount`).
fn run_session(runtime: Runtime, authority: &str, path: &str) -> io::Result<Option<String>> {
    let machine = ws::Connection::client(
        ws::Config::default(),
        wirestate::os_rng(),
        &ClientRequest::new(authority, path),
    )
    .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?;
    let stream = TcpStream::connect(authority)?;
    stream.set_nodelay(true)?;
    match runtime {
        Runtime::Smol => smol::block_on(async {
            let conn = Connection::new(machine);
            let driver = smol::spawn(driver::smol::run(conn.clone(), smol::Async::new(stream)?));
            let first = echo(&conn).await;
            let _ = driver.await;
            Ok(first)
        }),
        Runtime::Tokio => tokio::runtime::Runtime::new()?.block_on(async {
            stream.set_nonblocking(true)?;
            let conn = driver::tokio::connection(machine);
            let driver = tokio::spawn(driver::tokio::run(
                conn.clone(),
                tokio::net::TcpStream::from_std(stream)?,
            ));
            let first = echo(&conn).await;
            let _ = driver.await;
            Ok(first)
        }),
        Runtime::Blocking => {
            let conn = Connection::new(machine);
            let driver = driver::blocking::spawn(conn.clone(), stream)?;
            let mut first = None;
            while let Some(event) = conn.wait_event() {
                if !answer(&conn, event, &mut first) {
                    break;
                }
            }
            let _ = driver.join();
            Ok(first)
        }
    }
}

async fn echo(conn: &Connection<ws::Connection>) -> Option<String> {
    let mut first = None;
    while let Some(event) = conn.next_event().await {
        if !answer(conn, event, &mut first) {
            break;
        }
    }
    first
}

/// Echoes messages; `false` once the connection is over.
fn answer(conn: &Connection<ws::Connection>, event: Event, first: &mut Option<String>) -> bool {
    match event {
        Event::Message(message) => {
            if let (None, Message::Text(text)) = (&*first, &message) {
                *first = Some(text.clone());
            }
            let _ = conn.command(Command::Send(message));
            true
        }
        Event::Closed(_) => false,
        _ => true,
    }
}
