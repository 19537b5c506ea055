//! The async and blocking byte-channel halves: every trait view, close and cancel
//! semantics, limits, and transfers across threads.

use std::io::{self, BufRead, Read, Write};
use std::time::Duration;

use futures_lite::future;
use futures_lite::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
use wirestate::chan::{ByteReader, Cause, Delimited, LineEnding, PipeConfig, byte_channel};

fn pattern(len: usize) -> Vec<u8> {
    wirestate_tests::pattern(len, 0x2545_f491)
}

#[test]
fn typed_values_round_trip_in_both_byte_orders() {
    future::block_on(async {
        let (mut w, mut r) = byte_channel(PipeConfig::with_capacity(64));
        w.write_u8(0xAB).await.unwrap();
        w.write_i8(-2).await.unwrap();
        w.write_u16(0x0102).await.unwrap();
        w.write_u16_le(0x0102).await.unwrap();
        w.write_i32(-5).await.unwrap();
        w.write_u64_le(0x0102_0304_0506_0708).await.unwrap();
        w.write_f64(1.5).await.unwrap();
        w.write_f32_le(-0.25).await.unwrap();
        w.flush().await.unwrap();
        let mut head = [0u8; 6];
        r.peek(&mut head).await.unwrap();
        // Big-endian is the default order (Ktor's); `_le` writes little-endian.
        assert_eq!(head, [0xAB, 0xFE, 0x01, 0x02, 0x02, 0x01]);
        assert_eq!(r.read_u8().await.unwrap(), 0xAB);
        assert_eq!(r.read_i8().await.unwrap(), -2);
        assert_eq!(r.read_u16().await.unwrap(), 0x0102);
        assert_eq!(r.read_u16_le().await.unwrap(), 0x0102);
        assert_eq!(r.read_i32().await.unwrap(), -5);
        assert_eq!(r.read_u64_le().await.unwrap(), 0x0102_0304_0506_0708);
        assert_eq!(r.read_f64().await.unwrap(), 1.5);
        assert_eq!(r.read_f32_le().await.unwrap(), -0.25);
        assert_eq!(r.total_read(), w.total_written());
    });
}

#[test]
fn bytes_are_invisible_until_flush_unless_auto_flush() {
    future::block_on(async {
        let (mut w, r) = byte_channel(PipeConfig::with_capacity(1024));
        w.write_all(b"abc").await.unwrap();
        assert_eq!(r.available_for_read(), 0);
        w.flush().await.unwrap();
        assert_eq!(r.available_for_read(), 3);

        let (mut w, r) = byte_channel(PipeConfig::with_capacity(1024).auto_flush(true));
        assert!(w.auto_flush());
        w.write_all(b"abc").await.unwrap();
        assert_eq!(r.available_for_read(), 3);
    });
}

#[test]
fn read_exact_larger_than_capacity_streams_through() {
    let data = pattern(100_000);
    let (mut w, mut r) = byte_channel(PipeConfig::with_capacity(1000));
    let expected = data.clone();
    future::block_on(future::zip(
        async move {
            w.write_all(&data).await.unwrap();
            w.flush_and_close().await.unwrap();
        },
        async move {
            let mut got = vec![0u8; expected.len()];
            r.read_exact(&mut got).await.unwrap();
            assert_eq!(got, expected);
            let mut more = [0u8; 1];
            let err = r.read_exact(&mut more).await.unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
        },
    ));
}

