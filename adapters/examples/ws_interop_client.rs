//! A WebSocket interop client: connects to an echo server and checks a text round trip
//! (non-ASCII), a binary one, a 16 MiB message, 1000 messages in a row, ping/pong and a
//! closing handshake it starts with 1000. Each check has its own connection, closed with
//! 1000 at its end, and 20 s for everything it waits for. Prints `PASS name detail` or
//! `FAIL name detail` per check, then `N passed, M failed`; exits 0 only if none failed.
//! `tests/interop/websockets_interop.py` runs it against Python websockets' server.
//! With `--deflate on` (and the `deflate` feature) it offers permessage-deflate and the text
//! check also requires that the server accepted it.
//! A `wss://` URL (feature `tls`) connects over TLS with `wirestate::ws::*::connect_with`,
//! trusting the platform's roots, or only the certificates in `--tls-ca CA.pem`; the text
//! check then also reports the TLS version and the ALPN protocol agreed on.
//!
//! `cargo run -p wirestate --all-features --example ws_interop_client -- --url ws://127.0.0.1:PORT/path [--runtime smol|tokio|blocking] [--deflate on|off] [--tls-ca CA.pem]`

#[path = "support/args.rs"]
mod args;

use std::future::Future;
use std::io::Write;
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::pin::pin;
use std::process::ExitCode;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use args::{Args, Runtime};
use bytes::Bytes;
use wirestate::core::http::ClientRequest;
use wirestate::core::ws::{self, CloseCode, CloseReason, Command, Event, Message};
use wirestate::driver::{self, Connection};
use wirestate::wire::Wire;
use wirestate::ws::WsConnection;

/// How long one check may take, connecting and closing included.
const CHECK_TIME: Duration = Duration::from_secs(20);
/// The large message's size.
const LARGE: usize = 16 * 1024 * 1024;
/// How many small messages go out in a row.
const MANY: usize = 1000;

/// The checks, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Check {
    Text,
    Binary,
    Large,
    Many,
    PingPong,
    Close,
}

impl Check {
    const ALL: [Check; 6] = [
        Check::Text,
        Check::Binary,
        Check::Large,
        Check::Many,
        Check::PingPong,
        Check::Close,
    ];

    fn name(self) -> &'static str {
        match self {
            Check::Text => "text_round_trip",
            Check::Binary => "binary_round_trip",
            Check::Large => "binary_16mib_round_trip",
            Check::Many => "many_small_messages_in_order",
            Check::PingPong => "ping_pong",
            Check::Close => "client_close_1000",
        }
    }
}

/// Where to connect: the socket address, the `Host` value and the request path; and how.
struct Target {
    addr: SocketAddr,
    authority: String,
    path: String,
    config: ws::Config,
    /// A `wss://` URL: TLS under the WebSocket.
    #[cfg_attr(not(feature = "tls"), allow(dead_code))] // always false then
    secure: bool,
    /// The roots a `wss://` connection trusts (`--tls-ca`); the platform's without one.
    #[cfg(feature = "tls")]
    tls: Option<wirestate::tls::ClientConfig>,
}

impl Target {
    fn parse(url: &str) -> Result<Target, String> {
        let (secure, rest) = match (url.strip_prefix("ws://"), url.strip_prefix("wss://")) {
            (Some(rest), _) => (false, rest),
            (None, Some(rest)) if cfg!(feature = "tls") => (true, rest),
            (None, Some(_)) => return Err(format!("{url}: wss:// needs the `tls` feature")),
            (None, None) => return Err(format!("{url}: only ws:// and wss:// URLs")),
        };
        let (authority, path) = match rest.find(['/', '?']) {
            Some(at) => rest.split_at(at),
            None => (rest, "/"),
        };
        let path = if path.starts_with('?') {
            format!("/{path}")
        } else {
            path.to_string()
        };
        let addr = authority
            .to_socket_addrs()
            .map_err(|e| format!("{authority}: {e}"))?
            .next()
            .ok_or_else(|| format!("{authority}: no address"))?;
        Ok(Target {
            addr,
            authority: authority.to_string(),
            path,
            config: ws::Config::default(),
            secure,
            #[cfg(feature = "tls")]
            tls: None,
        })
    }

