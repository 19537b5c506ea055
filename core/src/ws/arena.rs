//! [`Arena`]: the buffer received payloads are written into and complete messages are split
//! off, so that receiving allocates nothing per message in steady state.

use bytes::{Bytes, BytesMut};
use core::ops::{Deref, DerefMut};

/// The first buffer's size: an idle or quiet connection keeps little.
const FIRST_CHUNK: usize = 4 * 1024;

/// Buffers double up to this size while messages keep them busy.
const MAX_CHUNK: usize = 64 * 1024;

/// How far into its buffer the arena may walk before it starts over at the front.
const REWIND_AFTER: usize = 1024;

/// Two buffers taking turns. Each complete message is split off the current buffer as a
/// `Bytes` that shares it; once the application has dropped every message of a buffer, the
/// buffer is reused in place. While the current one is busy, the spare (whose messages are
/// likely gone by then) takes over, so a steady stream of messages needs no allocation.
/// A message larger than [`MAX_CHUNK`] gets a buffer of its own, released with it.
///
/// Sizes are `u32` (saturating): only buffers up to [`MAX_CHUNK`] are compared or kept as
/// the spare, and the narrow fields keep a connection's state small.
#[derive(Debug, Default)]
pub(crate) struct Arena {
    current: BytesMut,
    /// The size `current` was allocated with.
    current_size: u32,
    spare: BytesMut,
    /// The size `spare` was allocated with.
    spare_size: u32,
    /// The size of the next fresh buffer.
    chunk: u32,
    /// `current` was sized for one large message: do not keep it once that is split off.
    oversized: bool,
}

impl Arena {
    /// Makes room for `need` more bytes of the message being assembled, which may grow by
    /// at most `limit` more bytes (the message size limit; `need <= limit`).
    pub(crate) fn reserve(&mut self, need: usize, limit: usize) {
        self.rewind();
        if self.current.try_reclaim(need) {
            return; // room left, or every message of this buffer is gone
        }
        if self.current.is_empty() && self.spare.try_reclaim(need) {
            core::mem::swap(&mut self.current, &mut self.spare);
            core::mem::swap(&mut self.current_size, &mut self.spare_size);
            return;
        }
        self.chunk = self.chunk.clamp(FIRST_CHUNK as u32, MAX_CHUNK as u32);
        // Doubling what a growing message holds keeps reassembly linear.
        let size = need
            .max(self.current.len())
            .max(self.chunk as usize)
            .min(limit)
            .max(need);
        self.oversized = size > MAX_CHUNK;
        if self.current.is_empty() {
            let busy = core::mem::replace(&mut self.current, BytesMut::with_capacity(size));
            let busy_size = core::mem::replace(&mut self.current_size, narrow(size));
            // Keep the larger of the two as the spare: small early buffers die out.
            if !self.oversized && busy_size >= self.spare_size {
                self.spare = busy;
                self.spare_size = busy_size;
            }
        } else {
            self.current.reserve(size);
            self.current_size = narrow(self.current.capacity());
        }
        self.chunk = (self.chunk * 2).min(MAX_CHUNK as u32);
    }

    /// Once every message of the current buffer is gone, starts it over at its front,
    /// whose lines the last messages used: walking on through the rest of the buffer (up
    /// to 64 KiB per connection) would write each message to lines long out of the cache.
    /// Not before [`REWIND_AFTER`] bytes were used: small messages would pay the reclaim's
    /// call on every message (5 % of a small echo's instructions) to stay in lines that
    /// are still warm.
    fn rewind(&mut self) {
        let size = self.current_size as usize;
        if self.current.is_empty() && self.current.capacity() + REWIND_AFTER <= size {
            // Only reclaims, never allocates: false while a message holds the buffer.
            let _ = self.current.try_reclaim(size);
        }
    }

    /// Bytes allocated for both buffers (as sized when allocated).
    #[cfg(test)]
    pub(crate) fn allocated(&self) -> usize {
        self.current_size as usize + self.spare_size as usize
    }

