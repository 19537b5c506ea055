//! Unit tests for the byte channels: [`Pipe`], [`LineReader`] and [`Duplex`].

use alloc::collections::VecDeque;
use alloc::string::ToString;
use alloc::vec;
use alloc::vec::Vec;
use core::fmt::Debug;

use bytes::Bytes;

use super::{ByteSink, ByteSource, TypedRead, TypedWrite};
use super::{
    Cause, ChannelError, DEFAULT_CAPACITY, DEFAULT_MAX_TRANSMIT, Delimited, Duplex, DuplexCommand,
    DuplexConfig, DuplexEvent, LineEnding, LineReader, Pipe, PipeConfig,
};
use crate::Machine;
use crate::time::Instant;

// ==== shared helpers ======================================================================

fn pipe(capacity: usize) -> Pipe {
    Pipe::new(PipeConfig::with_capacity(capacity))
}

fn auto_pipe(capacity: usize) -> Pipe {
    Pipe::new(PipeConfig::with_capacity(capacity).auto_flush(true))
}

/// Writes all of `data` and flushes; panics if it does not fit.
#[track_caller]
fn push(pipe: &mut Pipe, data: &[u8]) {
    assert_eq!(pipe.write(data).unwrap(), data.len(), "push did not fit");
    pipe.flush().unwrap();
}

/// The published bytes, without consuming them.
fn published(pipe: &Pipe) -> Vec<u8> {
    let (a, b) = pipe.readable().unwrap();
    [a, b].concat()
}

/// Reads every published byte.
fn drain(pipe: &mut Pipe) -> Vec<u8> {
    let mut out = Vec::new();
    let n = pipe.available();
    if n > 0 {
        pipe.read_into_vec(&mut out, n).unwrap();
    }
    out
}

#[track_caller]
fn assert_blocked<T: Debug>(result: Result<T, ChannelError>) {
    assert!(
        matches!(result, Err(ChannelError::Blocked)),
        "expected Blocked, got {result:?}"
    );
}

#[track_caller]
fn assert_cancelled<T: Debug>(result: Result<T, ChannelError>, cause: &str) {
    match result {
        Err(ChannelError::Cancelled(c)) => assert_eq!(c.to_string(), cause),
        other => panic!("expected Cancelled({cause}), got {other:?}"),
    }
}

#[track_caller]
fn assert_unexpected_eof<T: Debug>(
    result: Result<T, ChannelError>,
    needed: usize,
    available: usize,
) {
    match result {
        Err(ChannelError::UnexpectedEof {
            needed: n,
            available: a,
        }) => assert_eq!((n, a), (needed, available)),
        other => panic!("expected UnexpectedEof {{ {needed}, {available} }}, got {other:?}"),
    }
}

#[track_caller]
fn assert_min_exceeds<T: Debug>(result: Result<T, ChannelError>, min: usize, capacity: usize) {
    match result {
        Err(ChannelError::MinExceedsCapacity {
            min: m,
            capacity: c,
        }) => assert_eq!((m, c), (min, capacity)),
        other => panic!("expected MinExceedsCapacity {{ {min}, {capacity} }}, got {other:?}"),
    }
}

/// A tiny deterministic PRNG (Knuth's MMIX LCG), so the model tests are reproducible.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u32 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) as u32
    }

    /// Uniform-ish in `0..n` (`n > 0`).
    fn below(&mut self, n: usize) -> usize {
        self.next() as usize % n
    }
}

// ==== Pipe: allocation and configuration ==================================================

#[test]
fn new_pipe_allocates_nothing() {
    let p = Pipe::default();
    assert!(!p.is_allocated());
    assert_eq!(p.capacity(), DEFAULT_CAPACITY);
    assert!(!p.is_auto_flush());
    assert_eq!(p.available(), 0);
    assert_eq!(p.free_space(), DEFAULT_CAPACITY);
}

#[test]
fn calls_before_the_first_write_allocate_nothing() {
    let mut p = pipe(8);
    assert_eq!(p.write(&[]).unwrap(), 0);
    assert_eq!(p.flush().unwrap(), 0);
    assert_blocked(p.read(&mut [0; 4]));
    assert_blocked(p.has_content(1));
    p.shrink_if_empty();
    assert!(!p.is_allocated());
}

#[test]
fn first_write_allocates() {
    let mut p = pipe(8);
    p.write(b"a").unwrap();
    assert!(p.is_allocated());
}

#[test]
fn shrink_if_empty_releases_only_an_empty_ring() {
    let mut p = pipe(8);
    p.write(b"abc").unwrap();
    p.shrink_if_empty(); // unflushed bytes: must keep them
    assert!(p.is_allocated());
    p.flush().unwrap();
    p.shrink_if_empty(); // published, unread bytes: must keep them
    assert!(p.is_allocated());
    assert_eq!(drain(&mut p), b"abc");
    p.shrink_if_empty();
    assert!(!p.is_allocated());
    // The pipe works as before after giving its memory back.
    push(&mut p, b"xyz");
    assert!(p.is_allocated());
    assert_eq!(drain(&mut p), b"xyz");
}

#[test]
fn capacity_zero_is_clamped_to_one() {
    let literal = Pipe::new(PipeConfig {
        capacity: 0,
        auto_flush: false,
    });
    assert_eq!(literal.capacity(), 1);
    assert_eq!(PipeConfig::with_capacity(0).capacity, 1);

    let mut p = pipe(0);
    assert_eq!(p.capacity(), 1);
    assert_eq!(p.write(b"ab").unwrap(), 1);
    assert_blocked(p.write(b"b"));
    assert_eq!(drain(&mut p), b"a");
}

#[test]
fn config_builders() {
    assert_eq!(
        PipeConfig::default(),
        PipeConfig {
            capacity: DEFAULT_CAPACITY,
            auto_flush: false
        }
    );
    let config = PipeConfig::with_capacity(10).auto_flush(true);
    assert_eq!((config.capacity, config.auto_flush), (10, true));
    assert!(Pipe::new(config).is_auto_flush());
    assert!(!Pipe::new(config.auto_flush(false)).is_auto_flush());
}

// ==== Pipe: flush visibility ==============================================================

#[test]
fn written_bytes_are_invisible_until_flush() {
    let mut p = pipe(64);
    assert_eq!(p.write(b"hello").unwrap(), 5);
    assert_eq!(p.available(), 0);
    assert_eq!(p.unflushed(), 5);
    assert_blocked(p.read(&mut [0; 8]));
    assert_eq!(published(&p), b"");

    assert_eq!(p.flush().unwrap(), 5);
    assert_eq!(p.available(), 5);
    assert_eq!(p.unflushed(), 0);
    assert_eq!(drain(&mut p), b"hello");
}

#[test]
fn flush_returns_only_the_newly_published_count() {
    let mut p = pipe(64);
    p.write(b"ab").unwrap();
    assert_eq!(p.flush().unwrap(), 2);
    assert_eq!(p.flush().unwrap(), 0);
    p.write(b"cde").unwrap();
    assert_eq!(p.flush().unwrap(), 3);
    assert_eq!(p.available(), 5);
}

#[test]
fn unflushed_bytes_queue_behind_published_ones() {
    let mut p = pipe(64);
    push(&mut p, b"one");
    p.write(b"two").unwrap();
    let mut buf = [0u8; 16];
    assert_eq!(p.read(&mut buf).unwrap(), 3);
    assert_eq!(&buf[..3], b"one");
    assert_blocked(p.read(&mut buf));
    p.flush().unwrap();
    assert_eq!(drain(&mut p), b"two");
}

#[test]
fn auto_flush_publishes_every_write() {
    let mut p = auto_pipe(64);
    assert_eq!(p.write(b"a").unwrap(), 1);
    assert_eq!(p.available(), 1);
    p.write_u16(0x0203).unwrap();
    assert_eq!(p.available(), 3);
    p.write_slot().unwrap()[0] = 4;
    p.commit(1).unwrap();
    assert_eq!(p.available(), 4);
    assert_eq!(p.unflushed(), 0);
    assert_eq!(published(&p), [b'a', 2, 3, 4]);
}

#[test]
fn half_capacity_of_unflushed_bytes_publishes() {
    let mut p = pipe(64);
    p.write(&[0; 31]).unwrap();
    assert_eq!(p.available(), 0);
    p.write(&[0; 1]).unwrap();
    assert_eq!(p.available(), 32);
    assert_eq!(p.unflushed(), 0);
    // The threshold counts unflushed bytes only, not what is already published.
    p.write(&[0; 31]).unwrap();
    assert_eq!(p.available(), 32);
    assert_eq!(p.unflushed(), 31);
}

#[test]
fn half_capacity_threshold_rounds_down_for_odd_capacity() {
    let mut p = pipe(7);
    p.write(b"ab").unwrap();
    assert_eq!(p.available(), 0);
    p.write(b"c").unwrap();
    assert_eq!(p.available(), 3);
}

#[test]
fn one_byte_pipe_publishes_every_byte() {
    let mut p = pipe(1);
    p.write(b"x").unwrap();
    assert_eq!(p.available(), 1);
}

#[test]
fn a_single_large_write_crossing_the_threshold_publishes_all_of_it() {
    let mut p = pipe(10);
    assert_eq!(p.write(b"abcdefgh").unwrap(), 8);
    assert_eq!(p.available(), 8);
}

// ==== Pipe: backpressure ==================================================================

#[test]
fn write_returns_partial_count_when_nearly_full() {
    let mut p = pipe(8);
    assert_eq!(p.write(b"abcdef").unwrap(), 6);
    assert_eq!(p.free_space(), 2);
    assert_eq!(p.write(b"ghijk").unwrap(), 2);
    assert_eq!(p.free_space(), 0);
    p.flush().unwrap();
    assert_eq!(drain(&mut p), b"abcdefgh");
}

#[test]
fn write_to_a_full_pipe_is_blocked() {
    let mut p = pipe(4);
    p.write(b"abcd").unwrap();
    assert_blocked(p.write(b"e"));
    assert_eq!(p.total_written(), 4);
    // An empty write is never blocked.
    assert_eq!(p.write(b"").unwrap(), 0);
    // Reading makes room again.
    assert_eq!(p.discard(1).unwrap(), 1);
    assert_eq!(p.write(b"ef").unwrap(), 1);
    p.flush().unwrap();
    assert_eq!(drain(&mut p), b"bcde");
}

#[test]
fn read_of_an_empty_open_pipe_is_blocked() {
    let mut p = pipe(8);
    assert_blocked(p.read(&mut [0; 1]));
    push(&mut p, b"a");
    assert_eq!(drain(&mut p), b"a");
    assert_blocked(p.read(&mut [0; 1]));
}

#[test]
fn read_with_an_empty_buffer_returns_zero() {
    let mut p = pipe(8);
    assert_eq!(p.read(&mut []).unwrap(), 0);
    push(&mut p, b"a");
    assert_eq!(p.read(&mut []).unwrap(), 0);
    assert_eq!(p.available(), 1);
}

