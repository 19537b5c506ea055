//! RSocket over loopback TCP (and WebSocket) on smol and tokio: every interaction both ways, the credit a
//! requester grants following its reading, fragmentation, cancel on drop, and a closed
//! connection failing what is pending. The server runs `rsocket_peer`'s responder.

use std::future::Future;
use std::sync::atomic::Ordering;
use std::time::Duration;

use futures_lite::{StreamExt, future};
use wirestate::core::bytes::Bytes;
use wirestate::core::rsocket::Payload;
use wirestate::core::rsocket::conn::Config;
use wirestate::rsocket::{self, Error, NoResponder, RSocket};
use wirestate_tests::LIMIT;
use wirestate_tests::rsocket_peer::{PeerResponder, peer_checks};

fn bounded<T>(what: &str, future: impl Future<Output = T>) -> T {
    smol::block_on(future::or(async { Some(future.await) }, async {
        smol::Timer::after(LIMIT).await;
        None
    }))
    .unwrap_or_else(|| panic!("{what} did not finish within {LIMIT:?}"))
}

/// A smol server with the peer responder; returns its address, the responder's counters
/// and a handle that gets the server-side RSocket of the first connection.
async fn smol_server(config: Config) -> (std::net::SocketAddr, PeerResponder, smol::Task<RSocket>) {
    let listener = smol::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let responder = PeerResponder::default();
    let served = responder.clone();
    let task = smol::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        rsocket::smol::accept(stream, config, served)
    });
    (addr, responder, task)
}

#[test]
fn every_interaction_on_smol() {
    bounded("smol", async {
        let (addr, responder, _server) = smol_server(Config::default()).await;
        let client = rsocket::smol::connect(addr, Config::default(), NoResponder)
            .await
            .unwrap();
        peer_checks(&client, &responder).await;
    });
}

#[test]
fn every_interaction_with_1024_byte_fragments() {
    bounded("fragments", async {
        let config = Config {
            fragment_size: Some(1024),
            ..Config::default()
        };
        let (addr, responder, _server) = smol_server(config.clone()).await;
        let client = rsocket::smol::connect(addr, config, NoResponder)
            .await
            .unwrap();
        peer_checks(&client, &responder).await;
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_interaction_on_tokio() {
    tokio::time::timeout(LIMIT, async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let responder = PeerResponder::default();
        let served = responder.clone();
        tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let _socket = rsocket::tokio::accept(stream, Config::default(), served);
            std::future::pending::<()>().await;
        });
        let client = rsocket::tokio::connect(addr, Config::default(), NoResponder)
            .await
            .unwrap();
        peer_checks(&client, &responder).await;
    })
    .await
    .expect("within the limit");
}

#[test]
fn the_server_requests_the_client_too() {
    bounded("server to client", async {
        let (addr, _, server) = smol_server(Config::default()).await;
        let client_responder = PeerResponder::default();
        let _client = rsocket::smol::connect(addr, Config::default(), client_responder)
            .await
            .unwrap();
        let server = server.await;
        let answer = server
            .request_response(Payload::data("from the server"))
            .await
            .unwrap();
        assert_eq!(answer.data, Bytes::from_static(b"echo:from the server"));
        let items = server
            .request_stream(Payload::data("3"), 1)
            .await
            .unwrap()
            .count()
            .await;
        assert_eq!(items, 3);
    });
}

#[test]
fn a_long_stream_follows_the_readers_pace_and_cancels_on_drop() {
    bounded("credit", async {
        let (addr, _, server) = smol_server(Config::default()).await;
        let client = rsocket::smol::connect(addr, Config::default(), NoResponder)
            .await
            .unwrap();
        let server = server.await;
        let mut items = client
            .request_stream(Payload::data("100000"), 8)
            .await
            .unwrap();
        for i in 0..20 {
            let item = items.next().await.unwrap().unwrap();
            assert_eq!(item.data, Bytes::from(format!("item-{i}")));
        }
        // The reader stops: the server holds what credit does not allow, within its mark.
        smol::Timer::after(Duration::from_millis(200)).await;
        let held = server.connection().with(|m| m.held_items(items.id()));
        assert!(held <= 64, "{held} items held");
        let id = items.id();
        drop(items); // cancels
        smol::Timer::after(Duration::from_millis(200)).await;
        assert!(
            !server.connection().with(|m| m.has_stream(id)),
            "the server dropped the stream"
        );
        let answer = client.request_response(Payload::data("ok")).await.unwrap();
        assert_eq!(answer.data, Bytes::from_static(b"echo:ok"));
    });
}

