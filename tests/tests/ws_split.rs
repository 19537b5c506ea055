//! The WebSocket's lock-free halves over loopback: a reader and a writer in two tasks
//! exchanging 100k messages with an echo server, messages sent right before a close, a
//! peer's fault that waits for the answers to the messages before it (as Autobahn 3.x,
//! 4.x and 5.15 require), and receive backpressure that still reaches TCP.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use futures_lite::future;
use wirestate::core::ws::{CloseCode, Config, Message};
use wirestate::ws::{self, ClientOptions, ServerOptions};
use wirestate_tests::LIMIT;
use wirestate_tests::ws_peers::{answer_upgrade, upgrade_as_client};

const MESSAGES: usize = 100_000;

/// The `i`th message of the exchange: texts and binaries of a few sizes.
fn message(i: usize) -> Message {
    match i % 4 {
        0 => Message::Text(format!("message {i}").into()),
        1 => Message::Binary(vec![i as u8; i % 300].into()),
        2 => Message::Binary(vec![(i >> 8) as u8; 2000].into()),
        _ => Message::Text("x".repeat(i % 130).into()),
    }
}

/// Runs `future` on smol, panicking if it takes longer than [`LIMIT`].
fn bounded_smol<T>(what: &str, future: impl Future<Output = T>) -> T {
    smol::block_on(future::or(async { Some(future.await) }, async {
        smol::Timer::after(LIMIT).await;
        None
    }))
    .unwrap_or_else(|| panic!("{what} did not finish within {LIMIT:?}"))
}

/// Echoes every message of one accepted connection (until the peer's close, after which
/// sending is refused); returns how many it received.
async fn echo(mut socket: ws::WebSocket) -> usize {
    let mut received = 0;
    while let Ok(Some(message)) = socket.recv().await {
        received += 1;
        match socket.send(message).await {
            Ok(()) | Err(ws::Error::AlreadyClosed) => {}
            Err(error) => panic!("the echo failed: {error}"),
        }
    }
    received
}

#[test]
fn smol_halves_exchange_100k_messages_from_two_tasks() {
    bounded_smol("the exchange", async {
        let listener = smol::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("ws://{}/", listener.local_addr().unwrap());
        let server = smol::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            echo(
                ws::smol::accept(stream, &ServerOptions::default())
                    .await
                    .unwrap(),
            )
            .await
        });
        let (mut reader, mut writer) = ws::smol::connect(&url).await.unwrap().split();
        let sender = smol::spawn(async move {
            for i in 0..MESSAGES {
                writer.send(message(i)).await.unwrap();
            }
            writer
        });
        for i in 0..MESSAGES {
            let got = reader.recv().await.unwrap().expect("an echo");
            assert_eq!(got, message(i), "message {i}");
        }
        let mut writer = sender.await;
        // Sent right before the close: it must reach the server ahead of the close frame
        // (the echo may not come back: the server's close echo can overtake it).
        writer.send("last").await.unwrap();
        writer.close(CloseCode::NORMAL, "done").await.unwrap();
        while let Some(echo) = reader.recv().await.unwrap() {
            assert_eq!(echo, Message::from("last"));
        }
        assert_eq!(server.await, MESSAGES + 1);
    });
}

#[test]
fn tokio_halves_exchange_100k_messages_from_two_tasks() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(3)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        tokio::time::timeout(LIMIT, async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let url = format!("ws://{}/", listener.local_addr().unwrap());
            let server = tokio::spawn(async move {
                let (stream, _) = listener.accept().await.unwrap();
                echo(
                    ws::tokio::accept(stream, &ServerOptions::default())
                        .await
                        .unwrap(),
                )
                .await
            });
            let (mut reader, mut writer) = ws::tokio::connect(&url).await.unwrap().split();
            let sender = tokio::spawn(async move {
                for i in 0..MESSAGES {
                    writer.send(message(i)).await.unwrap();
                }
                writer
            });
            for i in 0..MESSAGES {
                let got = reader.recv().await.unwrap().expect("an echo");
                assert_eq!(got, message(i), "message {i}");
            }
            let mut writer = sender.await.unwrap();
            writer.send("last").await.unwrap();
            writer.close(CloseCode::NORMAL, "done").await.unwrap();
            while let Some(echo) = reader.recv().await.unwrap() {
                assert_eq!(echo, Message::from("last"));
            }
            assert_eq!(server.await.unwrap(), MESSAGES + 1);
        })
        .await
        .expect("the exchange did not finish in time");
    });
}

/// A client frame with a zero mask key (so the payload goes as it is).
fn client_frame(first_byte: u8, payload: &[u8]) -> Vec<u8> {
    assert!(payload.len() < 126);
    let mut frame = vec![first_byte, 0x80 | payload.len() as u8, 0, 0, 0, 0];
    frame.extend_from_slice(payload);
    frame
}

/// Reads one server frame: its first byte and payload.
fn read_frame(stream: &mut TcpStream) -> (u8, Vec<u8>) {
    let mut head = [0u8; 2];
    stream.read_exact(&mut head).unwrap();
    assert_eq!(head[1] & 0x80, 0, "a server frame is not masked");
    let len = match head[1] & 0x7f {
        126 => {
            let mut len = [0u8; 2];
            stream.read_exact(&mut len).unwrap();
            u16::from_be_bytes(len) as usize
        }
        127 => {
            let mut len = [0u8; 8];
            stream.read_exact(&mut len).unwrap();
            u64::from_be_bytes(len) as usize
        }
        len => len as usize,
    };
    let mut payload = vec![0; len];
    stream.read_exact(&mut payload).unwrap();
    (head[0], payload)
}

