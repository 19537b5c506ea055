//! The WebSocket API on smol over loopback: connect and accept with a policy, Stream and
//! Sink, split halves, close with a code and a timeout, backpressure, pings answered while
//! the application only writes, cancel-safe receive, handshake timeout, typed errors.

use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use futures_lite::{StreamExt, future};
use futures_sink::Sink;
use smol::net::TcpListener;
use wirestate::core::http::{Accept, HandshakeError, Reject, UpgradeRequest};
use wirestate::core::ws::{CloseCode, CloseReason, Config, Message, TimeoutKind};
use wirestate::ws::{self, ClientOptions, Error, Piece, ServerOptions, WebSocket};
use wirestate_tests::ws_peers::{silent_server, upgrade_as_client};
use wirestate_tests::{LIMIT, pattern};

/// Runs `future` on smol, panicking if it takes longer than [`LIMIT`].
fn bounded<T>(what: &str, future: impl Future<Output = T>) -> T {
    smol::block_on(future::or(async { Some(future.await) }, async {
        smol::Timer::after(LIMIT).await;
        None
    }))
    .unwrap_or_else(|| panic!("{what} did not finish within {LIMIT:?}"))
}

/// A listener on a free loopback port and the `ws://` URL of its `/chat` resource.
async fn listen() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/chat", listener.local_addr().unwrap());
    (listener, url)
}

/// How an echo server's connection went, and the peer's close frame.
type EchoOutcome = (Result<(), Error>, Option<(Option<CloseCode>, String)>);

/// A server task: accepts one connection with `options` and `policy`, then echoes.
fn echo_server(
    listener: TcpListener,
    options: ServerOptions,
    policy: impl ws::Policy + Send + 'static,
) -> smol::Task<EchoOutcome> {
    smol::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let mut socket = match ws::smol::accept_with(stream, &options, policy).await {
            Ok(socket) => socket,
            Err(error) => return (Err(error), None),
        };
        let result = async {
            while let Some(message) = socket.recv().await? {
                socket.send(message).await?;
            }
            Ok(())
        }
        .await;
        let close = socket
            .peer_close()
            .map(|(code, reason)| (code, reason.to_string()));
        (result, close)
    })
}

/// Sends through the `Sink` interface: ready, start, flush.
async fn sink_send<S>(sink: &mut S, message: Message) -> Result<(), Error>
where
    S: Sink<Message, Error = Error> + Unpin,
{
    poll_fn(|cx| Pin::new(&mut *sink).poll_ready(cx)).await?;
    Pin::new(&mut *sink).start_send(message)?;
    poll_fn(|cx| Pin::new(&mut *sink).poll_flush(cx)).await
}

fn choose_v2(request: &UpgradeRequest) -> Result<Accept, Reject> {
    match request.subprotocols().iter().any(|p| p == "v2") {
        true => Ok(Accept::new().subprotocol("v2")),
        false => Err(Reject::new(400)),
    }
}

#[test]
fn echo_through_stream_and_sink_with_a_subprotocol() {
    bounded("echo", async {
        let (listener, url) = listen().await;
        let server = echo_server(listener, ServerOptions::default(), choose_v2);
        let options = ClientOptions::default().subprotocol("v1").subprotocol("v2");
        let mut socket = ws::smol::connect_with(&url, &options).await.unwrap();
        assert_eq!(socket.subprotocol(), Some("v2"));

        let big = Message::Binary(pattern(300_000, 7).into());
        for message in [Message::from("hello"), big.clone(), Message::from("")] {
            sink_send(&mut socket, message.clone()).await.unwrap();
            assert_eq!(socket.next().await.unwrap().unwrap(), message);
        }
        socket.close(CloseCode::NORMAL, "bye").await.unwrap();
        assert_eq!(socket.peer_close(), Some((Some(CloseCode::NORMAL), "")));
        assert!(socket.next().await.is_none(), "the stream ends");
        assert!(matches!(
            socket.send("late").await,
            Err(Error::AlreadyClosed)
        ));

        let (result, close) = server.await;
        result.unwrap();
        assert_eq!(close, Some((Some(CloseCode::NORMAL), "bye".to_string())));
    });
}

