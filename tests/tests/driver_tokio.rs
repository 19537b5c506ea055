//! The tokio driver over real loopback sockets: a `Duplex` (and a test-only timer machine)
//! against raw std `TcpStream` peers on their own threads.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpStream as TokioStream;
use wirestate::driver::{self, Connection};
use wirestate_core::chan::Duplex;
use wirestate_tests::app::{
    Wait, assert_same_outcome, collect_events, duplex_with_inbound, exchange, read_until_end,
    wait_read_closed, write_some, write_until_stopped,
};
use wirestate_tests::peers::{self, peer};
use wirestate_tests::ticker::{Ticker, assert_ticks};
use wirestate_tests::{LIMIT, pattern};

// ---- tokio --------------------------------------------------------------------------------

/// The application waits on tokio.
struct Tokio;

impl Wait for Tokio {
    async fn pause(&self, duration: Duration) {
        tokio::time::sleep(duration).await;
    }
}

/// Runs `future`, panicking if it takes longer than `limit` (on tokio's clock).
async fn bounded<T>(what: &str, limit: Duration, future: impl Future<Output = T>) -> T {
    match tokio::time::timeout(limit, future).await {
        Ok(value) => value,
        Err(_) => panic!("{what} did not finish within {limit:?}"),
    }
}

/// Connects and spawns the tokio driver for `machine`.
async fn start(
    addr: SocketAddr,
    machine: Duplex,
) -> (Connection<Duplex>, tokio::task::JoinHandle<io::Result<()>>) {
    let stream = TokioStream::connect(addr).await.unwrap();
    let conn = driver::tokio::connection(machine);
    let task = tokio::spawn(driver::tokio::run(conn.clone(), stream));
    (conn, task)
}

// ---- tests --------------------------------------------------------------------------------

