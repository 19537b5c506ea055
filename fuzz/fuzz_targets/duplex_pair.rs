//! Two Duplex machines joined by a Pair whose links re-chunk, delay and cap bytes as the
//! fuzzer chooses: every byte written on one side arrives, in order, on the other.
#![no_main]

use std::time::Duration;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use wirestate_core::chan::{ByteSink, ByteSource, Duplex, DuplexConfig, PipeConfig};
use wirestate_core::testing::{LinkConfig, Pair};

#[derive(Arbitrary, Debug)]
struct Input {
    chunk: u8,
    latency_ms: u8,
    link_capacity: u16,
    inbound_capacity: u16,
    writes: Vec<(Vec<u8>, bool)>,
    read_step: u16,
}

fuzz_target!(|input: Input| {
    let link = LinkConfig::chunked(usize::from(input.chunk).max(1))
        .with_latency(Duration::from_millis(u64::from(input.latency_ms)))
        .with_capacity(usize::from(input.link_capacity).max(1));
    let config = DuplexConfig {
        inbound: PipeConfig::with_capacity(usize::from(input.inbound_capacity).max(1)),
        ..DuplexConfig::default()
    };
    let mut pair = Pair::with_links(Duplex::new(config), Duplex::new(config), link, link);
    let mut sent = Vec::new();
    let mut received = Vec::new();
    let step = usize::from(input.read_step).max(1);
    let mut buf = vec![0u8; step];
    for (data, flush) in &input.writes {
        let mut rest = &data[..];
        let mut spins = 0;
        while !rest.is_empty() {
            let n = pair.a.outbound_mut().write(rest).unwrap_or(0);
            sent.extend_from_slice(&rest[..n]);
            rest = &rest[n..];
            if *flush || n == 0 {
                pair.a.outbound_mut().flush().unwrap();
            }
            pair.run_for(Duration::from_millis(300));
            while let Ok(got @ 1..) = pair.b.inbound_mut().read(&mut buf) {
                received.extend_from_slice(&buf[..got]);
            }
            spins += 1;
            assert!(spins < 100_000, "no progress");
        }
    }
    pair.a.outbound_mut().close().unwrap();
    for _ in 0..100_000 {
        pair.run_for(Duration::from_millis(300));
        match pair.b.inbound_mut().read(&mut buf) {
            Ok(0) => break,
            Ok(got) => received.extend_from_slice(&buf[..got]),
            Err(_) => {}
        }
    }
    assert_eq!(received, sent);
});
