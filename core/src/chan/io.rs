//! The read and write algorithms of a byte channel, written once over slice access.
//!
//! [`ByteSource`] and [`ByteSink`] need only a few primitives: the readable bytes as at most
//! two slices and `consume`; a contiguous free slot and `commit`. Everything else (exact and
//! typed reads and writes, peeking, `has_content`, discarding, lines through
//! [`LineReader`](super::LineReader)) is provided on top, so the single-owner [`Pipe`] and
//! the adapters' cross-thread channel halves share one implementation of Ktor's semantics.
//!
//! [`Pipe`]: super::Pipe

use alloc::vec::Vec;

use super::error::ChannelError;

/// The read side of a byte channel: published bytes and the end of the stream.
pub trait ByteSource {
    /// The bytes the reader may take now, as at most two slices (the ring may wrap).
    /// Fails with [`ChannelError::Cancelled`] once the channel was cancelled.
    fn readable(&self) -> Result<(&[u8], &[u8]), ChannelError>;

    /// Marks `n` readable bytes as read.
    ///
    /// # Panics
    /// If `n` exceeds [`available`](ByteSource::available).
    fn consume(&mut self, n: usize);

    /// Whether the writer closed gracefully: no byte will follow the readable ones.
    fn is_ended(&self) -> bool;

    /// The most bytes the channel holds.
    fn capacity(&self) -> usize;

    /// Readable bytes now (zero once cancelled).
    fn available(&self) -> usize {
        self.readable().map_or(0, |(a, b)| a.len() + b.len())
    }

    /// Whether the reader has seen everything: ended and drained, or cancelled.
    fn is_closed_for_read(&self) -> bool {
        match self.readable() {
            Ok((a, b)) => a.is_empty() && b.is_empty() && self.is_ended(),
            Err(_) => true,
        }
    }

    /// Copies up to `dst.len()` readable bytes out. `Ok(0)` means the end (or an empty
    /// `dst`); an open, empty channel answers [`ChannelError::Blocked`].
    fn read(&mut self, dst: &mut [u8]) -> Result<usize, ChannelError> {
        let n = {
            let (a, b) = self.readable()?;
            let n = ready_count(self, a.len() + b.len(), dst.len())?;
            copy_front(a, b, &mut dst[..n]);
            n
        };
        self.consume(n);
        Ok(n)
    }

    /// Appends up to `max` readable bytes to `out`; `Ok(0)` means the end.
    fn read_into_vec(&mut self, out: &mut Vec<u8>, max: usize) -> Result<usize, ChannelError> {
        let n = {
            let (a, b) = self.readable()?;
            let n = ready_count(self, a.len() + b.len(), max)?;
            let first = n.min(a.len());
            out.extend_from_slice(&a[..first]);
            out.extend_from_slice(&b[..n - first]);
            n
        };
        self.consume(n);
        Ok(n)
    }

    /// Whether at least `min` bytes are readable: `Ok(true)` if so, `Ok(false)` if the
    /// channel ended first (Ktor's `awaitContent`). A `min` above the capacity can never be
    /// met and is refused with [`ChannelError::MinExceedsCapacity`] instead of waiting forever.
    fn has_content(&self, min: usize) -> Result<bool, ChannelError> {
        let (a, b) = self.readable()?;
        if min > self.capacity() {
            return Err(ChannelError::MinExceedsCapacity {
                min,
                capacity: self.capacity(),
            });
        }
        if a.len() + b.len() >= min {
            Ok(true)
        } else if self.is_ended() {
            Ok(false)
        } else {
            Err(ChannelError::Blocked)
        }
    }

    /// Copies exactly `dst.len()` bytes without consuming them. Fails with
    /// [`ChannelError::UnexpectedEof`] if the channel ends first.
    fn peek(&self, dst: &mut [u8]) -> Result<(), ChannelError> {
        if self.has_content(dst.len())? {
            let (a, b) = self.readable()?;
            copy_front(a, b, dst);
            Ok(())
        } else {
            Err(ChannelError::UnexpectedEof {
                needed: dst.len(),
                available: self.available(),
            })
        }
    }

    /// Takes exactly `N` bytes, or nothing.
    fn read_array<const N: usize>(&mut self) -> Result<[u8; N], ChannelError>
    where
        Self: Sized,
    {
        let mut out = [0u8; N];
        self.peek(&mut out)?;
        self.consume(N);
        Ok(out)
    }

