//! WebSocket servers on byte streams the caller set up (`accept_on`, `accept_inline_on`):
//! an in-memory tokio duplex and a Unix socket pair on smol, each against an independent
//! client (tungstenite) that echoes messages of every size and closes.

use std::future::Future;

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message as TMessage;
use wirestate::core::ws::CloseCode;
use wirestate::ws::{self, ServerOptions, accept_all};
use wirestate_tests::{LIMIT, pattern};

/// Message `i`: text or binary, up to 100 KB (past the size a server sends uncopied).
fn nth(i: usize) -> TMessage {
    match i % 3 {
        0 => TMessage::text(format!("message {i}")),
        _ => TMessage::binary(pattern(i * 977 % 100_000, i as u64)),
    }
}

/// Echoes until the peer closes, through either kind of socket.
macro_rules! echo_until_closed {
    ($socket:expr) => {{
        let mut socket = $socket;
        while let Some(message) = socket.recv().await.unwrap() {
            socket.send(message).await.unwrap();
        }
        socket.close(CloseCode::NORMAL, "").await.unwrap();
    }};
}

async fn bounded<T>(what: &str, future: impl Future<Output = T>) -> T {
    match tokio::time::timeout(LIMIT, future).await {
        Ok(value) => value,
        Err(_) => panic!("{what} did not finish within {LIMIT:?}"),
    }
}

#[tokio::test]
async fn tokio_servers_run_on_an_in_memory_duplex() {
    for inline in [false, true] {
        bounded("duplex echo", async {
            let (client_end, server_end) = tokio::io::duplex(64 * 1024);
            let options = ServerOptions::default();
            let server = tokio::spawn(async move {
                if inline {
                    let socket = ws::tokio::accept_inline_on(server_end, &options, accept_all);
                    echo_until_closed!(socket.await.unwrap());
                } else {
                    let socket = ws::tokio::accept_on(server_end, &options, accept_all);
                    echo_until_closed!(socket.await.unwrap());
                }
            });
            let (mut client, _) = tokio_tungstenite::client_async("ws://memory/", client_end)
                .await
                .unwrap();
            for i in 0..30 {
                client.send(nth(i)).await.unwrap();
                let echo = client.next().await.unwrap().unwrap();
                assert_eq!(echo, nth(i), "message {i}, inline: {inline}");
            }
            client.close(None).await.unwrap();
            while client.next().await.is_some() {}
            server.await.unwrap();
        })
        .await;
    }
}

#[cfg(unix)]
#[test]
fn smol_servers_run_on_a_unix_socket_pair() {
    for inline in [false, true] {
        let (client_end, server_end) = std::os::unix::net::UnixStream::pair().unwrap();
        let client = std::thread::spawn(move || {
            client_end.set_read_timeout(Some(LIMIT)).unwrap();
            let (mut client, _) = tungstenite::client("ws://memory/", client_end).unwrap();
            for i in 0..30 {
                client.send(nth(i)).unwrap();
                assert_eq!(
                    client.read().unwrap(),
                    nth(i),
                    "message {i}, inline: {inline}"
                );
            }
            client.close(None).unwrap();
            // The server's close comes back, then the end.
            while client.read().is_ok() {}
        });
        smol::block_on(async {
            let stream = smol::Async::new(server_end).unwrap();
            let options = ServerOptions::default();
            let served = async {
                if inline {
                    let socket = ws::smol::accept_inline_on(stream, &options, accept_all);
                    echo_until_closed!(socket.await.unwrap());
                } else {
                    let socket = ws::smol::accept_on(stream, &options, accept_all);
                    echo_until_closed!(socket.await.unwrap());
                }
            };
            let limit = async {
                smol::Timer::after(LIMIT).await;
                panic!("the smol server did not finish within {LIMIT:?}");
            };
            futures_lite::future::or(served, limit).await;
        });
        client.join().unwrap();
    }
}
