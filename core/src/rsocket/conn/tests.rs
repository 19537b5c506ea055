//! The connection machine against the spec's rules, through the Pair harness on virtual
//! time: one test per MUST or "MUST be ignored" rule, plus the interactions end to end.

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use bytes::{Bytes, BytesMut};
use core::time::Duration;

use super::*;
use crate::rsocket::FrameReader;
use crate::testing::{LinkConfig, Pair};

type Peers = Pair<Connection, Connection>;

fn events(machine: &mut Connection) -> Vec<Event> {
    core::iter::from_fn(|| machine.poll_event()).collect()
}

fn transmitted(machine: &mut Connection) -> Vec<u8> {
    core::iter::from_fn(|| machine.poll_transmit())
        .flat_map(|b| b.to_vec())
        .collect()
}

/// The frames in length-prefixed output.
fn frames_of(bytes: &[u8]) -> Vec<Frame> {
    let mut reader = FrameReader::new(1 << 24);
    reader.push(bytes);
    core::iter::from_fn(|| reader.next_frame().unwrap())
        .map(|frame| Frame::decode(frame).unwrap())
        .collect()
}

fn prefixed(frame: &Frame) -> Vec<u8> {
    let mut out = BytesMut::new();
    frame.encode_prefixed(&mut out);
    out.to_vec()
}

/// A client and a server with these configs over `link`, SETUP accepted.
fn open_with(client: Config, server: Config, link: LinkConfig) -> Peers {
    let mut pair = Pair::with_links(
        Connection::client(client),
        Connection::server(server),
        link,
        link,
    );
    pair.run_for(Duration::from_millis(10));
    let setup = events(&mut pair.b);
    assert!(
        matches!(setup.as_slice(), [Event::Setup(s)] if s.version == (1, 0)),
        "{setup:?}"
    );
    pair.b.command(pair.now, Command::AcceptSetup).unwrap();
    pair.run_for(Duration::from_millis(10));
    pair
}

fn open() -> Peers {
    open_with(Config::default(), Config::default(), LinkConfig::default())
}

fn request(pair: &mut Peers, request: Request) -> StreamId {
    let id = pair
        .a
        .command(pair.now, Command::Request(request))
        .unwrap()
        .unwrap();
    pair.run_for(Duration::from_millis(10));
    id
}

/// A server that has seen SETUP and accepted it, fed raw frames by the test.
fn raw_server(config: Config) -> Connection {
    let mut server = Connection::server(config);
    let mut client = Connection::client(Config::default());
    server.handle_input(Instant::ZERO, &transmitted(&mut client));
    assert!(matches!(events(&mut server).as_slice(), [Event::Setup(_)]));
    server.command(Instant::ZERO, Command::AcceptSetup).unwrap();
    server
}

fn feed(machine: &mut Connection, frame: &Frame) {
    machine.handle_input(Instant::ZERO, &prefixed(frame));
}

fn closed(events: &[Event]) -> Option<&CloseReason> {
    events.iter().find_map(|e| match e {
        Event::Closed(reason) => Some(reason),
        _ => None,
    })
}

// ---- interactions -----------------------------------------------------------------------

#[test]
fn request_response_fire_and_forget_and_metadata_push() {
    let mut pair = open();
    let id = request(
        &mut pair,
        Request::Response(Payload::with_metadata("hello", "meta")),
    );
    assert_eq!(id, 1, "the client opens odd ids");
    let got = events(&mut pair.b);
    assert_eq!(
        got,
        [Event::Request {
            stream: 1,
            interaction: Interaction::Response,
            payload: Payload::with_metadata("hello", "meta"),
        }]
    );
    pair.b
        .command(
            pair.now,
            Command::Send {
                stream: 1,
                payload: Payload::data("echo:hello"),
                complete: false,
            },
        )
        .unwrap();
    pair.run_for(Duration::from_millis(10));
    assert_eq!(
        events(&mut pair.a),
        [
            Event::Next {
                stream: 1,
                payload: Payload::data("echo:hello")
            },
            Event::Complete { stream: 1 }
        ]
    );
    assert_eq!(
        (pair.a.stream_count(), pair.b.stream_count()),
        (0, 0),
        "both forgot the stream"
    );

    request(&mut pair, Request::FireAndForget(Payload::data("fnf")));
    pair.a
        .command(pair.now, Command::MetadataPush(Bytes::from_static(b"push")))
        .unwrap();
    pair.run_for(Duration::from_millis(10));
    assert_eq!(
        events(&mut pair.b),
        [
            Event::Request {
                stream: 3,
                interaction: Interaction::FireAndForget,
                payload: Payload::data("fnf")
            },
            Event::MetadataPush(Bytes::from_static(b"push")),
        ]
    );
    assert_eq!(pair.b.stream_count(), 0);
}

