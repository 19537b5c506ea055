//! Header decoding: the RFC 6455 §5.7 example frames in every chunking, and each rule
//! failing at the first byte that shows it.

use alloc::vec;
use alloc::vec::Vec;

use super::{chunkings, hex};
use crate::ws::{
    FrameHeader, FrameRules, HeaderDecoder, HeaderStatus, Opcode, ProtocolError, Role, RsvBits,
    apply_mask, parse_header,
};

const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];
const TRAILING: &[u8] = &[0x89, 0x00, 0xff];

/// One frame decoded from `chunks`: the header, the unmasked payload (unmasked piece by
/// piece, as it arrived) and the bytes after the payload.
fn decode_frame(rules: FrameRules, chunks: &[&[u8]]) -> (FrameHeader, Vec<u8>, Vec<u8>) {
    let mut decoder = HeaderDecoder::new(rules);
    let mut header = None;
    let (mut payload, mut leftover) = (Vec::new(), Vec::new());
    for chunk in chunks {
        let mut rest: &[u8] = chunk;
        let header = match header {
            Some(header) => header,
            None => match decoder.decode(chunk).expect("valid frame") {
                HeaderStatus::Complete {
                    header: found,
                    consumed,
                } => {
                    rest = &chunk[consumed..];
                    *header.insert(found)
                }
                HeaderStatus::Partial => {
                    assert!(decoder.buffered() > 0, "partial holds the bytes");
                    continue;
                }
            },
        };
        let want = header.payload_len as usize - payload.len();
        let (body, after) = rest.split_at(want.min(rest.len()));
        let mut piece = body.to_vec();
        if let Some(key) = header.mask {
            apply_mask(&mut piece, key, payload.len());
        }
        payload.extend_from_slice(&piece);
        leftover.extend_from_slice(after);
    }
    (header.expect("a whole header"), payload, leftover)
}

/// Checks one frame whole, byte by byte, split at each point, and with trailing bytes; and
/// that encoding the header gives back its bytes.
#[track_caller]
fn check_vector(role: Role, wire: &[u8], expected: FrameHeader, payload: &[u8]) {
    let rules = FrameRules::new(role).with_max_payload_len(1 << 20);
    let mut with_trailing = wire.to_vec();
    with_trailing.extend_from_slice(TRAILING);
    for (input, trailing) in [(wire, &[][..]), (&with_trailing[..], TRAILING)] {
        for chunks in chunkings(input, 40) {
            let (header, body, leftover) = decode_frame(rules, &chunks);
            assert_eq!(header, expected, "{} pieces", chunks.len());
            assert_eq!(body, payload, "{} pieces", chunks.len());
            assert_eq!(leftover, trailing, "{} pieces", chunks.len());
        }
    }
    let mut encoded = Vec::new();
    expected.encode(&mut encoded);
    assert_eq!(encoded, wire[..expected.encoded_len()]);
}

#[test]
fn rfc_unmasked_text_hello() {
    let header = FrameHeader::new(Opcode::Text, true, 5);
    check_vector(Role::Client, &hex("81 05 48656c6c6f"), header, b"Hello");
}

#[test]
fn rfc_masked_text_hello() {
    let header = FrameHeader::new(Opcode::Text, true, 5).with_mask(KEY);
    let wire = hex("81 85 37fa213d 7f9f4d5158");
    check_vector(Role::Server, &wire, header, b"Hello");
}

#[test]
fn rfc_fragmented_text_hel_lo() {
    let first = FrameHeader::new(Opcode::Text, false, 3);
    let second = FrameHeader::new(Opcode::Continuation, true, 2);
    check_vector(Role::Client, &hex("01 03 48656c"), first, b"Hel");
    check_vector(Role::Client, &hex("80 02 6c6f"), second, b"lo");

    // Both frames as one stream, byte by byte: each header appears once, in order.
    let stream = hex("01 03 48656c 80 02 6c6f");
    let mut decoder = HeaderDecoder::new(FrameRules::new(Role::Client));
    let (mut headers, mut skip) = (Vec::new(), 0u64);
    for byte in &stream {
        if skip > 0 {
            skip -= 1;
            continue;
        }
        if let HeaderStatus::Complete { header, consumed } = decoder.decode(&[*byte]).unwrap() {
            assert_eq!(consumed, 1);
            headers.push(header);
            skip = header.payload_len;
        }
    }
    assert_eq!(headers, [first, second]);
}

#[test]
fn rfc_unmasked_ping_and_masked_pong() {
    let ping = FrameHeader::new(Opcode::Ping, true, 5);
    check_vector(Role::Client, &hex("89 05 48656c6c6f"), ping, b"Hello");
    let pong = FrameHeader::new(Opcode::Pong, true, 5).with_mask(KEY);
    check_vector(
        Role::Server,
        &hex("8a 85 37fa213d 7f9f4d5158"),
        pong,
        b"Hello",
    );
}

