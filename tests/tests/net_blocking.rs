//! Sockets on blocking std threads over real loopback sockets. Every test body runs on its
//! own thread, joined within [`LIMIT`]; helper std sockets have read timeouts.

use std::io::{self, BufRead, Read, Write};
use std::net::TcpListener;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use wirestate::net::{Blocking, Datagram, Socket, SocketAddress, a_socket};
use wirestate_tests::{LIMIT, pattern};

/// Runs `body` on a thread and returns its result, failing the test after [`LIMIT`].
fn bounded<T: Send + 'static>(what: &str, body: impl FnOnce() -> T + Send + 'static) -> T {
    join_within(what, thread::spawn(body))
}

/// Joins `handle` within [`LIMIT`], passing on its panic.
fn join_within<T>(what: &str, handle: JoinHandle<T>) -> T {
    let deadline = Instant::now() + LIMIT;
    while !handle.is_finished() {
        assert!(
            Instant::now() < deadline,
            "{what} did not finish within {LIMIT:?}"
        );
        thread::sleep(Duration::from_millis(2));
    }
    handle
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

/// Echoes every line back until the peer's end, then closes the write channel.
fn serve_lines(socket: Socket) -> usize {
    let (mut input, mut output) = socket.connection().unwrap();
    let (mut input, mut output) = (input.blocking(), output.blocking());
    let (mut line, mut lines) = (String::new(), 0);
    while input.read_line(&mut line).unwrap() > 0 {
        output.write_all(line.as_bytes()).unwrap();
        output.flush().unwrap();
        line.clear();
        lines += 1;
    }
    output.close().unwrap();
    lines
}

/// Sends each line and reads its echo, then half-closes and expects the end.
fn echo_lines(socket: &Socket, lines: &[String]) {
    let (mut input, mut output) = socket.connection().unwrap();
    let (mut input, mut output) = (input.blocking(), output.blocking());
    let mut echoed = String::new();
    for line in lines {
        output.write_all(format!("{line}\n").as_bytes()).unwrap();
        output.flush().unwrap();
        echoed.clear();
        input.read_line(&mut echoed).unwrap();
        assert_eq!(echoed.trim_end(), line);
    }
    output.close().unwrap();
    assert_eq!(
        input.read(&mut [0; 16]).unwrap(),
        0,
        "the server closed after us"
    );
}

#[test]
fn tcp_echo_through_channels() {
    bounded("echo", || {
        let server = a_socket(Blocking).tcp().bind("127.0.0.1:0").unwrap();
        let addr = server.local_addr();
        let echo = thread::spawn(move || serve_lines(server.accept().unwrap()));
        let socket = a_socket(Blocking).tcp().connect(addr).unwrap();
        assert_eq!(socket.remote_address(), &SocketAddress::Inet(addr));
        let lines = ["hello", "world", "", "third line"].map(String::from);
        echo_lines(&socket, &lines);
        assert_eq!(join_within("echo server", echo), lines.len());
    });
}

#[test]
fn bulk_transfer_both_ways() {
    bounded("bulk", || {
        let server = a_socket(Blocking).tcp().bind("127.0.0.1:0").unwrap();
        let addr = server.local_addr();
        // The server takes everything, then sends it back and closes.
        let mirror = thread::spawn(move || {
            let (mut input, mut output) = server.accept().unwrap().connection().unwrap();
            let mut got = Vec::new();
            input.blocking().read_to_end(&mut got).unwrap();
            let mut output = output.blocking();
            output.write_all(&got).unwrap();
            output.flush().unwrap();
            output.close().unwrap();
            got.len()
        });
        let data = pattern(4 << 20, 3);
        let socket = a_socket(Blocking).tcp().connect(addr).unwrap();
        let (mut input, mut output) = socket.connection().unwrap();
        let mut output = output.blocking();
        output.write_all(&data).unwrap();
        output.flush().unwrap();
        output.close().unwrap();
        let mut back = Vec::new();
        input.blocking().read_to_end(&mut back).unwrap();
        assert!(back == data, "{} bytes came back", back.len());
        assert_eq!(join_within("mirror", mirror), data.len());
    });
}

/// Small writes gather in the channel, large or auto-flushed ones on an empty channel go to
/// the socket from the writing thread: the peer must see every byte in the order written.
#[test]
fn writes_through_the_ring_and_past_it_keep_their_order() {
    bounded("mixed writes", || {
        let server = a_socket(Blocking).tcp().bind("127.0.0.1:0").unwrap();
        let addr = server.local_addr();
        let sink = thread::spawn(move || {
            let mut got = Vec::new();
            let socket = server.accept().unwrap();
            let mut input = socket.open_read_channel().unwrap();
            input.blocking().read_to_end(&mut got).unwrap();
            got
        });
        let data = pattern(3 << 20, 11);
        let socket = a_socket(Blocking).tcp().connect(addr).unwrap();
        let mut output = socket.open_write_channel(false).unwrap();
        let (mut rest, mut round) = (&data[..], 0usize);
        while !rest.is_empty() {
            // Sizes from a byte to twice the channel's capacity; every third round flushes,
            // every fifth switches auto-flush.
            let size = [1, 700, 33_000, 70_000, 5, 131_072, 64][round % 7].min(rest.len());
            let mut view = output.blocking();
            view.write_all(&rest[..size]).unwrap();
            if round % 3 == 0 {
                view.flush().unwrap();
            }
            if round % 5 == 0 {
                let on = !output.auto_flush();
                output.set_auto_flush(on);
            }
            rest = &rest[size..];
            round += 1;
        }
        assert_eq!(output.total_written(), data.len() as u64);
        output.blocking().flush().unwrap();
        output.close().unwrap();
        let got = join_within("sink", sink);
        assert!(
            got == data,
            "{} of {} bytes, not in order",
            got.len(),
            data.len()
        );
    });
}

#[test]
fn many_concurrent_clients() {
    const CLIENTS: usize = 30;
    bounded("many clients", || {
        let server = a_socket(Blocking).tcp().bind("127.0.0.1:0").unwrap();
        let addr = server.local_addr();
        let acceptor = thread::spawn(move || {
            let served: Vec<_> = (0..CLIENTS)
                .map(|_| {
                    let socket = server.accept().unwrap();
                    thread::spawn(move || serve_lines(socket))
                })
                .collect();
            served
                .into_iter()
                .map(|h| join_within("serve", h))
                .sum::<usize>()
        });
        let clients: Vec<_> = (0..CLIENTS)
            .map(|client| {
                thread::spawn(move || {
                    let socket = a_socket(Blocking).tcp().connect(addr).unwrap();
                    let lines: Vec<_> = (0..20)
                        .map(|i| format!("client {client} line {i}"))
                        .collect();
                    echo_lines(&socket, &lines);
                })
            })
            .collect();
        for client in clients {
            join_within("client", client);
        }
        assert_eq!(join_within("acceptor", acceptor), CLIENTS * 20);
    });
}

#[test]
fn half_close_still_reads_the_reply() {
    bounded("half-close", || {
        let server = a_socket(Blocking).tcp().bind("127.0.0.1:0").unwrap();
        let addr = server.local_addr();
        let counter = thread::spawn(move || {
            let (mut input, mut output) = server.accept().unwrap().connection().unwrap();
            let mut got = Vec::new();
            input.blocking().read_to_end(&mut got).unwrap(); // ends at the client's FIN
            let mut output = output.blocking();
            write!(output, "got {} bytes", got.len()).unwrap();
            output.flush().unwrap();
            output.close().unwrap();
        });
        let socket = a_socket(Blocking).tcp().connect(addr).unwrap();
        let mut output = socket.open_write_channel(true).unwrap();
        output.blocking().write_all(b"0123456789").unwrap();
        output.close().unwrap();
        let mut reply = String::new();
        let mut input = socket.open_read_channel().unwrap();
        input.blocking().read_to_string(&mut reply).unwrap();
        assert_eq!(reply, "got 10 bytes");
        join_within("counter", counter);
    });
}

/// A blocking socket's reader reads the socket on its own thread while it blocks, into the
/// channel or, for large reads on an empty channel, into the caller's buffer; read from an
/// executor, the channel gets a pump thread instead. Switching ways loses nothing.
#[test]
fn read_channel_switches_from_blocking_reads_to_an_executor() {
    bounded("read handover", || {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let data = pattern(1 << 20, 5);
        let sent = data.clone();
        let peer = thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            stream.write_all(&sent).unwrap();
        });
        let socket = a_socket(Blocking).tcp().connect(addr).unwrap();
        let mut input = socket.open_read_channel().unwrap();
        // Bytes through the channel (small reads and a look in place), then large reads
        // straight from the socket once the channel is empty.
        let mut first = vec![0u8; 100_000];
        let mut view = input.blocking();
        view.read_exact(&mut first[..10]).unwrap();
        let seen = view.fill_buf().unwrap().len().min(1000);
        first[10..10 + seen].copy_from_slice(&view.fill_buf().unwrap()[..seen]);
        view.consume(seen);
        view.read_exact(&mut first[10 + seen..]).unwrap();
        assert_eq!(input.total_read(), 100_000);
        // The rest from a future on another executor's thread, which must not block.
        let mut rest = Vec::new();
        futures_lite::future::block_on(input.read_to_end(&mut rest, usize::MAX)).unwrap();
        first.extend_from_slice(&rest);
        assert!(first == data, "{} bytes, not in order", first.len());
        join_within("peer", peer);
    });
}

