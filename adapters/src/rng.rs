//! Seeding the core's random number generator from the operating system.

use wirestate_core::Rng;

/// A core [`Rng`] seeded from OS entropy, for machines that need unpredictable values
/// (WebSocket masking keys and handshake nonces).
///
/// # Panics
/// If the operating system has no entropy source to offer, which leaves no safe way to
/// mask frames.
pub fn os_rng() -> Rng {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).expect("the operating system's random source");
    Rng::from_seed(seed)
}
