//! The TLS layer on virtual time: two [`Wire`]s around byte pipes, joined by the core's
//! `Pair` harness (re-chunked links, backpressure, timers), with certificates made here.

use std::time::Duration;

use rcgen::{CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use wirestate_core::Machine;
use wirestate_core::chan::{ByteSink, ByteSource, Duplex, DuplexConfig, DuplexEvent, PipeConfig};
use wirestate_core::testing::{LinkConfig, Pair};

use super::{ClientConfig, Identity, ServerConfig, TlsError};
use crate::wire::Wire;

struct Certs {
    ca: String,
    server: Identity,
}

fn certs() -> Certs {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["localhost".to_string()])
        .unwrap()
        .signed_by(&key, &ca)
        .unwrap();
    Certs {
        ca: ca.pem(),
        server: Identity::from_pem(cert.pem().as_bytes(), key.serialize_pem().as_bytes()).unwrap(),
    }
}

fn duplex(capacity: usize) -> Duplex {
    let pipe = PipeConfig::with_capacity(capacity).auto_flush(true);
    Duplex::new(DuplexConfig {
        inbound: pipe,
        outbound: pipe,
        ..DuplexConfig::default()
    })
}

fn pair(
    certs: &Certs,
    server_capacity: usize,
    link: LinkConfig,
) -> Pair<Wire<Duplex>, Wire<Duplex>> {
    let client = ClientConfig::builder()
        .root_certificates_pem(certs.ca.as_bytes())
        .unwrap()
        .build()
        .unwrap();
    let server = ServerConfig::builder(certs.server.clone()).build().unwrap();
    Pair::with_links(
        Wire::tls(duplex(64 * 1024), client.start("localhost").unwrap()),
        Wire::tls(duplex(server_capacity), server.start().unwrap()),
        link,
        link,
    )
}

fn read_all(machine: &mut Wire<Duplex>, out: &mut Vec<u8>) {
    let mut buf = [0u8; 4096];
    while let Ok(n @ 1..) = machine.inbound_mut().read(&mut buf) {
        out.extend_from_slice(&buf[..n]);
    }
}

#[test]
fn byte_by_byte_handshake_data_both_ways_and_close_notify() {
    let certs = certs();
    let mut pair = pair(&certs, 64 * 1024, LinkConfig::chunked(1));
    pair.a
        .outbound_mut()
        .write(b"hello from the client")
        .unwrap();
    pair.run_until_idle(Duration::from_secs(1));
    assert!(pair.a.tls_layer().unwrap().is_handshake_done());
    assert!(pair.b.tls_layer().unwrap().is_handshake_done());
    let mut got = Vec::new();
    read_all(&mut pair.b, &mut got);
    assert_eq!(got, b"hello from the client");

    pair.b.outbound_mut().write(b"and back").unwrap();
    pair.b.outbound_mut().close().unwrap();
    pair.run_until_idle(Duration::from_secs(1));
    let mut got = Vec::new();
    read_all(&mut pair.a, &mut got);
    assert_eq!(got, b"and back");
    // The server's close_notify is the client's end of input.
    assert!(pair.a.inbound().is_closed_for_read());
    assert!(std::iter::from_fn(|| pair.a.poll_event()).any(|e| e == DuplexEvent::ReadClosed));

    pair.a.outbound_mut().close().unwrap();
    pair.run_until_idle(Duration::from_secs(1));
    assert!(pair.a.is_finished() && pair.b.is_finished());
    assert_eq!(pair.a.tls_error(), None);
}

#[test]
fn a_transport_end_without_close_notify_is_truncation() {
    let certs = certs();
    let mut pair = pair(&certs, 64 * 1024, LinkConfig::default());
    pair.b.outbound_mut().write(b"partial").unwrap();
    pair.run_until_idle(Duration::from_secs(1));
    // The TCP connection ends under the client, with no close_notify before it.
    pair.a.handle_eof(pair.now);
    let mut got = Vec::new();
    read_all(&mut pair.a, &mut got);
    assert_eq!(got, b"partial", "what arrived is still delivered");
    assert!(pair.a.inbound().is_closed_for_read());
    assert!(pair.a.tls_layer().unwrap().is_truncated());
    // A clean end is not truncation, even when the server closes before the handshake is
    // done (its close_notify waits for the handshake).
    let mut clean = self::pair(&certs, 64 * 1024, LinkConfig::default());
    clean.b.outbound_mut().close().unwrap();
    clean.run_until_idle(Duration::from_secs(1));
    assert!(clean.a.tls_layer().unwrap().is_handshake_done());
    assert_eq!(clean.a.tls_error(), None);
    assert!(clean.a.inbound().is_closed_for_read());
    assert!(!clean.a.tls_layer().unwrap().is_truncated());
}

#[test]
fn a_slow_reader_holds_plaintext_back_without_losing_or_reordering() {
    let certs = certs();
    // The server's read pipe holds 1 KiB; 200 KiB go through it.
    let mut pair = pair(&certs, 1024, LinkConfig::chunked(1500));
    let data: Vec<u8> = (0..200 * 1024).map(|i| (i * 7 % 251) as u8).collect();
    let mut sent = 0;
    let mut got = Vec::new();
    for _ in 0..100_000 {
        if sent < data.len() {
            sent += pair.a.outbound_mut().write(&data[sent..]).unwrap_or(0);
        }
        pair.run_until_idle(Duration::from_millis(10));
        // The application reads a little at a time.
        let mut buf = [0u8; 300];
        if let Ok(n) = pair.b.inbound_mut().read(&mut buf) {
            got.extend_from_slice(&buf[..n]);
        }
        if got.len() == data.len() {
            break;
        }
    }
    assert_eq!(got.len(), data.len());
    assert!(got == data, "bytes reordered or changed");
}

#[test]
fn the_handshake_times_out_on_virtual_time() {
    let certs = certs();
    let client = ClientConfig::builder()
        .root_certificates_pem(certs.ca.as_bytes())
        .unwrap()
        .handshake_timeout(Duration::from_secs(3))
        .build()
        .unwrap();
    // The peer is a plain pipe: it swallows the ClientHello and never answers.
    let mut pair = Pair::new(
        Wire::tls(duplex(64 * 1024), client.start("localhost").unwrap()),
        Wire::plain(duplex(64 * 1024)),
    );
    pair.run_for(Duration::from_millis(2900));
    assert_eq!(pair.a.tls_error(), None);
    pair.run_for(Duration::from_millis(200));
    assert_eq!(
        pair.a.tls_error(),
        Some(&TlsError::HandshakeTimeout(Duration::from_secs(3)))
    );
    assert!(pair.a.is_finished());
    assert!(
        pair.a.inbound().is_closed_for_read(),
        "the machine's input ended"
    );
}

#[test]
fn garbage_from_the_peer_fails_with_a_protocol_error_and_an_alert() {
    let certs = certs();
    let server = ServerConfig::builder(certs.server.clone()).build().unwrap();
    let mut machine = Wire::tls(duplex(1024), server.start().unwrap());
    let now = wirestate_core::Instant::ZERO;
    assert_eq!(machine.handle_input(now, b"GET / HTTP/1.1\r\n\r\n"), 18);
    assert!(matches!(machine.tls_error(), Some(TlsError::Protocol(_))));
    let alert = machine.poll_transmit().expect("an alert");
    assert_eq!(alert[0], 21, "a TLS alert record");
    assert_eq!(machine.poll_transmit(), None);
    assert!(machine.is_transmit_closed() && machine.is_finished());
    assert!(!machine.wants_read());
}
