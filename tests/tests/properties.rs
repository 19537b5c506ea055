//! Property tests: encode/decode round trips of every codec, and chunking invariance of
//! every machine (the same input in any chunking gives the same events).

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;
use wirestate_core::chan::{
    ByteSink, ByteSource, ChannelError, Delimited, LineEnding, LineReader, Pipe, PipeConfig,
};
use wirestate_core::http::{ClientRequest, Feed, HeadBuffer};
use wirestate_core::rsocket::{self, Frame, FrameReader, Payload, RequestKind};
use wirestate_core::testing::{LinkConfig, Pair};
use wirestate_core::ws::{self, FrameHeader, FrameRules, Message, Opcode, Role};
use wirestate_core::{Machine, Rng};

/// Splits `bytes` at the given cut sizes (cycled), at least 1 byte per piece.
fn pieces<'a>(bytes: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    let mut at = 0;
    let mut i = 0;
    while at < bytes.len() {
        let n = cuts
            .get(i % cuts.len().max(1))
            .copied()
            .unwrap_or(bytes.len())
            .max(1);
        let end = (at + n).min(bytes.len());
        out.push(&bytes[at..end]);
        at = end;
        i += 1;
    }
    out
}

fn payload() -> impl Strategy<Value = Payload> {
    (
        proptest::option::of(proptest::collection::vec(any::<u8>(), 0..300)),
        proptest::collection::vec(any::<u8>(), 0..300),
    )
        .prop_map(|(metadata, data)| Payload {
            metadata: metadata.map(Bytes::from),
            data: Bytes::from(data),
        })
}

