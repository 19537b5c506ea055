//! WebSocket over TLS (`wss://`) on loopback, on every runtime: echo through the TLS layer,
//! certificates refused for the right reason (unknown issuer, wrong name, a missing client
//! certificate), client certificates accepted, and the handshake timeout.

use std::future::Future;
use std::net::TcpListener as StdListener;
use std::sync::mpsc;
use std::time::Duration;

use futures_lite::future;
use wirestate::core::ws::{CloseCode, Message};
use wirestate::tls::{ServerConfig, TlsError};
use wirestate::ws::{self, ClientOptions, Error, ServerOptions};
use wirestate_tests::pki::Pki;
use wirestate_tests::{LIMIT, pattern};

fn bounded<T>(what: &str, future: impl Future<Output = T>) -> T {
    smol::block_on(future::or(async { Some(future.await) }, async {
        smol::Timer::after(LIMIT).await;
        None
    }))
    .unwrap_or_else(|| panic!("{what} did not finish within {LIMIT:?}"))
}

/// A smol echo server for one connection over TLS; reports how accepting went.
fn smol_server(config: ServerConfig) -> (String, smol::Task<Result<(), Error>>) {
    let listener = StdListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let listener = smol::net::TcpListener::try_from(listener).unwrap();
    let task = smol::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let options = ServerOptions::default().tls(config);
        let mut socket = ws::smol::accept(stream, &options).await?;
        while let Some(message) = socket.recv().await? {
            socket.send(message).await?;
        }
        Ok(())
    });
    (format!("wss://localhost:{port}/echo"), task)
}

fn tls_error(result: Result<impl std::fmt::Debug, Error>) -> TlsError {
    match result {
        Err(Error::Tls(error)) => error,
        other => panic!("expected a TLS error, got {other:?}"),
    }
}

/// Text, a large binary message and a clean close, through TLS both ways.
async fn echo_round(socket: &mut ws::WebSocket) {
    socket.send("hello over TLS").await.unwrap();
    let reply = socket.recv().await.unwrap().unwrap();
    assert_eq!(reply.as_text(), Some("hello over TLS"));
    let big = pattern(1 << 20, 7);
    socket
        .send(Message::Binary(big.clone().into()))
        .await
        .unwrap();
    let reply = socket.recv().await.unwrap().unwrap();
    assert_eq!(reply.as_bytes(), &big[..]);
}

#[test]
fn smol_wss_echo_with_alpn_and_clean_close() {
    let pki = Pki::new();
    let (url, server) = smol_server(pki.server_config());
    bounded("wss echo", async {
        let options = ClientOptions::default().tls(pki.client_config());
        let mut socket = ws::smol::connect_with(&url, &options).await.unwrap();
        let alpn = socket.connection().with(|m| {
            m.tls_layer()
                .and_then(|t| t.alpn_protocol())
                .map(<[u8]>::to_vec)
        });
        assert_eq!(alpn, None, "the server offered no ALPN");
        echo_round(&mut socket).await;
        socket.close(CloseCode::NORMAL, "done").await.unwrap();
        server.await.unwrap();
    });
}

#[test]
fn smol_wss_alpn_http11_is_negotiated() {
    let pki = Pki::new();
    let config = ServerConfig::builder(pki.server_identity())
        .alpn([b"http/1.1".to_vec()])
        .build()
        .unwrap();
    let (url, server) = smol_server(config);
    bounded("wss alpn", async {
        let options = ClientOptions::default().tls(pki.client_config());
        let mut socket = ws::smol::connect_with(&url, &options).await.unwrap();
        let alpn = socket.connection().with(|m| {
            m.tls_layer()
                .and_then(|t| t.alpn_protocol())
                .map(<[u8]>::to_vec)
        });
        assert_eq!(alpn.as_deref(), Some(&b"http/1.1"[..]));
        socket.close(CloseCode::NORMAL, "").await.unwrap();
        server.await.unwrap();
    });
}

#[test]
fn smol_unknown_issuer_is_refused_on_both_sides() {
    let pki = Pki::new();
    let (url, server) = smol_server(pki.stranger_config());
    bounded("unknown issuer", async {
        let options = ClientOptions::default().tls(pki.client_config());
        let error = tls_error(ws::smol::connect_with(&url, &options).await);
        assert_eq!(error, TlsError::UnknownIssuer);
        assert!(error.is_certificate_error());
        // The client's alert reaches the server, which fails with it.
        let server_error = tls_error(server.await);
        assert!(
            matches!(server_error, TlsError::Alert(_)),
            "{server_error:?}"
        );
    });
}

#[test]
fn smol_name_mismatch_is_refused() {
    let pki = Pki::new();
    let (url, server) = smol_server(pki.elsewhere_config());
    bounded("name mismatch", async {
        let options = ClientOptions::default().tls(pki.client_config());
        let error = tls_error(ws::smol::connect_with(&url, &options).await);
        assert_eq!(error, TlsError::NameMismatch);
        let _ = server.await;
    });
}

