//! Unit tests for the upgrade handshake: both roles, every rejection with its status, heads
//! in any chunking. Shared fixtures live here; each file covers one side or piece.

use alloc::string::{String, ToString};
use alloc::vec::Vec;

use super::*;

mod chunks;
mod client;
mod pieces;
mod reply;
mod server;

/// The key of the RFC 6455 §1.3 example and its accept value.
const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
const ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

/// The lines of a valid upgrade request.
fn request_lines() -> Vec<String> {
    [
        "GET /chat HTTP/1.1",
        "Host: server.example.com",
        "Upgrade: websocket",
        "Connection: Upgrade",
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
        "Sec-WebSocket-Version: 13",
    ]
    .iter()
    .map(|line| line.to_string())
    .collect()
}

/// A head from `lines`.
fn head(lines: &[String]) -> Vec<u8> {
    let mut out = lines.join("\r\n").into_bytes();
    out.extend_from_slice(b"\r\n\r\n");
    out
}

/// The valid request with the line starting `prefix` replaced by `line` (removed if empty),
/// or `line` appended if no line starts with `prefix`.
fn request_with(prefix: &str, line: &str) -> Vec<u8> {
    let mut lines = request_lines();
    match lines.iter().position(|l| l.starts_with(prefix)) {
        Some(i) if line.is_empty() => drop(lines.remove(i)),
        Some(i) => lines[i] = line.into(),
        None => lines.push(line.into()),
    }
    head(&lines)
}

/// The response from `lines` to a client handshake made with [`KEY`].
fn response(lines: &[&str]) -> Vec<u8> {
    let owned: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    head(&owned)
}

fn client_with(request: ClientRequest) -> ClientHandshake {
    request.build_with_key(KEY).unwrap()
}

fn client() -> ClientHandshake {
    client_with(
        ClientRequest::new("server.example.com", "/chat")
            .subprotocol("chat")
            .subprotocol("superchat")
            .extension(Extension::new("permessage-deflate").with_param("client_max_window_bits")),
    )
}

/// Feeds `chunks` to a fresh buffer; the head and every byte after it.
fn collect(chunks: &[&[u8]]) -> (Vec<u8>, Vec<u8>) {
    let mut buffer = HeadBuffer::default();
    let mut done: Option<(Vec<u8>, Vec<u8>)> = None;
    for chunk in chunks {
        match done.as_mut() {
            Some((_, rest)) => rest.extend_from_slice(chunk),
            None => match buffer.feed(chunk) {
                Feed::Partial => {}
                Feed::Complete { head, leftover } => done = Some((head, leftover.to_vec())),
                other => panic!("unexpected {other:?}"),
            },
        }
    }
    done.expect("head incomplete")
}
