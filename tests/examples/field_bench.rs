//! WebSocket echo servers against the field, in one command: wirestate on smol and on
//! tokio (`WebSocket` with its driver task, and `InlineWebSocket`), tokio-tungstenite and
//! fastwebsockets, each started in turn as a child process (`field_echo_server`, built here
//! with the same profile) and loaded on loopback. A last row, `floor`, is no WebSocket
//! server but the least a tokio server can do per echo (`wirestate_tests::raw_ws_floor`):
//! what the runtime and the kernel cost on the machine.
//!
//! `cargo run --release -p wirestate-tests --example field_bench [-- --svg PATH --md PATH]`
//! (`BENCH_QUICK=1`: short runs; `FIELD_SECONDS=N`: seconds per run; `FIELD_SYSCALLS=0`:
//! no syscall counting; `FIELD_CLIENT=raw|tungstenite`: the load generator;
//! `FIELD_SERVERS=name,...` and `FIELD_CASES=SIZExDEPTH,...`, e.g. `16384x16`: only
//! these, for profiling one; `FIELD_ROUNDS=N`: rounds per case, 3 by default, 1 quick.)
//!
//! A case runs in rounds: each round runs every server once, in an order rotated from
//! round to round, so that servers compared within a round met the same load on the
//! host. Figures are medians over the rounds, and each ratio is the median of the rounds'
//! own ratios, with their range: on a shared machine a server's rate moves by ±20 % from
//! one run to the next, and a ratio of two medians taken minutes apart hides that.
//!
//! Cases: 100 connections x 20-byte messages, 10 x 1 KiB, 10 x 16 KiB, each with 1 message
//! in flight per connection and with 16 in flight. Each server runs on one executor thread
//! (see `field_echo_server`); a fresh server process serves each case, so its peak memory
//! is the case's own.
//!
//! The load generator is not wirestate, and runs on a tokio runtime with one worker in this
//! process, one task per connection. Two clients (`FIELD_CLIENT`):
//!
//! - `raw` (the default): WebSocket frames written and parsed by hand on tokio's
//!   `TcpStream` (`wirestate_tests::raw_ws_client`), so cheap that the server sets the pace
//!   where a full client library would (on two CPUs, a tokio-tungstenite client uses a
//!   whole core and caps every server at the same rate);
//! - `tungstenite`: tokio-tungstenite clients with sink and stream split, the client a
//!   user would pick.
//!
//! Either keeps the window full: it sends until the window is full in one write, waits for
//! an echo, takes every echo that is already there, and refills. Every echo is checked
//! whole: its length, its sequence number (first 8 bytes), and the rest of its content;
//! any mismatch, error or stall fails the run.
//!
//! Measured on the server, over the load (connections already open): CPU time from
//! `/proc/PID/stat` (utime and stime, ticks of `sysconf(_SC_CLK_TCK)`), peak memory
//! (VmHWM from `/proc/PID/status`), and, when `perf` can count the syscall tracepoints,
//! its read-like (read, readv, recvfrom, recvmsg) and write-like (write, writev, sendto,
//! sendmsg) syscalls. The load generator's own CPU use is shown, to tell when it, not the
//! server, was the limit: a rate ratio marked `*` had the client above 90 % of its core
//! for the faster server, so that server could have gone faster. The ratio by CPU, what
//! each server spends per message (user and system), does not depend on the client and
//! says how the two compare when the server's own core sets the pace. Writes a markdown
//! table (default `target/field/field.md`) and an SVG bar chart of messages per second
//! (default `target/field/field.svg`).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use futures_util::{FutureExt, SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::{Bytes, Message};
use wirestate_tests::arg;
use wirestate_tests::raw_ws_client::{Frames, RawSocket, check_echo};

const SERVERS: [&str; 7] = [
    "wirestate-smol",
    "wirestate-smol-inline",
    "wirestate-tokio",
    "wirestate-tokio-inline",
    "tokio-tungstenite",
    "fastwebsockets",
    FLOOR,
];
/// Not a WebSocket server: the least a tokio server can do per echo of the raw client
/// (`wirestate_tests::raw_ws_floor`), to show what the runtime and the kernel cost here.
const FLOOR: &str = "floor";
const PEERS: [&str; 2] = ["tokio-tungstenite", "fastwebsockets"];
/// (message size, connections), as issue 7 asks.
const SIZES: [(usize, usize); 3] = [(20, 100), (1024, 10), (16 * 1024, 10)];
/// Messages in flight per connection.
const DEPTHS: [u64; 2] = [1, 16];
/// How long any one wait may take: a server's start, one echo, a close.
const STALL: Duration = Duration::from_secs(10);
/// The load client's share of its core above which it, not the server, may set the rate.
const CLIENT_BOUND: f64 = 0.9;

