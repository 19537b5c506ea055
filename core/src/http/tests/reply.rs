//! The server's answers: the 101, application rejects, answers to peer faults.

use alloc::string::String;

use super::*;

#[test]
fn server_accepts_with_exact_bytes() {
    let bytes = request_with("Sec-WebSocket-Protocol", "Sec-WebSocket-Protocol: chat");
    let bytes = [
        &bytes[..bytes.len() - 2],
        b"Sec-WebSocket-Extensions: x-y\r\n\r\n",
    ]
    .concat();
    let request = UpgradeRequest::parse(&bytes).unwrap();
    let accept = Accept::new()
        .subprotocol("chat")
        .extension(Extension::new("x-y").with_param_value("a", "1"))
        .header("Set-Cookie", "id=1");
    let response = request.accept(&accept).unwrap();
    assert!(response.is_accept());
    let expected: &[u8] = b"HTTP/1.1 101 Switching Protocols\r\n\
        Upgrade: websocket\r\n\
        Connection: Upgrade\r\n\
        Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\
        Sec-WebSocket-Protocol: chat\r\n\
        Sec-WebSocket-Extensions: x-y; a=1\r\n\
        Set-Cookie: id=1\r\n\
        \r\n";
    assert_eq!(
        response.to_vec(),
        expected,
        "{}",
        String::from_utf8_lossy(&response.to_vec())
    );
}

#[test]
fn rejection_responses_on_the_wire() {
    let answer = Response::for_error(&HandshakeError::UnsupportedVersion).unwrap();
    let text = String::from_utf8(answer.to_vec()).unwrap();
    assert!(
        text.starts_with("HTTP/1.1 426 Upgrade Required\r\n"),
        "{text}"
    );
    assert!(text.contains("\r\nSec-WebSocket-Version: 13\r\n"), "{text}");
    assert!(text.contains("\r\nUpgrade: websocket\r\n"), "{text}");
    let body = &text[text.find("\r\n\r\n").unwrap() + 4..];
    assert!(text.contains(&alloc::format!("\r\nContent-Length: {}\r\n", body.len())));

    let method = HandshakeError::MethodNotAllowed {
        method: "PUT".into(),
    };
    let answer = Response::for_error(&method).unwrap();
    assert_eq!(answer.headers().get("allow"), Some(&b"GET"[..]));
    assert_eq!(answer.headers().get("connection"), Some(&b"close"[..]));
    assert_eq!(Response::for_error(&HandshakeError::AcceptMismatch), None);
}

#[test]
fn application_rejects() {
    let response = Reject::new(403)
        .header("X-Why", "no")
        .body("go away")
        .into_response()
        .unwrap();
    assert_eq!(
        response.to_vec(),
        b"HTTP/1.1 403 Forbidden\r\nX-Why: no\r\nConnection: close\r\n\
          Content-Length: 7\r\n\r\ngo away"
    );
    let custom = Reject::new(599).reason("Nope").into_response().unwrap();
    assert!(custom.to_vec().starts_with(b"HTTP/1.1 599 Nope\r\n"));
    let errors = [
        (Reject::new(101), UsageError::InvalidStatus { status: 101 }),
        (Reject::new(600), UsageError::InvalidStatus { status: 600 }),
        (Reject::new(400).reason("a\r\nb"), UsageError::InvalidReason),
        (
            Reject::new(400).header("content-length", "1"),
            UsageError::ReservedHeader {
                name: "content-length".into(),
            },
        ),
    ];
    for (reject, expected) in errors {
        assert_eq!(reject.into_response(), Err(expected));
    }
}

#[test]
fn accept_usage_errors() {
    let bytes = request_with("Sec-WebSocket-Protocol", "Sec-WebSocket-Protocol: chat");
    let request = UpgradeRequest::parse(&bytes).unwrap();
    let cases = [
        (
            Accept::new().subprotocol("mqtt"),
            UsageError::SubprotocolNotOffered {
                protocol: "mqtt".into(),
            },
        ),
        (
            Accept::new().extension(Extension::new("permessage-deflate")),
            UsageError::ExtensionNotOffered {
                name: "permessage-deflate".into(),
            },
        ),
        (
            Accept::new().header("Sec-WebSocket-Accept", "x"),
            UsageError::ReservedHeader {
                name: "Sec-WebSocket-Accept".into(),
            },
        ),
        (
            Accept::new().header("X", "a\nb"),
            UsageError::InvalidHeader { name: "X".into() },
        ),
    ];
    for (accept, expected) in cases {
        assert_eq!(request.accept(&accept), Err(expected));
    }
}
