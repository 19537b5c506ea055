//! The frame codec against the spec's layouts: exact lengths, hand-written byte vectors,
//! round trips of every frame type, leniency where the spec says ignore, and errors.

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use bytes::{Bytes, BytesMut};

use super::*;

fn encoded(frame: &Frame) -> Vec<u8> {
    let mut out = BytesMut::new();
    frame.encode(&mut out);
    assert_eq!(out.len(), frame.encoded_len(), "encoded_len of {frame:?}");
    out.to_vec()
}

fn decode(bytes: &[u8]) -> Result<Frame, DecodeError> {
    Frame::decode(Bytes::copy_from_slice(bytes))
}

fn setup() -> Setup {
    Setup {
        version: (1, 0),
        keepalive_ms: 20_000,
        lifetime_ms: 90_000,
        resume_token: None,
        lease: false,
        metadata_mime: String::new(),
        data_mime: String::new(),
        payload: Payload::default(),
    }
}

#[test]
fn lengths_match_the_spec() {
    assert_eq!(encoded(&Frame::RequestN { stream: 1, n: 5 }).len(), 10);
    assert_eq!(encoded(&Frame::Cancel { stream: 1 }).len(), 6);
    let complete = Frame::Payload {
        stream: 1,
        follows: false,
        complete: true,
        next: false,
        payload: Payload::default(),
    };
    assert_eq!(encoded(&complete).len(), 6);
    assert_eq!(encoded(&Frame::Setup(setup())).len(), 20);
}

#[test]
fn byte_layouts_follow_the_spec() {
    // REQUEST_N on stream 1 for 5: type 0x08 in the top 6 bits of the type-and-flags word.
    assert_eq!(
        encoded(&Frame::RequestN { stream: 1, n: 5 }),
        [0, 0, 0, 1, 0x20, 0x00, 0, 0, 0, 5]
    );
    // PAYLOAD (0x0A) with M, C and N: 0x0A << 10 | 0x100 | 0x040 | 0x020 = 0x2960; metadata
    // length 3 (24 bits), "abc", then data "xy".
    let payload = Frame::Payload {
        stream: 2,
        follows: false,
        complete: true,
        next: true,
        payload: Payload::with_metadata("xy", "abc"),
    };
    assert_eq!(
        encoded(&payload),
        [
            0, 0, 0, 2, 0x29, 0x60, 0, 0, 3, b'a', b'b', b'c', b'x', b'y'
        ]
    );
    // SETUP: version 1.0, keepalive 500 ms, lifetime 10 s, MIME "a" and "b", data "d".
    let frame = Frame::Setup(Setup {
        keepalive_ms: 500,
        lifetime_ms: 10_000,
        metadata_mime: "a".into(),
        data_mime: "b".into(),
        payload: Payload::data("d"),
        ..setup()
    });
    assert_eq!(
        encoded(&frame),
        [
            0, 0, 0, 0, 0x04, 0x00, 0, 1, 0, 0, 0, 0, 0x01, 0xF4, 0, 0, 0x27, 0x10, 1, b'a', 1,
            b'b', b'd'
        ]
    );
    // KEEPALIVE with R: 0x03 << 10 | 0x80 = 0x0C80, position 0, data "hi".
    let keepalive = Frame::Keepalive {
        respond: true,
        last_position: 0,
        data: Bytes::from_static(b"hi"),
    };
    assert_eq!(
        encoded(&keepalive),
        [0, 0, 0, 0, 0x0C, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, b'h', b'i']
    );
}

fn every_frame() -> Vec<Frame> {
    let payload = Payload::with_metadata(vec![7u8; 300], "meta");
    vec![
        Frame::Setup(setup()),
        Frame::Setup(Setup {
            resume_token: Some(Bytes::from_static(b"token")),
            lease: true,
            metadata_mime: "message/x.rsocket.composite-metadata.v0".into(),
            data_mime: "application/json".into(),
            payload: payload.clone(),
            ..setup()
        }),
        Frame::Lease {
            ttl_ms: 1000,
            requests: 10,
            metadata: None,
        },
        Frame::Lease {
            ttl_ms: 1000,
            requests: 10,
            metadata: Some(Bytes::from_static(b"lease meta")),
        },
        Frame::Keepalive {
            respond: false,
            last_position: 123,
            data: Bytes::new(),
        },
        Frame::Request {
            stream: 1,
            kind: RequestKind::Response,
            follows: false,
            payload: Payload::data("hello"),
        },
        Frame::Request {
            stream: 3,
            kind: RequestKind::FireAndForget,
            follows: true,
            payload: payload.clone(),
        },
        Frame::Request {
            stream: 5,
            kind: RequestKind::Stream {
                initial_n: MAX_REQUEST_N,
            },
            follows: false,
            payload: Payload::default(),
        },
        Frame::Request {
            stream: 7,
            kind: RequestKind::Channel {
                initial_n: 1,
                complete: true,
            },
            follows: false,
            payload: payload.clone(),
        },
        Frame::RequestN {
            stream: MAX_STREAM_ID,
            n: 1,
        },
        Frame::Cancel { stream: 9 },
        Frame::Payload {
            stream: 2,
            follows: true,
            complete: false,
            next: true,
            payload,
        },
        Frame::Error {
            stream: 0,
            code: ErrorCode::CONNECTION_ERROR,
            message: "bad ✓".into(),
        },
        Frame::Error {
            stream: 4,
            code: ErrorCode(0x301),
            message: String::new(),
        },
        Frame::MetadataPush {
            metadata: Bytes::from_static(b"push"),
        },
        Frame::Resume {
            version: (1, 0),
            token: Bytes::from_static(b"tok"),
            last_received_server_position: 10,
            first_available_client_position: 20,
        },
        Frame::ResumeOk {
            last_received_client_position: 99,
        },
        Frame::Ext {
            stream: 1,
            ignore: true,
            metadata: false,
            extended_type: 42,
            body: Bytes::from_static(b"ext"),
        },
    ]
}

