//! Byte channel throughput and per-operation cost against smol's `piper` and
//! `tokio::io::duplex`, in the same run, printing ratios.
//!
//! Shapes (docs: ../shared/docs/byte-channels.md §5):
//! - bulk: 64 KiB `write_all` / 64 KiB `read` chunks through a 64 KiB pipe, writer and
//!   reader as two futures on one thread; goal ≥ 1.1× the best peer. The run also times two
//!   plain copies per chunk with no channel: the ceiling every contender is bound by.
//! - bulk cross-thread: the same with the writer and the reader on two OS threads.
//! - pairs: an 8-byte write (visible at once) followed by an 8-byte exact read, same task;
//!   goal ≤ 20 ns per pair.
//!
//! Every round runs every contender in a rotated order; medians over the rounds are
//! reported. `BENCH_QUICK=1` shortens the run (as CI does).

use std::hint::black_box;
use std::time::{Duration, Instant};

use futures_lite::future;
use futures_lite::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use wirestate::chan::{PipeConfig, byte_channel};

const CHUNK: usize = 64 * 1024;
const CAPACITY: usize = 64 * 1024;

struct Settings {
    rounds: usize,
    bulk_bytes: usize,
    pairs: usize,
}

fn settings() -> Settings {
    if std::env::var_os("BENCH_QUICK").is_some() {
        Settings {
            rounds: 5,
            bulk_bytes: 64 << 20,
            pairs: 500_000,
        }
    } else {
        Settings {
            rounds: 11,
            bulk_bytes: 256 << 20,
            pairs: 2_000_000,
        }
    }
}

fn pattern() -> Vec<u8> {
    (0..CHUNK).map(|i| (i * 31 + 7) as u8).collect()
}

// ---- bulk, one thread ---------------------------------------------------------------------

async fn bulk_writer_futures(mut w: impl futures_lite::AsyncWrite + Unpin, total: usize) {
    let data = pattern();
    let mut sent = 0;
    while sent < total {
        w.write_all(black_box(&data)).await.unwrap();
        sent += CHUNK;
    }
    w.close().await.unwrap();
}

async fn bulk_reader_futures(mut r: impl futures_lite::AsyncRead + Unpin) -> usize {
    let mut buf = vec![0u8; CHUNK];
    let mut got = 0;
    loop {
        let n = r.read(&mut buf).await.unwrap();
        if n == 0 {
            return got;
        }
        black_box(&buf[..n]);
        got += n;
    }
}

async fn bulk_writer_tokio(mut w: impl tokio::io::AsyncWrite + Unpin, total: usize) {
    let data = pattern();
    let mut sent = 0;
    while sent < total {
        w.write_all(black_box(&data)).await.unwrap();
        sent += CHUNK;
    }
    w.shutdown().await.unwrap();
}

async fn bulk_reader_tokio(mut r: impl tokio::io::AsyncRead + Unpin) -> usize {
    let mut buf = vec![0u8; CHUNK];
    let mut got = 0;
    loop {
        let n = r.read(&mut buf).await.unwrap();
        if n == 0 {
            return got;
        }
        black_box(&buf[..n]);
        got += n;
    }
}

fn bulk_same_thread(name: &str, total: usize) -> Duration {
    let start = Instant::now();
    let got = match name {
        "wirestate" => {
            let (w, r) = byte_channel(PipeConfig::with_capacity(CAPACITY));
            future::block_on(future::zip(
                bulk_writer_futures(w, total),
                bulk_reader_futures(r),
            ))
            .1
        }
        "piper" => {
            let (r, w) = piper::pipe(CAPACITY);
            future::block_on(future::zip(
                bulk_writer_futures(w, total),
                bulk_reader_futures(r),
            ))
            .1
        }
        "tokio duplex" => {
            let (a, b) = tokio::io::duplex(CAPACITY);
            future::block_on(future::zip(
                bulk_writer_tokio(a, total),
                bulk_reader_tokio(b),
            ))
            .1
        }
        _ => unreachable!(),
    };
    assert_eq!(got, total, "{name} lost bytes");
    start.elapsed()
}

