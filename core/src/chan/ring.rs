//! A fixed-capacity ring of bytes, allocated on first use.

use alloc::vec;
use alloc::vec::Vec;

/// A byte ring with a fixed capacity. Holds no heap memory until the first byte is written,
/// and rewinds to offset 0 whenever it empties so that steady-state copies stay contiguous.
#[derive(Debug)]
pub(crate) struct Ring {
    buf: Vec<u8>,
    capacity: usize,
    head: usize,
    len: usize,
}

impl Ring {
    pub(crate) const fn new(capacity: usize) -> Self {
        Ring {
            buf: Vec::new(),
            capacity,
            head: 0,
            len: 0,
        }
    }

    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn free(&self) -> usize {
        self.capacity - self.len
    }

    /// `index` wrapped into the ring; indices never exceed twice the capacity, so one
    /// conditional subtraction replaces a division on the hot path.
    fn wrap(&self, index: usize) -> usize {
        if index >= self.capacity {
            index - self.capacity
        } else {
            index
        }
    }

    fn tail(&self) -> usize {
        self.wrap(self.head + self.len)
    }

    pub(crate) fn is_allocated(&self) -> bool {
        !self.buf.is_empty()
    }

    fn allocate(&mut self) {
        if self.buf.is_empty() {
            self.buf = vec![0; self.capacity];
        }
    }

    /// The free space as at most two regions: after the tail, then (if the ring wraps)
    /// from the start up to the head. Producers write in place, then [`commit`](Ring::commit).
    pub(crate) fn write_slots(&mut self) -> (&mut [u8], &mut [u8]) {
        let free = self.free();
        if free == 0 {
            return (&mut [], &mut []);
        }
        self.allocate();
        let tail = self.tail();
        let first = free.min(self.capacity - tail);
        let (front, back) = self.buf.split_at_mut(tail);
        (&mut back[..first], &mut front[..free - first])
    }

    /// Marks the first `n` free bytes (see [`write_slots`](Ring::write_slots)) as written.
    pub(crate) fn commit(&mut self, n: usize) {
        assert!(n <= self.free(), "commit past the free space");
        self.len += n;
    }

    /// The first `n` bytes as at most two slices.
    pub(crate) fn slices(&self, n: usize) -> (&[u8], &[u8]) {
        debug_assert!(n <= self.len);
        if n == 0 {
            return (&[], &[]);
        }
        let first = n.min(self.capacity - self.head);
        (
            &self.buf[self.head..self.head + first],
            &self.buf[..n - first],
        )
    }

    /// The byte at `index` from the head.
    pub(crate) fn get(&self, index: usize) -> u8 {
        debug_assert!(index < self.len);
        self.buf[self.wrap(self.head + index)]
    }

    pub(crate) fn consume(&mut self, n: usize) {
        assert!(n <= self.len, "consume past the end");
        self.len -= n;
        self.head = if self.len == 0 {
            0
        } else {
            self.wrap(self.head + n)
        };
    }

    /// Drops the contents and gives the memory back.
    pub(crate) fn release(&mut self) {
        self.buf = Vec::new();
        self.head = 0;
        self.len = 0;
    }

    /// Gives the memory back if the ring is empty.
    pub(crate) fn shrink_if_empty(&mut self) {
        if self.len == 0 {
            self.release();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes as much of `data` as fits, through the in-place slots.
    fn push(ring: &mut Ring, data: &[u8]) -> usize {
        let mut written = 0;
        let (a, b) = ring.write_slots();
        for slot in [a, b] {
            let n = slot.len().min(data.len() - written);
            slot[..n].copy_from_slice(&data[written..written + n]);
            written += n;
        }
        ring.commit(written);
        written
    }

    fn copy_front(ring: &Ring, dst: &mut [u8]) {
        let (a, b) = ring.slices(dst.len());
        dst[..a.len()].copy_from_slice(a);
        dst[a.len()..].copy_from_slice(b);
    }

    #[test]
    fn wraps_and_rewinds() {
        let mut ring = Ring::new(8);
        assert!(!ring.is_allocated());
        assert_eq!(push(&mut ring, b"abcdef"), 6);
        ring.consume(4);
        assert_eq!(push(&mut ring, b"ghijklmn"), 6);
        assert_eq!(ring.len(), 8);
        let (a, b) = ring.slices(8);
        assert_eq!((a, b), (&b"efgh"[..], &b"ijkl"[..]));
        let mut out = [0u8; 5];
        copy_front(&ring, &mut out);
        assert_eq!(&out, b"efghi");
        assert_eq!(ring.get(7), b'l');
        ring.consume(8);
        assert_eq!(ring.slices(0), (&[][..], &[][..]));
        // Empty again: the next write starts at offset 0, contiguous.
        assert_eq!(ring.write_slots().0.len(), 8);
    }

    #[test]
    fn write_slot_is_the_free_region_after_the_tail() {
        let mut ring = Ring::new(8);
        push(&mut ring, b"abc");
        assert_eq!(ring.write_slots().0.len(), 5);
        ring.consume(2);
        ring.write_slots().0[..5].copy_from_slice(b"defgh");
        ring.commit(5);
        // Tail wrapped to 0; the slot now ends at the head.
        assert_eq!(ring.write_slots().0.len(), 2);
        ring.commit(2);
        assert_eq!(ring.write_slots().0.len(), 0);
        let mut out = [0u8; 8];
        copy_front(&ring, &mut out);
        assert_eq!(&out[..6], b"cdefgh");
    }

    #[test]
    fn release_frees_memory() {
        let mut ring = Ring::new(4);
        push(&mut ring, b"ab");
        ring.shrink_if_empty();
        assert!(ring.is_allocated());
        ring.consume(2);
        ring.shrink_if_empty();
        assert!(!ring.is_allocated());
    }
}