#[test]
fn read_copies_at_most_the_buffer_length() {
    let mut p = pipe(8);
    push(&mut p, b"abcdef");
    let mut buf = [0u8; 4];
    assert_eq!(p.read(&mut buf).unwrap(), 4);
    assert_eq!(&buf, b"abcd");
    assert_eq!(p.read(&mut buf).unwrap(), 2);
    assert_eq!(&buf[..2], b"ef");
}

// ==== Pipe: close =========================================================================

#[test]
fn close_publishes_unflushed_bytes() {
    let mut p = pipe(64);
    p.write(b"tail").unwrap();
    assert_eq!(p.available(), 0);
    p.close().unwrap();
    assert_eq!(p.available(), 4);
    assert_eq!(p.unflushed(), 0);
}

#[test]
fn reader_drains_after_close_then_sees_the_end() {
    let mut p = pipe(64);
    p.write(b"abc").unwrap();
    p.close().unwrap();
    assert!(p.is_closed_for_write());
    assert!(p.is_write_closed_gracefully());
    assert!(!p.is_closed_for_read());

    let mut buf = [0u8; 2];
    assert_eq!(p.read(&mut buf).unwrap(), 2);
    assert!(!p.is_closed_for_read());
    assert_eq!(p.read(&mut buf).unwrap(), 1);
    assert!(p.is_closed_for_read());
    assert_eq!(p.read(&mut buf).unwrap(), 0);
    assert_eq!(p.read(&mut buf).unwrap(), 0);
    assert_eq!(p.closed_cause().map(|c| c.to_string()), None);
}

#[test]
fn close_of_an_empty_pipe_ends_at_once() {
    let mut p = pipe(8);
    p.close().unwrap();
    assert!(p.is_closed_for_read());
    assert_eq!(p.read(&mut [0; 4]).unwrap(), 0);
    assert!(!p.is_allocated());
}

#[test]
fn write_after_close_is_closed_for_write() {
    let mut p = pipe(8);
    p.close().unwrap();
    assert!(matches!(p.write(b"x"), Err(ChannelError::ClosedForWrite)));
    assert!(matches!(p.write(b""), Err(ChannelError::ClosedForWrite)));
    assert!(matches!(p.write_u32(1), Err(ChannelError::ClosedForWrite)));
    assert!(matches!(p.write_slot(), Err(ChannelError::ClosedForWrite)));
    assert!(matches!(p.commit(0), Err(ChannelError::ClosedForWrite)));
    assert_eq!(p.free_space(), 0);
    assert_eq!(p.total_written(), 0);
}

#[test]
fn close_twice_and_flush_after_close_are_harmless() {
    let mut p = pipe(8);
    p.write(b"ab").unwrap();
    p.close().unwrap();
    p.close().unwrap();
    assert_eq!(p.flush().unwrap(), 0);
    assert_eq!(drain(&mut p), b"ab");
    assert_eq!(p.read(&mut [0; 1]).unwrap(), 0);
}

// ==== Pipe: cancel ========================================================================

#[test]
fn cancel_drops_buffered_bytes_and_memory() {
    let mut p = pipe(64);
    push(&mut p, b"published");
    p.write(b"unflushed").unwrap();
    p.cancel(Cause::message("boom"));
    assert_eq!(p.available(), 0);
    assert_eq!(p.unflushed(), 0);
    assert_eq!(p.free_space(), 0);
    assert!(!p.is_allocated());
    assert!(p.is_closed_for_read());
    assert!(p.is_closed_for_write());
    assert!(!p.is_write_closed_gracefully());
    assert_eq!(p.closed_cause().unwrap().to_string(), "boom");
}

#[test]
fn cancel_makes_every_read_side_call_report_the_cause() {
    let mut p = pipe(64);
    push(&mut p, b"data");
    p.cancel(Cause::message("boom"));
    let mut out = Vec::new();
    assert_cancelled(p.read(&mut [0; 4]), "boom");
    assert_cancelled(p.read(&mut []), "boom");
    assert_cancelled(p.read_into_vec(&mut out, 4), "boom");
    assert_cancelled(p.read_into_vec(&mut out, 0), "boom");
    assert_cancelled(p.discard(4), "boom");
    assert_cancelled(p.discard(0), "boom");
    assert_cancelled(p.has_content(1), "boom");
    assert_cancelled(p.has_content(0), "boom");
    assert_cancelled(p.peek(&mut [0; 2]), "boom");
    assert_cancelled(p.readable(), "boom");
    assert_cancelled(p.read_u8(), "boom");
    assert_cancelled(p.read_u64_le(), "boom");
    assert!(out.is_empty());
}

#[test]
fn cancel_makes_every_write_side_call_report_the_cause() {
    let mut p = pipe(64);
    p.cancel(Cause::message("boom"));
    assert_cancelled(p.write(b"x"), "boom");
    assert_cancelled(p.write(b""), "boom");
    assert_cancelled(p.write_i16(1), "boom");
    assert_cancelled(p.write_f64_le(1.0), "boom");
    assert_cancelled(p.write_slot(), "boom");
    assert_cancelled(p.commit(0), "boom");
    assert_cancelled(p.flush(), "boom");
    assert_cancelled(p.close(), "boom");
    assert_eq!(p.total_written(), 0);
    assert!(!p.is_allocated());
}

#[test]
fn second_cancel_keeps_the_first_cause() {
    let mut p = pipe(8);
    p.cancel(Cause::message("first"));
    p.cancel(Cause::message("second"));
    assert_eq!(p.closed_cause().unwrap().to_string(), "first");
    assert_cancelled(p.read(&mut [0; 1]), "first");
    assert_cancelled(p.write(b"x"), "first");
}

#[test]
fn cancel_after_close_drops_the_undrained_bytes() {
    let mut p = pipe(8);
    p.write(b"abc").unwrap();
    p.close().unwrap();
    p.cancel(Cause::message("reader gave up"));
    assert_cancelled(p.read(&mut [0; 4]), "reader gave up");
    assert_cancelled(p.write(b"x"), "reader gave up");
    assert!(!p.is_write_closed_gracefully());
}

#[test]
fn close_after_cancel_reports_cancelled() {
    let mut p = pipe(8);
    p.cancel(Cause::message("boom"));
    assert_cancelled(p.close(), "boom");
    // The failed close did not turn the cancellation into a graceful close.
    assert!(!p.is_write_closed_gracefully());
    assert_cancelled(p.read(&mut [0; 1]), "boom");
}

#[derive(Debug)]
struct Custom(u32);

impl core::fmt::Display for Custom {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "custom {}", self.0)
    }
}

impl core::error::Error for Custom {}

#[test]
fn cancel_cause_keeps_the_original_error() {
    use core::error::Error;

    let mut p = pipe(8);
    p.cancel(Cause::new(Custom(7)));
    let err = p.read(&mut [0; 1]).unwrap_err();
    assert_eq!(err.to_string(), "channel was cancelled: custom 7");
    let source = err.source().expect("Cancelled has a source");
    assert_eq!(source.downcast_ref::<Custom>().map(|c| c.0), Some(7));
    match err {
        ChannelError::Cancelled(cause) => {
            assert_eq!(cause.error().downcast_ref::<Custom>().unwrap().0, 7);
            assert_eq!(alloc::format!("{cause:?}"), "Custom(7)");
            assert!(cause.into_inner().downcast_ref::<Custom>().is_some());
        }
        other => panic!("expected Cancelled, got {other:?}"),
    }
}

#[test]
fn channel_error_helpers() {
    assert!(ChannelError::Blocked.is_blocked());
    assert!(!ChannelError::ClosedForWrite.is_blocked());
    assert!(core::error::Error::source(&ChannelError::Blocked).is_none());
    assert_eq!(
        ChannelError::UnexpectedEof {
            needed: 4,
            available: 1
        }
        .to_string(),
        "channel ended with 1 of 4 needed bytes"
    );
    assert_eq!(
        ChannelError::TooLongLine { limit: 9 }.to_string(),
        "line exceeds the limit of 9 bytes"
    );
}

// ==== Pipe: model-based wrap-around =======================================================

/// What a pipe should hold: the bytes in order and how many of them are published.
struct Model {
    bytes: VecDeque<u8>,
    published: usize,
    capacity: usize,
    auto_flush: bool,
    written: u64,
    read: u64,
}

impl Model {
    fn free(&self) -> usize {
        self.capacity - self.bytes.len()
    }

    fn unflushed(&self) -> usize {
        self.bytes.len() - self.published
    }

    fn wrote(&mut self, data: &[u8]) {
        self.bytes.extend(data);
        self.written += data.len() as u64;
        if self.auto_flush || self.unflushed() >= (self.capacity / 2).max(1) {
            self.published = self.bytes.len();
        }
    }

    fn take(&mut self, n: usize) -> Vec<u8> {
        self.published -= n;
        self.read += n as u64;
        self.bytes.drain(..n).collect()
    }

    fn peek(&self, n: usize) -> Vec<u8> {
        self.bytes.iter().take(n).copied().collect()
    }
}

