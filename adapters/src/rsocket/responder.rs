//! The responder side: a handler with one method per interaction, like rsocket-kotlin's
//! `RSocketRequestHandler`. Both ends may respond, so both take one.

use std::future::Future;
use std::pin::Pin;

use bytes::Bytes;
use futures_core::Stream;
use wirestate_core::rsocket::Payload;

use super::{PayloadStream, ResponderError};

/// A boxed future, as handlers return them.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// A boxed stream of items, as handlers return them.
pub type BoxStream<T> = Pin<Box<dyn Stream<Item = T> + Send + 'static>>;

/// Answers the peer's requests. Every method has a default that refuses the interaction
/// (REJECTED), so a handler implements only what it serves.
pub trait Responder: Send + Sync + 'static {
    /// A fire-and-forget request.
    fn fire_and_forget(&self, payload: Payload) -> BoxFuture<()> {
        let _ = payload;
        Box::pin(async {})
    }

    /// A request-response: one payload back, or an error.
    fn request_response(&self, payload: Payload) -> BoxFuture<Result<Payload, ResponderError>> {
        let _ = payload;
        Box::pin(async { Err(ResponderError::unsupported("request-response")) })
    }

    /// A request-stream: items until the stream ends. Items are sent as the requester's
    /// credit allows; the stream is polled only while there is room.
    fn request_stream(&self, payload: Payload) -> BoxStream<Result<Payload, ResponderError>> {
        let _ = payload;
        Box::pin(single(Err(ResponderError::unsupported("request-stream"))))
    }

    /// A request-channel: the requester's first item and the rest of its items, in; items
    /// out.
    fn request_channel(
        &self,
        first: Payload,
        inbound: PayloadStream,
    ) -> BoxStream<Result<Payload, ResponderError>> {
        let _ = (first, inbound);
        Box::pin(single(Err(ResponderError::unsupported("request-channel"))))
    }

    /// Connection metadata from the peer.
    fn metadata_push(&self, metadata: Bytes) {
        let _ = metadata;
    }
}

/// The responder that refuses everything: for a requester-only end.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoResponder;

impl Responder for NoResponder {}

/// A stream of one item.
fn single<T: Send + Unpin + 'static>(item: T) -> impl Stream<Item = T> + Send + 'static {
    struct Once<T>(Option<T>);
    impl<T: Unpin> Stream for Once<T> {
        type Item = T;
        fn poll_next(
            mut self: Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<T>> {
            std::task::Poll::Ready(self.0.take())
        }
    }
    Once(Some(item))
}
