//! Arbitrary bytes as one RSocket frame (message transports) and as a length-prefixed
//! stream in arbitrary chunks (TCP): no panic, a decoded frame re-encodes to a frame that
//! decodes the same, and the stream reader never holds more than one frame's worth.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use wirestate_core::bytes::{Bytes, BytesMut};
use wirestate_core::rsocket::{Frame, FrameReader};

#[derive(Arbitrary, Debug)]
struct Input {
    max_frame: u16,
    cuts: Vec<u8>,
    bytes: Vec<u8>,
}

fn round_trip(bytes: Bytes) {
    if let Ok(frame) = Frame::decode(bytes) {
        let mut out = BytesMut::new();
        frame.encode(&mut out);
        assert_eq!(out.len(), frame.encoded_len());
        let again = Frame::decode(out.freeze()).expect("our own encoding decodes");
        assert_eq!(again, frame);
    }
}

fuzz_target!(|input: Input| {
    round_trip(Bytes::copy_from_slice(&input.bytes));

    let max = usize::from(input.max_frame);
    let mut reader = FrameReader::new(max);
    let mut fed = 0;
    let mut cuts = input.cuts.iter().map(|c| usize::from(*c).max(1));
    while fed < input.bytes.len() {
        let step = cuts.next().unwrap_or(input.bytes.len());
        let end = (fed + step).min(input.bytes.len());
        reader.push(&input.bytes[fed..end]);
        fed = end;
        loop {
            match reader.next_frame() {
                Ok(Some(frame)) => {
                    assert!(frame.len() <= max);
                    round_trip(frame);
                }
                Ok(None) => break,
                Err(too_long) => {
                    assert!(too_long.len > max);
                    return;
                }
            }
        }
        assert!(
            reader.buffered() <= 3 + max + step,
            "{} buffered",
            reader.buffered()
        );
    }
});
