//! TLS on a connected socket (Ktor's `socket.tls()`), client and server, written once for
//! every runtime.
//!
//! The plain socket's channels become the transport of a driver that runs a
//! [`Duplex`] under a [`TlsLayer`]; two bridge tasks move plaintext between that machine's
//! pipes and the fresh channels of the returned [`Socket`]. Each runtime's `tls` and
//! `tls_server` only choose where the driver and the bridges run.
//!
//! ```text
//!   TCP ◀─pumps─▶ plain channels ◀─driver─▶ TlsLayer ◀▶ Duplex ◀─bridges─▶ the TLS socket's channels
//! ```

use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use wirestate_core::chan::{
    ByteSink, ByteSource, Cause, ChannelError, Duplex, DuplexConfig, PipeConfig,
};

use super::socket::Socket;
use crate::chan::io_error::cause_like;
use crate::chan::{ByteReader, ByteWriter};
use crate::driver::{Connection, Transport};
use crate::tls::TlsLayer;
use crate::wire::Wire;

/// The TLS connection under a socket.
pub(crate) type TlsConnection = Connection<Wire<Duplex>>;

/// The ciphertext side: the plain socket's two channels as one transport.
pub(crate) struct ChannelTransport {
    reader: ByteReader,
    writer: ByteWriter,
}

impl Transport for ChannelTransport {
    fn poll_read(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.reader.poll_read_available(cx, buf)
    }

    fn poll_write(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        futures_io::AsyncWrite::poll_write(Pin::new(&mut self.writer), cx, buf)
    }

    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        futures_io::AsyncWrite::poll_flush(Pin::new(&mut self.writer), cx)
    }

    fn poll_shutdown(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        futures_io::AsyncWrite::poll_close(Pin::new(&mut self.writer), cx)
    }
}

/// What a runtime starts: the driver over `transport`, and the two bridges.
pub(crate) struct Layered {
    /// The socket the application gets: its channels carry plaintext.
    pub(crate) socket: Socket,
    /// The machine the driver runs and the bridges share.
    pub(crate) conn: TlsConnection,
    /// The plain socket's channels.
    pub(crate) transport: ChannelTransport,
    /// Feeds the TLS socket's read channel ([`deliver_plaintext`]).
    pub(crate) inbound: ByteWriter,
    /// Drains the TLS socket's write channel ([`send_plaintext`]).
    pub(crate) outbound: ByteReader,
}

/// Takes over `socket`'s channels and puts `session` on them. `conn` comes from the
/// runtime (its clock must be the one the runtime's timer reads).
pub(crate) fn layer(
    socket: Socket,
    session: TlsLayer,
    connection: impl FnOnce(Wire<Duplex>) -> TlsConnection,
) -> io::Result<Layered> {
    let reader = socket.open_read_channel()?;
    let writer = socket.open_write_channel(true)?;
    let capacity = reader.capacity();
    let pipe = PipeConfig::with_capacity(capacity).auto_flush(true);
    let duplex = Duplex::new(DuplexConfig {
        inbound: pipe,
        outbound: pipe,
        ..DuplexConfig::default()
    });
    let (tls_socket, ends) = Socket::new(
        socket.local_address().clone(),
        socket.remote_address().clone(),
        socket.duplicate_handle()?,
        capacity,
    );
    Ok(Layered {
        socket: tls_socket,
        conn: connection(Wire::tls(duplex, session)),
        transport: ChannelTransport { reader, writer },
        inbound: ends.inbound,
        outbound: ends.outbound,
    })
}

/// Why the connection ended early, as a cause for the application's channels.
fn failure(conn: &TlsConnection) -> Cause {
    if let Some(error) = conn.with(|m| m.tls_error().cloned()) {
        return Cause::new(io::Error::from(error));
    }
    match conn.driver_result() {
        Some(Err(error)) => cause_like(&error),
        _ => Cause::new(io::Error::new(
            io::ErrorKind::ConnectionAborted,
            "the TLS connection ended",
        )),
    }
}

/// Moves decrypted bytes from the machine's inbound pipe to the application's read
/// channel, then closes it at the peer's end (close_notify or FIN).
pub(crate) async fn deliver_plaintext(conn: TlsConnection, mut to: ByteWriter) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let alive = poll_fn(|cx| {
            conn.poll_watch(cx, |m| {
                m.inbound().available() > 0 || m.inbound().is_closed_for_read()
            })
        })
        .await;
        match conn.with(|m| m.inbound_mut().read(&mut buf)) {
            Ok(0) if conn.with(|m| m.tls_layer().is_some_and(TlsLayer::is_truncated)) => {
                // The transport closed without close_notify: the end may be forged.
                return to.cancel_with(Cause::new(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the TLS stream ended without close_notify (truncated)",
                )));
            }
            Ok(0) => {
                let _ = to.close();
                return;
            }
            Ok(n) => {
                if to.write_all(&buf[..n]).await.is_err() {
                    // The application cancelled its read channel: stop reading too.
                    conn.with(|m| m.cancel(Cause::message("the read channel was cancelled")));
                    return;
                }
            }
            Err(ChannelError::Cancelled(cause)) => return to.cancel_with(cause),
            Err(_) if !alive => return to.cancel_with(failure(&conn)),
            Err(_) => {} // nothing yet
        }
    }
}

/// Moves what the application writes into the machine's outbound pipe (to be encrypted),
/// and closes the pipe when the application closes its write channel.
pub(crate) async fn send_plaintext(conn: TlsConnection, mut from: ByteReader) {
    loop {
        // Offers what the application wrote; `None` is its close.
        let offered = poll_fn(|cx| {
            from.poll_fill_buf(cx).map_ok(|chunk| {
                (!chunk.is_empty()).then(|| conn.with(|m| m.outbound_mut().write(chunk)))
            })
        })
        .await;
        let taken = match offered {
            Ok(Some(taken)) => taken,
            Ok(None) => {
                conn.with(|m| {
                    let _ = m.outbound_mut().close();
                });
                return;
            }
            Err(error) => {
                conn.with(|m| m.cancel(cause_like(&error)));
                return;
            }
        };
        match taken {
            Ok(n) if n > 0 => from.consume_view(n),
            Err(ChannelError::Cancelled(cause)) => return from.cancel_with(cause),
            _ => {
                let room =
                    poll_fn(|cx| conn.poll_watch(cx, |m| m.outbound().free_space() > 0)).await;
                if !room {
                    return from.cancel_with(failure(&conn));
                }
            }
        }
    }
}
