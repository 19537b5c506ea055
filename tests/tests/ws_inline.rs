//! `InlineWebSocket` on tokio and smol over loopback, against independent peers
//! (tokio-tungstenite) and against wirestate's own spawned-driver sockets: echo of small and
//! shared large payloads, pings answered while receiving, both closing handshakes, the
//! going-away close on drop, a deferred write pushed by `flush`, and rejection.

use std::future::Future;

use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message as TMessage;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode as TCloseCode;
use wirestate::core::http::{HandshakeError, Reject, UpgradeRequest};
use wirestate::core::ws::{CloseCode, Message};
use wirestate::ws::{self, ClientOptions, Error, ServerOptions, accept_all};
use wirestate_tests::{LIMIT, pattern};

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

/// A tokio-tungstenite client connected to `url`.
async fn tungstenite_client(url: &str) -> WebSocketStream<TcpStream> {
    let address = url.trim_start_matches("ws://").trim_end_matches('/');
    let stream = TcpStream::connect(address).await.unwrap();
    tokio_tungstenite::client_async(url, stream)
        .await
        .unwrap()
        .0
}

/// Message `i`: text or binary, up to 100 KB (past the size a server sends uncopied).
fn nth(i: usize) -> Message {
    match i % 3 {
        0 => Message::Text(format!("message {i}").into()),
        _ => Message::Binary(pattern(i * 977 % 100_000, i as u64).into()),
    }
}

fn to_tungstenite(message: Message) -> TMessage {
    match message {
        Message::Text(text) => TMessage::text(text.as_str()),
        Message::Binary(bytes) => TMessage::binary(bytes),
    }
}

/// An inline echo server for one connection; returns the peer's close.
fn inline_echo_server(
    listener: TcpListener,
) -> tokio::task::JoinHandle<Option<(Option<CloseCode>, String)>> {
    tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let mut socket = ws::tokio::accept_inline(stream, &ServerOptions::default(), accept_all)
            .await
            .unwrap();
        while let Some(message) = socket.recv().await.unwrap() {
            socket.send(message).await.unwrap();
        }
        socket.close(CloseCode::NORMAL, "").await.unwrap();
        socket
            .peer_close()
            .map(|(code, reason)| (code, reason.to_string()))
    })
}

#[tokio::test]
async fn an_inline_server_echoes_a_tungstenite_client_and_closes_cleanly() {
    bounded("echo", async {
        let (listener, url) = listen().await;
        let server = inline_echo_server(listener);
        let mut client = tungstenite_client(&url).await;
        // A window of 16 in flight: the server's sends meet received messages still
        // waiting, so its writes are batched by the next recv.
        const COUNT: usize = 300;
        let (mut sent, mut received) = (0, 0);
        while received < COUNT {
            while sent < COUNT && sent - received < 16 {
                client.feed(to_tungstenite(nth(sent))).await.unwrap();
                sent += 1;
            }
            client.flush().await.unwrap();
            let echo = client.next().await.unwrap().unwrap();
            assert_eq!(echo, to_tungstenite(nth(received)), "message {received}");
            received += 1;
        }
        // A ping is answered by the server while it waits in recv.
        client
            .send(TMessage::Ping(vec![1, 2, 3].into()))
            .await
            .unwrap();
        assert_eq!(
            client.next().await.unwrap().unwrap(),
            TMessage::Pong(vec![1, 2, 3].into())
        );
        client
            .close(Some(CloseFrame {
                code: TCloseCode::from(4000),
                reason: "finished".into(),
            }))
            .await
            .unwrap();
        match client.next().await {
            Some(Ok(TMessage::Close(Some(frame)))) => assert_eq!(u16::from(frame.code), 4000),
            other => panic!("expected the close echo, got {other:?}"),
        }
        assert!(
            client.next().await.is_none(),
            "the server closes the TCP connection"
        );
        assert_eq!(
            server.await.unwrap(),
            Some((Some(CloseCode::new(4000)), "finished".to_string()))
        );
    })
    .await;
}

#[tokio::test]
async fn an_inline_client_talks_to_a_spawned_driver_server() {
    bounded("client", async {
        let (listener, url) = listen().await;
        let server = tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let mut socket = ws::tokio::accept(stream, &ServerOptions::default())
                .await
                .unwrap();
            while let Some(message) = socket.recv().await.unwrap() {
                socket.send(message).await.unwrap();
            }
            socket.peer_close().map(|(code, _)| code)
        });
        let mut socket = ws::tokio::connect_inline(&url, &ClientOptions::default())
            .await
            .unwrap();
        for i in 0..100 {
            socket.send(nth(i)).await.unwrap();
            assert_eq!(socket.recv().await.unwrap(), Some(nth(i)), "message {i}");
        }
        socket.close(CloseCode::NORMAL, "bye").await.unwrap();
        assert_eq!(socket.recv().await.unwrap(), None);
        assert_eq!(server.await.unwrap(), Some(Some(CloseCode::NORMAL)));
    })
    .await;
}

#[tokio::test]
async fn an_inline_socket_is_a_stream_and_a_sink() {
    bounded("stream and sink", async {
        let (listener, url) = listen().await;
        let server = inline_echo_server(listener);
        let mut socket = ws::tokio::connect_inline(&url, &ClientOptions::default())
            .await
            .unwrap();
        for i in 0..10 {
            socket.feed(nth(i)).await.unwrap();
        }
        socket.flush().await.unwrap();
        for i in 0..10 {
            assert_eq!(socket.next().await.unwrap().unwrap(), nth(i), "message {i}");
        }
        SinkExt::close(&mut socket).await.unwrap();
        assert!(socket.next().await.is_none());
        assert_eq!(
            server.await.unwrap(),
            Some((Some(CloseCode::NORMAL), String::new()))
        );
    })
    .await;
}