    /// Trusts only the certificates in the PEM file `ca` (for a `wss://` URL).
    #[cfg(feature = "tls")]
    fn trust(&mut self, ca: &str) -> Result<(), String> {
        if !self.secure {
            return Err("--tls-ca needs a wss:// URL".into());
        }
        let pem = std::fs::read(ca).map_err(|error| format!("{ca}: {error}"))?;
        let config = wirestate::tls::ClientConfig::builder()
            .root_certificates_pem(&pem)
            .and_then(|builder| builder.build())
            .map_err(|error| format!("{ca}: {error}"))?;
        self.tls = Some(config);
        Ok(())
    }
}

fn main() -> ExitCode {
    let args = Args::parse(
        "ws_interop_client --url ws[s]://HOST:PORT/PATH [--runtime smol|tokio|blocking] \
         [--deflate on|off] [--tls-ca CA.pem]",
    );
    #[allow(unused_mut)] // without the deflate feature there is nothing to change
    let mut target = match Target::parse(&args.get("url", "ws://127.0.0.1:9001/")) {
        Ok(target) => target,
        Err(error) => {
            eprintln!("ws_interop_client: {error}");
            return ExitCode::from(2);
        }
    };
    #[cfg(feature = "deflate")]
    if args.get("deflate", "off") == "on" {
        target.config.deflate = Some(Default::default());
    }
    #[cfg(feature = "tls")]
    if let ca = args.get("tls-ca", "")
        && !ca.is_empty()
        && let Err(error) = target.trust(&ca)
    {
        eprintln!("ws_interop_client: {error}");
        return ExitCode::from(2);
    }
    let runtime = args.runtime();
    let checks = run_checks(runtime, &target);
    let (passed, failed) = match runtime {
        Runtime::Smol => smol::block_on(checks),
        Runtime::Tokio => match tokio::runtime::Runtime::new() {
            Ok(rt) => rt.block_on(checks),
            Err(error) => {
                eprintln!("ws_interop_client: tokio runtime: {error}");
                return ExitCode::from(2);
            }
        },
        Runtime::Blocking => run_blocking(checks),
    };
    println!("{passed} passed, {failed} failed");
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Runs `future` on the blocking runtime: its waits block the thread
/// (`wait_event_timeout`), so it is ready on its first poll and needs no executor.
fn run_blocking<F: Future>(future: F) -> F::Output {
    match pin!(future).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(output) => output,
        Poll::Pending => unreachable!("on the blocking runtime nothing waits for a waker"),
    }
}

/// Runs every check, printing a line for each; returns how many passed and failed.
async fn run_checks(runtime: Runtime, target: &Target) -> (usize, usize) {
    let (mut passed, mut failed) = (0, 0);
    for check in Check::ALL {
        let deadline = Instant::now() + CHECK_TIME;
        let line = match run_check(runtime, target, check, deadline).await {
            Ok(detail) => {
                passed += 1;
                format!("PASS {} {detail}", check.name())
            }
            Err(detail) => {
                failed += 1;
                format!("FAIL {} {detail}", check.name())
            }
        };
        let mut stdout = std::io::stdout().lock();
        let _ = writeln!(stdout, "{line}");
        let _ = stdout.flush();
    }
    (passed, failed)
}

/// One check on a connection of its own, which it closes with 1000 at the end.
async fn run_check(
    runtime: Runtime,
    target: &Target,
    check: Check,
    deadline: Instant,
) -> Result<String, String> {
    let peer = Peer::open(runtime, target, deadline).await?;
    let detail = match check {
        Check::Text => text(&peer, target).await?,
        Check::Binary => binary(&peer).await?,
        Check::Large => large(&peer).await?,
        Check::Many => many(&peer).await?,
        Check::PingPong => ping_pong(&peer).await?,
        Check::Close => return client_close(&peer).await,
    };
    peer.close("check done")
        .await
        .map_err(|error| format!("{detail}, but then closing: {error}"))?;
    Ok(detail)
}

