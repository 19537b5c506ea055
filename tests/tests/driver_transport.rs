//! The generic async driver over a hand-written `Transport`: one that keeps a single waker
//! for both directions (the latest one it was given), as some wrappers do, must still have
//! its reads resumed when it wakes.

use std::collections::VecDeque;
use std::io;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use wirestate::core::chan::{ByteSink, ByteSource, Duplex, DuplexConfig, PipeConfig};
use wirestate::driver::{Connection, Driver, Timer, Transport};

#[derive(Default)]
struct Wire {
    inbound: VecDeque<u8>,
    /// The peer closed: reads return the end once `inbound` is empty.
    eof: bool,
    /// The one waker slot: the latest poll's, whatever the direction.
    waker: Option<Waker>,
}

struct OneSlot(Arc<Mutex<Wire>>);

impl Transport for OneSlot {
    fn poll_read(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        let mut wire = self.0.lock().unwrap();
        if wire.inbound.is_empty() {
            if wire.eof {
                return Poll::Ready(Ok(0));
            }
            wire.waker = Some(cx.waker().clone());
            return Poll::Pending;
        }
        let n = buf.len().min(wire.inbound.len());
        for (slot, byte) in buf.iter_mut().zip(wire.inbound.drain(..n)) {
            *slot = byte;
        }
        Poll::Ready(Ok(n))
    }

    fn poll_write(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.0.lock().unwrap().waker = Some(cx.waker().clone());
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(&mut self, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(&mut self, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

struct Never;

impl Timer for Never {
    fn reset(&mut self, _deadline: std::time::Instant) {}

    fn poll_expired(&mut self, _cx: &mut Context<'_>) -> Poll<()> {
        Poll::Pending
    }
}

/// Waits up to 5 s for `done`.
fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !done() {
        assert!(
            Instant::now() < deadline,
            "{what} did not happen within 5 s"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn a_single_waker_transport_still_gets_its_reads() {
    let pipe = PipeConfig::with_capacity(1024).auto_flush(true);
    let conn = Connection::new(Duplex::new(DuplexConfig {
        inbound: pipe,
        outbound: pipe,
        ..DuplexConfig::default()
    }));
    let wire = Arc::new(Mutex::new(Wire::default()));
    let driver = Driver::new(conn.clone(), OneSlot(Arc::clone(&wire)), Never);
    let task = std::thread::spawn(move || futures_lite::future::block_on(driver));
    // The driver's read came back Pending; then a write takes the transport's one slot.
    eventually("the first read", || wire.lock().unwrap().waker.is_some());
    wire.lock().unwrap().waker = None;
    conn.with(|m| m.outbound_mut().write(b"ping").unwrap());
    eventually("the write", || wire.lock().unwrap().waker.is_some());
    // The peer's bytes arrive, and the transport wakes the waker in its slot.
    let waker = {
        let mut wire = wire.lock().unwrap();
        wire.inbound.extend(b"hello");
        wire.waker.take().expect("a waker")
    };
    waker.wake();
    eventually("the read of the peer's bytes", || {
        conn.with(|m| m.inbound().available()) == 5
    });
    // Once both sides are done, the driver finishes.
    conn.with(|m| m.outbound_mut().close().unwrap());
    drop(conn);
    let waker = {
        let mut wire = wire.lock().unwrap();
        wire.eof = true;
        wire.waker.take()
    };
    waker.into_iter().for_each(Waker::wake);
    eventually("the driver's end", || task.is_finished());
}
