//! permessage-deflate (RFC 7692): negotiation rules, the RFC's example payloads, round
//! trips through a Pair in every parameter combination, and hostile compressed input.

use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;
use bytes::BytesMut;

use crate::Machine;
use crate::http::{ClientRequest, Extension};
use crate::rng::Rng;
use crate::testing::{LinkConfig, Pair};
use crate::time::Instant;
use crate::ws::deflate::{
    DeflateConfig, Negotiated, ResponseError, client_offer, client_verify, server_accept,
};
use crate::ws::send::write_frame;
use crate::ws::{CloseReason, Command, Config, Connection, Event, Message, Opcode, ProtocolError};

fn ext(text: &str) -> Extension {
    Extension::parse(text.as_bytes()).expect("a valid extension element")
}

#[test]
fn the_client_offers_what_it_is_configured_with() {
    assert_eq!(
        client_offer(&DeflateConfig::default()).to_string(),
        "permessage-deflate; client_max_window_bits"
    );
    let config = DeflateConfig {
        server_no_context_takeover: true,
        client_no_context_takeover: true,
        server_max_window_bits: 10,
        client_max_window_bits: 12,
        ..DeflateConfig::default()
    };
    assert_eq!(
        client_offer(&config).to_string(),
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
         server_max_window_bits=10; client_max_window_bits=12"
    );
}

#[test]
fn the_server_accepts_the_first_valid_offer() {
    let config = DeflateConfig::default();
    // RFC 7692 §5.2's example: the first offer has an invalid parameter, the second is fine.
    let offers = [
        ext("permessage-deflate; client_max_window_bits; server_max_window_bits=7"),
        ext("permessage-deflate; client_max_window_bits"),
    ];
    let (response, agreed) = server_accept(&config, &offers).expect("the second offer");
    assert_eq!(response.to_string(), "permessage-deflate");
    assert_eq!(
        agreed,
        Negotiated {
            local_no_context_takeover: false,
            remote_no_context_takeover: false,
            local_max_window_bits: 15,
            remote_max_window_bits: 15,
        }
    );
    // Declined: unknown parameters, duplicates, bad values, values where none belong.
    for bad in [
        "permessage-deflate; foo",
        "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
        "permessage-deflate; server_max_window_bits",
        "permessage-deflate; server_max_window_bits=16",
        "permessage-deflate; server_max_window_bits=09",
        "permessage-deflate; client_max_window_bits=x",
        "permessage-deflate; server_no_context_takeover=1",
        "x-webkit-deflate-frame",
    ] {
        assert_eq!(server_accept(&config, &[ext(bad)]), None, "{bad}");
    }
}

#[test]
fn the_server_answers_with_the_agreed_parameters() {
    // The client limits our window and asks for no context takeover; we limit its window.
    let config = DeflateConfig {
        client_max_window_bits: 11,
        client_no_context_takeover: true,
        ..DeflateConfig::default()
    };
    let offer = ext(
        "permessage-deflate; server_no_context_takeover; server_max_window_bits=10; client_max_window_bits",
    );
    let (response, agreed) = server_accept(&config, &[offer]).unwrap();
    assert_eq!(
        response.to_string(),
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
         server_max_window_bits=10; client_max_window_bits=11"
    );
    assert_eq!(
        agreed,
        Negotiated {
            local_no_context_takeover: true,
            remote_no_context_takeover: true,
            local_max_window_bits: 10,
            remote_max_window_bits: 11,
        }
    );
    // A client that did not offer client_max_window_bits is never limited (§7.1.2.2).
    let (response, agreed) = server_accept(&config, &[ext("permessage-deflate")]).unwrap();
    assert!(!response.to_string().contains("client_max_window_bits"));
    assert_eq!(agreed.remote_max_window_bits, 15);
}

