//! Reading frames: headers in any chunking, unmasking, reassembly of fragmented messages,
//! fail-fast UTF-8 for text, and the message size limit.

use alloc::string::String;
use alloc::vec::Vec;
use bytes::Bytes;

use super::arena::Arena;
use super::close::{CloseCode, ClosePayload};
use super::decode::{HeaderDecoder, HeaderStatus};
use super::error::ProtocolError;
use super::event::Message;
use super::frame::FrameHeader;
use super::mask::apply_mask;
use super::opcode::Opcode;
use super::rules::FrameRules;
use super::text::Text;
use super::utf8::Utf8Validator;

/// A complete unit the connection acts on.
#[derive(Debug)]
pub(crate) enum Received {
    Message(Message),
    Ping(Bytes),
    Pong(Bytes),
    Close {
        code: Option<CloseCode>,
        reason: String,
    },
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
}

impl Receiver {
    pub(crate) fn new(rules: FrameRules, max_message: usize) -> Self {
        Receiver {
            decoder: HeaderDecoder::new(rules),
            frame: None,
            message: None,
            arena: Arena::default(),
            max_message,
        }
    }

    /// Reads from `data` until one unit is complete or `data` is used up. Returns the bytes
    /// consumed and the unit, if one completed; call again with the rest.
    pub(crate) fn read(&mut self, data: &[u8]) -> Result<(usize, Option<Received>), ProtocolError> {
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
            let n =
                usize::try_from(remaining).map_or(data.len() - pos, |r| r.min(data.len() - pos));
            self.payload(&data[pos..pos + n])?;
            pos += n;
            let frame = self.frame.as_ref().expect("still reading a frame");
            if frame.read < frame.header.payload_len {
                return Ok((pos, None)); // the rest of the payload is still on its way
            }
            if let Some(unit) = self.finish_frame()? {
                return Ok((pos, Some(unit)));
            }
        }
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
                    });
                }
                (Some(_), _) => {}
            }
            let held = self.arena.len() as u64;
            if held + header.payload_len > self.max_message as u64 {
                return Err(ProtocolError::MessageTooBig {
                    max: self.max_message as u64,
                });
            }
            let room_to_limit = self.max_message - self.arena.len();
            self.arena
                .reserve(header.payload_len as usize, room_to_limit);
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

    fn payload(&mut self, chunk: &[u8]) -> Result<(), ProtocolError> {
        let frame = self.frame.as_mut().expect("a frame is being read");
        let offset = frame.read as usize;
        frame.read += chunk.len() as u64;
        let target = if frame.header.opcode.is_control() {
            &mut frame.control
        } else {
            let message = self.message.as_mut().expect("a data frame has a message");
            let start = self.arena.len();
            self.arena.extend_from_slice(chunk);
            if let Some(key) = frame.header.mask {
                apply_mask(&mut self.arena[start..], key, offset);
            }
            if message.text {
                // Fail fast: invalid UTF-8 is reported at the first bad byte (RFC 6455 §8.1).
                message.utf8.feed(&self.arena[start..])?;
            }
            return Ok(());
        };
        let start = target.len();
        target.extend_from_slice(chunk);
        if let Some(key) = frame.header.mask {
            apply_mask(&mut target[start..], key, offset);
        }
        Ok(())
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
                let mut message = self.message.take().expect("a data frame has a message");
                if message.text {
                    message.utf8.finish()?;
                }
                let payload = self.arena.take();
                Ok(Some(Received::Message(match message.text {
                    true => Message::Text(Text::from_checked(payload)),
                    false => Message::Binary(payload),
                })))
            }
        }
    }
}
