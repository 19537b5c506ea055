//! Arbitrary bytes through the WebSocket framing pieces, in arbitrary chunks: the
//! incremental header decoder agrees with the one-shot parser, the UTF-8 validator agrees
//! with `core::str::from_utf8`, and masking in pieces equals masking whole.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use wirestate_core::ws::{
    FrameRules, HeaderDecoder, HeaderStatus, Role, RsvBits, Utf8Validator, apply_mask, parse_header,
};

#[derive(Arbitrary, Debug)]
struct Input {
    server: bool,
    rsv1_allowed: bool,
    max_payload: u32,
    cuts: Vec<u8>,
    key: [u8; 4],
    bytes: Vec<u8>,
}

fn chunks<'a>(bytes: &'a [u8], cuts: &'a [u8]) -> impl Iterator<Item = &'a [u8]> {
    let mut rest = bytes;
    let mut cuts = cuts.iter().map(|c| usize::from(*c).max(1));
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let (chunk, tail) = rest.split_at(cuts.next().unwrap_or(rest.len()).min(rest.len()));
        rest = tail;
        Some(chunk)
    })
}

fuzz_target!(|input: Input| {
    let role = if input.server {
        Role::Server
    } else {
        Role::Client
    };
    let allowed = if input.rsv1_allowed {
        RsvBits::RSV1
    } else {
        RsvBits::NONE
    };
    let rules = FrameRules::new(role)
        .with_allowed_rsv(allowed)
        .with_max_payload_len(u64::from(input.max_payload));

    // Header: incremental over chunks == one shot over the whole input.
    let whole = parse_header(&input.bytes, &rules);
    let mut decoder = HeaderDecoder::new(rules);
    let mut offset = 0;
    let mut incremental = Ok(None);
    for chunk in chunks(&input.bytes, &input.cuts) {
        match decoder.decode(chunk) {
            Ok(HeaderStatus::Complete { header, consumed }) => {
                incremental = Ok(Some((header, offset + consumed)));
                break;
            }
            Ok(HeaderStatus::Partial) => offset += chunk.len(),
            Err(error) => {
                incremental = Err(error);
                break;
            }
        }
    }
    match (&whole, &incremental) {
        (Ok(Some(a)), Ok(Some(b))) => assert_eq!(a, b),
        (Err(a), Err(b)) => assert_eq!(a, b),
        (Ok(None), Ok(None)) => {}
        (a, b) => panic!("one-shot {a:?} but incremental {b:?}"),
    }

    // UTF-8: the streaming validator accepts exactly what from_utf8 accepts.
    let mut validator = Utf8Validator::new();
    let streamed = chunks(&input.bytes, &input.cuts)
        .try_for_each(|chunk| validator.feed(chunk))
        .and_then(|()| validator.finish());
    assert_eq!(streamed.is_ok(), core::str::from_utf8(&input.bytes).is_ok());

    // Masking in pieces equals masking whole.
    let mut whole_masked = input.bytes.clone();
    apply_mask(&mut whole_masked, input.key, 0);
    let mut pieces = input.bytes.clone();
    let mut at = 0;
    let cuts: Vec<usize> = chunks(&input.bytes, &input.cuts).map(<[u8]>::len).collect();
    for len in cuts {
        apply_mask(&mut pieces[at..at + len], input.key, at);
        at += len;
    }
    assert_eq!(pieces, whole_masked);
});
