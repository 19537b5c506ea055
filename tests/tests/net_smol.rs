//! Sockets on smol over real loopback sockets.

use std::io;
use std::time::Duration;

use futures_lite::FutureExt;
use wirestate::chan::LineEnding;
use wirestate::net::{Datagram, Smol, a_socket};
use wirestate_tests::pattern;

const LIMIT: Duration = Duration::from_secs(20);

fn bounded<T>(what: &str, future: impl std::future::Future<Output = T>) -> T {
    smol::block_on(future.or(async {
        smol::Timer::after(LIMIT).await;
        panic!("{what} did not finish within {LIMIT:?}")
    }))
}

#[test]
fn tcp_echo_through_channels() {
    bounded("echo", async {
        let server = a_socket(Smol).tcp().bind("127.0.0.1:0").await.unwrap();
        let addr = server.local_addr();
        let echo = smol::spawn(async move {
            let socket = server.accept().await.unwrap();
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
            output.close().unwrap();
        });
        let socket = a_socket(Smol).tcp().connect(addr).await.unwrap();
        let (mut input, mut output) = socket.connection().unwrap();
        output.write_str("hello\nworld\n").await.unwrap();
        output.flush().await.unwrap();
        let mut line = String::new();
        input
            .read_line(&mut line, 100, LineEnding::Default)
            .await
            .unwrap();
        assert_eq!(line, "hello");
        // Half-close: the server sees the end, answers what was left, then closes.
        output.close().unwrap();
        let mut rest = Vec::new();
        input.read_to_end(&mut rest, 1 << 20).await.unwrap();
        assert_eq!(rest, b"world\r\n");
        echo.await;
    });
}

#[test]
fn bulk_transfer_both_ways() {
    bounded("bulk", async {
        let server = a_socket(Smol).tcp().bind("127.0.0.1:0").await.unwrap();
        let addr = server.local_addr();
        let data = pattern(4 << 20, 3);
        let expected = data.clone();
        let sink = smol::spawn(async move {
            let socket = server.accept().await.unwrap();
            let mut input = socket.open_read_channel().unwrap();
            let mut got = Vec::new();
            input.read_to_end(&mut got, 8 << 20).await.unwrap();
            got
        });
        let socket = a_socket(Smol).tcp().connect(addr).await.unwrap();
        let mut output = socket.open_write_channel(false).unwrap();
        output.write_all(&data).await.unwrap();
        output.flush_and_close().await.unwrap();
        assert!(sink.await == expected);
    });
}

#[test]
fn refused_connect_is_typed() {
    bounded("refused", async {
        // Bind then drop a listener: its port is very likely closed now.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let error = a_socket(Smol).tcp().connect(port).await.unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::ConnectionRefused, "{error}");
        assert!(error.to_string().contains(&port.to_string()), "{error}");
    });
}

#[test]
fn udp_round_trip() {
    bounded("udp", async {
        let server = a_socket(Smol).udp().bind("127.0.0.1:0").await.unwrap();
        let addr = server.local_addr().unwrap();
        let client = a_socket(Smol).udp().connect(addr, None).await.unwrap();
        client.send(b"ping").await.unwrap();
        let datagram = server.receive().await.unwrap();
        assert_eq!(&datagram.payload[..], b"ping");
        server
            .send(&Datagram::new(&b"pong"[..], datagram.address).unwrap())
            .await
            .unwrap();
        assert_eq!(&client.receive().await.unwrap()[..], b"pong");
        let too_big = Datagram::new(vec![0u8; 65_536], addr).unwrap_err();
        assert_eq!(too_big.kind(), io::ErrorKind::InvalidInput);
    });
}
