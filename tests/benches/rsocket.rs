//! RSocket against rsocket_rust 0.7 (issue 5), in the same run over loopback TCP with
//! 64-byte payloads, each library's client against its own server on one tokio runtime:
//! sequential request-response, 64 concurrent request-responses, and one 100000-item
//! stream (wirestate honouring request-n with a 64-item window; rsocket_rust ignores
//! request-n and asks for everything). Plus the pure core: frames per second through a
//! client and a server machine in memory, no sockets. Prints rates, ratios and goal
//! verdicts (goals: ≥ 2x on request-response, ≥ 1.5x on the stream, ≥ 1 M frames/s). A raw
//! TCP echo on the same runtime shows the floor any sequential request-response meets.
//! `BENCH_QUICK=1` shortens the run.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_lite::StreamExt;
use rsocket_rust::prelude::{Payload as RPayload, RSocket as RRSocket, RSocketFactory};
use rsocket_rust::{Result as RResult, async_trait, stream as rstream};
use rsocket_rust_transport_tcp::{TcpClientTransport, TcpServerTransport};
use wirestate::core::bytes::Bytes;
use wirestate::core::rsocket::conn::{Command, Config, Demand, Event, Request};
use wirestate::core::rsocket::{Connection, MAX_REQUEST_N, Payload};
use wirestate::core::{Instant as CoreInstant, Machine};
use wirestate::rsocket::{self, BoxFuture, BoxStream, NoResponder, Responder, ResponderError};

const PAYLOAD: [u8; 64] = [b'p'; 64];
const STREAM_ITEMS: usize = 100_000;

struct Settings {
    sequential: usize,
    concurrent: usize,
    rounds: usize,
}

fn settings() -> Settings {
    match std::env::var_os("BENCH_QUICK") {
        Some(_) => Settings {
            sequential: 2_000,
            concurrent: 10_000,
            rounds: 5,
        },
        None => Settings {
            sequential: 20_000,
            concurrent: 100_000,
            rounds: 5,
        },
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

// ---- wirestate ----------------------------------------------------------------------------

struct Echo;

impl Responder for Echo {
    fn request_response(&self, payload: Payload) -> BoxFuture<Result<Payload, ResponderError>> {
        Box::pin(async move { Ok(payload) })
    }

    fn request_stream(&self, _: Payload) -> BoxStream<Result<Payload, ResponderError>> {
        let item = Payload::data(Bytes::from_static(&PAYLOAD));
        Box::pin(futures_lite::stream::iter(
            (0..STREAM_ITEMS).map(move |_| Ok(item.clone())),
        ))
    }
}

async fn wirestate_pair() -> rsocket::RSocket {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let _server = rsocket::tokio::accept(stream, Config::default(), Echo);
        std::future::pending::<()>().await;
    });
    rsocket::tokio::connect(addr, Config::default(), NoResponder)
        .await
        .unwrap()
}

async fn wirestate_sequential(client: &rsocket::RSocket, n: usize) -> f64 {
    let start = Instant::now();
    for _ in 0..n {
        let answer = client
            .request_response(Payload::data(Bytes::from_static(&PAYLOAD)))
            .await
            .unwrap();
        assert_eq!(answer.data.len(), 64);
    }
    n as f64 / start.elapsed().as_secs_f64()
}

async fn wirestate_concurrent(client: &rsocket::RSocket, n: usize) -> f64 {
    let start = Instant::now();
    let tasks: Vec<_> = (0..64)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move {
                for _ in 0..n / 64 {
                    let answer = client
                        .request_response(Payload::data(Bytes::from_static(&PAYLOAD)))
                        .await
                        .unwrap();
                    assert_eq!(answer.data.len(), 64);
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    (n / 64 * 64) as f64 / start.elapsed().as_secs_f64()
}

async fn wirestate_stream(client: &rsocket::RSocket, window: u32) -> f64 {
    let start = Instant::now();
    let count = client
        .request_stream(Payload::data("go"), window)
        .await
        .unwrap()
        .count()
        .await;
    assert_eq!(count, STREAM_ITEMS);
    count as f64 / start.elapsed().as_secs_f64()
}

// ---- the floor ---------------------------------------------------------------------------

/// A raw TCP echo on the same runtime: one 64-byte write and read each way per exchange,
/// no protocol at all. No request-response over this machine's loopback can go faster, so
/// it shows what a sequential goal can ask for.
async fn raw_echo_pair() -> tokio::net::TcpStream {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        stream.set_nodelay(true).unwrap();
        let mut buf = [0u8; PAYLOAD.len()];
        while stream.read_exact(&mut buf).await.is_ok() {
            if stream.write_all(&buf).await.is_err() {
                return;
            }
        }
    });
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.set_nodelay(true).unwrap();
    stream
}

