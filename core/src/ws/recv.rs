//! Reading frames: headers in any chunking, unmasking, reassembly of fragmented messages,
//! fail-fast UTF-8 for text, and the message size limit.

#[cfg(feature = "deflate")]
use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use bytes::Bytes;

use super::arena::Arena;
use super::close::{CloseCode, ClosePayload};
use super::decode::{HeaderDecoder, HeaderStatus, parse_header};
#[cfg(feature = "deflate")]
use super::deflate::{InflateError, Inflater, TAIL};
use super::error::ProtocolError;
use super::event::Message;
use super::frame::FrameHeader;
use super::mask::{apply_mask, unmask_is_ascii};
use super::opcode::Opcode;
use super::rules::FrameRules;
use super::text::Text;
use super::utf8::Utf8Validator;

/// A complete unit the connection acts on.
#[derive(Debug)]
pub(crate) enum Received {
    Message(Message),
    /// A piece of a message delivered in pieces (streaming delivery).
    Fragment {
        piece: Message,
        last: bool,
    },
    Ping(Bytes),
    Pong(Bytes),
    Close {
        code: Option<CloseCode>,
        reason: String,
    },
}

/// A whole, final, uncompressed data frame found at the start of the input.
#[derive(Debug, Clone, Copy)]
pub(crate) struct WholeFrame {
    /// Where the payload starts in the input (the header's length).
    pub(crate) start: usize,
    /// Where the payload ends: the frame's length.
    pub(crate) end: usize,
    pub(crate) mask: Option<[u8; 4]>,
    /// A text frame (else binary).
    pub(crate) text: bool,
}

impl WholeFrame {
    /// Unmasks the frame's `payload` in place and checks it: whether it is a valid
    /// message (UTF-8 for text, recognised as ASCII while unmasking when it is).
    pub(crate) fn unmask_and_check(&self, payload: &mut [u8]) -> bool {
        let ascii = match self.mask {
            Some(key) if self.text => unmask_is_ascii(payload, key),
            Some(key) => {
                apply_mask(payload, key, 0);
                false
            }
            None => self.text && payload.is_ascii(),
        };
        !self.text || ascii || core::str::from_utf8(payload).is_ok()
    }
}

/// The frame being read.
#[derive(Debug)]
struct Frame {
    header: FrameHeader,
    /// Payload bytes read so far (the masking offset).
    read: u64,
    /// A control frame's payload (at most 125 bytes).
    control: Vec<u8>,
}

/// The data message being reassembled (its bytes are the tail of the arena).
#[derive(Debug)]
struct Partial {
    text: bool,
    utf8: Utf8Validator,
    /// Bytes of the message so far, pieces already delivered included.
    total: u64,
    /// Pieces of it were delivered: the rest goes out as pieces too.
    streamed: bool,
    /// Sent compressed (RSV1 on its first frame).
    compressed: bool,
}

/// Turns received bytes into messages and control frames.
#[derive(Debug)]
pub(crate) struct Receiver {
    decoder: HeaderDecoder,
    frame: Option<Frame>,
    message: Option<Partial>,
    /// Payload of the message being reassembled; complete messages are split off.
    arena: Arena,
    max_message: usize,
    /// Streaming delivery: hand out a piece once this many bytes of a message are held.
    piece_size: Option<usize>,
    /// permessage-deflate, once negotiated: inflates messages sent with RSV1 (boxed: most
    /// connections never compress).
    #[cfg(feature = "deflate")]
    inflating: Option<Box<Inflating>>,
}

/// permessage-deflate's receiving side.
#[cfg(feature = "deflate")]
#[derive(Debug)]
struct Inflating {
    inflater: Inflater,
    /// Unmasked compressed input, kept between frames so that inflating allocates nothing.
    compressed: Vec<u8>,
}

impl Receiver {
    pub(crate) fn new(rules: FrameRules, max_message: usize, piece_size: Option<usize>) -> Self {
        Receiver {
            decoder: HeaderDecoder::new(rules),
            frame: None,
            message: None,
            arena: Arena::default(),
            max_message,
            piece_size: piece_size.map(|size| size.max(1)),
            #[cfg(feature = "deflate")]
            inflating: None,
        }
    }

    /// permessage-deflate was negotiated: RSV1 marks compressed messages from now on.
    #[cfg(feature = "deflate")]
    pub(crate) fn enable_inflate(&mut self, inflater: Inflater) {
        let rules = self
            .decoder
            .rules()
            .with_allowed_rsv(super::rules::RsvBits::RSV1);
        self.decoder.set_rules(rules);
        self.inflating = Some(Box::new(Inflating {
            inflater,
            compressed: Vec::new(),
        }));
    }