/// Runs `ops` random operations against a pipe and the model, comparing after each.
fn run_model(capacity: usize, auto_flush: bool, seed: u64, ops: usize) {
    let mut rng = Lcg(seed);
    let mut p = Pipe::new(PipeConfig::with_capacity(capacity).auto_flush(auto_flush));
    let mut m = Model {
        bytes: VecDeque::new(),
        published: 0,
        capacity,
        auto_flush,
        written: 0,
        read: 0,
    };
    let mut next_byte = 0u8;
    let mut fresh = |len: usize| -> Vec<u8> {
        (0..len)
            .map(|_| {
                next_byte = next_byte.wrapping_add(1);
                next_byte
            })
            .collect()
    };

    for op in 0..ops {
        match rng.below(10) {
            0 | 1 => {
                let data = fresh(rng.below(capacity + 3));
                let expected = data.len().min(m.free());
                match p.write(&data) {
                    Ok(n) => {
                        assert_eq!(n, expected, "op {op}: write count");
                        m.wrote(&data[..n]);
                    }
                    Err(ChannelError::Blocked) => {
                        assert!(!data.is_empty() && m.free() == 0, "op {op}: bad Blocked")
                    }
                    Err(e) => panic!("op {op}: write failed: {e:?}"),
                }
            }
            2 => {
                let free = m.free();
                let slot = p.write_slot().unwrap();
                assert!(slot.len() <= free, "op {op}: slot larger than free space");
                assert_eq!(slot.is_empty(), free == 0, "op {op}: slot empty iff full");
                let k = rng.below(slot.len() + 1);
                let data = fresh(k);
                slot[..k].copy_from_slice(&data);
                p.commit(k).unwrap();
                m.wrote(&data);
            }
            3 => {
                let newly = m.unflushed();
                assert_eq!(p.flush().unwrap(), newly, "op {op}: flush count");
                m.published = m.bytes.len();
            }
            4 | 5 => {
                let mut buf = vec![0u8; rng.below(capacity + 3)];
                match p.read(&mut buf) {
                    Ok(n) => {
                        assert_eq!(n, buf.len().min(m.published), "op {op}: read count");
                        assert_eq!(buf[..n], m.take(n)[..], "op {op}: read bytes");
                    }
                    Err(ChannelError::Blocked) => {
                        assert!(!buf.is_empty() && m.published == 0, "op {op}: bad Blocked")
                    }
                    Err(e) => panic!("op {op}: read failed: {e:?}"),
                }
            }
            6 => {
                if m.published > 0 {
                    let mut buf = vec![0u8; 1 + rng.below(m.published)];
                    p.peek(&mut buf).unwrap();
                    assert_eq!(buf, m.peek(buf.len()), "op {op}: peek");
                    let n = rng.below(m.published + 1);
                    assert_eq!(p.discard(n).unwrap(), n, "op {op}: discard");
                    m.take(n);
                }
            }
            7 => match p.write_u16(u16::from_be_bytes([0xA5, 0x5A])) {
                Ok(()) => m.wrote(&[0xA5, 0x5A]),
                Err(ChannelError::Blocked) => assert!(m.free() < 2, "op {op}: bad Blocked"),
                Err(ChannelError::MinExceedsCapacity { .. }) => assert!(capacity < 2),
                Err(e) => panic!("op {op}: write_u16 failed: {e:?}"),
            },
            8 => match p.read_u16() {
                Ok(v) => assert_eq!(v.to_be_bytes().to_vec(), m.take(2), "op {op}: read_u16"),
                Err(ChannelError::Blocked) => assert!(m.published < 2, "op {op}: bad Blocked"),
                Err(ChannelError::MinExceedsCapacity { .. }) => assert!(capacity < 2),
                Err(e) => panic!("op {op}: read_u16 failed: {e:?}"),
            },
            _ => {
                let mut out = Vec::new();
                let max = rng.below(capacity + 1) + 1;
                match p.read_into_vec(&mut out, max) {
                    Ok(n) => assert_eq!(out, m.take(n.min(max)), "op {op}: read_into_vec"),
                    Err(ChannelError::Blocked) => assert_eq!(m.published, 0, "op {op}"),
                    Err(e) => panic!("op {op}: read_into_vec failed: {e:?}"),
                }
            }
        }
        assert_eq!(p.available(), m.published, "op {op}: available");
        assert_eq!(p.unflushed(), m.unflushed(), "op {op}: unflushed");
        assert_eq!(p.free_space(), m.free(), "op {op}: free space");
        assert_eq!(p.total_written(), m.written, "op {op}: total written");
        assert_eq!(p.total_read(), m.read, "op {op}: total read");
        assert_eq!(
            published(&p),
            m.peek(m.published),
            "op {op}: readable slices"
        );
    }

    // Close and drain: everything left comes out in order, then the end.
    p.close().unwrap();
    m.published = m.bytes.len();
    let rest = m.take(m.published);
    assert_eq!(drain(&mut p), rest);
    assert_eq!(p.read(&mut [0; 1]).unwrap(), 0);
    assert_eq!(p.total_written(), p.total_read());
}

#[test]
fn random_ops_match_a_vecdeque_model_capacity_1() {
    run_model(1, false, 1, 4000);
    run_model(1, true, 2, 1000);
}

#[test]
fn random_ops_match_a_vecdeque_model_capacity_7() {
    run_model(7, false, 3, 4000);
    run_model(7, true, 4, 2000);
}

#[test]
fn random_ops_match_a_vecdeque_model_capacity_64() {
    run_model(64, false, 5, 5000);
    run_model(64, true, 6, 2000);
}

#[test]
fn readable_exposes_wrapped_bytes_as_two_slices() {
    let mut p = pipe(8);
    push(&mut p, b"xxxxxab");
    p.discard(5).unwrap();
    push(&mut p, b"cdef"); // lands at 7, 0, 1, 2
    let (a, b) = p.readable().unwrap();
    assert_eq!((a, b), (&b"abc"[..], &b"def"[..]));
    let mut buf = [0u8; 6];
    p.peek(&mut buf).unwrap();
    assert_eq!(&buf, b"abcdef");
    assert_eq!(drain(&mut p), b"abcdef");
}

// ==== Pipe: write_slot / commit ===========================================================

#[test]
fn write_slot_and_commit_write_in_place() {
    let mut p = pipe(8);
    let slot = p.write_slot().unwrap();
    assert_eq!(slot.len(), 8);
    slot[..3].copy_from_slice(b"abc");
    p.commit(3).unwrap();
    assert_eq!(p.total_written(), 3);
    assert_eq!(p.unflushed(), 3);
    assert_eq!(p.available(), 0);
    p.flush().unwrap();
    assert_eq!(drain(&mut p), b"abc");
}

#[test]
fn write_slot_stops_at_the_wrap_point() {
    let mut p = pipe(8);
    push(&mut p, b"abcdef");
    p.discard(4).unwrap();
    // Head at 4, tail at 6: the contiguous slot is 6..8, not all 6 free bytes.
    let slot = p.write_slot().unwrap();
    assert_eq!(slot.len(), 2);
    slot.copy_from_slice(b"gh");
    p.commit(2).unwrap();
    let slot = p.write_slot().unwrap();
    assert_eq!(slot.len(), 4);
    slot.copy_from_slice(b"ijkl");
    p.commit(4).unwrap();
    assert!(p.write_slot().unwrap().is_empty());
    p.flush().unwrap();
    assert_eq!(drain(&mut p), b"efghijkl");
}

#[test]
fn write_slot_is_empty_when_full() {
    let mut p = pipe(4);
    p.write(b"abcd").unwrap();
    assert!(p.write_slot().unwrap().is_empty());
    p.commit(0).unwrap();
    assert_eq!(p.total_written(), 4);
}

#[test]
fn commit_counts_towards_the_half_capacity_threshold() {
    let mut p = pipe(8);
    p.write_slot().unwrap()[..3].copy_from_slice(b"abc");
    p.commit(3).unwrap();
    assert_eq!(p.available(), 0);
    p.write_slot().unwrap()[0] = b'd';
    p.commit(1).unwrap();
    assert_eq!(p.available(), 4);
}

#[test]
#[should_panic(expected = "commit past the free space")]
fn commit_past_the_free_space_panics() {
    let mut p = pipe(4);
    p.write(b"abc").unwrap();
    let _ = p.commit(2);
}

#[test]
#[should_panic(expected = "consume past the published bytes")]
fn consume_past_the_published_bytes_panics() {
    let mut p = pipe(8);
    push(&mut p, b"ab");
    p.write(b"cd").unwrap();
    p.consume(3);
}

// ==== Pipe: counters ======================================================================

#[test]
fn counters_track_written_and_read_bytes() {
    let mut p = pipe(8);
    p.write(b"abcdef").unwrap();
    p.write(b"ghij").unwrap(); // only 2 fit
    assert_eq!(p.total_written(), 8);
    p.flush().unwrap();
    p.read(&mut [0; 3]).unwrap();
    assert_eq!(p.total_read(), 3);
    p.discard(2).unwrap();
    assert_eq!(p.total_read(), 5);
    p.read_u16().unwrap();
    assert_eq!(p.total_read(), 7);
    p.read_into_vec(&mut Vec::new(), 10).unwrap();
    assert_eq!(p.total_read(), 8);
    // Peeking and failed operations count nothing.
    p.write_u32(7).unwrap();
    p.flush().unwrap();
    p.peek(&mut [0; 4]).unwrap();
    assert_blocked(p.read_u64());
    assert_eq!((p.total_written(), p.total_read()), (12, 8));
}

#[test]
fn counters_survive_cancel() {
    let mut p = pipe(8);
    push(&mut p, b"abcd");
    p.discard(1).unwrap();
    p.cancel(Cause::message("x"));
    assert_eq!((p.total_written(), p.total_read()), (4, 1));
}

// ==== Pipe: has_content / peek / discard / read_into_vec ==================================

#[test]
fn has_content_is_true_when_enough_bytes_are_published() {
    let mut p = pipe(8);
    push(&mut p, b"abc");
    assert!(p.has_content(0).unwrap());
    assert!(p.has_content(1).unwrap());
    assert!(p.has_content(3).unwrap());
    assert_blocked(p.has_content(4));
}

#[test]
fn has_content_ignores_unflushed_bytes() {
    let mut p = pipe(8);
    p.write(b"abc").unwrap();
    assert_blocked(p.has_content(1));
    p.flush().unwrap();
    assert!(p.has_content(3).unwrap());
}

#[test]
fn has_content_is_false_at_the_end() {
    let mut p = pipe(8);
    p.write(b"ab").unwrap();
    p.close().unwrap();
    assert!(p.has_content(2).unwrap());
    assert!(!p.has_content(3).unwrap());
    p.discard(2).unwrap();
    assert!(!p.has_content(1).unwrap());
}

#[test]
fn has_content_above_capacity_is_refused() {
    let mut p = pipe(8);
    assert!(p.has_content(8).is_err_and(|e| e.is_blocked()));
    assert_min_exceeds(p.has_content(9), 9, 8);
    p.close().unwrap();
    assert_min_exceeds(p.has_content(9), 9, 8);
}

#[test]
fn peek_does_not_consume() {
    let mut p = pipe(8);
    push(&mut p, b"abcd");
    let mut buf = [0u8; 3];
    p.peek(&mut buf).unwrap();
    assert_eq!(&buf, b"abc");
    p.peek(&mut buf).unwrap();
    assert_eq!(&buf, b"abc");
    assert_eq!(p.available(), 4);
    assert_eq!(p.total_read(), 0);
    p.peek(&mut []).unwrap();
}

#[test]
fn peek_of_more_than_published_is_blocked_while_open() {
    let mut p = pipe(8);
    push(&mut p, b"ab");
    p.write(b"c").unwrap();
    assert_blocked(p.peek(&mut [0; 3]));
}

#[test]
fn peek_past_the_end_is_unexpected_eof() {
    let mut p = pipe(8);
    p.write(b"ab").unwrap();
    p.close().unwrap();
    assert_unexpected_eof(p.peek(&mut [0; 3]), 3, 2);
    assert_eq!(p.available(), 2);
}

#[test]
fn peek_above_capacity_is_refused() {
    let p = pipe(2);
    assert_min_exceeds(p.peek(&mut [0; 3]), 3, 2);
}

