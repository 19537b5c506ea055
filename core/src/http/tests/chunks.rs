//! Heads in any chunking, trailing bytes left untouched, and garbage never panicking.

use alloc::vec;
use alloc::vec::Vec;

use super::*;

#[test]
fn request_whole_byte_by_byte_and_with_trailing_bytes() {
    let bytes = request_with("Origin", "Origin: x");
    let trailing: &[u8] = b"\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58";
    let mut input = bytes.clone();
    input.extend_from_slice(trailing);
    let singles: Vec<&[u8]> = input.chunks(1).collect();
    for chunks in [vec![&bytes[..]], vec![&input[..]], singles] {
        let (got, leftover) = collect(&chunks);
        assert_eq!(got, bytes);
        let expected: &[u8] = if chunks.len() == 1 && chunks[0].len() == bytes.len() {
            b""
        } else {
            trailing
        };
        assert_eq!(leftover, expected);
        assert_eq!(UpgradeRequest::parse(&got).unwrap().path(), "/chat");
    }
}

#[cfg(feature = "testing")]
#[test]
fn response_in_every_chunking() {
    use crate::testing::vectors::check_decode;
    use alloc::string::{String, ToString};
    let handshake = client();
    let bytes = response(&[
        "HTTP/1.1 101 Switching Protocols",
        "Upgrade: websocket",
        "Connection: Upgrade",
        "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
        "Sec-WebSocket-Protocol: chat",
    ]);
    check_decode(
        &bytes,
        b"\x81\x05Hello",
        &Some("chat".to_string()),
        |chunks| {
            let (head, leftover) = collect(chunks);
            let accepted = handshake.check_response(&head).unwrap();
            (accepted.subprotocol().map(String::from), leftover)
        },
    );
}

#[test]
fn never_panics_on_garbage() {
    // Every prefix of a valid head, and the head with each byte replaced, either parses or
    // fails with a typed error.
    let bytes = request_with("Origin", "Origin: x");
    for end in 0..=bytes.len() {
        let _ = UpgradeRequest::parse(&bytes[..end]);
        let _ = client().check_response(&bytes[..end]);
    }
    for i in 0..bytes.len() {
        for b in [0u8, b'\r', b'\n', b' ', b',', b';', b'"', 0xff] {
            let mut mutated = bytes.clone();
            mutated[i] = b;
            let _ = UpgradeRequest::parse(&mutated);
            let _ = client().check_response(&mutated);
            let _ = HeadBuffer::new(64).feed(&mutated);
        }
    }
}