    /// Bytes allocated for received payloads.
    #[cfg(test)]
    pub(crate) fn allocated(&self) -> usize {
        self.arena.allocated()
    }

    /// Reads from `data` until one unit is complete or `data` is used up. Returns the bytes
    /// consumed and the unit, if one completed; call again with the rest.
    pub(crate) fn read(&mut self, data: &[u8]) -> Result<(usize, Option<Received>), ProtocolError> {
        if let Some((consumed, message)) = self.whole_message(data)? {
            return Ok((consumed, Some(Received::Message(message))));
        }
        let mut pos = 0;
        loop {
            if self.frame.is_none() {
                if pos == data.len() {
                    return Ok((pos, None));
                }
                match self.decoder.decode(&data[pos..])? {
                    HeaderStatus::Partial => return Ok((data.len(), None)),
                    HeaderStatus::Complete { header, consumed } => {
                        pos += consumed;
                        self.start_frame(header)?;
                    }
                }
            }
            let Some(frame) = &self.frame else {
                continue;
            };
            let remaining = frame.header.payload_len - frame.read;
            let mut n =
                usize::try_from(remaining).map_or(data.len() - pos, |r| r.min(data.len() - pos));
            if let Some(piece) = self
                .piece_size
                .filter(|_| !frame.header.opcode.is_control())
            {
                n = n.min(piece); // hold about a piece at a time, however large the input
            }
            pos += self.payload(&data[pos..pos + n])?;
            let frame = self.frame.as_ref().expect("still reading a frame");
            let frame_done = frame.read == frame.header.payload_len;
            if !(frame_done && frame.header.fin) {
                if let Some(piece) = self.take_piece() {
                    return Ok((pos, Some(piece)));
                }
            }
            if !frame_done {
                if pos < data.len() {
                    continue; // more of this frame's payload is in `data`
                }
                return Ok((pos, None)); // the rest of the payload is still on its way
            }
            if let Some(unit) = self.finish_frame()? {
                return Ok((pos, Some(unit)));
            }
        }
    }

    /// A whole, final, uncompressed data frame at the start of `data`, when no frame or
    /// message is in progress: the fast paths turn it into a message in one step, without
    /// the per-frame and per-message bookkeeping. `Ok(None)` leaves `data` to the general
    /// path (which parses the header again); `Err` is a header that breaks the rules.
    #[inline]
    pub(crate) fn whole_frame(&self, data: &[u8]) -> Result<Option<WholeFrame>, ProtocolError> {
        if self.frame.is_some() || self.message.is_some() || self.decoder.buffered() > 0 {
            return Ok(None);
        }
        let Some((header, header_len)) = parse_header(data, self.decoder.rules())? else {
            return Ok(None);
        };
        let available = (data.len() - header_len) as u64;
        let fits = header.payload_len <= available
            && header.payload_len <= self.max_message as u64
            && self
                .piece_size
                .is_none_or(|piece| header.payload_len <= piece as u64);
        let text = match header.opcode {
            Opcode::Text => true,
            Opcode::Binary => false,
            _ => return Ok(None),
        };
        if !(fits && header.fin && !header.rsv1) {
            return Ok(None);
        }
        Ok(Some(WholeFrame {
            start: header_len,
            end: header_len + header.payload_len as usize,
            mask: header.mask,
            text,
        }))
    }

    /// The fast path for the common case, a small message in one frame (see
    /// [`whole_frame`](Receiver::whole_frame)): its payload is copied into the arena and
    /// split off.
    #[inline]
    fn whole_message(&mut self, data: &[u8]) -> Result<Option<(usize, Message)>, ProtocolError> {
        let Some(frame) = self.whole_frame(data)? else {
            return Ok(None);
        };
        let payload = &data[frame.start..frame.end];
        self.reserve_for(payload.len() as u64);
        self.arena.extend_from_slice(payload);
        if !frame.unmask_and_check(&mut self.arena) {
            return Err(ProtocolError::InvalidUtf8);
        }
        let payload = self.arena.take();
        let message = match frame.text {
            true => Message::Text(Text::from_checked(payload)),
            false => Message::Binary(payload),
        };
        Ok(Some((frame.end, message)))
    }

