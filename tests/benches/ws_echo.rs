//! The user-space cost of echoing a WebSocket message, with no kernel in the way: each
//! server's echo loop serves 100 connections over in-memory streams, all on one tokio
//! thread, and the time per echoed message is what its own code, its driver and tokio's
//! task machinery cost, with as many connections' state competing for the caches as in the
//! field harness (`field_bench`, which measures the same servers over loopback TCP, where
//! the kernel's share is five times larger and moves a lot between runs).
//!
//! The stream plays a load client's connection: it serves masked binary frames of 20 bytes
//! (`ECHO_PAYLOAD=N` for another size, up to 65535),
//! 1 per read (one message in flight) or 16 (pipelined), the next batch only once every
//! earlier message was echoed, and before each batch answers `Pending` once and wakes its
//! task at once, as a socket does when a request arrives. It ends with a close frame.
//! Writes are counted and dropped; a contender whose byte count differs from a full echo
//! fails the run. `ECHO_CONNECTIONS=N` serves N connections instead of 100, each with as
//! many echoes as at 100 (many thousands put each echo's state out of the caches, as the
//! kernel does in the field). Contenders:
//! wirestate's `InlineWebSocket` and `WebSocket` (driver task), tokio-tungstenite and
//! fastwebsockets, each as its echo example has it. Rounds rotate the order; medians and
//! ratios are printed. `BENCH_QUICK=1` shortens the run.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Instant;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Connections served at once by default, as in the field harness.
const CONNECTIONS: usize = 100;

/// Connections served at once: `ECHO_CONNECTIONS`, [`CONNECTIONS`] unless set.
fn connections() -> usize {
    static COUNT: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *COUNT.get_or_init(|| {
        env_number("ECHO_CONNECTIONS")
            .filter(|&n| n > 0)
            .unwrap_or(CONNECTIONS)
    })
}

/// The number in environment variable `name`, if it is set to one.
fn env_number(name: &str) -> Option<usize> {
    std::env::var(name).ok()?.parse().ok()
}

const UPGRADE: &[u8] = wirestate_tests::ws_peers::UPGRADE_REQUEST;

/// The payload's size: `ECHO_PAYLOAD`, 20 bytes unless set.
fn payload() -> usize {
    static PAYLOAD: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *PAYLOAD.get_or_init(|| env_number("ECHO_PAYLOAD").unwrap_or(20).min(65_535))
}

/// The length field of a frame header for `payload()` bytes: 7 bits, or 126 and 16 bits.
fn length_field() -> Vec<u8> {
    match payload() {
        len @ 0..=125 => vec![len as u8],
        len => [&[126][..], &(len as u16).to_be_bytes()].concat(),
    }
}

/// An unmasked server frame's length: its header and the payload.
fn echo_frame() -> usize {
    1 + length_field().len() + payload()
}

/// A masked client frame with a binary payload.
fn client_frame(seq: u8) -> Vec<u8> {
    let mask = [0x12, 0x34, 0x56, seq];
    let mut frame = vec![0x82];
    let length = length_field();
    frame.push(0x80 | length[0]);
    frame.extend_from_slice(&length[1..]);
    frame.extend_from_slice(&mask);
    frame.extend((0..payload()).map(|i| (i as u8 ^ seq) ^ mask[i % 4]));
    frame
}

/// The in-memory peer, a closed loop like a load client's connection: an optional upgrade
/// request, then batches of `depth` frames, each served only once every earlier message
/// was echoed (a `Pending` with an immediate wake comes first, as when a request arrives),
/// then a close frame, then the end of the stream.
struct Script {
    /// What the next reads return: the request, a batch, the close frame.
    pending: &'static [u8],
    offset: usize,
    batch: &'static [u8],
    depth: usize,
    batches_left: usize,
    /// Messages served so far.
    served: usize,
    closed: bool,
    wait_first: bool,
    /// The upgrade response is still being written (echo bytes are counted after it).
    in_response: bool,
    response_tail: [u8; 4],
    /// The length of one echoed frame.
    echo_frame: usize,
    echoed: usize,
    waiting: Option<std::task::Waker>,
    /// Where the echoed byte count goes when the server drops the stream.
    report: Arc<AtomicUsize>,
}

const CLOSE: &[u8] = &[0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe8]; // 1000, zero mask

