//! The RSocket interop peer (DESIGN.md, "Stable example interfaces"), on smol.
//!
//! `rsocket_peer server tcp|ws PORT [--fragment N] [--seconds S]` serves on 127.0.0.1:PORT
//! (0 picks a port; `listening on HOST:PORT` is printed once ready): request-response
//! answers `echo:` + data; request-stream sends `item-0` … `item-(N-1)` for a decimal N
//! (empty: 5, at most 100000) within the requester's credit; request-channel answers each
//! item with `echo:<data>`; fire-and-forget and metadata push print a line. Over ws, one
//! binary message per frame at path `/`.
//!
//! `rsocket_peer client tcp|ws PORT [--fragment N]` runs the seven checks in order and
//! prints `PASS name detail` or `FAIL name detail` for each, then `N passed, M failed`;
//! it exits 0 only if none failed.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use futures_lite::{StreamExt, future, stream};
use wirestate::core::bytes::Bytes;
use wirestate::core::rsocket::Payload;
use wirestate::core::rsocket::conn::Config;
use wirestate::rsocket::{self, NoResponder, RSocket};
use wirestate_tests::rsocket_peer::PeerResponder;

/// One client check: its detail on success, what went wrong otherwise.
type Check = fn(RSocket) -> future::Boxed<Result<String, String>>;

/// How long one check may take.
const CHECK_TIME: Duration = Duration::from_secs(10);

fn usage() -> ExitCode {
    eprintln!(
        "usage: rsocket_peer server tcp|ws PORT [--fragment N] [--seconds S]\n       \
         rsocket_peer client tcp|ws PORT [--fragment N]"
    );
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let option = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse::<u64>().ok())
    };
    let (Some(role), Some(transport), Some(port)) = (args.first(), args.get(1), args.get(2)) else {
        return usage();
    };
    let Ok(port) = port.parse::<u16>() else {
        return usage();
    };
    let websocket = match transport.as_str() {
        "tcp" => false,
        "ws" => true,
        _ => return usage(),
    };
    let config = Config {
        fragment_size: option("--fragment").map(|n| n as usize),
        ..Config::default()
    };
    match role.as_str() {
        "server" => smol::block_on(server(port, websocket, config, option("--seconds"))),
        "client" => smol::block_on(client(port, websocket, config)),
        _ => usage(),
    }
}

async fn server(port: u16, websocket: bool, config: Config, seconds: Option<u64>) -> ExitCode {
    let listener = match smol::net::TcpListener::bind(("127.0.0.1", port)).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("rsocket_peer: bind: {error}");
            return ExitCode::FAILURE;
        }
    };
    println!(
        "listening on {}",
        listener.local_addr().expect("a bound address")
    );
    let serve = async {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let responder = PeerResponder::verbose();
            // Each connection's tasks run on smol's executor; the RSocket lives with them.
            let _socket = match websocket {
                true => rsocket::smol::accept_ws(stream, config.clone(), responder),
                false => rsocket::smol::accept(stream, config.clone(), responder),
            };
        }
    };
    match seconds {
        Some(seconds) => {
            future::or(serve, async {
                smol::Timer::after(Duration::from_secs(seconds)).await;
            })
            .await
        }
        None => serve.await,
    }
    ExitCode::SUCCESS
}

