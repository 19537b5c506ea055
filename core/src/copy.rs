//! Large copies that stay off a slow path of some `memcpy`s.
//!
//! From about 2.5 KiB on, glibc's `memcpy` copies with `rep movsb` on CPUs that announce a
//! fast one, and on AMD Zen 3 and later (EPYC here, with glibc 2.36) that instruction
//! slows down about thirty times when the destination lies 1 to 15 bytes past the source
//! modulo the 4 KiB page: a 16 KiB copy then takes about 7 µs instead of 0.2. Buffers of
//! received frames hit that distance often, since header lengths shift payloads by a few
//! bytes against where they land. A copy at such a distance goes in pieces below the
//! `rep movsb` threshold, which the library copies with vector moves at full speed; every
//! other copy is one `memcpy`.

use bytes::BytesMut;

/// Pieces of a copy at a slow distance: below every `rep movsb` threshold glibc picks.
const PIECE: usize = 2048;

/// Whether `dst` lies just past `src` modulo the page (with a margin over the 1 to 15
/// bytes measured).
#[inline]
fn slow_distance(dst: *const u8, src: *const u8) -> bool {
    let distance = (dst as usize).wrapping_sub(src as usize) % 4096;
    (1..64).contains(&distance)
}

/// Copies `src` into `dst` (equal lengths), as `copy_from_slice` does.
#[inline]
pub(crate) fn copy(dst: &mut [u8], src: &[u8]) {
    if src.len() <= PIECE || !slow_distance(dst.as_ptr(), src.as_ptr()) {
        return dst.copy_from_slice(src);
    }
    for (dst, src) in dst.chunks_mut(PIECE).zip(src.chunks(PIECE)) {
        dst.copy_from_slice(src);
    }
}

/// Appends `src` to `dst`, as `extend_from_slice` does.
#[inline]
pub(crate) fn extend(dst: &mut BytesMut, src: &[u8]) {
    if src.len() > PIECE {
        dst.reserve(src.len());
        // Where the bytes will land: the buffer's end (no reallocation after the reserve).
        let end = dst.as_ptr().wrapping_add(dst.len());
        if slow_distance(end, src.as_ptr()) {
            return src
                .chunks(PIECE)
                .for_each(|piece| dst.extend_from_slice(piece));
        }
    }
    dst.extend_from_slice(src);
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    /// Every distance modulo the page, for lengths around the piece size: the bytes land
    /// whole and in order.
    #[test]
    fn copies_are_exact_at_every_distance() {
        let src: alloc::vec::Vec<u8> = (0..20_000u32).map(|i| (i * 7 + i / 251) as u8).collect();
        let mut dst = vec![0u8; 30_000];
        for distance in (0..4096).step_by(3).chain(1..64) {
            for len in [0, 1, PIECE - 1, PIECE, PIECE + 1, 3 * PIECE + 17, 16_384] {
                let at =
                    (src.as_ptr() as usize + distance).wrapping_sub(dst.as_ptr() as usize) % 4096;
                let (src, dst) = (&src[..len], &mut dst[at..at + len]);
                assert_eq!(
                    slow_distance(dst.as_ptr(), src.as_ptr()),
                    (1..64).contains(&distance)
                );
                dst.fill(0);
                copy(dst, src);
                assert_eq!(dst, src, "distance {distance}, {len} bytes");
            }
        }
    }

    #[test]
    fn appends_are_exact_at_every_distance() {
        let src: alloc::vec::Vec<u8> = (0..20_000u32).map(|i| (i * 13 + 5) as u8).collect();
        for distance in [0, 1, 8, 15, 63, 64, 2000] {
            for len in [1, PIECE + 1, 16_384] {
                let mut dst = BytesMut::with_capacity(len + 8192);
                // Fill up to the wanted distance between the buffer's end and the source.
                let end = dst.as_ptr() as usize;
                let fill = (src.as_ptr() as usize + distance).wrapping_sub(end) % 4096;
                dst.resize(fill, 0xee);
                extend(&mut dst, &src[..len]);
                assert_eq!(dst.len(), fill + len);
                assert!(dst[..fill].iter().all(|&b| b == 0xee));
                assert_eq!(
                    &dst[fill..],
                    &src[..len],
                    "distance {distance}, {len} bytes"
                );
            }
        }
    }
}
