//! The small pieces: the extension grammar, header values and token lists.

use alloc::string::{String, ToString};
use alloc::vec::Vec;

use super::*;

#[test]
fn extension_grammar() {
    let e = Extension::parse(b"permessage-deflate ; a ; b = 10 ; c=\"1\\5\"").unwrap();
    assert_eq!(e.name(), "permessage-deflate");
    let params: Vec<(&str, Option<&str>)> = e.params().collect();
    assert_eq!(params, [("a", None), ("b", Some("10")), ("c", Some("15"))]);
    assert_eq!(e.to_string(), "permessage-deflate; a; b=10; c=15");
    for bad in [
        &b""[..],
        b";a",
        b"x;",
        b"x; a=",
        b"x; a=\"b c\"",
        b"x; a=\"1",
        b"a b",
    ] {
        assert_eq!(
            Extension::parse(bad),
            None,
            "{:?}",
            String::from_utf8_lossy(bad)
        );
    }
}

#[test]
fn header_values_are_trimmed_and_lists_split() {
    let mut headers = Headers::new();
    headers.push("A", " \tx y\t ");
    assert_eq!(headers.get("a"), Some(&b"x y"[..]));
    let elements: Vec<&[u8]> = split_list(b" a ,, b\t,c ,").collect();
    assert_eq!(elements, [&b"a"[..], b"b", b"c"]);
    assert!(is_token(b"x-webkit-deflate-frame") && !is_token(b"a/b") && !is_token(b""));
}
