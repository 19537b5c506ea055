//! Bulk transfer through socket byte channels against a plain copy over the same runtime's
//! raw TCP stream, in the same run, over loopback (goal: at least 0.9x the raw stream).
//!
//! Each trial sends `BULK` bytes in 64 KiB writes from a client to a server that reads and
//! counts them; the raw contender uses the runtime's own stream with the same chunk sizes.
//! Rounds alternate the contenders; medians are reported. `BENCH_QUICK=1` shortens the run.

use std::time::{Duration, Instant};

use futures_lite::{AsyncReadExt, AsyncWriteExt};
use wirestate::net::{Smol, a_socket};

const CHUNK: usize = 64 * 1024;

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

/// One trial through wirestate socket channels on smol.
fn smol_channels(total: usize) -> Duration {
    smol::block_on(async {
        let server = a_socket(Smol).tcp().bind("127.0.0.1:0").await.unwrap();
        let addr = server.local_addr();
        let sink = smol::spawn(async move {
            let socket = server.accept().await.unwrap();
            let mut input = socket.open_read_channel().unwrap();
            let mut buf = vec![0u8; CHUNK];
            let mut got = 0;
            loop {
                match input.read_available(&mut buf).await.unwrap() {
                    0 => return got,
                    n => got += n,
                }
            }
        });
        let socket = a_socket(Smol).tcp().connect(addr).await.unwrap();
        let mut output = socket.open_write_channel(true).unwrap();
        let data = vec![7u8; CHUNK];
        let start = Instant::now();
        for _ in 0..total / CHUNK {
            output.write_all(&data).await.unwrap();
        }
        output.flush_and_close().await.unwrap();
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
        for _ in 0..total / CHUNK {
            stream.write_all(&data).await.unwrap();
        }
        stream.close().await.unwrap();
        assert_eq!(sink.await, total);
        start.elapsed()
    })
}

/// Runs both contenders `rounds` times (alternating first) and prints the medians.
fn compare(
    runtime: &str,
    rounds: usize,
    total: usize,
    ours: fn(usize) -> Duration,
    raw: fn(usize) -> Duration,
) {
    let gbps = |d: Duration| total as f64 / d.as_secs_f64() / 1e9;
    ours(total / 8);
    raw(total / 8);
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        if round % 2 == 0 {
            a.push(gbps(ours(total)));
            b.push(gbps(raw(total)));
        } else {
            b.push(gbps(raw(total)));
            a.push(gbps(ours(total)));
        }
    }
    let (a, b) = (median(a), median(b));
    let ratio = a / b;
    let verdict = if ratio >= 0.9 { "meets" } else { "MISSES" };
    println!(
        "\n{runtime}: bulk over loopback TCP, 64 KiB writes ({} MiB)",
        total >> 20
    );
    println!("  socket channels  {a:>6.2} GB/s");
    println!("  raw stream       {b:>6.2} GB/s");
    println!("  ratio channels / raw: {ratio:.2}x ({verdict} the goal of 0.90x)");
}

fn main() {
    let (rounds, total) = settings();
    println!("socket benchmark: {rounds} rounds, medians");
    compare("smol", rounds, total, smol_channels, smol_raw);
}
