//! Bulk transfer through socket byte channels against a plain copy over the same runtime's
//! raw TCP stream, in the same run, over loopback (goal: at least 0.9x the raw stream).
//!
//! Each trial sends the bytes in 64 KiB writes from a client task to a server task that reads
//! and counts them (both spawned on the runtime, as a server's connections are); the raw
//! contender uses the runtime's own stream with the same tasks and chunk sizes.
//! Two channel variants run per runtime: the server either reads into a buffer of its own
//! (one more copy than the raw stream needs) or consumes in place with `fill_buf`, where the
//! socket's pump put the bytes. Rounds rotate the contenders; medians are reported, and
//! each ratio is the median of per-round ratios (a paired comparison, robust to load that
//! shifts between rounds on a shared machine).
//! `BENCH_QUICK=1` shortens the run.

use std::hint::black_box;
use std::time::{Duration, Instant};

use futures_lite::{AsyncReadExt, AsyncWriteExt};
use wirestate::chan::ByteReader;
use wirestate::net::{Blocking, Smol, Tokio, a_socket};

const CHUNK: usize = 64 * 1024;

/// One timed transfer of the given number of bytes.
type Trial = fn(usize) -> Duration;

fn settings() -> (usize, usize) {
    if std::env::var_os("BENCH_QUICK").is_some() {
        (5, 128 << 20)
    } else {
        (11, 512 << 20)
    }
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(|a, b| a.partial_cmp(b).unwrap());
    xs[xs.len() / 2]
}

/// How the server takes bytes from its read channel.
#[derive(Clone, Copy)]
enum Consume {
    /// `read` into a buffer of its own, as from the raw stream: one more copy.
    CopyOut,
    /// `fill_buf` / `consume`: the bytes are used where the socket put them, in the ring.
    InPlace,
}

/// Reads the channel to its end; returns the byte count.
async fn drain_channel(mut input: ByteReader, how: Consume) -> usize {
    let mut buf = vec![0u8; CHUNK];
    let mut got = 0;
    loop {
        let n = match how {
            Consume::CopyOut => input.read_available(&mut buf).await.unwrap(),
            Consume::InPlace => {
                let n = black_box(
                    futures_lite::AsyncBufReadExt::fill_buf(&mut input)
                        .await
                        .unwrap(),
                )
                .len();
                input.consume_view(n);
                n
            }
        };
        if n == 0 {
            return got;
        }
        got += n;
    }
}

/// [`drain_channel`] for threads, through the blocking `std::io` view.
fn drain_blocking(mut input: ByteReader, how: Consume) -> usize {
    use std::io::{BufRead, Read};
    let mut source = input.blocking();
    let mut buf = vec![0u8; CHUNK];
    let mut got = 0;
    loop {
        let n = match how {
            Consume::CopyOut => source.read(&mut buf).unwrap(),
            Consume::InPlace => {
                let n = black_box(source.fill_buf().unwrap()).len();
                source.consume(n);
                n
            }
        };
        if n == 0 {
            return got;
        }
        got += n;
    }
}

/// One trial through wirestate socket channels on smol.
fn smol_channels(total: usize, how: Consume) -> Duration {
    smol::block_on(async {
        let server = a_socket(Smol).tcp().bind("127.0.0.1:0").await.unwrap();
        let addr = server.local_addr();
        let sink = smol::spawn(async move {
            let socket = server.accept().await.unwrap();
            drain_channel(socket.open_read_channel().unwrap(), how).await
        });
        let socket = a_socket(Smol).tcp().connect(addr).await.unwrap();
        let mut output = socket.open_write_channel(true).unwrap();
        let data = vec![7u8; CHUNK];
        let start = Instant::now();
        smol::spawn(async move {
            for _ in 0..total / CHUNK {
                output.write_all(&data).await.unwrap();
            }
            output.flush_and_close().await.unwrap();
        })
        .detach();
        assert_eq!(sink.await, total);
        start.elapsed()
    })
}