    /// Drops up to `max` readable bytes; returns the count. `Ok(0)` means the end.
    fn discard(&mut self, max: usize) -> Result<usize, ChannelError> {
        let available = self.available();
        self.readable()?; // surfaces a cancellation
        let n = ready_count(self, available, max)?;
        self.consume(n);
        Ok(n)
    }

    /// The readable byte at `index`, which must be below [`available`](Self::available).
    fn byte_at(&self, index: usize) -> u8 {
        let (a, b) = self.readable().unwrap_or((&[], &[]));
        if index < a.len() {
            a[index]
        } else {
            b[index - a.len()]
        }
    }

    /// Reads one byte.
    fn read_u8(&mut self) -> Result<u8, ChannelError>
    where
        Self: Sized,
    {
        self.read_array().map(u8::from_be_bytes)
    }

    /// Reads one signed byte.
    fn read_i8(&mut self) -> Result<i8, ChannelError>
    where
        Self: Sized,
    {
        self.read_array().map(i8::from_be_bytes)
    }
}

/// How many of `want` bytes a read may take when `available` are readable: `Ok(0)` at the
/// end (or when `want` is 0), [`ChannelError::Blocked`] when nothing is readable yet.
fn ready_count<S: ByteSource + ?Sized>(
    source: &S,
    available: usize,
    want: usize,
) -> Result<usize, ChannelError> {
    if want == 0 || available > 0 {
        Ok(want.min(available))
    } else if source.is_ended() {
        Ok(0)
    } else {
        Err(ChannelError::Blocked)
    }
}

/// Copies the first `dst.len()` bytes of the readable slices `a` then `b` into `dst`.
fn copy_front(a: &[u8], b: &[u8], dst: &mut [u8]) {
    let first = dst.len().min(a.len());
    copy_bytes(&mut dst[..first], &a[..first]);
    let rest = dst.len() - first;
    if rest > 0 {
        // Only when the ring wraps: skipping it saves a memcpy call on small reads.
        copy_bytes(&mut dst[first..], &b[..rest]);
    }
}

/// The write side of a byte channel: a free slot to write into, and `commit`.
pub trait ByteSink {
    /// `Ok` while the writer may write; otherwise why not (closed, or the cause).
    fn writable(&self) -> Result<(), ChannelError>;

    /// The free space as at most two regions (the ring may wrap), for writing in place:
    /// fill the first, then the second, then [`commit`](ByteSink::commit) the count. Both
    /// are empty when the channel is full. Fails once the channel is closed or cancelled.
    fn write_slots(&mut self) -> Result<(&mut [u8], &mut [u8]), ChannelError>;

    /// Marks the first `n` bytes of the [`write_slots`](ByteSink::write_slots) as written.
    /// Whether they become visible at once depends on the channel's flush rules.
    ///
    /// # Panics
    /// If `n` is larger than the free space.
    fn commit(&mut self, n: usize) -> Result<(), ChannelError>;

    /// The contiguous free space after the written bytes (the first of the
    /// [`write_slots`](ByteSink::write_slots)).
    fn write_slot(&mut self) -> Result<&mut [u8], ChannelError> {
        self.write_slots().map(|(first, _)| first)
    }

    /// Room for more bytes now.
    fn free_space(&self) -> usize;

    /// The most bytes the channel holds.
    fn capacity(&self) -> usize;

    /// Copies as much of `data` as fits; returns the count. An empty `data` returns `Ok(0)`;
    /// a full channel returns [`ChannelError::Blocked`].
    fn write(&mut self, data: &[u8]) -> Result<usize, ChannelError> {
        let (first, second) = self.write_slots()?;
        let a = first.len().min(data.len());
        copy_bytes(&mut first[..a], &data[..a]);
        let b = second.len().min(data.len() - a);
        if b > 0 {
            // Only when the free space wraps: skipping it saves a memcpy call.
            copy_bytes(&mut second[..b], &data[a..a + b]);
        }
        if a + b == 0 && !data.is_empty() {
            return Err(ChannelError::Blocked);
        }
        if a + b > 0 {
            self.commit(a + b)?;
        }
        Ok(a + b)
    }