#[test]
fn discard_drops_up_to_max_published_bytes() {
    let mut p = pipe(8);
    assert_blocked(p.discard(1));
    assert_eq!(p.discard(0).unwrap(), 0);
    push(&mut p, b"abcdef");
    p.write(b"g").unwrap();
    assert_eq!(p.discard(2).unwrap(), 2);
    assert_eq!(p.discard(100).unwrap(), 4); // stops at the published bytes
    assert_blocked(p.discard(1));
    p.close().unwrap();
    assert_eq!(p.discard(100).unwrap(), 1);
    assert_eq!(p.discard(100).unwrap(), 0);
}

#[test]
fn read_into_vec_appends_up_to_max() {
    let mut p = pipe(8);
    let mut out = b"pre:".to_vec();
    assert_blocked(p.read_into_vec(&mut out, 4));
    push(&mut p, b"abcdef");
    assert_eq!(p.read_into_vec(&mut out, 4).unwrap(), 4);
    assert_eq!(p.read_into_vec(&mut out, 0).unwrap(), 0);
    assert_eq!(out, b"pre:abcd");
    assert_eq!(p.read_into_vec(&mut out, 100).unwrap(), 2);
    assert_eq!(out, b"pre:abcdef");
    p.close().unwrap();
    assert_eq!(p.read_into_vec(&mut out, 100).unwrap(), 0);
    assert_eq!(out, b"pre:abcdef");
}

#[test]
fn read_into_vec_joins_wrapped_slices() {
    let mut p = pipe(4);
    push(&mut p, b"xab");
    p.discard(1).unwrap();
    push(&mut p, b"cd"); // wraps
    let mut out = Vec::new();
    assert_eq!(p.read_into_vec(&mut out, 4).unwrap(), 4);
    assert_eq!(out, b"abcd");
}

// ==== Pipe: typed reads and writes ========================================================

/// For each type: the BE write has exactly the given layout, the LE write its reverse, and
/// both read back to the value.
macro_rules! typed_round_trip {
    ($($name:ident: $ty:ty = $value:expr => $be:expr,
        $write:ident / $read:ident, $write_le:ident / $read_le:ident;)*) => {$(
        #[test]
        fn $name() {
            let value: $ty = $value;
            let be: &[u8] = &$be;
            let le: Vec<u8> = be.iter().rev().copied().collect();
            let mut p = pipe(16);

            p.$write(value).unwrap();
            p.flush().unwrap();
            assert_eq!(published(&p), be, "big-endian layout");
            assert_eq!(p.$read().unwrap().to_be_bytes(), value.to_be_bytes());
            assert_eq!(p.available(), 0);

            p.$write_le(value).unwrap();
            p.flush().unwrap();
            assert_eq!(published(&p), le, "little-endian layout");
            assert_eq!(p.$read_le().unwrap().to_be_bytes(), value.to_be_bytes());
            assert_eq!(p.available(), 0);
            assert_eq!(p.total_written(), 2 * be.len() as u64);
            assert_eq!(p.total_read(), 2 * be.len() as u64);
        }
    )*};
}

typed_round_trip! {
    typed_u16: u16 = 0x0102 => [0x01, 0x02], write_u16 / read_u16, write_u16_le / read_u16_le;
    typed_i16: i16 = -2 => [0xFF, 0xFE], write_i16 / read_i16, write_i16_le / read_i16_le;
    typed_u32: u32 = 0x0102_0304 => [0x01, 0x02, 0x03, 0x04],
        write_u32 / read_u32, write_u32_le / read_u32_le;
    typed_i32: i32 = -0x0102_0304 => [0xFE, 0xFD, 0xFC, 0xFC],
        write_i32 / read_i32, write_i32_le / read_i32_le;
    typed_u64: u64 = 0x0102_0304_0506_0708 => [1, 2, 3, 4, 5, 6, 7, 8],
        write_u64 / read_u64, write_u64_le / read_u64_le;
    typed_i64: i64 = -2 => [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFE],
        write_i64 / read_i64, write_i64_le / read_i64_le;
    typed_f32: f32 = 1.5 => [0x3F, 0xC0, 0x00, 0x00],
        write_f32 / read_f32, write_f32_le / read_f32_le;
    typed_f64: f64 = -2.5 => [0xC0, 0x04, 0, 0, 0, 0, 0, 0],
        write_f64 / read_f64, write_f64_le / read_f64_le;
}

#[test]
fn typed_u8_and_i8() {
    let mut p = pipe(4);
    p.write_u8(0xAB).unwrap();
    p.write_i8(-2).unwrap();
    p.flush().unwrap();
    assert_eq!(published(&p), [0xAB, 0xFE]);
    assert_eq!(p.read_u8().unwrap(), 0xAB);
    assert_eq!(p.read_i8().unwrap(), -2);
    assert_blocked(p.read_u8());
}

#[test]
fn typed_extremes_round_trip() {
    let mut p = pipe(64);
    p.write_i64(i64::MIN).unwrap();
    p.write_i64_le(i64::MAX).unwrap();
    p.write_u32(u32::MAX).unwrap();
    p.write_f64(f64::INFINITY).unwrap();
    p.write_f32_le(f32::NAN).unwrap();
    p.flush().unwrap();
    assert_eq!(p.read_i64().unwrap(), i64::MIN);
    assert_eq!(p.read_i64_le().unwrap(), i64::MAX);
    assert_eq!(p.read_u32().unwrap(), u32::MAX);
    assert_eq!(p.read_f64().unwrap(), f64::INFINITY);
    assert!(p.read_f32_le().unwrap().is_nan());
}

#[test]
fn big_endian_value_read_as_little_endian_is_byte_swapped() {
    let mut p = pipe(16);
    p.write_u32(0x0102_0304).unwrap();
    p.write_u16_le(0x0102).unwrap();
    p.flush().unwrap();
    assert_eq!(p.read_u32_le().unwrap(), 0x0403_0201);
    assert_eq!(p.read_u16().unwrap(), 0x0201);
}

#[test]
fn read_array_takes_exactly_n_bytes() {
    let mut p = pipe(8);
    push(&mut p, b"abcde");
    assert_eq!(p.read_array::<3>().unwrap(), *b"abc");
    assert_eq!(p.read_array::<0>().unwrap(), []);
    assert_eq!(p.available(), 2);
}

#[test]
fn typed_read_with_too_few_bytes_is_blocked_and_consumes_nothing() {
    let mut p = pipe(16);
    push(&mut p, &[1, 2, 3]);
    assert_blocked(p.read_u32());
    assert_blocked(p.read_u32_le());
    assert_blocked(p.read_array::<4>());
    assert_eq!(p.available(), 3);
    assert_eq!(p.total_read(), 0);
    push(&mut p, &[4]);
    assert_eq!(p.read_u32().unwrap(), 0x0102_0304);
}

#[test]
fn typed_read_of_an_unflushed_value_is_blocked() {
    let mut p = pipe(64);
    p.write_u64(42).unwrap();
    assert_blocked(p.read_u64());
    p.flush().unwrap();
    assert_eq!(p.read_u64().unwrap(), 42);
}

#[test]
fn typed_read_at_eof_with_a_partial_value_is_unexpected_eof() {
    let mut p = pipe(16);
    p.write(&[1, 2, 3]).unwrap();
    p.close().unwrap();
    assert_unexpected_eof(p.read_u32(), 4, 3);
    assert_unexpected_eof(p.read_f64_le(), 8, 3);
    // Nothing was consumed: the bytes can still be read another way.
    assert_eq!(p.read_u16().unwrap(), 0x0102);
    assert_unexpected_eof(p.read_u16(), 2, 1);
    assert_eq!(p.read_u8().unwrap(), 3);
    assert_unexpected_eof(p.read_u8(), 1, 0);
}

#[test]
fn read_array_larger_than_capacity_is_refused() {
    let mut p = pipe(4);
    assert_min_exceeds(p.read_u64(), 8, 4);
    assert_min_exceeds(p.read_array::<5>(), 5, 4);
}

#[test]
fn write_array_larger_than_capacity_is_refused() {
    let mut p = pipe(2);
    assert_min_exceeds(p.write_u32(1), 4, 2);
    assert_min_exceeds(p.write_f64_le(1.0), 8, 2);
    assert_eq!(p.total_written(), 0);
    assert!(!p.is_allocated());
    p.write_u16(0x0102).unwrap();
}

#[test]
fn write_array_without_room_is_blocked_and_writes_nothing() {
    let mut p = pipe(8);
    p.write(b"abcdef").unwrap();
    assert_blocked(p.write_u32(0xFFFF_FFFF));
    assert_blocked(p.write_i64_le(-1));
    assert_eq!(p.free_space(), 2);
    assert_eq!(p.total_written(), 6);
    p.write_u16(0x0102).unwrap();
    p.flush().unwrap();
    assert_eq!(drain(&mut p), [b'a', b'b', b'c', b'd', b'e', b'f', 1, 2]);
}

#[test]
fn typed_values_survive_the_wrap_point() {
    let mut p = pipe(8);
    push(&mut p, b"xxxxxx");
    p.discard(5).unwrap(); // head at 5, one byte left
    p.write_u32(0x0A0B_0C0D).unwrap(); // bytes at 6, 7, 0, 1
    p.write_u16_le(0x0E0F).unwrap(); // bytes at 2, 3
    p.flush().unwrap();
    assert_eq!(p.read_u8().unwrap(), b'x');
    assert_eq!(p.read_u32().unwrap(), 0x0A0B_0C0D);
    assert_eq!(p.read_u16_le().unwrap(), 0x0E0F);
}

#[test]
fn mixed_typed_sequence_round_trips() {
    let mut p = pipe(64);
    p.write_u8(7).unwrap();
    p.write_i16_le(-300).unwrap();
    p.write_u32(123_456).unwrap();
    p.write_f32(-0.25).unwrap();
    p.write_i64_le(-9_876_543_210).unwrap();
    p.write_f64_le(core::f64::consts::PI).unwrap();
    p.close().unwrap();
    assert_eq!(p.read_u8().unwrap(), 7);
    assert_eq!(p.read_i16_le().unwrap(), -300);
    assert_eq!(p.read_u32().unwrap(), 123_456);
    assert_eq!(p.read_f32().unwrap().to_bits(), (-0.25f32).to_bits());
    assert_eq!(p.read_i64_le().unwrap(), -9_876_543_210);
    assert_eq!(
        p.read_f64_le().unwrap().to_bits(),
        core::f64::consts::PI.to_bits()
    );
    assert_unexpected_eof(p.read_u8(), 1, 0);
}

// ==== LineReader ==========================================================================

const LF: LineEnding = LineEnding::Default;
const LENIENT: LineEnding = LineEnding::Lenient;

/// One `read_line` into a fresh buffer. On error, checks that nothing leaked into `out`.
fn line(
    reader: &mut LineReader,
    pipe: &mut Pipe,
    limit: usize,
    ending: LineEnding,
) -> Result<(Delimited, Vec<u8>), ChannelError> {
    let mut out = Vec::new();
    match reader.read_line(pipe, &mut out, limit, ending) {
        Ok(d) => Ok((d, out)),
        Err(e) => {
            assert!(
                out.is_empty(),
                "read_line wrote {out:?} and failed with {e:?}"
            );
            Err(e)
        }
    }
}

