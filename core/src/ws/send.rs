//! Writing frames: headers, payload copies and client masking, batched in one buffer.

use bytes::BytesMut;

use super::frame::FrameHeader;
use super::mask::extend_unmasked;
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
    put(
        out,
        FrameHeader::new(opcode, fin, payload.len() as u64),
        payload,
        mask,
    );
}

/// Appends one whole compressed message as a single frame with RSV1 set (RFC 7692 §6).
#[cfg(feature = "deflate")]
pub(crate) fn write_compressed_frame(
    out: &mut BytesMut,
    opcode: Opcode,
    payload: &[u8],
    mask: Option<[u8; 4]>,
) {
    let mut header = FrameHeader::new(opcode, true, payload.len() as u64);
    header.rsv1 = true;
    put(out, header, payload, mask);
}

fn put(out: &mut BytesMut, mut header: FrameHeader, payload: &[u8], mask: Option<[u8; 4]>) {
    if let Some(key) = mask {
        header = header.with_mask(key);
    }
    out.reserve(header.encoded_len() + payload.len());
    header.encode(out);
    extend_unmasked(out, payload, mask, 0);
}