/// Writes and reads of every small size (and some large ones) through an odd capacity, so
/// that copies start at every offset and split at the ring's end, on two threads.
#[test]
fn mixed_sizes_wrap_the_ring_without_losing_a_byte() {
    const SIZES: [usize; 9] = [1, 3, 7, 8, 13, 16, 17, 40, 300];
    let data = pattern(200_000);
    let (mut w, mut r) = byte_channel(PipeConfig::with_capacity(37).auto_flush(true));
    let expected = data.clone();
    let writer = std::thread::spawn(move || {
        future::block_on(async move {
            let mut rest = &data[..];
            for size in SIZES.iter().cycle() {
                if rest.is_empty() {
                    break;
                }
                let n = (*size).min(rest.len());
                let written = w.write_available(&rest[..n]).await.unwrap();
                rest = &rest[written..];
            }
            w.flush_and_close().await.unwrap();
        })
    });
    let got = future::block_on(async move {
        let mut got = Vec::with_capacity(expected.len());
        let mut buf = [0u8; 300];
        for size in SIZES.iter().rev().cycle() {
            match r.read_available(&mut buf[..*size]).await.unwrap() {
                0 => break,
                n => got.extend_from_slice(&buf[..n]),
            }
        }
        assert_eq!(got, expected);
        got.len()
    });
    writer.join().unwrap();
    assert_eq!(got, 200_000);
}

#[test]
fn await_content_above_capacity_is_an_error_not_a_hang() {
    future::block_on(async {
        let (_w, mut r) = byte_channel(PipeConfig::with_capacity(16));
        let err = r.await_content(17).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    });
}

#[test]
fn await_content_reports_the_end() {
    future::block_on(async {
        let (mut w, mut r) = byte_channel(PipeConfig::with_capacity(16));
        w.write_all(b"ab").await.unwrap();
        w.flush().await.unwrap();
        assert!(r.await_content(2).await.unwrap());
        w.close().unwrap();
        assert!(!r.await_content(3).await.unwrap());
    });
}

#[test]
fn close_lets_the_reader_drain_then_see_the_end() {
    future::block_on(async {
        let (mut w, mut r) = byte_channel(PipeConfig::default());
        w.write_all(b"tail").await.unwrap();
        w.close().unwrap(); // publishes the unflushed bytes
        assert!(w.is_closed_for_write());
        let mut out = Vec::new();
        assert_eq!(r.read_to_end(&mut out, 100).await.unwrap(), 4);
        assert_eq!(out, b"tail");
        assert!(r.is_closed_for_read());
        let err = w.write_all(b"x").await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
    });
}

#[test]
fn dropping_the_writer_is_a_graceful_end() {
    future::block_on(async {
        let (mut w, mut r) = byte_channel(PipeConfig::default());
        w.write_all(b"last").await.unwrap();
        drop(w);
        let mut out = Vec::new();
        r.read_to_end(&mut out, 10).await.unwrap();
        assert_eq!(out, b"last");
    });
}

#[test]
fn writer_cancel_drops_data_and_the_reader_sees_the_cause() {
    future::block_on(async {
        let (mut w, mut r) = byte_channel(PipeConfig::default());
        w.write_all(b"never read").await.unwrap();
        w.flush().await.unwrap();
        w.cancel_with(Cause::new(io::Error::new(
            io::ErrorKind::TimedOut,
            "socket timeout",
        )));
        let mut buf = [0u8; 4];
        let err = r.read_available(&mut buf).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        assert!(err.to_string().contains("socket timeout"), "{err}");
        assert!(r.is_closed_for_read());
        // Both sides keep reporting the first cause.
        w.cancel();
        assert_eq!(
            w.write_all(b"x").await.unwrap_err().kind(),
            io::ErrorKind::TimedOut
        );
        assert!(
            r.closed_cause()
                .unwrap()
                .to_string()
                .contains("socket timeout")
        );
    });
}

#[test]
fn reader_drop_or_cancel_breaks_the_writers_pipe() {
    future::block_on(async {
        let (mut w, r) = byte_channel(PipeConfig::default());
        drop(r);
        let err = w.write_all(b"x").await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);

        let (mut w, r) = byte_channel(PipeConfig::default());
        r.cancel();
        assert_eq!(
            w.flush().await.unwrap_err().kind(),
            io::ErrorKind::BrokenPipe
        );
    });
}

