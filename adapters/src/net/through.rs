//! A socket's side of write-through (see `chan::write_through`): the application's writes
//! go straight to the socket while the write pump has nothing to send.

use std::io::{self, Write};

use crate::chan::write_through::WriteThrough;

/// A duplicate descriptor of a socket whose descriptor is non-blocking (smol's and tokio's
/// are: the flag belongs to the socket, which every duplicate shares), so a write never
/// waits. Going around the runtime's reactor is fine: the pump, which waits on it, has
/// nothing to write while the application writes through.
#[derive(Debug)]
pub(crate) struct NonBlockingSocket(socket2::Socket);

impl NonBlockingSocket {
    /// Write-through to `socket`, which must be in non-blocking mode.
    pub(crate) fn boxed(socket: socket2::Socket) -> Box<dyn WriteThrough> {
        Box::new(NonBlockingSocket(socket))
    }
}

impl WriteThrough for NonBlockingSocket {
    fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        (&self.0).write(buf)
    }
}