#[test]
fn a_closed_connection_fails_pending_and_new_requests() {
    bounded("close", async {
        let (addr, _, server) = smol_server(Config::default()).await;
        let client = rsocket::smol::connect(addr, Config::default(), NoResponder)
            .await
            .unwrap();
        let server = server.await;
        let mut items = client
            .request_stream(Payload::data("100000"), 1)
            .await
            .unwrap();
        assert!(items.next().await.unwrap().is_ok());
        server.close().unwrap();
        let mut ended = false;
        for _ in 0..10 {
            match items.next().await {
                Some(Ok(_)) => continue,
                Some(Err(Error::Closed(_))) | None => {
                    ended = true;
                    break;
                }
                Some(Err(other)) => panic!("{other:?}"),
            }
        }
        assert!(ended, "the stream ends with the connection");
        assert!(
            client
                .request_response(Payload::data("late"))
                .await
                .is_err()
        );
    });
}

#[test]
fn every_interaction_over_websocket() {
    bounded("websocket", async {
        let config = Config {
            fragment_size: Some(1024),
            ..Config::default()
        };
        let listener = smol::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let responder = PeerResponder::default();
        let served = responder.clone();
        let server_config = config.clone();
        let _server = smol::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            rsocket::smol::accept_ws(stream, server_config, served)
        });
        let client = rsocket::smol::connect_ws(&format!("ws://{addr}/"), config, NoResponder)
            .await
            .unwrap();
        peer_checks(&client, &responder).await;
    });
}

#[test]
fn a_blocking_client_against_a_smol_server() {
    let (addr, responder) = bounded("server", async {
        let (addr, responder, server) = smol_server(Config::default()).await;
        server.detach(); // the connection lives on in its own tasks
        (addr, responder)
    });
    let client = rsocket::blocking::connect(addr, Config::default()).unwrap();
    let answer = client.request_response(Payload::data("blocking")).unwrap();
    assert_eq!(answer.data, Bytes::from_static(b"echo:blocking"));
    client.fire_and_forget(Payload::data("fnf")).unwrap();
    let items: Vec<Bytes> = client
        .request_stream(Payload::data("10"), 3)
        .unwrap()
        .map(|item| item.unwrap().data)
        .collect();
    assert_eq!(items.len(), 10);
    assert_eq!(items[9], Bytes::from_static(b"item-9"));
    // An early drop cancels; the connection goes on.
    let mut long = client.request_stream(Payload::data("100000"), 4).unwrap();
    assert!(long.next().unwrap().is_ok());
    drop(long);
    client.metadata_push(Bytes::from_static(b"push")).unwrap();
    assert_eq!(
        client
            .request_response(Payload::data("again"))
            .unwrap()
            .data,
        Bytes::from_static(b"echo:again")
    );
    let deadline = std::time::Instant::now() + LIMIT;
    while responder.metadata_push.load(Ordering::SeqCst) == 0
        && std::time::Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(responder.fire_and_forget.load(Ordering::SeqCst), 1);
    client.close().unwrap();
}

#[test]
fn dropping_the_last_client_handle_closes_the_connection() {
    bounded("drop", async {
        let (addr, _, server) = smol_server(Config::default()).await;
        let client = rsocket::smol::connect(addr, Config::default(), NoResponder)
            .await
            .unwrap();
        let server = server.await;
        client.request_response(Payload::data("hi")).await.unwrap();
        let copy = client.clone();
        drop(client);
        assert!(
            copy.request_response(Payload::data("still")).await.is_ok(),
            "a clone keeps it"
        );
        drop(copy);
        let deadline = std::time::Instant::now() + LIMIT;
        while server.connection().with(|m| !m.is_closed()) && std::time::Instant::now() < deadline {
            smol::Timer::after(Duration::from_millis(5)).await;
        }
        assert!(
            server.connection().with(|m| m.is_closed()),
            "the server saw the close"
        );
    });
}
