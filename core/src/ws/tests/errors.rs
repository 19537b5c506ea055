//! Every protocol error maps to its close code, and none to a code that cannot be sent.

use alloc::string::ToString;

use crate::ws::{CloseCode, Opcode, ProtocolError, RsvBits};

#[test]
fn every_error_maps_to_its_close_code() {
    let table = [
        (ProtocolError::ReservedBits(RsvBits::RSV2), 1002),
        (ProtocolError::ReservedOpcode(0x3), 1002),
        (ProtocolError::FragmentedControlFrame(Opcode::Ping), 1002),
        (
            ProtocolError::ControlFrameTooLong {
                opcode: Opcode::Close,
                len: 126,
            },
            1002,
        ),
        (ProtocolError::LengthHighBitSet, 1002),
        (ProtocolError::UnmaskedFrame, 1002),
        (ProtocolError::MaskedFrame, 1002),
        (ProtocolError::FrameTooBig { len: 2, max: 1 }, 1009),
        (ProtocolError::UnexpectedContinuation, 1002),
        (ProtocolError::ExpectedContinuation(Opcode::Text), 1002),
        (ProtocolError::MessageTooBig { max: 1 }, 1009),
        (ProtocolError::InvalidUtf8, 1007),
        (ProtocolError::CloseCodeTruncated, 1002),
        (ProtocolError::InvalidCloseCode(CloseCode::new(999)), 1002),
        (ProtocolError::InvalidCloseReason, 1007),
    ];
    for (error, code) in table {
        assert_eq!(error.close_code().as_u16(), code, "{error:?}");
        assert!(error.close_code().is_valid_on_wire());
        assert!(!error.to_string().is_empty());
    }
}