    /// Makes room in the arena for a data frame's payload of `len` bytes: all of it, or
    /// about a piece's worth when streaming (which holds a piece and a cut character).
    fn reserve_for(&mut self, len: u64) {
        let held_limit = self.piece_size.map_or(self.max_message, |piece| piece + 3);
        let need = usize::try_from(len).map_or(held_limit, |len| len.min(held_limit));
        let room = held_limit.saturating_sub(self.arena.len()).max(need);
        self.arena.reserve(need, room);
    }

    fn start_frame(&mut self, header: FrameHeader) -> Result<(), ProtocolError> {
        if !header.opcode.is_control() {
            match (&self.message, header.opcode) {
                (None, Opcode::Continuation) => return Err(ProtocolError::UnexpectedContinuation),
                (Some(_), Opcode::Text | Opcode::Binary) => {
                    return Err(ProtocolError::ExpectedContinuation(header.opcode));
                }
                (None, opcode) => {
                    self.message = Some(Partial {
                        text: opcode == Opcode::Text,
                        utf8: Utf8Validator::new(),
                        total: 0,
                        streamed: false,
                        compressed: header.rsv1, // allowed only if negotiated (the rules)
                    });
                }
                (Some(_), _) if header.rsv1 => {
                    // RFC 7692 §6.1: RSV1 only on the first frame of a message.
                    return Err(ProtocolError::ReservedBits(super::rules::RsvBits::RSV1));
                }
                (Some(_), _) => {}
            }
            if self.message.as_ref().is_some_and(|m| m.compressed) {
                // The limit applies to the inflated bytes, checked as they come out.
                self.frame = Some(Frame {
                    header,
                    read: 0,
                    control: Vec::new(),
                });
                return Ok(());
            }
            let total = self.message.as_ref().map_or(0, |m| m.total);
            if total + header.payload_len > self.max_message as u64 {
                return Err(ProtocolError::MessageTooBig {
                    max: self.max_message as u64,
                });
            }
            self.reserve_for(header.payload_len);
        }
        if header.opcode.is_control() && header.rsv1 {
            // RFC 7692 §6.1: control frames are never compressed.
            return Err(ProtocolError::ReservedBits(super::rules::RsvBits::RSV1));
        }
        let control = if header.opcode.is_control() {
            Vec::with_capacity(header.payload_len as usize)
        } else {
            Vec::new()
        };
        self.frame = Some(Frame {
            header,
            read: 0,
            control,
        });
        Ok(())
    }

    /// Takes payload bytes of the current frame; returns how many it took (fewer than
    /// `chunk` only when inflating stopped at a piece's worth of output).
    fn payload(&mut self, chunk: &[u8]) -> Result<usize, ProtocolError> {
        #[cfg(feature = "deflate")]
        if self.message.as_ref().is_some_and(|m| m.compressed)
            && self
                .frame
                .as_ref()
                .is_some_and(|f| !f.header.opcode.is_control())
        {
            return self.compressed_payload(chunk);
        }
        let frame = self.frame.as_mut().expect("a frame is being read");
        let offset = frame.read as usize;
        frame.read += chunk.len() as u64;
        let target = if frame.header.opcode.is_control() {
            &mut frame.control
        } else {
            let message = self.message.as_mut().expect("a data frame has a message");
            message.total += chunk.len() as u64;
            let start = self.arena.len();
            if let Some(piece) = self.piece_size {
                // Never more than a piece past what is held: a large frame's payload
                // arrives in reads of its own, and pieces are taken between them.
                self.arena.reserve(chunk.len(), piece + 3 + chunk.len());
            }
            self.arena.extend_from_slice(chunk);
            if let Some(key) = frame.header.mask {
                apply_mask(&mut self.arena[start..], key, offset);
            }
            if message.text {
                // Fail fast: invalid UTF-8 is reported at the first bad byte (RFC 6455 §8.1).
                message.utf8.feed(&self.arena[start..])?;
            }
            return Ok(chunk.len());
        };
        let start = target.len();
        target.extend_from_slice(chunk);
        if let Some(key) = frame.header.mask {
            apply_mask(&mut target[start..], key, offset);
        }
        Ok(chunk.len())
    }

    /// Inflates compressed payload bytes onto the message, within the message limit and,
    /// when streaming, about a piece at a time.
    #[cfg(feature = "deflate")]
    fn compressed_payload(&mut self, chunk: &[u8]) -> Result<usize, ProtocolError> {
        let frame = self.frame.as_ref().expect("a frame is being read");
        let (mask, offset) = (frame.header.mask, frame.read as usize);
        let compressed = &mut self.inflating_mut().compressed;
        compressed.clear();
        compressed.extend_from_slice(chunk);
        if let Some(key) = mask {
            apply_mask(compressed, key, offset);
        }
        let taken = self.inflate_held()?;
        self.frame.as_mut().expect("a frame is being read").read += taken as u64;
        Ok(taken)
    }