#[test]
fn request_stream_never_sends_more_than_the_credit() {
    let mut pair = open();
    let id = request(
        &mut pair,
        Request::Stream {
            payload: Payload::data("5"),
            demand: Demand::Manual(2),
        },
    );
    let _ = events(&mut pair.b);
    for i in 0..5 {
        let payload = Payload::data(alloc::format!("item-{i}"));
        pair.b
            .command(
                pair.now,
                Command::Send {
                    stream: id,
                    payload,
                    complete: false,
                },
            )
            .unwrap();
    }
    pair.b
        .command(pair.now, Command::Complete { stream: id })
        .unwrap();
    assert_eq!(
        pair.b.held_items(id),
        3,
        "two went out, three wait for credit"
    );
    pair.run_for(Duration::from_millis(10));
    let first = events(&mut pair.a);
    assert_eq!(first.len(), 2, "{first:?}");
    // Two more per two received, as rsocket_peer's client does.
    pair.a
        .command(pair.now, Command::RequestN { stream: id, n: 2 })
        .unwrap();
    pair.run_for(Duration::from_millis(10));
    assert_eq!(events(&mut pair.a).len(), 2);
    pair.a
        .command(pair.now, Command::RequestN { stream: id, n: 2 })
        .unwrap();
    pair.run_for(Duration::from_millis(10));
    assert_eq!(
        events(&mut pair.a),
        [
            Event::Next {
                stream: id,
                payload: Payload::data("item-4")
            },
            Event::Complete { stream: id },
        ]
    );
    assert_eq!((pair.a.stream_count(), pair.b.stream_count()), (0, 0));
}

#[test]
fn a_window_grants_credit_as_the_application_consumes() {
    let mut pair = open();
    let id = request(
        &mut pair,
        Request::Stream {
            payload: Payload::default(),
            demand: Demand::Window(4),
        },
    );
    let _ = events(&mut pair.b);
    for i in 0..100u32 {
        let payload = Payload::data(Bytes::copy_from_slice(&i.to_be_bytes()));
        pair.b
            .command(
                pair.now,
                Command::Send {
                    stream: id,
                    payload,
                    complete: i == 99,
                },
            )
            .unwrap();
    }
    let mut received = 0;
    for _ in 0..1000 {
        pair.run_for(Duration::from_millis(1));
        // Never more in flight than the window.
        assert!(pair.b.held_items(id) + received >= 100 - 4 || pair.b.held_items(id) == 0);
        match pair.a.poll_event() {
            Some(Event::Next { .. }) => received += 1,
            Some(Event::Complete { .. }) => break,
            Some(other) => panic!("{other:?}"),
            None => {}
        }
    }
    assert_eq!(received, 100);
}

#[test]
fn a_channel_flows_both_ways_with_credit_both_ways() {
    let mut pair = open();
    let id = request(
        &mut pair,
        Request::Channel {
            payload: Payload::data("c-first"),
            demand: Demand::Window(8),
            complete: false,
        },
    );
    // The requester may not send more until the responder grants credit...
    pair.a
        .command(
            pair.now,
            Command::Send {
                stream: id,
                payload: Payload::data("c0"),
                complete: false,
            },
        )
        .unwrap();
    assert_eq!(pair.a.held_items(id), 1);
    // ...which it does automatically when its application takes the request.
    let request = pair.b.poll_event();
    assert!(matches!(
        request,
        Some(Event::Request {
            interaction: Interaction::Channel { complete: false },
            ..
        })
    ));
    pair.run_for(Duration::from_millis(10));
    assert_eq!(pair.a.held_items(id), 0);
    for item in ["c1", "c2"] {
        pair.a
            .command(
                pair.now,
                Command::Send {
                    stream: id,
                    payload: Payload::data(item),
                    complete: false,
                },
            )
            .unwrap();
    }
    pair.a
        .command(pair.now, Command::Complete { stream: id })
        .unwrap();
    pair.run_for(Duration::from_millis(10));
    let inbound = events(&mut pair.b);
    assert_eq!(inbound.len(), 4, "{inbound:?}"); // c0, c1, c2, complete
    for (i, event) in inbound.iter().take(3).enumerate() {
        let Event::Next { payload, .. } = event else {
            panic!("{event:?}")
        };
        pair.b
            .command(
                pair.now,
                Command::Send {
                    stream: id,
                    payload: Payload::data(alloc::format!("echo:{:?}", payload.data)),
                    complete: i == 2,
                },
            )
            .unwrap();
    }
    pair.run_for(Duration::from_millis(10));
    let outbound = events(&mut pair.a);
    assert_eq!(outbound.len(), 4, "{outbound:?}");
    assert_eq!((pair.a.stream_count(), pair.b.stream_count()), (0, 0));
}