async fn text(peer: &Peer, target: &Target) -> Result<String, String> {
    let text = "héllo wörld, ünïcode ✓ — 你好, 🦀 and \u{10FFFF}".repeat(4);
    peer.send(Message::Text(text.as_str().into()))?;
    peer.expect_message(&Message::Text(text.as_str().into()))
        .await?;
    let compression = compression(peer, target)?;
    Ok(format!(
        "{} bytes ({} chars) came back equal{compression}{}",
        text.len(),
        text.chars().count(),
        tls_session(peer)
    ))
}

/// Over TLS: the protocol version and the ALPN protocol agreed on.
#[cfg(feature = "tls")]
fn tls_session(peer: &Peer) -> String {
    peer.conn
        .with(|m| {
            m.tls_layer().map(|tls| {
                let alpn = tls
                    .alpn_protocol()
                    .map_or("none".into(), String::from_utf8_lossy);
                format!(", over TLS ({:?}, ALPN {alpn})", tls.protocol_version())
            })
        })
        .unwrap_or_default()
}

#[cfg(not(feature = "tls"))]
fn tls_session(_: &Peer) -> String {
    String::new()
}

/// With deflate offered: that the server accepted it, and what was agreed.
#[cfg(feature = "deflate")]
fn compression(peer: &Peer, target: &Target) -> Result<String, String> {
    if target.config.deflate.is_none() {
        return Ok(String::new());
    }
    match peer.conn.with(|m| m.deflate().copied()) {
        Some(agreed) => Ok(format!(", compressed with permessage-deflate {agreed:?}")),
        None => Err("permessage-deflate was offered but not accepted".into()),
    }
}

#[cfg(not(feature = "deflate"))]
fn compression(_: &Peer, _: &Target) -> Result<String, String> {
    Ok(String::new())
}

async fn binary(peer: &Peer) -> Result<String, String> {
    let payload = Bytes::from((0..=255u8).chain((0..=255u8).rev()).collect::<Vec<u8>>());
    peer.send(Message::Binary(payload.clone()))?;
    peer.expect_message(&Message::Binary(payload.clone()))
        .await?;
    Ok(format!(
        "{} bytes (every byte value) came back equal",
        payload.len()
    ))
}

async fn large(peer: &Peer) -> Result<String, String> {
    let payload = Bytes::from(pseudo_random(LARGE, 0x5eed_1234_abcd_0001));
    let started = Instant::now();
    peer.send(Message::Binary(payload.clone()))?;
    match peer.next().await? {
        Event::Message(Message::Binary(echo)) if echo == payload => Ok(format!(
            "{LARGE} bytes came back equal in {} ms",
            started.elapsed().as_millis()
        )),
        Event::Message(Message::Binary(echo)) => {
            let first = payload
                .iter()
                .zip(echo.iter())
                .position(|(a, b)| a != b)
                .unwrap_or(payload.len().min(echo.len()));
            Err(format!(
                "sent {LARGE} bytes, got {} back, first difference at offset {first}",
                echo.len()
            ))
        }
        other => Err(format!(
            "expected the 16 MiB echo, got {}",
            describe(&other)
        )),
    }
}

async fn many(peer: &Peer) -> Result<String, String> {
    let message = |i: usize| {
        if i % 2 == 0 {
            Message::Text(format!("message {i} ✓").into())
        } else {
            Message::Binary(Bytes::from(format!("binary {i}").into_bytes()))
        }
    };
    for i in 0..MANY {
        peer.send(message(i))
            .map_err(|error| format!("message {i}: {error}"))?;
    }
    for i in 0..MANY {
        peer.expect_message(&message(i))
            .await
            .map_err(|error| format!("echo {i} of {MANY}: {error}"))?;
    }
    Ok(format!(
        "{MANY} text and binary messages came back in order"
    ))
}

