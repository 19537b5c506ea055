//! Arbitrary bytes from a peer, in arbitrary chunks and with time passing, into an open
//! WebSocket connection (either role) whose application echoes every message: no panic,
//! bounded buffers, and a finished connection stays finished. Input goes through
//! `handle_input`, or as an inline socket feeds it (`read_owned`, whole messages taken
//! straight out); output is handed out, or lent and written a half at a time.
#![no_main]

use std::time::Duration;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use wirestate_core::http::{Accept, ClientRequest, accept_key};
use wirestate_core::ws::{Command, Config, Connection, Event, Owned};
use wirestate_core::{Instant, Machine, Rng};

#[derive(Arbitrary, Debug)]
struct Input {
    client: bool,
    /// Streaming delivery with this piece size.
    piece_size: Option<u16>,
    /// Feed with `read_owned` and write what is lent, as an inline socket does.
    inline: bool,
    steps: Vec<(Vec<u8>, u16)>,
}

const LIMIT: usize = 1 << 16;

fn open(client: bool, config: Config) -> Connection {
    if client {
        let mut conn = Connection::client(config, Rng::from_u64(3), &ClientRequest::new("h", "/"))
            .expect("valid request");
        let request = conn.poll_transmit().expect("the request");
        let text = String::from_utf8_lossy(&request).into_owned();
        let key = text
            .lines()
            .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
            .expect("a key");
        let response = format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: {}\r\n\r\n",
            accept_key(key)
        );
        conn.handle_input(Instant::ZERO, response.as_bytes());
        conn
    } else {
        let mut conn = Connection::server(config, Rng::from_u64(4));
        conn.handle_input(
            Instant::ZERO,
            b"GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
              Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        );
        assert!(matches!(conn.poll_event(), Some(Event::UpgradeRequest(_))));
        conn.command(Instant::ZERO, Command::Accept(Accept::new()))
            .expect("accept");
        conn
    }
}

/// Feeds `bytes` as an inline socket does: each whole message taken straight out is echoed
/// at once; the rest goes the general way. Returns how many bytes were taken.
fn feed_owned(conn: &mut Connection, now: Instant, bytes: &[u8]) -> usize {
    let mut pos = 0;
    while pos < bytes.len() {
        match conn.read_owned(now, &bytes[pos..]) {
            Owned::Message { consumed, message } => {
                assert!(consumed > 0 && consumed <= bytes.len() - pos);
                assert!(message.len() <= LIMIT);
                pos += consumed;
                let _ = conn.command(now, Command::Send(message));
            }
            Owned::Fed(taken) => return pos + taken,
        }
    }
    pos
}

/// Takes everything waiting to be written: lent bytes a half at a time, or handed out.
fn drain(conn: &mut Connection, lend: bool) {
    loop {
        if let Some(lent) = conn.lend_transmit().filter(|_| lend) {
            assert!(!lent.is_empty());
            let half = lent.len().div_ceil(2);
            conn.advance_lent(half);
        } else if conn.poll_transmit().is_none() {
            break;
        }
    }
}

fuzz_target!(|input: Input| {
    let config = Config {
        max_message_size: LIMIT,
        max_frame_size: LIMIT,
        ping_interval: Some(Duration::from_millis(300)),
        piece_size: input.piece_size.map(usize::from),
        ..Config::default()
    };
    let mut conn = open(input.client, config);
    let mut now = Instant::ZERO;
    let mut finished = false;
    for (bytes, millis) in input.steps {
        now += Duration::from_millis(u64::from(millis));
        conn.handle_timeout(now);
        if conn.wants_read() {
            let taken = match input.inline {
                true => feed_owned(&mut conn, now, &bytes),
                false => conn.handle_input(now, &bytes),
            };
            assert!(taken <= bytes.len());
        }
        while let Some(event) = conn.poll_event() {
            match event {
                Event::Message(message) => {
                    assert!(message.len() <= LIMIT);
                    let _ = conn.command(now, Command::Send(message));
                }
                Event::Fragment { piece, .. } => {
                    // A piece is about the piece size, never the whole message's worth.
                    let piece_size = usize::from(input.piece_size.expect("streaming is on"));
                    assert!(piece.len() <= 2 * piece_size.max(1) + 3, "{}", piece.len());
                    let _ = conn.command(now, Command::Send(piece));
                }
                Event::Closed(_) => finished = true,
                _ => {}
            }
        }
        // What waits to be sent stays within a few messages' worth.
        assert!(conn.buffered_amount() <= 4 * LIMIT + (1 << 20));
        drain(&mut conn, input.inline);
        assert_eq!(conn.buffered_amount(), 0);
        if finished {
            assert!(conn.is_finished() || conn.is_transmit_closed());
        }
    }
});