#[test]
fn the_client_checks_the_response() {
    let offered = DeflateConfig {
        server_max_window_bits: 12,
        ..DeflateConfig::default()
    };
    let agreed = client_verify(
        &offered,
        &[ext(
            "permessage-deflate; server_max_window_bits=10; client_max_window_bits=9",
        )],
    );
    assert_eq!(
        agreed,
        Ok(Some(Negotiated {
            local_no_context_takeover: false,
            remote_no_context_takeover: false,
            local_max_window_bits: 9,
            remote_max_window_bits: 10,
        }))
    );
    assert_eq!(client_verify(&offered, &[]), Ok(None), "declined");
    for (response, error) in [
        (
            "permessage-deflate; server_max_window_bits=13",
            ResponseError::WindowTooLarge,
        ),
        ("permessage-deflate", ResponseError::Missing),
        (
            "permessage-deflate; server_max_window_bits=10; client_max_window_bits",
            ResponseError::InvalidParams,
        ),
        (
            "permessage-deflate; server_max_window_bits=10; bogus",
            ResponseError::InvalidParams,
        ),
    ] {
        assert_eq!(
            client_verify(&offered, &[ext(response)]),
            Err(error),
            "{response}"
        );
    }
    let twice = [ext("permessage-deflate"), ext("permessage-deflate")];
    assert_eq!(
        client_verify(&DeflateConfig::default(), &twice),
        Err(ResponseError::Repeated)
    );
    let asked = DeflateConfig {
        server_no_context_takeover: true,
        ..DeflateConfig::default()
    };
    assert_eq!(
        client_verify(&asked, &[ext("permessage-deflate")]),
        Err(ResponseError::Missing)
    );
}

fn deflating(deflate: DeflateConfig) -> Config {
    Config {
        deflate: Some(deflate),
        ..Config::default()
    }
}

/// A client and a server with these configurations, open over `link`.
fn open(client: Config, server: Config, link: LinkConfig) -> Pair<Connection, Connection> {
    let client =
        Connection::client(client, Rng::from_u64(7), &ClientRequest::new("h", "/")).unwrap();
    let mut pair = Pair::with_links(
        client,
        Connection::server(server, Rng::from_u64(8)),
        link,
        link,
    );
    pair.drive();
    assert!(matches!(
        pair.b.poll_event(),
        Some(Event::UpgradeRequest(_))
    ));
    pair.b
        .command(pair.now, Command::Accept(Default::default()))
        .unwrap();
    pair.drive();
    assert!(
        matches!(pair.a.poll_event(), Some(Event::Open { .. })),
        "the client opened"
    );
    assert!(matches!(pair.b.poll_event(), Some(Event::Open { .. })));
    pair
}