    /// Splits off the first `len` bytes (a piece of a message delivered in pieces).
    pub(crate) fn take_front(&mut self, len: usize) -> Bytes {
        self.current.split_to(len).freeze()
    }

    /// Splits off the complete message.
    ///
    /// Always inlined: returned through memory, the `Bytes` was written with 8-byte stores
    /// and read back with 16-byte loads that waited for them (half of `whole_message`'s
    /// samples in the in-memory echo bench).
    #[inline(always)]
    pub(crate) fn take(&mut self) -> Bytes {
        let message = self.current.split().freeze();
        if core::mem::take(&mut self.oversized) {
            self.current = BytesMut::new(); // the large buffer leaves with its message
        }
        message
    }
}

/// A buffer size as stored: exact up to 4 GiB, saturated beyond (such a buffer is never kept).
fn narrow(size: usize) -> u32 {
    u32::try_from(size).unwrap_or(u32::MAX)
}

impl Deref for Arena {
    type Target = BytesMut;

    fn deref(&self) -> &BytesMut {
        &self.current
    }
}

impl DerefMut for Arena {
    fn deref_mut(&mut self) -> &mut BytesMut {
        &mut self.current
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    fn message(arena: &mut Arena, len: usize, limit: usize) -> Bytes {
        arena.reserve(len, limit);
        arena.extend(core::iter::repeat_n(len as u8, len));
        arena.take()
    }

    #[test]
    fn buffers_are_reused_once_their_messages_are_dropped() {
        let mut arena = Arena::default();
        let first = message(&mut arena, 20, 1 << 20);
        assert!(arena.capacity() >= FIRST_CHUNK - 20 && arena.capacity() < 2 * FIRST_CHUNK);
        let buffer = first.as_ptr() as usize;
        drop(first);
        // Each message is dropped before the next: the first buffer serves them all.
        for _ in 0..10_000 {
            let again = message(&mut arena, 20, 1 << 20).as_ptr() as usize;
            assert!((buffer..buffer + FIRST_CHUNK).contains(&again));
        }
    }

    #[test]
    fn a_buffer_whose_messages_are_gone_starts_over_at_its_front() {
        let mut arena = Arena::default();
        let first = message(&mut arena, 1100, 1 << 20);
        let front = first.as_ptr();
        drop(first);
        for _ in 0..100 {
            assert_eq!(message(&mut arena, 1100, 1 << 20).as_ptr(), front);
        }
        // Small messages walk a little way first.
        let walk = front as usize..front as usize + REWIND_AFTER + 100;
        for _ in 0..100 {
            assert!(walk.contains(&(message(&mut arena, 100, 1 << 20).as_ptr() as usize)));
        }
        // A held message keeps its bytes: the next one goes after it.
        let held = message(&mut arena, 1100, 1 << 20);
        let next = message(&mut arena, 1100, 1 << 20);
        assert_eq!(next.as_ptr(), held.as_ptr().wrapping_add(1100));
        assert!(held.iter().chain(&next).all(|&b| b == 1100usize as u8));
    }

    #[test]
    fn held_messages_keep_their_bytes_and_memory_stays_bounded() {
        let mut arena = Arena::default();
        let held: Vec<Bytes> = (0..10_000)
            .map(|i| message(&mut arena, i % 300, 1 << 20))
            .collect();
        for (i, bytes) in held.iter().enumerate() {
            assert_eq!(bytes.len(), i % 300);
            assert!(bytes.iter().all(|&b| b == (i % 300) as u8));
        }
        assert!(arena.capacity() <= MAX_CHUNK && arena.spare.capacity() <= MAX_CHUNK);
    }

    #[test]
    fn a_large_message_leaves_with_its_buffer() {
        let mut arena = Arena::default();
        let small = message(&mut arena, 10, 1 << 30);
        let large = message(&mut arena, 10 << 20, 1 << 30);
        assert_eq!(large.len(), 10 << 20);
        assert_eq!(arena.capacity(), 0, "not kept after the message");
        assert_eq!(small.len(), 10);
        // The limit caps a buffer: never more than the message may reach.
        let capped = message(&mut arena, 100, 100);
        assert_eq!(capped.len(), 100);
    }
}