#[tokio::test]
async fn echo_one_mebibyte() {
    echo().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn echo_one_mebibyte_on_worker_threads() {
    echo().await;
}

async fn echo() {
    let (addr, peer) = peer(peers::echo);
    bounded("echo", LIMIT, async {
        let (conn, task) = start(addr, Duplex::default()).await;

        let data = pattern(1 << 20, 0x5eed);
        let back = exchange(&conn, &data, data.len(), &Tokio).await;
        assert!(back == data, "echoed bytes differ");

        // Our FIN lets the peer finish; its FIN arrives as ReadClosed.
        conn.with(|m| m.outbound_mut().close()).unwrap();
        wait_read_closed(&conn, &Tokio).await;
        assert!(read_until_end(&conn, false, &Tokio).await.is_empty());
        task.await.unwrap().expect("driver");
        assert_eq!(conn.next_event().await, None);
        assert!(conn.driver_result().unwrap().is_ok());
    })
    .await;
    assert_eq!(peer.join().unwrap(), 1 << 20);
}

#[tokio::test]
async fn backpressure_with_a_small_inbound_pipe() {
    let data = pattern(256 * 1024, 7);
    let sent = data.clone();
    let (addr, peer) = peer(move |stream| peers::send_then_drain(stream, &sent));
    bounded("backpressure", LIMIT, async {
        let (conn, task) = start(addr, duplex_with_inbound(1024)).await;
        conn.with(|m| m.outbound_mut().close()).unwrap();

        let got = read_until_end(&conn, true, &Tokio).await;
        assert_eq!(got.len(), data.len());
        assert!(got == data, "bytes arrived out of order");
        task.await.unwrap().expect("driver");
    })
    .await;
    assert!(peer.join().unwrap().is_empty());
}

#[tokio::test]
async fn half_close_keeps_the_read_side_open() {
    let (addr, peer) = peer(|stream| peers::reply_after_eof(stream, b"reply after your FIN"));
    bounded("half-close", LIMIT, async {
        let (conn, task) = start(addr, Duplex::default()).await;
        assert_eq!(write_some(&conn, b"request"), 7);
        conn.with(|m| m.outbound_mut().close()).unwrap();

        assert_eq!(
            read_until_end(&conn, false, &Tokio).await,
            b"reply after your FIN"
        );
        task.await.unwrap().expect("driver");
        assert!(conn.driver_result().unwrap().is_ok());
    })
    .await;
    assert_eq!(peer.join().unwrap(), b"request");
}

#[tokio::test]
async fn timers_fire_at_the_machines_deadlines() {
    let (addr, peer) = peer(peers::drain);
    bounded("timers", LIMIT, async {
        let stream = TokioStream::connect(addr).await.unwrap();
        let conn = driver::tokio::connection(Ticker::new(Duration::from_millis(20), 3));
        let start = std::time::Instant::now();
        let started = conn.now();
        conn.command(()).unwrap();
        let task = tokio::spawn(driver::tokio::run(conn.clone(), stream));

        let ticks = collect_events(&conn, 3, &Tokio).await;
        task.await.unwrap().expect("driver");
        assert!(start.elapsed() >= Duration::from_millis(60));
        assert_ticks(&ticks, 3, started, Duration::from_millis(20));
    })
    .await;
    assert_eq!(peer.join().unwrap(), b"***");
}

#[tokio::test]
async fn a_reset_ends_the_driver() {
    let (addr, peer) = peer(peers::reset_after_first_read);
    bounded("reset", LIMIT, async {
        let (conn, task) = start(addr, Duplex::default()).await;
        write_until_stopped(&conn, &pattern(4 << 20, 3), &Tokio).await;
        let result = task.await.unwrap();
        let recorded = conn.driver_result().expect("the driver stopped");
        assert_same_outcome(&result, &recorded);
    })
    .await;
    peer.join().unwrap();
}

#[tokio::test(start_paused = true)]
async fn timers_run_on_paused_time() {
    // Ten-second ticks: on real time this would take half a minute.
    let interval = Duration::from_secs(10);
    let (addr, peer) = peer(peers::drain);
    let real_start = std::time::Instant::now();
    bounded("paused timers", Duration::from_secs(3600), async {
        // Connect without waiting on the runtime: with time paused, an idle runtime jumps
        // to the next timer instead of waiting for I/O.
        let stream = std::net::TcpStream::connect(addr).unwrap();
        stream.set_nonblocking(true).unwrap();
        let stream = TokioStream::from_std(stream).unwrap();
        let conn = driver::tokio::connection(Ticker::new(interval, 3));
        assert!(conn.clock().is_tokio());
        let start = tokio::time::Instant::now();
        let started = conn.now();
        conn.command(()).unwrap();
        let task = tokio::spawn(driver::tokio::run(conn.clone(), stream));

        let ticks = collect_events(&conn, 3, &Tokio).await;
        task.await.unwrap().expect("driver");
        assert!(start.elapsed() >= 3 * interval);
        assert_ticks(&ticks, 3, started, interval);
    })
    .await;
    assert_eq!(peer.join().unwrap(), b"***");
    assert!(
        real_start.elapsed() < Duration::from_secs(10),
        "time was not paused"
    );
}

#[tokio::test]
async fn a_std_clock_connection_also_runs_on_tokio() {
    let (addr, peer) = peer(peers::drain);
    bounded("std clock", LIMIT, async {
        let stream = TokioStream::connect(addr).await.unwrap();
        let conn = Connection::new(Ticker::new(Duration::from_millis(5), 3));
        conn.command(()).unwrap();
        driver::tokio::run(conn.clone(), stream)
            .await
            .expect("driver");
        assert!(conn.driver_result().unwrap().is_ok());
    })
    .await;
    assert_eq!(peer.join().unwrap(), b"***");
}

/// An application that drops its last handle while the inbound pipe is full: nothing can
/// ever read it, so the driver stops instead of waiting forever.
#[tokio::test]
async fn driver_stops_once_the_application_is_gone() {
    let data = pattern(4 << 20, 11);
    let (addr, peer) = peer(move |stream| peers::send_until_refused(stream, &data));
    let (conn, task) = start(addr, duplex_with_inbound(1024)).await;
    drop(conn);
    bounded("abandoned driver", LIMIT, task)
        .await
        .unwrap()
        .expect("driver");
    peer.join().unwrap();
}
