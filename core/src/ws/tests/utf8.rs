//! The incremental UTF-8 validator against `core::str::from_utf8`, in every chunking.

use alloc::vec::Vec;

use super::{chunkings, hex};
use crate::Rng;
use crate::ws::{ProtocolError, Utf8Validator};

/// What `from_utf8` says about `bytes`, in the validator's terms.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    Valid,
    /// Every byte could start valid UTF-8, but the end cuts a character.
    Truncated,
    /// The first byte at which no valid UTF-8 could continue.
    InvalidAt(u64),
}

/// The reference: the shortest prefix that `from_utf8` rejects with an `error_len`
/// (prefixes that are merely cut short have none).
fn reference(bytes: &[u8]) -> Verdict {
    for end in 1..=bytes.len() {
        if let Err(error) = core::str::from_utf8(&bytes[..end]) {
            if error.error_len().is_some() {
                return Verdict::InvalidAt(end as u64 - 1);
            }
        }
    }
    match core::str::from_utf8(bytes) {
        Ok(_) => Verdict::Valid,
        Err(_) => Verdict::Truncated,
    }
}

/// Feeds `chunks` and reports the verdict; checks that a failure comes from the chunk that
/// holds the bad byte, not before and not later.
fn validate(chunks: &[&[u8]]) -> Verdict {
    let mut validator = Utf8Validator::new();
    let mut fed = 0u64;
    for chunk in chunks {
        if let Err(error) = validator.feed(chunk) {
            let position = error.position();
            assert!(!error.is_truncated());
            assert!(
                position >= fed && position < fed + chunk.len() as u64,
                "{chunks:02x?}"
            );
            // The error sticks until the message ends.
            assert_eq!(validator.feed(b"a"), Err(error));
            assert_eq!(validator.finish(), Err(error));
            return Verdict::InvalidAt(position);
        }
        fed += chunk.len() as u64;
    }
    match validator.finish() {
        Ok(()) => Verdict::Valid,
        Err(error) => {
            assert!(error.is_truncated());
            assert_eq!(error.position(), fed);
            Verdict::Truncated
        }
    }
}

#[track_caller]
fn check_all_chunkings(bytes: &[u8]) {
    let expected = reference(bytes);
    for chunks in chunkings(bytes, usize::MAX) {
        assert_eq!(
            validate(&chunks),
            expected,
            "{bytes:02x?} in {} pieces",
            chunks.len()
        );
    }
    // Three pieces, for short inputs: a character can span all three.
    if bytes.len() <= 12 {
        for a in 0..=bytes.len() {
            for b in a..=bytes.len() {
                let chunks = [&bytes[..a], &bytes[a..b], &bytes[b..]];
                assert_eq!(validate(&chunks), expected, "{bytes:02x?} cut at {a}, {b}");
            }
        }
    }
}

#[test]
fn classic_invalid_sequences_fail_at_the_earliest_byte() {
    let cases: &[(&[u8], Verdict)] = &[
        (b"\xC0\x80", Verdict::InvalidAt(0)), // overlong NUL: 0xC0 is never valid
        (b"\xE0\x80\x80", Verdict::InvalidAt(1)), // overlong 3-byte form
        (b"\xF0\x80\x80\x80", Verdict::InvalidAt(1)), // overlong 4-byte form
        (b"\xED\xA0\x80", Verdict::InvalidAt(1)), // surrogate U+D800
        (b"\xED\xBF\xBF", Verdict::InvalidAt(1)), // surrogate U+DFFF
        (b"\xF4\x90\x80\x80", Verdict::InvalidAt(1)), // U+110000, above U+10FFFF
        (b"\xF5\x80\x80\x80", Verdict::InvalidAt(0)), // lead byte past U+10FFFF
        (b"\xFF", Verdict::InvalidAt(0)),
        (b"a\x80", Verdict::InvalidAt(1)), // stray continuation byte
        (b"\xE2\x82a", Verdict::InvalidAt(2)), // missing continuation byte
        (b"\xF0\x9F\x98", Verdict::Truncated), // cut inside U+1F600
        (b"\xE2\x82", Verdict::Truncated), // cut inside U+20AC
        (b"\xF4\x8F\xBF\xBF", Verdict::Valid), // U+10FFFF
        (b"\xEE\x80\x80", Verdict::Valid), // U+E000, just past the surrogates
        (b"", Verdict::Valid),
    ];
    for (bytes, verdict) in cases {
        assert_eq!(&reference(bytes), verdict, "reference for {bytes:02x?}");
        check_all_chunkings(bytes);
    }
}

