//! Arbitrary bytes through every RSocket extension decoder: no panic, and what decodes
//! re-encodes to bytes that decode the same.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wirestate_core::bytes::Bytes;
use wirestate_core::rsocket::ext::auth::Auth;
use wirestate_core::rsocket::ext::{self, CompositeMetadata, routing};

fuzz_target!(|data: &[u8]| {
    let input = Bytes::copy_from_slice(data);
    if let Ok(metadata) = CompositeMetadata::decode(input.clone()) {
        let again = CompositeMetadata::decode(metadata.encode().expect("decoded entries encode"));
        assert_eq!(again.as_ref(), Ok(&metadata));
    }
    if let Ok(tags) = routing::decode(input.clone()) {
        let tags: Vec<&str> = tags.iter().map(String::as_str).collect();
        if let Ok(bytes) = routing::encode(&tags) {
            assert_eq!(bytes, input, "routing round trip");
        }
    }
    if let Ok(auth) = Auth::decode(input.clone()) {
        let again = Auth::decode(auth.encode().expect("decoded auth encodes"));
        assert_eq!(again.as_ref(), Ok(&auth));
    }
    if let Ok(types) = ext::decode_accept_mime_types(input) {
        let again = ext::decode_accept_mime_types(ext::encode_accept_mime_types(&types).unwrap());
        assert_eq!(again.as_ref(), Ok(&types));
    }
});