/// `Socket::close` ends a read that blocks in the socket on the reader's own thread.
#[test]
fn close_ends_a_blocked_read() {
    bounded("close while reading", || {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let peer = thread::spawn(move || listener.accept().unwrap());
        let socket = std::sync::Arc::new(a_socket(Blocking).tcp().connect(addr).unwrap());
        let _held_open = join_within("peer", peer);
        let mut input = socket.open_read_channel().unwrap();
        let reader = thread::spawn(move || input.blocking().read(&mut [0u8; 16]));
        thread::sleep(Duration::from_millis(50)); // let it block in the socket
        socket.close().unwrap();
        match join_within("reader", reader) {
            Ok(n) => assert_eq!(n, 0, "no bytes were sent"),
            Err(error) => assert_ne!(error.kind(), io::ErrorKind::WouldBlock),
        }
    });
}

#[test]
fn peer_reset_is_reported() {
    bounded("reset", || {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let peer = thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            stream.set_read_timeout(Some(LIMIT)).unwrap();
            socket2::SockRef::from(&stream)
                .set_linger(Some(Duration::ZERO))
                .unwrap();
            stream.read_exact(&mut [0; 5]).unwrap();
            // Dropped with linger 0 and unread bytes: the kernel sends a reset.
        });
        let socket = a_socket(Blocking).tcp().connect(addr).unwrap();
        let (mut input, mut output) = socket.connection().unwrap();
        output.blocking().write_all(b"hello world").unwrap();
        output.blocking().flush().unwrap();
        join_within("peer", peer);
        let reset = |error: &io::Error| {
            let kind = error.kind();
            assert!(
                matches!(
                    kind,
                    io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe
                ),
                "unexpected error {kind:?}: {error}"
            );
        };
        if let Err(error) = input.blocking().read(&mut [0; 64]) {
            reset(&error);
        }
        // Writes fail once the reset is seen (the first ones may still be taken).
        let chunk = vec![7u8; 64 * 1024];
        let error = (0..1000)
            .find_map(|_| {
                let mut output = output.blocking();
                output.write_all(&chunk).and_then(|()| output.flush()).err()
            })
            .expect("writing to a reset connection kept succeeding");
        reset(&error);
    });
}

