//! Unit tests for the WebSocket framing pieces, one file per piece.

use alloc::vec;
use alloc::vec::Vec;

mod close;
#[cfg(feature = "testing")]
mod conn;
#[cfg(feature = "testing")]
mod conversation;
mod decode;
#[cfg(all(feature = "testing", feature = "deflate"))]
mod deflate;
mod encode;
mod errors;
#[cfg(feature = "testing")]
mod in_place;
mod mask;
mod memory;
#[cfg(feature = "testing")]
mod owned;
#[cfg(feature = "testing")]
mod streaming;
mod utf8;

/// Every way `bytes` can arrive: whole, one byte at a time, and split in two at each point
/// (up to `max_split`, plus the last point, so that large vectors stay quick).
fn chunkings(bytes: &[u8], max_split: usize) -> Vec<Vec<&[u8]>> {
    let mut out = vec![vec![bytes], bytes.chunks(1).collect()];
    let last = bytes.len().saturating_sub(1);
    for at in (1..bytes.len()).filter(|&at| at <= max_split || at == last) {
        let (a, b) = bytes.split_at(at);
        out.push(vec![a, b]);
    }
    out
}

/// Bytes from a hex string; spaces are ignored.
fn hex(text: &str) -> Vec<u8> {
    let digits: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    digits
        .chunks(2)
        .map(|pair| {
            let nibble = |c: u8| (c as char).to_digit(16).expect("hex digit") as u8;
            nibble(pair[0]) << 4 | nibble(pair[1])
        })
        .collect()
}
