//! Sockets on blocking std threads (being written).
