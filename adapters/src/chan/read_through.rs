//! Read-through: an optional hook through which a channel's reader takes bytes straight
//! from where the channel's writer would get them (a socket), skipping the ring.
//!
//! Unlike writing through, the ring alone cannot keep order here: the writer (a read pump)
//! reads from the source *before* it puts the bytes in the ring. So the source has an owner
//! that the pump holds from its read until the bytes are published, and that the reader
//! must win, then see the ring still empty, before it reads.

use std::io;

/// Where a channel's bytes come from, read directly while the channel holds none.
pub(crate) trait ReadThrough: Send + Sync + std::fmt::Debug {
    /// If the source is free, claims it; then, if `ring_is_empty()` still holds, reads into
    /// `buf` without waiting. `Ok(None)` means "use the ring": the source was busy, had
    /// nothing, or is at its end (which the pump reports). Any error ends the channel.
    fn try_read(
        &self,
        buf: &mut [u8],
        ring_is_empty: &dyn Fn() -> bool,
    ) -> io::Result<Option<usize>>;
}
