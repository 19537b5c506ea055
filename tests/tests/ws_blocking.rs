//! The blocking WebSocket API over loopback: echo, the message iterator, receive with a
//! timeout, close, a rejecting policy, and a blocking client against an async server.

use std::net::TcpListener;
use std::thread;
use std::time::{Duration, Instant};

use wirestate::core::http::{HandshakeError, Reject, UpgradeRequest};
use wirestate::core::ws::{CloseCode, Message};
use wirestate::ws::{self, Error, ServerOptions};
use wirestate_tests::pattern;

fn listen() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    (listener, url)
}

#[test]
fn echo_iterate_and_close() {
    let (listener, url) = listen();
    let server = thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut socket = ws::blocking::accept(stream, &ServerOptions::default()).unwrap();
        let mut count = 0;
        while let Some(message) = socket.recv().unwrap() {
            socket.send(message).unwrap();
            count += 1;
        }
        (count, socket.peer_close().map(|(code, _)| code))
    });
    let mut socket = ws::blocking::connect(&url).unwrap();
    let messages: Vec<Message> = (0..50)
        .map(|i| Message::Binary(pattern(i * 1000, i as u64).into()))
        .chain([Message::from("done")])
        .collect();
    for message in &messages {
        socket.send(message.clone()).unwrap();
    }
    let echoed: Vec<Message> = socket
        .by_ref()
        .take(messages.len())
        .map(Result::unwrap)
        .collect();
    assert_eq!(echoed, messages);

    // Nothing more arrives: a timed receive gives up without losing anything.
    let start = Instant::now();
    let error = socket.recv_timeout(Duration::from_millis(100)).unwrap_err();
    assert!(matches!(&error, Error::Io(e) if e.kind() == std::io::ErrorKind::TimedOut));
    assert!(start.elapsed() >= Duration::from_millis(100));
    socket.send("after the timeout").unwrap();
    assert_eq!(
        socket.recv_timeout(Duration::from_secs(10)).unwrap(),
        Some(Message::from("after the timeout"))
    );

    socket.close(CloseCode::NORMAL, "bye").unwrap();
    assert!(socket.next().is_none(), "the iterator ends");
    let (count, close) = server.join().unwrap();
    assert_eq!(count, messages.len() + 1);
    assert_eq!(close, Some(Some(CloseCode::NORMAL)));
}

#[test]
fn a_rejecting_policy_and_a_blocking_client() {
    let (listener, url) = listen();
    let server = thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let policy = |_: &UpgradeRequest| Err(Reject::new(404).body("no such chat"));
        ws::blocking::accept_with(stream, &ServerOptions::default(), policy).map(drop)
    });
    let error = ws::blocking::connect(&url).unwrap_err();
    assert!(
        matches!(
            error,
            Error::Handshake(HandshakeError::UnexpectedStatus { status: 404 })
        ),
        "{error:?}"
    );
    assert!(matches!(
        server.join().unwrap(),
        Err(Error::Rejected { status: 404 })
    ));
}

#[test]
fn a_blocking_client_talks_to_a_smol_server() {
    let (listener, url) = listen();
    let server = thread::spawn(move || {
        smol::block_on(async {
            let listener = smol::net::TcpListener::try_from(listener).unwrap();
            let (stream, _) = listener.accept().await.unwrap();
            let mut socket = ws::smol::accept(stream, &ServerOptions::default())
                .await
                .unwrap();
            while let Some(message) = socket.recv().await.unwrap() {
                socket.send(message).await.unwrap();
            }
        })
    });
    let mut socket = ws::blocking::connect(&url).unwrap();
    socket.send("across runtimes").unwrap();
    assert_eq!(
        socket.recv().unwrap(),
        Some(Message::from("across runtimes"))
    );
    socket.close(CloseCode::NORMAL, "").unwrap();
    server.join().unwrap();
}

#[test]
fn permessage_deflate_between_a_blocking_client_and_server() {
    use wirestate::core::ws::Config;
    use wirestate::core::ws::deflate::DeflateConfig;
    use wirestate::ws::ClientOptions;

    let deflate = Config {
        deflate: Some(DeflateConfig::default()),
        ..Config::default()
    };
    let (listener, url) = listen();
    let server = thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let options = ServerOptions::default().config(deflate);
        let mut socket = ws::blocking::accept(stream, &options).unwrap();
        let agreed = socket.is_compressed();
        while let Some(message) = socket.recv().unwrap() {
            socket.send(message).unwrap();
        }
        agreed
    });
    let mut socket =
        ws::blocking::connect_with(&url, &ClientOptions::default().config(deflate)).unwrap();
    assert!(
        socket.is_compressed(),
        "the client negotiated permessage-deflate"
    );
    let text = "compress me, compress me, compress me! ".repeat(1000);
    for message in [
        Message::from(text.as_str()),
        Message::Binary(pattern(200_000, 9).into()),
        Message::from("tiny"),
    ] {
        socket.send(message.clone()).unwrap();
        assert_eq!(socket.recv().unwrap(), Some(message));
    }
    socket.close(CloseCode::NORMAL, "").unwrap();
    assert!(
        server.join().unwrap(),
        "the server negotiated permessage-deflate"
    );
}
