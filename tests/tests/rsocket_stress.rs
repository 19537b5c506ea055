//! RSocket under concurrency: many request-responses at once while the connection closes
//! (from either end), on tokio's multi-threaded runtime. Every request must end, with its
//! answer or an error, within a bounded time: the relay (which routes responses under the
//! connection's lock) and the requesters (which open streams under it) must never
//! deadlock on the routes' lock.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use wirestate::core::rsocket::Payload;
use wirestate::core::rsocket::conn::Config;
use wirestate::rsocket::{self, BoxFuture, NoResponder, RSocket, Responder, ResponderError};
use wirestate_tests::LIMIT;

/// Echoes, answering every other request later (from a task of its own) rather than at
/// once, so that both ways of answering race the close.
#[derive(Default)]
struct Echo(AtomicUsize);

impl Responder for Echo {
    fn request_response(&self, payload: Payload) -> BoxFuture<Result<Payload, ResponderError>> {
        let later = self.0.fetch_add(1, Ordering::Relaxed) % 2 == 1;
        Box::pin(async move {
            if later {
                tokio::task::yield_now().await;
            }
            Ok(payload)
        })
    }
}

/// A client and the server's RSocket of the same connection.
async fn pair() -> (RSocket, RSocket) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        rsocket::tokio::accept(stream, Config::default(), Echo::default())
    });
    let client = rsocket::tokio::connect(addr, Config::default(), NoResponder)
        .await
        .unwrap();
    (client, server.await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_requests_while_the_connection_closes_all_end() {
    tokio::time::timeout(LIMIT, async {
        for round in 0..8 {
            let (client, server) = pair().await;
            let answered = Arc::new(AtomicUsize::new(0));
            let tasks: Vec<_> = (0..64)
                .map(|_| {
                    let client = client.clone();
                    let answered = Arc::clone(&answered);
                    tokio::spawn(async move {
                        for _ in 0..10_000 {
                            match client.request_response(Payload::data("x")).await {
                                Ok(answer) => {
                                    assert_eq!(answer.data, "x");
                                    answered.fetch_add(1, Ordering::Relaxed);
                                }
                                Err(_) => return, // the connection is over
                            }
                        }
                    })
                })
                .collect();
            tokio::time::sleep(Duration::from_millis(20 + 5 * round)).await;
            match round % 2 {
                0 => client.close().unwrap(),
                _ => server.close().unwrap(),
            }
            for task in tasks {
                task.await.unwrap();
            }
            assert!(answered.load(Ordering::Relaxed) > 0, "round {round}");
            assert!(
                client
                    .request_response(Payload::data("late"))
                    .await
                    .is_err()
            );
        }
    })
    .await
    .expect("every request ended within the limit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_concurrent_requests_are_all_answered() {
    tokio::time::timeout(LIMIT, async {
        let (client, _server) = pair().await;
        let tasks: Vec<_> = (0..64)
            .map(|task| {
                let client = client.clone();
                tokio::spawn(async move {
                    for i in 0..200 {
                        let data = format!("{task}-{i}");
                        let answer = client
                            .request_response(Payload::data(data.clone()))
                            .await
                            .unwrap();
                        assert_eq!(answer.data, data.as_str());
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
    })
    .await
    .expect("within the limit");
}
