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

#[test]
fn many_concurrent_clients() {
    bounded("many clients", async {
        let server = a_socket(Smol).tcp().bind("127.0.0.1:0").await.unwrap();
        let addr = server.local_addr();
        let clients = 50;
        let acceptor = smol::spawn(async move {
            let mut served = Vec::new();
            for _ in 0..clients {
                let socket = server.accept().await.unwrap();
                served.push(smol::spawn(async move {
                    let (mut input, mut output) = socket.connection().unwrap();
                    let mut line = String::new();
                    while input
                        .read_line(&mut line, 1024, LineEnding::Default)
                        .await
                        .unwrap()
                    {
                        output.write_str(&format!("echo {line}\n")).await.unwrap();
                        output.flush().await.unwrap();
                        line.clear();
                    }
                    output.close().unwrap();
                }));
            }
            for task in served {
                task.await;
            }
        });
        let mut tasks = Vec::new();
        for id in 0..clients {
            tasks.push(smol::spawn(async move {
                let socket = a_socket(Smol).tcp().connect(addr).await.unwrap();
                let (mut input, mut output) = socket.connection().unwrap();
                for round in 0..5 {
                    output.write_str(&format!("{id}-{round}\n")).await.unwrap();
                    output.flush().await.unwrap();
                    let mut line = String::new();
                    input
                        .read_line(&mut line, 100, LineEnding::Default)
                        .await
                        .unwrap();
                    assert_eq!(line, format!("echo {id}-{round}"));
                }
                output.close().unwrap();
                let mut rest = Vec::new();
                input.read_to_end(&mut rest, 10).await.unwrap();
                assert!(rest.is_empty());
            }));
        }
        for task in tasks {
            task.await;
        }
        acceptor.await;
    });
}

#[test]
fn peer_reset_is_reported_with_its_kind() {
    bounded("reset", async {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let (connected, wait_connected) = std::sync::mpsc::channel::<()>();
        let peer = std::thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            socket2::SockRef::from(&stream)
                .set_linger(Some(Duration::ZERO))
                .unwrap();
            // Reset only once the client's connect has finished, or the connect would fail.
            wait_connected.recv_timeout(LIMIT).unwrap();
            drop(stream); // RST: linger 0
        });
        let socket = a_socket(Smol).tcp().connect(addr).await.unwrap();
        connected.send(()).unwrap();
        let (mut input, _output) = socket.connection().unwrap();
        let mut buf = [0u8; 16];
        let error = input.read_available(&mut buf).await.unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::ConnectionReset, "{error}");
        peer.join().unwrap();
    });
}

#[test]
fn socket_timeout_cancels_a_silent_read() {
    bounded("timeout", async {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let peer = std::thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            std::thread::sleep(Duration::from_millis(600)); // silent
            drop(stream);
        });
        let socket = a_socket(Smol)
            .socket_timeout(Some(Duration::from_millis(150)))
            .tcp()
            .connect(addr)
            .await
            .unwrap();
        let mut input = socket.open_read_channel().unwrap();
        let started = std::time::Instant::now();
        let mut buf = [0u8; 8];
        let error = input.read_available(&mut buf).await.unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::TimedOut, "{error}");
        assert!(
            started.elapsed() < Duration::from_millis(550),
            "{:?}",
            started.elapsed()
        );
        peer.join().unwrap();
    });
}

#[test]
fn channels_open_once() {
    bounded("open once", async {
        let server = a_socket(Smol).tcp().bind("127.0.0.1:0").await.unwrap();
        let socket = a_socket(Smol)
            .channel_capacity(4096)
            .tcp()
            .connect(server.local_addr())
            .await
            .unwrap();
        let input = socket.open_read_channel().unwrap();
        let output = socket.open_write_channel(true).unwrap();
        assert_eq!((input.capacity(), output.capacity()), (4096, 4096));
        assert!(output.auto_flush());
        assert_eq!(
            socket.open_read_channel().unwrap_err().kind(),
            io::ErrorKind::AlreadyExists
        );
        assert_eq!(
            socket.open_write_channel(false).unwrap_err().kind(),
            io::ErrorKind::AlreadyExists
        );
    });
}