fn bulk_cross_thread(name: &str, total: usize) -> Duration {
    let start = Instant::now();
    let got = match name {
        "wirestate" => {
            let (w, r) = byte_channel(PipeConfig::with_capacity(CAPACITY));
            let t = std::thread::spawn(move || future::block_on(bulk_writer_futures(w, total)));
            let got = future::block_on(bulk_reader_futures(r));
            t.join().unwrap();
            got
        }
        "piper" => {
            let (r, w) = piper::pipe(CAPACITY);
            let t = std::thread::spawn(move || future::block_on(bulk_writer_futures(w, total)));
            let got = future::block_on(bulk_reader_futures(r));
            t.join().unwrap();
            got
        }
        "tokio duplex" => {
            let (a, b) = tokio::io::duplex(CAPACITY);
            let t = std::thread::spawn(move || future::block_on(bulk_writer_tokio(a, total)));
            let got = future::block_on(bulk_reader_tokio(b));
            t.join().unwrap();
            got
        }
        _ => unreachable!(),
    };
    assert_eq!(got, total, "{name} lost bytes");
    start.elapsed()
}

/// The ceiling for any channel that copies in and copies out: two plain 64 KiB copies per
/// chunk (writer's buffer to a ring-sized buffer, then to the reader's), no channel at all.
fn two_copies(total: usize) -> Duration {
    let data = pattern();
    let mut ring = vec![0u8; CAPACITY];
    let mut out = vec![0u8; CHUNK];
    let start = Instant::now();
    for _ in 0..total / CHUNK {
        ring.copy_from_slice(black_box(&data));
        out.copy_from_slice(black_box(&ring));
        black_box(&mut out);
    }
    start.elapsed()
}

// ---- bulk, in-place consumer -----------------------------------------------------------

/// Sums the bytes where they lie: a consumer that needs no copy of its own.
fn checksum(bytes: &[u8]) -> u64 {
    let words = bytes.chunks_exact(8);
    let tail = words
        .remainder()
        .iter()
        .fold(0u64, |sum, &b| sum.wrapping_add(u64::from(b)));
    words.fold(tail, |sum, w| {
        sum.wrapping_add(u64::from_le_bytes(w.try_into().expect("8 bytes")))
    })
}

async fn in_place_reader_futures(mut r: impl futures_lite::AsyncBufRead + Unpin) -> (usize, u64) {
    use futures_lite::AsyncBufReadExt;
    let (mut got, mut sum) = (0, 0u64);
    loop {
        let buf = r.fill_buf().await.unwrap();
        if buf.is_empty() {
            return (got, sum);
        }
        let n = buf.len();
        sum = sum.wrapping_add(checksum(buf));
        r.consume(n);
        got += n;
    }
}

async fn in_place_reader_tokio(r: impl tokio::io::AsyncRead + Unpin) -> (usize, u64) {
    use tokio::io::AsyncBufReadExt;
    let mut r = tokio::io::BufReader::with_capacity(CHUNK, r);
    let (mut got, mut sum) = (0, 0u64);
    loop {
        let buf = r.fill_buf().await.unwrap();
        if buf.is_empty() {
            return (got, sum);
        }
        let n = buf.len();
        sum = sum.wrapping_add(checksum(buf));
        r.consume(n);
        got += n;
    }
}

