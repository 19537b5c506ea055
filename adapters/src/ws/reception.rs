//! [`Reception`]: what a receiving side makes of the machine's events, written once for the
//! read half of a [`WebSocket`](super::WebSocket) and for an
//! [`InlineWebSocket`](super::InlineWebSocket).

use wirestate_core::ws::{CloseCode, CloseReason, Event, Message};

use super::Error;
use super::error::Ending;

/// Where a received piece sits in its message (see
/// [`ReadHalf::recv_piece`](super::ReadHalf::recv_piece)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Piece {
    /// A whole message.
    Whole,
    /// The first piece of a message delivered in pieces.
    First,
    /// A piece between the first and the last.
    Middle,
    /// The piece that ends the message.
    Last,
}

/// A receive's outcome: a message or piece, `None` at a clean end, or an error.
pub(crate) type Received = Result<Option<(Message, Piece)>, Error>;

/// The receiving side's state between events.
#[derive(Debug)]
pub(crate) struct Reception {
    subprotocol: Option<String>,
    peer_close: Option<(Option<CloseCode>, String)>,
    /// The connection's end was reported; every later receive is `Ok(None)`.
    ended: bool,
    /// Pieces of a message are being delivered.
    in_pieces: bool,
    /// A piece `recv` met, kept for the next `recv_piece`.
    stashed: Option<(Message, Piece)>,
}

impl Reception {
    pub(crate) fn new(subprotocol: Option<String>) -> Reception {
        Reception {
            subprotocol,
            peer_close: None,
            ended: false,
            in_pieces: false,
            stashed: None,
        }
    }

    /// What a receive returns before looking at events: a stashed piece, or the end once
    /// it was reported.
    pub(crate) fn before_events(&mut self) -> Option<Received> {
        if let Some(piece) = self.stashed.take() {
            return Some(Ok(Some(piece)));
        }
        self.ended.then_some(Ok(None))
    }

    /// Takes `event` (or `None`: the driver stopped and no event is left); returns what
    /// the receive returns, or `None` to look at the next event. `ending` explains an end.
    pub(crate) fn on_event(
        &mut self,
        event: Option<Event>,
        ending: impl FnOnce() -> Ending,
    ) -> Option<Received> {
        match event {
            Some(Event::Message(message)) => Some(Ok(Some((message, Piece::Whole)))),
            Some(Event::Fragment { piece, last }) => {
                let kind = match (last, std::mem::replace(&mut self.in_pieces, !last)) {
                    (false, false) => Piece::First,
                    (false, true) => Piece::Middle,
                    (true, _) => Piece::Last,
                };
                Some(Ok(Some((piece, kind))))
            }
            Some(Event::CloseReceived { code, reason }) => {
                self.peer_close = Some((code, reason));
                None
            }
            Some(Event::Closed(reason)) => {
                self.ended = true;
                Some(match reason {
                    CloseReason::Normal { .. } => Ok(None),
                    other => Err(Error::ended(ending(), other).unwrap_or_else(Error::Closed)),
                })
            }
            Some(_) => None, // pings, pongs: already answered
            None => {
                // The driver stopped before the machine reported an end.
                self.ended = true;
                Some(Err(Error::stopped(ending())))
            }
        }
    }

    /// A receive's outcome as a whole message: a piece is kept for the next `recv_piece`
    /// and reported as [`Error::PieceReceived`], so that nothing is lost.
    pub(crate) fn whole(&mut self, received: Received) -> Result<Option<Message>, Error> {
        match received {
            Ok(Some((message, Piece::Whole))) => Ok(Some(message)),
            Ok(Some(piece)) => {
                self.stashed = Some(piece);
                Err(Error::PieceReceived)
            }
            Ok(None) => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// The subprotocol both ends agreed on.
    pub(crate) fn subprotocol(&self) -> Option<&str> {
        self.subprotocol.as_deref()
    }

    /// The peer's close frame, once it arrived.
    pub(crate) fn peer_close(&self) -> Option<(Option<CloseCode>, &str)> {
        self.peer_close
            .as_ref()
            .map(|(code, reason)| (*code, reason.as_str()))
    }
}
