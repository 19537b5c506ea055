//! The halves' data path takes no connection lock: counted on the application's thread
//! while the driver and an echo server run on smol's executor threads.

use std::time::Duration;

use futures_lite::future;
use smol::net::TcpListener;
use wirestate_core::ws::{CloseCode, Message};

use super::{ServerOptions, WebSocket};
use crate::driver::handle_lock_count as lock_count;

/// Runs `future` on the calling thread, failing after 20 s.
fn bounded<T>(future: impl Future<Output = T>) -> T {
    smol::block_on(future::or(async { Some(future.await) }, async {
        smol::Timer::after(Duration::from_secs(20)).await;
        None
    }))
    .expect("the test did not finish within 20 s")
}

/// An echo server for one connection, on smol's executor (another thread), and a client.
async fn echo_pair() -> WebSocket {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    smol::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let mut socket = super::smol::accept(stream, &ServerOptions::default())
            .await
            .unwrap();
        while let Ok(Some(message)) = socket.recv().await {
            if socket.send(message).await.is_err() {
                break;
            }
        }
    })
    .detach();
    super::smol::connect(&url).await.unwrap()
}

#[test]
fn sending_and_receiving_take_no_connection_lock() {
    bounded(async {
        let mut socket = echo_pair().await;
        let message = Message::Binary(vec![7u8; 100].into());
        socket.send(message.clone()).await.unwrap(); // warm up
        assert_eq!(socket.recv().await.unwrap(), Some(message.clone()));

        let before = lock_count::on_this_thread();
        // One at a time (the reader waits for each), then in bursts (messages wait for it).
        for _ in 0..500 {
            socket.send(message.clone()).await.unwrap();
            assert_eq!(socket.recv().await.unwrap(), Some(message.clone()));
        }
        for _ in 0..50 {
            for _ in 0..20 {
                socket.send(message.clone()).await.unwrap();
            }
            socket.flush().await.unwrap();
            for _ in 0..20 {
                assert_eq!(socket.recv().await.unwrap(), Some(message.clone()));
            }
        }
        let taken = lock_count::on_this_thread() - before;
        assert_eq!(
            taken, 0,
            "the data path took the connection lock {taken} times"
        );

        // The rare paths still use it, which proves the counter counts.
        socket.close(CloseCode::NORMAL, "").await.unwrap();
        assert!(lock_count::on_this_thread() > before);
    });
}

#[test]
fn a_driver_that_stopped_before_the_socket_was_made_ends_its_receives() {
    use crate::driver::Connection;
    use crate::wire::Wire;
    use wirestate_core::ws::{Config, Connection as Machine};

    // A peer may close right after the upgrade: the driver can stop before the socket
    // (and its queues) exists.
    let conn = Connection::new(Wire::plain(Machine::server(
        Config::default(),
        crate::os_rng(),
    )));
    conn.lock().stop(Ok(()));
    let mut socket = WebSocket::new(conn, None, 1024);
    bounded(async {
        assert!(socket.recv().await.is_err(), "no clean end was seen");
        assert_eq!(socket.recv().await.unwrap(), None);
        assert!(matches!(
            socket.send("late").await,
            Err(super::Error::AlreadyClosed)
        ));
    });
}