#[test]
fn a_cancel_wakes_a_parked_writer() {
    let (mut w, r) = byte_channel(PipeConfig::with_capacity(4));
    let writer = std::thread::spawn(move || {
        // 4 bytes fill the pipe; the fifth parks until the cancel arrives.
        future::block_on(w.write_all(b"12345")).unwrap_err().kind()
    });
    std::thread::sleep(Duration::from_millis(50));
    r.cancel();
    assert_eq!(writer.join().unwrap(), io::ErrorKind::BrokenPipe);
}

#[test]
fn read_line_limits_and_endings() {
    future::block_on(async {
        let (mut w, mut r) = byte_channel(PipeConfig::with_capacity(64));
        w.write_all("crlf\r\nlf\nlone\rcr\rné\n0123456789abc\nrest".as_bytes())
            .await
            .unwrap();
        w.close().unwrap();
        let mut line = String::new();
        let mut next = |r: &mut ByteReader, ending| {
            line.clear();
            let found = future::block_on(r.read_line(&mut line, 12, ending));
            found.map(|found| (found, line.clone()))
        };
        assert_eq!(
            next(&mut r, LineEnding::Default).unwrap(),
            (true, "crlf".into())
        );
        assert_eq!(
            next(&mut r, LineEnding::Default).unwrap(),
            (true, "lf".into())
        );
        assert_eq!(
            next(&mut r, LineEnding::Lenient).unwrap(),
            (true, "lone".into())
        );
        // Default mode keeps a lone CR as data.
        assert_eq!(
            next(&mut r, LineEnding::Default).unwrap(),
            (true, "cr\rné".into())
        );
        let err = next(&mut r, LineEnding::Default).unwrap_err();
        assert_eq!(
            err.kind(),
            io::ErrorKind::InvalidData,
            "13 bytes > limit 12"
        );
        assert_eq!(
            next(&mut r, LineEnding::Default).unwrap(),
            (true, "rest".into())
        );
        assert_eq!(
            next(&mut r, LineEnding::Default).unwrap(),
            (false, String::new())
        );
    });
}

#[test]
fn read_line_rejects_invalid_utf8_after_reassembling_split_sequences() {
    let (mut w, mut r) = byte_channel(PipeConfig::with_capacity(8).auto_flush(true));
    let t = std::thread::spawn(move || {
        // "é" is C3 A9: send it split across two writes.
        for piece in [&b"caf"[..], &[0xC3], &[0xA9, b'\n'], &[0xFF, b'\n']] {
            future::block_on(w.write_all(piece)).unwrap();
            std::thread::sleep(Duration::from_millis(5));
        }
    });
    future::block_on(async {
        let mut line = String::new();
        assert!(
            r.read_line(&mut line, 100, LineEnding::Default)
                .await
                .unwrap()
        );
        assert_eq!(line, "café");
        let err = r
            .read_line(&mut line, 100, LineEnding::Default)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    });
    t.join().unwrap();
}

#[test]
fn read_until_and_discard() {
    future::block_on(async {
        let (mut w, mut r) = byte_channel(PipeConfig::with_capacity(64));
        w.write_all(b"key=value;junkjunk;tail").await.unwrap();
        w.close().unwrap();
        let mut out = Vec::new();
        assert_eq!(
            r.read_until(b'=', &mut out, 10).await.unwrap(),
            Delimited::Found(3)
        );
        assert_eq!(
            r.read_until(b';', &mut out, 10).await.unwrap(),
            Delimited::Found(5)
        );
        assert_eq!(out, b"keyvalue");
        assert_eq!(r.discard(9).await.unwrap(), 9);
        out.clear();
        assert_eq!(
            r.read_until(b';', &mut out, 10).await.unwrap(),
            Delimited::Eof(4)
        );
        assert_eq!(r.discard(10).await.unwrap(), 0);
    });
}