fn bulk_in_place(name: &str, total: usize) -> Duration {
    let start = Instant::now();
    let (got, sum) = match name {
        "wirestate" => {
            let (w, r) = byte_channel(PipeConfig::with_capacity(CAPACITY));
            future::block_on(future::zip(
                bulk_writer_futures(w, total),
                in_place_reader_futures(r),
            ))
            .1
        }
        "piper" => {
            let (r, w) = piper::pipe(CAPACITY);
            future::block_on(future::zip(
                bulk_writer_futures(w, total),
                in_place_reader_futures(r),
            ))
            .1
        }
        "tokio duplex" => {
            let (a, b) = tokio::io::duplex(CAPACITY);
            future::block_on(future::zip(
                bulk_writer_tokio(a, total),
                in_place_reader_tokio(b),
            ))
            .1
        }
        _ => unreachable!(),
    };
    assert_eq!(got, total, "{name} lost bytes");
    assert_eq!(
        sum,
        checksum(&pattern()) * (total / CHUNK) as u64,
        "{name} corrupted bytes"
    );
    black_box(sum);
    start.elapsed()
}

// ---- 8-byte pairs -------------------------------------------------------------------------

fn pairs(name: &str, count: usize) -> Duration {
    let mut out = [0u8; 8];
    let mut sum = 0u64;
    let start = Instant::now();
    match name {
        "wirestate" => {
            let (mut w, mut r) = byte_channel(PipeConfig::with_capacity(CAPACITY).auto_flush(true));
            future::block_on(async {
                for i in 0..count as u64 {
                    w.write_all(&i.to_le_bytes()).await.unwrap();
                    r.read_exact(&mut out).await.unwrap();
                    sum = sum.wrapping_add(u64::from_le_bytes(out));
                }
            });
        }
        "piper" => {
            let (mut r, mut w) = piper::pipe(CAPACITY);
            future::block_on(async {
                for i in 0..count as u64 {
                    futures_lite::AsyncWriteExt::write_all(&mut w, &i.to_le_bytes())
                        .await
                        .unwrap();
                    futures_lite::AsyncReadExt::read_exact(&mut r, &mut out)
                        .await
                        .unwrap();
                    sum = sum.wrapping_add(u64::from_le_bytes(out));
                }
            });
        }
        "tokio duplex" => {
            let (mut a, mut b) = tokio::io::duplex(CAPACITY);
            future::block_on(async {
                for i in 0..count as u64 {
                    tokio::io::AsyncWriteExt::write_all(&mut a, &i.to_le_bytes())
                        .await
                        .unwrap();
                    tokio::io::AsyncReadExt::read_exact(&mut b, &mut out)
                        .await
                        .unwrap();
                    sum = sum.wrapping_add(u64::from_le_bytes(out));
                }
            });
        }
        _ => unreachable!(),
    }
    let elapsed = start.elapsed();
    let n = count as u64;
    assert_eq!(sum, n * (n - 1) / 2, "{name} corrupted the pairs");
    elapsed
}

// ---- reporting ----------------------------------------------------------------------------

const CONTENDERS: [&str; 3] = ["wirestate", "piper", "tokio duplex"];

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(|a, b| a.partial_cmp(b).unwrap());
    xs[xs.len() / 2]
}

/// Runs `measure` for every contender in every round (order rotated per round) and returns
/// the median of `metric(elapsed)` per contender.
fn compare(
    rounds: usize,
    measure: impl Fn(&str) -> Duration,
    metric: impl Fn(Duration) -> f64,
) -> Vec<f64> {
    let mut samples = vec![Vec::new(); CONTENDERS.len()];
    for &name in &CONTENDERS {
        measure(name); // warm-up
    }
    for round in 0..rounds {
        for k in 0..CONTENDERS.len() {
            let i = (round + k) % CONTENDERS.len();
            samples[i].push(metric(measure(CONTENDERS[i])));
        }
    }
    samples.into_iter().map(median).collect()
}

