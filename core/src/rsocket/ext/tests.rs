//! The extension codecs against byte layouts written out from the extension specs (and the
//! way rsocket-java writes lengths), plus round trips and truncation.

use alloc::string::String;
use alloc::vec;
use bytes::Bytes;

use super::auth::{Auth, AuthType};
use super::*;

#[test]
fn composite_metadata_with_routing_and_bearer_auth() {
    // What a Spring-style client sends: routing "echo" and a bearer token.
    let mut metadata = CompositeMetadata::default();
    metadata.push(
        MimeType::new("message/x.rsocket.routing.v0"),
        routing::encode(&["echo"]).unwrap(),
    );
    metadata.push(
        MimeType::new("message/x.rsocket.authentication.v0"),
        Auth::Bearer("t0k".into()).encode().unwrap(),
    );
    metadata.push(
        MimeType::new("application/x.custom"),
        Bytes::from_static(b"c"),
    );
    let bytes = metadata.encode().unwrap();
    assert_eq!(
        bytes.as_ref(),
        [
            0xFE, 0, 0, 5, 4, b'e', b'c', b'h', b'o', // routing (0x7E), 5 bytes
            0xFC, 0, 0, 4, 0x81, b't', b'0', b'k', // authentication (0x7C), bearer
            19, b'a', b'p', b'p', b'l', b'i', b'c', b'a', b't', b'i', b'o', b'n', b'/', b'x', b'.',
            b'c', b'u', b's', b't', b'o', b'm', 0, 0, 1, b'c', // custom: length - 1 = 19
        ]
        .as_slice()
    );
    assert_eq!(CompositeMetadata::decode(bytes).unwrap(), metadata);
}

#[test]
fn well_known_types_and_their_names() {
    assert_eq!(MimeType::new("application/json"), MimeType::WellKnown(0x05));
    assert_eq!(
        MimeType::WellKnown(0x7F).name(),
        Some("message/x.rsocket.composite-metadata.v0")
    );
    assert_eq!(
        MimeType::WellKnown(0x50).name(),
        None,
        "unassigned, but still decodable"
    );
    assert_eq!(
        MimeType::new("text/x-unknown"),
        MimeType::Custom("text/x-unknown".into())
    );
    let accept = vec![
        MimeType::new("application/json"),
        MimeType::new("text/x-mine"),
    ];
    let bytes = encode_accept_mime_types(&accept).unwrap();
    assert_eq!(decode_accept_mime_types(bytes).unwrap(), accept);
    let one = encode_mime_type(&MimeType::new("application/cbor")).unwrap();
    assert_eq!(one.as_ref(), [0x81]);
    assert_eq!(decode_mime_type(one).unwrap(), MimeType::WellKnown(1));
}

#[test]
fn simple_auth_and_custom_types() {
    let simple = Auth::Simple {
        username: "user".into(),
        password: Bytes::from_static(b"pass"),
    };
    let bytes = simple.encode().unwrap();
    assert_eq!(
        bytes.as_ref(),
        [0x80, 0, 4, b'u', b's', b'e', b'r', b'p', b'a', b's', b's']
    );
    assert_eq!(Auth::decode(bytes).unwrap(), simple);
    let custom = Auth::Other {
        kind: AuthType::Custom("x-key".into()),
        payload: Bytes::from_static(b"k"),
    };
    let bytes = custom.encode().unwrap();
    assert_eq!(bytes.as_ref(), [4, b'x', b'-', b'k', b'e', b'y', b'k']);
    assert_eq!(Auth::decode(bytes).unwrap(), custom);
}

#[test]
fn truncated_and_invalid_input_is_an_error() {
    assert_eq!(
        CompositeMetadata::decode(Bytes::from_static(&[0xFE, 0, 0, 9, 1])),
        Err(ExtError::TooShort)
    );
    assert_eq!(
        CompositeMetadata::decode(Bytes::from_static(&[5, b'a'])),
        Err(ExtError::TooShort)
    );
    assert_eq!(
        routing::decode(Bytes::from_static(&[3, b'a'])),
        Err(ExtError::TooShort)
    );
    assert!(routing::decode(Bytes::from_static(&[1, 0xFF])).is_err());
    assert!(routing::encode(&[""]).is_err());
    let long = String::from_utf8(vec![b'a'; 256]).unwrap();
    assert!(routing::encode(&[long.as_str()]).is_err());
    assert_eq!(
        Auth::decode(Bytes::from_static(&[0x80, 0, 9, b'u'])),
        Err(ExtError::TooShort)
    );
    assert!(
        MimeType::Custom(String::new())
            .encode(&mut Default::default())
            .is_err()
    );
}
