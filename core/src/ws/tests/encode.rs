//! Header encoding: minimal length forms, and round trips through the decoder that agree
//! with `FrameRules::check`.

use alloc::vec::Vec;

use bytes::BytesMut;

use super::hex;
use crate::ws::{FrameHeader, FrameRules, MAX_HEADER_LEN, Opcode, Role, RsvBits, parse_header};

const OPCODES: [Opcode; 6] = [
    Opcode::Continuation,
    Opcode::Text,
    Opcode::Binary,
    Opcode::Close,
    Opcode::Ping,
    Opcode::Pong,
];

const LENGTHS: [u64; 12] = [
    0,
    1,
    125,
    126,
    127,
    0xFFFF,
    0x1_0000,
    0xFFFF_FFFF,
    0x1_0000_0000,
    u64::MAX >> 1,
    1 << 63,
    u64::MAX,
];

fn encoded(header: &FrameHeader) -> Vec<u8> {
    let mut out = Vec::new();
    header.encode(&mut out);
    out
}

#[test]
fn lengths_take_the_shortest_form() {
    let binary = |len| encoded(&FrameHeader::new(Opcode::Binary, true, len));
    assert_eq!(binary(0), hex("82 00"));
    assert_eq!(binary(125), hex("82 7D"));
    assert_eq!(binary(126), hex("82 7E 007E"));
    assert_eq!(binary(0xFFFF), hex("82 7E FFFF"));
    assert_eq!(binary(0x1_0000), hex("82 7F 0000000000010000"));
    assert_eq!(binary(u64::MAX >> 1), hex("82 7F 7FFFFFFFFFFFFFFF"));
    let masked = FrameHeader::new(Opcode::Text, false, 0x1_0000).with_mask([1, 2, 3, 4]);
    assert_eq!(encoded(&masked), hex("01 FF 0000000000010000 01020304"));
    assert_eq!(masked.encoded_len(), MAX_HEADER_LEN);
}

#[test]
fn every_field_lands_in_its_bit() {
    let mut header = FrameHeader::new(Opcode::Pong, false, 3);
    header.rsv1 = true;
    assert_eq!(encoded(&header), hex("4A 03"));
    header = FrameHeader {
        rsv2: true,
        rsv3: true,
        fin: true,
        ..header
    };
    assert_eq!(encoded(&header), hex("FA 03"));
    assert_eq!(header.rsv(), RsvBits::ALL);
}

#[test]
fn encode_into_bytes_mut_and_array_agree() {
    let header = FrameHeader::new(Opcode::Close, true, 2).with_mask([9, 8, 7, 6]);
    let mut buf = BytesMut::new();
    header.encode(&mut buf);
    let mut array = [0u8; MAX_HEADER_LEN];
    let len = header.write_to(&mut array);
    assert_eq!(&buf[..], &array[..len]);
    assert_eq!(len, header.encoded_len());
}

/// Every combination of opcode, FIN, RSV, mask and boundary length: the decoder gives back
/// the header exactly when `FrameRules::check` accepts it, and the same error otherwise.
#[test]
fn round_trips_agree_with_the_rules() {
    let mut accepted = 0;
    for opcode in OPCODES {
        for len in LENGTHS {
            for flags in 0..32u8 {
                let header = FrameHeader {
                    fin: flags & 1 != 0,
                    rsv1: flags & 2 != 0,
                    rsv2: false,
                    rsv3: flags & 4 != 0,
                    opcode,
                    mask: (flags & 8 != 0).then_some([0xA5, 0x00, 0xFF, 0x5A]),
                    payload_len: len,
                };
                // A server expects masked frames, a client unmasked ones.
                let role = if flags & 16 != 0 {
                    Role::Server
                } else {
                    Role::Client
                };
                let rules = FrameRules::new(role)
                    .with_allowed_rsv(RsvBits::RSV1)
                    .with_max_payload_len(u64::MAX);
                let wire = encoded(&header);
                assert_eq!(wire.len(), header.encoded_len());
                let decoded = parse_header(&wire, &rules);
                match rules.check(&header) {
                    Ok(()) => {
                        assert_eq!(decoded, Ok(Some((header, wire.len()))));
                        accepted += 1;
                    }
                    Err(error) => assert_eq!(decoded, Err(error), "{header:?}"),
                }
            }
        }
    }
    assert!(accepted > 50, "only {accepted} valid combinations");
}

#[test]
fn role_helpers() {
    assert_eq!(Role::Client.peer(), Role::Server);
    assert_eq!(Role::Server.peer(), Role::Client);
    assert!(Role::Client.masks_outgoing());
    assert!(!Role::Server.masks_outgoing());
    // What one role sends, the peer's rules accept.
    let sent = FrameHeader::new(Opcode::Text, true, 5).with_mask([1, 2, 3, 4]);
    assert_eq!(FrameRules::new(Role::Client.peer()).check(&sent), Ok(()));
}

#[test]
fn opcode_values_and_classes() {
    for raw in 0..=255u8 {
        let opcode = Opcode::from_u8(raw);
        assert_eq!(
            opcode.is_some(),
            matches!(raw, 0x0..=0x2 | 0x8..=0xA),
            "{raw:#x}"
        );
        if let Some(opcode) = opcode {
            assert_eq!(opcode.as_u8(), raw);
            assert_eq!(opcode.is_control(), raw >= 0x8);
            assert_eq!(opcode.starts_message(), matches!(raw, 0x1 | 0x2));
        }
    }
    assert_eq!(alloc::format!("{}", Opcode::Pong), "pong");
}

#[test]
fn rsv_bits_set_operations() {
    let both = RsvBits::RSV1 | RsvBits::RSV3;
    assert_eq!(both.bits(), 0x50);
    assert!(both.contains(RsvBits::RSV1) && !both.contains(RsvBits::RSV2));
    assert_eq!(both.difference(RsvBits::RSV1), RsvBits::RSV3);
    assert!(RsvBits::NONE.is_empty() && !both.is_empty());
    assert_eq!(RsvBits::from_header_byte(0xFF), RsvBits::ALL);
    assert_eq!(alloc::format!("{both:?}"), "{RSV1, RSV3}");
}