async fn ping_pong(peer: &Peer) -> Result<String, String> {
    let payload = Bytes::from_static(b"wirestate interop ping \x00\x01\xfe\xff");
    peer.command(Command::Ping(payload.clone()))?;
    match peer.next().await? {
        Event::Pong(pong) if pong == payload => {
            Ok(format!("pong with the same {} bytes", payload.len()))
        }
        other => Err(format!(
            "expected Pong({payload:?}), got {}",
            describe(&other)
        )),
    }
}

async fn client_close(peer: &Peer) -> Result<String, String> {
    let reason = "client done ✓";
    let (code, echoed) = peer.close(reason).await?;
    if code != Some(CloseCode::NORMAL) {
        return Err(format!(
            "sent 1000 {reason:?}; the server answered {code:?} {echoed:?}"
        ));
    }
    Ok(format!(
        "sent 1000 {reason:?}; the server answered 1000 {echoed:?}, then the connection closed normally"
    ))
}

/// One client connection, its driver running on one runtime, with a deadline for every
/// wait.
struct Peer {
    conn: WsConnection,
    runtime: Runtime,
    deadline: Instant,
}

impl Peer {
    /// Connects, starts the runtime's driver and waits for the handshake to complete.
    async fn open(runtime: Runtime, target: &Target, deadline: Instant) -> Result<Peer, String> {
        let machine = Peer::machine(target)?;
        let wait = deadline.saturating_duration_since(Instant::now());
        let stream = TcpStream::connect_timeout(&target.addr, wait)
            .map_err(|error| format!("connecting to {}: {error}", target.addr))?;
        let conn = start_driver(runtime, machine, stream)
            .map_err(|error| format!("starting the {runtime:?} driver: {error}"))?;
        let peer = Peer {
            conn,
            runtime,
            deadline,
        };
        match peer.next().await {
            Ok(Event::Open { .. }) => Ok(peer),
            Ok(other) => Err(peer
                .tls_failure()
                .unwrap_or_else(|| format!("expected Open, got {}", describe(&other)))),
            Err(error) => Err(peer
                .tls_failure()
                .unwrap_or_else(|| format!("upgrade handshake: {error}"))),
        }
    }

    /// The client machine for `target`: for `wss://`, under TLS, as `connect_with` builds
    /// it (this peer runs its own driver so that it can read the connection's events).
    fn machine(target: &Target) -> Result<Wire<ws::Connection>, String> {
        #[cfg(feature = "tls")]
        if target.secure {
            let mut options = wirestate::ws::ClientOptions::default().config(target.config);
            if let Some(tls) = &target.tls {
                options = options.tls(tls.clone());
            }
            let url = format!("wss://{}{}", target.authority, target.path);
            return options
                .machine(&url)
                .map_err(|error| format!("a client for {url}: {error}"));
        }
        let request = ClientRequest::new(target.authority.as_str(), target.path.as_str());
        ws::Connection::client(target.config, wirestate::os_rng(), &request)
            .map(Wire::plain)
            .map_err(|error| format!("client request: {error}"))
    }

    /// Why TLS failed, if it did, as `connect_with` would report it.
    fn tls_failure(&self) -> Option<String> {
        #[cfg(feature = "tls")]
        if let Some(error) = self.conn.with(|m| m.tls_error().cloned()) {
            return Some(wirestate::ws::Error::Tls(error).to_string());
        }
        None
    }

    fn command(&self, command: Command) -> Result<(), String> {
        self.conn
            .command(command)
            .map_err(|error| format!("command refused: {error}"))
    }

    fn send(&self, message: Message) -> Result<(), String> {
        self.command(Command::Send(message))
    }

    /// The next event, or `None` once the driver has stopped and no event is left; an
    /// error once the deadline has passed.
    async fn next_or_end(&self) -> Result<Option<Event>, String> {
        let limit = self.deadline.saturating_duration_since(Instant::now());
        let event = match self.runtime {
            Runtime::Smol => {
                smol::future::or(async { Some(self.conn.next_event().await) }, async {
                    smol::Timer::after(limit).await;
                    None
                })
                .await
            }
            Runtime::Tokio => tokio::time::timeout(limit, self.conn.next_event())
                .await
                .ok(),
            Runtime::Blocking => self.conn.wait_event_timeout(limit).ok(),
        };
        event.ok_or_else(|| format!("nothing happened within the check's {CHECK_TIME:?}"))
    }

