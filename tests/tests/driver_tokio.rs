//! The tokio driver over real loopback sockets: a `Duplex` (and a test-only timer machine)
//! against raw std `TcpStream` peers on their own threads.

use std::collections::VecDeque;
use std::future::Future;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use tokio::net::TcpStream as TokioStream;
use tokio::time::sleep;
use wirestate::driver::{self, Connection};
use wirestate_core::bytes::Bytes;
use wirestate_core::chan::{Duplex, DuplexConfig, DuplexEvent, PipeConfig};
use wirestate_core::{Instant, Machine};

/// Every test, and every blocking call in a peer, gives up after this long.
const LIMIT: Duration = Duration::from_secs(20);
/// An upper bound on the rounds of any application loop.
const MAX_ROUNDS: usize = 1_000_000;

// ---- helpers ------------------------------------------------------------------------------

/// A reproducible pseudo-random byte pattern (xorshift64).
fn pattern(len: usize, mut seed: u64) -> Vec<u8> {
    (0..len)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed as u8
        })
        .collect()
}

/// Runs `future`, panicking if it takes longer than `limit` (on tokio's clock).
async fn bounded<T>(what: &str, limit: Duration, future: impl Future<Output = T>) -> T {
    match tokio::time::timeout(limit, future).await {
        Ok(value) => value,
        Err(_) => panic!("{what} did not finish within {limit:?}"),
    }
}

/// A peer on a std thread: accepts one connection (within [`LIMIT`]) and runs `f` on it.
fn peer<R: Send + 'static>(
    f: impl FnOnce(TcpStream) -> R + Send + 'static,
) -> (SocketAddr, JoinHandle<R>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let handle = thread::spawn(move || {
        listener.set_nonblocking(true).unwrap();
        let deadline = std::time::Instant::now() + LIMIT;
        let stream = loop {
            match listener.accept() {
                Ok((stream, _)) => break stream,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    assert!(std::time::Instant::now() < deadline, "nobody connected");
                    thread::sleep(Duration::from_millis(1));
                }
                Err(e) => panic!("accept: {e}"),
            }
        };
        stream.set_nonblocking(false).unwrap();
        stream.set_read_timeout(Some(LIMIT)).unwrap();
        stream.set_write_timeout(Some(LIMIT)).unwrap();
        f(stream)
    });
    (addr, handle)
}

/// Reads until the end of stream.
fn read_to_end(stream: &mut TcpStream) -> Vec<u8> {
    let mut all = Vec::new();
    stream.read_to_end(&mut all).expect("peer read");
    all
}

fn duplex_with_inbound(capacity: usize) -> Duplex {
    Duplex::new(DuplexConfig {
        inbound: PipeConfig::with_capacity(capacity),
        ..DuplexConfig::default()
    })
}

/// Writes as much of `data` as fits into the outbound pipe and flushes; returns the count.
fn write_some(conn: &Connection<Duplex>, data: &[u8]) -> usize {
    conn.with(|m| {
        let n = match m.outbound_mut().write(data) {
            Ok(n) => n,
            Err(e) if e.is_blocked() => 0,
            Err(e) => panic!("write: {e}"),
        };
        m.outbound_mut().flush().unwrap();
        n
    })
}

/// Reads up to `max` bytes from the inbound pipe into `out`: `Some(n)` (0 at the end),
/// `None` when nothing is there yet.
fn read_some(conn: &Connection<Duplex>, out: &mut Vec<u8>, max: usize) -> Option<usize> {
    match conn.with(|m| m.inbound_mut().read_into_vec(out, max)) {
        Ok(n) => Some(n),
        Err(e) if e.is_blocked() => None,
        Err(e) => panic!("read: {e}"),
    }
}

/// Sends `data` and collects at least `expect` bytes back, reading and writing as room and
/// data allow, waiting for an event whenever neither can move.
async fn exchange(conn: &Connection<Duplex>, data: &[u8], expect: usize) -> Vec<u8> {
    let mut sent = 0;
    let mut got = Vec::with_capacity(expect);
    for _ in 0..MAX_ROUNDS {
        if sent < data.len() {
            sent += write_some(conn, &data[sent..]);
        }
        while let Some(n) = read_some(conn, &mut got, 64 * 1024) {
            assert!(n > 0, "the peer ended after {} bytes", got.len());
        }
        if sent == data.len() && got.len() >= expect {
            return got;
        }
        if conn.next_event().await.is_none() {
            panic!("driver stopped: {:?}", conn.driver_result());
        }
    }
    panic!("exchange did not finish");
}