/// Same as [`line`] for `read_until`.
fn until(
    reader: &mut LineReader,
    pipe: &mut Pipe,
    delimiter: u8,
    limit: usize,
) -> Result<(Delimited, Vec<u8>), ChannelError> {
    let mut out = Vec::new();
    match reader.read_until(pipe, delimiter, &mut out, limit) {
        Ok(d) => Ok((d, out)),
        Err(e) => {
            assert!(
                out.is_empty(),
                "read_until wrote {out:?} and failed with {e:?}"
            );
            Err(e)
        }
    }
}

#[track_caller]
fn assert_found(result: Result<(Delimited, Vec<u8>), ChannelError>, expected: &[u8]) {
    match result {
        Ok((Delimited::Found(n), out)) => {
            assert_eq!(out, expected, "line content");
            assert_eq!(n, expected.len(), "reported length");
        }
        other => panic!("expected Found({expected:?}), got {other:?}"),
    }
}

#[track_caller]
fn assert_eof_line(result: Result<(Delimited, Vec<u8>), ChannelError>, expected: &[u8]) {
    match result {
        Ok((Delimited::Eof(n), out)) => {
            assert_eq!(out, expected, "line content");
            assert_eq!(n, expected.len(), "reported length");
        }
        other => panic!("expected Eof({expected:?}), got {other:?}"),
    }
}

#[track_caller]
fn assert_end(result: Result<(Delimited, Vec<u8>), ChannelError>) {
    match result {
        Ok((Delimited::End, out)) => assert!(out.is_empty()),
        other => panic!("expected End, got {other:?}"),
    }
}

#[track_caller]
fn assert_too_long<T: Debug>(result: Result<T, ChannelError>, limit: usize) {
    match result {
        Err(ChannelError::TooLongLine { limit: l }) => assert_eq!(l, limit),
        other => panic!("expected TooLongLine {{ {limit} }}, got {other:?}"),
    }
}

