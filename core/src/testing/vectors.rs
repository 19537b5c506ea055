//! Byte-vector helpers: check a decoder against every way its input can arrive.
//!
//! A vector is checked whole, one byte at a time, split at every point, and each of those
//! followed by trailing bytes that must be left over untouched. Decoders that only work when
//! input arrives in one piece fail here first.

use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::fmt::Debug;

/// One way a byte vector can arrive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunking {
    /// A description for assertion messages, e.g. `"split at 3 + trailing"`.
    pub name: String,
    /// The pieces, in order; their concatenation is the vector, then the trailing bytes.
    pub chunks: Vec<Vec<u8>>,
}

impl Chunking {
    /// The pieces as slices.
    pub fn slices(&self) -> Vec<&[u8]> {
        self.chunks.iter().map(Vec::as_slice).collect()
    }
}

/// Every chunking of `vector`: whole, one byte at a time, and each two-piece split; then the
/// same three shapes with `trailing` appended (skipped when `trailing` is empty).
pub fn chunkings(vector: &[u8], trailing: &[u8]) -> Vec<Chunking> {
    let mut out = Vec::new();
    let mut shapes = |input: &[u8], suffix: &str| {
        out.push(Chunking {
            name: format!("whole{suffix}"),
            chunks: vec![input.to_vec()],
        });
        out.push(Chunking {
            name: format!("byte by byte{suffix}"),
            chunks: input.iter().map(|b| vec![*b]).collect(),
        });
        for at in 1..input.len() {
            out.push(Chunking {
                name: format!("split at {at}{suffix}"),
                chunks: vec![input[..at].to_vec(), input[at..].to_vec()],
            });
        }
    };
    shapes(vector, "");
    if !trailing.is_empty() {
        let mut with_trailing = vector.to_vec();
        with_trailing.extend_from_slice(trailing);
        shapes(&with_trailing, " + trailing");
    }
    out
}

/// Checks that `decode` turns every chunking of `vector` into `expected`, and leaves exactly
/// `trailing` over when trailing bytes follow (nothing over otherwise).
///
/// `decode` gets the pieces in arrival order and returns what it decoded and the bytes it
/// did not consume.
///
/// # Panics
/// On the first chunking that decodes differently, naming it.
pub fn check_decode<T: PartialEq + Debug>(
    vector: &[u8],
    trailing: &[u8],
    expected: &T,
    mut decode: impl FnMut(&[&[u8]]) -> (T, Vec<u8>),
) {
    for chunking in chunkings(vector, trailing) {
        let (value, leftover) = decode(&chunking.slices());
        assert_eq!(
            &value, expected,
            "decoded value differs ({})",
            chunking.name
        );
        let expected_leftover: &[u8] = if chunking.name.ends_with("+ trailing") {
            trailing
        } else {
            &[]
        };
        assert_eq!(
            leftover, expected_leftover,
            "leftover bytes differ ({})",
            chunking.name
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunkings_cover_whole_bytes_and_splits() {
        let all = chunkings(b"abc", b"!");
        let names: Vec<&str> = all.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "whole",
                "byte by byte",
                "split at 1",
                "split at 2",
                "whole + trailing",
                "byte by byte + trailing",
                "split at 1 + trailing",
                "split at 2 + trailing",
                "split at 3 + trailing",
            ]
        );
        for c in &all {
            let joined: Vec<u8> = c.chunks.concat();
            let expected: &[u8] = if c.name.ends_with("+ trailing") {
                b"abc!"
            } else {
                b"abc"
            };
            assert_eq!(joined, expected, "{}", c.name);
        }
    }

    #[test]
    #[should_panic(expected = "byte by byte")]
    fn check_decode_names_the_failing_chunking() {
        // A "decoder" that only works when the input arrives whole.
        check_decode(b"ab", b"", &2usize, |chunks| (chunks[0].len(), Vec::new()));
    }
}