#[test]
fn rfc_256_byte_binary_uses_16_bit_length() {
    let payload: Vec<u8> = (0..=255).collect();
    let mut wire = hex("82 7E 0100");
    wire.extend_from_slice(&payload);
    check_vector(
        Role::Client,
        &wire,
        FrameHeader::new(Opcode::Binary, true, 256),
        &payload,
    );
}

#[test]
fn rfc_64_kib_binary_uses_64_bit_length() {
    let payload: Vec<u8> = (0..65536u32).map(|i| (i * 31 % 251) as u8).collect();
    let mut wire = hex("82 7F 0000000000010000");
    wire.extend_from_slice(&payload);
    let header = FrameHeader::new(Opcode::Binary, true, 65536);
    check_vector(Role::Client, &wire, header, &payload);
}

#[test]
fn non_minimal_lengths_are_accepted() {
    let rules = FrameRules::new(Role::Client);
    let expected = |opcode| Some((FrameHeader::new(opcode, true, 5), 4));
    assert_eq!(
        parse_header(&hex("82 7E 0005"), &rules),
        Ok(expected(Opcode::Binary))
    );
    assert_eq!(
        parse_header(&hex("89 7E 0005"), &rules),
        Ok(expected(Opcode::Ping))
    );
    let long = parse_header(&hex("82 7F 0000000000000005"), &rules).unwrap();
    assert_eq!(long, Some((FrameHeader::new(Opcode::Binary, true, 5), 10)));
}

#[test]
fn parse_header_needs_whole_header_and_retains_nothing() {
    let wire = hex("81 85 37fa213d");
    let rules = FrameRules::new(Role::Server);
    for end in 0..wire.len() {
        assert_eq!(parse_header(&wire[..end], &rules), Ok(None), "{end} bytes");
    }
    assert!(parse_header(&wire, &rules).unwrap().is_some());
}

/// Feeds `wire` one byte at a time and checks that it fails with `error` exactly at byte
/// `at`, then that the decoder was reset and decodes a good frame.
#[track_caller]
fn check_fails_at(rules: FrameRules, wire: &[u8], at: usize, error: ProtocolError) {
    let mut decoder = HeaderDecoder::new(rules);
    for (index, byte) in wire.iter().enumerate() {
        match decoder.decode(&[*byte]) {
            Ok(HeaderStatus::Partial) => assert!(index < at, "no error by byte {index}"),
            Err(found) => {
                assert_eq!((index, found), (at, error));
                break;
            }
            Ok(complete) => panic!("decoded {complete:?}"),
        }
    }
    // Whole, the same error; and the stateless parser agrees.
    assert_eq!(HeaderDecoder::new(rules).decode(wire), Err(error));
    assert_eq!(parse_header(&wire[..=at], &rules), Err(error));
    assert_eq!(decoder.buffered(), 0);
    let good = if rules.role == Role::Server {
        hex("82 80 01020304")
    } else {
        hex("82 00")
    };
    assert!(matches!(
        decoder.decode(&good),
        Ok(HeaderStatus::Complete { .. })
    ));
}

#[test]
fn unclaimed_rsv_bits_fail_at_the_first_byte() {
    let client = FrameRules::new(Role::Client);
    check_fails_at(
        client,
        &hex("C1 00"),
        0,
        ProtocolError::ReservedBits(RsvBits::RSV1),
    );
    let deflate = client.with_allowed_rsv(RsvBits::RSV1);
    let wire = hex("F1 00");
    let unclaimed = RsvBits::RSV2 | RsvBits::RSV3;
    check_fails_at(deflate, &wire, 0, ProtocolError::ReservedBits(unclaimed));
    let (header, _) = parse_header(&hex("C1 00"), &deflate).unwrap().unwrap();
    assert!(header.rsv1 && !header.rsv2 && !header.rsv3);
    assert_eq!(header.rsv(), RsvBits::RSV1);
}

#[test]
fn reserved_opcodes_fail_at_the_first_byte() {
    let rules = FrameRules::new(Role::Client);
    for raw in (0x3..=0x7).chain(0xB..=0xF) {
        check_fails_at(
            rules,
            &[0x80 | raw, 0x00],
            0,
            ProtocolError::ReservedOpcode(raw),
        );
    }
}

#[test]
fn fragmented_control_frames_fail_at_the_first_byte() {
    let rules = FrameRules::new(Role::Client);
    for opcode in [Opcode::Close, Opcode::Ping, Opcode::Pong] {
        let error = ProtocolError::FragmentedControlFrame(opcode);
        check_fails_at(rules, &[opcode.as_u8(), 0x00], 0, error);
    }
}

