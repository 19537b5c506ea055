//! Masking: the word-at-a-time version against a byte-at-a-time reference.

use alloc::vec::Vec;

use crate::Rng;
use crate::ws::apply_mask;

/// The RFC 6455 §5.3 definition, one byte at a time.
fn apply_mask_reference(buf: &mut [u8], key: [u8; 4], offset: usize) {
    for (i, byte) in buf.iter_mut().enumerate() {
        *byte ^= key[(offset + i) % 4];
    }
}

fn random_bytes(rng: &mut Rng, len: usize) -> Vec<u8> {
    let mut bytes = alloc::vec![0u8; len];
    rng.fill_bytes(&mut bytes);
    bytes
}

#[test]
fn rfc_example_key() {
    let mut payload = *b"Hello";
    apply_mask(&mut payload, [0x37, 0xfa, 0x21, 0x3d], 0);
    assert_eq!(payload, [0x7f, 0x9f, 0x4d, 0x51, 0x58]);
}

#[test]
fn matches_reference_for_every_offset_and_short_length() {
    let mut rng = Rng::from_u64(1);
    for len in 0..=67 {
        for offset in 0..12 {
            // Also at every alignment of the buffer start.
            for start in 0..8 {
                let key = rng.next_u32().to_le_bytes();
                let data = random_bytes(&mut rng, start + len);
                let mut fast = data.clone();
                let mut slow = data.clone();
                apply_mask(&mut fast[start..], key, offset);
                apply_mask_reference(&mut slow[start..], key, offset);
                assert_eq!(fast, slow, "len {len} offset {offset} start {start}");
            }
        }
    }
}

#[test]
fn matches_reference_for_random_long_lengths() {
    let mut rng = Rng::from_u64(2);
    for _ in 0..200 {
        let len = (rng.next_u32() % 5000) as usize;
        let offset = rng.next_u64() as usize;
        let key = rng.next_u32().to_le_bytes();
        let data = random_bytes(&mut rng, len);
        let (mut fast, mut slow) = (data.clone(), data);
        apply_mask(&mut fast, key, offset);
        apply_mask_reference(&mut slow, key, offset);
        assert_eq!(fast, slow, "len {len} offset {offset}");
    }
}

#[test]
fn pieces_with_offsets_equal_the_whole() {
    let mut rng = Rng::from_u64(3);
    let key = [0xde, 0xad, 0xbe, 0xef];
    let data = random_bytes(&mut rng, 300);
    let mut whole = data.clone();
    apply_mask(&mut whole, key, 0);
    for _ in 0..100 {
        let mut pieces = data.clone();
        let mut at = 0;
        while at < pieces.len() {
            let end = (at + 1 + (rng.next_u32() % 40) as usize).min(pieces.len());
            apply_mask(&mut pieces[at..end], key, at);
            at = end;
        }
        assert_eq!(pieces, whole);
    }
    // Masking twice restores the data.
    apply_mask(&mut whole, key, 0);
    assert_eq!(whole, data);
}

#[test]
fn unmask_is_ascii_unmasks_and_finds_any_high_byte() {
    let mut rng = Rng::from_u64(3);
    for len in 0..=70 {
        let key = rng.next_u32().to_le_bytes();
        let mut clear: Vec<u8> = random_bytes(&mut rng, len)
            .iter()
            .map(|b| b & 0x7f)
            .collect();
        // Every position of a single non-ASCII byte, and none.
        for high in (0..len).map(Some).chain([None]) {
            if let Some(at) = high {
                clear[at] |= 0x80;
            }
            let mut masked = clear.clone();
            apply_mask_reference(&mut masked, key, 0);
            let ascii = crate::ws::mask::unmask_is_ascii(&mut masked, key);
            assert_eq!(masked, clear, "len {len}");
            assert_eq!(ascii, high.is_none(), "len {len} high byte at {high:?}");
            if let Some(at) = high {
                clear[at] &= 0x7f;
            }
        }
    }
}

#[test]
fn extend_unmasked_appends_what_copy_then_unmask_gives() {
    use bytes::BytesMut;
    let mut rng = Rng::from_u64(4);
    for len in (0..=70).chain([128, 129, 511, 512, 513, 4099]) {
        let key = rng.next_u32().to_le_bytes();
        let masked = random_bytes(&mut rng, len);
        for offset in 0..4 {
            let mut expected = masked.clone();
            apply_mask_reference(&mut expected, key, offset);
            let mut dst = BytesMut::from(&b"kept"[..]);
            crate::ws::mask::extend_unmasked(&mut dst, &masked, Some(key), offset);
            assert_eq!(&dst[..4], b"kept");
            assert_eq!(&dst[4..], &expected[..], "len {len} offset {offset}");
        }
        let mut dst = BytesMut::from(&b"kept"[..]);
        crate::ws::mask::extend_unmasked(&mut dst, &masked, None, 1);
        assert_eq!(&dst[4..], &masked[..], "len {len} without a key");
    }
}
