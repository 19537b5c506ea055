//! Messages in and out without owning them: received in place in the caller's buffer,
//! sent from a borrowed payload. No copy into the connection, no allocation, no reference
//! count, for applications that own their read buffer and want the last nanoseconds.

use super::{Connection, Phase};
use crate::Machine;
use crate::time::Instant;
use crate::ws::error::ProtocolError;
use crate::ws::event::UsageError;
use crate::ws::opcode::Opcode;
use crate::ws::text::TextRef;

/// A whole message borrowed from the caller's buffer (see [`Connection::read_in_place`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageRef<'a> {
    /// A text message, checked to be UTF-8.
    Text(TextRef<'a>),
    /// A binary message.
    Binary(&'a [u8]),
}

/// What [`Connection::read_in_place`] did with its input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum InPlace<'a> {
    /// The input started with a whole message in one frame: here it is, unmasked in the
    /// caller's buffer. Its frame was the first `consumed` bytes; call again with the rest.
    Message {
        /// Bytes of the input the message's frame took.
        consumed: usize,
        /// The message, borrowed from the input.
        message: MessageRef<'a>,
    },
    /// The input went the general way, as through [`handle_input`](Machine::handle_input):
    /// this many bytes were taken, and whatever they completed is queued as events, which
    /// [`poll_event`](Machine::poll_event) drains.
    Fed(usize),
}

impl Connection {
    /// Receives in place: while the connection is open with no events queued and no frame
    /// in progress, a whole single-frame text or binary message at the start of `data` is
    /// unmasked and checked right in `data` and returned borrowed from it, without being
    /// copied, counted or queued. Anything else (control frames, fragments, compressed
    /// messages, a frame cut by the end of `data`, a peer's fault) goes through
    /// [`handle_input`](Machine::handle_input) as usual and comes back as
    /// [`InPlace::Fed`]: drain [`poll_event`](Machine::poll_event) before the next call,
    /// so that events keep their order.
    ///
    /// The returned payload is unmasked in `data`: do not feed those bytes again.
    ///
    /// ```
    /// use wirestate_core::http::{Accept, ClientRequest};
    /// use wirestate_core::ws::{Command, Config, Connection, InPlace, MessageRef};
    /// use wirestate_core::{Instant, Machine, Rng};
    ///
    /// let now = Instant::ZERO;
    /// let request = ClientRequest::new("example.com", "/");
    /// let mut client = Connection::client(Config::default(), Rng::from_u64(1), &request)?;
    /// let mut server = Connection::server(Config::default(), Rng::from_u64(2));
    /// // The upgrade, in memory.
    /// let head = client.poll_transmit().unwrap();
    /// server.handle_input(now, &head);
    /// server.poll_event(); // the upgrade request
    /// server.command(now, Command::Accept(Accept::new()))?;
    /// let response = server.poll_transmit().unwrap();
    /// client.handle_input(now, &response);
    /// server.poll_event(); // open
    ///
    /// client.send_text(now, "hello")?; // framed from the borrowed str
    /// let mut read_buf = client.poll_transmit().unwrap().to_vec();
    /// match server.read_in_place(now, &mut read_buf) {
    ///     InPlace::Message { consumed, message: MessageRef::Text(text) } => {
    ///         assert_eq!(text, "hello"); // borrowed from read_buf, unmasked there
    ///         assert_eq!(consumed, read_buf.len());
    ///     }
    ///     other => panic!("expected a text message, got {other:?}"),
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn read_in_place<'a>(&mut self, now: Instant, data: &'a mut [u8]) -> InPlace<'a> {
        let frame = match self.receives_whole() {
            true => self.receiver.whole_frame(data, &self.config).ok().flatten(),
            false => None,
        };
        let Some(frame) = frame else {
            return InPlace::Fed(self.handle_input(now, data));
        };
        self.last_now = now;
        self.touch(now);
        let valid = frame.unmask_and_check(&mut data[frame.start..frame.end]);
        let data: &'a [u8] = data;
        let payload = &data[frame.start..frame.end];
        let message = match (frame.text, valid) {
            (false, _) => MessageRef::Binary(payload),
            (true, true) => MessageRef::Text(TextRef::from_checked(payload)),
            (true, false) => {
                self.peer_fault(now, ProtocolError::InvalidUtf8);
                return InPlace::Fed(data.len()); // nothing after a bad frame matters
            }
        };
        // Handed to the application, which may answer it before a later fault is acted on.
        self.answering = true;
        InPlace::Message {
            consumed: frame.end,
            message,
        }
    }

    /// Whether a whole message at the start of the input may skip the event queue: the
    /// connection is open, with no events queued (they keep their order), no close received
    /// and no fault waiting, and it takes input.
    pub(super) fn receives_whole(&self) -> bool {
        matches!(self.phase, Phase::Open)
            && self.events.is_empty()
            && self.close_received().is_none()
            && !self.has_deferred_fault()
            && self.wants_read()
    }

    /// Sends a text message from a borrowed string: framed (and masked, for a client)
    /// straight into the transmit buffer, without an owned [`Message`](crate::ws::Message).
    pub fn send_text(&mut self, now: Instant, text: &str) -> Result<(), UsageError> {
        self.last_now = now;
        self.send_payload(Opcode::Text, text.as_bytes())
    }

    /// Sends a binary message from a borrowed slice (see [`send_text`](Connection::send_text)).
    pub fn send_binary(&mut self, now: Instant, payload: &[u8]) -> Result<(), UsageError> {
        self.last_now = now;
        self.send_payload(Opcode::Binary, payload)
    }
}