#[test]
fn cancel_and_application_errors_end_streams() {
    let mut pair = open();
    let id = request(
        &mut pair,
        Request::Stream {
            payload: Payload::default(),
            demand: Demand::Manual(1),
        },
    );
    let _ = events(&mut pair.b);
    pair.a
        .command(pair.now, Command::Cancel { stream: id })
        .unwrap();
    pair.run_for(Duration::from_millis(10));
    assert_eq!(events(&mut pair.b), [Event::Cancelled { stream: id }]);
    assert_eq!(
        pair.b.command(
            pair.now,
            Command::Send {
                stream: id,
                payload: Payload::default(),
                complete: false
            }
        ),
        Err(UsageError::UnknownStream(id))
    );
    let id = request(&mut pair, Request::Response(Payload::default()));
    let _ = events(&mut pair.b);
    pair.b
        .command(
            pair.now,
            Command::Error {
                stream: id,
                code: ErrorCode::APPLICATION_ERROR,
                message: "no".into(),
            },
        )
        .unwrap();
    pair.run_for(Duration::from_millis(10));
    assert_eq!(
        events(&mut pair.a),
        [Event::Error {
            stream: id,
            code: ErrorCode::APPLICATION_ERROR,
            message: "no".into()
        }]
    );
}

#[test]
fn the_server_can_request_too() {
    let mut pair = open();
    let id = pair
        .b
        .command(
            pair.now,
            Command::Request(Request::Response(Payload::data("ping"))),
        )
        .unwrap()
        .unwrap();
    assert_eq!(id, 2, "the server opens even ids");
    pair.run_for(Duration::from_millis(10));
    assert!(matches!(
        events(&mut pair.a).as_slice(),
        [Event::Request { stream: 2, .. }]
    ));
    pair.a
        .command(
            pair.now,
            Command::Send {
                stream: 2,
                payload: Payload::data("pong"),
                complete: true,
            },
        )
        .unwrap();
    pair.run_for(Duration::from_millis(10));
    assert_eq!(
        events(&mut pair.b)[0],
        Event::Next {
            stream: 2,
            payload: Payload::data("pong")
        }
    );
}

// ---- fragmentation ----------------------------------------------------------------------

#[test]
fn fragmented_payloads_are_reassembled_over_any_chunking() {
    let config = Config {
        fragment_size: Some(64),
        ..Config::default()
    };
    let big = Payload::with_metadata(vec![b'm'; 3000], vec![b'd'; 100_000]);
    for link in [LinkConfig::default(), LinkConfig::chunked(7)] {
        let mut pair = open_with(config.clone(), config.clone(), link);
        let id = request(&mut pair, Request::Response(big.clone()));
        pair.run_for(Duration::from_secs(1));
        let got = events(&mut pair.b);
        assert_eq!(
            got,
            [Event::Request {
                stream: id,
                interaction: Interaction::Response,
                payload: big.clone()
            }]
        );
        pair.b
            .command(
                pair.now,
                Command::Send {
                    stream: id,
                    payload: big.clone(),
                    complete: true,
                },
            )
            .unwrap();
        pair.run_for(Duration::from_secs(1));
        assert_eq!(
            events(&mut pair.a)[0],
            Event::Next {
                stream: id,
                payload: big.clone()
            }
        );
    }
}

#[test]
fn reassembly_is_capped() {
    let server = Config {
        max_inbound_payload: 1000,
        ..Config::default()
    };
    let client = Config {
        fragment_size: Some(100),
        ..Config::default()
    };
    let mut pair = open_with(client, server, LinkConfig::default());
    let id = request(&mut pair, Request::Response(Payload::data(vec![0u8; 5000])));
    pair.run_for(Duration::from_millis(10));
    let server_events = events(&mut pair.b);
    assert!(
        matches!(
            server_events.as_slice(),
            [Event::Error {
                code: ErrorCode::INVALID,
                ..
            }]
        ),
        "{server_events:?}"
    );
    assert!(
        matches!(events(&mut pair.a).as_slice(), [Event::Error { stream, code: ErrorCode::INVALID, .. }] if *stream == id)
    );
}

