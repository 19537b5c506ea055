//! WebSocket servers on byte streams the caller set up (`accept_on`, `accept_inline_on`):
//! an in-memory tokio duplex and a Unix socket pair on smol, each against an independent
//! client (tungstenite) that echoes messages of every size and closes; and a scripted peer
//! that counts the writes an inline server needs to answer a pipelined batch.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message as TMessage;
use wirestate::core::ws::CloseCode;
use wirestate::ws::{self, ServerOptions, accept_all};
use wirestate_tests::ws_peers::UPGRADE_REQUEST;
use wirestate_tests::{LIMIT, pattern};

/// Message `i`: text or binary, up to 100 KB (past the size a server sends uncopied).
fn nth(i: usize) -> TMessage {
    match i % 3 {
        0 => TMessage::text(format!("message {i}")),
        _ => TMessage::binary(pattern(i * 977 % 100_000, i as u64)),
    }
}

/// Echoes until the peer closes, through either kind of socket.
macro_rules! echo_until_closed {
    ($socket:expr) => {{
        let mut socket = $socket;
        while let Some(message) = socket.recv().await.unwrap() {
            socket.send(message).await.unwrap();
        }
        socket.close(CloseCode::NORMAL, "").await.unwrap();
    }};
}

async fn bounded<T>(what: &str, future: impl Future<Output = T>) -> T {
    match tokio::time::timeout(LIMIT, future).await {
        Ok(value) => value,
        Err(_) => panic!("{what} did not finish within {LIMIT:?}"),
    }
}

/// Both kinds of server, on a roomy duplex and on one so small that most writes are
/// partial and many wait for room (an inline server writes from the machine's own buffer:
/// what a partial write left there must go out next, in order).
#[tokio::test]
async fn tokio_servers_run_on_an_in_memory_duplex() {
    for (inline, room) in [
        (false, 64 * 1024),
        (true, 64 * 1024),
        (false, 97),
        (true, 97),
    ] {
        bounded("duplex echo", async {
            let (client_end, server_end) = tokio::io::duplex(room);
            let options = ServerOptions::default();
            let server = tokio::spawn(async move {
                if inline {
                    let socket = ws::tokio::accept_inline_on(server_end, &options, accept_all);
                    echo_until_closed!(socket.await.unwrap());
                } else {
                    let socket = ws::tokio::accept_on(server_end, &options, accept_all);
                    echo_until_closed!(socket.await.unwrap());
                }
            });
            let (mut client, _) = tokio_tungstenite::client_async("ws://memory/", client_end)
                .await
                .unwrap();
            for i in 0..30 {
                client.send(nth(i)).await.unwrap();
                let echo = client.next().await.unwrap().unwrap();
                assert_eq!(echo, nth(i), "message {i}, inline: {inline}, room: {room}");
            }
            client.close(None).await.unwrap();
            while client.next().await.is_some() {}
            server.await.unwrap();
        })
        .await;
    }
}

#[cfg(unix)]
#[test]
fn smol_servers_run_on_a_unix_socket_pair() {
    for inline in [false, true] {
        let (client_end, server_end) = std::os::unix::net::UnixStream::pair().unwrap();
        let client = std::thread::spawn(move || {
            client_end.set_read_timeout(Some(LIMIT)).unwrap();
            let (mut client, _) = tungstenite::client("ws://memory/", client_end).unwrap();
            for i in 0..30 {
                client.send(nth(i)).unwrap();
                assert_eq!(
                    client.read().unwrap(),
                    nth(i),
                    "message {i}, inline: {inline}"
                );
            }
            client.close(None).unwrap();
            // The server's close comes back, then the end.
            while client.read().is_ok() {}
        });
        smol::block_on(async {
            let stream = smol::Async::new(server_end).unwrap();
            let options = ServerOptions::default();
            let served = async {
                if inline {
                    let socket = ws::smol::accept_inline_on(stream, &options, accept_all);
                    echo_until_closed!(socket.await.unwrap());
                } else {
                    let socket = ws::smol::accept_on(stream, &options, accept_all);
                    echo_until_closed!(socket.await.unwrap());
                }
            };
            let limit = async {
                smol::Timer::after(LIMIT).await;
                panic!("the smol server did not finish within {LIMIT:?}");
            };
            futures_lite::future::or(served, limit).await;
        });
        client.join().unwrap();
    }
}

