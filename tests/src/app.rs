//! The application's side of a driven connection: reads, writes and the loops around
//! them, written once for every runtime against [`Wait`].

use std::future::Future;
use std::io;
use std::time::Duration;

use wirestate::driver::Connection;
use wirestate_core::Machine;
use wirestate_core::chan::{ByteSink, ByteSource, Duplex, DuplexConfig, DuplexEvent, PipeConfig};

use crate::MAX_ROUNDS;

/// How an application loop waits on one runtime. A blocking implementation may block the
/// thread inside `poll` and never return `Pending`.
pub trait Wait {
    /// Waits for the next event of `conn`: `None` once its driver stopped and no events are
    /// left. By default, [`Connection::next_event`].
    fn next_event<M: Machine>(
        &self,
        conn: &Connection<M>,
    ) -> impl Future<Output = Option<M::Event>> {
        conn.next_event()
    }

    /// Pauses the application for `duration`.
    fn pause(&self, duration: Duration) -> impl Future<Output = ()>;
}

/// A `Duplex` with an inbound pipe of `capacity` bytes.
pub fn duplex_with_inbound(capacity: usize) -> Duplex {
    Duplex::new(DuplexConfig {
        inbound: PipeConfig::with_capacity(capacity),
        ..DuplexConfig::default()
    })
}

/// Writes as much of `data` as fits into the outbound pipe and flushes; returns the count.
pub fn write_some(conn: &Connection<Duplex>, data: &[u8]) -> usize {
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
pub fn read_some(conn: &Connection<Duplex>, out: &mut Vec<u8>, max: usize) -> Option<usize> {
    match conn.with(|m| m.inbound_mut().read_into_vec(out, max)) {
        Ok(n) => Some(n),
        Err(e) if e.is_blocked() => None,
        Err(e) => panic!("read: {e}"),
    }
}

/// Sends `data` and collects at least `expect` bytes back, reading and writing as room and
/// data allow, waiting for an event whenever neither can move.
pub async fn exchange(
    conn: &Connection<Duplex>,
    data: &[u8],
    expect: usize,
    wait: &impl Wait,
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
        if wait.next_event(conn).await.is_none() {
            panic!("driver stopped: {:?}", conn.driver_result());
        }
    }
    panic!("exchange did not finish");
}

/// Reads everything up to the end of the inbound pipe, `slowly` or not.
pub async fn read_until_end(conn: &Connection<Duplex>, slowly: bool, wait: &impl Wait) -> Vec<u8> {
    let mut got = Vec::new();
    for _ in 0..MAX_ROUNDS {
        match read_some(conn, &mut got, if slowly { 100 } else { 64 * 1024 }) {
            Some(0) => return got,
            Some(_) => {
                if slowly && got.len() % 8192 < 100 {
                    wait.pause(Duration::from_millis(1)).await;
                }
            }
            None => {
                if wait.next_event(conn).await.is_none() {
                    panic!("driver stopped before the end: {:?}", conn.driver_result());
                }
            }
        }
    }
    panic!("read did not finish");
}

/// Waits for the `ReadClosed` event.
pub async fn wait_read_closed(conn: &Connection<Duplex>, wait: &impl Wait) {
    for _ in 0..MAX_ROUNDS {
        match wait.next_event(conn).await {
            Some(DuplexEvent::ReadClosed) => return,
            Some(_) => {}
            None => panic!("driver stopped first: {:?}", conn.driver_result()),
        }
    }
    panic!("no ReadClosed");
}

/// Writes `data` as room allows until the driver stops (or [`MAX_ROUNDS`] events passed),
/// waiting for an event after every write.
pub async fn write_until_stopped(conn: &Connection<Duplex>, data: &[u8], wait: &impl Wait) {
    let mut sent = 0;
    for _ in 0..MAX_ROUNDS {
        if sent < data.len() {
            sent += write_some(conn, &data[sent..]);
        }
        if wait.next_event(conn).await.is_none() {
            break;
        }
    }
}

/// Collects every event until the driver stops, asserting that no more than `max` arrive.
pub async fn collect_events<M: Machine>(
    conn: &Connection<M>,
    max: usize,
    wait: &impl Wait,
) -> Vec<M::Event> {
    let mut events = Vec::new();
    while let Some(event) = wait.next_event(conn).await {
        events.push(event);
        assert!(events.len() <= max);
    }
    events
}

/// Asserts that what a driver's `run` returned and what the connection recorded agree:
/// both `Ok`, or both errors of the same kind.
#[track_caller]
pub fn assert_same_outcome(result: &io::Result<()>, recorded: &io::Result<()>) {
    match (result, recorded) {
        (Err(a), Err(b)) => assert_eq!(a.kind(), b.kind()),
        (Ok(()), Ok(())) => {}
        _ => panic!("run returned {result:?} but recorded {recorded:?}"),
    }
}
