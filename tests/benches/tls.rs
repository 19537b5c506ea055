//! TLS (`wss://`) against plain TCP (`ws://`) in the same run: WebSocket echo over loopback
//! (127.0.0.1 only), a wirestate client against a wirestate echo server, on smol and on
//! tokio. Prints wirestate-TLS, wirestate-plain and the ratio TLS / plain.
//!
//! - 1 KiB binary messages with 16 in flight: the client sends 16, then one more for each
//!   echo it gets back. MB/s of payload echoed (counted once; 1 MB = 10^6 bytes) and
//!   messages/s.
//! - 64 KiB binary messages pipelined: the client's write half sends them all while its
//!   read half takes the echoes (both halves in one task); the send high-water mark and TCP
//!   are the only backpressure. MB/s, counted as above.
//! - connects, one after another: TCP connect, TLS handshake and WebSocket upgrade, until
//!   `connect_with` returns (the close after each one is not timed). TLS twice: full
//!   handshakes (each connection gets a client configuration of its own, built before the
//!   clock starts, so it has no session to resume) and resumed ones (one configuration for
//!   every connection: its session cache keeps the server's TLS 1.3 tickets; a profile of
//!   these runs shows no certificate verification, so the tickets are used).
//!
//! TLS is rustls with the ring provider and its defaults; the certificates are made in the
//! run (`wirestate_tests::pki`). Every echo is checked against what was sent. Each trial
//! opens its own connection(s) (untimed for the echo trials); rounds rotate the contenders'
//! order; medians are reported. `BENCH_QUICK=1` shortens the run (as CI does);
//! `BENCH_ONLY=smol` or `BENCH_ONLY=tokio` runs one runtime, `BENCH_CASE=small`, `large` or
//! `connect` one case (for profiling).

use std::future::Future;
use std::time::{Duration, Instant};

use futures_lite::future;
use wirestate::core::bytes::Bytes;
use wirestate::core::ws::{CloseCode, Message};
use wirestate::ws::{self, ClientOptions, ServerOptions, WebSocket};
use wirestate_tests::pki::Pki;
use wirestate_tests::{MAX_ROUNDS, pattern};

const SMALL: usize = 1024;
const IN_FLIGHT: usize = 16;
const LARGE: usize = 64 * 1024;

/// Any one trial (or server set-up) gives up after this long: a hang fails the run.
const TRIAL_LIMIT: Duration = Duration::from_secs(60);

struct Settings {
    rounds: usize,
    /// 1 KiB messages per trial.
    small: usize,
    /// 64 KiB messages per trial.
    large: usize,
    /// Connections per connect trial.
    connects: usize,
}

fn settings() -> Settings {
    if std::env::var_os("BENCH_QUICK").is_some() {
        Settings {
            rounds: 5,
            small: 50_000,
            large: 2_048,
            connects: 300,
        }
    } else {
        Settings {
            rounds: 11,
            small: 200_000,
            large: 8_192,
            connects: 1_000,
        }
    }
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Runtime {
    Smol,
    Tokio,
}

impl Runtime {
    fn name(self) -> &'static str {
        match self {
            Runtime::Smol => "smol",
            Runtime::Tokio => "tokio",
        }
    }
}

/// `future`, or a panic naming `what` once [`TRIAL_LIMIT`] has passed. The timer is
/// async-io's, which runs its own reactor, so this works under tokio too.
async fn bounded<T>(what: &str, future: impl Future<Output = T>) -> T {
    let timeout = async {
        smol::Timer::after(TRIAL_LIMIT).await;
        None
    };
    future::or(async { Some(future.await) }, timeout)
        .await
        .unwrap_or_else(|| panic!("{what} did not finish within {TRIAL_LIMIT:?}"))
}

// ---- the server ---------------------------------------------------------------------------

/// One server connection: echoes every message until the client's close.
async fn echo(socket: Result<WebSocket, ws::Error>) {
    let mut socket = socket.expect("the server's handshake");
    for _ in 0..MAX_ROUNDS {
        match socket.recv().await.expect("the server's recv") {
            Some(message) => socket.send(message).await.expect("the server's send"),
            None => return,
        }
    }
    panic!("the client sent more than {MAX_ROUNDS} messages");
}