#[test]
fn a_rejecting_policy_answers_with_its_status() {
    bounded("reject", async {
        let (listener, url) = listen().await;
        let server = smol::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let policy = |_: &UpgradeRequest| Err(Reject::new(403).body("go away"));
            ws::smol::accept_with(stream, &ServerOptions::default(), policy).await
        });
        let refused = ws::smol::connect(&url).await.unwrap_err();
        assert!(
            matches!(
                refused,
                Error::Handshake(HandshakeError::UnexpectedStatus { status: 403 })
            ),
            "{refused:?}"
        );
        assert!(matches!(server.await, Err(Error::Rejected { status: 403 })));
    });
}

#[test]
fn split_halves_work_from_two_tasks() {
    bounded("split", async {
        let (listener, url) = listen().await;
        let server = echo_server(listener, ServerOptions::default(), ws::accept_all);
        let (mut reader, mut writer) = ws::smol::connect(&url).await.unwrap().split();
        const COUNT: usize = 2000;
        let sender = smol::spawn(async move {
            for i in 0..COUNT {
                let message = match i % 3 {
                    0 => Message::Text(format!("message {i}").into()),
                    1 => Message::Binary(pattern(i * 37 % 5000, i as u64).into()),
                    _ => Message::Binary(pattern(70_000, i as u64).into()),
                };
                writer.send(message).await.unwrap();
            }
            writer
        });
        for i in 0..COUNT {
            let message = reader.recv().await.unwrap().expect("an echo");
            let expected = match i % 3 {
                0 => Message::Text(format!("message {i}").into()),
                1 => Message::Binary(pattern(i * 37 % 5000, i as u64).into()),
                _ => Message::Binary(pattern(70_000, i as u64).into()),
            };
            assert_eq!(message, expected, "message {i}");
        }
        let mut writer = sender.await;
        writer.close(CloseCode::NORMAL, "done").await.unwrap();
        assert_eq!(reader.recv().await.unwrap(), None);
        assert_eq!(reader.peer_close(), Some((Some(CloseCode::NORMAL), "")));
        server.await.0.unwrap();
    });
}

#[test]
fn close_gives_up_after_the_close_timeout() {
    bounded("close timeout", async {
        let (stop, stopped) = mpsc::channel();
        let (addr, peer) = silent_server(stopped);
        let config = Config {
            close_timeout: Duration::from_millis(300),
            ..Config::default()
        };
        let options = ClientOptions::default().config(config);
        let mut socket = ws::smol::connect_with(&format!("ws://{addr}/"), &options)
            .await
            .unwrap();
        let start = Instant::now();
        let error = socket.close(CloseCode::NORMAL, "").await.unwrap_err();
        assert!(
            matches!(
                error,
                Error::Closed(CloseReason::Timeout(TimeoutKind::CloseHandshake))
            ),
            "{error:?}"
        );
        assert!(start.elapsed() >= Duration::from_millis(300));
        stop.send(()).unwrap();
        peer.join().unwrap();
    });
}

#[test]
fn send_meets_backpressure_from_a_peer_that_does_not_read() {
    bounded("backpressure", async {
        let (stop, stopped) = mpsc::channel();
        let (addr, peer) = silent_server(stopped);
        let high_water = 64 * 1024;
        let options = ClientOptions::default().send_high_water(high_water);
        let mut socket = ws::smol::connect_with(&format!("ws://{addr}/"), &options)
            .await
            .unwrap();
        let chunk = Message::Binary(pattern(64 * 1024, 1).into());
        let mut sent = 0usize;
        let blocked = loop {
            assert!(
                sent < 256 << 20,
                "256 MiB went out to a peer that reads nothing"
            );
            let send = async {
                socket.send(chunk.clone()).await.unwrap();
                Some(())
            };
            let timeout = async {
                smol::Timer::after(Duration::from_millis(300)).await;
                None
            };
            match future::or(send, timeout).await {
                Some(()) => sent += chunk.len(),
                None => break sent,
            }
        };
        // The kernel's buffers took some; then sending waited with at most one message
        // over the mark held in the connection.
        let buffered = socket.connection().with(|m| m.buffered_amount());
        assert!(
            buffered <= high_water + chunk.len() + 14,
            "{buffered} bytes held"
        );
        assert!(blocked > 0);
        stop.send(()).unwrap();
        peer.join().unwrap();
        assert!(
            socket.recv().await.is_err(),
            "the peer left without a close"
        );
    });
}