#[test]
fn autobahn_style_payloads_fail_inside_the_text() {
    // "κόσμε" (with U+1F79 as Autobahn spells it), then a code point above U+10FFFF
    // (Autobahn 6.4.1) or a surrogate, then more text.
    let kosme = hex("CEBA E1BDB9 CF83 CEBC CEB5");
    let mut above = kosme.clone();
    above.extend_from_slice(b"\xF4\x90\x80\x80edited");
    check_all_chunkings(&above);
    assert_eq!(reference(&above), Verdict::InvalidAt(12));
    let mut surrogate = kosme;
    surrogate.extend_from_slice(b"\xED\xA0\x80edited");
    assert_eq!(reference(&surrogate), Verdict::InvalidAt(12));
    check_all_chunkings(&surrogate);
}

/// Random strings that are mostly valid UTF-8 with some bytes corrupted, so every outcome
/// (valid, truncated, invalid at each kind of byte) comes up often.
#[test]
fn random_inputs_match_from_utf8_in_every_chunking() {
    let mut rng = Rng::from_u64(6);
    let pieces: [&str; 8] = [
        "a",
        "é",
        "€",
        "😀",
        "\u{10FFFF}",
        "\u{FFFF}",
        "\u{800}",
        "\u{7F}",
    ];
    let mut outcomes = [0usize; 3];
    for _ in 0..3000 {
        let mut bytes = Vec::new();
        while bytes.len() < (rng.next_u32() % 20) as usize {
            bytes.extend_from_slice(pieces[(rng.next_u32() % 8) as usize].as_bytes());
        }
        for _ in 0..rng.next_u32() % 3 {
            if !bytes.is_empty() {
                let at = (rng.next_u32() as usize) % bytes.len();
                bytes[at] = rng.next_u32() as u8;
            }
        }
        if rng.next_u32() % 4 == 0 {
            bytes.truncate(bytes.len().saturating_sub(1));
        }
        outcomes[match reference(&bytes) {
            Verdict::Valid => 0,
            Verdict::Truncated => 1,
            Verdict::InvalidAt(_) => 2,
        }] += 1;
        check_all_chunkings(&bytes);
    }
    assert!(outcomes.iter().all(|&n| n > 100), "outcomes {outcomes:?}");
}

#[test]
fn finish_resets_for_the_next_message() {
    let mut validator = Utf8Validator::new();
    validator.feed(b"\xE2\x82").unwrap();
    assert_eq!(validator.incomplete_len(), 2);
    let error = validator.finish().unwrap_err();
    assert_eq!((error.position(), error.is_truncated()), (2, true));
    assert_eq!(ProtocolError::from(error), ProtocolError::InvalidUtf8);
    assert_eq!(validator.incomplete_len(), 0);
    validator.feed(b"\xE2").unwrap();
    validator.feed(b"\x82").unwrap();
    validator.feed(b"").unwrap();
    validator.feed(b"\xAC ok").unwrap();
    assert_eq!(validator.finish(), Ok(()));

    validator.feed(b"\xFF").unwrap_err();
    validator.reset();
    assert_eq!(validator.feed(b"fine"), Ok(()));
}

#[test]
fn errors_display_their_position() {
    let mut validator = Utf8Validator::new();
    let error = validator.feed(b"ab\xC0").unwrap_err();
    assert_eq!(alloc::format!("{error}"), "invalid UTF-8 at byte 2");
}