/// A peer that sends an upgrade request and then one pipelined batch all at once, counts
/// the server's writes, and ends the stream once every echo is in.
struct BatchPeer {
    input: Vec<u8>,
    offset: usize,
    /// Bytes of echoes expected after the upgrade response.
    expected: usize,
    response_done: bool,
    echoed: usize,
    echo_writes: Arc<AtomicUsize>,
    waiting: Option<std::task::Waker>,
}

impl tokio::io::AsyncRead for BatchPeer {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.offset == this.input.len() {
            if this.echoed < this.expected {
                this.waiting = Some(cx.waker().clone());
                return Poll::Pending;
            }
            return Poll::Ready(Ok(())); // every echo is in: the end
        }
        let n = (this.input.len() - this.offset).min(buf.remaining());
        buf.put_slice(&this.input[this.offset..this.offset + n]);
        this.offset += n;
        Poll::Ready(Ok(()))
    }
}

impl tokio::io::AsyncWrite for BatchPeer {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if !this.response_done {
            // The upgrade response comes in one write, before any echo.
            assert!(
                buf.starts_with(b"HTTP/1.1 101"),
                "{:?}",
                String::from_utf8_lossy(buf)
            );
            this.response_done = true;
        } else {
            this.echoed += buf.len();
            this.echo_writes.fetch_add(1, Ordering::Relaxed);
            if this.echoed >= this.expected
                && let Some(waker) = this.waiting.take()
            {
                waker.wake();
            }
        }
        Poll::Ready(Ok(buf.len()))
    }

    /// Takes every buffer in one call, as `writev` on a socket with room does.
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let joined: Vec<u8> = bufs.iter().flat_map(|buf| buf.iter().copied()).collect();
        self.poll_write(cx, &joined)
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// A pipelined batch larger than one read (16 × 16 KiB, where the driver reads at most
/// 64 KiB at a time) is read whole before it is answered, so the 16 echoes leave in one
/// write, not one per read.
#[tokio::test]
async fn an_inline_server_answers_a_batch_larger_than_a_read_in_one_write() {
    const MESSAGES: usize = 16;
    const SIZE: usize = 16 * 1024;
    let mut input = UPGRADE_REQUEST.to_vec();
    for i in 0..MESSAGES {
        // A masked binary frame with a 16-bit length; the mask is zero, so the payload is
        // plain.
        input.extend_from_slice(&[0x82, 0x80 | 126, (SIZE >> 8) as u8, SIZE as u8, 0, 0, 0, 0]);
        input.extend(pattern(SIZE, i as u64));
    }
    let echo_writes = Arc::new(AtomicUsize::new(0));
    let peer = BatchPeer {
        input,
        offset: 0,
        expected: MESSAGES * (4 + SIZE),
        response_done: false,
        echoed: 0,
        echo_writes: echo_writes.clone(),
        waiting: None,
    };
    bounded("batch echo", async {
        let options = ServerOptions::default();
        let mut socket = ws::tokio::accept_inline_on(peer, &options, accept_all)
            .await
            .unwrap();
        let mut echoed = 0;
        while let Ok(Some(message)) = socket.recv().await {
            socket.send(message).await.unwrap();
            echoed += 1;
        }
        assert_eq!(echoed, MESSAGES);
    })
    .await;
    assert_eq!(
        echo_writes.load(Ordering::Relaxed),
        1,
        "writes for {MESSAGES} echoes"
    );
}

/// What a scripted peer's reads do once its input is used up.
enum AtEnd {
    /// End the stream.
    Eof,
    /// Stay `Pending` for good, as a socket's reads do while its peer waits for answers:
    /// nothing will wake the reader.
    Wait,
}

/// A peer that hands out its input in the chunks given, one per read (cut to the reader's
/// buffer), then does what `at_end` says, and keeps everything the server writes.
struct ScriptedPeer {
    chunks: std::collections::VecDeque<Vec<u8>>,
    at_end: AtEnd,
    written: Arc<std::sync::Mutex<Vec<u8>>>,
}