/// A raw client sends two texts and a frame with a reserved bit set, in one write: the
/// server's echoes of both texts must come before its close frame with 1002.
fn fault_waits_for_the_answers(addr: std::net::SocketAddr) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(LIMIT)).unwrap();
    upgrade_as_client(&mut stream);
    let mut burst = client_frame(0x81, b"first");
    burst.extend(client_frame(0x81, b"second"));
    burst.extend(client_frame(0x81 | 0x40, b"bad: RSV1 without an extension"));
    stream.write_all(&burst).unwrap();
    assert_eq!(read_frame(&mut stream), (0x81, b"first".to_vec()));
    assert_eq!(read_frame(&mut stream), (0x81, b"second".to_vec()));
    let (first, payload) = read_frame(&mut stream);
    assert_eq!(first, 0x88, "a close frame");
    assert_eq!(payload[..2], 1002u16.to_be_bytes(), "protocol error");
}

#[test]
fn smol_a_fault_waits_for_the_answers_to_the_messages_before_it() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let listener = smol::net::TcpListener::try_from(listener).unwrap();
    let server = smol::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        echo(
            ws::smol::accept(stream, &ServerOptions::default())
                .await
                .unwrap(),
        )
        .await
    });
    fault_waits_for_the_answers(addr);
    assert_eq!(bounded_smol("the server", server), 2);
}

#[test]
fn tokio_a_fault_waits_for_the_answers_to_the_messages_before_it() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let server = runtime.spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        echo(
            ws::tokio::accept(stream, &ServerOptions::default())
                .await
                .unwrap(),
        )
        .await
    });
    fault_waits_for_the_answers(addr);
    let echoed = runtime.block_on(async { tokio::time::timeout(LIMIT, server).await });
    assert_eq!(echoed.unwrap().unwrap(), 2);
}

#[test]
fn blocking_a_fault_waits_for_the_answers_to_the_messages_before_it() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut socket = ws::blocking::accept(stream, &ServerOptions::default()).unwrap();
        let mut echoed = 0;
        while let Ok(Some(message)) = socket.recv() {
            socket.send(message).unwrap();
            echoed += 1;
        }
        echoed
    });
    fault_waits_for_the_answers(addr);
    assert_eq!(server.join().unwrap(), 2);
}

/// A server that floods binary frames of `size` bytes (the first 8 bytes number them)
/// until `count` went out, reporting on `blocked` how many bytes it had written when TCP
/// first held it back for a while.
fn flooding_server(
    count: usize,
    size: usize,
    blocked: mpsc::Sender<usize>,
) -> (std::net::SocketAddr, thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let handle = thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        answer_upgrade(&mut stream);
        stream
            .set_write_timeout(Some(Duration::from_millis(500)))
            .unwrap();
        let mut written = 0usize;
        let mut reported = false;
        for i in 0..count {
            let mut frame = vec![0x82, 127];
            frame.extend_from_slice(&(size as u64).to_be_bytes());
            frame.extend_from_slice(&(i as u64).to_be_bytes());
            frame.resize(frame.len() + size - 8, i as u8);
            let mut at = 0;
            while at < frame.len() {
                match stream.write(&frame[at..]) {
                    Ok(n) => {
                        at += n;
                        written += n;
                    }
                    Err(e)
                        if matches!(
                            e.kind(),
                            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                        ) =>
                    {
                        if !reported {
                            reported = true;
                            blocked.send(written).unwrap();
                        }
                    }
                    Err(e) => panic!("the flood failed: {e}"),
                }
            }
        }
        if !reported {
            blocked.send(written).unwrap();
        }
        // Wait for the client's close, then answer it.
        stream.set_read_timeout(Some(LIMIT)).unwrap();
        let mut rest = Vec::new();
        let _ = stream.read_to_end(&mut rest);
    });
    (addr, handle)
}

#[test]
fn receiving_meets_backpressure_while_the_application_does_not_read() {
    const COUNT: usize = 3072;
    const SIZE: usize = 16 * 1024; // 48 MiB in all
    let (blocked_tx, blocked_rx) = mpsc::channel();
    let (addr, peer) = flooding_server(COUNT, SIZE, blocked_tx);
    bounded_smol("the flood", async {
        let config = Config {
            max_message_size: 1 << 20,
            ..Config::default()
        };
        let options = ClientOptions::default().config(config);
        let mut socket = ws::smol::connect_with(&format!("ws://{addr}/"), &options)
            .await
            .unwrap();
        // Not reading: the connection's queues fill, then TCP holds the peer back.
        let written = smol::unblock(move || blocked_rx.recv_timeout(LIMIT))
            .await
            .expect("the peer was never held back");
        // The machine's budget (1 MiB) and the halves' queue (1 MiB) plus one message each,
        // and the kernel's socket buffers: far less than the 48 MiB on offer.
        assert!(
            written < 20 << 20,
            "{written} bytes were taken while the application read nothing"
        );
        for i in 0..COUNT {
            let Some(Message::Binary(payload)) = socket.recv().await.unwrap() else {
                panic!("message {i} is missing");
            };
            assert_eq!(payload.len(), SIZE);
            assert_eq!(payload[..8], (i as u64).to_be_bytes(), "message {i}");
        }
        let _ = socket.close(CloseCode::NORMAL, "").await;
    });
    peer.join().unwrap();
}