#[test]
fn flags_on_the_first_fragment_count_for_the_message() {
    // rsocket-rust puts C and N on the first fragment; F decides, C/N apply to the whole.
    let mut server = raw_server(Config::default());
    feed(
        &mut server,
        &Frame::Request {
            stream: 1,
            kind: RequestKind::Stream { initial_n: 1 },
            follows: false,
            payload: Payload::default(),
        },
    );
    let _ = events(&mut server);
    let mut client = Connection::client(Config::default());
    let _ = transmitted(&mut client);
    client.streams.insert(
        1,
        Stream::new(
            Side::Requester,
            Kind::Stream,
            Demand::Manual(1),
            Credit::default(),
        ),
    );
    for (follows, complete, next, data) in [
        (true, true, true, "ab"),
        (true, false, false, "cd"),
        (false, false, false, "ef"),
    ] {
        feed(
            &mut client,
            &Frame::Payload {
                stream: 1,
                follows,
                complete,
                next,
                payload: Payload::data(data),
            },
        );
    }
    assert_eq!(
        events(&mut client),
        [
            Event::Next {
                stream: 1,
                payload: Payload::data("abcdef")
            },
            Event::Complete { stream: 1 }
        ]
    );
}

// ---- setup, keepalive, lease ------------------------------------------------------------

#[test]
fn a_bad_first_frame_is_invalid_setup() {
    let mut server = Connection::server(Config::default());
    feed(&mut server, &Frame::RequestN { stream: 1, n: 1 });
    assert_eq!(
        closed(&events(&mut server)),
        Some(&CloseReason::Protocol {
            code: ErrorCode::INVALID_SETUP,
            what: "the first frame must be SETUP".into()
        })
    );
    let sent = frames_of(&transmitted(&mut server));
    assert!(matches!(
        sent.as_slice(),
        [Frame::Error {
            stream: 0,
            code: ErrorCode::INVALID_SETUP,
            ..
        }]
    ));
    assert!(server.is_finished());
}

#[test]
fn setup_with_resume_is_rejected_and_the_application_may_reject() {
    let mut server = Connection::server(Config::default());
    let mut setup =
        match frames_of(&transmitted(&mut Connection::client(Config::default())))[0].clone() {
            Frame::Setup(setup) => setup,
            other => panic!("{other:?}"),
        };
    setup.resume_token = Some(Bytes::from_static(b"token"));
    feed(&mut server, &Frame::Setup(setup));
    assert!(matches!(
        frames_of(&transmitted(&mut server)).as_slice(),
        [Frame::Error {
            code: ErrorCode::REJECTED_SETUP,
            ..
        }]
    ));

    let mut pair = Pair::new(
        Connection::client(Config::default()),
        Connection::server(Config::default()),
    );
    pair.run_for(Duration::from_millis(10));
    let _ = events(&mut pair.b);
    pair.b
        .command(
            pair.now,
            Command::RejectSetup {
                message: "go away".into(),
            },
        )
        .unwrap();
    pair.run_for(Duration::from_millis(10));
    assert_eq!(
        closed(&events(&mut pair.a)),
        Some(&CloseReason::PeerError {
            code: ErrorCode::REJECTED_SETUP,
            message: "go away".into()
        })
    );
}

#[test]
fn requests_sent_before_the_setup_is_accepted_wait_for_it() {
    let mut pair = Pair::new(
        Connection::client(Config::default()),
        Connection::server(Config::default()),
    );
    pair.a
        .command(
            pair.now,
            Command::Request(Request::Response(Payload::data("early"))),
        )
        .unwrap();
    pair.run_for(Duration::from_millis(10));
    assert!(
        matches!(events(&mut pair.b).as_slice(), [Event::Setup(_)]),
        "the request waits"
    );
    pair.b.command(pair.now, Command::AcceptSetup).unwrap();
    assert!(matches!(
        events(&mut pair.b).as_slice(),
        [Event::Request { stream: 1, .. }]
    ));
}

