//! An RSocket server connection fed arbitrary frames (well-formed and raw) in arbitrary
//! chunks, with time passing and an application that answers requests: no panic, bounded
//! output, closed stays closed, and on the wire it never sends more items on a stream than
//! the peer's credit allowed.
#![no_main]

use std::collections::HashMap;
use std::time::Duration;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use wirestate_core::bytes::{Bytes, BytesMut};
use wirestate_core::rsocket::conn::{Command, Config, Event, Interaction};
use wirestate_core::rsocket::{
    Connection, Frame, FrameReader, MAX_REQUEST_N, Payload, RequestKind, Setup,
};
use wirestate_core::{Instant, Machine};

#[derive(Arbitrary, Debug)]
enum Step {
    Raw(Vec<u8>),
    Request {
        stream: u8,
        kind: u8,
        n: u32,
        follows: bool,
        len: u8,
    },
    RequestN {
        stream: u8,
        n: u32,
    },
    Payload {
        stream: u8,
        flags: u8,
        len: u8,
    },
    Cancel {
        stream: u8,
    },
    Keepalive {
        respond: bool,
    },
    AppSend {
        count: u8,
        complete: bool,
    },
    Tick(u16),
}

#[derive(Arbitrary, Debug)]
struct Input {
    fragment_size: Option<u8>,
    steps: Vec<Step>,
}

/// Credit the fuzzer's requester granted per stream (read from every byte the server is
/// given, so raw steps count too), and items the server sent on it.
struct Ledger {
    input: FrameReader,
    granted: HashMap<u32, u64>,
    sent: HashMap<u32, u64>,
}

impl Ledger {
    /// Takes what the server is fed: every request and REQUEST_N grants credit (more than
    /// the server may honour, which only makes the check looser, never wrong).
    fn observe_input(&mut self, bytes: &[u8]) {
        self.input.push(bytes);
        while let Ok(Some(frame)) = self.input.next_frame() {
            match Frame::decode(frame) {
                Ok(Frame::Request { stream, kind, .. }) => match kind {
                    RequestKind::Response => self.grant(stream, 1),
                    RequestKind::Stream { initial_n } | RequestKind::Channel { initial_n, .. } => {
                        self.grant(stream, initial_n)
                    }
                    _ => {}
                },
                Ok(Frame::RequestN { stream, n }) => self.grant(stream, n),
                _ => {}
            }
        }
    }

    fn grant(&mut self, stream: u32, n: u32) {
        let credit = self.granted.entry(stream).or_default();
        *credit = if n >= MAX_REQUEST_N {
            u64::MAX
        } else {
            credit.saturating_add(u64::from(n))
        };
    }

    /// Checks our output: items on each stream within its credit.
    fn check(&mut self, output: &[u8], reader: &mut FrameReader) {
        reader.push(output);
        while let Some(frame) = reader.next_frame().expect("we frame correctly") {
            let frame = Frame::decode(frame).expect("we encode valid frames");
            if let Frame::Payload {
                stream,
                next: true,
                follows: false,
                ..
            } = frame
            {
                let sent = self.sent.entry(stream).or_default();
                *sent += 1;
                let granted = self.granted.get(&stream).copied().unwrap_or(0);
                assert!(
                    *sent <= granted,
                    "stream {stream}: item {sent} with credit {granted}"
                );
            }
        }
    }
}

fn prefixed(frame: &Frame) -> Vec<u8> {
    let mut out = BytesMut::new();
    frame.encode_prefixed(&mut out);
    out.to_vec()
}

