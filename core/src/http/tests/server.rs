//! The server side: request validation, every rejection with its status.

use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;

use super::*;

#[test]
fn server_parses_the_rfc_example_request() {
    let bytes = request_with("Origin", "Origin: http://example.com");
    let bytes = [
        &bytes[..bytes.len() - 2],
        b"Sec-WebSocket-Protocol: chat, superchat\r\n\
          Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits, x-y\r\n\r\n",
    ]
    .concat();
    let request = UpgradeRequest::parse(&bytes).unwrap();
    assert_eq!(request.path(), "/chat");
    assert_eq!(request.host(), b"server.example.com");
    assert_eq!(request.key(), KEY);
    assert_eq!(request.subprotocols(), ["chat", "superchat"]);
    let names: Vec<&str> = request.extensions().iter().map(|e| e.name()).collect();
    assert_eq!(names, ["permessage-deflate", "x-y"]);
    assert_eq!(
        request.headers().get_str("origin"),
        Some("http://example.com")
    );
    assert!(request.offers_subprotocol("chat") && !request.offers_subprotocol("Chat"));
    assert!(request.offers_extension("PERMESSAGE-DEFLATE"));
}

#[test]
fn server_rejections_carry_their_status() {
    let cases: Vec<(Vec<u8>, HandshakeError, u16)> = vec![
        (
            request_with("GET", "POST /chat HTTP/1.1"),
            HandshakeError::MethodNotAllowed {
                method: "POST".into(),
            },
            405,
        ),
        (
            request_with("GET", "GET /chat HTTP/1.0"),
            HandshakeError::HttpVersionTooOld,
            400,
        ),
        (
            request_with("GET", "GET /chat HTTP/2.0"),
            HandshakeError::Malformed {
                what: "invalid HTTP version",
            },
            400,
        ),
        (
            request_with("Host", ""),
            HandshakeError::MissingHeader { name: "Host" },
            400,
        ),
        (
            request_with("Origin", "host: b"),
            HandshakeError::DuplicateHeader { name: "Host" },
            400,
        ),
        (
            request_with("Upgrade", ""),
            HandshakeError::MissingHeader { name: "Upgrade" },
            400,
        ),
        (
            request_with("Upgrade", "Upgrade: h2c"),
            HandshakeError::UpgradeNotWebSocket,
            400,
        ),
        (
            request_with("Connection", ""),
            HandshakeError::MissingHeader { name: "Connection" },
            400,
        ),
        (
            request_with("Connection", "Connection: keep-alive"),
            HandshakeError::ConnectionNotUpgrade,
            400,
        ),
        (
            request_with("Sec-WebSocket-Version", "Sec-WebSocket-Version: 8"),
            HandshakeError::UnsupportedVersion,
            426,
        ),
        (
            request_with("Sec-WebSocket-Version", ""),
            HandshakeError::UnsupportedVersion,
            426,
        ),
        (
            request_with("Sec-WebSocket-Key", "Sec-WebSocket-Key: c2hvcnQ="),
            HandshakeError::InvalidKey,
            400,
        ),
        (
            request_with(
                "Sec-WebSocket-Key",
                "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAAAA",
            ),
            HandshakeError::InvalidKey,
            400,
        ),
        (
            request_with("Sec-WebSocket-Key", ""),
            HandshakeError::MissingHeader {
                name: "Sec-WebSocket-Key",
            },
            400,
        ),
        (
            request_with("Origin", &["Sec-WebSocket-Key: ", KEY].concat()),
            HandshakeError::DuplicateHeader {
                name: "Sec-WebSocket-Key",
            },
            400,
        ),
        (
            request_with("Sec-WebSocket-Protocol", "Sec-WebSocket-Protocol: a b"),
            HandshakeError::InvalidSubprotocols,
            400,
        ),
        (
            request_with(
                "Sec-WebSocket-Extensions",
                "Sec-WebSocket-Extensions: x; =1",
            ),
            HandshakeError::InvalidExtensions,
            400,
        ),
        (
            request_with("Content-Length", "Content-Length: 4"),
            HandshakeError::UnexpectedBody,
            400,
        ),
        (
            request_with("Transfer-Encoding", "Transfer-Encoding: chunked"),
            HandshakeError::UnexpectedBody,
            400,
        ),
        (
            request_with("Host", "Host server"),
            HandshakeError::Malformed {
                what: "invalid header name",
            },
            400,
        ),
    ];
    for (bytes, expected, status) in cases {
        let got = UpgradeRequest::parse(&bytes);
        assert_eq!(
            got,
            Err(expected.clone()),
            "{}",
            String::from_utf8_lossy(&bytes)
        );
        assert_eq!(expected.status(), Some(status), "{expected:?}");
        let answer = Response::for_error(&expected).unwrap();
        assert_eq!(answer.status(), status);
    }
    // A zero Content-Length is no body.
    assert!(UpgradeRequest::parse(&request_with("Content-Length", "Content-Length: 0")).is_ok());
}

#[test]
fn too_many_headers_is_431() {
    let mut lines = request_lines();
    for i in 0..MAX_HEADERS {
        lines.push(alloc::format!("X-Filler-{i}: {i}"));
    }
    let err = UpgradeRequest::parse(&head(&lines)).unwrap_err();
    assert_eq!(err, HandshakeError::TooManyHeaders { limit: MAX_HEADERS });
    assert_eq!(err.status(), Some(431));
    // Exactly the cap is fine.
    let mut lines = request_lines();
    lines.extend((lines.len() - 1..MAX_HEADERS).map(|i| alloc::format!("X-Filler-{i}: {i}")));
    assert!(UpgradeRequest::parse(&head(&lines)).is_ok());
}

#[test]
fn head_too_large_is_431() {
    let bytes = request_with(
        "Cookie",
        &["Cookie: ", &"a".repeat(DEFAULT_MAX_HEAD)].concat(),
    );
    let mut buffer = HeadBuffer::default();
    let limit = DEFAULT_MAX_HEAD;
    assert_eq!(buffer.feed(&bytes), Feed::TooLarge { limit });
    let err = HandshakeError::HeadTooLarge { limit };
    let answer = Response::for_error(&err).unwrap();
    assert_eq!(answer.status(), 431);
    assert_eq!(answer.reason(), "Request Header Fields Too Large");
}

#[test]
fn case_insensitive_names_and_token_lists() {
    let lines: Vec<String> = [
        "GET /chat HTTP/1.1",
        "HOST: a",
        "upgrade: foo/2, WebSocket",
        "CONNECTION: keep-alive",
        "connection:Upgrade ",
        "sec-websocket-key:   dGhlIHNhbXBsZSBub25jZQ==\t",
        "SEC-WEBSOCKET-VERSION: 13",
        "sec-websocket-protocol: chat,,superchat ,",
        "Sec-WebSocket-Protocol: v3",
    ]
    .iter()
    .map(|l| l.to_string())
    .collect();
    let request = UpgradeRequest::parse(&head(&lines)).unwrap();
    assert_eq!(request.key(), KEY);
    assert_eq!(request.subprotocols(), ["chat", "superchat", "v3"]);
    assert!(request.headers().has_token("Connection", "UPGRADE"));
}
