//! The blocking driver over real loopback sockets: a `Duplex` (and a test-only timer
//! machine) against raw std `TcpStream` peers on their own threads. The application runs on
//! the test thread, the driver on its own (`driver::blocking::spawn`).

use std::future::Future;
use std::io;
use std::net::{SocketAddr, TcpStream};
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use wirestate::driver::{self, Connection};
use wirestate_core::Machine;
use wirestate_core::chan::Duplex;
use wirestate_tests::app::{
    Wait, assert_same_outcome, collect_events, duplex_with_inbound, exchange, read_until_end,
    wait_read_closed, write_some, write_until_stopped,
};
use wirestate_tests::peers::{self, peer};
use wirestate_tests::ticker::{Ticker, assert_ticks};
use wirestate_tests::{LIMIT, pattern};

// ---- blocking -----------------------------------------------------------------------------

/// The moment a test gives up.
fn deadline() -> std::time::Instant {
    std::time::Instant::now() + LIMIT
}

/// Waits for the next event until `deadline`; `None` once the driver stopped.
fn next_event<M: Machine>(conn: &Connection<M>, deadline: std::time::Instant) -> Option<M::Event> {
    let left = deadline.saturating_duration_since(std::time::Instant::now());
    conn.wait_event_timeout(left)
        .unwrap_or_else(|_| panic!("no event within {LIMIT:?}"))
}

/// The application blocks the test thread, giving up at the deadline.
struct Blocking(std::time::Instant);

impl Wait for Blocking {
    async fn next_event<M: Machine>(&self, conn: &Connection<M>) -> Option<M::Event> {
        next_event(conn, self.0)
    }

    async fn pause(&self, duration: Duration) {
        thread::sleep(duration);
    }
}

/// Runs the application on the test thread. Its waits are [`Blocking`]: they block inside
/// `poll`, so one poll completes it.
fn run<T>(app: impl Future<Output = T>) -> T {
    match pin!(app).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(value) => value,
        Poll::Pending => unreachable!("a blocking wait returned Pending"),
    }
}

/// Joins the driver thread, giving up at `deadline`.
fn join(task: JoinHandle<io::Result<()>>, deadline: std::time::Instant) -> io::Result<()> {
    while !task.is_finished() {
        assert!(
            std::time::Instant::now() < deadline,
            "the driver did not stop"
        );
        thread::sleep(Duration::from_millis(1));
    }
    task.join().expect("the driver thread panicked")
}

/// Connects and starts the blocking driver for `machine`.
fn start<M: Machine + Send + 'static>(
    addr: SocketAddr,
    machine: M,
) -> (Connection<M>, JoinHandle<io::Result<()>>) {
    let stream = TcpStream::connect(addr).unwrap();
    let conn = Connection::new(machine);
    let task = driver::blocking::spawn(conn.clone(), stream).unwrap();
    (conn, task)
}

// ---- tests --------------------------------------------------------------------------------

#[test]
fn echo_one_mebibyte() {
    let (addr, peer) = peer(peers::echo);
    run(async {
        let deadline = deadline();
        let wait = Blocking(deadline);
        let (conn, task) = start(addr, Duplex::default());

        let data = pattern(1 << 20, 0x5eed);
        let back = exchange(&conn, &data, data.len(), &wait).await;
        assert!(back == data, "echoed bytes differ");

        // Our FIN lets the peer finish; its FIN arrives as ReadClosed.
        conn.with(|m| m.outbound_mut().close()).unwrap();
        wait_read_closed(&conn, &wait).await;
        assert!(read_until_end(&conn, false, &wait).await.is_empty());
        join(task, deadline).expect("driver");
        assert_eq!(next_event(&conn, deadline), None);
        assert!(conn.driver_result().unwrap().is_ok());
    });
    assert_eq!(peer.join().unwrap(), 1 << 20);
}

#[test]
fn backpressure_with_a_small_inbound_pipe() {
    let data = pattern(256 * 1024, 7);
    let sent = data.clone();
    let (addr, peer) = peer(move |stream| peers::send_then_drain(stream, &sent));
    run(async {
        let deadline = deadline();
        let wait = Blocking(deadline);
        let (conn, task) = start(addr, duplex_with_inbound(1024));
        conn.with(|m| m.outbound_mut().close()).unwrap();

        let got = read_until_end(&conn, true, &wait).await;
        assert_eq!(got.len(), data.len());
        assert!(got == data, "bytes arrived out of order");
        join(task, deadline).expect("driver");
    });
    assert!(peer.join().unwrap().is_empty());
}

#[test]
fn half_close_keeps_the_read_side_open() {
    let (addr, peer) = peer(|stream| peers::reply_after_eof(stream, b"reply after your FIN"));
    run(async {
        let deadline = deadline();
        let wait = Blocking(deadline);
        let (conn, task) = start(addr, Duplex::default());
        assert_eq!(write_some(&conn, b"request"), 7);
        conn.with(|m| m.outbound_mut().close()).unwrap();

        assert_eq!(
            read_until_end(&conn, false, &wait).await,
            b"reply after your FIN"
        );
        join(task, deadline).expect("driver");
        assert!(conn.driver_result().unwrap().is_ok());
    });
    assert_eq!(peer.join().unwrap(), b"request");
}

#[test]
fn timers_fire_at_the_machines_deadlines() {
    let (addr, peer) = peer(peers::drain);
    run(async {
        let deadline = deadline();
        let wait = Blocking(deadline);
        let begin = std::time::Instant::now();
        // The driver is already waiting on its socket when the command arms the timer.
        let (conn, task) = start(addr, Ticker::new(Duration::from_millis(20), 3));
        let started = conn.now();
        conn.command(()).unwrap();

        let ticks = collect_events(&conn, 3, &wait).await;
        join(task, deadline).expect("driver");
        assert!(begin.elapsed() >= Duration::from_millis(60));
        assert_ticks(&ticks, 3, started, Duration::from_millis(20));
    });
    assert_eq!(peer.join().unwrap(), b"***");
}

#[test]
fn a_reset_ends_the_driver() {
    let (addr, peer) = peer(peers::reset_after_first_read);
    run(async {
        let deadline = deadline();
        let wait = Blocking(deadline);
        let (conn, task) = start(addr, Duplex::default());
        write_until_stopped(&conn, &pattern(4 << 20, 3), &wait).await;
        let result = join(task, deadline);
        let recorded = conn.driver_result().expect("the driver stopped");
        assert_same_outcome(&result, &recorded);
    });
    peer.join().unwrap();
}

/// An application that drops its last handle while the inbound pipe is full: nothing can
/// ever read it, so the driver stops instead of waiting forever.
#[test]
fn driver_stops_once_the_application_is_gone() {
    let data = pattern(4 << 20, 11);
    let (addr, peer) = peer(move |stream| peers::send_until_refused(stream, &data));
    let (conn, task) = start(addr, duplex_with_inbound(1024));
    drop(conn);
    join(task, deadline()).expect("driver");
    peer.join().unwrap();
}