/// One trial with smol's own TCP streams.
fn smol_raw(total: usize) -> Duration {
    smol::block_on(async {
        let listener = smol::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let sink = smol::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut buf = vec![0u8; CHUNK];
            let mut got = 0;
            loop {
                match stream.read(&mut buf).await.unwrap() {
                    0 => return got,
                    n => got += n,
                }
            }
        });
        let mut stream = smol::net::TcpStream::connect(addr).await.unwrap();
        stream.set_nodelay(true).unwrap();
        let data = vec![7u8; CHUNK];
        let start = Instant::now();
        smol::spawn(async move {
            for _ in 0..total / CHUNK {
                stream.write_all(&data).await.unwrap();
            }
            stream.close().await.unwrap();
        })
        .detach();
        assert_eq!(sink.await, total);
        start.elapsed()
    })
}

/// One trial through wirestate socket channels on a tokio multi-thread runtime.
fn tokio_channels(total: usize, how: Consume) -> Duration {
    tokio_runtime().block_on(async {
        let server = a_socket(Tokio).tcp().bind("127.0.0.1:0").await.unwrap();
        let addr = server.local_addr();
        let sink = tokio::spawn(async move {
            let socket = server.accept().await.unwrap();
            drain_channel(socket.open_read_channel().unwrap(), how).await
        });
        let socket = a_socket(Tokio).tcp().connect(addr).await.unwrap();
        let mut output = socket.open_write_channel(true).unwrap();
        let data = vec![7u8; CHUNK];
        let start = Instant::now();
        tokio::spawn(async move {
            for _ in 0..total / CHUNK {
                output.write_all(&data).await.unwrap();
            }
            output.flush_and_close().await.unwrap();
        });
        assert_eq!(sink.await.unwrap(), total);
        start.elapsed()
    })
}

/// One trial with tokio's own TCP streams.
fn tokio_raw(total: usize) -> Duration {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    tokio_runtime().block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let sink = tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut buf = vec![0u8; CHUNK];
            let mut got = 0;
            loop {
                match stream.read(&mut buf).await.unwrap() {
                    0 => return got,
                    n => got += n,
                }
            }
        });
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        stream.set_nodelay(true).unwrap();
        let data = vec![7u8; CHUNK];
        let start = Instant::now();
        tokio::spawn(async move {
            for _ in 0..total / CHUNK {
                stream.write_all(&data).await.unwrap();
            }
            stream.shutdown().await.unwrap();
        });
        assert_eq!(sink.await.unwrap(), total);
        start.elapsed()
    })
}

fn tokio_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// One trial through wirestate socket channels on blocking std threads.
fn blocking_channels(total: usize, how: Consume) -> Duration {
    let server = a_socket(Blocking).tcp().bind("127.0.0.1:0").unwrap();
    let addr = server.local_addr();
    let sink = std::thread::spawn(move || {
        let socket = server.accept().unwrap();
        drain_blocking(socket.open_read_channel().unwrap(), how)
    });
    let socket = a_socket(Blocking).tcp().connect(addr).unwrap();
    let mut output = socket.open_write_channel(true).unwrap();
    let data = vec![7u8; CHUNK];
    let start = Instant::now();
    {
        let mut sink_view = output.blocking();
        for _ in 0..total / CHUNK {
            sink_view.write_all_published(&data).unwrap();
        }
    }
    output.close().unwrap();
    assert_eq!(sink.join().unwrap(), total);
    start.elapsed()
}

/// One trial with std's own TCP streams on two threads.
fn blocking_raw(total: usize) -> Duration {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let sink = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut buf = vec![0u8; CHUNK];
        let mut got = 0;
        loop {
            match stream.read(&mut buf).unwrap() {
                0 => return got,
                n => got += n,
            }
        }
    });
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream.set_nodelay(true).unwrap();
    let data = vec![7u8; CHUNK];
    let start = Instant::now();
    for _ in 0..total / CHUNK {
        stream.write_all(&data).unwrap();
    }
    stream.shutdown(std::net::Shutdown::Write).unwrap();
    assert_eq!(sink.join().unwrap(), total);
    start.elapsed()
}