#[test]
fn read_to_end_enforces_its_limit() {
    future::block_on(async {
        let (mut w, mut r) = byte_channel(PipeConfig::with_capacity(64));
        w.write_all(b"0123456789").await.unwrap();
        w.close().unwrap();
        let mut out = Vec::new();
        let err = r.read_to_end(&mut out, 9).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);

        let bytes = ByteReader::from_bytes(&b"exactly ten"[..])
            .read_to_bytes(11)
            .await
            .unwrap();
        assert_eq!(&bytes[..], b"exactly ten");
        assert!(ByteReader::empty().is_closed_for_read());
    });
}

#[test]
fn futures_io_traits_carry_a_megabyte_across_threads() {
    let data = pattern(1 << 20);
    let (mut w, mut r) = byte_channel(PipeConfig::with_capacity(4096));
    let sent = data.clone();
    let t = std::thread::spawn(move || {
        future::block_on(async {
            for chunk in sent.chunks(777) {
                AsyncWriteExt::write_all(&mut w, chunk).await.unwrap();
            }
            AsyncWriteExt::close(&mut w).await.unwrap();
        })
    });
    let mut got = Vec::new();
    future::block_on(AsyncReadExt::read_to_end(&mut r, &mut got)).unwrap();
    t.join().unwrap();
    assert_eq!(got, data);
}

#[test]
fn futures_async_buf_read_lines() {
    future::block_on(async {
        let (mut w, r) = byte_channel(PipeConfig::with_capacity(16));
        let writer = async move {
            for i in 0..50 {
                AsyncWriteExt::write_all(&mut w, format!("line {i}\n").as_bytes())
                    .await
                    .unwrap();
            }
            AsyncWriteExt::close(&mut w).await.unwrap();
        };
        let reader = async move {
            use futures_lite::StreamExt;
            futures_lite::io::BufReader::new(r)
                .lines()
                .collect::<Vec<_>>()
                .await
        };
        let (_, lines) = future::zip(writer, reader).await;
        let lines: Vec<String> = lines.into_iter().map(Result::unwrap).collect();
        assert_eq!(lines.len(), 50);
        assert_eq!(lines[49], "line 49");
    });
    // And straight through AsyncBufRead on the reader itself.
    future::block_on(async {
        let (mut w, mut r) = byte_channel(PipeConfig::with_capacity(16));
        AsyncWriteExt::write_all(&mut w, b"one\ntwo\n")
            .await
            .unwrap();
        w.close().unwrap();
        let mut line = String::new();
        AsyncBufReadExt::read_line(&mut r, &mut line).await.unwrap();
        assert_eq!(line, "one\n");
        // Other reads after a partially consumed view see the unconsumed bytes.
        assert_eq!(r.read_u8().await.unwrap(), b't');
    });
}

#[test]
fn tokio_traits_work_with_tokio_io_utilities() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    rt.block_on(async {
        use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _};
        let data = pattern(300_000);
        let (mut w, mut r) = byte_channel(PipeConfig::with_capacity(8192));
        let sent = data.clone();
        let writer = tokio::spawn(async move {
            let mut src = &sent[..];
            tokio::io::copy(&mut src, &mut w).await.unwrap();
            w.shutdown().await.unwrap();
        });
        let mut got = Vec::new();
        tokio::io::AsyncReadExt::read_to_end(&mut r, &mut got)
            .await
            .unwrap();
        writer.await.unwrap();
        assert_eq!(got, data);

        let (mut w, r) = byte_channel(PipeConfig::with_capacity(64));
        w.write_all(b"a\nb\n").await.unwrap();
        w.shutdown().await.unwrap();
        let mut lines = tokio::io::BufReader::new(r).lines();
        assert_eq!(lines.next_line().await.unwrap().as_deref(), Some("a"));
        assert_eq!(lines.next_line().await.unwrap().as_deref(), Some("b"));
        assert_eq!(lines.next_line().await.unwrap(), None);
    });
}