/// Accepts up to `MAX_ROUNDS` connections on smol, each echoed by a task of its own.
async fn serve_smol(listener: smol::net::TcpListener, options: ServerOptions) {
    for _ in 0..MAX_ROUNDS {
        let (stream, _) = listener.accept().await.expect("accept");
        let options = options.clone();
        smol::spawn(async move { echo(ws::smol::accept(stream, &options).await).await }).detach();
    }
}

/// The same on tokio.
async fn serve_tokio(listener: tokio::net::TcpListener, options: ServerOptions) {
    for _ in 0..MAX_ROUNDS {
        let (stream, _) = listener.accept().await.expect("accept");
        let options = options.clone();
        tokio::spawn(async move { echo(ws::tokio::accept(stream, &options).await).await });
    }
}

// ---- the client's trials ------------------------------------------------------------------

/// One runtime's setting: its echo servers (plain and TLS) and how to run a trial on it.
struct Bench {
    runtime: Runtime,
    /// The tokio runtime (for `Runtime::Tokio`): two workers, as smol has two threads.
    tokio: Option<tokio::runtime::Runtime>,
    /// The smol accept loops (cancelled on drop).
    _smol_servers: Vec<smol::Task<()>>,
    plain_url: String,
    tls_url: String,
    pki: Pki,
    /// One client configuration for every TLS connection (its session cache resumes).
    shared_tls: ClientOptions,
}

/// What a contender connects with.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Plain,
    /// TLS, with the shared client configuration.
    Tls,
    /// TLS, with a fresh client configuration per connection (connect trials only).
    TlsFull,
}

impl Bench {
    fn new(runtime: Runtime) -> Bench {
        let pki = Pki::new();
        let tls_options = ServerOptions::default().tls(pki.server_config());
        let listeners = [ServerOptions::default(), tls_options].map(|options| {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
            listener.set_nonblocking(true).expect("non-blocking");
            (listener, options)
        });
        let [plain_port, tls_port] = listeners
            .each_ref()
            .map(|(listener, _)| listener.local_addr().expect("address").port());
        let (tokio, smol_servers) = match runtime {
            Runtime::Smol => {
                let tasks = listeners.map(|(listener, options)| {
                    let listener = smol::net::TcpListener::try_from(listener).expect("smol");
                    smol::spawn(serve_smol(listener, options))
                });
                (None, tasks.into())
            }
            Runtime::Tokio => {
                let rt = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .expect("tokio runtime");
                rt.block_on(async {
                    for (listener, options) in listeners {
                        let listener = tokio::net::TcpListener::from_std(listener).expect("tokio");
                        tokio::spawn(serve_tokio(listener, options));
                    }
                });
                (Some(rt), Vec::new())
            }
        };
        Bench {
            runtime,
            tokio,
            _smol_servers: smol_servers,
            plain_url: format!("ws://127.0.0.1:{plain_port}/"),
            tls_url: format!("wss://127.0.0.1:{tls_port}/"),
            shared_tls: ClientOptions::default().tls(pki.client_config()),
            pki,
        }
    }

    /// Runs `future` to its end on this runtime, within [`TRIAL_LIMIT`].
    fn block_on<T>(&self, what: &str, future: impl Future<Output = T>) -> T {
        let future = bounded(what, future);
        match &self.tokio {
            Some(rt) => rt.block_on(future),
            None => smol::block_on(future),
        }
    }

    fn url(&self, mode: Mode) -> &str {
        match mode {
            Mode::Plain => &self.plain_url,
            Mode::Tls | Mode::TlsFull => &self.tls_url,
        }
    }

    /// The options of `n` connections in `mode`, built before any clock starts.
    fn options(&self, mode: Mode, n: usize) -> Vec<ClientOptions> {
        (0..n)
            .map(|_| match mode {
                Mode::Plain => ClientOptions::default(),
                Mode::Tls => self.shared_tls.clone(),
                Mode::TlsFull => ClientOptions::default().tls(self.pki.client_config()),
            })
            .collect()
    }

