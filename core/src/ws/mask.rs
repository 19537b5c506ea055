//! Payload masking (RFC 6455 §5.3): XOR with a 4-byte key, the same operation both ways.

/// Masks or unmasks `buf` in place with `key`, where `buf` starts `offset` bytes into the
/// payload. Byte `i` of the payload is XORed with `key[i % 4]`, so a payload that arrives in
/// pieces is unmasked piece by piece, each with its own offset.
///
/// Runs eight bytes at a time in safe code; the compiler turns the word loop into vector
/// instructions. Unaligned buffers are fine.
#[inline]
pub fn apply_mask(buf: &mut [u8], key: [u8; 4], offset: usize) {
    // Rotate the key so that its first byte lines up with buf[0]. Little-endian on both
    // sides keeps the byte order independent of the target's endianness.
    let shift = 8 * (offset % 4) as u32;
    let key = u32::from_le_bytes(key).rotate_right(shift).to_le_bytes();
    let [a, b, c, d] = key;
    let word = u64::from_ne_bytes([a, b, c, d, a, b, c, d]);

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
