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

/// A server that completes the upgrade, then neither reads nor writes until `stop` says
/// so (or [`LIMIT`] passes): a peer that never answers a close and never takes data.
pub fn silent_server(stop: Receiver<()>) -> (SocketAddr, JoinHandle<()>) {
    peer(move |mut stream| {
        answer_upgrade(&mut stream);
        let _ = stop.recv_timeout(LIMIT);
        drop(stream);
    })
}