    async fn connect(&self, mode: Mode, options: &ClientOptions) -> WebSocket {
        let url = self.url(mode);
        let socket = match self.runtime {
            Runtime::Smol => ws::smol::connect_with(url, options).await,
            Runtime::Tokio => ws::tokio::connect_with(url, options).await,
        };
        let socket = socket.unwrap_or_else(|e| panic!("connecting to {url}: {e}"));
        let tls = socket.connection().with(|m| m.tls_layer().is_some());
        assert_eq!(tls, mode != Mode::Plain, "{url}");
        socket
    }

    /// 1 KiB messages, `IN_FLIGHT` of them in flight; returns the time for all `n` echoes.
    fn small(&self, mode: Mode, n: usize) -> Duration {
        let payload = Bytes::from(pattern(SMALL, 1));
        let options = self.options(mode, 1).remove(0);
        self.block_on("the 1 KiB echo", async {
            let mut socket = self.connect(mode, &options).await;
            let start = Instant::now();
            let mut sent = 0;
            while sent < IN_FLIGHT.min(n) {
                socket.send(Message::Binary(payload.clone())).await.unwrap();
                sent += 1;
            }
            for _ in 0..n {
                let echoed = socket.recv().await.unwrap().expect("an echo");
                assert_eq!(echoed.as_bytes(), &payload[..]);
                if sent < n {
                    socket.send(Message::Binary(payload.clone())).await.unwrap();
                    sent += 1;
                }
            }
            let elapsed = start.elapsed();
            socket.close(CloseCode::NORMAL, "").await.unwrap();
            elapsed
        })
    }

    /// `n` 64 KiB messages pipelined; returns the time until the last echo arrived.
    fn large(&self, mode: Mode, n: usize) -> Duration {
        let payload = Bytes::from(pattern(LARGE, 2));
        let options = self.options(mode, 1).remove(0);
        self.block_on("the 64 KiB echo", async {
            let mut socket = self.connect(mode, &options).await;
            let start = Instant::now();
            let (reader, writer) = socket.halves_mut();
            let send_all = async {
                for _ in 0..n {
                    writer.send(Message::Binary(payload.clone())).await.unwrap();
                }
            };
            let receive_all = async {
                for _ in 0..n {
                    let echoed = reader.recv().await.unwrap().expect("an echo");
                    assert_eq!(echoed.as_bytes(), &payload[..]);
                }
            };
            future::zip(send_all, receive_all).await;
            let elapsed = start.elapsed();
            socket.close(CloseCode::NORMAL, "").await.unwrap();
            elapsed
        })
    }

    /// `n` connects one after another; returns the time spent in them (closes excluded).
    fn connects(&self, mode: Mode, n: usize) -> Duration {
        let options = self.options(mode, n);
        self.block_on("the connects", async {
            let mut spent = Duration::ZERO;
            for options in &options {
                let start = Instant::now();
                let mut socket = self.connect(mode, options).await;
                spent += start.elapsed();
                socket.close(CloseCode::NORMAL, "").await.unwrap();
            }
            spent
        })
    }

    /// The negotiated TLS version, as rustls names it.
    fn tls_version(&self) -> String {
        let options = self.shared_tls.clone();
        self.block_on("a TLS connect", async {
            let mut socket = self.connect(Mode::Tls, &options).await;
            let version = socket.connection().with(|m| {
                let layer = m.tls_layer().expect("a TLS layer");
                format!("{:?}", layer.protocol_version().expect("a version"))
            });
            socket.close(CloseCode::NORMAL, "").await.unwrap();
            version
        })
    }
}

// ---- measuring and reporting --------------------------------------------------------------

/// The echo trials' contenders.
const BOTH: [Mode; 2] = [Mode::Tls, Mode::Plain];

/// One trial: a mode and the number of operations; returns the time they took.
type Trial<'a> = &'a dyn Fn(Mode, usize) -> Duration;

