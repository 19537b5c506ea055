//! The connection machine, both roles, through the Pair harness on virtual time.

use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;
use bytes::{Bytes, BytesMut};
use core::time::Duration;

use crate::Machine;
use crate::http::{Accept, ClientRequest, Reject, accept_key};
use crate::rng::Rng;
use crate::testing::{LinkConfig, Pair};
use crate::time::Instant;
use crate::ws::send::write_frame;
use crate::ws::{
    CloseCode, CloseReason, Command, Config, Connection, Event, Message, Opcode, ProtocolError,
    TimeoutKind, UsageError,
};

pub(super) fn client(config: Config) -> Connection {
    Connection::client(
        config,
        Rng::from_u64(1),
        &ClientRequest::new("example.com", "/chat"),
    )
    .expect("a valid request")
}

pub(super) fn server(config: Config) -> Connection {
    Connection::server(config, Rng::from_u64(2))
}

pub(super) fn events(machine: &mut Connection) -> Vec<Event> {
    core::iter::from_fn(|| machine.poll_event()).collect()
}

/// A client and a server joined by `link`, with the upgrade accepted and both open.
pub(super) fn open_pair(config: Config, link: LinkConfig) -> Pair<Connection, Connection> {
    let mut pair = Pair::with_links(client(config), server(config), link, link);
    pair.run_for(Duration::from_millis(100));
    let request = events(&mut pair.b);
    assert!(matches!(request.as_slice(), [Event::UpgradeRequest(r)] if r.path() == "/chat"));
    pair.b
        .command(pair.now, Command::Accept(Accept::new()))
        .unwrap();
    pair.run_for(Duration::from_millis(100));
    assert_eq!(events(&mut pair.a), [Event::Open { subprotocol: None }]);
    assert_eq!(events(&mut pair.b), [Event::Open { subprotocol: None }]);
    pair
}

/// A server already past the handshake (driven by a real client), for raw frame tests.
pub(super) fn open_server(config: Config) -> Connection {
    let mut pair = open_pair(config, LinkConfig::default());
    let _ = pair.b.poll_transmit();
    pair.b
}

pub(super) fn masked(opcode: Opcode, fin: bool, payload: &[u8]) -> Vec<u8> {
    let mut out = BytesMut::new();
    write_frame(&mut out, opcode, fin, payload, Some([1, 2, 3, 4]));
    out.to_vec()
}

pub(super) fn transmitted(machine: &mut Connection) -> Vec<u8> {
    core::iter::from_fn(|| machine.poll_transmit())
        .flat_map(|b| b.to_vec())
        .collect()
}

/// The close frame a server sends for `code` (unmasked, no reason).
pub(super) fn close_frame(code: CloseCode) -> Vec<u8> {
    let [hi, lo] = code.as_u16().to_be_bytes();
    vec![0x88, 0x02, hi, lo]
}

/// A text message ("question") and, behind it, a frame that breaks the protocol (a stray
/// continuation); returns the frames and where the message's ends.
pub(super) fn question_then_fault() -> (Vec<u8>, usize) {
    let mut wire = masked(Opcode::Text, true, b"question");
    let first = wire.len();
    wire.extend(masked(Opcode::Continuation, true, b"stray"));
    (wire, first)
}

/// The fault behind the question waits until the application has answered and comes back
/// for events: then the answer goes out before the close.
pub(super) fn assert_answered_before_the_close(server: &mut Connection) {
    assert!(transmitted(server).is_empty(), "the fault waits");
    server.send_text(Instant::ZERO, "answer").unwrap();
    assert_eq!(
        events(server),
        [Event::Closed(CloseReason::Protocol(
            ProtocolError::UnexpectedContinuation
        ))]
    );
    let mut expected = vec![0x81, 6];
    expected.extend(b"answer");
    expected.extend(close_frame(CloseCode::PROTOCOL_ERROR));
    assert_eq!(transmitted(server), expected);
}

/// The server failed on invalid UTF-8: its 1007 close went out and the end was reported.
pub(super) fn assert_failed_on_invalid_utf8(server: &mut Connection) {
    assert_eq!(transmitted(server), close_frame(CloseCode::INVALID_PAYLOAD));
    assert_eq!(
        events(server),
        [Event::Closed(CloseReason::Protocol(
            ProtocolError::InvalidUtf8
        ))]
    );
}