impl Script {
    /// A script serving `batch` (`depth` frames) until `messages` were served, each echo
    /// `echo_frame` bytes long.
    fn new(
        upgrade: bool,
        batch: &'static [u8],
        depth: usize,
        messages: usize,
        echo_frame: usize,
        report: Arc<AtomicUsize>,
    ) -> Self {
        Script {
            pending: if upgrade { UPGRADE } else { b"" },
            offset: 0,
            batch,
            depth,
            batches_left: messages / depth,
            served: 0,
            closed: false,
            wait_first: true,
            in_response: upgrade,
            response_tail: [0; 4],
            echo_frame,
            echoed: 0,
            waiting: None,
            report,
        }
    }

    /// Every message served so far was echoed.
    fn caught_up(&self) -> bool {
        self.echoed >= self.served * self.echo_frame
    }
}

impl AsyncRead for Script {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.offset == this.pending.len() {
            if this.closed {
                return Poll::Ready(Ok(())); // the end of the stream
            }
            if !this.caught_up() {
                this.waiting = Some(cx.waker().clone()); // woken by the echo's write
                return Poll::Pending;
            }
            if std::mem::take(&mut this.wait_first) {
                cx.waker().wake_by_ref(); // the next request "arrives" at once
                return Poll::Pending;
            }
            this.wait_first = true;
            this.offset = 0;
            if this.batches_left == 0 {
                this.pending = CLOSE;
                this.closed = true;
            } else {
                this.pending = this.batch;
                this.batches_left -= 1;
                this.served += this.depth;
            }
        }
        let rest = &this.pending[this.offset..];
        let n = rest.len().min(buf.remaining());
        buf.put_slice(&rest[..n]);
        this.offset += n;
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Script {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let mut echo = buf;
        if this.in_response {
            // Skip the upgrade response, up to its blank line.
            for (i, &byte) in buf.iter().enumerate() {
                this.response_tail.rotate_left(1);
                this.response_tail[3] = byte;
                if &this.response_tail == b"\r\n\r\n" {
                    this.in_response = false;
                    echo = &buf[i + 1..];
                    break;
                }
            }
            if this.in_response {
                echo = &[];
            }
        }
        this.echoed += echo.len();
        if this.caught_up()
            && let Some(waker) = this.waiting.take()
        {
            waker.wake();
        }
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

impl Drop for Script {
    fn drop(&mut self) {
        self.report.store(self.echoed, Ordering::Relaxed);
    }
}

/// One contender: an echo server over one stream, as a future for a tokio task.
type Contender = fn(Script) -> BoxFuture;
type BoxFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

fn wirestate_inline(stream: Script) -> BoxFuture {
    use wirestate::ws::{ServerOptions, accept_all, tokio::accept_inline_on};
    Box::pin(async {
        let options = ServerOptions::default();
        let mut socket = accept_inline_on(stream, &options, accept_all)
            .await
            .unwrap();
        while let Ok(Some(message)) = socket.recv().await {
            if socket.send(message).await.is_err() {
                break;
            }
        }
    })
}

fn wirestate_spawned(stream: Script) -> BoxFuture {
    use wirestate::ws::{ServerOptions, accept_all, tokio::accept_on};
    Box::pin(async {
        let options = ServerOptions::default();
        let mut socket = accept_on(stream, &options, accept_all).await.unwrap();
        while let Ok(Some(message)) = socket.recv().await {
            if socket.send(message).await.is_err() {
                break;
            }
        }
    })
}

fn tokio_tungstenite(stream: Script) -> BoxFuture {
    use futures_util::{StreamExt, TryStreamExt, future};
    use tokio_tungstenite::WebSocketStream;
    use tungstenite::protocol::Role;
    Box::pin(async {
        let socket = WebSocketStream::from_raw_socket(stream, Role::Server, None).await;
        // As in tokio-tungstenite's echo-server example.
        let (write, read) = socket.split();
        let _ = read
            .try_filter(|message| future::ready(message.is_text() || message.is_binary()))
            .forward(write)
            .await;
    })
}

fn fastwebsockets(stream: Script) -> BoxFuture {
    use fastwebsockets::{FragmentCollector, OpCode, Role, WebSocket};
    Box::pin(async {
        // As in fastwebsockets' echo_server example.
        let mut ws = FragmentCollector::new(WebSocket::after_handshake(stream, Role::Server));
        while let Ok(frame) = ws.read_frame().await {
            let data = matches!(frame.opcode, OpCode::Text | OpCode::Binary);
            if matches!(frame.opcode, OpCode::Close)
                || (data && ws.write_frame(frame).await.is_err())
            {
                break;
            }
        }
    })
}

/// Runs `contender` on `connections()` streams at once, `messages` per 100 streams at
/// `depth`; returns ns per message after checking that every message was echoed.
fn trial(name: &str, contender: Contender, upgrade: bool, depth: usize, messages: usize) -> f64 {
    let per_stream = messages / CONNECTIONS / depth * depth;
    let counts: Vec<Arc<AtomicUsize>> = (0..connections()).map(|_| Arc::default()).collect();
    // One batch serves every stream of the trial.
    let batch: Vec<u8> = (0..depth).flat_map(|i| client_frame(i as u8)).collect();
    let batch: &'static [u8] = Vec::leak(batch);
    let echo_frame = echo_frame();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let start = Instant::now();
    runtime.block_on(async {
        let servers: Vec<_> = (counts.iter())
            .map(|count| {
                let report = count.clone();
                let stream = Script::new(upgrade, batch, depth, per_stream, echo_frame, report);
                tokio::spawn(contender(stream))
            })
            .collect();
        for server in servers {
            server.await.unwrap();
        }
    });
    drop(runtime); // the spawned drivers finish with their streams
    let elapsed = start.elapsed();
    for count in &counts {
        let echoed = count.load(Ordering::Relaxed);
        // A close frame (up to 4 bytes with its code) comes on top of the echoes.
        assert!(
            (per_stream * echo_frame..=per_stream * echo_frame + 4).contains(&echoed),
            "{name}: wrote {echoed} bytes for {per_stream} echoes of {echo_frame}"
        );
    }
    elapsed.as_nanos() as f64 / (per_stream * counts.len()) as f64
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

fn main() {
    let quick = std::env::var_os("BENCH_QUICK").is_some();
    let (rounds, messages) = if quick { (3, 50_000) } else { (9, 400_000) };
    // (name, contender, whether it reads the upgrade request itself)
    let contenders: [(&str, Contender, bool); 4] = [
        ("wirestate InlineWebSocket", wirestate_inline, true),
        ("wirestate WebSocket (driver task)", wirestate_spawned, true),
        ("tokio-tungstenite 0.30", tokio_tungstenite, false),
        ("fastwebsockets 0.10", fastwebsockets, false),
    ];
    println!(
        "WebSocket echo over in-memory streams, {} connections on one tokio thread: ns per \
         echoed {}-byte message, median of {rounds} rounds of {} per connection",
        connections(),
        payload(),
        messages / CONNECTIONS
    );
    // For profiling one contender: `ECHO_ONLY=inline ECHO_DEPTH=1`.
    let only = std::env::var("ECHO_ONLY").unwrap_or_default();
    let contenders: Vec<_> = (contenders.into_iter())
        .filter(|(name, ..)| name.contains(only.as_str()))
        .collect();
    let depths = match env_number("ECHO_DEPTH") {
        Some(depth) => vec![depth],
        None => vec![1, 16],
    };
    for depth in depths {
        let mut samples = vec![Vec::new(); contenders.len()];
        for (name, contender, upgrade) in &contenders {
            trial(name, *contender, *upgrade, depth, messages / 10); // warm-up
        }
        for round in 0..rounds {
            for k in 0..contenders.len() {
                let i = (round + k) % contenders.len();
                let (name, contender, upgrade) = contenders[i];
                samples[i].push(trial(name, contender, upgrade, depth, messages));
            }
        }
        let medians: Vec<f64> = samples.into_iter().map(median).collect();
        println!("\n{depth} message(s) per read:");
        let peer = |name: &str| {
            let i = contenders.iter().position(|(n, ..)| n.starts_with(name))?;
            Some(medians[i])
        };
        let (tungstenite, fast) = (peer("tokio-tungstenite"), peer("fastwebsockets"));
        for ((name, ..), ns) in contenders.iter().zip(&medians) {
            let ratio = |peer: Option<f64>| peer.map_or("-".into(), |p| format!("{:.2}x", p / ns));
            println!(
                "  {name:<36} {ns:>7.1} ns/msg   {} tokio-tungstenite   {} fastwebsockets \
                 (speed; above 1 is faster)",
                ratio(tungstenite),
                ratio(fast),
            );
        }
    }
}
