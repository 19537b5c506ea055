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
use wirestate::rsocket::{BoxFuture, BoxStream, PayloadStream, RSocket, Responder, ResponderError};

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

/// The checks of `rsocket_peer`'s client (DESIGN.md), against any client RSocket.
pub async fn peer_checks(client: &RSocket, responder: &PeerResponder) {
    let answer = client
        .request_response(Payload::with_metadata("hello", "meta"))
        .await
        .unwrap();
    assert_eq!(answer.data, Bytes::from_static(b"echo:hello"));

    let big = client
        .request_response(Payload::data(vec![b'x'; 100_000]))
        .await
        .unwrap();
    assert_eq!(big.data.len(), 100_005);

    client.fire_and_forget(Payload::data("fnf")).await.unwrap();

    let items: Vec<String> = client
        .request_stream(Payload::data("5"), 2)
        .await
        .unwrap()
        .map(|item| String::from_utf8(item.unwrap().data.to_vec()).unwrap())
        .collect()
        .await;
    assert_eq!(items, ["item-0", "item-1", "item-2", "item-3", "item-4"]);

    let outbound = stream::iter(["c0", "c1", "c2"].map(Payload::data));
    let echoes: Vec<Bytes> = client
        .request_channel(Payload::data("c-first"), outbound, 4)
        .await
        .unwrap()
        .map(|item| item.unwrap().data)
        .collect()
        .await;
    assert_eq!(echoes, ["echo:c-first", "echo:c0", "echo:c1", "echo:c2"]);

    client
        .metadata_push(Bytes::from_static(b"push"))
        .await
        .unwrap();
    let alive = client
        .request_response(Payload::data("still there"))
        .await
        .unwrap();
    assert_eq!(alive.data, Bytes::from_static(b"echo:still there"));
    assert_eq!(responder.fire_and_forget.load(Ordering::SeqCst), 1);
    assert_eq!(responder.metadata_push.load(Ordering::SeqCst), 1);
}
