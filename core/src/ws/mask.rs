//! Payload masking (RFC 6455 §5.3): XOR with a 4-byte key, the same operation both ways.

use bytes::BytesMut;

use crate::copy;

/// Masks or unmasks `buf` in place with `key`, where `buf` starts `offset` bytes into the
/// payload. Byte `i` of the payload is XORed with `key[i % 4]`, so a payload that arrives in
/// pieces is unmasked piece by piece, each with its own offset.
///
/// Runs eight bytes at a time in safe code; the compiler turns the word loop into vector
/// instructions. Unaligned buffers are fine.
#[inline]
pub fn apply_mask(buf: &mut [u8], key: [u8; 4], offset: usize) {
    let word = key_word(key, offset); // key[0] lines up with buf[0]
    let mut words = buf.chunks_exact_mut(8);
    for chunk in &mut words {
        // Always Ok: chunks_exact_mut yields 8-byte chunks.
        if let Ok(bytes) = <&mut [u8; 8]>::try_from(chunk) {
            *bytes = (u64::from_ne_bytes(*bytes) ^ word).to_ne_bytes();
        }
    }
    // The tail (at most 7 bytes) starts at a multiple of 8, so the key lines up again.
    for (byte, key_byte) in words.into_remainder().iter_mut().zip(word.to_ne_bytes()) {
        *byte ^= key_byte;
    }
}

/// Unmasks a whole payload (offset 0) like [`apply_mask`] and says whether the result is all
/// ASCII: one pass over a small text message instead of two.
#[inline]
pub(crate) fn unmask_is_ascii(buf: &mut [u8], key: [u8; 4]) -> bool {
    let [a, b, c, d] = key;
    let word = u64::from_ne_bytes([a, b, c, d, a, b, c, d]);
    let mut seen = 0u64;
    let mut words = buf.chunks_exact_mut(8);
    for chunk in &mut words {
        if let Ok(bytes) = <&mut [u8; 8]>::try_from(chunk) {
            let clear = u64::from_ne_bytes(*bytes) ^ word;
            seen |= clear;
            *bytes = clear.to_ne_bytes();
        }
    }
    let mut tail = 0u8;
    for (byte, key_byte) in words.into_remainder().iter_mut().zip(word.to_ne_bytes()) {
        *byte ^= key_byte;
        tail |= *byte;
    }
    seen & 0x8080_8080_8080_8080 == 0 && tail < 0x80
}

/// Payloads up to this size are unmasked a word at a time as they are appended.
const SMALL: usize = 128;

/// Appends `src` to `dst`, masked or unmasked with `mask`'s key from payload offset
/// `offset` as [`apply_mask`] would after the copy; without a key, as it is.
///
/// One pass over the source that only stores to `dst`: copying first and unmasking in
/// place reads back bytes `memcpy` has just stored, a load the store buffer cannot forward,
/// so it waits for the destination's line, often a cache miss (72 % of `extend_unmasked`'s
/// samples for small frames in the in-memory echo bench); and a large payload's
/// destination is rarely in the cache yet (16 KiB into a cold buffer took about 0.6 µs in
/// one pass against 0.8–1.0 µs copy-then-unmask).
pub(crate) fn extend_unmasked(
    dst: &mut BytesMut,
    src: &[u8],
    mask: Option<[u8; 4]>,
    offset: usize,
) {
    let Some(key) = mask else {
        return copy::extend(dst, src);
    };
    let word = key_word(key, offset);
    if src.len() <= SMALL {
        return append_unmasked(dst, src, word);
    }
    // Zeroing the room first is what safe code can do; the zeros are overwritten while the
    // lines are still in the cache.
    let start = dst.len();
    dst.resize(start + src.len(), 0);
    let mut out_words = dst[start..].chunks_exact_mut(8);
    let mut src_words = src.chunks_exact(8);
    for (out_word, src_word) in (&mut out_words).zip(&mut src_words) {
        // Always Ok: both yield 8-byte chunks.
        if let (Ok(out_word), Ok(src_word)) = (
            <&mut [u8; 8]>::try_from(out_word),
            <[u8; 8]>::try_from(src_word),
        ) {
            *out_word = (u64::from_ne_bytes(src_word) ^ word).to_ne_bytes();
        }
    }
    // The tail (at most 7 bytes) starts at a multiple of 8, so the key lines up again.
    let tail = out_words.into_remainder().iter_mut();
    for ((out, src), key_byte) in tail.zip(src_words.remainder()).zip(word.to_ne_bytes()) {
        *out = src ^ key_byte;
    }
}

/// Appends a short `src` XORed with `word` (the key lined up with `src[0]`), a word at a
/// time: at most sixteen word appends after one reserve, each a store and a length update,
/// and no zeroing.
#[inline]
fn append_unmasked(dst: &mut BytesMut, src: &[u8], word: u64) {
    dst.reserve(src.len());
    let mut words = src.chunks_exact(8);
    for chunk in &mut words {
        // Always Ok: chunks_exact yields 8-byte chunks.
        if let Ok(bytes) = <[u8; 8]>::try_from(chunk) {
            dst.extend_from_slice(&(u64::from_ne_bytes(bytes) ^ word).to_ne_bytes());
        }
    }
    // The tail (at most 7 bytes) starts at a multiple of 8, so the key lines up again.
    // Byte by byte: gathering it into a word first would read back bytes just stored.
    for (byte, key_byte) in words.remainder().iter().zip(word.to_ne_bytes()) {
        dst.extend_from_slice(&[byte ^ key_byte]);
    }
}

/// The key as a word whose first byte lines up with payload offset `offset`, twice over:
/// little-endian on both sides keeps the byte order independent of the target's endianness.
#[inline]
fn key_word(key: [u8; 4], offset: usize) -> u64 {
    let shift = 8 * (offset % 4) as u32;
    let [a, b, c, d] = u32::from_le_bytes(key).rotate_right(shift).to_le_bytes();
    u64::from_ne_bytes([a, b, c, d, a, b, c, d])
}