#[test]
fn blocking_views_implement_std_io() {
    let (mut w, mut r) = byte_channel(PipeConfig::with_capacity(64));
    let t = std::thread::spawn(move || {
        let mut sink = w.blocking();
        for i in 0..100 {
            writeln!(sink, "row {i}").unwrap();
        }
        // asSink: flush parks until the reader has taken every byte.
        sink.flush().unwrap();
        let published = w.total_written();
        drop(w);
        published
    });
    let mut lines = Vec::new();
    for line in r.blocking().lines() {
        lines.push(line.unwrap());
    }
    let written = t.join().unwrap();
    assert_eq!(lines.len(), 100);
    assert_eq!(lines[99], "row 99");
    assert_eq!(r.total_read(), written);

    let (mut w, mut r) = byte_channel(PipeConfig::with_capacity(8));
    w.blocking().write_all_published(b"0123456").unwrap();
    w.close().unwrap();
    let mut s = String::new();
    r.blocking().read_to_string(&mut s).unwrap();
    assert_eq!(s, "0123456");
}

#[test]
fn copy_and_close_moves_everything() {
    future::block_on(async {
        let data = pattern(50_000);
        let (mut w1, mut r1) = byte_channel(PipeConfig::with_capacity(1024));
        let (mut w2, mut r2) = byte_channel(PipeConfig::with_capacity(512));
        let sent = data.clone();
        let produce = async move {
            w1.write_all(&sent).await.unwrap();
            w1.close().unwrap();
        };
        let copy = async move { r1.copy_and_close(&mut w2).await.unwrap() };
        let consume = async move {
            let mut got = Vec::new();
            r2.read_to_end(&mut got, usize::MAX).await.unwrap();
            got
        };
        let ((_, copied), got) = future::zip(future::zip(produce, copy), consume).await;
        assert_eq!(copied, data.len() as u64);
        assert_eq!(got, data);
    });
}

#[test]
fn copy_to_stops_at_its_limit() {
    future::block_on(async {
        let mut src = ByteReader::from_bytes(&b"0123456789"[..]);
        let (mut w, mut r) = byte_channel(PipeConfig::with_capacity(64));
        assert_eq!(src.copy_to(&mut w, 4).await.unwrap(), 4);
        w.close().unwrap();
        let mut out = Vec::new();
        r.read_to_end(&mut out, 64).await.unwrap();
        assert_eq!(out, b"0123");
    });
}

/// A sink shared with the test: records what was written and how often it was flushed,
/// and can be told to fail.
#[derive(Clone, Default, Debug)]
struct Recorder(std::sync::Arc<std::sync::Mutex<(Vec<u8>, usize, bool)>>);

impl Recorder {
    fn bytes(&self) -> Vec<u8> {
        self.0.lock().unwrap().0.clone()
    }
    fn flushes(&self) -> usize {
        self.0.lock().unwrap().1
    }
    fn fail_from_now_on(&self) {
        self.0.lock().unwrap().2 = true;
    }
    /// Waits (bounded) until `len` bytes have arrived.
    fn wait_for(&self, len: usize) -> Vec<u8> {
        for _ in 0..500 {
            if self.bytes().len() >= len {
                break;
            }
            std::thread::sleep(Duration::from_millis(4));
        }
        self.bytes()
    }
}

impl Write for Recorder {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut state = self.0.lock().unwrap();
        if state.2 {
            return Err(io::Error::new(io::ErrorKind::StorageFull, "disk full"));
        }
        state.0.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.lock().unwrap().1 += 1;
        Ok(())
    }
}

impl futures_lite::AsyncWrite for Recorder {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<io::Result<usize>> {
        std::task::Poll::Ready(Write::write(self.get_mut(), buf))
    }
    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        std::task::Poll::Ready(Write::flush(self.get_mut()))
    }
    fn poll_close(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}

