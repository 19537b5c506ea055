//! The client side: the request it sends and its check of the answer.

use alloc::string::String;
use alloc::vec::Vec;

use super::*;
use crate::Rng;

#[test]
fn client_request_bytes() {
    let handshake = client_with(
        ClientRequest::new("server.example.com", "/chat")
            .subprotocol("chat")
            .subprotocol("superchat")
            .extension(Extension::new("permessage-deflate").with_param("client_max_window_bits"))
            .extension(Extension::new("x-foo").with_param_value("level", "2"))
            .header("Origin", "http://example.com"),
    );
    let expected: &[u8] = b"GET /chat HTTP/1.1\r\n\
        Host: server.example.com\r\n\
        Upgrade: websocket\r\n\
        Connection: Upgrade\r\n\
        Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
        Sec-WebSocket-Version: 13\r\n\
        Sec-WebSocket-Protocol: chat, superchat\r\n\
        Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits, x-foo; level=2\r\n\
        Origin: http://example.com\r\n\
        \r\n";
    assert_eq!(
        handshake.request().as_ref(),
        expected,
        "{:?}",
        String::from_utf8_lossy(handshake.request())
    );
    assert_eq!(handshake.key(), KEY);
}

#[test]
fn client_key_comes_from_the_rng() {
    let request = ClientRequest::new("h", "/");
    let a = request.build(&mut Rng::from_u64(3)).unwrap();
    let b = request.build(&mut Rng::from_u64(3)).unwrap();
    let c = request.build(&mut Rng::from_u64(4)).unwrap();
    assert_eq!(a, b);
    assert_ne!(a.key(), c.key());
    assert!(is_valid_key(a.key().as_bytes()));
}

#[test]
fn client_usage_errors() {
    let base = || ClientRequest::new("h", "/");
    let cases = [
        (ClientRequest::new("", "/"), UsageError::InvalidHost),
        (ClientRequest::new("a b", "/"), UsageError::InvalidHost),
        (ClientRequest::new("h", "chat"), UsageError::InvalidPath),
        (ClientRequest::new("h", "/a b"), UsageError::InvalidPath),
        (
            ClientRequest::new("h", "/\r\nX: y"),
            UsageError::InvalidPath,
        ),
        (
            base().subprotocol("a b"),
            UsageError::InvalidSubprotocol {
                protocol: "a b".into(),
            },
        ),
        (
            base().subprotocol("chat").subprotocol("chat"),
            UsageError::InvalidSubprotocol {
                protocol: "chat".into(),
            },
        ),
        (
            base().extension(Extension::new("x").with_param_value("p", "a b")),
            UsageError::InvalidExtension { name: "x".into() },
        ),
        (
            base().header("X-Evil", "a\r\nHost: other"),
            UsageError::InvalidHeader {
                name: "X-Evil".into(),
            },
        ),
        (
            base().header("Bad Name", "v"),
            UsageError::InvalidHeader {
                name: "Bad Name".into(),
            },
        ),
        (
            base().header("sec-websocket-key", "v"),
            UsageError::ReservedHeader {
                name: "sec-websocket-key".into(),
            },
        ),
        (
            base().header("Content-Length", "5"),
            UsageError::ReservedHeader {
                name: "Content-Length".into(),
            },
        ),
    ];
    for (request, expected) in cases {
        assert_eq!(request.build_with_key(KEY), Err(expected), "{request:?}");
    }
    assert_eq!(
        base().build_with_key("c2hvcnQ="),
        Err(UsageError::InvalidKey)
    );
}

#[test]
fn client_accepts_a_valid_response() {
    let accepted = client()
        .check_response(&response(&[
            "HTTP/1.1 101 Switching Protocols",
            "upgrade: WebSocket",
            "connection: keep-alive, Upgrade",
            "sec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
            "Sec-WebSocket-Protocol: superchat",
            "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=10",
            "Set-Cookie: a=b",
        ]))
        .unwrap();
    assert_eq!(accepted.subprotocol(), Some("superchat"));
    let deflate = &accepted.extensions()[0];
    assert_eq!(deflate.name(), "permessage-deflate");
    assert_eq!(deflate.param("client_max_window_bits"), Some(Some("10")));
    assert_eq!(accepted.headers().get("set-cookie"), Some(&b"a=b"[..]));
}

#[test]
fn client_rejects_bad_responses() {
    let ok = [
        "HTTP/1.1 101 Switching Protocols",
        "Upgrade: websocket",
        "Connection: Upgrade",
        "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
    ];
    let with = |index: usize, line: &'static str| {
        // Replaces line `index` (removes it if `line` is empty), or appends `line`.
        let mut lines: Vec<&str> = ok.to_vec();
        match lines.get_mut(index) {
            Some(_) if line.is_empty() => drop(lines.remove(index)),
            Some(slot) => *slot = line,
            None => lines.push(line),
        }
        response(&lines)
    };
    let missing = |name| HandshakeError::MissingHeader { name };
    let cases = [
        (
            with(0, "HTTP/1.1 200 OK"),
            HandshakeError::UnexpectedStatus { status: 200 },
        ),
        (
            with(0, "HTTP/1.0 101 Switching"),
            HandshakeError::HttpVersionTooOld,
        ),
        (with(1, ""), missing("Upgrade")),
        (with(1, "Upgrade: h2c"), HandshakeError::UpgradeNotWebSocket),
        (with(2, ""), missing("Connection")),
        (
            with(2, "Connection: keep-alive"),
            HandshakeError::ConnectionNotUpgrade,
        ),
        (with(3, ""), missing("Sec-WebSocket-Accept")),
        (
            with(3, "Sec-WebSocket-Accept: dGhlIHNhbXBsZSBub25jZQ=="),
            HandshakeError::AcceptMismatch,
        ),
        (
            with(9, "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo="),
            HandshakeError::DuplicateHeader {
                name: "Sec-WebSocket-Accept",
            },
        ),
        (
            with(9, "Sec-WebSocket-Protocol: mqtt"),
            HandshakeError::UnofferedSubprotocol {
                protocol: "mqtt".into(),
            },
        ),
        (
            with(9, "Sec-WebSocket-Protocol: chat, superchat"),
            HandshakeError::InvalidSubprotocols,
        ),
        (
            with(9, "Sec-WebSocket-Extensions: x-webkit-deflate-frame"),
            HandshakeError::UnofferedExtension {
                name: "x-webkit-deflate-frame".into(),
            },
        ),
        (
            with(9, "Sec-WebSocket-Extensions: ;x"),
            HandshakeError::InvalidExtensions,
        ),
        (
            b"HTTP/1.1 101\x01 Switching\r\n\r\n".to_vec(),
            HandshakeError::Malformed {
                what: "invalid status",
            },
        ),
    ];
    let handshake = client();
    for (bytes, expected) in cases {
        let got = handshake.check_response(&bytes);
        assert_eq!(got, Err(expected), "{}", String::from_utf8_lossy(&bytes));
    }
    // Faults only a response can have carry no status: a client answers nobody.
    assert_eq!(HandshakeError::AcceptMismatch.status(), None);
}

#[test]
fn client_checks_parts_from_another_stack() {
    let mut headers = Headers::new();
    headers.push("Upgrade", "websocket");
    headers.push("Connection", "upgrade");
    headers.push("Sec-WebSocket-Accept", ACCEPT);
    let accepted = client().check_parts(101, headers.clone()).unwrap();
    assert_eq!(accepted.subprotocol(), None);
    assert!(accepted.extensions().is_empty());
    let err = client().check_parts(403, headers);
    assert_eq!(err, Err(HandshakeError::UnexpectedStatus { status: 403 }));
}