/// Runs each mode once on `n / 8` operations (warm-up), then `rounds` rounds of `n`,
/// rotating which mode goes first; returns each mode's median rate (operations per second).
fn rates(rounds: usize, n: usize, modes: &[Mode], trial: Trial<'_>) -> Vec<f64> {
    for &mode in modes {
        trial(mode, (n / 8).max(1));
    }
    let mut samples = vec![Vec::new(); modes.len()];
    for round in 0..rounds {
        for k in 0..modes.len() {
            let i = (round + k) % modes.len();
            samples[i].push(n as f64 / trial(modes[i], n).as_secs_f64());
        }
    }
    samples.into_iter().map(median).collect()
}

fn row(runtime: Runtime, what: &str, unit: &str, tls: f64, plain: f64) {
    let runtime = runtime.name();
    println!(
        "  {runtime:<6} {what:<41} {unit:<7} {tls:>13.1} {plain:>15.1} {:>10.2}x",
        tls / plain
    );
}

/// Whether the case named `case` is to run (`BENCH_CASE` unset, or naming it).
fn selected(case: &str) -> bool {
    std::env::var("BENCH_CASE").map_or(true, |only| only == case)
}

fn run(runtime: Runtime, settings: &Settings) {
    let bench = Bench::new(runtime);
    let rounds = settings.rounds;

    if selected("small") {
        small(&bench, rounds, settings.small);
    }
    if selected("large") {
        large(&bench, rounds, settings.large);
    }
    if selected("connect") {
        connect(&bench, rounds, settings.connects);
    }
}

fn mbps(rate: f64, size: usize) -> f64 {
    rate * size as f64 / 1e6
}

fn small(bench: &Bench, rounds: usize, n: usize) {
    let runtime = bench.runtime;
    let [tls, plain] = rates(rounds, n, &BOTH, &|mode, n| bench.small(mode, n))[..] else {
        unreachable!()
    };
    let what = format!("1 KiB echo, {IN_FLIGHT} in flight ({n} msgs)");
    row(runtime, &what, "MB/s", mbps(tls, SMALL), mbps(plain, SMALL));
    row(runtime, &what, "msgs/s", tls, plain);
}

fn large(bench: &Bench, rounds: usize, n: usize) {
    let runtime = bench.runtime;
    let [tls, plain] = rates(rounds, n, &BOTH, &|mode, n| bench.large(mode, n))[..] else {
        unreachable!()
    };
    let what = format!("64 KiB echo, pipelined ({} MiB)", (n * LARGE) >> 20);
    row(runtime, &what, "MB/s", mbps(tls, LARGE), mbps(plain, LARGE));
}

fn connect(bench: &Bench, rounds: usize, n: usize) {
    let runtime = bench.runtime;
    let modes = [Mode::TlsFull, Mode::Tls, Mode::Plain];
    let [full, resumed, plain] = rates(rounds, n, &modes, &|mode, n| bench.connects(mode, n))[..]
    else {
        unreachable!()
    };
    let what = format!("connect, sequential ({n}), full TLS");
    row(runtime, &what, "conn/s", full, plain);
    let what = format!("connect, sequential ({n}), resumed TLS");
    row(runtime, &what, "conn/s", resumed, plain);
}

fn main() {
    // smol's global executor (drivers, servers) starts one thread unless told otherwise;
    // give it two, as the tokio runtime here has two workers.
    // SAFETY: no other thread exists yet, so nothing reads the environment concurrently.
    unsafe { std::env::set_var("SMOL_THREADS", "2") };
    let settings = settings();
    let only = std::env::var("BENCH_ONLY").unwrap_or_default();
    let runtimes = [Runtime::Smol, Runtime::Tokio]
        .into_iter()
        .filter(|r| only.is_empty() || only == r.name());
    let version = Bench::new(Runtime::Smol).tls_version();
    println!(
        "WebSocket over TLS ({version}, rustls + ring defaults) against plain TCP, echo over \
         loopback, wirestate client and server; medians of {} rounds",
        settings.rounds
    );
    println!(
        "  {:<6} {:<41} {:<7} {:>13} {:>15} {:>11}",
        "", "", "unit", "wirestate-TLS", "wirestate-plain", "TLS/plain"
    );
    for runtime in runtimes {
        run(runtime, &settings);
    }
}