type Socket = WebSocketStream<TcpStream>;

/// The load generator (see the crate docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Client {
    Raw,
    Tungstenite,
}

impl Client {
    fn from_env() -> Client {
        match std::env::var("FIELD_CLIENT").as_deref() {
            Ok("tungstenite") => Client::Tungstenite,
            Ok("raw") | Err(_) => Client::Raw,
            Ok(other) => {
                eprintln!("field_bench: FIELD_CLIENT={other}: expected raw or tungstenite");
                std::process::exit(2);
            }
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Client::Raw => {
                "hand-written WebSocket clients on tokio's TcpStream (no WebSocket library)"
            }
            Client::Tungstenite => "tokio-tungstenite clients",
        }
    }
}

/// A case's open connections, of either client.
enum Sockets {
    Raw(Vec<RawSocket>),
    Tungstenite(Vec<Socket>),
}

/// One server's figures for one case.
#[derive(Clone, Debug, Default)]
struct Outcome {
    messages: u64,
    seconds: f64,
    user_s: f64,
    system_s: f64,
    peak_rss_kib: u64,
    reads: Option<u64>,
    writes: Option<u64>,
    client_cpu_s: f64,
}

impl Outcome {
    fn rate(&self) -> f64 {
        self.messages as f64 / self.seconds
    }
    fn per_message_us(&self, seconds: f64) -> f64 {
        seconds * 1e6 / self.messages as f64
    }
    /// The server's CPU time, user and system, per message.
    fn cpu_per_message_us(&self) -> f64 {
        self.per_message_us(self.user_s + self.system_s)
    }
    /// The load client's share of its core.
    fn client_share(&self) -> f64 {
        self.client_cpu_s / self.seconds
    }
}

/// One server's outcomes in one case, a round each.
#[derive(Clone, Debug, Default)]
struct Rounds(Vec<Outcome>);

impl Rounds {
    /// The median of `figure` over the rounds.
    fn median(&self, figure: impl Fn(&Outcome) -> f64) -> f64 {
        median(self.0.iter().map(figure).collect())
    }

    /// The median and range over the rounds of `ratio` between this server's outcome and
    /// `peer`'s in the same round.
    fn ratio(&self, peer: &Rounds, ratio: impl Fn(&Outcome, &Outcome) -> f64) -> Spread {
        let ratios: Vec<f64> = self
            .0
            .iter()
            .zip(&peer.0)
            .map(|(a, b)| ratio(a, b))
            .collect();
        Spread {
            low: ratios.iter().copied().fold(f64::INFINITY, f64::min),
            high: ratios.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            median: median(ratios),
        }
    }
}

/// A ratio's median over rounds and its range.
struct Spread {
    median: f64,
    low: f64,
    high: f64,
}

impl std::fmt::Display for Spread {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:.2}x", self.median)?;
        if self.high > self.low {
            write!(f, " ({:.2}-{:.2})", self.low, self.high)?;
        }
        Ok(())
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

