//! Streaming delivery (`Config::piece_size`): large messages handed out in pieces with
//! bounded memory, text pieces on character boundaries, limits still whole-message.

use alloc::string::String;
use alloc::vec::Vec;
use bytes::BytesMut;

use crate::Machine;
use crate::http::ClientRequest;
use crate::rng::Rng;
use crate::testing::{LinkConfig, Pair};
use crate::time::Instant;
use crate::ws::send::write_frame;
use crate::ws::{CloseReason, Command, Config, Connection, Event, Message, Opcode, ProtocolError};

fn streaming(piece: usize) -> Config {
    Config {
        piece_size: Some(piece),
        ..Config::default()
    }
}

/// A client (default config) and a server with `server`, open, over `link`.
fn open(server: Config, link: LinkConfig) -> Pair<Connection, Connection> {
    let client = Connection::client(
        Config::default(),
        Rng::from_u64(5),
        &ClientRequest::new("localhost", "/"),
    )
    .unwrap();
    let mut pair = Pair::with_links(
        client,
        Connection::server(server, Rng::from_u64(6)),
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
    assert!(matches!(pair.a.poll_event(), Some(Event::Open { .. })));
    assert!(matches!(pair.b.poll_event(), Some(Event::Open { .. })));
    pair
}

/// Drives the pair, taking the server's events as they come (as an application would),
/// and returns them, checking the receive memory after each step.
fn receive_all(pair: &mut Pair<Connection, Connection>, memory_cap: usize) -> Vec<Event> {
    let mut events = Vec::new();
    for _ in 0..1_000_000 {
        let moved = pair.step();
        while let Some(event) = pair.b.poll_event() {
            events.push(event);
        }
        assert!(
            pair.b.receive_allocated() <= memory_cap,
            "{} bytes allocated for receiving",
            pair.b.receive_allocated()
        );
        if !moved {
            return events;
        }
    }
    panic!("no quiescence");
}

/// The pieces of one message: their concatenation and how many there were.
fn pieces(events: &[Event]) -> (Vec<u8>, usize, bool) {
    let mut all = Vec::new();
    let mut count = 0;
    let mut ended = false;
    for event in events {
        if let Event::Fragment { piece, last } = event {
            assert!(!ended, "nothing after the last piece");
            all.extend_from_slice(piece.as_bytes());
            count += 1;
            ended = *last;
        }
    }
    (all, count, ended)
}

#[test]
fn a_large_binary_message_arrives_in_pieces_with_bounded_memory() {
    let mut pair = open(streaming(16 * 1024), LinkConfig::chunked(1500));
    let payload: Vec<u8> = (0..4 << 20).map(|i: u32| (i * 7 % 251) as u8).collect();
    pair.a
        .command(
            pair.now,
            Command::Send(Message::Binary(payload.clone().into())),
        )
        .unwrap();
    let events = receive_all(&mut pair, 4 * 64 * 1024);
    let (all, count, ended) = pieces(&events);
    assert!(ended && all == payload, "{count} pieces");
    assert!(count >= (4 << 20) / (17 * 1024), "{count} pieces");
    // A small message still arrives whole.
    pair.a
        .command(
            pair.now,
            Command::Send(Message::Binary(payload[..100].to_vec().into())),
        )
        .unwrap();
    let events = receive_all(&mut pair, 4 * 64 * 1024);
    assert_eq!(
        events,
        [Event::Message(Message::Binary(
            payload[..100].to_vec().into()
        ))]
    );
}

#[test]
fn text_pieces_end_on_whole_characters_whatever_the_chunking() {
    let text: String = "wirestate é 😀 ∑ ".repeat(500);
    for link in [
        LinkConfig::chunked(1),
        LinkConfig::chunked(7),
        LinkConfig::default(),
    ] {
        let mut pair = open(streaming(100), link);
        pair.a
            .command(pair.now, Command::Send(Message::Text(text.as_str().into())))
            .unwrap();
        let events = receive_all(&mut pair, 64 * 1024);
        for event in &events {
            let Event::Fragment {
                piece: Message::Text(piece),
                ..
            } = event
            else {
                panic!("expected text pieces, got {event:?}");
            };
            assert!(core::str::from_utf8(piece.as_bytes()).is_ok());
            assert!(piece.len() <= 100 + 3 + 100, "{}", piece.len());
        }
        let (all, count, ended) = pieces(&events);
        assert!(ended && count > 10);
        assert_eq!(String::from_utf8(all).unwrap(), text);
    }
}

/// Masked client frames of one fragmented text message, written by hand.
fn fragments(parts: &[(&[u8], bool)]) -> Vec<u8> {
    let mut out = BytesMut::new();
    for (i, (payload, fin)) in parts.iter().enumerate() {
        let opcode = if i == 0 {
            Opcode::Text
        } else {
            Opcode::Continuation
        };
        write_frame(&mut out, opcode, *fin, payload, Some([9, 8, 7, 6]));
    }
    out.to_vec()
}

#[test]
fn limits_still_apply_to_the_whole_message() {
    // Invalid UTF-8 after pieces went out still fails the connection with 1007.
    let mut pair = open(streaming(10), LinkConfig::default());
    let _ = pair.b.poll_transmit();
    let input = fragments(&[(&[b'a'; 50], false), (&[b'b', 0xFF], true)]);
    pair.b.handle_input(Instant::ZERO, &input);
    let events: Vec<Event> = core::iter::from_fn(|| pair.b.poll_event()).collect();
    assert!(matches!(
        events.first(),
        Some(Event::Fragment { last: false, .. })
    ));
    assert!(
        matches!(
            events.last(),
            Some(Event::Closed(CloseReason::Protocol(
                ProtocolError::InvalidUtf8
            )))
        ),
        "{events:?}"
    );

    // The message size limit counts the pieces already delivered.
    let config = Config {
        max_message_size: 1000,
        ..streaming(100)
    };
    let mut pair = open(config, LinkConfig::default());
    let _ = pair.b.poll_transmit();
    let input = fragments(&[(&[b'a'; 600], false), (&[b'a'; 600], true)]);
    pair.b.handle_input(Instant::ZERO, &input);
    let events: Vec<Event> = core::iter::from_fn(|| pair.b.poll_event()).collect();
    assert!(
        matches!(
            events.last(),
            Some(Event::Closed(CloseReason::Protocol(
                ProtocolError::MessageTooBig { max: 1000 }
            )))
        ),
        "{events:?}"
    );
}