#[test]
fn messages_both_ways_whole_and_byte_by_byte() {
    for link in [
        LinkConfig::default(),
        LinkConfig::chunked(1),
        LinkConfig::chunked(7),
    ] {
        let mut pair = open_pair(Config::default(), link);
        let big: Vec<u8> = (0..100_000u32).map(|i| i as u8).collect();
        pair.a
            .command(pair.now, Command::Send(Message::Text("hello".into())))
            .unwrap();
        pair.a
            .command(pair.now, Command::Send(Message::Binary(big.clone().into())))
            .unwrap();
        pair.drive();
        assert_eq!(
            events(&mut pair.b),
            [
                Event::Message(Message::Text("hello".into())),
                Event::Message(Message::Binary(big.into())),
            ]
        );
        pair.b
            .command(pair.now, Command::Send(Message::Text("κόσμε".into())))
            .unwrap();
        pair.drive();
        assert_eq!(
            events(&mut pair.a),
            [Event::Message(Message::Text("κόσμε".into()))]
        );
    }
}

#[test]
fn a_servers_large_payloads_go_out_uncopied_and_in_order() {
    let big = Bytes::from((0..10_000u32).map(|i| i as u8).collect::<Vec<_>>());
    let messages = [
        Message::Text("a".into()),
        Message::Binary(big.clone()),
        Message::Text("b".into()),
        Message::Binary(big.clone()),
        Message::Binary(big.slice(..4096)),
        Message::Text("c".into()),
    ];
    for link in [LinkConfig::default(), LinkConfig::chunked(7)] {
        let mut pair = open_pair(Config::default(), link);
        for message in &messages {
            pair.b
                .command(pair.now, Command::Send(message.clone()))
                .unwrap();
        }
        pair.drive();
        let expected: Vec<Event> = messages.iter().cloned().map(Event::Message).collect();
        assert_eq!(events(&mut pair.a), expected);
    }
    let mut server = open_server(Config::default());
    server
        .command(Instant::ZERO, Command::Send(Message::Binary(big.clone())))
        .unwrap();
    assert_eq!(server.buffered_amount(), 4 + big.len());
    let chunks: Vec<Bytes> = core::iter::from_fn(|| server.poll_transmit()).collect();
    assert_eq!(chunks.len(), 2, "the header, then the payload");
    assert_eq!(chunks[1].as_ptr(), big.as_ptr(), "the payload was copied");
    assert_eq!(server.buffered_amount(), 0);
}

#[test]
fn frames_are_lent_in_place_until_a_payload_is_queued_uncopied() {
    let mut server = open_server(Config::default());
    let send = |server: &mut Connection, message: Message| {
        server
            .command(Instant::ZERO, Command::Send(message))
            .unwrap();
    };
    assert_eq!(server.lend_transmit(), None, "nothing waits");
    send(&mut server, Message::Text("hello".into()));
    send(&mut server, Message::Binary(Bytes::from_static(b"ab")));
    let frames = b"\x81\x05hello\x82\x02ab";
    assert_eq!(server.lend_transmit(), Some(&frames[..]));
    server.advance_lent(3); // a partial write
    assert_eq!(server.lend_transmit(), Some(&frames[3..]));
    assert_eq!(server.buffered_amount(), frames.len() - 3);
    server.advance_lent(frames.len() - 3);
    assert_eq!(server.lend_transmit(), None);
    assert_eq!(server.buffered_amount(), 0);

    // A payload queued without a copy is a chunk of its own: nothing is lent until the
    // chunks were handed out, and then the buffer after them is.
    let big = Bytes::from(vec![9u8; 5000]);
    send(&mut server, Message::Text("x".into()));
    send(&mut server, Message::Binary(big.clone()));
    send(&mut server, Message::Text("y".into()));
    assert_eq!(server.lend_transmit(), None);
    let head = server.poll_transmit().unwrap();
    assert_eq!(&head[..], b"\x81\x01x\x82\x7e\x13\x88");
    assert_eq!(server.poll_transmit().unwrap().as_ptr(), big.as_ptr());
    assert_eq!(server.lend_transmit(), Some(&b"\x81\x01y"[..]));
    server.advance_lent(3);
    assert_eq!(server.poll_transmit(), None);
}

