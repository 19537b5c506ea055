//! Injected, seedable randomness.
//!
//! Machines that need randomness (WebSocket masking keys and handshake nonces) take an
//! [`Rng`] at construction. Adapters seed it from OS entropy; tests seed it with a constant so
//! every byte on the wire is reproducible. The core never reaches for a global generator.
//!
//! The generator is ChaCha with 8 rounds (the same core as `rand_chacha::ChaCha8Rng`): fast,
//! and unpredictable to a peer that sees its output, which RFC 6455 §10.3 asks of masking keys.

/// A seedable ChaCha8 random number generator.
#[derive(Clone)]
pub struct Rng {
    key: [u32; 8],
    counter: u64,
    block: [u32; 16],
    /// Next unused word of `block`; 16 means the block is used up.
    index: usize,
}

impl core::fmt::Debug for Rng {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // Never print the key: that would reveal every future masking key.
        f.debug_struct("Rng").finish_non_exhaustive()
    }
}

impl Rng {
    /// A generator whose whole output is determined by `seed`.
    pub fn from_seed(seed: [u8; 32]) -> Self {
        let mut key = [0u32; 8];
        for (word, bytes) in key.iter_mut().zip(seed.chunks_exact(4)) {
            *word = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
        }
        Rng {
            key,
            counter: 0,
            block: [0; 16],
            index: 16,
        }
    }

    /// A generator seeded from a `u64`, for tests.
    pub fn from_u64(seed: u64) -> Self {
        let mut bytes = [0u8; 32];
        bytes[..8].copy_from_slice(&seed.to_le_bytes());
        Rng::from_seed(bytes)
    }

    /// The next 32 random bits.
    #[inline]
    pub fn next_u32(&mut self) -> u32 {
        if self.index == 16 {
            self.refill();
        }
        let word = self.block[self.index];
        self.index += 1;
        word
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        u64::from(self.next_u32()) | (u64::from(self.next_u32()) << 32)
    }

    /// Fills `dest` with random bytes.
    pub fn fill_bytes(&mut self, dest: &mut [u8]) {
        for chunk in dest.chunks_mut(4) {
            let word = self.next_u32().to_le_bytes();
            chunk.copy_from_slice(&word[..chunk.len()]);
        }
    }

    /// Computes the next block: once per 16 words, so kept out of the callers' code.
    #[inline(never)]
    fn refill(&mut self) {
        const SIGMA: [u32; 4] = [0x6170_7865, 0x3320_646e, 0x7962_2d32, 0x6b20_6574];
        let mut input = [0u32; 16];
        input[..4].copy_from_slice(&SIGMA);
        input[4..12].copy_from_slice(&self.key);
        input[12] = self.counter as u32;
        input[13] = (self.counter >> 32) as u32;
        let mut x = input;
        for _ in 0..4 {
            // One double round: four column rounds, then four diagonal rounds.
            quarter_round(&mut x, 0, 4, 8, 12);
            quarter_round(&mut x, 1, 5, 9, 13);
            quarter_round(&mut x, 2, 6, 10, 14);
            quarter_round(&mut x, 3, 7, 11, 15);
            quarter_round(&mut x, 0, 5, 10, 15);
            quarter_round(&mut x, 1, 6, 11, 12);
            quarter_round(&mut x, 2, 7, 8, 13);
            quarter_round(&mut x, 3, 4, 9, 14);
        }
        for (out, (mixed, original)) in self.block.iter_mut().zip(x.iter().zip(input.iter())) {
            *out = mixed.wrapping_add(*original);
        }
        self.counter = self.counter.wrapping_add(1);
        self.index = 0;
    }
}

fn quarter_round(x: &mut [u32; 16], a: usize, b: usize, c: usize, d: usize) {
    x[a] = x[a].wrapping_add(x[b]);
    x[d] = (x[d] ^ x[a]).rotate_left(16);
    x[c] = x[c].wrapping_add(x[d]);
    x[b] = (x[b] ^ x[c]).rotate_left(12);
    x[a] = x[a].wrapping_add(x[b]);
    x[d] = (x[d] ^ x[a]).rotate_left(8);
    x[c] = x[c].wrapping_add(x[d]);
    x[b] = (x[b] ^ x[c]).rotate_left(7);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chacha_quarter_round_matches_rfc_8439() {
        // RFC 8439 §2.1.1 test vector.
        let mut x = [0u32; 16];
        x[0] = 0x1111_1111;
        x[1] = 0x0102_0304;
        x[2] = 0x9b8d_6f43;
        x[3] = 0x0123_4567;
        quarter_round(&mut x, 0, 1, 2, 3);
        assert_eq!(
            &x[..4],
            &[0xea2a_92f4, 0xcb1c_f8ce, 0x4581_472e, 0x5881_c4bb]
        );
    }

    #[test]
    fn chacha8_zero_key_matches_reference_keystream() {
        // First bytes of the ChaCha8 keystream for an all-zero key and nonce, as published
        // with the eSTREAM ChaCha reference (and produced by rand_chacha's ChaCha8Rng).
        let mut rng = Rng::from_seed([0; 32]);
        let mut out = [0u8; 8];
        rng.fill_bytes(&mut out);
        assert_eq!(out, [0x3e, 0x00, 0xef, 0x2f, 0x89, 0x5f, 0x40, 0xd6]);
    }

    #[test]
    fn same_seed_same_stream_and_seeds_differ() {
        let mut a = Rng::from_u64(7);
        let mut b = Rng::from_u64(7);
        let mut c = Rng::from_u64(8);
        let xs: [u64; 40] = core::array::from_fn(|_| a.next_u64());
        let ys: [u64; 40] = core::array::from_fn(|_| b.next_u64());
        let zs: [u64; 40] = core::array::from_fn(|_| c.next_u64());
        assert_eq!(xs, ys);
        assert_ne!(xs, zs);
    }

    #[test]
    fn fill_bytes_handles_odd_lengths() {
        let mut rng = Rng::from_u64(1);
        let mut buf = [0u8; 7];
        rng.fill_bytes(&mut buf);
        assert_ne!(buf, [0u8; 7]);
    }
}
