//! The responder of `rsocket_peer`'s server (DESIGN.md): request-response answers
//! `echo:` + data; request-stream sends `item-0` … `item-(N-1)` for a decimal N in the data
//! (empty: 5, at most 100000); request-channel answers each item with `echo:<data>`;
//! fire-and-forget and metadata push are counted.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use futures_lite::StreamExt;
use futures_lite::stream;
use wirestate::core::bytes::Bytes;
use wirestate::core::rsocket::Payload;
use wirestate::rsocket::{BoxFuture, BoxStream, PayloadStream, Responder, ResponderError};

/// The peer's responder, with counters the tests read.
#[derive(Debug, Default, Clone)]
pub struct PeerResponder {
    /// Fire-and-forget requests seen.
    pub fire_and_forget: Arc<AtomicUsize>,
    /// Metadata pushes seen.
    pub metadata_push: Arc<AtomicUsize>,
    /// Print a line for fire-and-forget and metadata push (the example server does).
    pub verbose: bool,
}

impl PeerResponder {
    /// A responder that prints a line per fire-and-forget and metadata push.
    pub fn verbose() -> PeerResponder {
        PeerResponder {
            verbose: true,
            ..PeerResponder::default()
        }
    }
}

fn echo(payload: &Payload) -> Payload {
    let mut data = b"echo:".to_vec();
    data.extend_from_slice(&payload.data);
    Payload::data(data)
}

impl Responder for PeerResponder {
    fn fire_and_forget(&self, payload: Payload) -> BoxFuture<()> {
        self.fire_and_forget.fetch_add(1, Ordering::SeqCst);
        if self.verbose {
            println!("fire_and_forget {}", String::from_utf8_lossy(&payload.data));
        }
        Box::pin(async {})
    }

    fn request_response(&self, payload: Payload) -> BoxFuture<Result<Payload, ResponderError>> {
        Box::pin(async move { Ok(echo(&payload)) })
    }

    fn request_stream(&self, payload: Payload) -> BoxStream<Result<Payload, ResponderError>> {
        let text = String::from_utf8_lossy(&payload.data).trim().to_string();
        let n: usize = if text.is_empty() {
            5
        } else {
            text.parse().unwrap_or(0).min(100_000)
        };
        Box::pin(stream::iter(
            (0..n).map(|i| Ok(Payload::data(format!("item-{i}")))),
        ))
    }

    fn request_channel(
        &self,
        first: Payload,
        inbound: PayloadStream,
    ) -> BoxStream<Result<Payload, ResponderError>> {
        let rest = inbound.map(|item| {
            item.map(|payload| echo(&payload))
                .map_err(|error| ResponderError::application(error.to_string()))
        });
        Box::pin(stream::once(Ok(echo(&first))).chain(rest))
    }

    fn metadata_push(&self, metadata: Bytes) {
        self.metadata_push.fetch_add(1, Ordering::SeqCst);
        if self.verbose {
            println!("metadata_push {}", String::from_utf8_lossy(&metadata));
        }
    }
}