#[test]
fn fragments_with_interleaved_control_frames_reassemble() {
    let mut server = open_server(Config::default());
    let mut input = masked(Opcode::Text, false, "Hel".as_bytes());
    input.extend(masked(Opcode::Ping, true, b"p"));
    input.extend(masked(Opcode::Continuation, true, "lo".as_bytes()));
    for byte in &input {
        assert_eq!(
            server.handle_input(Instant::ZERO, core::slice::from_ref(byte)),
            1
        );
    }
    assert_eq!(
        events(&mut server),
        [
            Event::Ping(Bytes::from_static(b"p")),
            Event::Message(Message::Text("Hello".into())),
        ]
    );
    assert_eq!(
        transmitted(&mut server),
        [0x8A, 0x01, b'p'],
        "automatic pong"
    );
}

#[test]
fn ping_is_answered_automatically() {
    let mut pair = open_pair(Config::default(), LinkConfig::chunked(3));
    pair.a
        .command(pair.now, Command::Ping(Bytes::from_static(b"abc")))
        .unwrap();
    pair.drive();
    assert_eq!(
        events(&mut pair.b),
        [Event::Ping(Bytes::from_static(b"abc"))]
    );
    assert_eq!(
        events(&mut pair.a),
        [Event::Pong(Bytes::from_static(b"abc"))]
    );
    let too_long = Bytes::from(vec![0u8; 126]);
    assert_eq!(
        pair.a.command(pair.now, Command::Ping(too_long)),
        Err(UsageError::PingTooLong)
    );
}

#[test]
fn client_initiated_closing_handshake() {
    let mut pair = open_pair(Config::default(), LinkConfig::chunked(2));
    let close = Command::Close {
        code: CloseCode::NORMAL,
        reason: "bye".into(),
    };
    pair.a.command(pair.now, close).unwrap();
    assert_eq!(
        pair.a
            .command(pair.now, Command::Send(Message::Text("late".into()))),
        Err(UsageError::Closing)
    );
    pair.run_for(Duration::from_secs(1));
    let normal = |reason: &str| {
        Event::Closed(CloseReason::Normal {
            code: Some(CloseCode::NORMAL),
            reason: reason.to_string(),
        })
    };
    assert_eq!(
        events(&mut pair.b),
        [
            Event::CloseReceived {
                code: Some(CloseCode::NORMAL),
                reason: "bye".into()
            },
            normal("bye"),
        ]
    );
    // The server ends the TCP connection; the client closes once it sees that end.
    assert!(pair.b.is_finished() && pair.b.is_transmit_closed());
    assert_eq!(
        events(&mut pair.a),
        [
            Event::CloseReceived {
                code: Some(CloseCode::NORMAL),
                reason: String::new()
            },
            normal(""),
        ]
    );
    assert!(pair.a.is_finished());
}

#[test]
fn server_initiated_closing_handshake() {
    let mut pair = open_pair(Config::default(), LinkConfig::default());
    pair.b
        .command(
            pair.now,
            Command::Close {
                code: CloseCode::GOING_AWAY,
                reason: "restart".into(),
            },
        )
        .unwrap();
    pair.run_for(Duration::from_secs(1));
    assert!(matches!(
        events(&mut pair.a).as_slice(),
        [Event::CloseReceived { code: Some(c), .. }, Event::Closed(CloseReason::Normal { .. })]
            if *c == CloseCode::GOING_AWAY
    ));
    assert!(matches!(
        events(&mut pair.b).as_slice(),
        [
            Event::CloseReceived { .. },
            Event::Closed(CloseReason::Normal { .. })
        ]
    ));
    assert!(pair.a.is_finished() && pair.b.is_finished());
}