#[test]
fn connection_level_faults_close_with_connection_error() {
    // A metadata length past the frame.
    let mut server = raw_server(Config::default());
    server.handle_input(
        Instant::ZERO,
        &[0, 0, 10, 0, 0, 0, 1, 0x29, 0x00, 0, 0, 9, b'a'],
    );
    assert!(matches!(
        closed(&events(&mut server)),
        Some(CloseReason::Protocol {
            code: ErrorCode::CONNECTION_ERROR,
            ..
        })
    ));
    // An unknown frame type: dropped with I, fatal without.
    let mut server = raw_server(Config::default());
    server.handle_input(Instant::ZERO, &[0, 0, 6, 0, 0, 0, 0, 0x42, 0x00]);
    assert!(events(&mut server).is_empty() && server.is_open());
    server.handle_input(Instant::ZERO, &[0, 0, 6, 0, 0, 0, 0, 0x40, 0x00]);
    assert!(matches!(
        closed(&events(&mut server)),
        Some(CloseReason::Protocol {
            code: ErrorCode::CONNECTION_ERROR,
            ..
        })
    ));
}

#[test]
fn the_unexpected_is_ignored() {
    let mut server = raw_server(Config::default());
    // Frames on unknown streams, a second SETUP, METADATA_PUSH, setup errors after
    // establishment: ignored (or reported), the connection stays open.
    feed(&mut server, &Frame::Cancel { stream: 9 });
    feed(
        &mut server,
        &Frame::Payload {
            stream: 9,
            follows: false,
            complete: true,
            next: true,
            payload: Payload::default(),
        },
    );
    feed(
        &mut server,
        &Frame::Error {
            stream: 9,
            code: ErrorCode::APPLICATION_ERROR,
            message: String::new(),
        },
    );
    feed(&mut server, &Frame::RequestN { stream: 9, n: 3 });
    let setup = frames_of(&transmitted(&mut Connection::client(Config::default())))[0].clone();
    feed(&mut server, &setup);
    feed(
        &mut server,
        &Frame::Error {
            stream: 0,
            code: ErrorCode::INVALID_SETUP,
            message: String::new(),
        },
    );
    assert!(events(&mut server).is_empty(), "all ignored");
    assert!(server.is_open());
    // A request on an active id is ignored; a PAYLOAD without N or C fails its stream.
    feed(
        &mut server,
        &Frame::Request {
            stream: 1,
            kind: RequestKind::Channel {
                initial_n: 1,
                complete: false,
            },
            follows: false,
            payload: Payload::default(),
        },
    );
    let _ = events(&mut server);
    feed(
        &mut server,
        &Frame::Request {
            stream: 1,
            kind: RequestKind::Response,
            follows: false,
            payload: Payload::default(),
        },
    );
    assert!(matches!(
        events(&mut server).as_slice(),
        [Event::Violation { stream: 1, .. }]
    ));
    let _ = transmitted(&mut server);
    feed(
        &mut server,
        &Frame::Payload {
            stream: 1,
            follows: false,
            complete: false,
            next: false,
            payload: Payload::default(),
        },
    );
    assert!(matches!(
        events(&mut server).as_slice(),
        [Event::Error {
            stream: 1,
            code: ErrorCode::INVALID,
            ..
        }]
    ));
    assert!(matches!(
        frames_of(&transmitted(&mut server)).as_slice(),
        [Frame::Error {
            stream: 1,
            code: ErrorCode::INVALID,
            ..
        }]
    ));
    assert!(server.is_open());
}

#[test]
fn keepalives_are_sent_and_answered_and_silence_times_out() {
    let client = Config {
        keepalive_interval: Duration::from_millis(500),
        max_lifetime: Duration::from_secs(3),
        ..Config::default()
    };
    let mut pair = open_with(
        client,
        Config::default(),
        LinkConfig::default().with_latency(Duration::from_millis(5)),
    );
    pair.run_for(Duration::from_secs(30));
    assert!(
        pair.a.is_open() && pair.b.is_open(),
        "answered keepalives keep both alive"
    );
    assert!(
        pair.a_to_b.delivered() > 30 * 2 * 18,
        "a KEEPALIVE every 500 ms"
    );
    // The server stops answering: after the max lifetime the client gives up.
    let mut client = pair.a;
    let start = pair.now;
    let mut now = start;
    while let Some(at) = client.poll_timeout() {
        now = at;
        client.handle_timeout(now);
        let _ = transmitted(&mut client);
        if !client.is_open() {
            break;
        }
    }
    assert_eq!(
        closed(&events(&mut client)),
        Some(&CloseReason::KeepaliveTimeout)
    );
    assert!(now - start <= Duration::from_secs(3) + Duration::from_millis(10));
}

