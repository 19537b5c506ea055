//! UDP datagrams.

use std::io;
use std::net::SocketAddr;
use std::sync::Mutex;

use bytes::{Bytes, BytesMut};

/// The largest datagram payload wirestate sends or receives (Ktor's limit).
pub const MAX_DATAGRAM: usize = 65_535;

/// A datagram and the address it came from or goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Datagram {
    /// The bytes, at most [`MAX_DATAGRAM`].
    pub payload: Bytes,
    /// The peer.
    pub address: SocketAddr,
}

impl Datagram {
    /// A datagram for `address`; `InvalidInput` if `payload` exceeds [`MAX_DATAGRAM`].
    pub fn new(payload: impl Into<Bytes>, address: SocketAddr) -> io::Result<Self> {
        let payload = payload.into();
        check_size(payload.len())?;
        Ok(Datagram { payload, address })
    }
}

/// `InvalidInput` for a payload over [`MAX_DATAGRAM`].
pub(crate) fn check_size(len: usize) -> io::Result<()> {
    if len > MAX_DATAGRAM {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("datagram of {len} bytes exceeds the limit of {MAX_DATAGRAM}"),
        ));
    }
    Ok(())
}

/// A datagram goes out whole or not at all; a short send would be a platform oddity.
pub(crate) fn expect_whole(sent: usize, len: usize) -> io::Result<()> {
    if sent == len {
        Ok(())
    } else {
        Err(io::Error::new(
            io::ErrorKind::WriteZero,
            format!("sent {sent} of a {len}-byte datagram"),
        ))
    }
}

/// Reads one datagram through a reused buffer: each payload is split off the buffer, so
/// receiving costs no allocation while earlier payloads are released. Every runtime's
/// `receive` runs it (the blocking one on a parked thread).
pub(crate) async fn receive_into(
    buffer: &Mutex<BytesMut>,
    recv: impl AsyncFnOnce(&mut [u8]) -> io::Result<(usize, SocketAddr)>,
) -> io::Result<(Bytes, SocketAddr)> {
    let mut buf = std::mem::take(&mut *buffer.lock().unwrap_or_else(|p| p.into_inner()));
    buf.reserve(MAX_DATAGRAM + 1);
    buf.resize(MAX_DATAGRAM + 1, 0);
    let result = recv(&mut buf).await;
    let outcome = result.map(|(n, from)| (buf.split_to(n).freeze(), from));
    buf.clear();
    *buffer.lock().unwrap_or_else(|p| p.into_inner()) = buf;
    outcome
}