#[test]
fn peer_faults_send_their_close_code() {
    let cases: [(Vec<u8>, ProtocolError, CloseCode); 5] = [
        {
            let mut unmasked = BytesMut::new();
            write_frame(&mut unmasked, Opcode::Text, true, b"hi", None);
            (
                unmasked.to_vec(),
                ProtocolError::UnmaskedFrame,
                CloseCode::PROTOCOL_ERROR,
            )
        },
        (
            masked(Opcode::Text, true, &[0xC0, 0x80]),
            ProtocolError::InvalidUtf8,
            CloseCode::INVALID_PAYLOAD,
        ),
        (
            masked(Opcode::Continuation, true, b"x"),
            ProtocolError::UnexpectedContinuation,
            CloseCode::PROTOCOL_ERROR,
        ),
        (
            {
                let mut two = masked(Opcode::Text, false, b"a");
                two.extend(masked(Opcode::Binary, true, b"b"));
                two
            },
            ProtocolError::ExpectedContinuation(Opcode::Binary),
            CloseCode::PROTOCOL_ERROR,
        ),
        (
            masked(Opcode::Binary, true, &[0u8; 11]),
            ProtocolError::MessageTooBig { max: 10 },
            CloseCode::MESSAGE_TOO_BIG,
        ),
    ];
    for (input, error, code) in cases {
        let config = Config {
            max_message_size: 10,
            ..Config::default()
        };
        let mut server = open_server(config);
        server.handle_input(Instant::ZERO, &input);
        assert_eq!(transmitted(&mut server), close_frame(code), "{error:?}");
        assert_eq!(
            events(&mut server),
            [Event::Closed(CloseReason::Protocol(error))]
        );
        // FIN after the close frame, then linger: input is read and dropped until the
        // peer's end, so that closing with unread input does not reset the connection.
        assert!(server.is_transmit_closed() && !server.is_finished());
        assert!(server.wants_read());
        assert_eq!(server.handle_input(Instant::ZERO, b"junk"), 4);
        assert!(events(&mut server).is_empty());
        server.handle_eof(Instant::ZERO);
        assert!(server.is_finished());
    }
}

#[test]
fn invalid_close_codes_are_protocol_errors() {
    let mut server = open_server(Config::default());
    server.handle_input(
        Instant::ZERO,
        &masked(Opcode::Close, true, &1005u16.to_be_bytes()),
    );
    assert_eq!(
        transmitted(&mut server),
        close_frame(CloseCode::PROTOCOL_ERROR)
    );
    assert!(matches!(
        events(&mut server).as_slice(),
        [Event::Closed(CloseReason::Protocol(
            ProtocolError::InvalidCloseCode(_)
        ))]
    ));
}

#[test]
fn close_timeout_when_the_peer_never_answers() {
    let pair = open_pair(Config::default(), LinkConfig::default());
    let mut client = pair.a;
    let _ = transmitted(&mut client);
    let start = pair.now;
    client
        .command(
            start,
            Command::Close {
                code: CloseCode::NORMAL,
                reason: String::new(),
            },
        )
        .unwrap();
    assert_eq!(
        transmitted(&mut client)[0],
        0x88,
        "our close frame goes out"
    );
    let deadline = client.poll_timeout().expect("a close deadline");
    assert_eq!(deadline, start + Duration::from_secs(5));
    client.handle_timeout(deadline);
    assert_eq!(
        events(&mut client),
        [Event::Closed(CloseReason::Timeout(
            TimeoutKind::CloseHandshake
        ))]
    );
    assert!(client.is_finished());
}

#[test]
fn keepalive_pings_are_answered_and_silence_times_out() {
    let config = Config {
        ping_interval: Some(Duration::from_secs(1)),
        pong_timeout: Duration::from_millis(500),
        ..Config::default()
    };
    // An answering peer keeps the connection alive through many intervals.
    let mut pair = open_pair(
        config,
        LinkConfig::default().with_latency(Duration::from_millis(10)),
    );
    pair.run_for(Duration::from_secs(10));
    let pongs = events(&mut pair.a)
        .iter()
        .filter(|e| matches!(e, Event::Pong(_)))
        .count();
    assert!(pongs >= 9, "{pongs} pongs");
    assert!(pair.a.is_open());

    // A silent peer: the pong deadline fails the connection with 1001.
    let mut client = pair.a;
    let _ = transmitted(&mut client);
    let now = pair.now;
    let ping_at = client.poll_timeout().unwrap();
    client.handle_timeout(ping_at);
    assert_eq!(transmitted(&mut client)[0], 0x89, "a masked ping");
    let pong_deadline = client.poll_timeout().unwrap();
    assert!(pong_deadline <= ping_at + Duration::from_millis(500) && pong_deadline > now);
    client.handle_timeout(pong_deadline);
    assert_eq!(
        events(&mut client),
        [Event::Closed(CloseReason::Timeout(TimeoutKind::Pong))]
    );
    // A masked close whose payload is the code (2 bytes) and "ping timeout" (12).
    assert_eq!(transmitted(&mut client)[..2], [0x88, 0x80 | 14]);
}