#[test]
fn leases_gate_requests_both_ways() {
    let client = Config {
        lease: true,
        ..Config::default()
    };
    let mut pair = open_with(client, Config::default(), LinkConfig::default());
    assert_eq!(
        pair.a.command(
            pair.now,
            Command::Request(Request::Response(Payload::default()))
        ),
        Err(UsageError::NoLease)
    );
    pair.b
        .command(
            pair.now,
            Command::Lease {
                ttl: Duration::from_secs(5),
                requests: 1,
            },
        )
        .unwrap();
    pair.run_for(Duration::from_millis(10));
    assert_eq!(
        events(&mut pair.a),
        [Event::Lease {
            ttl: Duration::from_secs(5),
            requests: 1
        }]
    );
    request(&mut pair, Request::Response(Payload::default()));
    assert_eq!(
        pair.a.command(
            pair.now,
            Command::Request(Request::Response(Payload::default()))
        ),
        Err(UsageError::NoLease)
    );
    assert!(matches!(
        events(&mut pair.b).as_slice(),
        [Event::Request { .. }]
    ));
    // A requester beyond the issued lease is REJECTED by the responder.
    let mut server = raw_server(Config::default());
    server.leases = Some(Box::default());
    feed(
        &mut server,
        &Frame::Request {
            stream: 1,
            kind: RequestKind::Response,
            follows: false,
            payload: Payload::default(),
        },
    );
    assert!(events(&mut server).is_empty());
    assert!(matches!(
        frames_of(&transmitted(&mut server)).as_slice(),
        [Frame::Error {
            stream: 1,
            code: ErrorCode::REJECTED,
            ..
        }]
    ));
    // And leases expire.
    pair.b
        .command(
            pair.now,
            Command::Lease {
                ttl: Duration::from_secs(1),
                requests: 10,
            },
        )
        .unwrap();
    pair.run_for(Duration::from_secs(2));
    assert_eq!(
        pair.a.command(
            pair.now,
            Command::Request(Request::Response(Payload::default()))
        ),
        Err(UsageError::NoLease)
    );
}

// ---- credit -----------------------------------------------------------------------------

#[test]
fn a_peer_that_overruns_its_credit_is_tolerated_then_cut_off() {
    let mut client = Connection::client(Config {
        overflow_allowance: 2,
        ..Config::default()
    });
    let _ = transmitted(&mut client);
    let id = client
        .command(
            Instant::ZERO,
            Command::Request(Request::Stream {
                payload: Payload::default(),
                demand: Demand::Manual(2),
            }),
        )
        .unwrap()
        .unwrap();
    let _ = transmitted(&mut client);
    for _ in 0..6 {
        feed(
            &mut client,
            &Frame::Payload {
                stream: id,
                follows: false,
                complete: false,
                next: true,
                payload: Payload::data("x"),
            },
        );
    }
    let got = events(&mut client);
    let nexts = got
        .iter()
        .filter(|e| matches!(e, Event::Next { .. }))
        .count();
    let violations = got
        .iter()
        .filter(|e| matches!(e, Event::Violation { .. }))
        .count();
    assert_eq!((nexts, violations), (4, 2), "{got:?}");
    assert!(matches!(
        got.last(),
        Some(Event::Error {
            code: ErrorCode::INVALID,
            ..
        })
    ));
    assert_eq!(
        frames_of(&transmitted(&mut client)),
        [Frame::Cancel { stream: id }]
    );
}

#[test]
fn credit_saturates_and_max_is_unbounded() {
    let mut credit = Credit::new(MAX_REQUEST_N);
    assert!(credit.is_unbounded());
    for _ in 0..1000 {
        assert!(credit.take());
    }
    let mut credit = Credit::new(MAX_REQUEST_N - 1);
    assert!(!credit.is_unbounded());
    credit.grant(1);
    assert!(credit.is_unbounded(), "2^31-1 in total is unbounded too");
    let mut credit = Credit::new(3);
    credit.grant(2);
    assert!((0..5).all(|_| credit.take()));
    assert!(!credit.take(), "cumulative: 3 + 2 = 5");
}

