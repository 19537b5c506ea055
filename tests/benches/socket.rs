//! Bulk transfer through socket byte channels against a plain copy over the same runtime's
//! raw TCP stream, in the same run, over loopback (goal: at least 0.9x the raw stream).
//!
//! Each trial sends the bytes in 64 KiB writes from a client task to a server task that reads
//! and counts them (both spawned on the runtime, as a server's connections are); the raw
//! contender uses the runtime's own stream with the same tasks and chunk sizes.
//! Rounds alternate the contenders; medians are reported. `BENCH_QUICK=1` shortens the run.

use std::time::{Duration, Instant};

use futures_lite::{AsyncReadExt, AsyncWriteExt};
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
fn tokio_channels(total: usize) -> Duration {
    tokio_runtime().block_on(async {
        let server = a_socket(Tokio).tcp().bind("127.0.0.1:0").await.unwrap();
        let addr = server.local_addr();
        let sink = tokio::spawn(async move {
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
fn blocking_channels(total: usize) -> Duration {
    use std::io::Read;
    let server = a_socket(Blocking).tcp().bind("127.0.0.1:0").unwrap();
    let addr = server.local_addr();
    let sink = std::thread::spawn(move || {
        let socket = server.accept().unwrap();
        let mut input = socket.open_read_channel().unwrap();
        let mut source = input.blocking();
        let mut buf = vec![0u8; CHUNK];
        let mut got = 0;
        loop {
            match source.read(&mut buf).unwrap() {
                0 => return got,
                n => got += n,
            }
        }
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
    // smol's global executor (where the socket pumps and both contenders' tasks run) starts
    // one thread unless told otherwise; give it one per core, as tokio's runtime here has.
    // SAFETY: no other thread exists yet, so nothing reads the environment concurrently.
    unsafe { std::env::set_var("SMOL_THREADS", "2") };
    let (rounds, total) = settings();
    println!("socket benchmark: {rounds} rounds, medians");
    let only = std::env::var("BENCH_ONLY").unwrap_or_default();
    let runtimes: [(&str, Trial, Trial); 3] = [
        ("smol", smol_channels, smol_raw),
        ("tokio", tokio_channels, tokio_raw),
        ("blocking", blocking_channels, blocking_raw),
    ];
    for (name, ours, raw) in runtimes {
        if only.is_empty() || only == name {
            compare(name, rounds, total, ours, raw);
        }
    }
}