#[test]
fn options_are_applied() {
    const SEND: usize = 80_000;
    const RECEIVE: usize = 100_000;
    bounded("options", || {
        let server = a_socket(Blocking)
            .keep_alive(Some(true))
            .receive_buffer_size(Some(RECEIVE))
            .tcp()
            .bind("127.0.0.1:0")
            .unwrap();
        let addr = server.local_addr();
        let acceptor = thread::spawn(move || [server.accept().unwrap(), server.accept().unwrap()]);
        let client = a_socket(Blocking)
            .no_delay(true)
            .keep_alive(Some(true))
            .linger(Some(Duration::from_secs(3)))
            .send_buffer_size(Some(SEND))
            .receive_buffer_size(Some(RECEIVE))
            .tcp()
            .connect(addr)
            .unwrap();
        let plain = a_socket(Blocking)
            .no_delay(false)
            .keep_alive(Some(false))
            .tcp()
            .connect(addr)
            .unwrap();
        let os = client.active_options().unwrap();
        assert_eq!(os.no_delay, Some(true));
        assert_eq!(os.keep_alive, Some(true));
        assert_eq!(os.linger, Some(Some(Duration::from_secs(3))));
        // Linux doubles the buffer sizes it is given.
        assert!(os.send_buffer_size >= SEND, "{os:?}");
        assert!(os.receive_buffer_size >= RECEIVE, "{os:?}");
        let os = plain.active_options().unwrap();
        assert_eq!((os.no_delay, os.keep_alive), (Some(false), Some(false)));
        for accepted in join_within("acceptor", acceptor) {
            let os = accepted.active_options().unwrap();
            assert_eq!(os.no_delay, Some(true), "the default no_delay");
            assert_eq!(os.keep_alive, Some(true));
            assert!(os.receive_buffer_size >= RECEIVE, "{os:?}");
        }
    });
}

