//! [`Wire`]: a machine as it meets the transport, directly or through TLS.

use std::ops::{Deref, DerefMut};

use bytes::Bytes;
use wirestate_core::{Instant, Machine};

#[cfg(feature = "tls")]
use crate::tls::{TlsError, TlsLayer};

/// A protocol machine as the driver runs it: plain, or under a TLS session.
///
/// `Wire` is itself a [`Machine`] with the inner machine's events and commands, so the same
/// driver, the same [`Connection`](crate::driver::Connection) and the same application code
/// serve `ws://` and `wss://`. It dereferences to the inner machine for its own getters.
/// With TLS, the inner machine's transmits are encrypted, decrypted bytes become its input,
/// and a TLS failure ends its input (it reports its own abnormal end) while
/// [`tls_error`](Wire::tls_error) says why.
#[derive(Debug)]
pub struct Wire<M> {
    inner: M,
    #[cfg(feature = "tls")]
    tls: Option<Box<TlsLayer>>,
}

impl<M> Wire<M> {
    /// `inner` straight on the transport.
    pub fn plain(inner: M) -> Self {
        Wire {
            inner,
            #[cfg(feature = "tls")]
            tls: None,
        }
    }

    /// `inner` under the TLS session `tls`.
    #[cfg(feature = "tls")]
    pub fn tls(inner: M, tls: TlsLayer) -> Self {
        Wire {
            inner,
            tls: Some(Box::new(tls)),
        }
    }

    /// The TLS session, if the machine runs under one.
    #[cfg(feature = "tls")]
    pub fn tls_layer(&self) -> Option<&TlsLayer> {
        self.tls.as_deref()
    }

    /// Why the TLS session failed, if it did.
    #[cfg(feature = "tls")]
    pub fn tls_error(&self) -> Option<&TlsError> {
        self.tls.as_deref().and_then(TlsLayer::error)
    }

    /// The machine inside.
    pub fn inner(&self) -> &M {
        &self.inner
    }

    /// The machine inside, mutably.
    pub fn inner_mut(&mut self) -> &mut M {
        &mut self.inner
    }

    /// The machine inside when it meets the transport directly (no TLS): the bytes read
    /// are its own input.
    #[cfg(any(feature = "smol", feature = "tokio"))]
    #[inline]
    pub(crate) fn plain_mut(&mut self) -> Option<&mut M> {
        #[cfg(feature = "tls")]
        if self.tls.is_some() {
            return None;
        }
        Some(&mut self.inner)
    }
}

/// Waits until the TLS handshake of `conn`'s machine (whose driver runs) is done; at once
/// without TLS. A failure is an `io::Error` whose inner error is the
/// [`TlsError`](crate::tls::TlsError), or the transport's error.
#[cfg(feature = "tls")]
pub(crate) async fn handshake_done<M: Machine>(
    conn: &crate::driver::Connection<Wire<M>>,
) -> std::io::Result<()> {
    let settled = |m: &Wire<M>| {
        m.tls_layer()
            .is_none_or(|t| t.is_handshake_done() || t.error().is_some())
    };
    std::future::poll_fn(|cx| conn.poll_watch(cx, settled)).await;
    if let Some(error) = conn.with(|m| m.tls_error().cloned()) {
        return Err(error.into());
    }
    match conn.driver_result() {
        Some(Err(error)) => Err(error),
        Some(Ok(())) => Err(TlsError::ClosedDuringHandshake.into()),
        None => Ok(()),
    }
}

impl<M> Deref for Wire<M> {
    type Target = M;

    fn deref(&self) -> &M {
        &self.inner
    }
}

impl<M> DerefMut for Wire<M> {
    fn deref_mut(&mut self) -> &mut M {
        &mut self.inner
    }
}

/// Calls the TLS layer's version of a method when there is one, the inner machine's
/// otherwise.
macro_rules! through {
    ($self:ident, $tls:ident => $with_tls:expr, $plain:expr) => {{
        #[cfg(feature = "tls")]
        if let Some($tls) = $self.tls.as_deref_mut() {
            return $with_tls;
        }
        $plain
    }};
}

macro_rules! through_ref {
    ($self:ident, $tls:ident => $with_tls:expr, $plain:expr) => {{
        #[cfg(feature = "tls")]
        if let Some($tls) = $self.tls.as_deref() {
            return $with_tls;
        }
        $plain
    }};
}

impl<M: Machine> Machine for Wire<M> {
    type Event = M::Event;
    type Command = M::Command;
    type Reply = M::Reply;
    type UsageError = M::UsageError;

    #[inline]
    fn handle_input(&mut self, now: Instant, data: &[u8]) -> usize {
        through!(self, tls => tls.handle_input(&mut self.inner, now, data),
            self.inner.handle_input(now, data))
    }

    fn handle_eof(&mut self, now: Instant) {
        through!(self, tls => tls.handle_eof(&mut self.inner, now),
            self.inner.handle_eof(now))
    }

    fn handle_timeout(&mut self, now: Instant) {
        through!(self, tls => tls.handle_timeout(&mut self.inner, now),
            self.inner.handle_timeout(now))
    }

    #[inline]
    fn command(&mut self, now: Instant, command: M::Command) -> Result<M::Reply, M::UsageError> {
        self.inner.command(now, command)
    }

    #[inline]
    fn poll_transmit(&mut self) -> Option<Bytes> {
        through!(self, tls => tls.poll_transmit(&mut self.inner), self.inner.poll_transmit())
    }

    /// Lends the inner machine's bytes on a plain transport; under TLS nothing is lent
    /// (what goes out is the session's encryption of them).
    #[inline]
    fn lend_transmit(&self) -> Option<&[u8]> {
        through_ref!(self, _tls => None, self.inner.lend_transmit())
    }

    #[inline]
    fn advance_lent(&mut self, n: usize) {
        through!(self, _tls => debug_assert_eq!(n, 0, "nothing is lent under TLS"),
            self.inner.advance_lent(n))
    }

    #[inline]
    fn poll_event(&mut self) -> Option<M::Event> {
        self.inner.poll_event()
    }

    #[inline]
    fn poll_timeout(&self) -> Option<Instant> {
        through_ref!(self, tls => tls.poll_timeout(&self.inner), self.inner.poll_timeout())
    }

    #[inline]
    fn wants_read(&self) -> bool {
        through_ref!(self, tls => tls.wants_read(&self.inner), self.inner.wants_read())
    }

    #[inline]
    fn is_transmit_closed(&self) -> bool {
        through_ref!(self, tls => tls.is_transmit_closed(&self.inner),
            self.inner.is_transmit_closed())
    }

    #[inline]
    fn is_finished(&self) -> bool {
        through_ref!(self, tls => tls.is_finished(&self.inner), self.inner.is_finished())
    }
}
