//! Raw WebSocket peers for the adapter tests: handshakes done by hand, then misbehaviour.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::mpsc::Receiver;
use std::thread::JoinHandle;

use wirestate_core::http::accept_key;

use crate::LIMIT;
use crate::peers::peer;

/// Reads a request head from `stream` and answers it with a valid 101.
pub fn answer_upgrade(stream: &mut TcpStream) {
    let mut head = Vec::new();
    let mut byte = [0u8];
    while !head.ends_with(b"\r\n\r\n") {
        assert_eq!(
            stream.read(&mut byte).unwrap(),
            1,
            "the request head ended early"
        );
        head.push(byte[0]);
    }
    let head = String::from_utf8(head).unwrap();
    let key = head
        .lines()
        .find_map(|line| line.strip_prefix("Sec-WebSocket-Key: "))
        .expect("a key");
    let response = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {}\r\n\r\n",
        accept_key(key)
    );
    stream.write_all(response.as_bytes()).unwrap();
}

/// A client's upgrade request, written by hand (the RFC 6455 §1.3 sample key).
pub const UPGRADE_REQUEST: &[u8] = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n\
    Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
    Sec-WebSocket-Version: 13\r\n\r\n";

/// Upgrades `stream` as a client with [`UPGRADE_REQUEST`], reading up to the end of the
/// server's 101 response.
pub fn upgrade_as_client(stream: &mut TcpStream) {
    stream.write_all(UPGRADE_REQUEST).unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8];
    while !head.ends_with(b"\r\n\r\n") {
        stream.read_exact(&mut byte).unwrap();
        head.push(byte[0]);
    }
    assert!(
        head.starts_with(b"HTTP/1.1 101"),
        "{}",
        String::from_utf8_lossy(&head)
    );
}

/// A server that completes the upgrade, then neither reads nor writes until `stop` says
/// so (or [`LIMIT`] passes): a peer that never answers a close and never takes data.
pub fn silent_server(stop: Receiver<()>) -> (SocketAddr, JoinHandle<()>) {
    peer(move |mut stream| {
        answer_upgrade(&mut stream);
        let _ = stop.recv_timeout(LIMIT);
        drop(stream);
    })
}
