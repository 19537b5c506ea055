//! RSocket over TLS on loopback: over TCP and over WebSocket (`wss://`) on smol and tokio,
//! the blocking client, every interaction through the TLS layer, and refused certificates
//! reported as TLS errors on both sides without leaving the connection half open.

use std::future::Future;

use futures_lite::future;
use wirestate::core::bytes::Bytes;
use wirestate::core::rsocket::Payload;
use wirestate::core::rsocket::conn::Config;
use wirestate::rsocket::{self, Error, NoResponder, RSocket};
use wirestate::tls::{ServerConfig, TlsError};
use wirestate_tests::LIMIT;
use wirestate_tests::pki::Pki;
use wirestate_tests::rsocket_peer::{PeerResponder, peer_checks};

fn bounded<T>(what: &str, future: impl Future<Output = T>) -> T {
    smol::block_on(future::or(async { Some(future.await) }, async {
        smol::Timer::after(LIMIT).await;
        None
    }))
    .unwrap_or_else(|| panic!("{what} did not finish within {LIMIT:?}"))
}

/// How a smol server accepts: TCP or WebSocket.
#[derive(Clone, Copy)]
enum Over {
    Tcp,
    WebSocket,
}

/// A smol server over TLS for one connection; the task yields how accepting went.
async fn smol_server(
    tls: ServerConfig,
    over: Over,
) -> (u16, PeerResponder, smol::Task<Result<RSocket, Error>>) {
    let listener = smol::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let responder = PeerResponder::default();
    let served = responder.clone();
    let task = smol::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        match over {
            Over::Tcp => rsocket::smol::accept_tls(stream, &tls, Config::default(), served).await,
            Over::WebSocket => {
                rsocket::smol::accept_wss(stream, &tls, Config::default(), served).await
            }
        }
    });
    (port, responder, task)
}

#[test]
fn every_interaction_over_tls_on_smol_tcp() {
    let pki = Pki::new();
    bounded("rsocket tls tcp", async {
        let (port, responder, server) = smol_server(pki.server_config(), Over::Tcp).await;
        let client = rsocket::smol::connect_tls(
            ("127.0.0.1", port),
            "localhost",
            &pki.client_config(),
            Config::default(),
            NoResponder,
        )
        .await
        .unwrap();
        peer_checks(&client, &responder).await;
        // Server-initiated requests travel the same TLS session the other way.
        let server = server.await.unwrap();
        let err = server
            .request_response(Payload::data("to the client"))
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Stream { .. }), "{err:?}");
    });
}

#[test]
fn every_interaction_over_wss_on_smol_with_fragments() {
    let pki = Pki::new();
    bounded("rsocket wss", async {
        let (port, responder, _server) = smol_server(pki.server_config(), Over::WebSocket).await;
        let config = Config {
            fragment_size: Some(1024),
            ..Config::default()
        };
        let client = rsocket::smol::connect_wss(
            &format!("wss://localhost:{port}/rsocket"),
            &pki.client_config(),
            config,
            NoResponder,
        )
        .await
        .unwrap();
        peer_checks(&client, &responder).await;
    });
}

#[test]
fn an_unknown_issuer_fails_connect_and_accept_with_tls_errors() {
    let pki = Pki::new();
    bounded("unknown issuer", async {
        let (port, _, server) = smol_server(pki.stranger_config(), Over::Tcp).await;
        let error = rsocket::smol::connect_tls(
            ("127.0.0.1", port),
            "localhost",
            &pki.client_config(),
            Config::default(),
            NoResponder,
        )
        .await
        .unwrap_err();
        assert_eq!(error, Error::Tls(TlsError::UnknownIssuer));
        let server_error = server.await.unwrap_err();
        assert!(
            matches!(server_error, Error::Tls(TlsError::Alert(_))),
            "{server_error:?}"
        );
    });
}

#[test]
fn every_interaction_over_tls_on_tokio_tcp_and_wss() {
    let pki = Pki::new();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        tokio::time::timeout(LIMIT, async {
            for over in [Over::Tcp, Over::WebSocket] {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                let port = listener.local_addr().unwrap().port();
                let responder = PeerResponder::default();
                let served = responder.clone();
                let tls = pki.server_config();
                let _server = tokio::spawn(async move {
                    let (stream, _) = listener.accept().await.unwrap();
                    match over {
                        Over::Tcp => {
                            rsocket::tokio::accept_tls(stream, &tls, Config::default(), served)
                                .await
                        }
                        Over::WebSocket => {
                            rsocket::tokio::accept_wss(stream, &tls, Config::default(), served)
                                .await
                        }
                    }
                });
                let client = match over {
                    Over::Tcp => {
                        rsocket::tokio::connect_tls(
                            ("127.0.0.1", port),
                            "localhost",
                            &pki.client_config(),
                            Config::default(),
                            NoResponder,
                        )
                        .await
                    }
                    Over::WebSocket => {
                        rsocket::tokio::connect_wss(
                            &format!("wss://localhost:{port}/"),
                            &pki.client_config(),
                            Config::default(),
                            NoResponder,
                        )
                        .await
                    }
                }
                .unwrap();
                peer_checks(&client, &responder).await;
            }
        })
        .await
        .expect("tokio rsocket tls within the limit");
    });
}

#[test]
fn the_blocking_client_over_tls() {
    let pki = Pki::new();
    let (port, _responder, server) = smol::block_on(smol_server(pki.server_config(), Over::Tcp));
    let runner = std::thread::spawn(move || smol::block_on(server));
    let client = rsocket::blocking::connect_tls(
        ("127.0.0.1", port),
        "localhost",
        &pki.client_config(),
        Config::default(),
    )
    .unwrap();
    let answer = client
        .request_response(Payload::data("blocking over TLS"))
        .unwrap();
    assert_eq!(answer.data, Bytes::from_static(b"echo:blocking over TLS"));
    let items: Vec<_> = client
        .request_stream(Payload::data("3"), 1)
        .unwrap()
        .map(|item| item.unwrap().data)
        .collect();
    assert_eq!(items, ["item-0", "item-1", "item-2"]);
    assert!(runner.join().unwrap().is_ok());

    // A wrong name is refused before any request.
    let (port, _, server) = smol::block_on(smol_server(pki.elsewhere_config(), Over::Tcp));
    let runner = std::thread::spawn(move || smol::block_on(server));
    let error = rsocket::blocking::connect_tls(
        ("127.0.0.1", port),
        "localhost",
        &pki.client_config(),
        Config::default(),
    )
    .unwrap_err();
    assert_eq!(error, Error::Tls(TlsError::NameMismatch));
    assert!(runner.join().unwrap().is_err());
}