    /// The receiving side of deflate, which RSV1 (allowed only once negotiated) needs.
    #[cfg(feature = "deflate")]
    fn inflating_mut(&mut self) -> &mut Inflating {
        self.inflating
            .as_deref_mut()
            .expect("RSV1 is allowed only with deflate")
    }

    /// Inflates the held compressed bytes onto the arena; returns the input bytes taken.
    #[cfg(feature = "deflate")]
    fn inflate_held(&mut self) -> Result<usize, ProtocolError> {
        let message = self.message.as_mut().expect("a data frame has a message");
        let Inflating {
            inflater,
            compressed,
        } = self
            .inflating
            .as_deref_mut()
            .expect("RSV1 is allowed only with deflate");
        let max = self.max_message as u64;
        let hard_limit = max.saturating_sub(message.total) as usize;
        // Streaming: stop once a piece (and a cut character) is held, so a piece is taken.
        let soft_limit = self.piece_size.map_or(usize::MAX, |piece| {
            (piece + 3).saturating_sub(self.arena.len())
        });
        let start = self.arena.len();
        let taken = inflater
            .inflate(&compressed[..], &mut self.arena, soft_limit, hard_limit)
            .map_err(|error| match error {
                InflateError::Corrupt => ProtocolError::InvalidCompressedData,
                InflateError::TooLarge => ProtocolError::MessageTooBig { max },
            })?;
        message.total += (self.arena.len() - start) as u64;
        if message.text {
            message.utf8.feed(&self.arena[start..])?;
        }
        Ok(taken)
    }

    /// The end of a compressed message: inflate the sync-flush tail (RFC 7692 §7.2.2).
    #[cfg(feature = "deflate")]
    fn finish_compressed(&mut self) -> Result<(), ProtocolError> {
        let compressed = &mut self.inflating_mut().compressed;
        compressed.clear();
        compressed.extend_from_slice(&TAIL);
        let saved = self.piece_size.take(); // the tail's output belongs to the last piece
        let result = self.inflate_held();
        self.piece_size = saved;
        result?;
        self.inflating_mut().inflater.end_message();
        Ok(())
    }

    /// Streaming delivery: the held bytes of the message as a piece, once there are a
    /// piece's worth (text up to the last whole character).
    fn take_piece(&mut self) -> Option<Received> {
        let piece_size = self.piece_size?;
        let message = self.message.as_mut()?;
        let ready = self.arena.len()
            - if message.text {
                message.utf8.incomplete_len()
            } else {
                0
            };
        if ready < piece_size
            || self
                .frame
                .as_ref()
                .is_some_and(|f| f.header.opcode.is_control())
        {
            return None;
        }
        message.streamed = true;
        let bytes = self.arena.take_front(ready);
        Some(Received::Fragment {
            piece: match message.text {
                true => Message::Text(Text::from_checked(bytes)),
                false => Message::Binary(bytes),
            },
            last: false,
        })
    }

    fn finish_frame(&mut self) -> Result<Option<Received>, ProtocolError> {
        let frame = self.frame.take().expect("a frame was being read");
        match frame.header.opcode {
            Opcode::Ping => Ok(Some(Received::Ping(frame.control.into()))),
            Opcode::Pong => Ok(Some(Received::Pong(frame.control.into()))),
            Opcode::Close => {
                let close = ClosePayload::parse(&frame.control)?;
                Ok(Some(Received::Close {
                    code: close.map(|c| c.code()),
                    reason: close.map(|c| String::from(c.reason())).unwrap_or_default(),
                }))
            }
            _ if !frame.header.fin => Ok(None),
            _ => {
                #[cfg(feature = "deflate")]
                if self.message.as_ref().is_some_and(|m| m.compressed) {
                    self.finish_compressed()?;
                }
                let mut message = self.message.take().expect("a data frame has a message");
                if message.text {
                    message.utf8.finish()?;
                }
                let payload = self.arena.take();
                let whole = match message.text {
                    true => Message::Text(Text::from_checked(payload)),
                    false => Message::Binary(payload),
                };
                Ok(Some(match message.streamed {
                    true => Received::Fragment {
                        piece: whole,
                        last: true,
                    },
                    false => Received::Message(whole),
                }))
            }
        }
    }
}
