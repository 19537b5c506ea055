//! The memory budget (issue 7): an open connection keeps at most 256 bytes of state
//! besides its buffers, fresh or after traffic whose frames arrived whole.

use core::mem::size_of;

use crate::ws::Connection;

/// Bytes of state an open connection may keep, buffers aside.
const BUDGET: usize = 256;

#[test]
fn a_connection_fits_the_budget() {
    let size = size_of::<Connection>();
    assert!(
        size <= BUDGET,
        "a Connection is {size} bytes, over {BUDGET}"
    );
}

#[cfg(feature = "testing")]
mod traffic {
    use alloc::vec::Vec;

    use super::{BUDGET, size_of};
    use crate::Machine;
    use crate::ws::tests::conn::{events, masked, open_server};
    use crate::ws::{Config, Connection, Opcode};

    /// What an open connection holds: itself and the state it alone keeps boxed.
    fn state(connection: &Connection) -> usize {
        size_of::<Connection>() + connection.boxed_state()
    }

    /// Feeds `wire` and drains what it caused.
    fn feed(server: &mut Connection, wire: &[u8]) {
        let now = crate::time::Instant::ZERO;
        assert_eq!(server.handle_input(now, wire), wire.len());
        while server.poll_transmit().is_some() {}
        assert!(!events(server).is_empty());
    }

    #[test]
    fn an_idle_server_fits_the_budget_fresh_and_after_whole_frames() {
        let mut server = open_server(Config::default());
        events(&mut server);
        assert!(state(&server) <= BUDGET, "fresh: {} bytes", state(&server));
        let mut wire = Vec::new();
        for (opcode, payload) in [
            (Opcode::Text, &b"hello"[..]),
            (Opcode::Binary, &[7; 3000][..]),
            (Opcode::Ping, &b"are you there"[..]),
            (Opcode::Pong, &b""[..]),
        ] {
            wire.extend(masked(opcode, true, payload));
        }
        for _ in 0..3 {
            feed(&mut server, &wire);
        }
        assert!(server.is_open());
        assert!(
            state(&server) <= BUDGET,
            "after traffic: {} bytes",
            state(&server)
        );
    }

    #[test]
    fn frames_split_across_reads_keep_one_box_for_reuse() {
        let mut server = open_server(Config::default());
        events(&mut server);
        let fresh = state(&server);
        let mut wire = masked(Opcode::Text, false, b"split ");
        wire.extend(masked(Opcode::Continuation, true, b"message"));
        for chunk in [&wire[..3], &wire[3..]] {
            let now = crate::time::Instant::ZERO;
            assert_eq!(server.handle_input(now, chunk), chunk.len());
        }
        assert_eq!(events(&mut server).len(), 1);
        let after = state(&server);
        // The box for what spans reads, kept for the next split frame (see `recv.rs`).
        assert!(
            after > fresh && after <= fresh + 136,
            "{fresh} -> {after} bytes"
        );
        feed(&mut server, &masked(Opcode::Binary, true, &[1; 10]));
        assert_eq!(state(&server), after);
    }
}