/// The three contenders of one runtime.
struct Contenders {
    copy_out: Trial,
    in_place: Trial,
    raw: Trial,
}

/// The `q`-quantile of sorted `xs` (nearest rank).
fn quantile(xs: &[f64], q: f64) -> f64 {
    xs[((xs.len() - 1) as f64 * q).round() as usize]
}

/// Runs every contender `rounds` times (rotating who goes first) and prints the medians
/// and each channel variant's ratio to the raw stream. Ratios are paired: each round's
/// channel figure over the same round's raw figure, taken moments apart, so that load
/// from elsewhere on a shared machine (which moves every contender several-fold between
/// rounds) mostly cancels; their median and interquartile range are reported.
fn compare(runtime: &str, rounds: usize, total: usize, contenders: &Contenders) {
    let gbps = |d: Duration| total as f64 / d.as_secs_f64() / 1e9;
    let trials = [contenders.copy_out, contenders.in_place, contenders.raw];
    for trial in trials {
        trial(total / 8); // warm-up
    }
    let mut samples = [Vec::new(), Vec::new(), Vec::new()];
    for round in 0..rounds {
        for k in 0..3 {
            let i = (round + k) % 3;
            samples[i].push(gbps(trials[i](total)));
        }
    }
    let paired = |i: usize| {
        let mut ratios: Vec<f64> = (samples[i].iter().zip(&samples[2]))
            .map(|(channel, raw)| channel / raw)
            .collect();
        ratios.sort_by(f64::total_cmp);
        ratios
    };
    let ratios = [paired(0), paired(1)];
    let [copy_out, in_place, raw] = samples.map(median);
    println!(
        "\n{runtime}: bulk over loopback TCP, 64 KiB writes ({} MiB)",
        total >> 20
    );
    println!("  raw stream                          {raw:>6.2} GB/s");
    for (name, value, ratios) in [
        ("server copies out (read)", copy_out, &ratios[0]),
        ("server reads in place (fill_buf)", in_place, &ratios[1]),
    ] {
        let ratio = quantile(ratios, 0.5);
        let verdict = if ratio >= 0.9 { "meets" } else { "MISSES" };
        println!(
            "  channels, {name:<32} {value:>6.2} GB/s  {ratio:.2}x raw, paired per round \
             (IQR {:.2}-{:.2}; {verdict} the goal of 0.90x)",
            quantile(ratios, 0.25),
            quantile(ratios, 0.75),
        );
    }
}

fn main() {
    // smol's global executor (where the socket pumps and both contenders' tasks run) starts
    // one thread unless told otherwise; give it one per core, as tokio's runtime here has.
    // SAFETY: no other thread exists yet, so nothing reads the environment concurrently.
    unsafe { std::env::set_var("SMOL_THREADS", "2") };
    let (rounds, total) = settings();
    println!("socket benchmark: {rounds} rounds, medians");
    let only = std::env::var("BENCH_ONLY").unwrap_or_default();
    let runtimes: [(&str, Contenders); 3] = [
        (
            "smol",
            Contenders {
                copy_out: |t| smol_channels(t, Consume::CopyOut),
                in_place: |t| smol_channels(t, Consume::InPlace),
                raw: smol_raw,
            },
        ),
        (
            "tokio",
            Contenders {
                copy_out: |t| tokio_channels(t, Consume::CopyOut),
                in_place: |t| tokio_channels(t, Consume::InPlace),
                raw: tokio_raw,
            },
        ),
        (
            "blocking",
            Contenders {
                copy_out: |t| blocking_channels(t, Consume::CopyOut),
                in_place: |t| blocking_channels(t, Consume::InPlace),
                raw: blocking_raw,
            },
        ),
    ];
    for (name, contenders) in &runtimes {
        if only.is_empty() || only == *name {
            compare(name, rounds, total, contenders);
        }
    }
}