impl ScriptedPeer {
    /// The peer, and where what the server writes is kept.
    fn new(chunks: Vec<Vec<u8>>, at_end: AtEnd) -> (ScriptedPeer, Arc<std::sync::Mutex<Vec<u8>>>) {
        let written = Arc::new(std::sync::Mutex::new(Vec::new()));
        let peer = ScriptedPeer {
            chunks: chunks.into(),
            at_end,
            written: written.clone(),
        };
        (peer, written)
    }
}

impl tokio::io::AsyncRead for ScriptedPeer {
    fn poll_read(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let Some(chunk) = this.chunks.front_mut() else {
            return match this.at_end {
                AtEnd::Eof => Poll::Ready(Ok(())),
                AtEnd::Wait => Poll::Pending,
            };
        };
        let n = chunk.len().min(buf.remaining());
        buf.put_slice(&chunk[..n]);
        chunk.drain(..n);
        if chunk.is_empty() {
            this.chunks.pop_front();
        }
        Poll::Ready(Ok(()))
    }
}

impl tokio::io::AsyncWrite for ScriptedPeer {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.written.lock().unwrap().extend_from_slice(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// A peer that sends, in one read, the upgrade request, a message ("hi") and then a frame
/// that breaks the protocol (a reserved bit set), then ends the stream.
fn a_message_then_a_fault() -> (ScriptedPeer, Arc<std::sync::Mutex<Vec<u8>>>) {
    let mut input = UPGRADE_REQUEST.to_vec();
    input.extend_from_slice(&[0x81, 0x82, 0, 0, 0, 0, b'h', b'i']); // "hi", zero mask
    input.extend_from_slice(&[0xc1, 0x80, 0, 0, 0, 0]); // RSV1 without an extension
    ScriptedPeer::new(vec![input], AtEnd::Eof)
}

/// The frames a server wrote: what follows its 101 response head.
fn frames_after_head(written: &[u8]) -> &[u8] {
    &written[written.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4..]
}

/// A message and then, in the same read, a frame that breaks the protocol (a reserved bit
/// set): an inline server echoes the message before it closes with 1002, as Autobahn's
/// strict cases (3.2, 4.1.3, 5.15, …) require. Taking the machine's events in bulk must not
/// tell it the application has answered before it has.
#[tokio::test]
async fn an_inline_server_echoes_a_message_before_failing_on_the_frame_after_it() {
    let (peer, written) = a_message_then_a_fault();
    bounded("fault after a message", async {
        let options = ServerOptions::default();
        let mut socket = ws::tokio::accept_inline_on(peer, &options, accept_all)
            .await
            .unwrap();
        while let Ok(Some(message)) = socket.recv().await {
            let _ = socket.send(message).await;
        }
    })
    .await;
    let written = written.lock().unwrap();
    let frames = frames_after_head(&written);
    assert_eq!(
        &frames[..4],
        &[0x81, 0x02, b'h', b'i'],
        "the echo first: {frames:x?}"
    );
    assert_eq!(
        &frames[4..8],
        &[0x88, 0x02, 0x03, 0xea],
        "then the 1002 close: {frames:x?}"
    );
}

/// A read that brings a message, a ping and two more messages: an inline server takes the
/// first message straight out of the read (no event queue) and queues what follows, and
/// the application still receives them in order, the pong going out as the ping is read
/// (before the first echo, which the application writes later).
#[tokio::test]
async fn an_inline_server_keeps_the_order_of_one_reads_frames() {
    // Masked with a zero mask, so payloads are plain.
    let frame = |first: u8, payload: &[u8]| {
        let mut frame = vec![first, 0x80 | payload.len() as u8, 0, 0, 0, 0];
        frame.extend_from_slice(payload);
        frame
    };
    let read: Vec<u8> = [
        frame(0x81, b"a"),
        frame(0x89, b"p"),
        frame(0x81, b"b"),
        frame(0x82, b"c"),
    ]
    .concat();
    // The close in a read of its own: one read after the messages would refuse their echoes.
    let close = frame(0x88, &[0x03, 0xe8]);
    let chunks = vec![UPGRADE_REQUEST.to_vec(), read, close];
    let (peer, written) = ScriptedPeer::new(chunks, AtEnd::Eof);
    let received = bounded("one read's frames", async {
        let options = ServerOptions::default();
        let mut socket = ws::tokio::accept_inline_on(peer, &options, accept_all)
            .await
            .unwrap();
        let mut received = Vec::new();
        while let Some(message) = socket.recv().await.unwrap() {
            received.push(message.clone());
            socket.send(message).await.unwrap();
        }
        received
    })
    .await;
    let texts: Vec<&[u8]> = received.iter().map(|m| m.as_bytes()).collect();
    assert_eq!(texts, [&b"a"[..], b"b", b"c"]);
    let written = written.lock().unwrap().clone();
    assert_eq!(
        frames_after_head(&written),
        [
            &[0x8a, 1, b'p'][..],
            &[0x81, 1, b'a'],
            &[0x81, 1, b'b'],
            &[0x82, 1, b'c'],
            &[0x88, 2, 0x03, 0xe8],
        ]
        .concat(),
    );
}

/// After `recv` reports the end, the close that a peer's fault called for has gone out: the
/// fault is released when the application comes back for more, and that same `recv` writes
/// the close, without waiting for another call, a drop or a flush.
#[tokio::test]
async fn an_inline_server_writes_its_fault_close_before_recv_reports_the_end() {
    let (peer, written) = a_message_then_a_fault();
    bounded("fault close", async {
        let options = ServerOptions::default();
        let mut socket = ws::tokio::accept_inline_on(peer, &options, accept_all)
            .await
            .unwrap();
        let message = socket.recv().await.unwrap().expect("the message");
        socket.send(message).await.unwrap();
        let end = socket.recv().await;
        assert!(matches!(end, Err(ws::Error::Closed(_))), "{end:?}");
        // A copy: the socket, still alive, writes into the log again when it is dropped.
        let written = written.lock().unwrap().clone();
        assert_eq!(
            frames_after_head(&written),
            &[0x81, 0x02, b'h', b'i', 0x88, 0x02, 0x03, 0xea],
            "the echo, then the 1002 close, before the socket is used again or dropped"
        );
    })
    .await;
}

/// A read that fills the driver's buffer exactly (its first size, 4 KiB) makes `recv` read
/// on, and that read finds nothing. The message the full read brought is still received:
/// the read that came back empty must not send `recv` to sleep with a message in hand,
/// when the peer waits for the echo and sends nothing more.
#[tokio::test]
async fn a_read_that_fills_the_buffer_exactly_still_delivers_its_message() {
    const READ_BUFFER: usize = 4096;
    // One masked binary frame of exactly READ_BUFFER bytes: 8 bytes of header (16-bit
    // length, zero mask) and the payload.
    let payload = pattern(READ_BUFFER - 8, 7);
    let mut frame = vec![0x82, 0x80 | 126];
    frame.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    frame.extend_from_slice(&[0, 0, 0, 0]);
    frame.extend_from_slice(&payload);
    assert_eq!(frame.len(), READ_BUFFER);
    let (peer, _) = ScriptedPeer::new(vec![UPGRADE_REQUEST.to_vec(), frame], AtEnd::Wait);
    bounded("a message in an exactly full read", async {
        let options = ServerOptions::default();
        let mut socket = ws::tokio::accept_inline_on(peer, &options, accept_all)
            .await
            .unwrap();
        // The peer sent everything and waits: nothing will wake a `recv` that sleeps now
        // (and a deadline's own last poll would hide it), so the first poll must have it.
        let first_poll = std::future::poll_fn(|cx| Poll::Ready(socket.poll_recv(cx))).await;
        let Poll::Ready(received) = first_poll else {
            panic!("recv went to sleep with the message in hand");
        };
        let message = received.unwrap().expect("the message");
        assert_eq!(message.as_bytes(), &payload[..]);
    })
    .await;
}
