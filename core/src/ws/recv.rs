//! Reading frames: headers in any chunking, unmasking, reassembly of fragmented messages,
//! fail-fast UTF-8 for text, and the message size limit.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use bytes::{Bytes, BytesMut};

use super::arena::Arena;
use super::close::{CloseCode, ClosePayload};
use super::config::Config;
use super::decode::{HeaderDecoder, HeaderStatus, parse_header};
#[cfg(feature = "deflate")]
use super::deflate::{InflateError, Inflater, TAIL};
use super::error::ProtocolError;
use super::event::Message;
use super::frame::FrameHeader;
use super::mask::{apply_mask, extend_unmasked, unmask_is_ascii};
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

    /// Appends the frame's `payload`, unmasked, to `dst` and checks it as
    /// [`unmask_and_check`](Self::unmask_and_check) does.
    pub(crate) fn copy_and_check(&self, dst: &mut BytesMut, payload: &[u8]) -> bool {
        let start = dst.len();
        extend_unmasked(dst, payload, self.mask, 0);
        !self.text || core::str::from_utf8(&dst[start..]).is_ok()
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

/// Turns received bytes into messages and control frames. The limits come from the
/// connection's [`Config`] on each call rather than being copied here.
#[derive(Debug)]
pub(crate) struct Receiver {
    rules: FrameRules,
    /// Payload of the message being reassembled; complete messages are split off.
    arena: Arena,
    /// What spans reads: a cut header, a frame in progress, a message in fragments. Boxed
    /// the first time a frame does not arrive whole, then kept for reuse: a connection whose
    /// frames each arrive whole in one read never allocates it.
    progress: Option<Box<Progress>>,
    /// permessage-deflate, once negotiated: inflates messages sent with RSV1 (boxed: most
    /// connections never compress).
    #[cfg(feature = "deflate")]
    inflating: Option<Box<Inflating>>,
}

/// The receiving state that spans reads.
#[derive(Debug)]
struct Progress {
    decoder: HeaderDecoder,
    frame: Option<Frame>,
    message: Option<Partial>,
}

impl Progress {
    /// At a frame boundary with no message in progress.
    fn is_idle(&self) -> bool {
        self.frame.is_none() && self.message.is_none() && self.decoder.buffered() == 0
    }
}

/// Streaming delivery's piece size (see [`Config::piece_size`]), at least one byte.
fn piece_size(config: &Config) -> Option<usize> {
    config.piece_size.map(|size| size.max(1))
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
    pub(crate) fn new(rules: FrameRules) -> Self {
        Receiver {
            rules,
            arena: Arena::default(),
            progress: None,
            #[cfg(feature = "deflate")]
            inflating: None,
        }
    }

    /// Nothing is in progress: the next byte starts a frame of a new message.
    fn is_idle(&self) -> bool {
        self.progress.as_deref().is_none_or(Progress::is_idle)
    }

    /// The state that spans reads, which the general path needs.
    /// Whether the message being received is compressed (permessage-deflate).
    #[cfg(feature = "deflate")]
    fn in_compressed_message(&self) -> bool {
        self.progress
            .as_ref()
            .and_then(|progress| progress.message.as_ref())
            .is_some_and(|message| message.compressed)
    }

    fn progress(&mut self) -> &mut Progress {
        let rules = self.rules;
        self.progress.get_or_insert_with(|| {
            Box::new(Progress {
                decoder: HeaderDecoder::new(rules),
                frame: None,
                message: None,
            })
        })
    }

    /// Heap bytes of receiving state beyond this struct (buffers excluded).
    #[cfg(test)]
    pub(crate) fn boxed_state(&self) -> usize {
        let progress = self.progress.as_ref().map_or(0, |_| size_of::<Progress>());
        #[cfg(feature = "deflate")]
        let progress = progress
            + self
                .inflating
                .as_ref()
                .map_or(0, |_| size_of::<Inflating>());
        progress
    }

    /// permessage-deflate was negotiated: RSV1 marks compressed messages from now on.
    #[cfg(feature = "deflate")]
    pub(crate) fn enable_inflate(&mut self, inflater: Inflater) {
        self.rules = self.rules.with_allowed_rsv(super::rules::RsvBits::RSV1);
        if let Some(progress) = &mut self.progress {
            progress.decoder.set_rules(self.rules);
        }
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
    pub(crate) fn read(
        &mut self,
        data: &[u8],
        config: &Config,
    ) -> Result<(usize, Option<Received>), ProtocolError> {
        if let Some((consumed, message)) = self.whole_message(data, config)? {
            return Ok((consumed, Some(Received::Message(message))));
        }
        if let Some((consumed, unit)) = self.whole_control(data)? {
            return Ok((consumed, Some(unit)));
        }
        let piece_size = piece_size(config);
        let mut pos = 0;
        loop {
            let progress = self.progress();
            if progress.frame.is_none() {
                if pos == data.len() {
                    return Ok((pos, None));
                }
                match progress.decoder.decode(&data[pos..])? {
                    HeaderStatus::Partial => return Ok((data.len(), None)),
                    HeaderStatus::Complete { header, consumed } => {
                        pos += consumed;
                        self.start_frame(header, config)?;
                    }
                }
            }
            let Some(frame) = &self.progress().frame else {
                continue;
            };
            let remaining = frame.header.payload_len - frame.read;
            let mut n =
                usize::try_from(remaining).map_or(data.len() - pos, |r| r.min(data.len() - pos));
            if let Some(piece) = piece_size.filter(|_| !frame.header.opcode.is_control()) {
                n = n.min(piece); // hold about a piece at a time, however large the input
            }
            pos += self.payload(&data[pos..pos + n], config)?;
            let frame = self
                .progress()
                .frame
                .as_ref()
                .expect("still reading a frame");
            let frame_done = frame.read == frame.header.payload_len;
            if !(frame_done && frame.header.fin) {
                if let Some(piece) = self.take_piece(config) {
                    return Ok((pos, Some(piece)));
                }
            }
            if !frame_done {
                if pos < data.len() {
                    continue; // more of this frame's payload is in `data`
                }
                return Ok((pos, None)); // the rest of the payload is still on its way
            }
            if let Some(unit) = self.finish_frame(config)? {
                return Ok((pos, Some(unit)));
            }
        }
    }

    /// A whole, final, uncompressed data frame at the start of `data`, when no frame or
    /// message is in progress: the fast paths turn it into a message in one step, without
    /// the per-frame and per-message bookkeeping. `Ok(None)` leaves `data` to the general
    /// path (which parses the header again); `Err` is a header that breaks the rules.
    #[inline]
    pub(crate) fn whole_frame(
        &self,
        data: &[u8],
        config: &Config,
    ) -> Result<Option<WholeFrame>, ProtocolError> {
        if !self.is_idle() {
            return Ok(None);
        }
        let Some((header, header_len)) = parse_header(data, &self.rules)? else {
            return Ok(None);
        };
        let available = (data.len() - header_len) as u64;
        let fits = header.payload_len <= available
            && header.payload_len <= config.max_message_size as u64
            && piece_size(config).is_none_or(|piece| header.payload_len <= piece as u64);
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
    pub(crate) fn whole_message(
        &mut self,
        data: &[u8],
        config: &Config,
    ) -> Result<Option<(usize, Message)>, ProtocolError> {
        let Some(frame) = self.whole_frame(data, config)? else {
            return Ok(None);
        };
        let payload = &data[frame.start..frame.end];
        self.reserve_for(payload.len() as u64, config);
        if !frame.copy_and_check(&mut self.arena, payload) {
            return Err(ProtocolError::InvalidUtf8);
        }
        let payload = self.arena.take();
        let message = match frame.text {
            true => Message::Text(Text::from_checked(payload)),
            false => Message::Binary(payload),
        };
        Ok(Some((frame.end, message)))
    }

    /// A whole control frame at the start of `data` with nothing in progress: answered
    /// without the general path's state, so that a peer's pings do not make it allocate.
    fn whole_control(&mut self, data: &[u8]) -> Result<Option<(usize, Received)>, ProtocolError> {
        // Control opcodes (0x8 to 0xF) are the ones with bit 3 set.
        if data.first().is_none_or(|first| first & 0x08 == 0) || !self.is_idle() {
            return Ok(None);
        }
        let Some((header, start)) = parse_header(data, &self.rules)? else {
            return Ok(None);
        };
        let end = start + header.payload_len as usize; // at most 125: the rules checked it
        if data.len() < end {
            return Ok(None);
        }
        if header.rsv1 {
            // RFC 7692 §6.1: control frames are never compressed.
            return Err(ProtocolError::ReservedBits(super::rules::RsvBits::RSV1));
        }
        let mut payload = data[start..end].to_vec();
        if let Some(key) = header.mask {
            apply_mask(&mut payload, key, 0);
        }
        Ok(Some((end, control_unit(header.opcode, payload)?)))
    }

    /// Makes room in the arena for a data frame's payload of `len` bytes: all of it, or
    /// about a piece's worth when streaming (which holds a piece and a cut character).
    fn reserve_for(&mut self, len: u64, config: &Config) {
        let held_limit = piece_size(config).map_or(config.max_message_size, |piece| piece + 3);
        let need = usize::try_from(len).map_or(held_limit, |len| len.min(held_limit));
        let room = held_limit.saturating_sub(self.arena.len()).max(need);
        self.arena.reserve(need, room);
    }

    fn start_frame(&mut self, header: FrameHeader, config: &Config) -> Result<(), ProtocolError> {
        let max_message = config.max_message_size as u64;
        let progress = self.progress();
        if !header.opcode.is_control() {
            match (&progress.message, header.opcode) {
                (None, Opcode::Continuation) => return Err(ProtocolError::UnexpectedContinuation),
                (Some(_), Opcode::Text | Opcode::Binary) => {
                    return Err(ProtocolError::ExpectedContinuation(header.opcode));
                }
                (None, opcode) => {
                    progress.message = Some(Partial {
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
            if progress.message.as_ref().is_some_and(|m| m.compressed) {
                // The limit applies to the inflated bytes, checked as they come out.
                progress.frame = Some(Frame {
                    header,
                    read: 0,
                    control: Vec::new(),
                });
                return Ok(());
            }
            let total = progress.message.as_ref().map_or(0, |m| m.total);
            if total + header.payload_len > max_message {
                return Err(ProtocolError::MessageTooBig { max: max_message });
            }
            self.reserve_for(header.payload_len, config);
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
        self.progress().frame = Some(Frame {
            header,
            read: 0,
            control,
        });
        Ok(())
    }

    /// Takes payload bytes of the current frame; returns how many it took (fewer than
    /// `chunk` only when inflating stopped at a piece's worth of output).
    fn payload(&mut self, chunk: &[u8], config: &Config) -> Result<usize, ProtocolError> {
        #[cfg(feature = "deflate")]
        if self.in_compressed_message()
            && self
                .progress()
                .frame
                .as_ref()
                .is_some_and(|f| !f.header.opcode.is_control())
        {
            return self.compressed_payload(chunk, config);
        }
        let Progress { frame, message, .. } = self.progress.as_deref_mut().expect("in progress");
        let frame = frame.as_mut().expect("a frame is being read");
        let offset = frame.read as usize;
        frame.read += chunk.len() as u64;
        let target = if frame.header.opcode.is_control() {
            &mut frame.control
        } else {
            let message = message.as_mut().expect("a data frame has a message");
            message.total += chunk.len() as u64;
            let start = self.arena.len();
            if let Some(piece) = piece_size(config) {
                // Never more than a piece past what is held: a large frame's payload
                // arrives in reads of its own, and pieces are taken between them.
                self.arena.reserve(chunk.len(), piece + 3 + chunk.len());
            }
            extend_unmasked(&mut self.arena, chunk, frame.header.mask, offset);
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
    fn compressed_payload(
        &mut self,
        chunk: &[u8],
        config: &Config,
    ) -> Result<usize, ProtocolError> {
        let frame = self
            .progress()
            .frame
            .as_ref()
            .expect("a frame is being read");
        let (mask, offset) = (frame.header.mask, frame.read as usize);
        let compressed = &mut self.inflating_mut().compressed;
        compressed.clear();
        compressed.extend_from_slice(chunk);
        if let Some(key) = mask {
            apply_mask(compressed, key, offset);
        }
        let taken = self.inflate_held(config.max_message_size, piece_size(config))?;
        self.progress()
            .frame
            .as_mut()
            .expect("a frame is being read")
            .read += taken as u64;
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
    /// Streaming (`piece_size`) stops once a piece (and a cut character) is held.
    #[cfg(feature = "deflate")]
    fn inflate_held(
        &mut self,
        max_message: usize,
        piece_size: Option<usize>,
    ) -> Result<usize, ProtocolError> {
        let progress = self.progress.as_deref_mut().expect("in progress");
        let message = progress
            .message
            .as_mut()
            .expect("a data frame has a message");
        let Inflating {
            inflater,
            compressed,
        } = self
            .inflating
            .as_deref_mut()
            .expect("RSV1 is allowed only with deflate");
        let max = max_message as u64;
        let hard_limit = max.saturating_sub(message.total) as usize;
        let soft_limit = piece_size.map_or(usize::MAX, |piece| {
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
    fn finish_compressed(&mut self, config: &Config) -> Result<(), ProtocolError> {
        let compressed = &mut self.inflating_mut().compressed;
        compressed.clear();
        compressed.extend_from_slice(&TAIL);
        // No piece limit: the tail's output belongs to the last piece.
        self.inflate_held(config.max_message_size, None)?;
        self.inflating_mut().inflater.end_message();
        Ok(())
    }

    /// Streaming delivery: the held bytes of the message as a piece, once there are a
    /// piece's worth (text up to the last whole character).
    fn take_piece(&mut self, config: &Config) -> Option<Received> {
        let piece_size = piece_size(config)?;
        let progress = self.progress.as_deref_mut()?;
        let message = progress.message.as_mut()?;
        let ready = self.arena.len()
            - if message.text {
                message.utf8.incomplete_len()
            } else {
                0
            };
        if ready < piece_size
            || progress
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

    #[cfg_attr(not(feature = "deflate"), allow(unused_variables))]
    fn finish_frame(&mut self, config: &Config) -> Result<Option<Received>, ProtocolError> {
        let frame = self
            .progress()
            .frame
            .take()
            .expect("a frame was being read");
        if frame.header.opcode.is_control() {
            return control_unit(frame.header.opcode, frame.control).map(Some);
        }
        if !frame.header.fin {
            return Ok(None);
        }
        #[cfg(feature = "deflate")]
        if self.in_compressed_message() {
            self.finish_compressed(config)?;
        }
        let mut message = self
            .progress()
            .message
            .take()
            .expect("a data frame has a message");
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

/// A whole control frame's unmasked payload as the unit it is.
fn control_unit(opcode: Opcode, payload: Vec<u8>) -> Result<Received, ProtocolError> {
    Ok(match opcode {
        Opcode::Ping => Received::Ping(payload.into()),
        Opcode::Pong => Received::Pong(payload.into()),
        _ => {
            let close = ClosePayload::parse(&payload)?;
            Received::Close {
                code: close.map(|c| c.code()),
                reason: close.map(|c| String::from(c.reason())).unwrap_or_default(),
            }
        }
    })
}