fn report_throughput(title: &str, gbps: &[f64], goal: f64) {
    println!("\n{title}");
    for (name, v) in CONTENDERS.iter().zip(gbps) {
        println!("  {name:<14} {v:>7.2} GB/s");
    }
    let best_peer = gbps[1..].iter().cloned().fold(0.0, f64::max);
    let ratio = gbps[0] / best_peer;
    let verdict = if ratio >= goal { "meets" } else { "MISSES" };
    println!("  ratio wirestate / best peer: {ratio:.2}x ({verdict} the goal of {goal:.2}x)");
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` runs us with no flag: stay quick.
    let s = settings();
    println!("byte channel benchmark: {} rounds, medians", s.rounds);

    // `BENCH_ONLY=pairs` (or `bulk`) runs one family, e.g. under a profiler.
    let only = std::env::var("BENCH_ONLY").unwrap_or_default();
    if only.is_empty() || only == "bulk" {
        bulk(&s);
    }
    if only.is_empty() || only == "pairs" {
        pairs_report(&s);
    }
    if let Some(name) = only.strip_prefix("bulk-") {
        // For profilers: one contender's one-thread bulk loop alone.
        let name = CONTENDERS
            .iter()
            .find(|c| c.replace(' ', "-") == name)
            .expect("contender");
        let d = bulk_same_thread(name, s.bulk_bytes * 4);
        println!(
            "{name} alone: {:.2} GB/s",
            (s.bulk_bytes * 4) as f64 / d.as_secs_f64() / 1e9
        );
    }
    if only == "pairs-wirestate" {
        // For profilers: wirestate's pair loop alone.
        let d = pairs("wirestate", s.pairs * 10);
        println!(
            "wirestate alone: {:.1} ns/pair",
            d.as_nanos() as f64 / (s.pairs * 10) as f64
        );
    }
}

fn bulk(s: &Settings) {
    let total = s.bulk_bytes;
    let gbps = |d: Duration| total as f64 / d.as_secs_f64() / 1e9;
    let same = compare(s.rounds, |n| bulk_same_thread(n, total), gbps);
    report_throughput(
        &format!(
            "bulk, 64 KiB chunks, cap 64 KiB, one thread ({} MiB)",
            total >> 20
        ),
        &same,
        1.1,
    );
    let ceiling = median(
        (0..s.rounds)
            .map(|_| gbps(two_copies(total)))
            .collect::<Vec<_>>(),
    );
    let best_peer = same[1..].iter().cloned().fold(0.0, f64::max);
    println!(
        "  ceiling, two plain copies per chunk and no channel: {ceiling:.2} GB/s, \
         {:.2}x the best peer (no copy-in/copy-out channel can beat this ratio)",
        ceiling / best_peer
    );
    let in_place = compare(s.rounds, |n| bulk_in_place(n, total), gbps);
    report_throughput(
        &format!(
            "bulk, 64 KiB chunks, cap 64 KiB, one thread, reader sums in place via fill_buf \
             (tokio: BufReader) ({} MiB)",
            total >> 20
        ),
        &in_place,
        1.1,
    );
    let cross = compare(s.rounds, |n| bulk_cross_thread(n, total), gbps);
    report_throughput(
        &format!(
            "bulk, 64 KiB chunks, cap 64 KiB, two threads ({} MiB)",
            total >> 20
        ),
        &cross,
        1.1,
    );
}

fn pairs_report(s: &Settings) {
    let count = s.pairs;
    let ns = compare(
        s.rounds,
        |n| pairs(n, count),
        |d| d.as_nanos() as f64 / count as f64,
    );
    println!("\n8-byte write + read pairs, same task ({count} pairs)");
    for (name, v) in CONTENDERS.iter().zip(&ns) {
        println!("  {name:<14} {v:>7.1} ns/pair");
    }
    let best_peer = ns[1..].iter().cloned().fold(f64::MAX, f64::min);
    let verdict = if ns[0] <= 20.0 { "meets" } else { "MISSES" };
    println!(
        "  wirestate {:.1} ns/pair ({verdict} the goal of 20 ns); best peer / wirestate: {:.2}x",
        ns[0],
        best_peer / ns[0]
    );
}