fn main() {
    let quick = std::env::var("BENCH_QUICK").is_ok_and(|v| !v.is_empty() && v != "0");
    let seconds: f64 = std::env::var("FIELD_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(if quick { 0.3 } else { 3.0 });
    let syscalls = std::env::var("FIELD_SYSCALLS").map_or(true, |v| v != "0");
    let rounds: usize = std::env::var("FIELD_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(if quick { 1 } else { 3 });
    let client = Client::from_env();
    let svg = PathBuf::from(arg("svg", "target/field/field.svg"));
    let md = PathBuf::from(arg("md", "target/field/field.md"));
    let started = Instant::now();
    let server = build_server();
    let perf = syscalls && perf_works();
    if syscalls && !perf {
        eprintln!("field_bench: perf cannot count syscall tracepoints here; no syscall counts");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let mut results: Vec<Case> = Vec::new();
    let only = |var: &str, item: &str| {
        std::env::var(var).map_or(true, |list| list.split(',').any(|x| x.trim() == item))
    };
    for &(size, connections) in &SIZES {
        for &depth in &DEPTHS {
            if !only("FIELD_CASES", &format!("{size}x{depth}")) {
                continue;
            }
            let names: Vec<&'static str> = SERVERS
                .into_iter()
                .filter(|name| only("FIELD_SERVERS", name))
                // The floor answers only the raw client's fixed upgrade request.
                .filter(|&name| name != FLOOR || client == Client::Raw)
                .collect();
            let mut row: HashMap<&'static str, Rounds> = HashMap::new();
            for round in 0..rounds {
                // Each round starts one server later, so no server always runs first.
                for k in 0..names.len() {
                    let name = names[(k + round) % names.len()];
                    let outcome = match run_one(
                        &runtime,
                        &server,
                        name,
                        size,
                        connections,
                        depth,
                        seconds,
                        perf,
                        client,
                    ) {
                        Ok(outcome) => outcome,
                        Err(error) => {
                            eprintln!(
                                "field_bench: {name}, {connections} x {size} B, {depth} in flight: {error}"
                            );
                            std::process::exit(1);
                        }
                    };
                    eprintln!(
                        "  {name:<22} {connections:>3} x {size:>5} B, {depth:>2} in flight, round {}: {:>9.0} msgs/s",
                        round + 1,
                        outcome.rate()
                    );
                    row.entry(name).or_default().0.push(outcome);
                }
            }
            results.push(((size, connections, depth), row));
        }
    }
    let table = markdown(&results, seconds, rounds, perf, client);
    println!("{table}");
    write(&md, &table);
    write(&svg, &chart(&results));
    eprintln!(
        "field_bench: done in {:.1} s; wrote {} and {}",
        started.elapsed().as_secs_f64(),
        md.display(),
        svg.display()
    );
}

fn write(path: &Path, text: &str) {
    if let Some(parent) = path.parent() {
        let _ = std::fs::create_dir_all(parent);
    }
    std::fs::write(path, text).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
}

/// Builds `field_echo_server` with this binary's profile (through the `cargo` that runs
/// this, when there is one) and returns its path, next to this binary.
fn build_server() -> PathBuf {
    let me = std::env::current_exe().expect("this binary's path");
    let dir = me.parent().expect("a directory").to_path_buf();
    if let Ok(cargo) = std::env::var("CARGO") {
        let release = dir.parent().is_some_and(|p| p.ends_with("release"));
        let mut build = Command::new(cargo);
        build.args([
            "build",
            "-q",
            "-p",
            "wirestate-tests",
            "--example",
            "field_echo_server",
        ]);
        if release {
            build.arg("--release");
        }
        // What `cargo run` sets for this binary would look like a change to the build
        // scripts that watch it (ring's), and rebuild half the tree, twice.
        for (key, _) in std::env::vars_os() {
            let key = key.to_string_lossy().into_owned();
            if key.starts_with("CARGO_PKG_")
                || key.starts_with("CARGO_MANIFEST_")
                || key.starts_with("CARGO_BIN_")
                || ["CARGO_CRATE_NAME", "CARGO_PRIMARY_PACKAGE", "OUT_DIR"].contains(&key.as_str())
            {
                build.env_remove(&key);
            }
        }
        let status = build.status().expect("running cargo build");
        assert!(status.success(), "building field_echo_server failed");
    }
    let server = dir.join("field_echo_server");
    assert!(server.exists(), "{} not built", server.display());
    server
}

/// Whether `perf stat` can count the syscall tracepoints.
fn perf_works() -> bool {
    Command::new("perf")
        .args([
            "stat",
            "-x,",
            "-e",
            "syscalls:sys_enter_write",
            "--",
            "true",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

const READS: [&str; 4] = ["read", "readv", "recvfrom", "recvmsg"];
const WRITES: [&str; 4] = ["write", "writev", "sendto", "sendmsg"];

/// `perf stat` counting `pid`'s read and write syscalls until stopped.
fn start_perf(pid: u32, out: &Path) -> Option<Child> {
    let events: Vec<String> = READS
        .iter()
        .chain(WRITES.iter())
        .map(|s| format!("syscalls:sys_enter_{s}"))
        .collect();
    let child = Command::new("perf")
        .args([
            "stat",
            "-x,",
            "-e",
            &events.join(","),
            "-p",
            &pid.to_string(),
            "-o",
        ])
        .arg(out)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    // Let it attach before the load starts.
    std::thread::sleep(Duration::from_millis(300));
    Some(child)
}

/// Stops `perf` (SIGINT, by its PID) and returns (reads, writes).
fn stop_perf(mut child: Child, out: &Path) -> Option<(u64, u64)> {
    // SAFETY: signals only the perf process this harness started.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
    let deadline = Instant::now() + STALL;
    while child.try_wait().ok()?.is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let text = std::fs::read_to_string(out).ok()?;
    let (mut reads, mut writes) = (0, 0);
    for line in text.lines() {
        let fields: Vec<&str> = line.split(',').collect();
        let (Some(count), Some(event)) = (fields.first(), fields.get(2)) else {
            continue;
        };
        let Ok(count) = count.parse::<u64>() else {
            continue;
        };
        let name = event.trim_start_matches("syscalls:sys_enter_");
        if READS.contains(&name) {
            reads += count;
        } else if WRITES.contains(&name) {
            writes += count;
        }
    }
    Some((reads, writes))
}

/// (user, system) CPU seconds of `pid` (all its threads).
fn cpu_seconds(pid: &str) -> (f64, f64) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // After the command name in parentheses: state is field 3, utime 14, stime 15.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let tick = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    let hz = if hz > 0 { hz as f64 } else { 100.0 };
    (tick(11) as f64 / hz, tick(12) as f64 / hz)
}

/// Peak resident memory of `pid` in KiB (VmHWM).
fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|k| k.parse().ok())
        .unwrap_or(0)
}

/// Kills the server when dropped, by its PID (the `Child`).
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[allow(clippy::too_many_arguments)]
fn run_one(
    runtime: &tokio::runtime::Runtime,
    binary: &Path,
    name: &str,
    size: usize,
    connections: usize,
    depth: u64,
    seconds: f64,
    perf: bool,
    client: Client,
) -> Result<Outcome, String> {
    let mut child = Command::new(binary)
        .args(["--impl", name, "--listen", "127.0.0.1:0"])
        .env("SMOL_THREADS", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("starting {}: {e}", binary.display()))?;
    let stdout = child.stdout.take().expect("piped stdout");
    let server = Server(child);
    let pid = server.0.id();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx
        .recv_timeout(STALL)
        .map_err(|_| "no `listening on` line".to_string())?;
    let address = line
        .trim()
        .strip_prefix("listening on ")
        .ok_or_else(|| format!("unexpected first line {line:?}"))?
        .to_string();

    let sockets = runtime.block_on(open(client, &address, connections))?;
    let perf_out =
        std::env::temp_dir().join(format!("field_bench_perf_{}.csv", std::process::id()));
    let perf_child = if perf {
        start_perf(pid, &perf_out)
    } else {
        None
    };
    let pid_text = pid.to_string();
    let (user0, system0) = cpu_seconds(&pid_text);
    let (client_u0, client_s0) = cpu_seconds("self");
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(seconds);
    let (messages, sockets) = runtime.block_on(load(sockets, size, depth, deadline))?;
    let elapsed = started.elapsed().as_secs_f64();
    let (user1, system1) = cpu_seconds(&pid_text);
    let (client_u1, client_s1) = cpu_seconds("self");
    let counts = perf_child.and_then(|c| stop_perf(c, &perf_out));
    let _ = std::fs::remove_file(&perf_out);
    let peak = peak_rss_kib(pid);
    runtime.block_on(close(sockets));
    drop(server);
    Ok(Outcome {
        messages,
        seconds: elapsed,
        user_s: user1 - user0,
        system_s: system1 - system0,
        peak_rss_kib: peak,
        reads: counts.map(|c| c.0),
        writes: counts.map(|c| c.1),
        client_cpu_s: (client_u1 + client_s1) - (client_u0 + client_s0),
    })
}

async fn open(client: Client, address: &str, connections: usize) -> Result<Sockets, String> {
    Ok(match client {
        Client::Tungstenite => Sockets::Tungstenite(open_tungstenite(address, connections).await?),
        Client::Raw => {
            let mut sockets = Vec::with_capacity(connections);
            for _ in 0..connections {
                sockets.push(RawSocket::open(address, STALL).await?);
            }
            Sockets::Raw(sockets)
        }
    })
}

/// Runs every connection until `deadline`, then waits for their last echoes; returns the
/// echoes received, and the sockets.
async fn load(
    sockets: Sockets,
    size: usize,
    depth: u64,
    deadline: Instant,
) -> Result<(u64, Sockets), String> {
    let template: Vec<u8> = (0..size).map(|i| (i * 7 + 13) as u8).collect();
    Ok(match sockets {
        Sockets::Tungstenite(sockets) => {
            let tasks = sockets
                .into_iter()
                .map(|socket| tokio::spawn(connection(socket, template.clone(), depth, deadline)));
            let (total, sockets) = gather(tasks).await?;
            (total, Sockets::Tungstenite(sockets))
        }
        Sockets::Raw(sockets) => {
            let frames = Frames::new(template);
            let tasks = sockets.into_iter().map(|mut socket| {
                let frames = frames.clone();
                tokio::spawn(async move {
                    let echoes = socket.echo_load(&frames, depth, deadline, STALL).await?;
                    Ok((echoes, socket))
                })
            });
            let (total, sockets) = gather(tasks).await?;
            (total, Sockets::Raw(sockets))
        }
    })
}

/// Waits for every connection's task: the echoes they received in all, and the sockets.
async fn gather<S>(
    tasks: impl Iterator<Item = tokio::task::JoinHandle<Result<(u64, S), String>>>,
) -> Result<(u64, Vec<S>), String> {
    let tasks: Vec<_> = tasks.collect();
    let mut total = 0;
    let mut back = Vec::with_capacity(tasks.len());
    for task in tasks {
        let (received, socket) = task.await.map_err(|e| e.to_string())??;
        total += received;
        back.push(socket);
    }
    Ok((total, back))
}

async fn close(sockets: Sockets) {
    match sockets {
        Sockets::Tungstenite(sockets) => close_tungstenite(sockets).await,
        Sockets::Raw(sockets) => {
            let closing = sockets.into_iter().map(|socket| socket.close(STALL));
            futures_util::future::join_all(closing).await;
        }
    }
}

async fn open_tungstenite(address: &str, connections: usize) -> Result<Vec<Socket>, String> {
    let mut sockets = Vec::with_capacity(connections);
    for _ in 0..connections {
        let opening = async {
            let stream = TcpStream::connect(address)
                .await
                .map_err(|e| e.to_string())?;
            stream.set_nodelay(true).map_err(|e| e.to_string())?;
            let url = format!("ws://{address}/");
            let (socket, _) = tokio_tungstenite::client_async(url, stream)
                .await
                .map_err(|e| e.to_string())?;
            Ok::<_, String>(socket)
        };
        let socket = tokio::time::timeout(STALL, opening)
            .await
            .map_err(|_| "connecting timed out".to_string())??;
        sockets.push(socket);
    }
    Ok(sockets)
}

async fn close_tungstenite(sockets: Vec<Socket>) {
    let closing = sockets.into_iter().map(|mut socket| async move {
        let _ = tokio::time::timeout(STALL, async {
            let _ = socket.close(None).await;
            while let Some(Ok(_)) = socket.next().await {}
        })
        .await;
    });
    futures_util::future::join_all(closing).await;
}

/// The message with sequence number `seq`: `seq` in its first 8 bytes (as far as they
/// fit), then the template.
fn message(template: &[u8], seq: u64) -> Bytes {
    let mut payload = template.to_vec();
    let n = payload.len().min(8);
    payload[..n].copy_from_slice(&seq.to_le_bytes()[..n]);
    Bytes::from(payload)
}

fn check(template: &[u8], seq: u64, echo: Message) -> Result<(), String> {
    let Message::Binary(data) = echo else {
        return Err(format!("echo {seq}: not a binary message"));
    };
    check_echo(template, seq, &data)
}

/// Runs every connection until `deadline`, then waits for their last echoes; returns the
/// echoes received, and the sockets.
async fn connection(
    socket: Socket,
    template: Vec<u8>,
    depth: u64,
    deadline: Instant,
) -> Result<(u64, Socket), String> {
    let (mut sink, mut stream) = socket.split();
    let (mut sent, mut received) = (0u64, 0u64);
    loop {
        if Instant::now() < deadline {
            if sent - received < depth {
                while sent - received < depth {
                    sink.feed(Message::Binary(message(&template, sent)))
                        .await
                        .map_err(|e| e.to_string())?;
                    sent += 1;
                }
                sink.flush().await.map_err(|e| e.to_string())?;
            }
        } else if sent == received {
            break;
        }
        let echo = tokio::time::timeout(STALL, stream.next())
            .await
            .map_err(|_| format!("no echo within {STALL:?}"))?
            .ok_or("connection ended")?
            .map_err(|e| e.to_string())?;
        check(&template, received, echo)?;
        received += 1;
        // Take every echo that is already here before refilling the window.
        while received < sent {
            let Some(next) = stream.next().now_or_never() else {
                break;
            };
            let echo = next.ok_or("connection ended")?.map_err(|e| e.to_string())?;
            check(&template, received, echo)?;
            received += 1;
        }
    }
    let socket = sink
        .reunite(stream)
        .map_err(|_| "reuniting halves".to_string())?;
    Ok((received, socket))
}

fn case_title(size: usize, connections: usize, depth: u64) -> String {
    let size = if size >= 1024 {
        format!("{} KiB", size / 1024)
    } else {
        format!("{size} B")
    };
    let flight = if depth == 1 {
        "1 message in flight".to_string()
    } else {
        format!("{depth} in flight")
    };
    format!("{connections} connections x {size}, {flight} per connection")
}

/// One case, (size, connections, depth), and each server's outcomes in it.
type Case = ((usize, usize, u64), HashMap<&'static str, Rounds>);

fn markdown(results: &[Case], seconds: f64, rounds: usize, perf: bool, client: Client) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# WebSocket echo servers against the field\n\n\
         Each server on one executor thread; load from {} (one tokio worker) in the \
         harness process, on the same machine ({} CPUs), {seconds} s per \
         run, binary messages, {rounds} round(s) per case with the servers' order rotated. \
         Figures are medians over the rounds; a ratio is the median of the rounds' own \
         ratios, with their range. CPU is the server's (all threads) per echoed message; \
         syscalls are the server's read-like and write-like ones per message{}; client CPU \
         is the load generator's share of one core, and `*` marks a rate ratio whose faster \
         server had the client above {:.0} % of its core (the client, not that server, may \
         have set the pace). \"By CPU\" compares server CPU time per message instead: what \
         each would do with a whole core. `floor` is not a WebSocket server but \
         the least a tokio server can do per echo of this load (parse, unmask, write; no \
         checks): what the runtime and the kernel cost on this machine.\n",
        client.describe(),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        if perf { "" } else { " (not counted: no perf)" },
        CLIENT_BOUND * 100.0,
    );
    for ((size, connections, depth), row) in results {
        let _ = writeln!(out, "## {}\n", case_title(*size, *connections, *depth));
        let _ = writeln!(
            out,
            "| server | msgs/s | user us/msg | sys us/msg | peak RSS MiB | reads/msg | writes/msg | client CPU | vs tokio-tungstenite | vs fastwebsockets | by CPU vs t-t | by CPU vs fws |"
        );
        let _ = writeln!(out, "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
        for name in SERVERS {
            let Some(o) = row.get(name) else { continue };
            let per = |count: fn(&Outcome) -> Option<u64>| {
                let counts: Option<Vec<f64>> =
                    o.0.iter()
                        .map(|x| count(x).map(|c| c as f64 / x.messages as f64))
                        .collect();
                counts.map_or("n/a".to_string(), |c| format!("{:.3}", median(c)))
            };
            // A peer's outcomes, unless this row is that peer's own.
            let peer = |peer: &str| row.get(peer).filter(|_| name != peer);
            let rate = |peer_name: &str| {
                peer(peer_name).map_or(String::new(), |peer| {
                    let spread = o.ratio(peer, |a, b| a.rate() / b.rate());
                    let faster = if spread.median >= 1.0 { o } else { peer };
                    let bound = faster.median(Outcome::client_share) >= CLIENT_BOUND;
                    format!("{spread}{}", if bound { " *" } else { "" })
                })
            };
            let by_cpu = |peer_name: &str| {
                peer(peer_name).map_or(String::new(), |peer| {
                    o.ratio(peer, |a, b| b.cpu_per_message_us() / a.cpu_per_message_us())
                        .to_string()
                })
            };
            let _ = writeln!(
                out,
                "| {name} | {:.0} | {:.3} | {:.3} | {:.1} | {} | {} | {:.0}% | {} | {} | {} | {} |",
                o.median(Outcome::rate),
                o.median(|x| x.per_message_us(x.user_s)),
                o.median(|x| x.per_message_us(x.system_s)),
                o.0.iter().map(|x| x.peak_rss_kib).max().unwrap_or(0) as f64 / 1024.0,
                per(|x| x.reads),
                per(|x| x.writes),
                100.0 * o.median(Outcome::client_share),
                rate(PEERS[0]),
                rate(PEERS[1]),
                by_cpu(PEERS[0]),
                by_cpu(PEERS[1]),
            );
        }
        out.push('\n');
    }
    out
}

/// A grouped bar chart of messages per second: one group per case, one bar per server.
fn chart(results: &[Case]) -> String {
    const COLORS: [&str; 7] = [
        "#1f77b4", "#9467bd", "#2ca02c", "#17becf", "#ff7f0e", "#d62728", "#9e9e9e",
    ];
    let (left, top, plot_h, bar_w, gap) = (70.0, 40.0, 300.0, 22.0, 30.0);
    let group_w = bar_w * SERVERS.len() as f64 + gap;
    let width = left + group_w * results.len() as f64 + 20.0;
    let height = top + plot_h + 110.0;
    let max = results
        .iter()
        .flat_map(|(_, row)| row.values().map(|o| o.median(Outcome::rate)))
        .fold(1.0, f64::max);
    // A round top for the axis.
    let magnitude = 10f64.powf(max.log10().floor());
    let top_value = (max / magnitude).ceil() * magnitude;
    let y = |v: f64| top + plot_h - v / top_value * plot_h;
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0}" height="{height:.0}" font-family="sans-serif" font-size="11">"#
    );
    let _ = writeln!(svg, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        svg,
        r#"<text x="{left}" y="20" font-size="14">WebSocket echo, messages per second (one server thread)</text>"#
    );
    for i in 0..=5 {
        let v = top_value * i as f64 / 5.0;
        let _ = writeln!(
            svg,
            r##"<line x1="{left}" x2="{:.0}" y1="{:.1}" y2="{:.1}" stroke="#ddd"/><text x="{:.0}" y="{:.1}" text-anchor="end">{}</text>"##,
            width - 20.0,
            y(v),
            y(v),
            left - 6.0,
            y(v) + 4.0,
            if v >= 1e6 {
                format!("{:.1}M", v / 1e6)
            } else {
                format!("{:.0}k", v / 1e3)
            }
        );
    }
    for (g, ((size, connections, depth), row)) in results.iter().enumerate() {
        let x0 = left + gap / 2.0 + g as f64 * group_w;
        for (s, name) in SERVERS.iter().enumerate() {
            let Some(v) = row.get(name).map(|o| o.median(Outcome::rate)) else {
                continue;
            };
            let x = x0 + s as f64 * bar_w;
            let _ = writeln!(
                svg,
                r#"<rect x="{x:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="{}"><title>{name}: {v:.0} msgs/s</title></rect>"#,
                y(v),
                bar_w - 2.0,
                top + plot_h - y(v),
                COLORS[s]
            );
        }
        let size = if *size >= 1024 {
            format!("{} KiB", size / 1024)
        } else {
            format!("{size} B")
        };
        let cx = x0 + bar_w * SERVERS.len() as f64 / 2.0;
        let _ = writeln!(
            svg,
            r#"<text x="{cx:.1}" y="{:.1}" text-anchor="middle">{connections} x {size}</text><text x="{cx:.1}" y="{:.1}" text-anchor="middle">{depth} in flight</text>"#,
            top + plot_h + 16.0,
            top + plot_h + 30.0
        );
    }
    for (s, name) in SERVERS.iter().enumerate() {
        let x = left + s as f64 * 150.0;
        let ly = top + plot_h + 60.0;
        let _ = writeln!(
            svg,
            r#"<rect x="{x:.0}" y="{:.0}" width="12" height="12" fill="{}"/><text x="{:.0}" y="{:.0}">{name}</text>"#,
            ly - 10.0,
            COLORS[s],
            x + 16.0,
            ly
        );
    }
    svg.push_str("</svg>\n");
    svg
}