fn rsocket_frame() -> impl Strategy<Value = Frame> {
    let stream = 1u32..=rsocket::MAX_STREAM_ID;
    let n = 1u32..=rsocket::MAX_REQUEST_N;
    prop_oneof![
        (stream.clone(), n.clone(), any::<bool>(), payload()).prop_map(
            |(stream, initial_n, follows, payload)| {
                Frame::Request {
                    stream,
                    kind: RequestKind::Stream { initial_n },
                    follows,
                    payload,
                }
            }
        ),
        (stream.clone(), n.clone(), any::<bool>(), payload()).prop_map(
            |(stream, initial_n, complete, payload)| {
                Frame::Request {
                    stream,
                    kind: RequestKind::Channel {
                        initial_n,
                        complete,
                    },
                    follows: false,
                    payload,
                }
            }
        ),
        (stream.clone(), any::<(bool, bool, bool)>(), payload()).prop_map(
            |(stream, (follows, complete, next), payload)| {
                Frame::Payload {
                    stream,
                    follows,
                    complete,
                    next,
                    payload,
                }
            }
        ),
        (stream.clone(), n).prop_map(|(stream, n)| Frame::RequestN { stream, n }),
        stream.clone().prop_map(|stream| Frame::Cancel { stream }),
        (stream, any::<u32>(), "[a-z ✓]{0,40}").prop_map(|(stream, code, message)| Frame::Error {
            stream,
            code: rsocket::ErrorCode(code),
            message,
        }),
        (
            any::<bool>(),
            0u64..1 << 62,
            proptest::collection::vec(any::<u8>(), 0..100)
        )
            .prop_map(|(respond, last_position, data)| Frame::Keepalive {
                respond,
                last_position,
                data: Bytes::from(data)
            }),
        proptest::collection::vec(any::<u8>(), 0..100).prop_map(|m| Frame::MetadataPush {
            metadata: Bytes::from(m)
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn rsocket_frames_round_trip_in_any_chunking(
        frames in proptest::collection::vec(rsocket_frame(), 1..20),
        cuts in proptest::collection::vec(1usize..50, 1..10),
    ) {
        let mut wire = BytesMut::new();
        for frame in &frames {
            frame.encode_prefixed(&mut wire);
        }
        let mut reader = FrameReader::new(1 << 24);
        let mut decoded = Vec::new();
        for piece in pieces(&wire, &cuts) {
            reader.push(piece);
            while let Some(frame) = reader.next_frame().unwrap() {
                decoded.push(Frame::decode(frame).unwrap());
            }
        }
        prop_assert_eq!(decoded, frames);
    }

    #[test]
    fn ws_headers_round_trip(
        opcode in prop_oneof![Just(Opcode::Text), Just(Opcode::Binary), Just(Opcode::Continuation)],
        fin in any::<bool>(),
        len in prop_oneof![0u64..126, 126u64..70_000, 70_000u64..(1 << 40)],
        mask in proptest::option::of(any::<[u8; 4]>()),
    ) {
        let mut header = FrameHeader::new(opcode, fin, len);
        if let Some(key) = mask {
            header = header.with_mask(key);
        }
        let mut out = Vec::new();
        header.encode(&mut out);
        let role = if mask.is_some() { Role::Server } else { Role::Client };
        let rules = FrameRules::new(role).with_max_payload_len(u64::MAX >> 1);
        let (decoded, used) = ws::parse_header(&out, &rules).unwrap().unwrap();
        prop_assert_eq!(used, out.len());
        prop_assert_eq!(decoded, header);
    }

    #[test]
    fn ws_messages_arrive_the_same_in_any_chunking(
        messages in proptest::collection::vec(
            prop_oneof![
                "[a-zé✓🦀 ]{0,200}".prop_map(|s| Message::from(s.as_str())),
                proptest::collection::vec(any::<u8>(), 0..3000).prop_map(Message::from),
            ],
            1..10,
        ),
        chunk in 1usize..40,
        piece_size in proptest::option::of(16usize..500),
    ) {
        let server_config = ws::Config { piece_size, ..ws::Config::default() };
        let client = ws::Connection::client(ws::Config::default(), Rng::from_u64(1), &ClientRequest::new("h", "/")).unwrap();
        let server = ws::Connection::server(server_config, Rng::from_u64(2));
        let link = LinkConfig::chunked(chunk);
        let mut pair = Pair::with_links(client, server, link, link);
        pair.drive();
        let _ = pair.b.poll_event();
        pair.b.command(pair.now, ws::Command::Accept(Default::default())).unwrap();
        pair.drive();
        for message in &messages {
            pair.a.command(pair.now, ws::Command::Send(message.clone())).unwrap();
        }
        pair.drive();
        // Whole messages, or pieces that concatenate to them.
        let mut got: Vec<Message> = Vec::new();
        let mut partial: Option<(bool, Vec<u8>)> = None;
        while let Some(event) = pair.b.poll_event() {
            match event {
                ws::Event::Message(message) => got.push(message),
                ws::Event::Fragment { piece, last } => {
                    let text = matches!(piece, Message::Text(_));
                    let (_, bytes) = partial.get_or_insert((text, Vec::new()));
                    bytes.extend_from_slice(piece.as_bytes());
                    if last {
                        let (text, bytes) = partial.take().unwrap();
                        got.push(if text {
                            Message::from(String::from_utf8(bytes).unwrap())
                        } else {
                            Message::from(bytes)
                        });
                    }
                }
                ws::Event::Open { .. } => {}
                other => prop_assert!(false, "unexpected {:?}", other),
            }
        }
        prop_assert_eq!(got, messages);
    }

    #[test]
    fn rsocket_payloads_survive_any_fragment_size(
        data_len in 0usize..20_000,
        metadata_len in proptest::option::of(0usize..5_000),
        fragment_size in 64usize..2_000,
        chunk in 1usize..300,
    ) {
        use rsocket::conn::{Command, Config, Event, Request};
        let config = Config { fragment_size: Some(fragment_size), ..Config::default() };
        let payload = Payload {
            metadata: metadata_len.map(|n| Bytes::from((0..n).map(|i| i as u8).collect::<Vec<_>>())),
            data: Bytes::from((0..data_len).map(|i| (i * 7) as u8).collect::<Vec<_>>()),
        };
        let link = LinkConfig::chunked(chunk);
        let mut pair = Pair::with_links(rsocket::Connection::client(config.clone()), rsocket::Connection::server(config), link, link);
        pair.drive();
        let _ = pair.b.poll_event();
        pair.b.command(pair.now, Command::AcceptSetup).unwrap();
        pair.a.command(pair.now, Command::Request(Request::FireAndForget(payload.clone()))).unwrap();
        pair.drive();
        match pair.b.poll_event() {
            Some(Event::Request { payload: got, .. }) => prop_assert_eq!(got, payload),
            other => prop_assert!(false, "{:?}", other),
        }
    }

    #[test]
    fn the_byte_pipe_keeps_every_byte_in_order(
        writes in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..500), 0..30),
        reads in proptest::collection::vec(1usize..700, 1..30),
        capacity in 1usize..2048,
    ) {
        let mut pipe = Pipe::new(PipeConfig::with_capacity(capacity));
        let expected: Vec<u8> = writes.concat();
        let mut got = Vec::new();
        let mut pending: Vec<u8> = expected.clone();
        let mut read_sizes = reads.iter().cycle();
        for _ in 0..100_000 {
            if pending.is_empty() && got.len() == expected.len() {
                break;
            }
            let n = pipe.write(&pending).unwrap();
            pending.drain(..n);
            pipe.flush().unwrap();
            let mut buf = vec![0u8; *read_sizes.next().unwrap()];
            let n = pipe.read(&mut buf).unwrap();
            got.extend_from_slice(&buf[..n]);
        }
        prop_assert_eq!(got, expected);
    }

    #[test]
    fn http_heads_are_found_in_any_chunking(
        extra in proptest::collection::vec("[A-Za-z-]{1,10}: [a-z0-9]{0,20}", 0..10),
        trailing in proptest::collection::vec(any::<u8>(), 0..50),
        cuts in proptest::collection::vec(1usize..30, 1..10),
    ) {
        let mut head = String::from("GET / HTTP/1.1\r\nHost: h\r\n");
        for line in &extra {
            head.push_str(line);
            head.push_str("\r\n");
        }
        head.push_str("\r\n");
        let mut input = head.clone().into_bytes();
        input.extend_from_slice(&trailing);
        let mut buffer = HeadBuffer::new(8192);
        let mut leftover = Vec::new();
        let mut found = None;
        for piece in pieces(&input, &cuts) {
            if found.is_some() {
                leftover.extend_from_slice(piece);
                continue;
            }
            match buffer.feed(piece) {
                Feed::Partial => {}
                Feed::Complete { head, leftover: rest } => {
                    found = Some(head.to_vec());
                    leftover.extend_from_slice(rest);
                }
                _ => prop_assert!(false, "under the limit"),
            }
        }
        prop_assert_eq!(found, Some(head.into_bytes()));
        prop_assert_eq!(leftover, trailing);
    }

    #[test]
    fn lines_come_out_whole_whatever_the_chunking(
        lines in proptest::collection::vec("[a-zé✓ \r]{0,40}", 0..20),
        crlf in proptest::collection::vec(any::<bool>(), 20),
        cuts in proptest::collection::vec(1usize..17, 1..10),
    ) {
        // Lines may hold a lone CR (data under LineEnding::Default), never an LF.
        let mut input = Vec::new();
        for (i, line) in lines.iter().enumerate() {
            input.extend_from_slice(line.as_bytes());
            input.extend_from_slice(if crlf[i] { b"\r\n" } else { b"\n" });
        }
        let mut pipe = Pipe::new(PipeConfig::with_capacity(4096));
        let mut reader = LineReader::new();
        let mut got: Vec<String> = Vec::new();
        let mut line = Vec::new();
        for piece in pieces(&input, &cuts) {
            pipe.write(piece).unwrap();
            pipe.flush().unwrap();
            loop {
                match reader.read_line(&mut pipe, &mut line, 1 << 20, LineEnding::Default) {
                    Ok(Delimited::Found(_)) => got.push(String::from_utf8(std::mem::take(&mut line)).unwrap()),
                    Err(ChannelError::Blocked) => break,
                    other => prop_assert!(false, "{:?}", other),
                }
            }
        }
        // A line ending in CR, then LF, loses that CR to the CRLF.
        let expected: Vec<String> = lines
            .iter()
            .enumerate()
            .map(|(i, l)| if crlf[i] { l.clone() } else { l.strip_suffix('\r').unwrap_or(l).to_string() })
            .collect();
        prop_assert_eq!(got, expected);
    }
}
