//! HTTP/1.1 upgrade handshake pieces (being written).
