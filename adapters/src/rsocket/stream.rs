//! [`PayloadStream`]: one stream's inbound items, read from its slot in the routes.

use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;
use wirestate_core::rsocket::conn::{Command, StreamId};
use wirestate_core::rsocket::{MAX_REQUEST_N, Payload};

use super::{Error, RSocket};

/// Items of one stream, as they arrive: a [`Stream`] of `Result<Payload, Error>` that ends
/// after the peer completes it and yields one `Err` if it fails. As a requester's stream,
/// reading it grants the peer more credit (half a window at a time); dropping it before
/// the end cancels the stream.
pub struct PayloadStream {
    socket: RSocket,
    stream: StreamId,
    /// The credit window this side grants, if it grants (requester streams, and a
    /// channel responder's inbound side); `None` for a response, which needs no credit.
    window: Option<u32>,
    /// We requested the stream: dropping it early cancels it.
    requester: bool,
    /// Grant this many more once this many were read.
    pub(super) refill: u32,
    consumed: u32,
    ended: bool,
}

impl std::fmt::Debug for PayloadStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PayloadStream")
            .field("stream", &self.stream)
            .finish_non_exhaustive()
    }
}

impl PayloadStream {
    /// Reads `stream`'s slot, which must be open already.
    pub(super) fn new(
        socket: RSocket,
        stream: StreamId,
        window: Option<u32>,
        requester: bool,
    ) -> PayloadStream {
        PayloadStream {
            socket,
            stream,
            window,
            requester,
            refill: window.map_or(1, |w| (w / 2).max(1)),
            consumed: 0,
            ended: false,
        }
    }

    /// The stream id.
    pub fn id(&self) -> StreamId {
        self.stream
    }
}

impl Stream for PayloadStream {
    type Item = Result<Payload, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.ended {
            return Poll::Ready(None);
        }
        let stream = self.stream;
        // The routes' lock is let go before any command takes the connection's.
        let polled = self.socket.routes().poll(stream, cx);
        match &polled {
            Poll::Ready(Some(Ok(_))) => {
                // A response ends with its one item: nothing to cancel when it goes.
                self.ended |= self.window.is_none();
                if self.window.is_some_and(|w| w < MAX_REQUEST_N) {
                    self.consumed += 1;
                    if self.consumed >= self.refill {
                        let n = std::mem::take(&mut self.consumed);
                        let _ = self.socket.command(Command::RequestN { stream, n });
                    }
                }
            }
            Poll::Ready(_) => self.ended = true,
            Poll::Pending => {}
        }
        polled
    }
}

impl Drop for PayloadStream {
    fn drop(&mut self) {
        self.socket.routes().forget(self.stream);
        if !self.ended && self.requester {
            let _ = self.socket.command(Command::Cancel {
                stream: self.stream,
            });
        }
    }
}
