//! UDP datagrams.

use std::io;
use std::net::SocketAddr;

use bytes::Bytes;

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