#[test]
fn stream_ids_wrap_around_skipping_live_ones() {
    let mut client = Connection::client(Config::default());
    client.next_id = MAX_STREAM_ID - 2;
    let stream = |c: &mut Connection| {
        c.command(
            Instant::ZERO,
            Command::Request(Request::Stream {
                payload: Payload::default(),
                demand: Demand::Manual(1),
            }),
        )
        .unwrap()
        .unwrap()
    };
    assert_eq!(stream(&mut client), MAX_STREAM_ID - 2);
    assert_eq!(stream(&mut client), MAX_STREAM_ID);
    assert_eq!(stream(&mut client), 1, "wraps to the first odd id");
    client.next_id = MAX_STREAM_ID; // live: skipped
    assert_eq!(
        stream(&mut client),
        3,
        "skips MAX_STREAM_ID and 1, both live"
    );
}

#[test]
fn message_framing_carries_one_frame_per_transmit() {
    let config = Config {
        framing: Framing::Frames,
        fragment_size: Some(64),
        metadata_mime: "a".into(), // SETUP is never fragmented: keep it under 64 bytes
        data_mime: "b".into(),
        ..Config::default()
    };
    let mut client = Connection::client(config.clone());
    let mut server = Connection::server(config);
    let pipe = |from: &mut Connection, to: &mut Connection| {
        while let Some(frame) = from.poll_transmit() {
            assert!(frame.len() <= 64);
            to.handle_input(Instant::ZERO, &frame);
        }
    };
    pipe(&mut client, &mut server);
    let _ = events(&mut server);
    server.command(Instant::ZERO, Command::AcceptSetup).unwrap();
    let big = Payload::data(vec![3u8; 1000]);
    client
        .command(
            Instant::ZERO,
            Command::Request(Request::Response(big.clone())),
        )
        .unwrap();
    pipe(&mut client, &mut server);
    assert!(
        matches!(events(&mut server).as_slice(), [Event::Request { payload, .. }] if *payload == big)
    );
}

// ---- over WebSocket ---------------------------------------------------------------------

fn over_websocket(config: Config, link: LinkConfig) -> Peers {
    use crate::http::ClientRequest;
    use crate::rng::Rng;
    let ws_client = ws::Connection::client(
        ws::Config::default(),
        Rng::from_u64(1),
        &ClientRequest::new("h", "/"),
    )
    .unwrap();
    let ws_server = ws::Connection::server(ws::Config::default(), Rng::from_u64(2));
    let client = Connection::client_over_websocket(config.clone(), ws_client);
    let server = Connection::server_over_websocket(config, ws_server);
    let mut pair = Pair::with_links(client, server, link, link);
    pair.run_for(Duration::from_millis(10));
    assert!(matches!(events(&mut pair.b).as_slice(), [Event::Setup(_)]));
    pair.b.command(pair.now, Command::AcceptSetup).unwrap();
    pair.run_for(Duration::from_millis(10));
    pair
}

#[test]
fn over_websocket_every_frame_is_a_binary_message() {
    let config = Config {
        fragment_size: Some(256),
        ..Config::default()
    };
    for link in [LinkConfig::default(), LinkConfig::chunked(5)] {
        let mut pair = over_websocket(config.clone(), link);
        let big = Payload::with_metadata(vec![1u8; 1000], vec![2u8; 50_000]);
        let id = request(&mut pair, Request::Response(big.clone()));
        pair.run_for(Duration::from_secs(1));
        assert_eq!(
            events(&mut pair.b),
            [Event::Request {
                stream: id,
                interaction: Interaction::Response,
                payload: big.clone()
            }]
        );
        pair.b
            .command(
                pair.now,
                Command::Send {
                    stream: id,
                    payload: Payload::data("ok"),
                    complete: true,
                },
            )
            .unwrap();
        pair.run_for(Duration::from_secs(1));
        assert_eq!(
            events(&mut pair.a)[0],
            Event::Next {
                stream: id,
                payload: Payload::data("ok")
            }
        );
        // Closing RSocket closes the WebSocket too, with its closing handshake.
        pair.a.command(pair.now, Command::Close).unwrap();
        pair.run_for(Duration::from_secs(1));
        assert_eq!(
            closed(&events(&mut pair.b)),
            Some(&CloseReason::PeerClosed {
                message: String::new()
            })
        );
        assert!(pair.a.is_finished() && pair.b.is_finished());
    }
}

