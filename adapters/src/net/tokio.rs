//! Sockets on tokio (being written).
