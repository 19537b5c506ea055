//! Writing frames: headers, payload copies and client masking, batched in one buffer.

use bytes::{BufMut, BytesMut};

use super::frame::FrameHeader;
use super::mask::apply_mask;
use super::opcode::Opcode;

/// Appends one frame to `out`; with `mask` (client role) the payload is masked as it is
/// copied.
pub(crate) fn write_frame(
    out: &mut BytesMut,
    opcode: Opcode,
    fin: bool,
    payload: &[u8],
    mask: Option<[u8; 4]>,
) {
    let mut header = FrameHeader::new(opcode, fin, payload.len() as u64);
    if let Some(key) = mask {
        header = header.with_mask(key);
    }
    out.reserve(header.encoded_len() + payload.len());
    header.encode(out);
    let start = out.len();
    out.put_slice(payload);
    if let Some(key) = mask {
        apply_mask(&mut out[start..], key, 0);
    }
}