#[test]
fn writer_to_write_is_buffered_until_flush() {
    use wirestate::chan::interop::writer_to_write;
    let sink = Recorder::default();
    let (mut w, thread) = writer_to_write(sink.clone(), PipeConfig::with_capacity(1024));
    future::block_on(w.write_all(b"held back")).unwrap();
    // Unflushed bytes are invisible to the pump thread, however long it looks.
    std::thread::sleep(Duration::from_millis(50));
    assert!(sink.bytes().is_empty());
    future::block_on(w.flush()).unwrap();
    assert_eq!(sink.wait_for(9), b"held back");
    w.close().unwrap();
    thread.join().unwrap().unwrap();
    assert!(
        sink.flushes() >= 1,
        "the sink is flushed when the channel runs dry"
    );
}

#[test]
fn writer_to_write_reports_a_failing_sink_to_the_writer() {
    use wirestate::chan::interop::writer_to_write;
    let sink = Recorder::default();
    sink.fail_from_now_on();
    let (mut w, thread) = writer_to_write(sink, PipeConfig::with_capacity(1024));
    future::block_on(async {
        w.write_all(b"doomed").await.unwrap();
        w.flush().await.unwrap();
    });
    let err = thread.join().unwrap().unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::StorageFull);
    let err = future::block_on(w.write_all(b"more")).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::StorageFull, "{err}");
}

#[test]
fn reader_from_read_carries_a_source_and_its_errors() {
    use wirestate::chan::interop::reader_from_read;
    let data = pattern(200_000);
    let (mut r, thread) = reader_from_read(
        io::Cursor::new(data.clone()),
        PipeConfig::with_capacity(4096),
    );
    let mut got = Vec::new();
    r.blocking().read_to_end(&mut got).unwrap();
    assert_eq!(got, data);
    assert_eq!(thread.join().unwrap().unwrap(), data.len() as u64);

    // A source that fails midway: the reader gets the bytes before, then the error.
    let failing = io::Cursor::new(b"partial".to_vec()).chain(FailingRead);
    let (mut r, thread) = reader_from_read(failing, PipeConfig::with_capacity(64));
    let mut got = Vec::new();
    let err = r.blocking().read_to_end(&mut got).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::TimedOut);
    assert!(thread.join().unwrap().is_err());
}

struct FailingRead;

impl Read for FailingRead {
    fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
        Err(io::Error::new(io::ErrorKind::TimedOut, "source timed out"))
    }
}

#[test]
fn async_read_and_write_conversions() {
    use wirestate::chan::interop::{reader_from_async_read, writer_to_async_write};
    smol::block_on(async {
        let data = pattern(100_000);
        let source = futures_lite::io::Cursor::new(data.clone());
        let (mut r, pump) = reader_from_async_read(source, PipeConfig::with_capacity(2048));
        let pump = smol::spawn(pump);
        let mut got = Vec::new();
        r.read_to_end(&mut got, usize::MAX).await.unwrap();
        assert_eq!(got, data);
        assert_eq!(pump.await.unwrap(), data.len() as u64);

        let sink = Recorder::default();
        let (mut w, pump) = writer_to_async_write(sink.clone(), PipeConfig::with_capacity(2048));
        let pump = smol::spawn(pump);
        w.write_all(&data).await.unwrap();
        w.flush_and_close().await.unwrap();
        assert_eq!(pump.await.unwrap(), data.len() as u64);
        assert_eq!(sink.bytes(), data);
        assert!(sink.flushes() >= 1);
    });
}

