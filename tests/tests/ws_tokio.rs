//! The WebSocket API on tokio over loopback: echo through split halves on a multi-thread
//! runtime, cancel-safe receive under `tokio::time::timeout`, close, rejection.

use std::future::Future;
use std::time::Duration;

use tokio::net::TcpListener;
use wirestate::core::http::{HandshakeError, Reject, UpgradeRequest};
use wirestate::core::ws::{CloseCode, Message};
use wirestate::ws::{self, Error, ServerOptions};
use wirestate_tests::{LIMIT, pattern};

/// Runs `future`, panicking if it takes longer than [`LIMIT`].
async fn bounded<T>(what: &str, future: impl Future<Output = T>) -> T {
    match tokio::time::timeout(LIMIT, future).await {
        Ok(value) => value,
        Err(_) => panic!("{what} did not finish within {LIMIT:?}"),
    }
}

async fn listen() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    (listener, url)
}

/// Accepts one connection and echoes until it ends; returns the peer's close.
fn echo_server(
    listener: TcpListener,
) -> tokio::task::JoinHandle<Option<(Option<CloseCode>, String)>> {
    tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let mut socket = ws::tokio::accept(stream, &ServerOptions::default())
            .await
            .unwrap();
        while let Some(message) = socket.recv().await.unwrap() {
            socket.send(message).await.unwrap();
        }
        socket
            .peer_close()
            .map(|(code, reason)| (code, reason.to_string()))
    })
}

fn nth(i: usize) -> Message {
    match i % 2 {
        0 => Message::Text(format!("message {i}").into()),
        _ => Message::Binary(pattern(i * 131 % 100_000, i as u64).into()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn echo_through_split_halves_on_two_tasks() {
    bounded("echo", async {
        let (listener, url) = listen().await;
        let server = echo_server(listener);
        let (mut reader, mut writer) = ws::tokio::connect(&url).await.unwrap().split();
        const COUNT: usize = 1000;
        let sender = tokio::spawn(async move {
            for i in 0..COUNT {
                writer.send(nth(i)).await.unwrap();
            }
            writer
        });
        for i in 0..COUNT {
            assert_eq!(reader.recv().await.unwrap(), Some(nth(i)), "message {i}");
        }
        sender
            .await
            .unwrap()
            .close(CloseCode::new(4000), "finished")
            .await
            .unwrap();
        assert_eq!(reader.recv().await.unwrap(), None);
        let close = server.await.unwrap();
        assert_eq!(
            close,
            Some((Some(CloseCode::new(4000)), "finished".to_string()))
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receives_cancelled_by_a_timeout_lose_no_message() {
    bounded("cancel", async {
        let (listener, url) = listen().await;
        const COUNT: usize = 300;
        let server = tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let mut socket = ws::tokio::accept(stream, &ServerOptions::default())
                .await
                .unwrap();
            for i in 0..COUNT {
                socket.send(nth(i)).await.unwrap();
                if i % 5 == 0 {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            }
            socket.close(CloseCode::NORMAL, "").await.unwrap();
        });
        let mut socket = ws::tokio::connect(&url).await.unwrap();
        let mut next = 0;
        while next < COUNT {
            if let Ok(message) =
                tokio::time::timeout(Duration::from_micros(300), socket.recv()).await
            {
                assert_eq!(message.unwrap(), Some(nth(next)), "message {next}");
                next += 1;
            }
        }
        assert_eq!(socket.recv().await.unwrap(), None);
        server.await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn a_rejected_upgrade_reaches_both_ends() {
    bounded("reject", async {
        let (listener, url) = listen().await;
        let server = tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let policy = |request: &UpgradeRequest| {
                assert_eq!(request.path(), "/");
                Err(Reject::new(401))
            };
            ws::tokio::accept_with(stream, &ServerOptions::default(), policy).await
        });
        let error = ws::tokio::connect(&url).await.unwrap_err();
        assert!(
            matches!(
                error,
                Error::Handshake(HandshakeError::UnexpectedStatus { status: 401 })
            ),
            "{error:?}"
        );
        assert!(matches!(
            server.await.unwrap(),
            Err(Error::Rejected { status: 401 })
        ));
    })
    .await;
}