#[test]
fn every_frame_type_round_trips_whole_and_through_the_stream_reader() {
    let frames = every_frame();
    let mut stream = BytesMut::new();
    for frame in &frames {
        assert_eq!(decode(&encoded(frame)).as_ref(), Ok(frame));
        frame.encode_prefixed(&mut stream);
    }
    // The whole stream, then one byte at a time: the same frames in order.
    for chunk in [stream.len(), 1, 7] {
        let mut reader = FrameReader::new(1 << 20);
        let mut decoded = Vec::new();
        for piece in stream.chunks(chunk) {
            reader.push(piece);
            while let Some(frame) = reader.next_frame().unwrap() {
                decoded.push(Frame::decode(frame).unwrap());
            }
        }
        assert_eq!(decoded, frames, "chunks of {chunk}");
        assert_eq!(reader.buffered(), 0);
    }
}

#[test]
fn lenient_where_the_spec_says_ignore() {
    // METADATA_PUSH with M clear (rsocket-js 0.0.27): the body is the metadata.
    assert_eq!(
        decode(&[0, 0, 0, 0, 0x30, 0x00, b'm']),
        Ok(Frame::MetadataPush {
            metadata: Bytes::from_static(b"m")
        })
    );
    // The reserved stream-id bit and flags a type does not define are ignored.
    assert_eq!(
        decode(&[0x80, 0, 0, 3, 0x24, 0xFF]),
        Ok(Frame::Cancel { stream: 3 })
    );
    // PAYLOAD with neither N nor C decodes; the connection decides what it means.
    assert!(matches!(
        decode(&[0, 0, 0, 1, 0x28, 0x00]),
        Ok(Frame::Payload {
            next: false,
            complete: false,
            ..
        })
    ));
}

#[test]
fn malformed_frames_are_typed_errors() {
    let error = |bytes: &[u8]| decode(bytes).unwrap_err();
    assert_eq!(error(&[0, 0, 0]).kind, DecodeErrorKind::TooShort);
    // REQUEST_N cut short, and with n = 0.
    assert_eq!(
        error(&[0, 0, 0, 1, 0x20, 0, 0, 0]).kind,
        DecodeErrorKind::TooShort
    );
    let zero = error(&[0, 0, 0, 1, 0x20, 0, 0, 0, 0, 0]);
    assert_eq!(zero.kind, DecodeErrorKind::InvalidField("request-n"));
    assert_eq!(zero.stream, 1);
    // A metadata length past the end of the frame.
    let long = error(&[0, 0, 0, 1, 0x29, 0x00, 0, 0, 9, b'a']);
    assert_eq!(long.kind, DecodeErrorKind::MetadataLength);
    // Unknown types, with and without the I flag.
    let unknown = error(&[0, 0, 0, 0, 0x40, 0x00]);
    assert_eq!(
        (unknown.kind, unknown.ignore),
        (DecodeErrorKind::UnknownType(0x10), false)
    );
    let ignorable = error(&[0, 0, 0, 0, 0x42, 0x00]);
    assert_eq!(
        (ignorable.kind, ignorable.ignore),
        (DecodeErrorKind::UnknownType(0x10), true)
    );
    // SETUP with a keepalive of 0, and with a non-ASCII MIME type.
    let mut bad = encoded(&Frame::Setup(setup()));
    bad[10..14].copy_from_slice(&[0, 0, 0, 0]);
    assert_eq!(
        error(&bad).kind,
        DecodeErrorKind::InvalidField("keepalive interval")
    );
    let mut bad = encoded(&Frame::Setup(Setup {
        data_mime: "x".into(),
        ..setup()
    }));
    let last = bad.len() - 1;
    bad[last] = 0xC3;
    assert_eq!(
        error(&bad).kind,
        DecodeErrorKind::InvalidField("data MIME type")
    );
}

#[test]
fn the_stream_reader_refuses_frames_over_its_limit() {
    let mut reader = FrameReader::new(100);
    reader.push(&[0, 0, 101]);
    assert_eq!(
        reader.next_frame(),
        Err(FrameTooLong { len: 101, max: 100 })
    );
    let mut reader = FrameReader::new(usize::MAX);
    reader.push(&[0xFF, 0xFF, 0xFF]);
    assert_eq!(
        reader.next_frame(),
        Ok(None),
        "16 MiB - 1 is allowed, and not here yet"
    );
}
