//! Receiving owned messages without the event queue (`read_owned`) against the general
//! path.

use alloc::vec::Vec;

use super::conn::{
    assert_answered_before_the_close, assert_failed_on_invalid_utf8, events, masked, open_server,
    question_then_fault, transmitted,
};
use crate::Machine;
use crate::time::Instant;
use crate::ws::{Config, Connection, Event, Message, Opcode, Owned};

const NOW: Instant = Instant::ZERO;

/// Feeds `wire` through `read_owned` in reads of at most `chunk` bytes, draining events
/// after each call as a driver must; returns every event, owned messages in their place.
fn read_all(server: &mut Connection, wire: &[u8], chunk: usize) -> Vec<Event> {
    let mut seen = Vec::new();
    for read in wire.chunks(chunk) {
        let mut pos = 0;
        while pos < read.len() {
            pos += match server.read_owned(NOW, &read[pos..]) {
                Owned::Message { consumed, message } => {
                    seen.push(Event::Message(message));
                    consumed
                }
                Owned::Fed(consumed) => consumed,
            };
            seen.extend(events(server));
        }
    }
    seen
}

#[test]
fn every_chunking_sees_what_the_general_path_sees_in_order() {
    let mut wire = Vec::new();
    for (opcode, fin, payload) in [
        (Opcode::Text, true, "hello".as_bytes()),
        (Opcode::Binary, true, &[0xff, 0, 0x80][..]),
        (Opcode::Ping, true, b"p"),
        (Opcode::Text, true, b"after the ping"),
        (Opcode::Text, false, b"frag"),
        (Opcode::Continuation, true, b"ment"),
        (Opcode::Text, true, "grüße, 世界".as_bytes()),
        (Opcode::Binary, true, b""),
    ] {
        wire.extend(masked(opcode, fin, payload));
    }
    let mut general = open_server(Config::default());
    assert_eq!(general.handle_input(NOW, &wire), wire.len());
    let expected = events(&mut general);
    assert_eq!(expected.len(), 7, "{expected:?}");
    for chunk in [1, 3, 7, wire.len()] {
        let mut server = open_server(Config::default());
        assert_eq!(
            read_all(&mut server, &wire, chunk),
            expected,
            "chunk {chunk}"
        );
        assert_eq!(transmitted(&mut server), [0x8a, 1, b'p'], "the pong");
    }
    // Read whole, the messages before the ping skip the queue.
    let mut server = open_server(Config::default());
    let first = masked(Opcode::Text, true, b"hello");
    assert_eq!(
        server.read_owned(NOW, &wire),
        Owned::Message {
            consumed: first.len(),
            message: Message::from("hello")
        }
    );
    assert!(events(&mut server).is_empty(), "nothing was queued");
}

#[test]
fn invalid_utf8_fails_with_1007() {
    let mut server = open_server(Config::default());
    let wire = masked(Opcode::Text, true, &[b'o', b'k', 0xc0, 0x80]);
    assert_eq!(server.read_owned(NOW, &wire), Owned::Fed(wire.len()));
    assert_failed_on_invalid_utf8(&mut server);
}

#[test]
fn a_fault_after_an_owned_message_waits_for_the_answer() {
    let mut server = open_server(Config::default());
    let (wire, first) = question_then_fault();
    let Owned::Message { consumed, message } = server.read_owned(NOW, &wire) else {
        panic!("a whole message first");
    };
    assert_eq!((consumed, message), (first, Message::from("question")));
    let rest = wire.len() - first;
    assert_eq!(server.read_owned(NOW, &wire[first..]), Owned::Fed(rest));
    assert_answered_before_the_close(&mut server);
}