/// Found by the rsocket_conn fuzz target: accepting a SETUP after the connection failed
/// (here on an over-long frame prefix) must not reopen it.
#[test]
fn accepting_after_a_failure_does_not_reopen() {
    let mut server = Connection::server(Config {
        max_inbound_payload: 4096,
        ..Config::default()
    });
    let mut client = Connection::client(Config::default());
    server.handle_input(Instant::ZERO, &transmitted(&mut client));
    server.handle_input(Instant::ZERO, &[103, 111, 0]); // a 6.7 MB frame announced
    assert!(server.is_closed());
    assert_eq!(
        server.command(Instant::ZERO, Command::AcceptSetup),
        Err(UsageError::NoPendingSetup)
    );
    assert!(server.is_closed() && !server.is_open());
    let events = events(&mut server);
    assert!(
        matches!(events.as_slice(), [Event::Setup(_), Event::Closed(_)]),
        "{events:?}"
    );
}

/// Found by the rsocket_conn fuzz target: a request still arriving in fragments reuses an
/// id the application answered before; the application's late sends on that id must not
/// reach the wire.
#[test]
fn a_request_still_in_fragments_is_not_the_applications_to_answer() {
    let mut server = raw_server(Config::default());
    feed(
        &mut server,
        &Frame::Request {
            stream: 13,
            kind: RequestKind::Response,
            follows: false,
            payload: Payload::default(),
        },
    );
    let _ = events(&mut server);
    server
        .command(
            Instant::ZERO,
            Command::Send {
                stream: 13,
                payload: Payload::data("one"),
                complete: true,
            },
        )
        .unwrap();
    let _ = transmitted(&mut server);
    // The id is free again; a new request on it starts arriving in fragments.
    feed(
        &mut server,
        &Frame::Request {
            stream: 13,
            kind: RequestKind::FireAndForget,
            follows: true,
            payload: Payload::data("part"),
        },
    );
    assert_eq!(
        server.command(
            Instant::ZERO,
            Command::Send {
                stream: 13,
                payload: Payload::data("late"),
                complete: false
            }
        ),
        Err(UsageError::UnknownStream(13))
    );
    assert!(transmitted(&mut server).is_empty());
}

/// From review: a fragmented REQUEST_CHANNEL carries C on its last fragment (we send it
/// there), and the responder must see the requester's side complete.
#[test]
fn a_fragmented_channel_request_keeps_its_completion() {
    let config = Config {
        fragment_size: Some(64),
        ..Config::default()
    };
    let mut pair = open_with(config.clone(), config, LinkConfig::default());
    let first = Payload::data(vec![5u8; 500]);
    let id = request(
        &mut pair,
        Request::Channel {
            payload: first.clone(),
            demand: Demand::Window(4),
            complete: true,
        },
    );
    assert_eq!(
        events(&mut pair.b),
        [Event::Request {
            stream: id,
            interaction: Interaction::Channel { complete: true },
            payload: first
        }]
    );
    pair.b
        .command(
            pair.now,
            Command::Send {
                stream: id,
                payload: Payload::data("only"),
                complete: true,
            },
        )
        .unwrap();
    pair.run_for(Duration::from_millis(10));
    assert_eq!(
        (pair.a.stream_count(), pair.b.stream_count()),
        (0, 0),
        "both sides are done"
    );
}

/// From review: once an item marked complete is held for credit, nothing may follow it.
#[test]
fn nothing_is_sent_after_a_held_completion() {
    let mut server = raw_server(Config::default());
    feed(
        &mut server,
        &Frame::Request {
            stream: 1,
            kind: RequestKind::Stream { initial_n: 1 },
            follows: false,
            payload: Payload::default(),
        },
    );
    let _ = events(&mut server);
    let send = |server: &mut Connection, complete| {
        server.command(
            Instant::ZERO,
            Command::Send {
                stream: 1,
                payload: Payload::data("x"),
                complete,
            },
        )
    };
    send(&mut server, false).unwrap(); // goes out with the one credit
    send(&mut server, true).unwrap(); // held, and completes
    assert!(matches!(
        send(&mut server, false),
        Err(UsageError::NotAllowed(_))
    ));
}

/// From review: over WebSocket, frames queued when the WebSocket starts closing are
/// dropped, so the connection can finish.
#[test]
fn over_websocket_a_peer_close_does_not_strand_queued_frames() {
    let mut pair = over_websocket(Config::default(), LinkConfig::default());
    // The server asks for a keepalive answer and closes the WebSocket in the same breath.
    pair.b.command(pair.now, Command::Close).unwrap();
    pair.a
        .command(pair.now, Command::MetadataPush(Bytes::from_static(b"late")))
        .unwrap();
    pair.run_for(Duration::from_secs(10));
    assert!(pair.a.is_finished() && pair.b.is_finished());
}
