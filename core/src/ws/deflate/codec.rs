//! Compressing and decompressing message payloads (RFC 7692 §7.2) with flate2 (zlib-rs):
//! raw DEFLATE, each message ended by a sync flush whose `00 00 ff ff` tail is dropped on
//! the wire and put back before inflating.

use alloc::vec::Vec;
use bytes::BytesMut;
use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

/// The sync-flush tail that the sender removes and the receiver appends (RFC 7692 §7.2.1).
pub(crate) const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// Output is produced in steps of this much, so a bomb is caught within one step.
const STEP: usize = 16 * 1024;

/// zlib cannot compress with an 8-bit window (it would use 9); the window bits it can.
fn zlib_window(bits: u8) -> u8 {
    bits.clamp(9, 15)
}

/// The sending side: compresses whole messages.
#[derive(Debug)]
pub(crate) struct Deflater {
    /// Created on the first compressed message; dropped after each message when
    /// `release` (no context takeover and memory preferred over speed).
    stream: Option<Compress>,
    level: u32,
    window_bits: u8,
    no_context_takeover: bool,
    release: bool,
}

impl Deflater {
    /// `None` if the agreed window is 8 bits, which zlib cannot honour: such a connection
    /// sends every message uncompressed, which RFC 7692 allows.
    pub(crate) fn new(
        level: u32,
        window_bits: u8,
        no_context_takeover: bool,
        release: bool,
    ) -> Option<Self> {
        (window_bits >= 9).then_some(Deflater {
            stream: None,
            level: level.min(9),
            window_bits,
            no_context_takeover,
            release: release && no_context_takeover,
        })
    }

    /// Appends the compressed form of `payload` (without the tail) to `out`.
    pub(crate) fn compress(&mut self, payload: &[u8], out: &mut Vec<u8>) {
        let (level, bits) = (self.level, self.window_bits);
        let stream = self.stream.get_or_insert_with(|| {
            Compress::new_with_window_bits(Compression::new(level), false, zlib_window(bits))
        });
        let start = out.len();
        let mut input = payload;
        loop {
            out.reserve(input.len() / 2 + 64);
            let before = stream.total_in();
            // Never fails for a valid stream and flush; on an error, stop: the tail check
            // below then sends what was produced as it is.
            let status = stream.compress_vec(input, out, FlushCompress::Sync);
            input = &input[(stream.total_in() - before) as usize..];
            let room_left = out.capacity() > out.len();
            if status.is_err() || (input.is_empty() && room_left) {
                break;
            }
        }
        if out[start..].ends_with(&TAIL) {
            out.truncate(out.len() - TAIL.len());
        }
        if self.release {
            self.stream = None;
        } else if self.no_context_takeover {
            stream_reset(&mut self.stream);
        }
    }
}

fn stream_reset(stream: &mut Option<Compress>) {
    if let Some(stream) = stream {
        stream.reset();
    }
}

/// Why inflating failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum InflateError {
    /// The data is not valid DEFLATE.
    Corrupt,
    /// The output would pass the limit.
    TooLarge,
}

/// The receiving side: decompresses messages piece by piece into the receive buffer.
#[derive(Debug)]
pub(crate) struct Inflater {
    stream: Option<Decompress>,
    /// The peer ended its DEFLATE stream (a final block): start a new one next message.
    stream_ended: bool,
    window_bits: u8,
    no_context_takeover: bool,
    release: bool,
}

impl Inflater {
    pub(crate) fn new(window_bits: u8, no_context_takeover: bool, release: bool) -> Self {
        Inflater {
            stream: None,
            stream_ended: false,
            window_bits,
            no_context_takeover,
            release: release && no_context_takeover,
        }
    }

    /// Inflates `input` onto `out`, stopping early (with input left) once `soft_limit`
    /// bytes were produced; more than `hard_limit` is [`InflateError::TooLarge`]. Returns
    /// the input bytes consumed.
    pub(crate) fn inflate(
        &mut self,
        input: &[u8],
        out: &mut BytesMut,
        soft_limit: usize,
        hard_limit: usize,
    ) -> Result<usize, InflateError> {
        if self.stream_ended {
            return Ok(input.len()); // nothing may follow a final block within a message
        }
        let bits = self.window_bits;
        // A larger window than the peer's is always safe to inflate with; zlib wants 9+.
        let stream = self
            .stream
            .get_or_insert_with(|| Decompress::new_with_window_bits(false, zlib_window(bits)));
        let mut consumed = 0;
        let mut produced = 0;
        loop {
            if produced >= soft_limit {
                return Ok(consumed);
            }
            let room = STEP.min(hard_limit.saturating_sub(produced) + 1);
            let start = out.len();
            out.resize(start + room, 0);
            let (in_before, out_before) = (stream.total_in(), stream.total_out());
            let status =
                stream.decompress(&input[consumed..], &mut out[start..], FlushDecompress::Sync);
            let took = (stream.total_in() - in_before) as usize;
            let made = (stream.total_out() - out_before) as usize;
            out.truncate(start + made);
            consumed += took;
            produced += made;
            if produced > hard_limit {
                return Err(InflateError::TooLarge);
            }
            match status {
                Err(_) => return Err(InflateError::Corrupt),
                Ok(Status::StreamEnd) => {
                    self.stream_ended = true; // a final block (RFC 7692 §7.2.3.4)
                    return Ok(input.len());
                }
                Ok(_) if consumed == input.len() && made < room => return Ok(consumed),
                Ok(_) if took == 0 && made == 0 => return Err(InflateError::Corrupt),
                Ok(_) => {}
            }
        }
    }

    /// The message is complete (its tail was inflated): forget the context if agreed.
    pub(crate) fn end_message(&mut self) {
        let ended = core::mem::take(&mut self.stream_ended);
        if self.release {
            self.stream = None;
        } else if self.no_context_takeover || ended {
            if let Some(stream) = &mut self.stream {
                stream.reset(false);
            }
        }
    }
}