/// The lock-free ring under two threads: random write and read sizes, flushes and
/// capacities down to one byte; every byte must arrive once, in order.
#[test]
fn cross_thread_random_sizes_keep_every_byte_in_order() {
    for (capacity, auto_flush) in [(1, false), (7, true), (64, false), (4096, true)] {
        // Tiny rings pay a wake round trip per few bytes: keep their volume proportionate.
        let data = pattern((capacity * 5000).min(300_000));
        let (mut w, mut r) =
            byte_channel(PipeConfig::with_capacity(capacity).auto_flush(auto_flush));
        let sent = data.clone();
        let writer = std::thread::spawn(move || {
            let mut rng = 0x9e37_79b9_u32;
            let mut rest = &sent[..];
            while !rest.is_empty() {
                rng = rng.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                let n = (rng as usize >> 8) % 3000 + 1;
                let (chunk, tail) = rest.split_at(n.min(rest.len()));
                future::block_on(w.write_all(chunk)).unwrap();
                if rng & 1 == 0 {
                    future::block_on(w.flush()).unwrap();
                }
                rest = tail;
            }
            w.close().unwrap();
        });
        let mut got = Vec::with_capacity(data.len());
        let mut rng = 0x85eb_ca6b_u32;
        let mut buf = vec![0u8; 5000];
        loop {
            rng = rng.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let want = (rng as usize >> 8) % 5000 + 1;
            match future::block_on(r.read_available(&mut buf[..want])).unwrap() {
                0 => break,
                n => got.extend_from_slice(&buf[..n]),
            }
        }
        writer.join().unwrap();
        assert_eq!(got.len(), data.len(), "capacity {capacity}");
        assert!(got == data, "bytes differ at capacity {capacity}");
    }
}

/// A writer that writes and closes at once, racing a reader that is already waiting: the
/// reader must see every byte before the end, never the end first.
#[test]
fn close_never_overtakes_the_last_bytes() {
    for round in 0..2000usize {
        let (mut w, mut r) = byte_channel(PipeConfig::with_capacity(16));
        let len = round % 13 + 1;
        let writer = std::thread::spawn(move || {
            future::block_on(w.write_all(&vec![7u8; len])).unwrap();
            w.close().unwrap();
        });
        let mut got = Vec::new();
        future::block_on(r.read_to_end(&mut got, 64)).unwrap();
        writer.join().unwrap();
        assert_eq!(got.len(), len, "round {round}");
    }
}

/// Cancels racing with a parked reader and a parked writer always wake both.
#[test]
fn cancel_races_wake_parked_sides() {
    for _ in 0..300 {
        let (mut w, mut r) = byte_channel(PipeConfig::with_capacity(4));
        let writer = std::thread::spawn(move || {
            let result = future::block_on(w.write_all(&[1u8; 64]));
            (w, result)
        });
        let mut buf = [0u8; 2];
        let _ = future::block_on(r.read_available(&mut buf));
        r.cancel();
        let (_w, result) = writer.join().unwrap();
        assert_eq!(result.unwrap_err().kind(), io::ErrorKind::BrokenPipe);
    }
}

/// `fill_buf` lends the ring's bytes in place: one contiguous part at a time when the ring
/// wraps, and bytes left unconsumed stay for every other read.
#[test]
fn fill_buf_lends_the_ring_in_place_across_the_wrap() {
    future::block_on(async {
        let (mut w, mut r) = byte_channel(PipeConfig::with_capacity(8).auto_flush(true));
        w.write_all(b"abcdef").await.unwrap();
        let mut six = [0u8; 6];
        r.read_exact(&mut six).await.unwrap();
        w.write_all(b"ghijk").await.unwrap(); // "gh" at the end of the ring, "ijk" at its start
        assert_eq!(AsyncBufReadExt::fill_buf(&mut r).await.unwrap(), b"gh");
        futures_lite::AsyncBufReadExt::consume(&mut r, 1);
        assert_eq!(AsyncBufReadExt::fill_buf(&mut r).await.unwrap(), b"h");
        futures_lite::AsyncBufReadExt::consume(&mut r, 1);
        assert_eq!(AsyncBufReadExt::fill_buf(&mut r).await.unwrap(), b"ijk");
        // Consuming more than is readable is clamped, as std's BufReader does.
        assert_eq!(r.read_u8().await.unwrap(), b'i');
        futures_lite::AsyncBufReadExt::consume(&mut r, 100);
        w.close().unwrap();
        assert!(AsyncBufReadExt::fill_buf(&mut r).await.unwrap().is_empty());
    });
}
