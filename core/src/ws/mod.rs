//! WebSocket (RFC 6455) pieces (being written).
