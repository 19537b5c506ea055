//! Close codes and close payloads.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use super::hex;
use crate::ws::{
    CloseBuildError, CloseCode, ClosePayload, MAX_CLOSE_REASON_LEN, Opcode, ProtocolError,
};

/// Codes RFC 6455 §7.4.1 defines for the wire, plus those IANA registered since.
const DEFINED: [u16; 12] = [
    1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014,
];
/// Defined, but only for local reporting: never in a close frame.
const LOCAL_ONLY: [u16; 4] = [1004, 1005, 1006, 1015];

#[test]
fn close_code_table_over_0_to_5000() {
    for code in 0..=5000u16 {
        let expected = match code {
            0..=999 => false,
            1000..=2999 => DEFINED.contains(&code),
            3000..=4999 => true,
            5000.. => false,
        };
        assert_eq!(CloseCode::new(code).is_valid_on_wire(), expected, "{code}");
        if LOCAL_ONLY.contains(&code) {
            assert!(!expected);
        }
    }
    assert!(!CloseCode::new(u16::MAX).is_valid_on_wire());
}

#[test]
fn autobahn_close_code_cases() {
    // Case 7.7.x sends these and expects them echoed; 7.9.x sends these and expects 1002.
    for code in [
        1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999,
    ] {
        assert!(CloseCode::new(code).is_valid_on_wire(), "{code}");
    }
    for code in [0, 999, 1004, 1005, 1006, 1016, 1100, 2000, 2999] {
        assert!(!CloseCode::new(code).is_valid_on_wire(), "{code}");
    }
}

#[test]
fn named_constants_have_their_values() {
    let named = [
        (CloseCode::NORMAL, 1000),
        (CloseCode::GOING_AWAY, 1001),
        (CloseCode::PROTOCOL_ERROR, 1002),
        (CloseCode::UNSUPPORTED_DATA, 1003),
        (CloseCode::RESERVED, 1004),
        (CloseCode::NO_STATUS_RECEIVED, 1005),
        (CloseCode::ABNORMAL, 1006),
        (CloseCode::INVALID_PAYLOAD, 1007),
        (CloseCode::POLICY_VIOLATION, 1008),
        (CloseCode::MESSAGE_TOO_BIG, 1009),
        (CloseCode::MANDATORY_EXTENSION, 1010),
        (CloseCode::INTERNAL_ERROR, 1011),
        (CloseCode::SERVICE_RESTART, 1012),
        (CloseCode::TRY_AGAIN_LATER, 1013),
        (CloseCode::BAD_GATEWAY, 1014),
        (CloseCode::TLS_HANDSHAKE, 1015),
    ];
    for (code, value) in named {
        assert_eq!(code.as_u16(), value);
        assert_eq!(u16::from(code), value);
        assert_eq!(CloseCode::from(value), code);
        assert!(code.description().is_some());
    }
    assert_eq!(
        format!("{}", CloseCode::MESSAGE_TOO_BIG),
        "1009 (message too big)"
    );
    assert_eq!(format!("{}", CloseCode::new(4000)), "4000");
}

#[test]
fn parse_close_payloads() {
    assert_eq!(ClosePayload::parse(&[]), Ok(None));
    assert_eq!(
        ClosePayload::parse(&[0x03]),
        Err(ProtocolError::CloseCodeTruncated)
    );
    let (normal, bye) = (hex("03E8"), hex("0FA0 627965"));
    let normal = ClosePayload::parse(&normal).unwrap().unwrap();
    assert_eq!((normal.code(), normal.reason()), (CloseCode::NORMAL, ""));
    let bye = ClosePayload::parse(&bye).unwrap().unwrap();
    assert_eq!((bye.code().as_u16(), bye.reason()), (4000, "bye"));
    let reserved = ClosePayload::parse(&hex("03EE")).map(|_| ());
    assert_eq!(
        reserved,
        Err(ProtocolError::InvalidCloseCode(CloseCode::ABNORMAL))
    );
    let bad_reason = ClosePayload::parse(&hex("03E8 CEBA ED A080")).map(|_| ());
    assert_eq!(bad_reason, Err(ProtocolError::InvalidCloseReason));
    assert_eq!(
        bad_reason.unwrap_err().close_code(),
        CloseCode::INVALID_PAYLOAD
    );
    // A bad code wins over a bad reason: both are reported, the code is checked first.
    assert_eq!(
        ClosePayload::parse(&hex("0000 FF")).map(|_| ()),
        Err(ProtocolError::InvalidCloseCode(CloseCode::new(0)))
    );
}

#[test]
fn close_payload_length_limits() {
    let mut longest = hex("03E8");
    longest.extend(core::iter::repeat_n(b'x', MAX_CLOSE_REASON_LEN));
    assert_eq!(longest.len(), 125);
    assert!(ClosePayload::parse(&longest).unwrap().is_some());
    longest.push(b'x');
    let error = ProtocolError::ControlFrameTooLong {
        opcode: Opcode::Close,
        len: 126,
    };
    assert_eq!(ClosePayload::parse(&longest), Err(error));
}

#[test]
fn build_and_round_trip() {
    let payload = ClosePayload::new(CloseCode::GOING_AWAY, "shutting down").unwrap();
    let mut wire = Vec::new();
    payload.encode(&mut wire);
    assert_eq!(wire, [&[0x03, 0xE9][..], b"shutting down"].concat());
    assert_eq!(payload.encoded_len(), wire.len());
    assert_eq!(ClosePayload::parse(&wire), Ok(Some(payload)));

    let longest: String = "é".repeat(MAX_CLOSE_REASON_LEN / 2) + "x";
    assert_eq!(longest.len(), MAX_CLOSE_REASON_LEN);
    assert!(ClosePayload::new(CloseCode::NORMAL, &longest).is_ok());
    let too_long = longest + "x";
    assert_eq!(
        ClosePayload::new(CloseCode::NORMAL, &too_long),
        Err(CloseBuildError::ReasonTooLong { len: 124 })
    );
}

#[test]
fn only_wire_codes_can_be_sent() {
    for code in 0..=5000u16 {
        let code = CloseCode::new(code);
        let built = ClosePayload::new(code, "");
        if code.is_valid_on_wire() {
            assert!(built.is_ok());
        } else {
            assert_eq!(built, Err(CloseBuildError::UnsendableCode(code)));
        }
    }
    let error = CloseBuildError::UnsendableCode(CloseCode::NO_STATUS_RECEIVED);
    assert_eq!(
        format!("{error}"),
        "close code 1005 (no status received) cannot be sent"
    );
}