/// Reads every complete line (until `Blocked` or the end).
fn all_lines(reader: &mut LineReader, pipe: &mut Pipe, ending: LineEnding) -> Vec<Vec<u8>> {
    let mut lines = Vec::new();
    loop {
        match line(reader, pipe, 1024, ending) {
            Ok((Delimited::Found(_) | Delimited::Eof(_), l)) => lines.push(l),
            Ok((Delimited::End, _)) | Err(ChannelError::Blocked) => return lines,
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
}

#[test]
fn new_line_reader_holds_nothing() {
    let r = LineReader::new();
    assert_eq!(r.pending(), 0);
    assert_eq!(LineReader::default().pending(), 0);
    assert_eq!(LineEnding::default(), LineEnding::Default);
}

#[test]
fn lf_ends_a_line() {
    let mut p = pipe(64);
    let mut r = LineReader::new();
    push(&mut p, b"hello\nworld\n");
    assert_found(line(&mut r, &mut p, 100, LF), b"hello");
    assert_found(line(&mut r, &mut p, 100, LF), b"world");
    assert_blocked(line(&mut r, &mut p, 100, LF));
    assert_eq!(p.available(), 0);
}

#[test]
fn crlf_ends_a_line_in_default_mode() {
    let mut p = pipe(64);
    let mut r = LineReader::new();
    push(&mut p, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_found(line(&mut r, &mut p, 100, LF), b"GET / HTTP/1.1");
    assert_found(line(&mut r, &mut p, 100, LF), b"Host: x");
    assert_found(line(&mut r, &mut p, 100, LF), b"");
    assert_eq!(p.available(), 0);
}

#[test]
fn lone_cr_is_data_in_default_mode() {
    let mut p = pipe(64);
    let mut r = LineReader::new();
    push(&mut p, b"a\rb\r\rc\n");
    assert_found(line(&mut r, &mut p, 100, LF), b"a\rb\r\rc");
}

#[test]
fn only_the_cr_right_before_lf_is_stripped() {
    let mut p = pipe(64);
    let mut r = LineReader::new();
    push(&mut p, b"a\r\r\n");
    assert_found(line(&mut r, &mut p, 100, LF), b"a\r");
}

#[test]
fn read_line_appends_to_the_output() {
    let mut p = pipe(64);
    let mut r = LineReader::new();
    push(&mut p, b"two\n");
    let mut out = b"one,".to_vec();
    assert_eq!(
        r.read_line(&mut p, &mut out, 3, LF).unwrap(),
        Delimited::Found(3)
    );
    assert_eq!(out, b"one,two");
}

#[test]
fn lenient_lone_cr_ends_a_line() {
    let mut p = pipe(64);
    let mut r = LineReader::new();
    push(&mut p, b"a\rb\nc\r");
    assert_found(line(&mut r, &mut p, 100, LENIENT), b"a");
    assert_found(line(&mut r, &mut p, 100, LENIENT), b"b");
    assert_found(line(&mut r, &mut p, 100, LENIENT), b"c");
}

#[test]
fn lenient_crlf_is_one_ending() {
    let mut p = pipe(64);
    let mut r = LineReader::new();
    push(&mut p, b"a\r\nb\r\n");
    assert_found(line(&mut r, &mut p, 100, LENIENT), b"a");
    assert_found(line(&mut r, &mut p, 100, LENIENT), b"b");
    assert_blocked(line(&mut r, &mut p, 100, LENIENT));
    assert_eq!(p.available(), 0);
}

#[test]
fn lenient_crlf_split_across_chunks_swallows_the_lf() {
    let mut p = pipe(64);
    let mut r = LineReader::new();
    push(&mut p, b"a\r");
    // The CR ends the line at once; the LF, when it comes, belongs to it.
    assert_found(line(&mut r, &mut p, 100, LENIENT), b"a");
    assert_blocked(line(&mut r, &mut p, 100, LENIENT));
    push(&mut p, b"\nb\n");
    assert_found(line(&mut r, &mut p, 100, LENIENT), b"b");
    assert_blocked(line(&mut r, &mut p, 100, LENIENT));
}

#[test]
fn lenient_lf_arriving_alone_after_a_cr_is_swallowed() {
    let mut p = pipe(64);
    let mut r = LineReader::new();
    push(&mut p, b"a\r");
    assert_found(line(&mut r, &mut p, 100, LENIENT), b"a");
    push(&mut p, b"\n");
    assert_blocked(line(&mut r, &mut p, 100, LENIENT));
    assert_eq!(p.available(), 0);
    push(&mut p, b"\n");
    assert_found(line(&mut r, &mut p, 100, LENIENT), b""); // a second LF is a real empty line
}

#[test]
fn lenient_cr_then_other_data_keeps_that_data() {
    let mut p = pipe(64);
    let mut r = LineReader::new();
    push(&mut p, b"a\r");
    assert_found(line(&mut r, &mut p, 100, LENIENT), b"a");
    push(&mut p, b"b\n");
    assert_found(line(&mut r, &mut p, 100, LENIENT), b"b");
}

#[test]
fn lenient_cr_cr_lf_is_two_endings() {
    let mut p = pipe(64);
    let mut r = LineReader::new();
    push(&mut p, b"a\r\r\nb\n");
    assert_eq!(all_lines(&mut r, &mut p, LENIENT), [&b"a"[..], b"", b"b"]);
}

#[test]
fn lenient_cr_then_eof_ends() {
    let mut p = pipe(64);
    let mut r = LineReader::new();
    push(&mut p, b"a\r");
    assert_found(line(&mut r, &mut p, 100, LENIENT), b"a");
    p.close().unwrap();
    assert_end(line(&mut r, &mut p, 100, LENIENT));
}

#[test]
fn line_split_across_many_chunks_one_byte_at_a_time() {
    let mut p = pipe(4);
    let mut r = LineReader::new();
    let text = b"a line that is much longer than the pipe";
    for (i, &b) in text.iter().enumerate() {
        push(&mut p, &[b]);
        assert_blocked(line(&mut r, &mut p, 100, LF));
        assert_eq!(r.pending(), i + 1);
    }
    push(&mut p, b"\n");
    assert_found(line(&mut r, &mut p, 100, LF), text);
    assert_eq!(r.pending(), 0);
}

#[test]
fn crlf_line_split_one_byte_at_a_time_in_both_modes() {
    for ending in [LF, LENIENT] {
        let mut p = pipe(4);
        let mut r = LineReader::new();
        let mut got = Vec::new();
        for &b in b"ab\r\ncd\r\n".iter() {
            push(&mut p, &[b]);
            match line(&mut r, &mut p, 100, ending) {
                Ok((Delimited::Found(_), l)) => got.push(l),
                Err(ChannelError::Blocked) => {}
                other => panic!("{ending:?}: unexpected {other:?}"),
            }
        }
        assert_blocked(line(&mut r, &mut p, 100, ending));
        assert_eq!(got, [b"ab", b"cd"], "{ending:?}");
    }
}

#[test]
fn utf8_split_across_chunks_is_returned_intact() {
    let text = "héllo → wörld 🎉";
    let bytes = text.as_bytes();
    let mut p = pipe(64);
    let mut r = LineReader::new();
    // Split inside the two-byte 'é', the three-byte arrow and the four-byte emoji.
    let cuts = [2, 8, bytes.len() - 2, bytes.len()];
    let mut start = 0;
    for &cut in &cuts {
        push(&mut p, &bytes[start..cut]);
        assert_blocked(line(&mut r, &mut p, 100, LF));
        start = cut;
    }
    push(&mut p, b"\n");
    let (_, out) = line(&mut r, &mut p, 100, LF).unwrap();
    assert_eq!(core::str::from_utf8(&out).unwrap(), text);
}

#[test]
fn crlf_split_across_chunks_in_default_mode() {
    let mut p = pipe(64);
    let mut r = LineReader::new();
    push(&mut p, b"abc\r");
    assert_blocked(line(&mut r, &mut p, 100, LF));
    push(&mut p, b"\ndef\n");
    assert_found(line(&mut r, &mut p, 100, LF), b"abc");
    assert_found(line(&mut r, &mut p, 100, LF), b"def");
}

#[test]
fn cr_then_non_lf_in_the_next_chunk_stays_data() {
    let mut p = pipe(64);
    let mut r = LineReader::new();
    push(&mut p, b"abc\r");
    assert_blocked(line(&mut r, &mut p, 100, LF));
    push(&mut p, b"x\n");
    assert_found(line(&mut r, &mut p, 100, LF), b"abc\rx");
}

#[test]
fn crlf_across_the_ring_wrap_point() {
    let mut p = pipe(8);
    let mut r = LineReader::new();
    push(&mut p, b"----x");
    p.discard(4).unwrap(); // head at 4
    push(&mut p, b"ab\r\n"); // CR at index 7, LF wraps to index 0
    assert_eq!(p.readable().unwrap().1, b"\n");
    assert_found(line(&mut r, &mut p, 100, LF), b"xab");
}

#[test]
fn delimiter_in_the_wrapped_part_of_the_ring() {
    let mut p = pipe(8);
    let mut r = LineReader::new();
    push(&mut p, b"------x");
    p.discard(6).unwrap(); // head at 6
    push(&mut p, b"abc\nd"); // "xa" before the wrap, "bc\nd" after
    assert_found(line(&mut r, &mut p, 100, LENIENT), b"xabc");
    assert_eq!(p.available(), 1);
}

#[test]
fn empty_lines() {
    let mut p = pipe(64);
    let mut r = LineReader::new();
    push(&mut p, b"\n\r\n\nx\n");
    assert_eq!(all_lines(&mut r, &mut p, LF), [&b""[..], b"", b"", b"x"]);
}

#[test]
fn several_lines_in_one_chunk_in_lenient_mode() {
    let mut p = pipe(64);
    let mut r = LineReader::new();
    push(&mut p, b"one\ntwo\r\nthree\rfour\r\r");
    assert_eq!(
        all_lines(&mut r, &mut p, LENIENT),
        [&b"one"[..], b"two", b"three", b"four", b""]
    );
}

#[test]
fn limit_exactly_equal_passes() {
    let mut p = pipe(64);
    let mut r = LineReader::new();
    push(&mut p, b"abc\nabc\r\nabc");
    assert_found(line(&mut r, &mut p, 3, LF), b"abc");
    assert_found(line(&mut r, &mut p, 3, LF), b"abc"); // the CRLF is not counted
    assert_blocked(line(&mut r, &mut p, 3, LF)); // 3 bytes, no delimiter yet: still fine
    push(&mut p, b"\n");
    assert_found(line(&mut r, &mut p, 3, LF), b"abc");
}

#[test]
fn zero_limit_allows_only_empty_lines() {
    let mut p = pipe(64);
    let mut r = LineReader::new();
    push(&mut p, b"\nx\n");
    assert_found(line(&mut r, &mut p, 0, LF), b"");
    assert_too_long(line(&mut r, &mut p, 0, LF), 0);
}

#[test]
fn limit_plus_one_with_the_delimiter_present_is_too_long() {
    let mut p = pipe(64);
    let mut r = LineReader::new();
    push(&mut p, b"abcd\nok\n");
    assert_too_long(line(&mut r, &mut p, 3, LF), 3);
    // The whole too-long line, ending included, is gone; the next line is intact.
    assert_found(line(&mut r, &mut p, 3, LF), b"ok");
}

#[test]
fn limit_plus_one_with_crlf_is_too_long() {
    let mut p = pipe(64);
    let mut r = LineReader::new();
    push(&mut p, b"abcd\r\nok\r\n");
    assert_too_long(line(&mut r, &mut p, 3, LF), 3);
    assert_found(line(&mut r, &mut p, 3, LF), b"ok");
}

#[test]
fn limit_plus_one_without_the_delimiter_is_too_long() {
    let mut p = pipe(64);
    let mut r = LineReader::new();
    push(&mut p, b"abcd");
    assert_too_long(line(&mut r, &mut p, 3, LF), 3);
    assert_eq!(r.pending(), 0);
}

#[test]
fn limit_counts_bytes_held_from_earlier_chunks() {
    let mut p = pipe(64);
    let mut r = LineReader::new();
    push(&mut p, b"ab");
    assert_blocked(line(&mut r, &mut p, 3, LF));
    push(&mut p, b"cd");
    assert_too_long(line(&mut r, &mut p, 3, LF), 3);
    assert_eq!(r.pending(), 0);

    // Same with the delimiter arriving in the second chunk.
    let mut p = pipe(64);
    let mut r = LineReader::new();
    push(&mut p, b"ab");
    assert_blocked(line(&mut r, &mut p, 3, LF));
    push(&mut p, b"cd\nok\n");
    assert_too_long(line(&mut r, &mut p, 3, LF), 3);
    assert_found(line(&mut r, &mut p, 3, LF), b"ok");
}

#[test]
fn limit_in_lenient_mode() {
    let mut p = pipe(64);
    let mut r = LineReader::new();
    push(&mut p, b"abc\rabcd\rok\r");
    assert_found(line(&mut r, &mut p, 3, LENIENT), b"abc");
    assert_too_long(line(&mut r, &mut p, 3, LENIENT), 3);
    assert_found(line(&mut r, &mut p, 3, LENIENT), b"ok");
}

#[test]
fn cr_at_the_limit_awaiting_lf_does_not_trip_the_limit() {
    let mut p = pipe(64);
    let mut r = LineReader::new();
    push(&mut p, b"abc\r");
    assert_blocked(line(&mut r, &mut p, 3, LF));
    push(&mut p, b"\n");
    assert_found(line(&mut r, &mut p, 3, LF), b"abc");
}

#[test]
fn cr_at_the_limit_arriving_alone_does_not_trip_the_limit() {
    let mut p = pipe(64);
    let mut r = LineReader::new();
    for chunk in [&b"abc"[..], b"\r"] {
        push(&mut p, chunk);
        assert_blocked(line(&mut r, &mut p, 3, LF));
    }
    push(&mut p, b"\n");
    assert_found(line(&mut r, &mut p, 3, LF), b"abc");
}

#[test]
fn cr_at_the_limit_survives_a_call_with_no_new_bytes() {
    let mut p = pipe(64);
    let mut r = LineReader::new();
    push(&mut p, b"abc\r");
    assert_blocked(line(&mut r, &mut p, 3, LF));
    // A spurious wake-up (or an LF written but not yet flushed) must not change anything.
    p.write(b"\n").unwrap();
    assert_blocked(line(&mut r, &mut p, 3, LF));
    p.flush().unwrap();
    assert_found(line(&mut r, &mut p, 3, LF), b"abc");
}

#[test]
fn cr_at_the_limit_followed_by_data_is_too_long() {
    // The CR turned out to be data, so the line has 4 content bytes already.
    let mut p = pipe(64);
    let mut r = LineReader::new();
    push(&mut p, b"abc\r");
    assert_blocked(line(&mut r, &mut p, 3, LF));
    push(&mut p, b"x");
    assert_too_long(line(&mut r, &mut p, 3, LF), 3);
}

#[test]
fn cr_at_the_limit_followed_by_another_cr_is_too_long() {
    let mut p = pipe(64);
    let mut r = LineReader::new();
    push(&mut p, b"abc\r");
    assert_blocked(line(&mut r, &mut p, 3, LF));
    push(&mut p, b"\r");
    assert_too_long(line(&mut r, &mut p, 3, LF), 3);
}

#[test]
fn trailing_cr_at_eof_counts_against_the_limit() {
    // In Default mode a CR that no LF follows is data: "abc\r" is 4 content bytes.
    let mut p = pipe(64);
    let mut r = LineReader::new();
    p.write(b"abc\r").unwrap();
    p.close().unwrap();
    match line(&mut r, &mut p, 3, LF) {
        Err(ChannelError::TooLongLine { limit: 3 }) => {}
        Ok((Delimited::Eof(n), out)) => {
            assert!(n <= 3, "Eof({n}) with {out:?} exceeds the limit of 3")
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn trailing_cr_at_eof_is_data_in_default_mode() {
    let mut p = pipe(64);
    let mut r = LineReader::new();
    push(&mut p, b"abc\r");
    assert_blocked(line(&mut r, &mut p, 100, LF));
    p.close().unwrap();
    assert_eof_line(line(&mut r, &mut p, 100, LF), b"abc\r");
}

#[test]
fn last_line_without_an_ending_is_eof() {
    let mut p = pipe(64);
    let mut r = LineReader::new();
    push(&mut p, b"one\ntwo");
    assert_found(line(&mut r, &mut p, 100, LF), b"one");
    assert_blocked(line(&mut r, &mut p, 100, LF));
    p.close().unwrap();
    assert_eof_line(line(&mut r, &mut p, 100, LF), b"two");
    assert_end(line(&mut r, &mut p, 100, LF));
    assert_end(line(&mut r, &mut p, 100, LF));
}

#[test]
fn last_line_arriving_with_the_close_is_eof() {
    let mut p = pipe(64);
    let mut r = LineReader::new();
    p.write(b"tail").unwrap();
    p.close().unwrap();
    assert_eof_line(line(&mut r, &mut p, 100, LENIENT), b"tail");
    assert_end(line(&mut r, &mut p, 100, LENIENT));
}

#[test]
fn end_at_eof_with_no_bytes() {
    let mut p = pipe(64);
    let mut r = LineReader::new();
    p.close().unwrap();
    assert_end(line(&mut r, &mut p, 100, LF));
    assert_end(line(&mut r, &mut p, 100, LENIENT));
}

#[test]
fn end_after_a_final_line_ending() {
    let mut p = pipe(64);
    let mut r = LineReader::new();
    p.write(b"x\n").unwrap();
    p.close().unwrap();
    assert_found(line(&mut r, &mut p, 100, LF), b"x");
    assert_end(line(&mut r, &mut p, 100, LF));
}

#[test]
fn too_long_last_line_at_eof_is_too_long() {
    let mut p = pipe(64);
    let mut r = LineReader::new();
    p.write(b"abcd").unwrap();
    p.close().unwrap();
    assert_too_long(line(&mut r, &mut p, 3, LF), 3);
    assert_end(line(&mut r, &mut p, 3, LF));
}

#[test]
fn blocked_on_an_open_empty_pipe() {
    let mut p = pipe(64);
    let mut r = LineReader::new();
    assert_blocked(line(&mut r, &mut p, 100, LF));
    p.write(b"unflushed\n").unwrap();
    assert_blocked(line(&mut r, &mut p, 100, LF));
    p.flush().unwrap();
    assert_found(line(&mut r, &mut p, 100, LF), b"unflushed");
}

#[test]
fn read_until_uses_a_custom_delimiter() {
    let mut p = pipe(64);
    let mut r = LineReader::new();
    push(&mut p, b"a=1;b\r\n;;c");
    assert_found(until(&mut r, &mut p, b';', 100), b"a=1");
    // CR and LF are plain data for a custom delimiter.
    assert_found(until(&mut r, &mut p, b';', 100), b"b\r\n");
    assert_found(until(&mut r, &mut p, b';', 100), b"");
    assert_blocked(until(&mut r, &mut p, b';', 100));
    p.close().unwrap();
    assert_eof_line(until(&mut r, &mut p, b';', 100), b"c");
    assert_end(until(&mut r, &mut p, b';', 100));
}

#[test]
fn read_until_a_nul_delimiter_across_chunks() {
    let mut p = pipe(4);
    let mut r = LineReader::new();
    for chunk in [&b"ab"[..], b"cd", b"e"] {
        push(&mut p, chunk);
        assert_blocked(until(&mut r, &mut p, 0, 5));
    }
    push(&mut p, &[0]);
    assert_found(until(&mut r, &mut p, 0, 5), b"abcde");
}

#[test]
fn read_until_limit() {
    let mut p = pipe(64);
    let mut r = LineReader::new();
    push(&mut p, b"abc\r|abcd|");
    // A CR before a custom delimiter is content, so "abc\r" is 4 bytes.
    assert_too_long(until(&mut r, &mut p, b'|', 3), 3);
    assert_found(until(&mut r, &mut p, b'|', 4), b"abcd");
    push(&mut p, b"abcd");
    assert_too_long(until(&mut r, &mut p, b'|', 3), 3);
}

#[test]
fn cancelled_surfaces_from_read_line() {
    let mut p = pipe(64);
    let mut r = LineReader::new();
    push(&mut p, b"partial");
    assert_blocked(line(&mut r, &mut p, 100, LF));
    p.cancel(Cause::message("gone"));
    assert_cancelled(line(&mut r, &mut p, 100, LF), "gone");
    assert_cancelled(line(&mut r, &mut p, 100, LENIENT), "gone");
    assert_cancelled(until(&mut r, &mut p, b';', 100), "gone");
}

#[test]
fn cancelled_surfaces_while_waiting_for_a_lenient_lf() {
    let mut p = pipe(64);
    let mut r = LineReader::new();
    push(&mut p, b"a\r");
    assert_found(line(&mut r, &mut p, 100, LENIENT), b"a");
    p.cancel(Cause::message("gone"));
    assert_cancelled(line(&mut r, &mut p, 100, LENIENT), "gone");
}

#[test]
fn too_long_lenient_crlf_line_consumes_its_whole_ending() {
    let mut p = pipe(64);
    let mut r = LineReader::new();
    push(&mut p, b"abcd\r\nok\r\n");
    assert_too_long(line(&mut r, &mut p, 3, LENIENT), 3);
    assert_found(line(&mut r, &mut p, 3, LENIENT), b"ok");
}

#[test]
fn too_long_lenient_cr_line_swallows_a_later_lf() {
    let mut p = pipe(64);
    let mut r = LineReader::new();
    push(&mut p, b"abcd\r");
    assert_too_long(line(&mut r, &mut p, 3, LENIENT), 3);
    push(&mut p, b"\nok\n");
    assert_found(line(&mut r, &mut p, 3, LENIENT), b"ok");
}

/// Feeds `text` to a small pipe in pseudo-random chunks, reading lines after each chunk.
fn lines_through_random_chunks(text: &[u8], ending: LineEnding, seed: u64) -> Vec<Vec<u8>> {
    let mut rng = Lcg(seed);
    let mut p = pipe(16);
    let mut r = LineReader::new();
    let mut lines = Vec::new();
    let mut rest = text;
    loop {
        if !rest.is_empty() && p.free_space() > 0 {
            let n = p.write(&rest[..rest.len().min(1 + rng.below(7))]).unwrap();
            rest = &rest[n..];
            if rng.below(2) == 0 {
                p.flush().unwrap();
            }
        } else if rest.is_empty() && !p.is_closed_for_write() {
            p.close().unwrap();
        }
        loop {
            match line(&mut r, &mut p, 1024, ending) {
                Ok((Delimited::Found(_) | Delimited::Eof(_), l)) => lines.push(l),
                Ok((Delimited::End, _)) => return lines,
                Err(ChannelError::Blocked) => break,
                Err(e) => panic!("unexpected {e:?}"),
            }
        }
        if p.free_space() == 0 {
            p.flush().unwrap(); // a writer that cannot write any more flushes
        }
    }
}

#[test]
fn random_chunking_never_changes_the_lines() {
    let mut rng = Lcg(42);
    for round in 0..50 {
        for ending in [LF, LENIENT] {
            let mut text = Vec::new();
            let mut expected = Vec::new();
            for _ in 0..rng.below(12) {
                let content: Vec<u8> = (0..rng.below(40))
                    .map(|_| b"abcxyz \t\xC3\xA9"[rng.below(10)])
                    .collect();
                let endings: &[&[u8]] = match ending {
                    LineEnding::Default => &[b"\n", b"\r\n"],
                    LineEnding::Lenient => &[b"\n", b"\r\n", b"\r"],
                };
                let mut end = endings[rng.below(endings.len())];
                // After a lenient lone CR, an empty line ended by LF would read as CRLF.
                if ending == LENIENT && content.is_empty() && text.last() == Some(&b'\r') {
                    end = b"\r";
                }
                text.extend_from_slice(&content);
                text.extend_from_slice(end);
                expected.push(content);
            }
            if rng.below(2) == 0 {
                let last: Vec<u8> = (0..1 + rng.below(20)).map(|_| b'z').collect();
                text.extend_from_slice(&last);
                expected.push(last);
            }
            let got = lines_through_random_chunks(&text, ending, round);
            assert_eq!(got, expected, "round {round}, {ending:?}, text {text:?}");
        }
    }
}

// ==== Duplex as a Machine =================================================================

const NOW: Instant = Instant::ZERO;

fn duplex(inbound: usize, outbound: usize, max_transmit: usize) -> Duplex {
    Duplex::new(DuplexConfig {
        inbound: PipeConfig::with_capacity(inbound),
        outbound: PipeConfig::with_capacity(outbound),
        max_transmit,
    })
}

/// Drains the events of any machine.
fn events<M: Machine>(m: &mut M) -> Vec<M::Event> {
    core::iter::from_fn(|| m.poll_event()).collect()
}

/// Drains the transmit queue of any machine, chunk by chunk.
fn transmits<M: Machine>(m: &mut M) -> Vec<Bytes> {
    core::iter::from_fn(|| m.poll_transmit()).collect()
}

fn write_cmd(d: &mut Duplex, data: &[u8]) -> Result<usize, ChannelError> {
    d.command(NOW, DuplexCommand::Write(Bytes::copy_from_slice(data)))
}

#[test]
fn new_duplex_is_idle_and_allocates_nothing() {
    let mut d = Duplex::default();
    assert!(!d.inbound().is_allocated());
    assert!(!d.outbound().is_allocated());
    assert_eq!(d.inbound().capacity(), DEFAULT_CAPACITY);
    assert!(d.wants_read());
    assert!(!d.is_transmit_closed());
    assert!(!d.is_finished());
    assert_eq!(d.poll_timeout(), None);
    d.handle_timeout(NOW);
    assert!(events(&mut d).is_empty());
    assert!(transmits(&mut d).is_empty());
    assert_eq!(DuplexConfig::default().max_transmit, DEFAULT_MAX_TRANSMIT);
}

#[test]
fn handle_input_is_visible_to_the_application_at_once() {
    let mut d = duplex(64, 64, 64);
    assert_eq!(d.handle_input(NOW, b"hello"), 5);
    assert_eq!(d.inbound().available(), 5);
    assert_eq!(drain(d.inbound_mut()), b"hello");
}

#[test]
fn handle_input_accepts_up_to_the_free_space() {
    let mut d = duplex(8, 64, 64);
    assert_eq!(d.handle_input(NOW, b"0123456789"), 8);
    assert!(!d.wants_read());
    assert_eq!(d.handle_input(NOW, b"89"), 0);
    assert_eq!(d.inbound_mut().discard(3).unwrap(), 3);
    assert!(d.wants_read());
    assert_eq!(d.handle_input(NOW, b"89ab"), 3);
    assert_eq!(drain(d.inbound_mut()), b"3456789a");
    assert_eq!(d.handle_input(NOW, b""), 0);
}

#[test]
fn readable_fires_once_per_empty_to_non_empty_edge() {
    let mut d = duplex(64, 64, 64);
    d.handle_input(NOW, b"");
    assert!(events(&mut d).is_empty());

    d.handle_input(NOW, b"a");
    d.handle_input(NOW, b"b"); // not empty before: no second edge
    assert_eq!(events(&mut d), [DuplexEvent::Readable]);
    d.handle_input(NOW, b"c");
    assert!(events(&mut d).is_empty());

    assert_eq!(drain(d.inbound_mut()), b"abc");
    d.handle_input(NOW, b"d");
    assert_eq!(events(&mut d), [DuplexEvent::Readable]);
}

#[test]
fn rejected_input_does_not_fire_readable() {
    let mut d = duplex(2, 64, 64);
    d.handle_input(NOW, b"ab");
    assert_eq!(events(&mut d), [DuplexEvent::Readable]);
    assert_eq!(d.handle_input(NOW, b"c"), 0);
    assert!(events(&mut d).is_empty());
}

#[test]
fn poll_transmit_returns_only_written_and_flushed_bytes() {
    let mut d = duplex(64, 64, 64);
    assert_eq!(write_cmd(&mut d, b"hello").unwrap(), 5);
    assert!(transmits(&mut d).is_empty());
    assert_eq!(d.command(NOW, DuplexCommand::Flush).unwrap(), 5);
    assert_eq!(transmits(&mut d), [Bytes::from_static(b"hello")]);
    assert!(transmits(&mut d).is_empty());
    assert_eq!(d.outbound().total_read(), 5);
}

#[test]
fn poll_transmit_sends_bytes_written_through_outbound_mut() {
    let mut d = duplex(64, 64, 64);
    d.outbound_mut().write_u32(0x0102_0304).unwrap();
    d.outbound_mut().flush().unwrap();
    assert_eq!(transmits(&mut d), [Bytes::from_static(&[1, 2, 3, 4])]);
}

#[test]
fn poll_transmit_chunks_are_at_most_max_transmit() {
    let mut d = duplex(64, 64, 4);
    write_cmd(&mut d, b"0123456789").unwrap();
    d.command(NOW, DuplexCommand::Flush).unwrap();
    let chunks = transmits(&mut d);
    assert_eq!(
        chunks,
        [
            Bytes::from_static(b"0123"),
            Bytes::from_static(b"4567"),
            Bytes::from_static(b"89"),
        ]
    );
}

#[test]
fn max_transmit_zero_is_clamped_to_one() {
    let mut d = duplex(64, 64, 0);
    write_cmd(&mut d, b"ab").unwrap();
    d.command(NOW, DuplexCommand::Flush).unwrap();
    assert_eq!(
        transmits(&mut d),
        [Bytes::from_static(b"a"), Bytes::from_static(b"b")]
    );
}

#[test]
fn poll_transmit_joins_wrapped_outbound_bytes() {
    let mut d = duplex(64, 8, 5);
    write_cmd(&mut d, b"abcdef").unwrap();
    d.command(NOW, DuplexCommand::Flush).unwrap();
    assert_eq!(d.poll_transmit().unwrap(), Bytes::from_static(b"abcde"));
    write_cmd(&mut d, b"ghij").unwrap(); // head at 5: lands at 6, 7, 0, 1
    d.command(NOW, DuplexCommand::Flush).unwrap();
    assert_eq!(d.outbound().readable().unwrap().1, b"ij");
    assert_eq!(transmits(&mut d), [Bytes::from_static(b"fghij")]);
}

#[test]
fn write_command_reports_backpressure_as_zero() {
    let mut d = duplex(64, 4, 64);
    assert_eq!(write_cmd(&mut d, b"abcdef").unwrap(), 4);
    assert_eq!(write_cmd(&mut d, b"ef").unwrap(), 0);
    assert_eq!(write_cmd(&mut d, b"").unwrap(), 0);
}

#[test]
fn writable_fires_after_a_full_outbound_is_drained() {
    let mut d = duplex(64, 4, 64);
    write_cmd(&mut d, b"abcd").unwrap();
    assert!(events(&mut d).is_empty());
    assert_eq!(transmits(&mut d), [Bytes::from_static(b"abcd")]);
    assert_eq!(events(&mut d), [DuplexEvent::Writable]);
    assert_eq!(write_cmd(&mut d, b"efgh").unwrap(), 4);
}

#[test]
fn writable_does_not_fire_when_the_outbound_was_not_full() {
    let mut d = duplex(64, 8, 64);
    write_cmd(&mut d, b"abc").unwrap();
    d.command(NOW, DuplexCommand::Flush).unwrap();
    assert_eq!(transmits(&mut d).len(), 1);
    assert!(events(&mut d).is_empty());
}

#[test]
fn writable_fires_on_a_partial_drain_of_a_full_outbound() {
    let mut d = duplex(64, 4, 2);
    write_cmd(&mut d, b"abcd").unwrap();
    assert_eq!(d.poll_transmit().unwrap(), Bytes::from_static(b"ab"));
    assert_eq!(events(&mut d), [DuplexEvent::Writable]);
    assert_eq!(d.poll_transmit().unwrap(), Bytes::from_static(b"cd"));
    assert!(events(&mut d).is_empty()); // no longer full before this drain: no new edge
}

#[test]
fn no_writable_event_after_the_outbound_is_closed() {
    let mut d = duplex(64, 4, 64);
    write_cmd(&mut d, b"abcd").unwrap();
    d.command(NOW, DuplexCommand::Close).unwrap();
    assert_eq!(transmits(&mut d), [Bytes::from_static(b"abcd")]);
    assert!(events(&mut d).is_empty());
}

#[test]
fn handle_eof_reports_read_closed_and_the_inbound_drains_then_ends() {
    let mut d = duplex(64, 64, 64);
    d.handle_input(NOW, b"last");
    d.handle_eof(NOW);
    assert_eq!(
        events(&mut d),
        [DuplexEvent::Readable, DuplexEvent::ReadClosed]
    );
    assert!(!d.wants_read());
    assert!(!d.inbound().is_closed_for_read());
    assert_eq!(drain(d.inbound_mut()), b"last");
    assert!(d.inbound().is_closed_for_read());
    assert_eq!(d.inbound_mut().read(&mut [0; 4]).unwrap(), 0);
}

#[test]
fn read_closed_is_reported_once_even_if_eof_repeats() {
    let mut d = duplex(64, 64, 64);
    d.handle_eof(NOW);
    assert_eq!(events(&mut d), [DuplexEvent::ReadClosed]);
    d.handle_eof(NOW);
    assert!(events(&mut d).is_empty());
}

#[test]
fn input_after_eof_is_accepted_and_dropped() {
    let mut d = duplex(64, 64, 64);
    d.handle_eof(NOW);
    assert_eq!(events(&mut d), [DuplexEvent::ReadClosed]);
    assert_eq!(d.handle_input(NOW, b"late"), 4);
    assert_eq!(d.inbound().available(), 0);
    assert!(events(&mut d).is_empty());
}

#[test]
fn is_transmit_closed_after_close_and_drain() {
    let mut d = duplex(64, 64, 2);
    write_cmd(&mut d, b"bye").unwrap();
    assert_eq!(d.command(NOW, DuplexCommand::Close).unwrap(), 0);
    assert!(!d.is_transmit_closed());
    assert_eq!(d.poll_transmit().unwrap(), Bytes::from_static(b"by"));
    assert!(!d.is_transmit_closed());
    assert_eq!(d.poll_transmit().unwrap(), Bytes::from_static(b"e"));
    assert!(d.is_transmit_closed());
    assert!(d.poll_transmit().is_none());
}

#[test]
fn commands_after_close() {
    let mut d = duplex(64, 64, 64);
    d.command(NOW, DuplexCommand::Close).unwrap();
    assert!(d.is_transmit_closed());
    assert!(matches!(
        write_cmd(&mut d, b"x"),
        Err(ChannelError::ClosedForWrite)
    ));
    assert_eq!(d.command(NOW, DuplexCommand::Close).unwrap(), 0);
    assert_eq!(d.command(NOW, DuplexCommand::Flush).unwrap(), 0);
}

#[test]
fn is_finished_when_both_directions_are_done() {
    let mut d = duplex(64, 64, 64);
    d.handle_input(NOW, b"in");
    write_cmd(&mut d, b"out").unwrap();
    d.command(NOW, DuplexCommand::Close).unwrap();
    d.handle_eof(NOW);
    assert!(!d.is_finished());

    assert_eq!(transmits(&mut d), [Bytes::from_static(b"out")]);
    assert!(d.is_transmit_closed());
    assert!(!d.is_finished()); // inbound still holds "in"

    assert_eq!(drain(d.inbound_mut()), b"in");
    assert!(d.is_finished());
}

#[test]
fn not_finished_while_only_the_read_side_is_done() {
    let mut d = duplex(64, 64, 64);
    d.handle_eof(NOW);
    assert!(d.inbound().is_closed_for_read());
    assert!(!d.is_finished());
}

#[test]
fn wants_read_is_false_when_the_inbound_is_full() {
    let mut d = duplex(4, 64, 64);
    assert!(d.wants_read());
    d.handle_input(NOW, b"abc");
    assert!(d.wants_read());
    d.handle_input(NOW, b"d");
    assert!(!d.wants_read());
    d.inbound_mut().read_u8().unwrap();
    assert!(d.wants_read());
}

#[test]
fn cancel_command_aborts_both_directions() {
    let mut d = duplex(64, 64, 64);
    d.handle_input(NOW, b"unread");
    write_cmd(&mut d, b"unsent").unwrap();
    d.command(NOW, DuplexCommand::Flush).unwrap();
    let _ = events(&mut d);

    assert_eq!(
        d.command(NOW, DuplexCommand::Cancel(Cause::message("abort")))
            .unwrap(),
        0
    );
    assert!(transmits(&mut d).is_empty());
    assert!(events(&mut d).is_empty());
    assert_cancelled(d.inbound_mut().read(&mut [0; 8]), "abort");
    assert_cancelled(write_cmd(&mut d, b"x"), "abort");
    assert_cancelled(d.command(NOW, DuplexCommand::Flush), "abort");
    assert_cancelled(d.command(NOW, DuplexCommand::Close), "abort");
    assert!(d.is_transmit_closed());
    assert!(d.is_finished());
    assert!(!d.inbound().is_allocated());
    assert!(!d.outbound().is_allocated());
}

#[test]
fn second_cancel_command_keeps_the_first_cause() {
    let mut d = duplex(64, 64, 64);
    d.cancel(Cause::message("first"));
    assert_eq!(
        d.command(NOW, DuplexCommand::Cancel(Cause::message("second")))
            .unwrap(),
        0
    );
    assert_cancelled(d.inbound_mut().read(&mut [0; 1]), "first");
    assert_cancelled(d.outbound_mut().write(b"x"), "first");
}

#[test]
fn input_after_cancel_is_accepted_and_dropped() {
    let mut d = duplex(4, 64, 64);
    d.cancel(Cause::message("abort"));
    assert!(d.wants_read());
    assert_eq!(d.handle_input(NOW, b"0123456789"), 10);
    assert!(events(&mut d).is_empty());
    assert!(!d.inbound().is_allocated());
    // EOF on a cancelled connection reports nothing either.
    d.handle_eof(NOW);
    assert!(events(&mut d).is_empty());
}

/// A transport that holds at most one chunk: it takes the next chunk from `from` only once
/// `to` has accepted all of the previous one, so backpressure reaches the sender.
fn pump(from: &mut Duplex, to: &mut Duplex, in_flight: &mut Vec<u8>) {
    if in_flight.is_empty() {
        if let Some(chunk) = from.poll_transmit() {
            in_flight.extend_from_slice(&chunk);
        }
    }
    let n = to.handle_input(NOW, in_flight);
    in_flight.drain(..n);
    if in_flight.is_empty() && from.is_transmit_closed() && !to.inbound().is_closed_for_write() {
        to.handle_eof(NOW);
    }
}

#[test]
fn two_duplexes_carry_a_large_payload_with_backpressure() {
    let mut a = duplex(16, 8, 3);
    let mut b = duplex(5, 16, 4);
    let payload: Vec<u8> = (0..2000u32).map(|i| (i * 7 + i / 13) as u8).collect();
    let mut sent = 0;
    let mut received = Vec::new();
    let mut in_flight = Vec::new();
    let (mut writer_blocked, mut reader_full, mut writable_events) = (false, false, 0);
    for _ in 0..20_000 {
        if sent < payload.len() {
            let n = write_cmd(&mut a, &payload[sent..]).unwrap();
            writer_blocked |= n == 0;
            sent += n;
            a.command(NOW, DuplexCommand::Flush).unwrap();
        } else if !a.outbound().is_closed_for_write() {
            a.command(NOW, DuplexCommand::Close).unwrap();
        }
        pump(&mut a, &mut b, &mut in_flight);
        reader_full |= !b.wants_read();
        writable_events += events(&mut a)
            .iter()
            .filter(|e| **e == DuplexEvent::Writable)
            .count();
        let _ = events(&mut b);
        // Read slowly, so that b's inbound fills up.
        match b.inbound_mut().read_into_vec(&mut received, 2) {
            Ok(0) => break,
            Ok(_) | Err(ChannelError::Blocked) => {}
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    assert_eq!(received, payload);
    assert!(writer_blocked && reader_full && writable_events > 0);
    assert!(a.is_transmit_closed());
    assert!(b.inbound().is_closed_for_read());
}

// ==== copy_bytes ==========================================================================

#[test]
fn copy_bytes_copies_every_length_exactly() {
    let src: Vec<u8> = (1..=40).collect();
    for len in 0..=src.len() {
        let mut dst = vec![0u8; len];
        super::copy_bytes(&mut dst, &src[..len]);
        assert_eq!(dst, &src[..len], "length {len}");
    }
}

#[test]
#[should_panic(expected = "equal lengths")]
fn copy_bytes_refuses_unequal_lengths() {
    super::copy_bytes(&mut [0u8; 4], &[1, 2, 3]);
}