fuzz_target!(|input: Input| {
    let config = Config {
        fragment_size: input.fragment_size.map(|s| usize::from(s).max(64)),
        max_inbound_payload: 4096,
        overflow_allowance: 2,
        channel_window: 4,
        ..Config::default()
    };
    let mut server = Connection::server(config);
    let mut now = Instant::ZERO;
    let setup = Frame::Setup(Setup {
        version: (1, 0),
        keepalive_ms: 1000,
        lifetime_ms: 5000,
        resume_token: None,
        lease: false,
        metadata_mime: "a".into(),
        data_mime: "b".into(),
        payload: Payload::default(),
    });
    server.handle_input(now, &prefixed(&setup));
    // Open before the steps, so that the ledger sees requests as the server does.
    assert!(matches!(server.poll_event(), Some(Event::Setup(_))));
    server
        .command(now, Command::AcceptSetup)
        .expect("a pending setup");
    let mut ledger = Ledger {
        input: FrameReader::new(1 << 24),
        granted: HashMap::new(),
        sent: HashMap::new(),
    };
    let mut reader = FrameReader::new(1 << 24);
    let mut open: Vec<u32> = Vec::new();
    let mut closed = false;
    for step in input.steps {
        let stream_id = |s: u8| u32::from(s % 8) * 2 + 1; // the client's odd ids
        let bytes = match step {
            Step::Raw(bytes) => bytes,
            Step::Request {
                stream,
                kind,
                n,
                follows,
                len,
            } => {
                let stream = stream_id(stream);
                let kind = match kind % 4 {
                    0 => RequestKind::FireAndForget,
                    1 => RequestKind::Response,
                    2 => RequestKind::Stream {
                        initial_n: n.max(1) & MAX_REQUEST_N,
                    },
                    _ => RequestKind::Channel {
                        initial_n: n.max(1) & MAX_REQUEST_N,
                        complete: n % 2 == 0,
                    },
                };
                let payload = Payload::data(Bytes::from(vec![b'r'; usize::from(len)]));
                prefixed(&Frame::Request {
                    stream,
                    kind,
                    follows,
                    payload,
                })
            }
            Step::RequestN { stream, n } => {
                let stream = stream_id(stream);
                let n = n.max(1) & MAX_REQUEST_N;
                prefixed(&Frame::RequestN { stream, n })
            }
            Step::Payload { stream, flags, len } => prefixed(&Frame::Payload {
                stream: stream_id(stream),
                follows: flags & 1 != 0,
                complete: flags & 2 != 0,
                next: flags & 4 != 0,
                payload: Payload::data(Bytes::from(vec![b'p'; usize::from(len)])),
            }),
            Step::Cancel { stream } => prefixed(&Frame::Cancel {
                stream: stream_id(stream),
            }),
            Step::Keepalive { respond } => prefixed(&Frame::Keepalive {
                respond,
                last_position: 0,
                data: Bytes::new(),
            }),
            Step::AppSend { count, complete } => {
                for &stream in &open {
                    for i in 0..count % 8 {
                        let last = complete && i + 1 == count % 8;
                        let _ = server.command(
                            now,
                            Command::Send {
                                stream,
                                payload: Payload::data("x"),
                                complete: last,
                            },
                        );
                    }
                }
                Vec::new()
            }
            Step::Tick(millis) => {
                now += Duration::from_millis(u64::from(millis));
                server.handle_timeout(now);
                Vec::new()
            }
        };
        if !bytes.is_empty() {
            let taken = server.handle_input(now, &bytes);
            ledger.observe_input(&bytes[..taken]);
            assert!(taken <= bytes.len());
        }
        while let Some(event) = server.poll_event() {
            match event {
                Event::Setup(_) => {
                    // Refused only if later input in the same step already closed it.
                    let accepted = server.command(now, Command::AcceptSetup);
                    assert!(accepted.is_ok() || server.is_closed(), "{accepted:?}");
                }
                Event::Request {
                    stream,
                    interaction,
                    ..
                } => {
                    if interaction != Interaction::FireAndForget {
                        open.push(stream);
                    }
                }
                Event::Cancelled { stream } | Event::Error { stream, .. } => {
                    open.retain(|s| *s != stream)
                }
                Event::Closed(_) => {
                    assert!(!closed, "Closed is reported once");
                    closed = true;
                }
                _ => {}
            }
        }
        assert!(
            server.buffered_amount() <= 8 << 20,
            "{} bytes queued",
            server.buffered_amount()
        );
        let output: Vec<u8> = std::iter::from_fn(|| server.poll_transmit())
            .flat_map(|b| b.to_vec())
            .collect();
        ledger.check(&output, &mut reader);
        if closed {
            assert!(!server.is_open());
            assert!(server.poll_event().is_none());
        }
    }
});
