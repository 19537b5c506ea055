//! The blocking driver over real loopback sockets: a `Duplex` (and a test-only timer
//! machine) against raw std `TcpStream` peers on their own threads. The application runs on
//! the test thread, the driver on its own (`driver::blocking::spawn`).

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::thread::{self, JoinHandle};
use std::time::Duration;

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
fn exchange(
    conn: &Connection<Duplex>,
    data: &[u8],
    expect: usize,
    deadline: std::time::Instant,
) -> Vec<u8> {
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
        if next_event(conn, deadline).is_none() {
            panic!("driver stopped: {:?}", conn.driver_result());
        }
    }
    panic!("exchange did not finish");
}

/// Reads everything up to the end of the inbound pipe, `slowly` or not.
fn read_until_end(
    conn: &Connection<Duplex>,
    slowly: bool,
    deadline: std::time::Instant,
) -> Vec<u8> {
    let mut got = Vec::new();
    for _ in 0..MAX_ROUNDS {
        match read_some(conn, &mut got, if slowly { 100 } else { 64 * 1024 }) {
            Some(0) => return got,
            Some(_) => {
                if slowly && got.len() % 8192 < 100 {
                    thread::sleep(Duration::from_millis(1));
                }
            }
            None => {
                if next_event(conn, deadline).is_none() {
                    panic!("driver stopped before the end: {:?}", conn.driver_result());
                }
            }
        }
    }
    panic!("read did not finish");
}

/// Waits for the `ReadClosed` event.
fn wait_read_closed(conn: &Connection<Duplex>, deadline: std::time::Instant) {
    for _ in 0..MAX_ROUNDS {
        match next_event(conn, deadline) {
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

#[test]
fn echo_one_mebibyte() {
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
    {
        let deadline = deadline();
        let (conn, task) = start(addr, Duplex::default());

        let data = pattern(1 << 20, 0x5eed);
        let back = exchange(&conn, &data, data.len(), deadline);
        assert!(back == data, "echoed bytes differ");

        // Our FIN lets the peer finish; its FIN arrives as ReadClosed.
        conn.with(|m| m.outbound_mut().close()).unwrap();
        wait_read_closed(&conn, deadline);
        assert!(read_until_end(&conn, false, deadline).is_empty());
        join(task, deadline).expect("driver");
        assert_eq!(next_event(&conn, deadline), None);
        assert!(conn.driver_result().unwrap().is_ok());
    }
    assert_eq!(peer.join().unwrap(), 1 << 20);
}

#[test]
fn backpressure_with_a_small_inbound_pipe() {
    let data = pattern(256 * 1024, 7);
    let sent = data.clone();
    let (addr, peer) = peer(move |mut stream| {
        stream.write_all(&sent).expect("peer write");
        stream.shutdown(Shutdown::Write).unwrap();
        read_to_end(&mut stream)
    });
    {
        let deadline = deadline();
        let (conn, task) = start(addr, duplex_with_inbound(1024));
        conn.with(|m| m.outbound_mut().close()).unwrap();

        let got = read_until_end(&conn, true, deadline);
        assert_eq!(got.len(), data.len());
        assert!(got == data, "bytes arrived out of order");
        join(task, deadline).expect("driver");
    }
    assert!(peer.join().unwrap().is_empty());
}

#[test]
fn half_close_keeps_the_read_side_open() {
    let (addr, peer) = peer(|mut stream| {
        let request = read_to_end(&mut stream); // the app's FIN ends this
        stream.write_all(b"reply after your FIN").unwrap();
        request
    });
    {
        let deadline = deadline();
        let (conn, task) = start(addr, Duplex::default());
        assert_eq!(write_some(&conn, b"request"), 7);
        conn.with(|m| m.outbound_mut().close()).unwrap();

        assert_eq!(
            read_until_end(&conn, false, deadline),
            b"reply after your FIN"
        );
        join(task, deadline).expect("driver");
        assert!(conn.driver_result().unwrap().is_ok());
    }
    assert_eq!(peer.join().unwrap(), b"request");
}

#[test]
fn timers_fire_at_the_machines_deadlines() {
    let (addr, peer) = peer(|mut stream| read_to_end(&mut stream));
    {
        let deadline = deadline();
        let begin = std::time::Instant::now();
        // The driver is already waiting on its socket when the command arms the timer.
        let (conn, task) = start(addr, Ticker::new(Duration::from_millis(20), 3));
        let started = conn.now();
        conn.command(()).unwrap();

        let mut ticks = Vec::new();
        while let Some(at) = next_event(&conn, deadline) {
            ticks.push(at);
            assert!(ticks.len() <= 3);
        }
        join(task, deadline).expect("driver");
        assert!(begin.elapsed() >= Duration::from_millis(60));
        assert_eq!(ticks.len(), 3);
        for (i, at) in ticks.iter().enumerate() {
            assert!(*at - started >= Duration::from_millis(20 * (i as u64 + 1)));
        }
    }
    assert_eq!(peer.join().unwrap(), b"***");
}

#[test]
fn a_reset_ends_the_driver() {
    let (addr, peer) = peer(|mut stream| {
        let mut buf = [0u8; 1024];
        let _ = stream.read(&mut buf);
        socket2::SockRef::from(&stream)
            .set_linger(Some(Duration::ZERO))
            .unwrap();
        // Dropping with unread data and linger 0 sends RST.
    });
    {
        let deadline = deadline();
        let (conn, task) = start(addr, Duplex::default());
        let data = pattern(4 << 20, 3);
        let mut sent = 0;
        for _ in 0..MAX_ROUNDS {
            if sent < data.len() {
                sent += write_some(&conn, &data[sent..]);
            }
            if next_event(&conn, deadline).is_none() {
                break;
            }
        }
        let result = join(task, deadline);
        let recorded = conn.driver_result().expect("the driver stopped");
        match (&result, &recorded) {
            (Err(a), Err(b)) => assert_eq!(a.kind(), b.kind()),
            (Ok(()), Ok(())) => {}
            _ => panic!("run returned {result:?} but recorded {recorded:?}"),
        }
    }
    peer.join().unwrap();
}