fn messages() -> Vec<Message> {
    let text: String = "the quick brown fox jumps over the lazy dog; ".repeat(400);
    let noise: Vec<u8> = (0..70_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    vec![
        Message::from("short"),
        Message::Text(text.as_str().into()),
        Message::Binary(noise.into()),
        Message::Binary(vec![0u8; 300_000].into()),
        Message::from(""),
        Message::Text(text.as_str().into()), // again: context takeover pays off here
    ]
}

/// Sends every message both ways and checks it arrives as sent; returns the bytes the
/// client put on the wire.
fn round_trip(pair: &mut Pair<Connection, Connection>) -> u64 {
    let before = pair.a_to_b.delivered();
    for message in messages() {
        pair.a
            .command(pair.now, Command::Send(message.clone()))
            .unwrap();
        pair.b
            .command(pair.now, Command::Send(message.clone()))
            .unwrap();
        pair.run_for(core::time::Duration::from_secs(1));
        assert_eq!(pair.b.poll_event(), Some(Event::Message(message.clone())));
        assert_eq!(pair.a.poll_event(), Some(Event::Message(message)));
    }
    pair.a_to_b.delivered() - before
}

#[test]
fn messages_round_trip_compressed_in_every_combination() {
    let plain = round_trip(&mut open(
        Config::default(),
        Config::default(),
        LinkConfig::default(),
    ));
    for no_context in [false, true] {
        for bits in [8, 9, 12, 15] {
            for release in [false, true] {
                let deflate = DeflateConfig {
                    server_no_context_takeover: no_context,
                    client_no_context_takeover: no_context,
                    server_max_window_bits: bits,
                    client_max_window_bits: bits,
                    release_between_messages: release,
                    ..DeflateConfig::default()
                };
                for link in [LinkConfig::default(), LinkConfig::chunked(1000)] {
                    let mut pair = open(deflating(deflate), deflating(deflate), link);
                    let sent = round_trip(&mut pair);
                    if bits > 8 {
                        assert!(sent < plain / 3, "{sent} bytes compressed vs {plain}");
                    } else {
                        assert!(sent >= plain, "an 8-bit window sends uncompressed");
                    }
                }
            }
        }
    }
}

#[test]
fn one_side_without_deflate_falls_back_to_plain_messages() {
    for (client, server) in [
        (deflating(DeflateConfig::default()), Config::default()),
        (Config::default(), deflating(DeflateConfig::default())),
    ] {
        let mut pair = open(client, server, LinkConfig::default());
        round_trip(&mut pair);
    }
}

/// A server with deflate on, and raw client frames fed to it.
fn deflate_server(config: Config) -> Connection {
    let mut pair = open(config, config, LinkConfig::default());
    while pair.b.poll_transmit().is_some() {}
    pair.b
}

fn client_frame(first: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = BytesMut::new();
    let opcode = Opcode::from_u8(first & 0x0F).unwrap();
    write_frame(
        &mut out,
        opcode,
        first & 0x80 != 0,
        payload,
        Some([1, 2, 3, 4]),
    );
    out[0] = first; // with the RSV bits as given
    out.to_vec()
}

fn closed_with(server: &mut Connection) -> Option<ProtocolError> {
    core::iter::from_fn(|| server.poll_event()).find_map(|event| match event {
        Event::Closed(CloseReason::Protocol(error)) => Some(error),
        _ => None,
    })
}

#[test]
fn hostile_compressed_input_gets_its_close_code() {
    let config = Config {
        max_message_size: 1 << 20,
        ..deflating(DeflateConfig::default())
    };
    // A bomb: 64 MiB of zeros compressed to ~64 KiB, against a 1 MiB limit.
    let mut bomb = Vec::new();
    let mut deflater = crate::ws::deflate::Deflater::new(9, 15, false, false).unwrap();
    deflater.compress(&vec![0u8; 64 << 20], &mut bomb);
    assert!(bomb.len() < 128 * 1024, "{}", bomb.len());
    let mut server = deflate_server(config);
    server.handle_input(Instant::ZERO, &client_frame(0xC2, &bomb));
    assert_eq!(
        closed_with(&mut server),
        Some(ProtocolError::MessageTooBig { max: 1 << 20 })
    );
    assert_eq!(
        server.poll_transmit().unwrap()[..4],
        [0x88, 0x02, 0x03, 0xF1],
        "1009"
    );

    // Not DEFLATE at all: 1007.
    let mut server = deflate_server(config);
    server.handle_input(Instant::ZERO, &client_frame(0xC2, &[0xFF; 32]));
    assert_eq!(
        closed_with(&mut server),
        Some(ProtocolError::InvalidCompressedData)
    );

    // RSV1 on a continuation frame, or on a control frame: 1002 (RFC 7692 §6.1).
    let mut server = deflate_server(config);
    let mut input = client_frame(0x02, b"part");
    input.extend(client_frame(0xC0, b"rest"));
    server.handle_input(Instant::ZERO, &input);
    assert!(matches!(
        closed_with(&mut server),
        Some(ProtocolError::ReservedBits(_))
    ));
    let mut server = deflate_server(config);
    server.handle_input(Instant::ZERO, &client_frame(0xC9, b"ping"));
    assert!(matches!(
        closed_with(&mut server),
        Some(ProtocolError::ReservedBits(_))
    ));

    // Without deflate negotiated, RSV1 is refused outright.
    let mut server = deflate_server(Config::default());
    server.handle_input(Instant::ZERO, &client_frame(0xC2, b"x"));
    assert!(matches!(
        closed_with(&mut server),
        Some(ProtocolError::ReservedBits(_))
    ));
}

#[test]
fn compressed_text_is_utf8_checked_after_inflating() {
    let mut bad = Vec::new();
    let mut deflater = crate::ws::deflate::Deflater::new(6, 15, false, false).unwrap();
    deflater.compress(b"valid until \xFF here", &mut bad);
    let mut server = deflate_server(deflating(DeflateConfig::default()));
    server.handle_input(Instant::ZERO, &client_frame(0xC1, &bad));
    assert_eq!(closed_with(&mut server), Some(ProtocolError::InvalidUtf8));
}

#[test]
fn streaming_delivery_works_on_compressed_messages() {
    let server = Config {
        piece_size: Some(4096),
        ..deflating(DeflateConfig::default())
    };
    let mut pair = open(
        deflating(DeflateConfig::default()),
        server,
        LinkConfig::default(),
    );
    let payload = vec![7u8; 1 << 20]; // compresses ~1000:1, so one frame inflates to many pieces
    pair.a
        .command(
            pair.now,
            Command::Send(Message::Binary(payload.clone().into())),
        )
        .unwrap();
    let mut received = Vec::new();
    let mut last = false;
    for _ in 0..100_000 {
        let moved = pair.step();
        while let Some(event) = pair.b.poll_event() {
            let Event::Fragment { piece, last: end } = event else {
                panic!("{event:?}")
            };
            assert!(piece.len() <= 4096 + 3 + 16 * 1024, "{}", piece.len());
            received.extend_from_slice(piece.as_bytes());
            last = end;
        }
        if !moved {
            break;
        }
    }
    assert!(last);
    assert_eq!(received, payload);
}