#[test]
fn smol_client_certificates_are_required_and_accepted() {
    let pki = Pki::new();
    let (url, server) = smol_server(pki.mutual_server_config());
    bounded("client certificate", async {
        let options = ClientOptions::default().tls(pki.mutual_client_config());
        let mut socket = ws::smol::connect_with(&url, &options).await.unwrap();
        echo_round(&mut socket).await;
        socket.close(CloseCode::NORMAL, "").await.unwrap();
        server.await.unwrap();
    });

    let (url, server) = smol_server(pki.mutual_server_config());
    bounded("no client certificate", async {
        let options = ClientOptions::default().tls(pki.client_config());
        // TLS 1.3: the client finishes its side first, so it may learn of the refusal from
        // the server's alert while waiting for the upgrade.
        let error = tls_error(ws::smol::connect_with(&url, &options).await);
        assert!(matches!(error, TlsError::Alert(_)), "{error:?}");
        assert_eq!(tls_error(server.await), TlsError::NoCertificate);
    });
}

#[test]
fn smol_handshake_timeout_is_typed_and_closes() {
    let listener = StdListener::bind("127.0.0.1:0").unwrap();
    let url = format!("wss://localhost:{}/", listener.local_addr().unwrap().port());
    let (stop, stopped) = mpsc::channel::<()>();
    let silent = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let _ = stopped.recv_timeout(LIMIT);
        // The client gave up: its side of the socket is closed.
        let mut buf = [0u8; 4096];
        use std::io::Read;
        while matches!(stream.read(&mut buf), Ok(1..)) {}
    });
    let pki = Pki::new();
    bounded("handshake timeout", async {
        let config = pki
            .client_config()
            .with_handshake_timeout(Duration::from_millis(200));
        let options = ClientOptions::default().tls(config);
        let error = tls_error(ws::smol::connect_with(&url, &options).await);
        assert_eq!(
            error,
            TlsError::HandshakeTimeout(Duration::from_millis(200))
        );
    });
    stop.send(()).unwrap();
    silent.join().unwrap();
}

#[test]
fn tokio_wss_echo_and_unknown_issuer() {
    let pki = Pki::new();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        tokio::time::timeout(LIMIT, async {
            for (config, trusted) in [(pki.server_config(), true), (pki.stranger_config(), false)] {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                let url = format!("wss://localhost:{}/", listener.local_addr().unwrap().port());
                let server = tokio::spawn(async move {
                    let (stream, _) = listener.accept().await.unwrap();
                    let options = ServerOptions::default().tls(config);
                    let mut socket = ws::tokio::accept(stream, &options).await?;
                    while let Some(message) = socket.recv().await? {
                        socket.send(message).await?;
                    }
                    Ok::<(), Error>(())
                });
                let options = ClientOptions::default().tls(pki.client_config());
                let result = ws::tokio::connect_with(&url, &options).await;
                if trusted {
                    let mut socket = result.unwrap();
                    echo_round(&mut socket).await;
                    socket.close(CloseCode::NORMAL, "").await.unwrap();
                    server.await.unwrap().unwrap();
                } else {
                    assert_eq!(tls_error(result), TlsError::UnknownIssuer);
                    assert!(server.await.unwrap().is_err());
                }
            }
        })
        .await
        .expect("tokio wss within the limit");
    });
}

#[test]
fn blocking_wss_echo_and_name_mismatch() {
    let pki = Pki::new();
    for (config, good) in [(pki.server_config(), true), (pki.elsewhere_config(), false)] {
        let listener = StdListener::bind("127.0.0.1:0").unwrap();
        let url = format!("wss://localhost:{}/", listener.local_addr().unwrap().port());
        let server = std::thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            let options = ServerOptions::default().tls(config);
            let mut socket = ws::blocking::accept(stream, &options)?;
            while let Some(message) = socket.recv()? {
                socket.send(message)?;
            }
            Ok::<(), Error>(())
        });
        let options = ClientOptions::default().tls(pki.client_config());
        let result = ws::blocking::connect_with(&url, &options);
        if good {
            let mut socket = result.unwrap();
            socket.send("blocking over TLS").unwrap();
            let reply = socket.recv_timeout(LIMIT).unwrap().unwrap();
            assert_eq!(reply.as_text(), Some("blocking over TLS"));
            socket.close(CloseCode::NORMAL, "").unwrap();
            server.join().unwrap().unwrap();
        } else {
            assert_eq!(tls_error(result), TlsError::NameMismatch);
            assert!(server.join().unwrap().is_err());
        }
    }
}

#[test]
fn wss_without_a_config_uses_platform_roots_and_refuses_a_test_certificate() {
    let pki = Pki::new();
    let (url, server) = smol_server(pki.server_config());
    bounded("platform roots", async {
        match ws::smol::connect(&url).await {
            Err(Error::Tls(TlsError::UnknownIssuer)) => {}
            // A machine without any platform roots cannot build the default config.
            Err(Error::Tls(TlsError::Config(_))) => return,
            other => panic!("expected the test CA to be unknown, got {other:?}"),
        }
        let _ = server.await;
    });
}
