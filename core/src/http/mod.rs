//! The HTTP/1.1 upgrade that opens a WebSocket connection (RFC 6455 §4), both roles.
//!
//! These are pieces, not a machine: each works on its own from any HTTP stack (an accept
//! key for a hyper upgrade, a request check over headers another parser produced), and
//! `ws::Connection` drives them before handing the leftover bytes to the framing.
//!
//! ```text
//!  client                                              server
//!  ClientRequest::build(rng) ──── GET, Sec-WebSocket-Key ───▶ HeadBuffer::feed
//!    -> ClientHandshake                                        UpgradeRequest::parse
//!                                                                -> UpgradeRequest (the app decides)
//!  HeadBuffer::feed           ◀── 101 + Sec-WebSocket-Accept ── request.accept(&Accept)
//!  ClientHandshake::check_response                               or Reject / Response::for_error
//!    -> Accepted { subprotocol, extensions }
//!  leftover bytes ─▶ WebSocket frames                          leftover bytes ─▶ WebSocket frames
//! ```
//!
//! - [`HeadBuffer`] collects a head from chunks of any size and gives back the bytes after
//!   it untouched; its limit ([`DEFAULT_MAX_HEAD`]) turns into a 431.
//! - [`accept_key`], [`generate_key`] and [`is_valid_key`]: the key arithmetic (§4.2.2).
//! - [`ClientRequest`] → [`ClientHandshake`] → [`Accepted`]: the client side (§4.1).
//! - [`UpgradeRequest`], answered by [`Accept`] or [`Reject`] as a [`Response`]: the server
//!   side (§4.2).
//! - [`HandshakeError`] is the peer's fault and carries the status a server answers with;
//!   [`UsageError`] is ours.
//!
//! Both sides end to end, over an in-memory "wire":
//!
//! ```
//! use wirestate_core::Rng;
//! use wirestate_core::http::{Accept, ClientRequest, Feed, HeadBuffer, UpgradeRequest};
//!
//! let client = ClientRequest::new("example.com", "/chat")
//!     .subprotocol("chat.v2")
//!     .build(&mut Rng::from_u64(1))
//!     .unwrap();
//!
//! // Server: collect the head, validate it, accept.
//! let mut server_head = HeadBuffer::default();
//! let Feed::Complete { head, leftover } = server_head.feed(client.request()) else {
//!     panic!("incomplete request");
//! };
//! assert!(leftover.is_empty());
//! let request = UpgradeRequest::parse(&head).unwrap();
//! assert_eq!(request.path(), "/chat");
//! let response = request.accept(&Accept::new().subprotocol("chat.v2")).unwrap();
//!
//! // Client: the 101 arrives with the server's first frame right behind it.
//! let mut wire = response.to_vec();
//! wire.extend_from_slice(b"\x81\x02hi");
//! let mut client_head = HeadBuffer::default();
//! let Feed::Complete { head, leftover } = client_head.feed(&wire) else {
//!     panic!("incomplete response");
//! };
//! let accepted = client.check_response(&head).unwrap();
//! assert_eq!(accepted.subprotocol(), Some("chat.v2"));
//! assert_eq!(leftover, b"\x81\x02hi"); // for the framing
//! ```

mod accept_key;
mod client;
mod error;
mod extension;
mod head;
mod headers;
mod response;
mod server;

pub use accept_key::{WEBSOCKET_GUID, accept_key, generate_key, is_valid_key};
pub use client::{Accepted, ClientHandshake, ClientRequest};
pub use error::{HandshakeError, UsageError};
pub use extension::Extension;
pub use head::{DEFAULT_MAX_HEAD, Feed, HeadBuffer, MAX_HEADERS};
pub use headers::{Headers, is_token, split_list};
pub use response::{Accept, Reject, Response};
pub use server::UpgradeRequest;

#[cfg(test)]
mod tests;