async fn raw_sequential(stream: &mut tokio::net::TcpStream, n: usize) -> f64 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buf = PAYLOAD;
    let start = Instant::now();
    for _ in 0..n {
        stream.write_all(&buf).await.unwrap();
        stream.read_exact(&mut buf).await.unwrap();
    }
    assert_eq!(buf, PAYLOAD);
    n as f64 / start.elapsed().as_secs_f64()
}

// ---- rsocket_rust -------------------------------------------------------------------------

struct REcho;

#[async_trait]
impl RRSocket for REcho {
    async fn metadata_push(&self, _: RPayload) -> RResult<()> {
        Ok(())
    }
    async fn fire_and_forget(&self, _: RPayload) -> RResult<()> {
        Ok(())
    }
    async fn request_response(&self, req: RPayload) -> RResult<Option<RPayload>> {
        Ok(Some(req))
    }
    fn request_stream(&self, _: RPayload) -> rsocket_rust::prelude::Flux<RResult<RPayload>> {
        Box::pin(rstream! {
            for _ in 0..STREAM_ITEMS {
                yield Ok(RPayload::builder().set_data(Bytes::from_static(&PAYLOAD)).build());
            }
        })
    }
    fn request_channel(
        &self,
        reqs: rsocket_rust::prelude::Flux<RResult<RPayload>>,
    ) -> rsocket_rust::prelude::Flux<RResult<RPayload>> {
        reqs
    }
}