async fn client(port: u16, websocket: bool, config: Config) -> ExitCode {
    let socket = match websocket {
        true => {
            rsocket::smol::connect_ws(&format!("ws://127.0.0.1:{port}/"), config, NoResponder).await
        }
        false => rsocket::smol::connect(("127.0.0.1", port), config, NoResponder).await,
    };
    let socket = match socket {
        Ok(socket) => socket,
        Err(error) => {
            println!("FAIL connect {error}");
            println!("0 passed, 1 failed");
            return ExitCode::FAILURE;
        }
    };
    let checks: [(&str, Check); 7] = [
        ("request_response", |s| Box::pin(request_response(s))),
        ("request_response_100k", |s| {
            Box::pin(request_response_100k(s))
        }),
        ("fire_and_forget", |s| Box::pin(fire_and_forget(s))),
        ("request_stream", |s| Box::pin(request_stream(s))),
        ("request_channel", |s| Box::pin(request_channel(s))),
        ("metadata_push", |s| Box::pin(metadata_push(s))),
        ("alive_after_metadata_push", |s| {
            Box::pin(request_response_alive(s))
        }),
    ];
    let (mut passed, mut failed) = (0, 0);
    for (name, check) in checks {
        let outcome = future::or(check(socket.clone()), async {
            smol::Timer::after(CHECK_TIME).await;
            Err(format!("no answer within {CHECK_TIME:?}"))
        })
        .await;
        match outcome {
            Ok(detail) => {
                passed += 1;
                println!("PASS {name} {detail}");
            }
            Err(detail) => {
                failed += 1;
                println!("FAIL {name} {detail}");
            }
        }
    }
    println!("{passed} passed, {failed} failed");
    let _ = socket.close();
    smol::Timer::after(Duration::from_millis(100)).await; // let the close go out
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn text(payload: &Payload) -> String {
    String::from_utf8_lossy(&payload.data).into_owned()
}

async fn request_response(socket: RSocket) -> Result<String, String> {
    let answer = socket
        .request_response(Payload::with_metadata("hello", "meta"))
        .await
        .map_err(|e| e.to_string())?;
    match text(&answer).as_str() {
        "echo:hello" => Ok("got echo:hello".into()),
        other => Err(format!("expected echo:hello, got {other:?}")),
    }
}

async fn request_response_100k(socket: RSocket) -> Result<String, String> {
    let answer = socket
        .request_response(Payload::data(vec![b'x'; 100_000]))
        .await
        .map_err(|e| e.to_string())?;
    match answer.data.len() {
        100_005 => Ok("100005 bytes back".into()),
        n => Err(format!("expected 100005 bytes, got {n}")),
    }
}

async fn fire_and_forget(socket: RSocket) -> Result<String, String> {
    socket
        .fire_and_forget(Payload::data("fnf"))
        .await
        .map_err(|e| e.to_string())?;
    Ok("sent".into())
}

async fn request_stream(socket: RSocket) -> Result<String, String> {
    // Initial request-n 2, then 2 more per 2 received.
    let items: Vec<String> = socket
        .request_stream_paced(Payload::data("5"), 2, 2)
        .await
        .map_err(|e| e.to_string())?
        .map(|item| {
            item.map(|p| text(&p))
                .unwrap_or_else(|e| format!("error: {e}"))
        })
        .collect()
        .await;
    let expected: Vec<String> = (0..5).map(|i| format!("item-{i}")).collect();
    if items == expected {
        Ok(format!("{} items in order", items.len()))
    } else {
        Err(format!("expected item-0..item-4, got {items:?}"))
    }
}

async fn request_channel(socket: RSocket) -> Result<String, String> {
    let outbound = stream::iter(["c0", "c1", "c2"].map(Payload::data));
    let items: Vec<String> = socket
        .request_channel(Payload::data("c-first"), outbound, 8)
        .await
        .map_err(|e| e.to_string())?
        .map(|item| {
            item.map(|p| text(&p))
                .unwrap_or_else(|e| format!("error: {e}"))
        })
        .collect()
        .await;
    if items.iter().any(|item| item.starts_with("echo:")) {
        Ok(format!("{} items back: {items:?}", items.len()))
    } else {
        Err(format!("no echo: item in {items:?}"))
    }
}

async fn metadata_push(socket: RSocket) -> Result<String, String> {
    socket
        .metadata_push(Bytes::from_static(b"push"))
        .await
        .map_err(|e| e.to_string())?;
    Ok("sent".into())
}

async fn request_response_alive(socket: RSocket) -> Result<String, String> {
    let started = Instant::now();
    let answer = socket
        .request_response(Payload::data("alive"))
        .await
        .map_err(|e| e.to_string())?;
    match text(&answer).as_str() {
        "echo:alive" => Ok(format!("answered in {} ms", started.elapsed().as_millis())),
        other => Err(format!("expected echo:alive, got {other:?}")),
    }
}
