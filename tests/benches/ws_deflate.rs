//! permessage-deflate (issue 8): compressed echo throughput and memory per connection.
//!
//! - Echo: a client and a server machine in memory (no sockets), 1 KiB JSON-like text
//!   messages echoed one at a time, uncompressed and under several deflate settings; the
//!   same bytes through flate2 directly (compress + inflate both ways) give the floor. Prints
//!   messages per second, bytes on the wire per message and ratios.
//! - Memory: live heap bytes per idle server connection after one exchange, measured by the
//!   counting allocator below over 200 connections, for each setting.
//!
//! Rust's other WebSocket crates named in the docs (tungstenite, fastwebsockets) have no
//! permessage-deflate to compare against; the floor is the comparison. `BENCH_QUICK=1`
//! shortens the run.

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicIsize, Ordering::Relaxed};
use std::time::Instant;

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress};
use wirestate_core::http::{Accept, ClientRequest};
use wirestate_core::ws::deflate::DeflateConfig;
use wirestate_core::ws::{Command, Config, Connection, Event, Message};
use wirestate_core::{Machine, Rng};

/// `System`, keeping count of live heap bytes.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Relaxed);
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(new_size as isize - layout.size() as isize, Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const NOW: wirestate_core::Instant = wirestate_core::Instant::ZERO;

/// A 1 KiB-ish JSON document that varies per message, as telemetry or chat traffic does.
fn document(i: usize) -> String {
    let mut doc = String::from("{\"events\":[");
    for j in 0..8 {
        doc.push_str(&format!(
            "{{\"id\":{},\"kind\":\"price_update\",\"symbol\":\"SYM{}\",\"bid\":{}.{:02},\
             \"ask\":{}.{:02},\"ts\":17000000{:05}}},",
            i * 8 + j,
            (i + j) % 50,
            100 + (i * 7 + j) % 50,
            (i * 13 + j) % 100,
            101 + (i * 7 + j) % 50,
            (i * 17 + j) % 100,
            i % 100_000
        ));
    }
    doc.pop();
    doc.push_str("]}");
    doc
}

fn open(config: Config) -> (Connection, Connection) {
    let request = ClientRequest::new("localhost", "/");
    let mut client = Connection::client(config, Rng::from_u64(1), &request).unwrap();
    let mut server = Connection::server(config, Rng::from_u64(2));
    pipe(&mut client, &mut server);
    assert!(matches!(
        server.poll_event(),
        Some(Event::UpgradeRequest(_))
    ));
    server.command(NOW, Command::Accept(Accept::new())).unwrap();
    pipe(&mut server, &mut client);
    assert!(matches!(server.poll_event(), Some(Event::Open { .. })));
    assert!(matches!(client.poll_event(), Some(Event::Open { .. })));
    (client, server)
}

/// Moves every transmit of `from` into `to`; returns the bytes moved.
fn pipe(from: &mut Connection, to: &mut Connection) -> usize {
    let mut moved = 0;
    while let Some(bytes) = from.poll_transmit() {
        assert_eq!(to.handle_input(NOW, &bytes), bytes.len());
        moved += bytes.len();
    }
    moved
}

/// One echo: client sends, server echoes, client checks. Returns bytes on the wire.
fn echo(client: &mut Connection, server: &mut Connection, message: &Message) -> usize {
    client.command(NOW, Command::Send(message.clone())).unwrap();
    let mut wire = pipe(client, server);
    let Some(Event::Message(got)) = server.poll_event() else {
        panic!("the server got no message");
    };
    server.command(NOW, Command::Send(got)).unwrap();
    wire += pipe(server, client);
    match client.poll_event() {
        Some(Event::Message(back)) if &back == message => wire,
        other => panic!("the echo differs: {other:?}"),
    }
}

struct Setting {
    name: &'static str,
    deflate: Option<DeflateConfig>,
}

fn settings() -> Vec<Setting> {
    let base = DeflateConfig::default();
    vec![
        Setting {
            name: "uncompressed",
            deflate: None,
        },
        Setting {
            name: "deflate, context takeover, 15-bit windows",
            deflate: Some(base),
        },
        Setting {
            name: "deflate, context takeover, 10-bit windows",
            deflate: Some(DeflateConfig {
                server_max_window_bits: 10,
                client_max_window_bits: 10,
                ..base
            }),
        },
        Setting {
            name: "deflate, no context takeover",
            deflate: Some(DeflateConfig {
                server_no_context_takeover: true,
                client_no_context_takeover: true,
                ..base
            }),
        },
        Setting {
            name: "deflate, no context takeover, released between messages",
            deflate: Some(DeflateConfig {
                server_no_context_takeover: true,
                client_no_context_takeover: true,
                release_between_messages: true,
                ..base
            }),
        },
    ]
}

/// The floor: the same messages compressed and inflated both ways with flate2 directly.
fn floor(messages: &[Message], rounds: usize) -> f64 {
    let mut streams: Vec<(Compress, Decompress)> = (0..2)
        .map(|_| {
            (
                Compress::new_with_window_bits(Compression::new(6), false, 15),
                Decompress::new_with_window_bits(false, 15),
            )
        })
        .collect();
    let (mut packed, mut unpacked) = (Vec::with_capacity(4096), Vec::with_capacity(4096));
    let started = Instant::now();
    for _ in 0..rounds {
        for message in messages {
            for (compress, decompress) in &mut streams {
                packed.clear();
                unpacked.clear();
                compress
                    .compress_vec(message.as_bytes(), &mut packed, FlushCompress::Sync)
                    .unwrap();
                decompress
                    .decompress_vec(&packed, &mut unpacked, FlushDecompress::Sync)
                    .unwrap();
                assert_eq!(black_box(&unpacked[..]), message.as_bytes());
            }
        }
    }
    (rounds * messages.len()) as f64 / started.elapsed().as_secs_f64()
}

fn main() {
    let quick = std::env::var_os("BENCH_QUICK").is_some();
    let (rounds, samples) = if quick { (2, 3) } else { (10, 7) };
    let messages: Vec<Message> = (0..1000).map(|i| Message::from(document(i))).collect();
    let plain_size = messages.iter().map(Message::len).sum::<usize>() / messages.len();
    println!(
        "permessage-deflate: echo of {} JSON text messages of ~{plain_size} bytes, in memory; \
         medians of {samples} samples of {rounds} rounds",
        messages.len()
    );

    let floor_rate = {
        let mut rates: Vec<f64> = (0..samples).map(|_| floor(&messages, rounds)).collect();
        rates.sort_by(f64::total_cmp);
        rates[samples / 2]
    };
    println!(
        "  {:<58} {:>10.0} echoes/s (compress + inflate both ways, no framing)",
        "flate2 alone (the floor)", floor_rate
    );

    let mut plain_rate = 0.0;
    for setting in settings() {
        let config = Config {
            deflate: setting.deflate,
            ..Config::default()
        };
        let (mut client, mut server) = open(config);
        let mut rates = Vec::new();
        let mut wire = 0;
        for _ in 0..samples {
            wire = 0;
            let started = Instant::now();
            for _ in 0..rounds {
                for message in &messages {
                    wire += echo(&mut client, &mut server, message);
                }
            }
            rates.push((rounds * messages.len()) as f64 / started.elapsed().as_secs_f64());
        }
        rates.sort_by(f64::total_cmp);
        let rate = rates[samples / 2];
        if setting.deflate.is_none() {
            plain_rate = rate;
        }
        let per_message = wire as f64 / (2 * rounds * messages.len()) as f64;
        println!(
            "  {:<58} {rate:>10.0} echoes/s, {per_message:>6.0} bytes/message on the wire \
             ({:.2}x of uncompressed size), {:.2}x the floor's rate, {:.2}x uncompressed's",
            setting.name,
            per_message / plain_size as f64,
            rate / floor_rate,
            rate / plain_rate,
        );
    }

    println!(
        "\nlive heap bytes per idle server connection after one ~{plain_size}-byte echo (200 connections)"
    );
    for setting in settings() {
        let config = Config {
            deflate: setting.deflate,
            ..Config::default()
        };
        let before = LIVE.load(Relaxed);
        let mut servers = Vec::new();
        for i in 0..200 {
            let (mut client, mut server) = open(config);
            echo(&mut client, &mut server, &messages[i % messages.len()]);
            drop(client);
            servers.push(server);
        }
        let per_connection = (LIVE.load(Relaxed) - before) as f64 / servers.len() as f64;
        println!("  {:<58} {:>9.0} bytes", setting.name, per_connection);
        drop(black_box(servers));
    }
}