#[test]
fn bad_upgrade_requests_get_their_status() {
    let mut server = server(Config::default());
    let request = "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                   Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n";
    server.handle_input(Instant::ZERO, request.as_bytes());
    let response = String::from_utf8(transmitted(&mut server)).unwrap();
    assert!(response.starts_with("HTTP/1.1 426"), "{response}");
    assert!(response.contains("Sec-WebSocket-Version: 13"), "{response}");
    assert!(matches!(
        events(&mut server).as_slice(),
        [Event::Closed(CloseReason::Handshake(_))]
    ));
    // The server lingers for the client's end, at most the close timeout.
    assert!(server.is_transmit_closed() && !server.is_finished());
    let linger = server.poll_timeout().expect("a linger deadline");
    assert_eq!(linger, Instant::ZERO + Config::default().close_timeout);
    server.handle_timeout(linger);
    assert!(server.is_finished());
}

#[test]
fn the_application_can_reject_an_upgrade() {
    let mut pair = Pair::new(client(Config::default()), server(Config::default()));
    pair.drive();
    let _ = events(&mut pair.b);
    pair.b
        .command(pair.now, Command::Reject(Reject::new(403).body("no")))
        .unwrap();
    assert_eq!(
        events(&mut pair.b),
        [Event::Closed(CloseReason::Rejected { status: 403 })]
    );
    pair.drive();
    assert!(matches!(
        events(&mut pair.a).as_slice(),
        [Event::Closed(CloseReason::Handshake(_))]
    ));
    assert_eq!(
        pair.b.command(pair.now, Command::Accept(Accept::new())),
        Err(UsageError::NoPendingUpgrade)
    );
}

#[test]
fn frames_behind_the_response_head_are_not_lost() {
    let mut client = client(Config::default());
    let request = transmitted(&mut client);
    let text = String::from_utf8(request).unwrap();
    let key = text
        .lines()
        .find_map(|line| line.strip_prefix("Sec-WebSocket-Key: "))
        .unwrap();
    let mut input = alloc::format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {}\r\n\r\n",
        accept_key(key)
    )
    .into_bytes();
    input.extend([0x81, 0x02, b'h', b'i']); // an unmasked text frame from the server
    assert_eq!(client.handle_input(Instant::ZERO, &input), input.len());
    assert_eq!(
        events(&mut client),
        [
            Event::Open { subprotocol: None },
            Event::Message(Message::Text("hi".into()))
        ]
    );
}

#[test]
fn transport_end_without_a_close_is_abnormal() {
    let mut server = open_server(Config::default());
    server.handle_eof(Instant::ZERO);
    assert_eq!(events(&mut server), [Event::Closed(CloseReason::Abnormal)]);
    assert!(server.is_finished());
}

/// A peer that floods pings while the application reads no events and the transport takes
/// no output meets backpressure: memory stays bounded.
#[test]
fn a_ping_flood_meets_backpressure() {
    let mut server = open_server(Config::default());
    let ping = masked(Opcode::Ping, true, &[7u8; 125]);
    let mut accepted = 0usize;
    for _ in 0..100_000 {
        let n = server.handle_input(Instant::ZERO, &ping);
        accepted += n;
        if n < ping.len() {
            break;
        }
    }
    assert!(!server.wants_read(), "input stops");
    assert!(accepted < 100_000 * ping.len());
    assert!(
        server.buffered_amount() <= 2 * 1024 * 1024,
        "{}",
        server.buffered_amount()
    );
    // Draining output and events lets input flow again.
    let _ = transmitted(&mut server);
    let _ = events(&mut server);
    assert!(server.wants_read());
}

