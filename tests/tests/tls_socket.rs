//! Byte-channel sockets over TLS (Ktor's `socket.tls()`, and the server side Ktor lacks) on
//! smol, tokio and blocking std: line echo and bulk data through the channels, half-close
//! carried as close_notify, and refused certificates as `io::Error`s that carry the
//! `TlsError`.

use std::io::{self, BufRead, Write};
use std::time::Duration;

use futures_lite::FutureExt;
use wirestate::chan::LineEnding;
use wirestate::net::{Blocking, Smol, Tokio, a_socket};
use wirestate::tls::TlsError;
use wirestate_tests::pki::Pki;
use wirestate_tests::{LIMIT, pattern};

fn bounded<T>(what: &str, future: impl std::future::Future<Output = T>) -> T {
    smol::block_on(future.or(async {
        smol::Timer::after(LIMIT).await;
        panic!("{what} did not finish within {LIMIT:?}")
    }))
}

fn tls_error(error: &io::Error) -> &TlsError {
    error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<TlsError>())
        .unwrap_or_else(|| panic!("expected a TLS error inside, got {error:?}"))
}

const BULK: usize = 1 << 20;

#[test]
fn smol_tls_line_echo_bulk_and_half_close() {
    let pki = Pki::new();
    let server_config = pki.server_config();
    bounded("smol tls socket", async {
        let server = a_socket(Smol).tcp().bind("127.0.0.1:0").await.unwrap();
        let addr = server.local_addr();
        let echo = smol::spawn(async move {
            let socket = server.accept().await.unwrap();
            let socket = wirestate::net::smol::tls_server(socket, &server_config)
                .await
                .unwrap();
            let (mut input, mut output) = socket.connection().unwrap();
            let mut line = String::new();
            while input
                .read_line(&mut line, 1024, LineEnding::Default)
                .await
                .unwrap()
            {
                output.write_str(&line).await.unwrap();
                output.write_str("\r\n").await.unwrap();
                output.flush().await.unwrap();
                line.clear();
            }
            // The client half-closed: send the bulk block, then close.
            output.write_all(&pattern(BULK, 3)).await.unwrap();
            output.flush_and_close().await.unwrap();
        });
        let socket = a_socket(Smol).tcp().connect(addr).await.unwrap();
        let socket = wirestate::net::smol::tls(socket, "localhost", &pki.client_config())
            .await
            .unwrap();
        let (mut input, mut output) = socket.connection().unwrap();
        output.write_str("hello\nworld\n").await.unwrap();
        output.flush().await.unwrap();
        let mut line = String::new();
        for expected in ["hello", "world"] {
            input
                .read_line(&mut line, 100, LineEnding::Default)
                .await
                .unwrap();
            assert_eq!(line, expected);
            line.clear();
        }
        output.close().unwrap();
        let mut rest = Vec::new();
        input.read_to_end(&mut rest, 2 * BULK).await.unwrap();
        assert_eq!(rest, pattern(BULK, 3));
        echo.await;
    });
}

#[test]
fn smol_tls_unknown_issuer_and_name_mismatch() {
    let pki = Pki::new();
    for (config, expected) in [
        (pki.stranger_config(), TlsError::UnknownIssuer),
        (pki.elsewhere_config(), TlsError::NameMismatch),
    ] {
        bounded("refused", async {
            let server = a_socket(Smol).tcp().bind("127.0.0.1:0").await.unwrap();
            let addr = server.local_addr();
            let accept = smol::spawn(async move {
                let socket = server.accept().await.unwrap();
                wirestate::net::smol::tls_server(socket, &config).await
            });
            let socket = a_socket(Smol).tcp().connect(addr).await.unwrap();
            let error = wirestate::net::smol::tls(socket, "localhost", &pki.client_config())
                .await
                .unwrap_err();
            assert_eq!(error.kind(), io::ErrorKind::InvalidData);
            assert_eq!(tls_error(&error), &expected);
            let server_error = accept.await.unwrap_err();
            assert!(
                matches!(tls_error(&server_error), TlsError::Alert(_)),
                "{server_error:?}"
            );
        });
    }
}

#[test]
fn tokio_tls_echo_and_client_certificates() {
    let pki = Pki::new();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        tokio::time::timeout(LIMIT, async {
            let server = a_socket(Tokio).tcp().bind("127.0.0.1:0").await.unwrap();
            let addr = server.local_addr();
            let config = pki.mutual_server_config();
            let echo = tokio::spawn(async move {
                let socket = server.accept().await.unwrap();
                let socket = wirestate::net::tokio::tls_server(socket, &config)
                    .await
                    .unwrap();
                let (mut input, mut output) = socket.connection().unwrap();
                let mut data = Vec::new();
                input.read_to_end(&mut data, 2 * BULK).await.unwrap();
                output.write_all(&data).await.unwrap();
                output.flush_and_close().await.unwrap();
            });
            let socket = a_socket(Tokio).tcp().connect(addr).await.unwrap();
            let socket =
                wirestate::net::tokio::tls(socket, "localhost", &pki.mutual_client_config())
                    .await
                    .unwrap();
            let (mut input, mut output) = socket.connection().unwrap();
            output.write_all(&pattern(BULK, 9)).await.unwrap();
            output.flush_and_close().await.unwrap();
            let mut back = Vec::new();
            input.read_to_end(&mut back, 2 * BULK).await.unwrap();
            assert_eq!(back, pattern(BULK, 9));
            echo.await.unwrap();
        })
        .await
        .expect("tokio tls socket within the limit");
    });
}

#[test]
fn blocking_tls_echo_and_handshake_timeout() {
    let pki = Pki::new();
    let server = a_socket(Blocking).tcp().bind("127.0.0.1:0").unwrap();
    let addr = server.local_addr();
    let config = pki.server_config();
    let echo = std::thread::spawn(move || {
        let socket = server.accept().unwrap();
        let socket = wirestate::net::blocking::tls_server(socket, &config).unwrap();
        let (mut input, mut output) = socket.connection().unwrap();
        let (mut input, mut output) = (input.blocking(), output.blocking());
        let mut line = String::new();
        while input.read_line(&mut line).unwrap() > 0 {
            output.write_all(line.as_bytes()).unwrap();
            output.flush().unwrap();
            line.clear();
        }
        output.close().unwrap();
    });
    let socket = a_socket(Blocking).tcp().connect(addr).unwrap();
    let socket = wirestate::net::blocking::tls(socket, "localhost", &pki.client_config()).unwrap();
    let (mut input, mut output) = socket.connection().unwrap();
    let (mut input, mut output) = (input.blocking(), output.blocking());
    output.write_all(b"blocking tls\n").unwrap();
    output.flush().unwrap();
    let mut line = String::new();
    input.read_line(&mut line).unwrap();
    assert_eq!(line, "blocking tls\n");
    output.close().unwrap();
    line.clear();
    assert_eq!(input.read_line(&mut line).unwrap(), 0, "the server's end");
    echo.join().unwrap();

    // A server that never answers: the handshake times out, typed.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = silent.local_addr().unwrap();
    let socket = a_socket(Blocking).tcp().connect(addr).unwrap();
    let (_held, _) = silent.accept().unwrap();
    let config = pki
        .client_config()
        .with_handshake_timeout(Duration::from_millis(200));
    let error = wirestate::net::blocking::tls(socket, "localhost", &config).unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::TimedOut);
    assert_eq!(
        tls_error(&error),
        &TlsError::HandshakeTimeout(Duration::from_millis(200))
    );
}
