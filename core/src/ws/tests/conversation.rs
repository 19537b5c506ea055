//! Server applications tested the Ktor way, with [`Conversation`]: a handler of events
//! talking to a test that plays the client.

use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;
use core::time::Duration;

use crate::http::{ClientRequest, HandshakeError, Reject};
use crate::testing::{Conversation, LinkConfig};
use crate::ws::{CloseCode, CloseReason, Command, Config, Event, Message};

/// The application under test in most cases: echoes, and says goodbye on "bye".
fn echo_or_goodbye(event: &Event) -> Vec<Command> {
    match event {
        Event::Message(Message::Text(text)) if text == "bye" => vec![Command::Close {
            code: CloseCode::new(4000),
            reason: "see you".into(),
        }],
        Event::Message(message) => vec![Command::Send(message.clone())],
        _ => vec![],
    }
}

#[test]
fn a_conversation_over_a_byte_by_byte_link() {
    let mut talk = Conversation::with(
        Config::default(),
        Config::default(),
        &ClientRequest::new("localhost", "/echo"),
        LinkConfig::chunked(1).with_latency(Duration::from_millis(5)),
        echo_or_goodbye,
    );
    talk.send("hello").unwrap();
    talk.advance(Duration::from_secs(1));
    assert_eq!(talk.receive(), Some(Message::Text("hello".into())));
    let blob = Message::Binary((0..=255u8).cycle().take(10_000).collect::<Vec<u8>>().into());
    talk.send(blob.clone()).unwrap();
    talk.advance(Duration::from_secs(200)); // 10 000 one-byte deliveries, 5 ms each way
    assert_eq!(talk.receive(), Some(blob));
    assert_eq!(talk.receive(), None);
}

#[test]
fn the_server_application_closes_with_its_code_and_reason() {
    let mut talk = Conversation::new(echo_or_goodbye);
    talk.send("bye").unwrap();
    assert_eq!(
        talk.events(),
        [
            Event::Open { subprotocol: None },
            Event::CloseReceived {
                code: Some(CloseCode::new(4000)),
                reason: "see you".into()
            },
            Event::Closed(CloseReason::Normal {
                code: Some(CloseCode::new(4000)),
                reason: "see you".into()
            }),
        ]
    );
    assert_eq!(talk.send("too late"), Err(crate::ws::UsageError::NotOpen));
}

#[test]
fn the_server_application_keeps_the_connection_alive_with_pings() {
    let server = Config {
        ping_interval: Some(Duration::from_secs(1)),
        pong_timeout: Duration::from_millis(500),
        ..Config::default()
    };
    let mut pongs = 0;
    let mut talk = Conversation::with(
        Config::default(),
        server,
        &ClientRequest::new("localhost", "/"),
        LinkConfig::default().with_latency(Duration::from_millis(20)),
        |event: &Event| {
            if matches!(event, Event::Pong(_)) {
                pongs += 1;
            }
            vec![]
        },
    );
    talk.advance(Duration::from_secs(30));
    let pings = talk
        .events()
        .iter()
        .filter(|event| matches!(event, Event::Ping(_)))
        .count();
    assert!(pings >= 29, "{pings} pings");
    assert!(talk.pair.a.is_open() && talk.pair.b.is_open());
    drop(talk);
    assert!(pongs >= 29, "{pongs} pongs reached the application");
}

#[test]
fn the_server_application_can_reject_the_upgrade() {
    let mut talk = Conversation::new(|event: &Event| match event {
        Event::UpgradeRequest(request) if request.path() == "/" => {
            vec![Command::Reject(Reject::new(403).body("members only"))]
        }
        _ => vec![],
    });
    let events = talk.events();
    assert!(
        matches!(
            events.as_slice(),
            [Event::Closed(CloseReason::Handshake(
                HandshakeError::UnexpectedStatus { status: 403 }
            ))]
        ),
        "{events:?}"
    );
}

#[test]
fn the_application_sees_pings_and_answers_a_subprotocol() {
    let mut seen = Vec::new();
    let mut talk = Conversation::with(
        Config::default(),
        Config::default(),
        &ClientRequest::new("localhost", "/").subprotocol("chat.v1"),
        LinkConfig::default(),
        |event: &Event| match event {
            Event::UpgradeRequest(request) => {
                let chosen = request.subprotocols()[0].to_string();
                vec![Command::Accept(
                    crate::http::Accept::new().subprotocol(chosen),
                )]
            }
            other => {
                seen.push(alloc::format!("{other:?}"));
                vec![]
            }
        },
    );
    assert_eq!(
        talk.next_event(),
        Some(Event::Open {
            subprotocol: Some("chat.v1".into())
        })
    );
    talk.ping(&b"hi"[..]).unwrap();
    assert_eq!(
        talk.next_event(),
        Some(Event::Pong(bytes::Bytes::from_static(b"hi")))
    );
    drop(talk);
    let seen: Vec<String> = seen;
    assert!(
        seen.iter().any(|event| event.starts_with("Ping")),
        "{seen:?}"
    );
}
