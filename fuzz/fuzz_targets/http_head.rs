//! Arbitrary bytes, in arbitrary chunks, through the upgrade head buffer and both handshake
//! parsers: no panic, the head limit holds, and leftover bytes are exactly what follows the
//! head.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use wirestate_core::http::{ClientRequest, Feed, HeadBuffer, UpgradeRequest};

#[derive(Arbitrary, Debug)]
struct Input {
    limit: u16,
    cuts: Vec<u8>,
    bytes: Vec<u8>,
}

fuzz_target!(|input: Input| {
    let limit = usize::from(input.limit).max(4);
    let mut head = HeadBuffer::new(limit);
    let mut fed = 0;
    let mut cuts = input.cuts.iter().map(|c| usize::from(*c).max(1));
    while fed < input.bytes.len() {
        let step = cuts.next().unwrap_or(input.bytes.len());
        let chunk = &input.bytes[fed..(fed + step).min(input.bytes.len())];
        match head.feed(chunk) {
            Feed::Partial => assert!(head.buffered() <= limit),
            Feed::Complete {
                head: bytes,
                leftover,
            } => {
                assert!(bytes.len() <= limit);
                // The leftover is the tail of this very chunk.
                assert_eq!(leftover, &chunk[chunk.len() - leftover.len()..]);
                let _ = UpgradeRequest::parse(&bytes).map(|request| {
                    let _ = request.accept(&Default::default());
                });
                let client = ClientRequest::new("example.com", "/")
                    .build_with_key("dGhlIHNhbXBsZSBub25jZQ==")
                    .expect("a valid fixed request");
                let _ = client.check_response(&bytes);
                return;
            }
            Feed::TooLarge { limit: reported } => {
                assert_eq!(reported, limit);
                return;
            }
            _ => return,
        }
        fed += chunk.len();
    }
});
