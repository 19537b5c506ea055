//! Sockets on tokio over real loopback sockets. (That the options reach the kernel is a
//! unit test in `wirestate::net::tokio`, which can see the raw sockets.)

use std::future::Future;
use std::io;
use std::time::{Duration, Instant};

use wirestate::chan::LineEnding;
use wirestate::net::{Datagram, MAX_DATAGRAM, Tokio, a_socket};
use wirestate_tests::{LIMIT, pattern};

/// Runs `future`, panicking if it takes longer than [`LIMIT`].
async fn bounded<T>(what: &str, future: impl Future<Output = T>) -> T {
    match tokio::time::timeout(LIMIT, future).await {
        Ok(value) => value,
        Err(_) => panic!("{what} did not finish within {LIMIT:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_echo_through_channels() {
    bounded("echo", async {
        let server = a_socket(Tokio).tcp().bind("127.0.0.1:0").await.unwrap();
        let addr = server.local_addr();
        let echo = tokio::spawn(async move {
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
        let socket = a_socket(Tokio).tcp().connect(addr).await.unwrap();
        assert_eq!(socket.remote_address().inet(), Some(addr));
        let (mut input, mut output) = socket.connection().unwrap();
        output.write_str("hello\nworld\n").await.unwrap();
        output.flush().await.unwrap();
        let mut line = String::new();
        input
            .read_line(&mut line, 100, LineEnding::Default)
            .await
            .unwrap();
        assert_eq!(line, "hello");
        output.close().unwrap();
        let mut rest = Vec::new();
        input.read_to_end(&mut rest, 1 << 20).await.unwrap();
        assert_eq!(rest, b"world\r\n");
        echo.await.unwrap();
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_transfer_both_ways() {
    bounded("bulk", async {
        let server = a_socket(Tokio).tcp().bind("127.0.0.1:0").await.unwrap();
        let addr = server.local_addr();
        let echo = tokio::spawn(async move {
            let socket = server.accept().await.unwrap();
            let (mut input, mut output) = socket.connection().unwrap();
            input.copy_and_close(&mut output).await.unwrap()
        });
        let data = pattern(4 << 20, 7);
        let socket = a_socket(Tokio).tcp().connect(addr).await.unwrap();
        let (mut input, mut output) = socket.connection().unwrap();
        let sent = data.clone();
        let writer = tokio::spawn(async move {
            output.write_all(&sent).await.unwrap();
            output.flush_and_close().await.unwrap();
        });
        let mut echoed = Vec::new();
        input.read_to_end(&mut echoed, 8 << 20).await.unwrap();
        assert!(echoed == data, "echoed {} bytes", echoed.len());
        writer.await.unwrap();
        assert_eq!(echo.await.unwrap(), data.len() as u64);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_concurrent_clients() {
    const CLIENTS: usize = 50;
    const ROUNDS: usize = 5;
    bounded("many clients", async {
        let server = a_socket(Tokio).tcp().bind("127.0.0.1:0").await.unwrap();
        let addr = server.local_addr();
        let acceptor = tokio::spawn(async move {
            let mut served = Vec::new();
            for _ in 0..CLIENTS {
                let socket = server.accept().await.unwrap();
                served.push(tokio::spawn(async move {
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
                task.await.unwrap();
            }
        });
        let clients: Vec<_> = (0..CLIENTS)
            .map(|id| {
                tokio::spawn(async move {
                    let socket = a_socket(Tokio).tcp().connect(addr).await.unwrap();
                    let (mut input, mut output) = socket.connection().unwrap();
                    for round in 0..ROUNDS {
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
                })
            })
            .collect();
        for client in clients {
            client.await.unwrap();
        }
        acceptor.await.unwrap();
    })
    .await;
}

/// The client closes its write channel (FIN) and still reads the reply the server sends
/// after seeing that end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_close_still_receives_the_reply() {
    bounded("half-close", async {
        let server = a_socket(Tokio).tcp().bind("127.0.0.1:0").await.unwrap();
        let addr = server.local_addr();
        let answer = tokio::spawn(async move {
            let socket = server.accept().await.unwrap();
            let (mut input, mut output) = socket.connection().unwrap();
            let mut question = Vec::new();
            input.read_to_end(&mut question, 1024).await.unwrap();
            output.write_all(b"answer to ").await.unwrap();
            output.write_all(&question).await.unwrap();
            output.flush_and_close().await.unwrap();
        });
        let socket = a_socket(Tokio).tcp().connect(addr).await.unwrap();
        let (mut input, mut output) = socket.connection().unwrap();
        output.write_str("the question").await.unwrap();
        output.flush_and_close().await.unwrap();
        let mut reply = Vec::new();
        input.read_to_end(&mut reply, 1024).await.unwrap();
        assert_eq!(reply, b"answer to the question");
        answer.await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn refused_connect_is_typed() {
    bounded("refused", async {
        // Bind then drop a listener: its port is very likely closed now.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let error = a_socket(Tokio).tcp().connect(port).await.unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::ConnectionRefused, "{error}");
        assert!(error.to_string().contains(&port.to_string()), "{error}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peer_reset_is_reported_with_its_kind() {
    bounded("reset", async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (connected, reset) = tokio::sync::oneshot::channel::<()>();
        let peer = tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            socket2::SockRef::from(&stream)
                .set_linger(Some(Duration::ZERO))
                .unwrap();
            // Reset only once the client's connect completed: a reset that overtakes the
            // connect would fail the connect itself, with the same kind.
            let _ = reset.await;
            drop(stream); // linger 0: a RST instead of a FIN
        });
        let socket = a_socket(Tokio).tcp().connect(addr).await.unwrap();
        let (mut input, _output) = socket.connection().unwrap();
        connected.send(()).unwrap();
        peer.await.unwrap();
        let mut buf = [0u8; 16];
        match input.read_available(&mut buf).await {
            Ok(0) => {} // the channel ended: a platform that reports a reset as the end
            Ok(n) => panic!("read {n} bytes from a reset peer"),
            Err(error) => assert_eq!(error.kind(), io::ErrorKind::ConnectionReset, "{error}"),
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn socket_timeout_cancels_a_silent_read() {
    bounded("timeout", async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (release, released) = tokio::sync::oneshot::channel::<()>();
        let peer = tokio::spawn(async move {
            let (_stream, _) = listener.accept().await.unwrap();
            let _ = released.await; // silent until the client is done
        });
        let timeout = Duration::from_millis(200);
        let socket = a_socket(Tokio)
            .socket_timeout(Some(timeout))
            .tcp()
            .connect(addr)
            .await
            .unwrap();
        let mut input = socket.open_read_channel().unwrap();
        let started = Instant::now();
        let mut buf = [0u8; 8];
        let error = input.read_available(&mut buf).await.unwrap_err();
        let waited = started.elapsed();
        assert_eq!(error.kind(), io::ErrorKind::TimedOut, "{error}");
        assert!(waited >= timeout - Duration::from_millis(20), "{waited:?}");
        assert!(waited < Duration::from_secs(5), "{waited:?}");
        let _ = release.send(());
        peer.await.unwrap();
    })
    .await;
}

/// The read channel's reader reads the socket itself: large reads of an empty channel go
/// straight into the caller's buffer, the rest through the channel. Mixed, in every order,
/// the bytes arrive whole and in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_of_every_size_keep_the_bytes_in_order() {
    use futures_lite::AsyncBufReadExt;
    bounded("mixed reads", async {
        let data = pattern(6 << 20, 11);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let sent = data.clone();
        let peer = tokio::spawn(async move {
            use tokio::io::AsyncWriteExt;
            let (mut stream, _) = listener.accept().await.unwrap();
            // Uneven writes, so that reads find partial amounts.
            for piece in sent.chunks(70_001) {
                stream.write_all(piece).await.unwrap();
            }
            stream.shutdown().await.unwrap();
        });
        let socket = a_socket(Tokio).tcp().connect(addr).await.unwrap();
        let mut input = socket.open_read_channel().unwrap();
        let mut got = Vec::with_capacity(data.len());
        let mut big = vec![0u8; 64 * 1024];
        for turn in 0.. {
            let n = match turn % 4 {
                0 => input.read_available(&mut big).await.unwrap(), // straight into `big`
                1 => input.read_available(&mut big[..100]).await.unwrap(), // via the channel
                2 => {
                    let view = input.fill_buf().await.unwrap();
                    let n = view.len().min(30_000);
                    big[..n].copy_from_slice(&view[..n]);
                    input.consume_view(n);
                    n
                }
                _ => {
                    let n = 20_000.min(data.len() - got.len());
                    input.read_exact(&mut big[..n]).await.unwrap();
                    n
                }
            };
            if n == 0 {
                break;
            }
            got.extend_from_slice(&big[..n]);
        }
        assert!(
            got == data,
            "read {} of {} bytes, or out of order",
            got.len(),
            data.len()
        );
        assert_eq!(input.total_read(), data.len() as u64);
        peer.await.unwrap();
    })
    .await;
}

/// A tokio socket's reader may be used from a plain thread (its blocking view): it reads
/// the socket from there, and its socket timeout still works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_on_a_plain_thread_reads_and_times_out() {
    bounded("plain thread", async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (release, released) = tokio::sync::oneshot::channel::<()>();
        let peer = tokio::spawn(async move {
            use tokio::io::AsyncWriteExt;
            let (mut stream, _) = listener.accept().await.unwrap();
            stream.write_all(b"hello").await.unwrap();
            let _ = released.await; // then silent until the client is done
        });
        let timeout = Duration::from_millis(200);
        let socket = a_socket(Tokio)
            .socket_timeout(Some(timeout))
            .tcp()
            .connect(addr)
            .await
            .unwrap();
        let mut input = socket.open_read_channel().unwrap();
        let thread = std::thread::spawn(move || {
            use std::io::Read;
            let mut view = input.blocking();
            let mut buf = [0u8; 5];
            view.read_exact(&mut buf).unwrap();
            assert_eq!(&buf, b"hello");
            let started = Instant::now();
            let error = view.read(&mut buf).unwrap_err();
            (error.kind(), started.elapsed())
        });
        let (kind, waited) = tokio::task::spawn_blocking(move || thread.join().unwrap())
            .await
            .unwrap();
        assert_eq!(kind, io::ErrorKind::TimedOut);
        assert!(waited >= timeout - Duration::from_millis(20), "{waited:?}");
        let _ = release.send(());
        peer.await.unwrap();
    })
    .await;
}

/// `Socket::close` shuts both directions through its own handle while the pumps hold the
/// stream: the client's read channel ends and the server reads the end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_shuts_both_directions() {
    bounded("close", async {
        let server = a_socket(Tokio).tcp().bind("127.0.0.1:0").await.unwrap();
        let addr = server.local_addr();
        let peer = tokio::spawn(async move {
            let socket = server.accept().await.unwrap();
            let mut input = socket.open_read_channel().unwrap();
            let mut got = Vec::new();
            input.read_to_end(&mut got, 1024).await.unwrap();
            got
        });
        let socket = a_socket(Tokio).tcp().connect(addr).await.unwrap();
        let mut input = socket.open_read_channel().unwrap();
        socket.close().unwrap();
        let mut got = Vec::new();
        input.read_to_end(&mut got, 1024).await.unwrap();
        assert!(got.is_empty());
        assert!(peer.await.unwrap().is_empty());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn udp_round_trip() {
    bounded("udp", async {
        let server = a_socket(Tokio).udp().bind("127.0.0.1:0").await.unwrap();
        let addr = server.local_addr().unwrap();
        let client = a_socket(Tokio).udp().connect(addr, None).await.unwrap();
        assert_eq!(client.remote_addr(), addr);
        // The receive future is Send: it can run on another task.
        let receiving = tokio::spawn(async move {
            let datagram = server.receive().await.unwrap();
            (server, datagram)
        });
        client.send(b"ping").await.unwrap();
        let (server, datagram) = receiving.await.unwrap();
        assert_eq!(&datagram.payload[..], b"ping");
        assert_eq!(datagram.address, client.local_addr().unwrap());
        server
            .send(&Datagram::new(&b"pong"[..], datagram.address).unwrap())
            .await
            .unwrap();
        assert_eq!(&client.receive().await.unwrap()[..], b"pong");
    })
    .await;
}

/// Payloads of several sizes, up to the largest IPv4 allows, arrive whole and stay intact
/// while later ones are received into the same buffer; past [`MAX_DATAGRAM`] is refused.
#[tokio::test]
async fn udp_sizes_and_the_limit() {
    bounded("udp sizes", async {
        let server = a_socket(Tokio).udp().bind("127.0.0.1:0").await.unwrap();
        let addr = server.local_addr().unwrap();
        let client = a_socket(Tokio).udp().connect(addr, None).await.unwrap();
        let sizes = [0, 1, 1500, 9000, 65_507]; // 65_507: IPv4's largest UDP payload
        let mut received = Vec::new();
        for (seed, &size) in sizes.iter().enumerate() {
            client.send(&pattern(size, seed as u64 + 1)).await.unwrap();
            received.push(server.receive().await.unwrap());
        }
        for ((seed, &size), datagram) in sizes.iter().enumerate().zip(&received) {
            assert!(
                datagram.payload == pattern(size, seed as u64 + 1),
                "size {size}"
            );
        }
        let too_big = vec![0u8; MAX_DATAGRAM + 1];
        let error = client.send(&too_big).await.unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidInput, "{error}");
        let error = Datagram::new(too_big, addr).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidInput, "{error}");
    })
    .await;
}

/// Removes a Unix socket's path, however the test ends.
#[cfg(unix)]
struct RemoveOnDrop(std::path::PathBuf);

#[cfg(unix)]
impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unix_socket_echo() {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let path = std::env::temp_dir().join(format!(
        "wirestate-tokio-{}-{nanos}.sock",
        std::process::id()
    ));
    let _cleanup = RemoveOnDrop(path.clone());
    bounded("unix", async {
        let server = a_socket(Tokio).unix().bind(&path).await.unwrap();
        let serve = tokio::spawn(async move {
            let socket = server.accept().await.unwrap();
            let (mut input, mut output) = socket.connection().unwrap();
            input.copy_and_close(&mut output).await.unwrap();
        });
        let socket = a_socket(Tokio).unix().connect(&path).await.unwrap();
        assert_eq!(
            socket.remote_address(),
            &wirestate::net::SocketAddress::Unix(Some(path.clone()))
        );
        let (mut input, mut output) = socket.connection().unwrap();
        output.write_str("over a unix socket").await.unwrap();
        output.flush_and_close().await.unwrap();
        let mut echoed = Vec::new();
        input.read_to_end(&mut echoed, 1024).await.unwrap();
        assert_eq!(echoed, b"over a unix socket");
        serve.await.unwrap();
    })
    .await;
}

/// Every option reaches the kernel, on connected and on accepted sockets: read back with
/// `Socket::active_options`.
#[tokio::test]
async fn options_are_applied() {
    const SEND: usize = 80_000;
    const RECEIVE: usize = 100_000;
    bounded("options", async {
        let server = a_socket(Tokio)
            .keep_alive(Some(true))
            .receive_buffer_size(Some(RECEIVE))
            .tcp()
            .bind("127.0.0.1:0")
            .await
            .unwrap();
        let client = a_socket(Tokio)
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
        let plain = a_socket(Tokio)
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
    })
    .await;
}
