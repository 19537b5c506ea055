//! The smol driver over real loopback sockets: a `Duplex` (and a test-only timer machine)
//! against raw std `TcpStream` peers on their own threads.

use std::future::Future;
use std::io::{self, Write};
use std::net::SocketAddr;
use std::time::Duration;

use smol::Timer;
use smol::future::FutureExt;
use smol::net::TcpStream as SmolStream;
use wirestate::driver::{self, Connection};
use wirestate_core::chan::Duplex;
use wirestate_tests::app::{
    Wait, assert_same_outcome, collect_events, duplex_with_inbound, exchange, read_some,
    read_until_end, wait_read_closed, write_some, write_until_stopped,
};
use wirestate_tests::peers::{self, peer};
use wirestate_tests::ticker::{Ticker, assert_ticks};
use wirestate_tests::{LIMIT, pattern};

// ---- smol ---------------------------------------------------------------------------------

/// The application waits on smol.
struct Smol;

impl Wait for Smol {
    async fn pause(&self, duration: Duration) {
        Timer::after(duration).await;
    }
}

/// Runs `future`, panicking if it takes longer than [`LIMIT`].
async fn bounded<T>(what: &str, future: impl Future<Output = T>) -> T {
    future
        .or(async {
            Timer::after(LIMIT).await;
            panic!("{what} did not finish within {LIMIT:?}")
        })
        .await
}

/// Connects and spawns the smol driver for `machine`.
async fn start(
    addr: SocketAddr,
    machine: Duplex,
) -> (Connection<Duplex>, smol::Task<io::Result<()>>) {
    let stream = SmolStream::connect(addr).await.unwrap();
    let conn = Connection::new(machine);
    let task = smol::spawn(driver::smol::run(conn.clone(), stream));
    (conn, task)
}

// ---- tests --------------------------------------------------------------------------------

#[test]
fn echo_one_mebibyte() {
    let (addr, peer) = peer(peers::echo);
    smol::block_on(bounded("echo", async {
        let (conn, task) = start(addr, Duplex::default()).await;

        let data = pattern(1 << 20, 0x5eed);
        let back = exchange(&conn, &data, data.len(), &Smol).await;
        assert!(back == data, "echoed bytes differ");

        // Our FIN lets the peer finish; its FIN arrives as ReadClosed.
        conn.with(|m| m.outbound_mut().close()).unwrap();
        wait_read_closed(&conn, &Smol).await;
        assert!(read_until_end(&conn, false, &Smol).await.is_empty());
        task.await.expect("driver");
        assert_eq!(conn.next_event().await, None);
        assert!(conn.driver_result().unwrap().is_ok());
    }));
    assert_eq!(peer.join().unwrap(), 1 << 20);
}

#[test]
fn backpressure_with_a_small_inbound_pipe() {
    let data = pattern(256 * 1024, 7);
    let sent = data.clone();
    let (addr, peer) = peer(move |stream| peers::send_then_drain(stream, &sent));
    smol::block_on(bounded("backpressure", async {
        let (conn, task) = start(addr, duplex_with_inbound(1024)).await;
        conn.with(|m| m.outbound_mut().close()).unwrap();

        let got = read_until_end(&conn, true, &Smol).await;
        assert_eq!(got.len(), data.len());
        assert!(got == data, "bytes arrived out of order");
        task.await.expect("driver");
    }));
    assert!(peer.join().unwrap().is_empty());
}

#[test]
fn half_close_keeps_the_read_side_open() {
    let (addr, peer) = peer(|stream| peers::reply_after_eof(stream, b"reply after your FIN"));
    smol::block_on(bounded("half-close", async {
        let (conn, task) = start(addr, Duplex::default()).await;
        assert_eq!(write_some(&conn, b"request"), 7);
        conn.with(|m| m.outbound_mut().close()).unwrap();

        assert_eq!(
            read_until_end(&conn, false, &Smol).await,
            b"reply after your FIN"
        );
        task.await.expect("driver");
        assert!(conn.driver_result().unwrap().is_ok());
    }));
    assert_eq!(peer.join().unwrap(), b"request");
}

#[test]
fn timers_fire_at_the_machines_deadlines() {
    let (addr, peer) = peer(peers::drain);
    smol::block_on(bounded("timers", async {
        let stream = SmolStream::connect(addr).await.unwrap();
        let conn = Connection::new(Ticker::new(Duration::from_millis(20), 3));
        let start = std::time::Instant::now();
        let started = conn.now();
        conn.command(()).unwrap();
        let task = smol::spawn(driver::smol::run(conn.clone(), stream));

        let ticks = collect_events(&conn, 3, &Smol).await;
        task.await.expect("driver");
        assert!(start.elapsed() >= Duration::from_millis(60));
        assert_ticks(&ticks, 3, started, Duration::from_millis(20));
    }));
    assert_eq!(peer.join().unwrap(), b"***");
}

#[test]
fn a_reset_ends_the_driver() {
    let (addr, peer) = peer(peers::reset_after_first_read);
    smol::block_on(bounded("reset", async {
        let (conn, task) = start(addr, Duplex::default()).await;
        write_until_stopped(&conn, &pattern(4 << 20, 3), &Smol).await;
        let result = task.await;
        let recorded = conn.driver_result().expect("the driver stopped");
        assert_same_outcome(&result, &recorded);
    }));
    peer.join().unwrap();
}

#[test]
fn a_second_driver_is_refused() {
    let (addr, peer) = peer(|mut stream| {
        stream.write_all(b"hi").unwrap();
        peers::read_to_end(&mut stream)
    });
    smol::block_on(bounded("second driver", async {
        let first = SmolStream::connect(addr).await.unwrap();
        let second = SmolStream::connect(addr).await.unwrap(); // never accepted: unused
        let conn = Connection::new(Duplex::default());
        let task = smol::spawn(driver::smol::run(conn.clone(), first));
        // Let the first driver claim the connection.
        let mut got = Vec::new();
        while got.len() < 2 {
            match read_some(&conn, &mut got, 16) {
                Some(n) => assert!(n > 0),
                None => assert!(conn.next_event().await.is_some()),
            }
        }
        let refused = driver::smol::run(conn.clone(), second).await.unwrap_err();
        assert_eq!(refused.kind(), io::ErrorKind::AlreadyExists);
        assert!(!conn.is_driver_done());

        conn.with(|m| m.outbound_mut().close()).unwrap();
        assert!(read_until_end(&conn, false, &Smol).await.is_empty());
        task.await.expect("the first driver");
    }));
    assert!(peer.join().unwrap().is_empty());
}

/// An application that drops its last handle while the inbound pipe is full: nothing can
/// ever read it, so the driver stops instead of waiting forever.
#[test]
fn driver_stops_once_the_application_is_gone() {
    let data = pattern(4 << 20, 11);
    let (addr, peer) = peer(move |stream| peers::send_until_refused(stream, &data));
    smol::block_on(bounded("abandoned driver", async {
        let (conn, task) = start(addr, duplex_with_inbound(1024)).await;
        drop(conn);
        task.await.expect("driver");
    }));
    peer.join().unwrap();
}