/// Reads everything up to the end of the inbound pipe, `slowly` or not.
async fn read_until_end(conn: &Connection<Duplex>, slowly: bool) -> Vec<u8> {
    let mut got = Vec::new();
    for _ in 0..MAX_ROUNDS {
        match read_some(conn, &mut got, if slowly { 100 } else { 64 * 1024 }) {
            Some(0) => return got,
            Some(_) => {
                if slowly && got.len() % 8192 < 100 {
                    sleep(Duration::from_millis(1)).await;
                }
            }
            None => {
                if conn.next_event().await.is_none() {
                    panic!("driver stopped before the end: {:?}", conn.driver_result());
                }
            }
        }
    }
    panic!("read did not finish");
}

/// Waits for the `ReadClosed` event.
async fn wait_read_closed(conn: &Connection<Duplex>) {
    for _ in 0..MAX_ROUNDS {
        match conn.next_event().await {
            Some(DuplexEvent::ReadClosed) => return,
            Some(_) => {}
            None => panic!("driver stopped first: {:?}", conn.driver_result()),
        }
    }
    panic!("no ReadClosed");
}

// ---- a test-only machine with timers ------------------------------------------------------

/// Sends one byte at each of `ticks` deadlines, `interval` apart from the `Start` command,
/// then closes its transmit side. Input is counted and dropped.
struct Ticker {
    interval: Duration,
    left: u32,
    next: Option<Instant>,
    out: VecDeque<Bytes>,
    events: VecDeque<Instant>,
}

impl Ticker {
    fn new(interval: Duration, ticks: u32) -> Self {
        Ticker {
            interval,
            left: ticks,
            next: None,
            out: VecDeque::new(),
            events: VecDeque::new(),
        }
    }
}

impl Machine for Ticker {
    type Event = Instant;
    type Command = ();
    type Reply = ();
    type UsageError = &'static str;

