//! The Autobahn|Testsuite client loop: asks the fuzzing server how many cases it has, runs
//! each one echoing every text and binary message, then asks it to write its report.
//! Offers permessage-deflate when built with the `deflate` feature (`--deflate off` does
//! not).
//!
//! `cargo run -p wirestate --all-features --example ws_autobahn_client -- --url ws://127.0.0.1:9001 --agent wirestate [--runtime smol|tokio|blocking]`

#[path = "support/args.rs"]
mod args;

use std::io;

use args::{Args, Runtime};
use wirestate::core::ws::{CloseCode, Message};
use wirestate::ws;

fn main() -> io::Result<()> {
    let args = Args::parse(
        "ws_autobahn_client --url ws://HOST:PORT --agent NAME [--runtime smol|tokio|blocking] \
         [--deflate on|off]",
    );
    let base = args.get("url", "ws://127.0.0.1:9001");
    let base = base.trim_end_matches('/');
    let agent = args.get("agent", "wirestate");
    let runtime = args.runtime();
    #[allow(unused_mut)] // without the deflate feature nothing changes
    let mut options = ws::ClientOptions::default();
    #[cfg(feature = "deflate")]
    if args.get("deflate", "on") == "on" {
        options.config.deflate = Some(Default::default());
    }
    let session = |path: String| run_session(runtime, &format!("{base}{path}"), &options);

    let count: usize = session("/getCaseCount".into())?
        .and_then(|text| text.trim().parse().ok())
        .ok_or_else(|| io::Error::other("the server sent no case count"))?;
    for case in 1..=count {
        session(format!("/runCase?case={case}&agent={agent}"))?;
    }
    session(format!("/updateReports?agent={agent}"))?;
    println!("ran {count} cases as agent {agent}");
    Ok(())
}

/// One WebSocket session at `url`: echoes every message until the connection is over and
/// returns the first text message seen (the case count, for `/getCaseCount`). How the
/// connection ended is the testsuite's to judge, so the end's error is not one here.
fn run_session(
    runtime: Runtime,
    url: &str,
    options: &ws::ClientOptions,
) -> io::Result<Option<String>> {
    let mut first = None;
    let mut keep = |message: &Message| {
        if let (None, Some(text)) = (&first, message.as_text()) {
            first = Some(text.to_string());
        }
    };
    match runtime {
        Runtime::Smol => smol::block_on(async {
            let mut socket = ws::smol::connect_with(url, options).await?;
            while let Ok(Some(message)) = socket.recv().await {
                keep(&message);
                let _ = socket.send(message).await;
            }
            // Wait until our last frames are out before the runtime goes away.
            let _ = socket.close(CloseCode::NORMAL, "").await;
            Ok::<(), ws::Error>(())
        })?,
        Runtime::Tokio => tokio::runtime::Runtime::new()?.block_on(async {
            let mut socket = ws::tokio::connect_with(url, options).await?;
            while let Ok(Some(message)) = socket.recv().await {
                keep(&message);
                let _ = socket.send(message).await;
            }
            // Wait until our last frames are out before the runtime goes away.
            let _ = socket.close(CloseCode::NORMAL, "").await;
            Ok::<(), ws::Error>(())
        })?,
        Runtime::Blocking => {
            let mut socket = ws::blocking::connect_with(url, options)?;
            while let Ok(Some(message)) = socket.recv() {
                keep(&message);
                let _ = socket.send(message);
            }
            let _ = socket.close(CloseCode::NORMAL, "");
        }
    }
    Ok(first)
}
