//! The memory budget (issue 7): an open connection keeps at most 256 bytes of state besides
//! its buffers and streams, and an idle stream is a small entry in the stream table.

use core::mem::size_of;

use super::Connection;
use super::stream::Stream;

/// Bytes of state an open connection may keep, buffers and streams aside.
const BUDGET: usize = 256;

/// Bytes of state an idle stream may keep (its value in the stream table).
const STREAM_BUDGET: usize = 96;

#[test]
fn a_connection_and_a_stream_fit_their_budgets() {
    let size = size_of::<Connection>();
    assert!(
        size <= BUDGET,
        "a Connection is {size} bytes, over {BUDGET}"
    );
    let size = size_of::<Stream>();
    assert!(
        size <= STREAM_BUDGET,
        "a Stream is {size} bytes, over {STREAM_BUDGET}"
    );
}

#[cfg(feature = "testing")]
mod traffic {
    use alloc::vec::Vec;
    use bytes::Bytes;
    use core::time::Duration;

    use super::{BUDGET, STREAM_BUDGET, size_of};
    use crate::Machine;
    use crate::rsocket::Payload;
    use crate::rsocket::conn::{Command, Config, Connection, Demand, Event, Request};
    use crate::testing::Pair;

    /// What a connection holds: itself and the state it alone keeps boxed.
    fn state(connection: &Connection) -> usize {
        size_of::<Connection>() + connection.boxed_state()
    }

    fn events(machine: &mut Connection) -> Vec<Event> {
        core::iter::from_fn(|| machine.poll_event()).collect()
    }

    #[test]
    fn idle_connections_and_streams_fit_their_budgets_fresh_and_after_traffic() {
        // Frames of at most 1 KiB: the large items below arrive in fragments.
        let config = Config {
            fragment_size: Some(1024),
            ..Config::default()
        };
        let mut pair = Pair::new(
            Connection::client(config.clone()),
            Connection::server(config),
        );
        pair.run_for(Duration::from_millis(10));
        events(&mut pair.b);
        pair.b.command(pair.now, Command::AcceptSetup).unwrap();
        pair.run_for(Duration::from_millis(10));
        for machine in [&pair.a, &pair.b] {
            assert!(state(machine) <= BUDGET, "fresh: {} bytes", state(machine));
        }
        // A stream that stays open after its first items; fragments on the way.
        let big = Payload::data(Bytes::from(alloc::vec![7u8; 40_000]));
        let request = Request::Stream {
            payload: big.clone(),
            demand: Demand::Window(8),
        };
        let id = pair.a.command(pair.now, Command::Request(request)).unwrap();
        pair.run_for(Duration::from_millis(10));
        let stream = match events(&mut pair.b).as_slice() {
            [Event::Request { stream, .. }] => *stream,
            other => panic!("expected the request, got {other:?}"),
        };
        for payload in [big, Payload::data("small")] {
            let send = Command::Send {
                stream,
                payload,
                complete: false,
            };
            pair.b.command(pair.now, send).unwrap();
        }
        pair.run_for(Duration::from_millis(10));
        assert_eq!(events(&mut pair.a).len(), 2);
        assert!(id.is_some());
        for machine in [&pair.a, &pair.b] {
            assert!(state(machine) <= BUDGET, "after: {} bytes", state(machine));
            let streams: Vec<usize> = machine.stream_state().collect();
            assert_eq!(streams.len(), 1);
            assert!(
                streams[0] <= STREAM_BUDGET,
                "an idle stream: {} bytes",
                streams[0]
            );
        }
    }
}