#[cfg(unix)]
#[test]
fn unix_socket_echo() {
    bounded("unix", async {
        let path = std::env::temp_dir().join(format!("wirestate-smol-{}.sock", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let server = a_socket(Smol).unix().bind(&path).await.unwrap();
        let serve = smol::spawn(async move {
            let socket = server.accept().await.unwrap();
            let (mut input, mut output) = socket.connection().unwrap();
            input.copy_and_close(&mut output).await.unwrap();
        });
        let socket = a_socket(Smol).unix().connect(&path).await.unwrap();
        let (mut input, mut output) = socket.connection().unwrap();
        output.write_str("over a unix socket").await.unwrap();
        output.flush_and_close().await.unwrap();
        let mut echoed = Vec::new();
        input.read_to_end(&mut echoed, 1024).await.unwrap();
        assert_eq!(echoed, b"over a unix socket");
        serve.await;
        std::fs::remove_file(&path).unwrap();
    });
}

/// Every option reaches the kernel, on connected and on accepted sockets: read back with
/// `Socket::active_options`.
#[test]
fn options_are_applied() {
    const SEND: usize = 80_000;
    const RECEIVE: usize = 100_000;
    bounded("options", async {
        let server = a_socket(Smol)
            .keep_alive(Some(true))
            .receive_buffer_size(Some(RECEIVE))
            .tcp()
            .bind("127.0.0.1:0")
            .await
            .unwrap();
        let client = a_socket(Smol)
            .no_delay(true)
            .keep_alive(Some(true))
            .linger(Some(Duration::from_secs(3)))
            .type_of_service(0x10) // IPTOS_LOWDELAY
            .send_buffer_size(Some(SEND))
            .receive_buffer_size(Some(RECEIVE))
            .tcp()
            .connect(server.local_addr())
            .await
            .unwrap();
        let os = client.active_options().unwrap();
        assert_eq!(os.no_delay, Some(true));
        assert_eq!(os.keep_alive, Some(true));
        assert_eq!(os.linger, Some(Some(Duration::from_secs(3))));
        assert_eq!(os.type_of_service, Some(0x10));
        // Linux doubles the buffer sizes it is given.
        assert!(os.send_buffer_size >= SEND, "{os:?}");
        assert!(os.receive_buffer_size >= RECEIVE, "{os:?}");
        let plain = a_socket(Smol)
            .no_delay(false)
            .keep_alive(Some(false))
            .tcp()
            .connect(server.local_addr())
            .await
            .unwrap();
        let os = plain.active_options().unwrap();
        assert_eq!((os.no_delay, os.keep_alive), (Some(false), Some(false)));
        for _ in 0..2 {
            let accepted = server.accept().await.unwrap().active_options().unwrap();
            assert_eq!(accepted.no_delay, Some(true), "the default no_delay");
            assert_eq!(accepted.keep_alive, Some(true));
            assert!(accepted.receive_buffer_size >= RECEIVE, "{accepted:?}");
        }
    });
}

#[test]
fn address_in_use_is_typed() {
    bounded("address in use", async {
        let first = a_socket(Smol).tcp().bind("127.0.0.1:0").await.unwrap();
        let error = a_socket(Smol)
            .tcp()
            .bind(first.local_addr())
            .await
            .unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::AddrInUse, "{error}");
        assert!(
            error.to_string().contains(&first.local_addr().to_string()),
            "{error}"
        );
    });
}

/// `broadcast` is really set: Linux refuses a datagram to the loopback broadcast address
/// (127.255.255.255, which stays on `lo`) unless the socket has SO_BROADCAST.
#[cfg(target_os = "linux")]
#[test]
fn broadcast_option_allows_broadcast_sends() {
    bounded("broadcast", async {
        let target = a_socket(Smol).udp().bind("127.0.0.1:0").await.unwrap();
        let port = target.local_addr().unwrap().port();
        let to = std::net::SocketAddr::from(([127, 255, 255, 255], port));
        let plain = a_socket(Smol).udp().bind("127.0.0.1:0").await.unwrap();
        let refused = plain.send(&Datagram::new(&b"x"[..], to).unwrap()).await;
        assert_eq!(refused.unwrap_err().kind(), io::ErrorKind::PermissionDenied);
        let broadcaster = a_socket(Smol)
            .broadcast(true)
            .udp()
            .bind("127.0.0.1:0")
            .await
            .unwrap();
        broadcaster
            .send(&Datagram::new(&b"x"[..], to).unwrap())
            .await
            .unwrap();
    });
}
