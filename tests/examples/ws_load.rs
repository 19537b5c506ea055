//! WebSocket load on loopback: opens many connections to an echo server at once, exchanges
//! messages on every one of them, holds them idle to measure the server's memory per idle
//! connection, then closes them all. Prints one summary line; exits non-zero on any error.
//!
//! `cargo run --release -p wirestate-tests --example ws_load -- --url ws://127.0.0.1:PORT/
//!  --connections 5000 --messages 10 [--server-pid PID]`
//!
//! With `--server-pid`, the server's resident memory (VmRSS from /proc) is read before the
//! connections open and while they are all idle. The client runs on tokio, one task per
//! connection, opening at most 256 at a time; every wait is bounded.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::{Barrier, Semaphore};
use wirestate::core::ws::{CloseCode, Message};
use wirestate::ws;
use wirestate_tests::arg;

const LIMIT: Duration = Duration::from_secs(120);

/// Resident memory of `pid` in bytes.
fn rss(pid: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

fn main() {
    let url = arg("url", "ws://127.0.0.1:9001/");
    let connections: usize = arg("connections", "5000").parse().expect("--connections N");
    let messages: usize = arg("messages", "10").parse().expect("--messages N");
    let server_pid = arg("server-pid", "");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let outcome = runtime.block_on(async {
        tokio::time::timeout(LIMIT, run(&url, connections, messages, &server_pid)).await
    });
    match outcome {
        Ok(Ok(summary)) => println!("{summary}"),
        Ok(Err(error)) => {
            eprintln!("ws_load: {error}");
            std::process::exit(1);
        }
        Err(_) => {
            eprintln!("ws_load: not done within {LIMIT:?}");
            std::process::exit(1);
        }
    }
}

async fn run(
    url: &str,
    connections: usize,
    messages: usize,
    server_pid: &str,
) -> Result<String, String> {
    let before = rss(server_pid);
    let started = Instant::now();
    let opening = Arc::new(Semaphore::new(256));
    let all_open = Arc::new(Barrier::new(connections + 1));
    let measured = Arc::new(Barrier::new(connections + 1));
    let echoed = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::with_capacity(connections);
    for i in 0..connections {
        let (url, opening, all_open, measured, echoed) = (
            url.to_string(),
            opening.clone(),
            all_open.clone(),
            measured.clone(),
            echoed.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let socket = {
                let _permit = opening.acquire().await.map_err(|e| e.to_string())?;
                ws::tokio::connect(&url).await
            };
            let mut socket = match socket {
                Ok(socket) => socket,
                Err(error) => {
                    all_open.wait().await;
                    measured.wait().await;
                    return Err(format!("connection {i}: {error}"));
                }
            };
            let mut result = Ok(());
            for m in 0..messages {
                let message = Message::from(format!("connection {i} message {m}"));
                if let Err(error) = socket.send(message.clone()).await {
                    result = Err(format!("connection {i}: send: {error}"));
                    break;
                }
                match socket.recv().await {
                    Ok(Some(echo)) if echo == message => {
                        echoed.fetch_add(1, Ordering::Relaxed);
                    }
                    other => {
                        result = Err(format!("connection {i}: expected the echo, got {other:?}"));
                        break;
                    }
                }
            }
            all_open.wait().await; // every connection is open and idle now
            measured.wait().await;
            socket
                .close(CloseCode::NORMAL, "")
                .await
                .map_err(|e| format!("connection {i}: close: {e}"))?;
            result
        }));
    }
    all_open.wait().await;
    let exchange = started.elapsed();
    tokio::time::sleep(Duration::from_millis(500)).await; // let the server settle
    let during = rss(server_pid);
    measured.wait().await;
    let mut errors = Vec::new();
    for task in tasks {
        match task.await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => errors.push(error),
            Err(error) => errors.push(error.to_string()),
        }
    }
    if !errors.is_empty() {
        return Err(format!(
            "{} of {connections} connections failed; first: {}",
            errors.len(),
            errors[0]
        ));
    }
    let echoed = echoed.load(Ordering::Relaxed);
    if echoed != connections * messages {
        return Err(format!(
            "{echoed} echoes for {} messages",
            connections * messages
        ));
    }
    let memory = match (before, during) {
        (Some(before), Some(during)) => format!(
            "; server RSS {:.1} MiB idle before, {:.1} MiB with all open: {:.0} bytes per idle connection",
            before as f64 / 1048576.0,
            during as f64 / 1048576.0,
            during.saturating_sub(before) as f64 / connections as f64
        ),
        _ => String::new(),
    };
    Ok(format!(
        "{connections} concurrent connections, {} messages echoed in {:.2} s, 0 errors{memory}",
        echoed,
        exchange.as_secs_f64()
    ))
}