#[test]
fn pings_are_answered_while_the_application_only_writes() {
    bounded("pings", async {
        let (listener, url) = listen().await;
        let config = Config {
            ping_interval: Some(Duration::from_millis(20)),
            pong_timeout: Duration::from_millis(150),
            ..Config::default()
        };
        let server = smol::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let options = ServerOptions::default().config(config);
            let mut socket = ws::smol::accept(stream, &options).await.unwrap();
            let mut received = 0;
            while socket.recv().await?.is_some() {
                received += 1;
            }
            Ok::<_, Error>(received)
        });
        let mut socket = ws::smol::connect(&url).await.unwrap();
        let until = Instant::now() + Duration::from_millis(800);
        let mut sent = 0;
        while Instant::now() < until {
            socket.send(format!("tick {sent}")).await.unwrap();
            sent += 1;
            smol::Timer::after(Duration::from_millis(10)).await;
        }
        socket.close(CloseCode::NORMAL, "").await.unwrap();
        assert_eq!(
            server.await.unwrap(),
            sent,
            "no pong timeout ended it early"
        );
    });
}

#[test]
fn cancelled_receives_lose_no_message() {
    bounded("cancel", async {
        let (listener, url) = listen().await;
        const COUNT: usize = 300;
        let server = smol::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let mut socket = ws::smol::accept(stream, &ServerOptions::default())
                .await
                .unwrap();
            for i in 0..COUNT {
                socket.send(format!("{i}")).await.unwrap();
                if i % 7 == 0 {
                    smol::Timer::after(Duration::from_millis(1)).await;
                }
            }
            socket.close(CloseCode::NORMAL, "").await
        });
        let mut socket = ws::smol::connect(&url).await.unwrap();
        let mut next = 0;
        let mut cancelled = 0;
        while next < COUNT {
            let recv = async { Some(socket.recv().await) };
            let timeout = async {
                smol::Timer::after(Duration::from_micros(200)).await;
                None
            };
            match future::or(recv, timeout).await {
                Some(message) => {
                    assert_eq!(
                        message.unwrap(),
                        Some(Message::Text(format!("{next}").into()))
                    );
                    next += 1;
                }
                None => cancelled += 1,
            }
        }
        assert_eq!(socket.recv().await.unwrap(), None);
        server.await.unwrap();
        println!("{cancelled} receives were cancelled");
    });
}

#[test]
fn a_silent_client_meets_the_handshake_timeout() {
    bounded("handshake timeout", async {
        let (listener, _) = listen().await;
        let addr = listener.local_addr().unwrap();
        let _silent = std::net::TcpStream::connect(addr).unwrap();
        let (stream, _) = listener.accept().await.unwrap();
        let config = Config {
            handshake_timeout: Some(Duration::from_millis(200)),
            ..Config::default()
        };
        let start = Instant::now();
        let error = ws::smol::accept(stream, &ServerOptions::default().config(config))
            .await
            .unwrap_err();
        assert!(
            matches!(
                error,
                Error::Closed(CloseReason::Timeout(TimeoutKind::Handshake))
            ),
            "{error:?}"
        );
        assert!(start.elapsed() >= Duration::from_millis(200));
    });
}

