//! The `Sec-WebSocket-Key` nonce and its `Sec-WebSocket-Accept` answer (RFC 6455 §4.1,
//! §4.2.2).

use alloc::string::String;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha1::{Digest, Sha1};

use crate::Rng;

/// The GUID a server appends to the client's key before hashing (RFC 6455 §1.3, §4.2.2).
pub const WEBSOCKET_GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// The `Sec-WebSocket-Accept` value for a `Sec-WebSocket-Key`: the base64 of the SHA-1 of
/// the key (as sent, after trimming) followed by [`WEBSOCKET_GUID`] (RFC 6455 §4.2.2 step 5).
///
/// ```
/// use wirestate_core::http::accept_key;
/// // The example of RFC 6455 §1.3.
/// assert_eq!(accept_key("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
/// ```
pub fn accept_key(key: &str) -> String {
    let mut sha = Sha1::new();
    sha.update(key.as_bytes());
    sha.update(WEBSOCKET_GUID.as_bytes());
    STANDARD.encode(sha.finalize())
}

/// A fresh `Sec-WebSocket-Key`: 16 random bytes, base64-encoded (RFC 6455 §4.1 item 7).
///
/// The RFC asks for a nonce chosen randomly for each connection; the bytes come from the
/// injected `rng`, so tests seeded with a constant see the same key every run.
pub fn generate_key(rng: &mut Rng) -> String {
    let mut nonce = [0u8; 16];
    rng.fill_bytes(&mut nonce);
    STANDARD.encode(nonce)
}

/// Whether `key` is a valid `Sec-WebSocket-Key`: padded standard base64 of exactly 16 bytes
/// (RFC 6455 §4.2.1 item 5). Such a key is always 24 characters long.
pub fn is_valid_key(key: &[u8]) -> bool {
    // Checking the length first bounds the decode and rejects 15- or 17-byte nonces early.
    if key.len() != 24 {
        return false;
    }
    let mut decoded = [0u8; 18];
    matches!(STANDARD.decode_slice(key, &mut decoded), Ok(16))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_6455_section_1_3_example() {
        assert_eq!(
            accept_key("dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    #[test]
    fn generated_keys_are_valid_seeded_and_fresh() {
        let mut rng = Rng::from_u64(1);
        let first = generate_key(&mut rng);
        let second = generate_key(&mut rng);
        assert!(is_valid_key(first.as_bytes()));
        assert!(is_valid_key(second.as_bytes()));
        assert_ne!(first, second);
        assert_eq!(first, generate_key(&mut Rng::from_u64(1)));
    }

    #[test]
    fn key_validity() {
        assert!(is_valid_key(b"dGhlIHNhbXBsZSBub25jZQ=="));
        // 15 and 17 bytes, unpadded, not base64, non-canonical trailing bits, empty.
        assert!(!is_valid_key(b"AAAAAAAAAAAAAAAAAAAA"));
        assert!(!is_valid_key(b"AAAAAAAAAAAAAAAAAAAAAAAA"));
        assert!(!is_valid_key(b"dGhlIHNhbXBsZSBub25jZQ"));
        assert!(!is_valid_key(b"dGhlIHNhbXBsZSBub25jZ!=="));
        assert!(!is_valid_key(b"dGhlIHNhbXBsZSBub25jZR=="));
        assert!(!is_valid_key(b""));
    }
}
