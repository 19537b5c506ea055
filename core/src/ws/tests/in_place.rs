//! Receiving in place and sending borrowed payloads (`read_in_place`, `send_text`,
//! `send_binary`) against the general path.

use alloc::vec::Vec;

use super::conn::{
    assert_answered_before_the_close, assert_failed_on_invalid_utf8, events, masked, open_pair,
    open_server, question_then_fault,
};
use crate::Machine;
use crate::testing::LinkConfig;
use crate::time::Instant;
use crate::ws::{CloseCode, Config, Event, InPlace, Message, MessageRef, Opcode, UsageError};

const NOW: Instant = Instant::ZERO;

/// Reads every frame of `wire` in place, collecting what came back, as owned copies.
fn read_all(server: &mut crate::ws::Connection, wire: &mut [u8]) -> Vec<Result<Message, usize>> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < wire.len() {
        match server.read_in_place(NOW, &mut wire[pos..]) {
            InPlace::Message { consumed, message } => {
                out.push(Ok(match message {
                    MessageRef::Text(text) => Message::from(text.as_str()),
                    MessageRef::Binary(bytes) => Message::from(bytes.to_vec()),
                }));
                pos += consumed;
            }
            InPlace::Fed(consumed) => {
                out.push(Err(consumed));
                pos += consumed;
            }
        }
    }
    out
}

#[test]
fn whole_messages_come_back_borrowed_and_unmasked() {
    let mut server = open_server(Config::default());
    let mut wire = Vec::new();
    for (opcode, payload) in [
        (Opcode::Text, "hello".as_bytes()),
        (Opcode::Binary, &[0xff, 0, 0x80][..]),
        (Opcode::Text, "grüße, 世界".as_bytes()),
        (Opcode::Text, b""),
    ] {
        wire.extend(masked(opcode, true, payload));
    }
    let read = read_all(&mut server, &mut wire);
    assert_eq!(
        read,
        [
            Ok(Message::from("hello")),
            Ok(Message::from(alloc::vec![0xff, 0, 0x80])),
            Ok(Message::from("grüße, 世界")),
            Ok(Message::from("")),
        ]
    );
    assert!(events(&mut server).is_empty(), "nothing was queued");
}

#[test]
fn anything_else_goes_the_general_way_in_order() {
    let mut server = open_server(Config::default());
    // A ping, then a message: the ping is fed and queued; while its event waits, the
    // message is fed too, so the application sees them in order.
    let mut wire = masked(Opcode::Ping, true, b"p");
    let ping_len = wire.len();
    wire.extend(masked(Opcode::Text, true, b"after"));
    assert_eq!(
        server.read_in_place(NOW, &mut wire[..ping_len]),
        InPlace::Fed(ping_len)
    );
    let rest = wire.len() - ping_len;
    assert_eq!(
        server.read_in_place(NOW, &mut wire[ping_len..]),
        InPlace::Fed(rest)
    );
    let seen = events(&mut server);
    assert!(matches!(&seen[..], [Event::Ping(p), Event::Message(m)]
        if &p[..] == b"p" && m.as_text() == Some("after")));
    // A fragment and a frame cut short are fed as well.
    for (opcode, fin, payload) in [
        (Opcode::Text, false, &b"frag"[..]),
        (Opcode::Continuation, true, b"ment"),
    ] {
        let mut frame = masked(opcode, fin, payload);
        let len = frame.len();
        assert_eq!(server.read_in_place(NOW, &mut frame), InPlace::Fed(len));
    }
    let mut cut = masked(Opcode::Text, true, b"whole later");
    let (len, half) = (cut.len(), cut.len() / 2);
    assert_eq!(
        server.read_in_place(NOW, &mut cut[..half]),
        InPlace::Fed(half)
    );
    assert_eq!(
        server.read_in_place(NOW, &mut cut[half..]),
        InPlace::Fed(len - half)
    );
    let texts: Vec<_> = events(&mut server)
        .into_iter()
        .map(|event| match event {
            Event::Message(m) => m.as_text().map(alloc::string::String::from),
            _ => None,
        })
        .collect();
    assert_eq!(texts, [Some("fragment".into()), Some("whole later".into())]);
    // With the queue empty again, a whole message is borrowed again.
    let mut again = masked(Opcode::Binary, true, b"in place");
    assert!(matches!(
        server.read_in_place(NOW, &mut again),
        InPlace::Message {
            message: MessageRef::Binary(b"in place"),
            ..
        }
    ));
}

#[test]
fn invalid_utf8_in_place_fails_with_1007() {
    let mut server = open_server(Config::default());
    let mut wire = masked(Opcode::Text, true, &[b'o', b'k', 0xc0, 0x80]);
    let len = wire.len();
    assert_eq!(server.read_in_place(NOW, &mut wire), InPlace::Fed(len));
    assert_failed_on_invalid_utf8(&mut server);
}

#[test]
fn a_fault_after_an_in_place_message_waits_for_the_answer() {
    let mut server = open_server(Config::default());
    let (mut wire, first) = question_then_fault();
    assert!(matches!(
        server.read_in_place(NOW, &mut wire[..first]),
        InPlace::Message {
            message: MessageRef::Text(text),
            ..
        } if text == "question"
    ));
    let rest = wire.len() - first;
    assert_eq!(
        server.read_in_place(NOW, &mut wire[first..]),
        InPlace::Fed(rest)
    );
    assert_answered_before_the_close(&mut server);
}

#[test]
fn borrowed_sends_match_owned_ones() {
    let mut pair = open_pair(Config::default(), LinkConfig::default());
    pair.a.send_text(pair.now, "borrowed text").unwrap();
    pair.a.send_binary(pair.now, &[1, 2, 3]).unwrap();
    pair.run_for(core::time::Duration::from_millis(10));
    assert_eq!(
        events(&mut pair.b),
        [
            Event::Message(Message::from("borrowed text")),
            Event::Message(Message::from(alloc::vec![1u8, 2, 3])),
        ]
    );
    pair.a
        .command(
            pair.now,
            crate::ws::Command::Close {
                code: CloseCode::NORMAL,
                reason: "".into(),
            },
        )
        .unwrap();
    assert_eq!(
        pair.a.send_text(pair.now, "too late"),
        Err(UsageError::Closing)
    );
    assert_eq!(pair.a.send_binary(pair.now, b""), Err(UsageError::Closing));
}