    fn handle_input(&mut self, _now: Instant, data: &[u8]) -> usize {
        data.len()
    }
    fn handle_eof(&mut self, _now: Instant) {}
    fn handle_timeout(&mut self, now: Instant) {
        if let Some(next) = self.next.filter(|&next| next <= now) {
            self.out.push_back(Bytes::from_static(b"*"));
            self.events.push_back(now);
            self.left -= 1;
            self.next = (self.left > 0).then(|| next + self.interval);
        }
    }
    fn command(&mut self, now: Instant, (): ()) -> Result<(), &'static str> {
        if self.next.is_some() || self.left == 0 {
            return Err("already started");
        }
        self.next = Some(now + self.interval);
        Ok(())
    }
    fn poll_transmit(&mut self) -> Option<Bytes> {
        self.out.pop_front()
    }
    fn poll_event(&mut self) -> Option<Instant> {
        self.events.pop_front()
    }
    fn poll_timeout(&self) -> Option<Instant> {
        self.next
    }
    fn wants_read(&self) -> bool {
        true
    }
    fn is_transmit_closed(&self) -> bool {
        self.left == 0 && self.out.is_empty()
    }
    fn is_finished(&self) -> bool {
        self.is_transmit_closed()
    }
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
    let (addr, peer) = peer(|mut stream| {
        let mut buf = vec![0u8; 32 * 1024];
        let mut echoed = 0usize;
        loop {
            match stream.read(&mut buf).expect("peer read") {
                0 => break,
                n => {
                    stream.write_all(&buf[..n]).expect("peer write");
                    echoed += n;
                }
            }
        }
        echoed // dropping the stream closes it
    });
    bounded("echo", LIMIT, async {
        let stream = TokioStream::connect(addr).await.unwrap();
        let conn = driver::tokio::connection(Duplex::default());
        let task = tokio::spawn(driver::tokio::run(conn.clone(), stream));

        let data = pattern(1 << 20, 0x5eed);
        let back = exchange(&conn, &data, data.len()).await;
        assert!(back == data, "echoed bytes differ");

        // Our FIN lets the peer finish; its FIN arrives as ReadClosed.
        conn.with(|m| m.outbound_mut().close()).unwrap();
        wait_read_closed(&conn).await;
        assert!(read_until_end(&conn, false).await.is_empty());
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
    let (addr, peer) = peer(move |mut stream| {
        stream.write_all(&sent).expect("peer write");
        stream.shutdown(Shutdown::Write).unwrap();
        read_to_end(&mut stream)
    });
    bounded("backpressure", LIMIT, async {
        let stream = TokioStream::connect(addr).await.unwrap();
        let conn = driver::tokio::connection(duplex_with_inbound(1024));
        let task = tokio::spawn(driver::tokio::run(conn.clone(), stream));
        conn.with(|m| m.outbound_mut().close()).unwrap();

        let got = read_until_end(&conn, true).await;
        assert_eq!(got.len(), data.len());
        assert!(got == data, "bytes arrived out of order");
        task.await.unwrap().expect("driver");
    })
    .await;
    assert!(peer.join().unwrap().is_empty());
}

#[tokio::test]
async fn half_close_keeps_the_read_side_open() {
    let (addr, peer) = peer(|mut stream| {
        let request = read_to_end(&mut stream); // the app's FIN ends this
        stream.write_all(b"reply after your FIN").unwrap();
        request
    });
    bounded("half-close", LIMIT, async {
        let stream = TokioStream::connect(addr).await.unwrap();
        let conn = driver::tokio::connection(Duplex::default());
        let task = tokio::spawn(driver::tokio::run(conn.clone(), stream));
        assert_eq!(write_some(&conn, b"request"), 7);
        conn.with(|m| m.outbound_mut().close()).unwrap();

        assert_eq!(read_until_end(&conn, false).await, b"reply after your FIN");
        task.await.unwrap().expect("driver");
        assert!(conn.driver_result().unwrap().is_ok());
    })
    .await;
    assert_eq!(peer.join().unwrap(), b"request");
}

#[tokio::test]
async fn timers_fire_at_the_machines_deadlines() {
    let (addr, peer) = peer(|mut stream| read_to_end(&mut stream));
    bounded("timers", LIMIT, async {
        let stream = TokioStream::connect(addr).await.unwrap();
        let conn = driver::tokio::connection(Ticker::new(Duration::from_millis(20), 3));
        let start = std::time::Instant::now();
        let started = conn.now();
        conn.command(()).unwrap();
        let task = tokio::spawn(driver::tokio::run(conn.clone(), stream));

        let mut ticks = Vec::new();
        while let Some(at) = conn.next_event().await {
            ticks.push(at);
            assert!(ticks.len() <= 3);
        }
        task.await.unwrap().expect("driver");
        assert!(start.elapsed() >= Duration::from_millis(60));
        assert_eq!(ticks.len(), 3);
        for (i, at) in ticks.iter().enumerate() {
            assert!(*at - started >= Duration::from_millis(20 * (i as u64 + 1)));
        }
    })
    .await;
    assert_eq!(peer.join().unwrap(), b"***");
}

#[tokio::test]
async fn a_reset_ends_the_driver() {
    let (addr, peer) = peer(|mut stream| {
        let mut buf = [0u8; 1024];
        let _ = stream.read(&mut buf);
        socket2::SockRef::from(&stream)
            .set_linger(Some(Duration::ZERO))
            .unwrap();
        // Dropping with unread data and linger 0 sends RST.
    });
    bounded("reset", LIMIT, async {
        let stream = TokioStream::connect(addr).await.unwrap();
        let conn = driver::tokio::connection(Duplex::default());
        let task = tokio::spawn(driver::tokio::run(conn.clone(), stream));
        let data = pattern(4 << 20, 3);
        let mut sent = 0;
        for _ in 0..MAX_ROUNDS {
            if sent < data.len() {
                sent += write_some(&conn, &data[sent..]);
            }
            if conn.next_event().await.is_none() {
                break;
            }
        }
        let result = task.await.unwrap();
        let recorded = conn.driver_result().expect("the driver stopped");
        match (&result, &recorded) {
            (Err(a), Err(b)) => assert_eq!(a.kind(), b.kind()),
            (Ok(()), Ok(())) => {}
            _ => panic!("run returned {result:?} but recorded {recorded:?}"),
        }
    })
    .await;
    peer.join().unwrap();
}

#[tokio::test(start_paused = true)]
async fn timers_run_on_paused_time() {
    // Ten-second ticks: on real time this would take half a minute.
    let interval = Duration::from_secs(10);
    let (addr, peer) = peer(|mut stream| read_to_end(&mut stream));
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

        let mut ticks = Vec::new();
        while let Some(at) = conn.next_event().await {
            ticks.push(at);
            assert!(ticks.len() <= 3);
        }
        task.await.unwrap().expect("driver");
        assert!(start.elapsed() >= 3 * interval);
        assert_eq!(ticks.len(), 3);
        for (i, at) in ticks.iter().enumerate() {
            assert!(*at - started >= interval * (i as u32 + 1));
        }
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
    let (addr, peer) = peer(|mut stream| read_to_end(&mut stream));
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
