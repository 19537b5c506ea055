//! Write-through: an optional hook through which a channel's writer hands bytes straight to
//! where the channel's reader would copy them (a socket), skipping the ring.
//!
//! The ring itself is the lock that keeps bytes in order: the writer writes through only
//! while the ring holds no byte it wrote (none unflushed, none published and not yet taken).
//! A reader takes bytes only after it has passed them on (a write pump consumes after its
//! socket write returns), so an empty ring also means that nothing is in flight behind the
//! writer's back, and whatever the hook does not take goes to the ring as usual.

use std::io;

/// Where a channel's bytes end up, written to directly while the channel holds none.
pub(crate) trait WriteThrough: Send + Sync + std::fmt::Debug {
    /// Writes some of `buf` now, without waiting: `Ok(0)` or `WouldBlock` when it takes
    /// nothing. Any other error ends the channel.
    fn try_write(&self, buf: &[u8]) -> io::Result<usize>;
}

/// What one write-through attempt did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Through {
    /// No hook, or the ring holds bytes, or the write is one to buffer: use the ring.
    NotTried,
    /// The hook took this many bytes (possibly none).
    Took(usize),
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use wirestate_core::chan::PipeConfig;

    use super::*;
    use crate::chan::{ByteReader, ByteWriter, byte_channel};

    /// A destination that records what it takes, up to an allowance the test sets.
    #[derive(Debug, Default)]
    struct Destination {
        taken: Mutex<Vec<u8>>,
        allowance: Mutex<usize>,
        calls: Mutex<usize>,
        fail_with: Mutex<Option<io::ErrorKind>>,
    }

    #[derive(Debug)]
    struct Hook(Arc<Destination>);

    impl WriteThrough for Hook {
        fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
            *self.0.calls.lock().unwrap() += 1;
            if let Some(kind) = *self.0.fail_with.lock().unwrap() {
                return Err(kind.into());
            }
            let mut allowance = self.0.allowance.lock().unwrap();
            let n = buf.len().min(*allowance);
            if n == 0 {
                return Err(io::ErrorKind::WouldBlock.into());
            }
            *allowance -= n;
            self.0.taken.lock().unwrap().extend_from_slice(&buf[..n]);
            Ok(n)
        }
    }

    impl Destination {
        fn allow(&self, n: usize) {
            *self.allowance.lock().unwrap() = n;
        }
        fn calls(&self) -> usize {
            *self.calls.lock().unwrap()
        }
        /// What the pump would do: pass what the ring holds on to the destination.
        fn pump(&self, reader: &mut ByteReader, max: usize) {
            let mut buf = vec![0; max];
            let waker = std::task::Waker::noop();
            let mut cx = std::task::Context::from_waker(waker);
            if let std::task::Poll::Ready(Ok(n)) = reader.poll_read_available(&mut cx, &mut buf) {
                self.taken.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        }
    }

    fn channel(capacity: usize, auto_flush: bool) -> (ByteWriter, ByteReader, Arc<Destination>) {
        let config = PipeConfig::with_capacity(capacity).auto_flush(auto_flush);
        let (mut writer, reader) = byte_channel(config);
        let destination = Arc::new(Destination::default());
        writer.set_write_through(Box::new(Hook(destination.clone())));
        (writer, reader, destination)
    }

    #[test]
    fn an_empty_ring_writes_through_and_counts_the_bytes() {
        let (mut writer, reader, destination) = channel(64, true);
        destination.allow(usize::MAX);
        smol::block_on(writer.write_all(b"hello")).unwrap();
        assert_eq!(*destination.taken.lock().unwrap(), b"hello");
        assert_eq!(reader.available_for_read(), 0);
        assert_eq!(writer.total_written(), 5);
    }

    #[test]
    fn what_the_destination_refuses_goes_to_the_ring_and_later_writes_follow_it() {
        let (mut writer, mut reader, destination) = channel(64, true);
        destination.allow(3);
        smol::block_on(writer.write_all(b"abcdef")).unwrap();
        assert_eq!(reader.available_for_read(), 3);
        destination.allow(usize::MAX);
        smol::block_on(writer.write_all(b"gh")).unwrap();
        assert_eq!(
            destination.calls(),
            1,
            "no write-through while the ring holds bytes"
        );
        destination.pump(&mut reader, 64);
        smol::block_on(writer.write_all(b"ij")).unwrap();
        assert_eq!(
            destination.calls(),
            2,
            "the drained ring writes through again"
        );
        assert_eq!(*destination.taken.lock().unwrap(), b"abcdefghij");
    }

    /// Random write sizes, allowances and pump steps: the destination always receives the
    /// bytes in the order they were written.
    #[test]
    fn order_is_kept_under_any_interleaving() {
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move |bound: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % bound as u64) as usize
        };
        for auto_flush in [true, false] {
            let (mut writer, mut reader, destination) = channel(256, auto_flush);
            let mut expected = Vec::new();
            for round in 0..2000u32 {
                destination.allow(next(3) * next(200));
                let len = 1 + next(300);
                let chunk: Vec<u8> = (0..len).map(|i| (round as usize + i) as u8).collect();
                let waker = std::task::Waker::noop();
                let mut cx = std::task::Context::from_waker(waker);
                if let std::task::Poll::Ready(n) = writer.poll_write_available(&mut cx, &chunk) {
                    expected.extend_from_slice(&chunk[..n.unwrap()]);
                }
                if next(4) == 0 {
                    smol::block_on(writer.flush()).unwrap();
                }
                if next(2) == 0 {
                    destination.pump(&mut reader, 1 + next(400));
                }
            }
            smol::block_on(writer.flush_and_close()).unwrap();
            while !reader.is_closed_for_read() {
                destination.pump(&mut reader, 512);
            }
            assert!(destination.calls() > 100, "write-through was exercised");
            assert!(*destination.taken.lock().unwrap() == expected);
        }
    }

    #[test]
    fn without_auto_flush_only_writes_that_publish_anyway_go_through() {
        let (mut writer, reader, destination) = channel(64, false);
        destination.allow(usize::MAX);
        smol::block_on(writer.write_all(b"small")).unwrap();
        assert_eq!(destination.calls(), 0, "a small write waits for flush");
        smol::block_on(writer.flush()).unwrap();
        assert_eq!(reader.available_for_read(), 5);
        drop(reader);
        let (mut writer, _reader, destination) = channel(64, false);
        destination.allow(usize::MAX);
        smol::block_on(writer.write_all(&[1; 32])).unwrap();
        assert_eq!(*destination.taken.lock().unwrap(), [1; 32]);
    }

    #[test]
    fn a_destination_error_cancels_the_channel_with_its_kind() {
        let (mut writer, reader, destination) = channel(64, true);
        *destination.fail_with.lock().unwrap() = Some(io::ErrorKind::ConnectionReset);
        let error = smol::block_on(writer.write_all(b"x")).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::ConnectionReset);
        let later = smol::block_on(writer.write_all(b"y")).unwrap_err();
        assert_eq!(later.kind(), io::ErrorKind::ConnectionReset);
        assert!(reader.closed_cause().is_some());
    }

    #[test]
    fn a_closed_channel_never_writes_through() {
        let (mut writer, _reader, destination) = channel(64, true);
        destination.allow(usize::MAX);
        writer.close().unwrap();
        let error = smol::block_on(writer.write_all(b"late")).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::BrokenPipe);
        assert_eq!(destination.calls(), 0);
    }
}