/// A message and a bad frame in one input: the application sees the message and may answer
/// it before the connection fails (Autobahn 3.2, 4.1.3, 5.15 expect the echo first).
#[test]
fn a_fault_behind_a_message_waits_for_the_application() {
    let mut server = open_server(Config::default());
    let mut input = masked(Opcode::Text, true, b"Hello, world!");
    input.extend(
        masked(Opcode::Text, true, b"x")
            .iter()
            .enumerate()
            .map(|(i, b)| {
                if i == 0 { b | 0x20 } else { *b } // RSV2 set on the second frame
            }),
    );
    assert_eq!(server.handle_input(Instant::ZERO, &input), input.len());
    assert!(!server.wants_read(), "no input while the fault is pending");
    let message = server.poll_event().unwrap();
    let Event::Message(message) = message else {
        panic!("{message:?}")
    };
    server
        .command(Instant::ZERO, Command::Send(message))
        .unwrap();
    // The next poll finds the queue empty: the failure happens now, after the echo.
    assert!(matches!(
        server.poll_event(),
        Some(Event::Closed(CloseReason::Protocol(
            ProtocolError::ReservedBits(_)
        )))
    ));
    let wire = transmitted(&mut server);
    assert_eq!(&wire[..2], [0x81, 13], "the echo goes out first");
    assert_eq!(&wire[15..], close_frame(CloseCode::PROTOCOL_ERROR));
    assert!(!server.is_finished(), "lingers for the peer's end");
    server.handle_eof(Instant::ZERO);
    assert!(server.is_finished());
}

/// The fault may arrive in a later input, while the application holds the message but has
/// not answered it yet (Autobahn 3.4 sends byte by byte).
#[test]
fn a_fault_while_the_application_answers_waits_too() {
    let mut server = open_server(Config::default());
    let message = masked(Opcode::Text, true, b"Hello");
    assert_eq!(server.handle_input(Instant::ZERO, &message), message.len());
    let Some(Event::Message(reply)) = server.poll_event() else {
        panic!("a message")
    };
    // The bad frame's first byte (RSV3 set) arrives before the application answers.
    assert_eq!(server.handle_input(Instant::ZERO, &[0x91]), 1);
    server.command(Instant::ZERO, Command::Send(reply)).unwrap();
    assert!(matches!(
        server.poll_event(),
        Some(Event::Closed(CloseReason::Protocol(
            ProtocolError::ReservedBits(_)
        )))
    ));
    let wire = transmitted(&mut server);
    assert_eq!(&wire[..7], [0x81, 5, b'H', b'e', b'l', b'l', b'o']);
    assert_eq!(&wire[7..], close_frame(CloseCode::PROTOCOL_ERROR));
}

#[test]
fn a_silent_client_meets_the_handshake_timeout() {
    let mut server = server(Config::default());
    // Unarmed: the machine asks for the time at once, then arms itself from it.
    assert_eq!(server.poll_timeout(), Some(Instant::ZERO));
    let start = Instant::ZERO + Duration::from_secs(3);
    server.handle_timeout(start);
    let deadline = server.poll_timeout().expect("a handshake deadline");
    assert_eq!(deadline, start + Duration::from_secs(10));
    server.handle_input(start, b"GET / HTTP/1.1\r\n"); // a partial head does not reset it
    assert_eq!(server.poll_timeout(), Some(deadline));
    server.handle_timeout(deadline);
    assert_eq!(
        events(&mut server),
        [Event::Closed(CloseReason::Timeout(TimeoutKind::Handshake))]
    );

    // A completed handshake turns the timer off; `None` never arms it.
    let pair = open_pair(Config::default(), LinkConfig::default());
    assert_eq!(pair.a.poll_timeout(), None);
    assert_eq!(pair.b.poll_timeout(), None);
    let untimed = Config {
        handshake_timeout: None,
        ..Config::default()
    };
    assert_eq!(client(untimed).poll_timeout(), None);
}

/// Pings keep being answered while the application never reads events: only the reports
/// are capped, not the pongs.
#[test]
fn pings_are_answered_while_the_application_only_writes() {
    let mut server = open_server(Config::default());
    let ping = masked(Opcode::Ping, true, b"are you there");
    for round in 0..1000 {
        assert_eq!(
            server.handle_input(Instant::ZERO, &ping),
            ping.len(),
            "{round}"
        );
        let pong = transmitted(&mut server);
        assert_eq!(
            pong[..2],
            [0x8A, 13],
            "round {round}: a pong with the payload"
        );
        assert!(server.wants_read());
    }
    let reported = events(&mut server);
    assert_eq!(reported.len(), 32, "reports are capped");
    assert!(reported.iter().all(|e| matches!(e, Event::Ping(_))));
    // Consuming the reports makes room for new ones.
    server.handle_input(Instant::ZERO, &ping);
    assert_eq!(events(&mut server).len(), 1);
}