#[test]
fn socket_timeout_cancels_a_silent_read() {
    bounded("timeout", || {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let (done, wait) = std::sync::mpsc::channel::<()>();
        // The server accepts and stays silent until the client is done.
        let silent = thread::spawn(move || {
            let stream = listener.accept().unwrap();
            let _ = wait.recv_timeout(LIMIT);
            drop(stream);
        });
        let socket = a_socket(Blocking)
            .socket_timeout(Some(Duration::from_millis(200)))
            .tcp()
            .connect(addr)
            .unwrap();
        let mut input = socket.open_read_channel().unwrap();
        let started = Instant::now();
        let error = input.blocking().read(&mut [0; 16]).unwrap_err();
        let waited = started.elapsed();
        assert_eq!(error.kind(), io::ErrorKind::TimedOut, "{error}");
        assert!(
            waited >= Duration::from_millis(150),
            "timed out early: {waited:?}"
        );
        assert!(
            waited < Duration::from_secs(3),
            "timed out late: {waited:?}"
        );
        done.send(()).unwrap();
        join_within("silent server", silent);
    });
}

#[test]
fn refused_connect_is_typed() {
    bounded("refused", || {
        // Bind then drop a listener: its port is very likely closed now.
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let error = a_socket(Blocking).tcp().connect(port).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::ConnectionRefused, "{error}");
        assert!(error.to_string().contains(&port.to_string()), "{error}");
    });
}

#[test]
fn udp_round_trip_and_limits() {
    bounded("udp", || {
        let server = a_socket(Blocking).udp().bind("127.0.0.1:0").unwrap();
        let addr = server.local_addr().unwrap();
        let client = a_socket(Blocking)
            .socket_timeout(Some(Duration::from_secs(5)))
            .udp()
            .connect(addr, None)
            .unwrap();
        assert_eq!(client.remote_addr(), addr);
        client.send(b"ping").unwrap();
        let datagram = server.receive().unwrap();
        assert_eq!(&datagram.payload[..], b"ping");
        assert_eq!(datagram.address, client.local_addr().unwrap());
        let big = pattern(60_000, 9);
        server
            .send(&Datagram::new(&b"pong"[..], datagram.address).unwrap())
            .unwrap();
        server
            .send(&Datagram::new(big.clone(), datagram.address).unwrap())
            .unwrap();
        assert_eq!(&client.receive().unwrap()[..], b"pong");
        assert!(client.receive().unwrap() == big);
        let too_big = Datagram::new(vec![0u8; 65_536], addr).unwrap_err();
        assert_eq!(too_big.kind(), io::ErrorKind::InvalidInput);
        let too_big = client.send(&[0u8; 65_536]).unwrap_err();
        assert_eq!(too_big.kind(), io::ErrorKind::InvalidInput);
    });
}

#[test]
fn udp_receive_times_out() {
    bounded("udp timeout", || {
        let socket = a_socket(Blocking)
            .socket_timeout(Some(Duration::from_millis(100)))
            .udp()
            .bind("127.0.0.1:0")
            .unwrap();
        let started = Instant::now();
        let error = socket.receive().unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::TimedOut, "{error}");
        assert!(started.elapsed() < Duration::from_secs(3));
    });
}

#[cfg(unix)]
#[test]
fn unix_socket_echo() {
    bounded("unix", || {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let name = format!("wirestate-blocking-{}-{nanos}.sock", std::process::id());
        let path = std::env::temp_dir().join(name);
        let server = a_socket(Blocking).unix().bind(&path).unwrap();
        assert_eq!(
            server.local_address(),
            &SocketAddress::Unix(Some(path.clone()))
        );
        let echo = thread::spawn(move || serve_lines(server.accept().unwrap()));
        let socket = a_socket(Blocking).unix().connect(&path).unwrap();
        assert_eq!(
            socket.remote_address(),
            &SocketAddress::Unix(Some(path.clone()))
        );
        let lines = ["over", "a unix socket"].map(String::from);
        echo_lines(&socket, &lines);
        assert_eq!(join_within("unix echo", echo), 2);
        std::fs::remove_file(&path).unwrap();
    });
}