    /// Writes all of `bytes` or nothing: for typed values that must not be split.
    fn write_array<const N: usize>(&mut self, bytes: [u8; N]) -> Result<(), ChannelError>
    where
        Self: Sized,
    {
        self.writable()?;
        if N > self.capacity() {
            return Err(ChannelError::MinExceedsCapacity {
                min: N,
                capacity: self.capacity(),
            });
        }
        if self.free_space() < N {
            return Err(ChannelError::Blocked);
        }
        let written = self.write(&bytes)?;
        debug_assert_eq!(written, N);
        Ok(())
    }

    /// Writes one byte.
    fn write_u8(&mut self, value: u8) -> Result<(), ChannelError>
    where
        Self: Sized,
    {
        self.write_array(value.to_be_bytes())
    }

    /// Writes one signed byte.
    fn write_i8(&mut self, value: i8) -> Result<(), ChannelError>
    where
        Self: Sized,
    {
        self.write_array(value.to_be_bytes())
    }
}

macro_rules! typed_access {
    ($( $ty:ty => $read_be:ident, $read_le:ident, $write_be:ident, $write_le:ident; )*) => {
        /// Typed reads: big-endian (Ktor's default) and little-endian (`_le`). Each takes the
        /// whole value or nothing.
        pub trait TypedRead: ByteSource + Sized {
            $(
                #[doc = concat!("Reads a big-endian `", stringify!($ty), "`.")]
                fn $read_be(&mut self) -> Result<$ty, ChannelError> {
                    self.read_array().map(<$ty>::from_be_bytes)
                }
                #[doc = concat!("Reads a little-endian `", stringify!($ty), "`.")]
                fn $read_le(&mut self) -> Result<$ty, ChannelError> {
                    self.read_array().map(<$ty>::from_le_bytes)
                }
            )*
        }

        /// Typed writes: big-endian (Ktor's default) and little-endian (`_le`). Each puts the
        /// whole value or nothing.
        pub trait TypedWrite: ByteSink + Sized {
            $(
                #[doc = concat!("Writes a big-endian `", stringify!($ty), "`.")]
                fn $write_be(&mut self, value: $ty) -> Result<(), ChannelError> {
                    self.write_array(value.to_be_bytes())
                }
                #[doc = concat!("Writes a little-endian `", stringify!($ty), "`.")]
                fn $write_le(&mut self, value: $ty) -> Result<(), ChannelError> {
                    self.write_array(value.to_le_bytes())
                }
            )*
        }
    };
}

typed_access! {
    u16 => read_u16, read_u16_le, write_u16, write_u16_le;
    i16 => read_i16, read_i16_le, write_i16, write_i16_le;
    u32 => read_u32, read_u32_le, write_u32, write_u32_le;
    i32 => read_i32, read_i32_le, write_i32, write_i32_le;
    u64 => read_u64, read_u64_le, write_u64, write_u64_le;
    i64 => read_i64, read_i64_le, write_i64, write_i64_le;
    f32 => read_f32, read_f32_le, write_f32, write_f32_le;
    f64 => read_f64, read_f64_le, write_f64, write_f64_le;
}

impl<S: ByteSource> TypedRead for S {}
impl<S: ByteSink> TypedWrite for S {}

/// Copies `src` into `dst` (equal lengths), like `copy_from_slice`. Typed values and small
/// frames are a few bytes: for those, fixed-size moves beat a call into `memcpy`; a large
/// copy stays off a slow path of some `memcpy`s (see `copy.rs`). Public for
/// channel implementations outside this crate (the adapters' lock-free ring).
///
/// # Panics
/// If the lengths differ.
#[inline]
pub fn copy_bytes(dst: &mut [u8], src: &[u8]) {
    assert_eq!(dst.len(), src.len(), "copy_bytes needs equal lengths");
    // Two overlapping fixed-size moves cover any length between the size and twice it. No
    // loop: LLVM turns a copy loop back into a `memcpy` call.
    let n = src.len();
    match n {
        0 => {}
        1..=3 => {
            dst[0] = src[0];
            dst[n / 2] = src[n / 2];
            dst[n - 1] = src[n - 1];
        }
        4..=7 => {
            dst[..4].copy_from_slice(&src[..4]);
            dst[n - 4..].copy_from_slice(&src[n - 4..]);
        }
        8..=16 => {
            dst[..8].copy_from_slice(&src[..8]);
            dst[n - 8..].copy_from_slice(&src[n - 8..]);
        }
        _ => crate::copy::copy(dst, src),
    }
}