#[test]
fn connect_errors_are_typed() {
    bounded("errors", async {
        for url in ["http://127.0.0.1/", "ws://127.0.0.1:x/", "wss://[::1/"] {
            let error = ws::smol::connect(url).await.unwrap_err();
            assert!(matches!(error, Error::InvalidUrl(_)), "{url}: {error:?}");
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port(); // closed again: nothing listens there now
        let error = ws::smol::connect(&format!("ws://127.0.0.1:{port}/"))
            .await
            .unwrap_err();
        assert!(
            matches!(&error, Error::Io(e) if e.kind() == std::io::ErrorKind::ConnectionRefused),
            "{error:?}"
        );
    });
}

#[test]
fn dropping_the_socket_closes_with_going_away() {
    bounded("drop", async {
        let (listener, url) = listen().await;
        let server = echo_server(listener, ServerOptions::default(), ws::accept_all);
        let socket: WebSocket = ws::smol::connect(&url).await.unwrap();
        drop(socket);
        let (result, close) = server.await;
        result.unwrap();
        assert_eq!(close, Some((Some(CloseCode::GOING_AWAY), String::new())));
    });
}

#[test]
fn streaming_delivery_hands_out_pieces() {
    bounded("pieces", async {
        let (listener, url) = listen().await;
        const PIECE: usize = 64 * 1024;
        let config = Config {
            piece_size: Some(PIECE),
            ..Config::default()
        };
        let payload = pattern(1 << 20, 3);
        let expected = payload.clone();
        let server = smol::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let options = ServerOptions::default().config(config);
            let mut socket = ws::smol::accept(stream, &options).await.unwrap();
            // `recv` refuses a piece without losing it.
            assert!(matches!(socket.recv().await, Err(Error::PieceReceived)));
            let mut received = Vec::new();
            let mut kinds = Vec::new();
            loop {
                let (piece, kind) = socket.recv_piece().await.unwrap().unwrap();
                received.extend_from_slice(piece.as_bytes());
                if kind != Piece::Last {
                    // A piece goes out once a piece's worth is held, with all that is held.
                    let len = piece.as_bytes().len();
                    assert!((PIECE..2 * PIECE).contains(&len), "a piece of {len} bytes");
                }
                kinds.push(kind);
                if kind == Piece::Last {
                    break;
                }
            }
            let small = socket.recv_piece().await.unwrap().unwrap();
            (received, kinds, small)
        });
        let mut socket = ws::smol::connect(&url).await.unwrap();
        socket.send(payload).await.unwrap();
        socket.send("small").await.unwrap();
        let (received, kinds, small) = server.await;
        assert_eq!(received, expected);
        assert_eq!(kinds[0], Piece::First);
        assert!(
            kinds[1..kinds.len() - 1]
                .iter()
                .all(|k| *k == Piece::Middle)
        );
        assert!(
            kinds.len() > (1 << 20) / (2 * PIECE),
            "{} pieces",
            kinds.len()
        );
        assert_eq!(small, (Message::from("small"), Piece::Whole));
        socket.close(CloseCode::NORMAL, "").await.unwrap();
    });
}

/// RFC 6455 §7.1.1: the server closes the TCP connection first. After a peer's fault the
/// server sends its close (1002) and keeps reading until the peer's end, so it must have
/// sent its FIN: a driver whose shutdown sent none (async-io's `poll_close` only flushes)
/// left this client and the server each waiting for the other (Autobahn 2.5 caught it).
/// The client waits at most LIMIT, less than the server's close timeout.
#[test]
fn after_a_fault_the_server_sends_its_fin() {
    use std::io::{Read, Write};
    for inline in [false, true] {
        let (listener, _) = bounded("listen", listen());
        let address = listener.local_addr().unwrap();
        let client = std::thread::spawn(move || {
            let mut stream = std::net::TcpStream::connect(address).unwrap();
            stream.set_read_timeout(Some(LIMIT)).unwrap();
            upgrade_as_client(&mut stream);
            // A ping longer than 125 bytes: a protocol error (RFC 6455 §5.5).
            let mut ping = vec![0x89, 0x80 | 126, 0, 126, 0, 0, 0, 0];
            ping.extend([0u8; 126]);
            stream.write_all(&ping).unwrap();
            let mut close = [0u8; 4];
            stream.read_exact(&mut close).unwrap();
            assert_eq!(close, [0x88, 0x02, 0x03, 0xea], "a close with 1002");
            stream
                .write_all(&[0x88, 0x82, 1, 2, 3, 4, 0x03 ^ 1, 0xea ^ 2])
                .unwrap();
            let mut rest = Vec::new();
            stream
                .read_to_end(&mut rest)
                .expect("the server's FIN, not a timeout");
            assert!(rest.is_empty(), "{rest:?}");
        });
        bounded("fault", async {
            let (stream, _) = listener.accept().await.unwrap();
            let mut options = ServerOptions::default();
            std::sync::Arc::make_mut(&mut options.config).close_timeout = 3 * LIMIT;
            if inline {
                let mut socket = ws::smol::accept_inline(stream, &options, ws::accept_all)
                    .await
                    .unwrap();
                assert!(socket.recv().await.is_err());
                let _ = socket.close(CloseCode::NORMAL, "").await;
            } else {
                let mut socket = ws::smol::accept(stream, &options).await.unwrap();
                assert!(socket.recv().await.is_err());
                let _ = socket.close(CloseCode::NORMAL, "").await;
            }
        });
        client.join().unwrap();
    }
}