    /// The next event other than a ping (the machine answers those by itself).
    async fn next(&self) -> Result<Event, String> {
        loop {
            match self.next_or_end().await? {
                Some(Event::Ping(_)) => {}
                Some(event) => return Ok(event),
                None => {
                    return Err(format!(
                        "the connection ended early (driver: {:?})",
                        self.conn.driver_result()
                    ));
                }
            }
        }
    }

    async fn expect_message(&self, expected: &Message) -> Result<(), String> {
        match self.next().await? {
            Event::Message(message) if message == *expected => Ok(()),
            other => Err(format!(
                "expected {}, got {}",
                describe_message(expected),
                describe(&other)
            )),
        }
    }

    /// Starts the closing handshake with 1000 and `reason`, and sees it through: the
    /// server's close frame, `Closed(Normal)`, the end of the event stream and a driver
    /// that stopped cleanly. Returns the server's code and reason.
    async fn close(&self, reason: &str) -> Result<(Option<CloseCode>, String), String> {
        self.command(Command::Close {
            code: CloseCode::NORMAL,
            reason: reason.into(),
        })?;
        let (code, echoed) = match self.next().await? {
            Event::CloseReceived { code, reason } => (code, reason),
            other => {
                return Err(format!(
                    "expected the server's close frame, got {}",
                    describe(&other)
                ));
            }
        };
        match self.next().await? {
            Event::Closed(CloseReason::Normal { code: closed, .. }) if closed == code => {}
            other => {
                return Err(format!(
                    "after the server's close ({code:?} {echoed:?}) expected Closed(Normal), got {}",
                    describe(&other)
                ));
            }
        }
        match self.next_or_end().await? {
            None => {}
            Some(event) => return Err(format!("an event after Closed: {}", describe(&event))),
        }
        match self.conn.driver_result() {
            Some(Ok(())) => Ok((code, echoed)),
            other => Err(format!("the driver ended with {other:?}")),
        }
    }
}

/// Starts `runtime`'s driver for `machine` over `stream` (on the runtime the caller runs
/// on, for smol and tokio) and returns the application's handle.
fn start_driver(
    runtime: Runtime,
    machine: Wire<ws::Connection>,
    stream: TcpStream,
) -> std::io::Result<WsConnection> {
    stream.set_nodelay(true)?;
    // The drivers report how they stopped through the connection, so their tasks and
    // threads are detached.
    Ok(match runtime {
        Runtime::Smol => {
            let conn = Connection::new(machine);
            smol::spawn(driver::smol::run(conn.clone(), smol::Async::new(stream)?)).detach();
            conn
        }
        Runtime::Tokio => {
            stream.set_nonblocking(true)?;
            let conn = driver::tokio::connection(machine);
            let stream = tokio::net::TcpStream::from_std(stream)?;
            drop(tokio::spawn(driver::tokio::run(conn.clone(), stream)));
            conn
        }
        Runtime::Blocking => {
            let conn = Connection::new(machine);
            drop(driver::blocking::spawn(conn.clone(), stream)?);
            conn
        }
    })
}

/// An event, briefly: payloads of messages are summed up, not printed.
fn describe(event: &Event) -> String {
    match event {
        Event::Message(message) => describe_message(message),
        other => format!("{other:?}"),
    }
}

fn describe_message(message: &Message) -> String {
    const SHOWN: usize = 40;
    match message {
        Message::Text(text) if text.len() <= SHOWN => format!("text {text:?}"),
        Message::Text(text) => format!("a text message of {} bytes", text.len()),
        Message::Binary(bytes) if bytes.len() <= SHOWN => format!("binary {bytes:?}"),
        Message::Binary(bytes) => format!("a binary message of {} bytes", bytes.len()),
    }
}

/// `len` bytes from xorshift64 seeded with `seed`: no period a framing bug could hide in.
fn pseudo_random(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.extend_from_slice(&state.to_le_bytes());
    }
    out.truncate(len);
    out
}
