//! WebSocket (RFC 6455) building blocks: pure framing pieces with no state beyond what the
//! format needs. The connection machine is built on top of them.
//!
//! | RFC 6455 | what | where |
//! |---|---|---|
//! | §5.1, §5.3 | masking rules by role | [`FrameRules`], [`Role`] |
//! | §5.2 | header layout, opcodes, RSV bits, length forms | [`FrameHeader`], [`Opcode`], [`RsvBits`] |
//! | §5.2 | decoding a header from any chunking | [`parse_header`], [`HeaderDecoder`] |
//! | §5.3 | masking and unmasking payloads | [`apply_mask`] |
//! | §5.5 | control frames: ≤ 125 bytes, never fragmented | [`FrameRules`] |
//! | §5.5.1, §7.4 | close payload and status codes | [`ClosePayload`], [`CloseCode`] |
//! | §8.1 | fail-fast UTF-8 of text messages | [`Utf8Validator`] |
//! | §7.4.1 | which close code answers which fault | [`ProtocolError::close_code`] |
//!
//! Receiving a frame, in pieces:
//!
//! ```
//! use wirestate_core::ws::{
//!     apply_mask, FrameRules, HeaderDecoder, HeaderStatus, Opcode, Role, Utf8Validator,
//! };
//!
//! // RFC 6455 §5.7: a masked text frame "Hello" from a client, arriving in two reads.
//! let mut wire = vec![0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58];
//! let (first, second) = wire.split_at_mut(4);
//!
//! let mut decoder = HeaderDecoder::new(FrameRules::new(Role::Server));
//! assert_eq!(decoder.decode(first)?, HeaderStatus::Partial);
//! let HeaderStatus::Complete { header, consumed } = decoder.decode(second)? else {
//!     unreachable!("the header is complete");
//! };
//! assert_eq!((header.opcode, header.fin, header.payload_len), (Opcode::Text, true, 5));
//!
//! let payload = &mut second[consumed..];
//! apply_mask(payload, header.mask.unwrap_or_default(), 0);
//! let mut utf8 = Utf8Validator::new();
//! utf8.feed(payload)?;
//! utf8.finish()?;
//! assert_eq!(payload, b"Hello");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

// The per-frame hot paths (`parse_header`, `HeaderDecoder::decode`, `apply_mask`,
// `FrameHeader::encode`, `Utf8Validator::feed`) are `#[inline]`: adapters and benchmarks
// call them from other crates, and inlining them there cut a 20-byte frame's
// decode + unmask + UTF-8 check from about 27 ns to 17 ns.
mod arena;
mod close;
mod config;
mod conn;
mod decode;
#[cfg(feature = "deflate")]
pub mod deflate;
mod error;
mod event;
mod frame;
mod mask;
mod opcode;
mod outgoing;
mod recv;
mod rules;
mod send;
mod text;
mod utf8;

pub use close::{CloseBuildError, CloseCode, ClosePayload, MAX_CLOSE_REASON_LEN};
pub use config::{Config, DEFAULT_MAX_MESSAGE_SIZE};
pub use conn::{Connection, InPlace, MessageRef, Owned};
pub use decode::{HeaderDecoder, HeaderStatus, parse_header};
pub use error::ProtocolError;
pub use event::{CloseReason, Command, Event, Message, TimeoutKind, UsageError};
pub use frame::{FrameHeader, MAX_CONTROL_PAYLOAD_LEN, MAX_HEADER_LEN};
pub use mask::apply_mask;
pub use opcode::Opcode;
pub use rules::{DEFAULT_MAX_PAYLOAD_LEN, FrameRules, Role, RsvBits};
pub use text::{Text, TextRef};
pub use utf8::{Utf8Error, Utf8Validator};

#[cfg(test)]
mod tests;