#[test]
fn an_inline_socket_works_on_smol_too() {
    smol::block_on(bounded_smol(async {
        let listener = smol::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("ws://{}/", listener.local_addr().unwrap());
        let server = smol::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let mut socket = ws::smol::accept_inline(stream, &ServerOptions::default(), accept_all)
                .await
                .unwrap();
            while let Some(message) = socket.recv().await.unwrap() {
                socket.send(message).await.unwrap();
            }
            socket.close(CloseCode::NORMAL, "").await.unwrap();
        });
        let mut socket = ws::smol::connect_inline(&url, &ClientOptions::default())
            .await
            .unwrap();
        for i in 0..100 {
            socket.send(nth(i)).await.unwrap();
            assert_eq!(socket.recv().await.unwrap(), Some(nth(i)), "message {i}");
        }
        socket.close(CloseCode::NORMAL, "").await.unwrap();
        server.await;
    }));
}

/// Runs a smol future, panicking if it takes longer than [`LIMIT`].
async fn bounded_smol<T>(future: impl Future<Output = T>) -> T {
    let limit = async {
        smol::Timer::after(LIMIT).await;
        panic!("the smol test did not finish within {LIMIT:?}");
    };
    futures_lite::future::or(future, limit).await
}

#[tokio::test]
async fn sending_to_a_peer_that_does_not_read_meets_backpressure() {
    bounded("backpressure", async {
        let (stop, stopped) = std::sync::mpsc::channel();
        let (address, peer) = wirestate_tests::ws_peers::silent_server(stopped);
        let options = ClientOptions::default().send_high_water(64 * 1024);
        let mut socket = ws::tokio::connect_inline(&format!("ws://{address}/"), &options)
            .await
            .unwrap();
        let chunk = Message::Binary(vec![7u8; 64 * 1024].into());
        // The kernel's buffers take a few MiB; past them a send must wait, not queue on.
        let mut sent = 0;
        while sent < 2000 {
            let send = socket.send(chunk.clone());
            if tokio::time::timeout(std::time::Duration::from_millis(300), send)
                .await
                .is_err()
            {
                break;
            }
            sent += 1;
        }
        assert!(
            sent < 2000,
            "2000 × 64 KiB sent to a peer that reads nothing"
        );
        let unsent = socket.machine().buffered_amount();
        assert!(
            unsent <= 2 * 64 * 1024 + 64,
            "{unsent} bytes queued past the mark"
        );
        stop.send(()).unwrap();
        peer.join().unwrap();
    })
    .await;
}

#[tokio::test]
async fn dropping_an_inline_socket_says_going_away() {
    bounded("drop", async {
        let (listener, url) = listen().await;
        let server = tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let socket = ws::tokio::accept_inline(stream, &ServerOptions::default(), accept_all)
                .await
                .unwrap();
            drop(socket);
        });
        let mut client = tungstenite_client(&url).await;
        server.await.unwrap();
        match client.next().await {
            Some(Ok(TMessage::Close(Some(frame)))) => {
                assert_eq!(u16::from(frame.code), CloseCode::GOING_AWAY.as_u16());
            }
            other => panic!("expected a going-away close, got {other:?}"),
        }
    })
    .await;
}

#[tokio::test]
async fn flush_writes_a_send_left_for_the_next_recv() {
    bounded("flush", async {
        let (listener, url) = listen().await;
        let server = tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let mut server = tokio_tungstenite::accept_async(stream).await.unwrap();
            // Three messages in one write: the client's first recv takes them all in.
            for i in 0..3 {
                server.feed(TMessage::text(format!("{i}"))).await.unwrap();
            }
            server.flush().await.unwrap();
            let reply = server.next().await.unwrap().unwrap();
            assert_eq!(reply, TMessage::text("reply"));
            server
        });
        let mut socket = ws::tokio::connect_inline(&url, &ClientOptions::default())
            .await
            .unwrap();
        assert_eq!(
            socket.recv().await.unwrap(),
            Some(Message::Text("0".into()))
        );
        // Messages wait: the send is left for the next recv, which never comes here.
        socket.send("reply").await.unwrap();
        socket.flush().await.unwrap();
        let mut server = server.await.unwrap();
        for i in 1..3 {
            assert_eq!(
                socket.recv().await.unwrap(),
                Some(Message::Text(format!("{i}").into()))
            );
        }
        // The server closes; its task reads our echo and drops the TCP connection.
        let server = tokio::spawn(async move {
            server.close(None).await.unwrap();
            while server.next().await.is_some() {}
        });
        assert_eq!(socket.recv().await.unwrap(), None);
        socket.close(CloseCode::NORMAL, "").await.unwrap();
        server.await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn a_rejected_inline_upgrade_reaches_both_ends() {
    bounded("reject", async {
        let (listener, url) = listen().await;
        let server = tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let policy = |_: &UpgradeRequest| Err(Reject::new(403));
            ws::tokio::accept_inline(stream, &ServerOptions::default(), policy).await
        });
        let error = ws::tokio::connect_inline(&url, &ClientOptions::default())
            .await
            .unwrap_err();
        assert!(
            matches!(
                error,
                Error::Handshake(HandshakeError::UnexpectedStatus { status: 403 })
            ),
            "{error:?}"
        );
        assert!(matches!(
            server.await.unwrap(),
            Err(Error::Rejected { status: 403 })
        ));
    })
    .await;
}