#[test]
fn control_frames_over_125_bytes_fail_at_the_length() {
    let rules = FrameRules::new(Role::Client);
    let error = |opcode, len| ProtocolError::ControlFrameTooLong { opcode, len };
    check_fails_at(rules, &hex("89 7E 007E"), 3, error(Opcode::Ping, 126));
    check_fails_at(
        rules,
        &hex("88 7F 0000000000010000"),
        9,
        error(Opcode::Close, 65536),
    );
    assert!(parse_header(&hex("8A 7D"), &rules).unwrap().is_some());
}

#[test]
fn length_with_high_bit_fails_even_without_a_limit() {
    let rules = FrameRules::new(Role::Client).with_max_payload_len(u64::MAX);
    check_fails_at(
        rules,
        &hex("82 7F 8000000000000000"),
        9,
        ProtocolError::LengthHighBitSet,
    );
    let max = parse_header(&hex("82 7F 7FFFFFFFFFFFFFFF"), &rules).unwrap();
    assert_eq!(max.unwrap().0.payload_len, u64::MAX >> 1);
}

#[test]
fn masking_rules_follow_the_role() {
    let server = FrameRules::new(Role::Server);
    check_fails_at(
        server,
        &hex("81 05 48656c6c6f"),
        1,
        ProtocolError::UnmaskedFrame,
    );
    let client = FrameRules::new(Role::Client);
    check_fails_at(
        client,
        &hex("81 85 37fa213d"),
        1,
        ProtocolError::MaskedFrame,
    );
}

#[test]
fn frames_over_the_limit_fail_with_1009() {
    let rules = FrameRules::new(Role::Client).with_max_payload_len(1000);
    let error = ProtocolError::FrameTooBig {
        len: 1001,
        max: 1000,
    };
    check_fails_at(rules, &hex("82 7E 03E9"), 3, error);
    assert_eq!(error.close_code().as_u16(), 1009);
    assert!(parse_header(&hex("82 7E 03E8"), &rules).unwrap().is_some());
    // The default limit is 16 MiB.
    let default = FrameRules::new(Role::Client);
    let error = ProtocolError::FrameTooBig {
        len: (16 << 20) + 1,
        max: 16 << 20,
    };
    check_fails_at(default, &hex("82 7F 0000000001000001"), 9, error);
}

#[test]
fn checks_run_in_wire_order() {
    // Reserved bits and a reserved opcode in one byte: RSV is reported first.
    let rules = FrameRules::new(Role::Server);
    assert_eq!(
        parse_header(&[0xC3], &rules),
        Err(ProtocolError::ReservedBits(RsvBits::RSV1))
    );
    // Unmasked and too long: the mask bit comes first.
    assert_eq!(
        parse_header(&hex("89 7E 00FF"), &rules),
        Err(ProtocolError::UnmaskedFrame)
    );
}

#[test]
fn set_rules_applies_to_held_bytes() {
    let mut decoder = HeaderDecoder::new(FrameRules::new(Role::Client));
    assert_eq!(
        decoder.decode(&[0xC1]),
        Err(ProtocolError::ReservedBits(RsvBits::RSV1))
    );
    decoder.set_rules(decoder.rules().with_allowed_rsv(RsvBits::RSV1));
    assert_eq!(decoder.decode(&[0xC1]), Ok(HeaderStatus::Partial));
    decoder.set_rules(FrameRules::new(Role::Client));
    assert_eq!(
        decoder.decode(&[0x00]),
        Err(ProtocolError::ReservedBits(RsvBits::RSV1))
    );
    assert_eq!(decoder.buffered(), 0);
    let _ = decoder.decode(&[0x82]);
    decoder.reset();
    assert_eq!(decoder.buffered(), 0);
}

#[test]
fn arbitrary_bytes_never_panic() {
    // Every two-byte start, then random tails, through both decoders.
    let mut rng = crate::Rng::from_u64(0x5eed);
    let roles = [Role::Client, Role::Server];
    for first in 0..=255u8 {
        for second in 0..=255u8 {
            let mut wire = vec![first, second];
            let tail_len = (rng.next_u32() % 13) as usize;
            wire.extend((0..tail_len).map(|_| rng.next_u32() as u8));
            let role = roles[usize::from(first & 1)];
            let rules = FrameRules::new(role).with_allowed_rsv(RsvBits::from_header_byte(second));
            let whole = parse_header(&wire, &rules);
            let mut decoder = HeaderDecoder::new(rules);
            let mut incremental = Ok(None);
            for (index, byte) in wire.iter().enumerate() {
                match decoder.decode(&[*byte]) {
                    Ok(HeaderStatus::Partial) => continue,
                    Ok(HeaderStatus::Complete { header, .. }) => {
                        incremental = Ok(Some((header, index + 1)))
                    }
                    Err(error) => incremental = Err(error),
                }
                break;
            }
            assert_eq!(whole, incremental, "{wire:02x?}");
        }
    }
}