async fn rsocket_rust_pair() -> rsocket_rust::Client {
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let server_addr = addr.clone();
    tokio::spawn(async move {
        RSocketFactory::receive()
            .transport(TcpServerTransport::from(server_addr.as_str()))
            .acceptor(Box::new(|_, _| Ok(Box::new(REcho))))
            .serve()
            .await
    });
    for _ in 0..200 {
        let started = RSocketFactory::connect()
            .transport(TcpClientTransport::from(addr.as_str()))
            .start()
            .await;
        if let Ok(client) = started {
            return client;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the rsocket_rust server did not start");
}

fn r_payload() -> RPayload {
    RPayload::builder()
        .set_data(Bytes::from_static(&PAYLOAD))
        .build()
}

async fn rsocket_rust_sequential(client: &rsocket_rust::Client, n: usize) -> f64 {
    let start = Instant::now();
    for _ in 0..n {
        let answer = client.request_response(r_payload()).await.unwrap().unwrap();
        assert_eq!(answer.data().unwrap().len(), 64);
    }
    n as f64 / start.elapsed().as_secs_f64()
}

async fn rsocket_rust_concurrent(client: &rsocket_rust::Client, n: usize) -> f64 {
    let start = Instant::now();
    let tasks: Vec<_> = (0..64)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move {
                for _ in 0..n / 64 {
                    let answer = client.request_response(r_payload()).await.unwrap().unwrap();
                    assert_eq!(answer.data().unwrap().len(), 64);
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    (n / 64 * 64) as f64 / start.elapsed().as_secs_f64()
}

async fn rsocket_rust_stream(client: &rsocket_rust::Client) -> f64 {
    let start = Instant::now();
    let mut items = client.request_stream(r_payload());
    let mut count = 0;
    while let Some(item) = futures_lite::StreamExt::next(&mut items).await {
        item.unwrap();
        count += 1;
    }
    assert_eq!(count, STREAM_ITEMS);
    count as f64 / start.elapsed().as_secs_f64()
}

// ---- the pure core ------------------------------------------------------------------------

/// Frames per second through a client and a server machine in memory: the server streams
/// `n` items (unbounded credit), the client decodes them; every frame is encoded once and
/// decoded once.
fn core_frames(n: usize) -> f64 {
    let now = CoreInstant::ZERO;
    let mut client = Connection::client(Config::default());
    let mut server = Connection::server(Config::default());
    let pipe = |from: &mut Connection, to: &mut Connection| {
        while let Some(bytes) = from.poll_transmit() {
            to.handle_input(now, &bytes);
        }
    };
    pipe(&mut client, &mut server);
    let _ = server.poll_event();
    server.command(now, Command::AcceptSetup).unwrap();
    let request = Request::Stream {
        payload: Payload::default(),
        demand: Demand::Window(MAX_REQUEST_N),
    };
    let stream = client
        .command(now, Command::Request(request))
        .unwrap()
        .unwrap();
    pipe(&mut client, &mut server);
    let _ = server.poll_event();
    let item = Payload::data(Bytes::from_static(&PAYLOAD));
    let start = Instant::now();
    let mut received = 0;
    for batch in 0..n / 1000 {
        for i in 0..1000 {
            let complete = batch == n / 1000 - 1 && i == 999;
            server
                .command(
                    now,
                    Command::Send {
                        stream,
                        payload: item.clone(),
                        complete,
                    },
                )
                .unwrap();
        }
        pipe(&mut server, &mut client);
        while let Some(event) = client.poll_event() {
            if let Event::Next { .. } = event {
                received += 1;
            }
        }
    }
    assert_eq!(received, n / 1000 * 1000);
    received as f64 / start.elapsed().as_secs_f64()
}

fn verdict(ok: bool) -> &'static str {
    if ok { "meets" } else { "MISSES" }
}

fn main() {
    let settings = settings();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    println!(
        "RSocket against rsocket_rust 0.7.5 over loopback TCP, 64-byte payloads, medians of {} \
         rounds (ratios paired per round)",
        settings.rounds
    );
    let (ours, theirs) = runtime.block_on(async {
        let ours = Arc::new(wirestate_pair().await);
        let theirs = Arc::new(rsocket_rust_pair().await);
        let mut raw = raw_echo_pair().await;
        let mut ours_results = vec![Vec::new(); 4];
        let mut theirs_results = vec![Vec::new(); 4];
        for _ in 0..settings.rounds {
            theirs_results[3].push(raw_sequential(&mut raw, settings.sequential).await);
            ours_results[0].push(wirestate_sequential(&ours, settings.sequential).await);
            theirs_results[0].push(rsocket_rust_sequential(&theirs, settings.sequential).await);
            ours_results[1].push(wirestate_concurrent(&ours, settings.concurrent).await);
            theirs_results[1].push(rsocket_rust_concurrent(&theirs, settings.concurrent).await);
            ours_results[2].push(wirestate_stream(&ours, 64).await);
            ours_results[3].push(wirestate_stream(&ours, MAX_REQUEST_N).await);
            theirs_results[2].push(rsocket_rust_stream(&theirs).await);
        }
        (ours_results, theirs_results)
    });
    // Ratios are paired: each round's figure over the other library's figure from the same
    // round, moments apart, so load that moves both between rounds mostly cancels.
    let paired = |ours: &[f64], theirs: &[f64]| {
        median(ours.iter().zip(theirs).map(|(a, b)| a / b).collect())
    };
    let ratios = [
        paired(&ours[0], &theirs[0]),
        paired(&ours[1], &theirs[1]),
        paired(&ours[2], &theirs[2]),
        paired(&theirs[3], &theirs[0]),
        paired(&theirs[3], &ours[0]),
    ];
    let ours: Vec<f64> = ours.into_iter().map(median).collect();
    let theirs: Vec<f64> = theirs.into_iter().map(median).collect();
    let row = |name: &str, ours: f64, theirs: f64, ratio: f64, goal: f64| {
        println!(
            "  {name:<46} wirestate {ours:>10.0}/s  rsocket_rust {theirs:>10.0}/s  {ratio:.2}x ({} the goal of {goal}x)",
            verdict(ratio >= goal)
        );
    };
    row(
        "request-response, sequential",
        ours[0],
        theirs[0],
        ratios[0],
        2.0,
    );
    println!(
        "  {:<46} raw TCP   {:>10.0}/s  = {:.2}x rsocket_rust, {:.2}x wirestate (the floor: \
         one 64-byte write and read each way, no protocol)",
        "  (64-byte echo, same runtime)", theirs[3], ratios[3], ratios[4],
    );
    row(
        "request-response, 64 concurrent",
        ours[1],
        theirs[1],
        ratios[1],
        2.0,
    );
    row(
        "stream of 100000 (ours: request-n window 64)",
        ours[2],
        theirs[2],
        ratios[2],
        1.5,
    );
    println!(
        "  {:<46} wirestate {:>10.0}/s (unbounded request-n, like rsocket_rust's)",
        "stream of 100000 (ours: unbounded)", ours[3]
    );
    let frames = median((0..settings.rounds).map(|_| core_frames(200_000)).collect());
    println!(
        "  pure core, client and server machines in memory: {:.2} M frames/s ({} the goal of 1 M/s)",
        frames / 1e6,
        verdict(frames >= 1e6)
    );
}
