//! A byte connection: two pipes joined to a transport, as a [`Machine`].

use bytes::{Bytes, BytesMut};

use super::error::{Cause, ChannelError};
use super::io::{ByteSink, ByteSource};
use super::pipe::{Pipe, PipeConfig};
use crate::machine::Machine;
use crate::time::Instant;

/// Default largest chunk handed to the transport by one `poll_transmit`.
pub const DEFAULT_MAX_TRANSMIT: usize = 64 * 1024;

/// How a [`Duplex`] is set up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DuplexConfig {
    /// The pipe from the transport to the application (the read channel).
    pub inbound: PipeConfig,
    /// The pipe from the application to the transport (the write channel).
    pub outbound: PipeConfig,
    /// Largest chunk one `poll_transmit` returns.
    pub max_transmit: usize,
}

impl Default for DuplexConfig {
    fn default() -> Self {
        DuplexConfig {
            inbound: PipeConfig::default(),
            outbound: PipeConfig::default(),
            max_transmit: DEFAULT_MAX_TRANSMIT,
        }
    }
}

/// What a [`Duplex`] tells the application. Each is an edge, reported once per change.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DuplexEvent {
    /// The read channel went from empty to holding bytes.
    Readable,
    /// The write channel went from full to having room.
    Writable,
    /// The transport's read half ended; the read channel drains, then reports the end.
    ReadClosed,
}

/// What the application can ask of a [`Duplex`] through [`Machine::command`]. The same is
/// available, without a command value, through [`Duplex::outbound_mut`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum DuplexCommand {
    /// Write as much of these bytes as fits; the reply is the count.
    Write(Bytes),
    /// Make written bytes visible to the transport.
    Flush,
    /// Graceful close of the write channel: drain it, then half-close the transport.
    Close,
    /// Abort both channels with this cause.
    Cancel(Cause),
}

/// A byte connection machine: the transport's bytes land in the inbound pipe for the
/// application to read; what the application writes to the outbound pipe goes out through
/// `poll_transmit`. It has no timers and never fails on peer input: any byte is valid.
///
/// This is the machine behind socket read and write channels, and the simplest complete
/// example of the [`Machine`] contract.
#[derive(Debug)]
pub struct Duplex {
    inbound: Pipe,
    outbound: Pipe,
    max_transmit: usize,
    readable_edge: bool,
    writable_edge: bool,
    read_closed_edge: bool,
    eof_seen: bool,
}

impl Default for Duplex {
    fn default() -> Self {
        Duplex::new(DuplexConfig::default())
    }
}

impl Duplex {
    /// A connection with both channels open. Allocates nothing.
    pub fn new(config: DuplexConfig) -> Self {
        Duplex {
            inbound: Pipe::new(config.inbound),
            outbound: Pipe::new(config.outbound),
            max_transmit: config.max_transmit.max(1),
            readable_edge: false,
            writable_edge: false,
            read_closed_edge: false,
            eof_seen: false,
        }
    }

    /// The read channel (transport to application).
    pub fn inbound(&self) -> &Pipe {
        &self.inbound
    }

    /// The read channel, to read from.
    pub fn inbound_mut(&mut self) -> &mut Pipe {
        &mut self.inbound
    }

    /// The write channel (application to transport).
    pub fn outbound(&self) -> &Pipe {
        &self.outbound
    }

    /// The write channel, to write to.
    pub fn outbound_mut(&mut self) -> &mut Pipe {
        &mut self.outbound
    }

    /// Aborts both channels.
    pub fn cancel(&mut self, cause: Cause) {
        self.inbound.cancel(cause.clone());
        self.outbound.cancel(cause);
    }
}

impl Machine for Duplex {
    type Event = DuplexEvent;
    type Command = DuplexCommand;
    type Reply = usize;
    type UsageError = ChannelError;

    fn handle_input(&mut self, _now: Instant, data: &[u8]) -> usize {
        if self.inbound.is_closed_for_write() {
            // Cancelled by the application, or input after EOF: nobody will read it.
            return data.len();
        }
        let was_empty = self.inbound.available() == 0;
        let accepted = self.inbound.write(data).unwrap_or(0);
        // Transport bytes are visible as soon as they arrive.
        let _ = self.inbound.flush();
        if was_empty && self.inbound.available() > 0 {
            self.readable_edge = true;
        }
        accepted
    }

    fn handle_eof(&mut self, _now: Instant) {
        if !self.eof_seen {
            self.eof_seen = true;
            self.read_closed_edge = self.inbound.close().is_ok();
        }
    }

    fn handle_timeout(&mut self, _now: Instant) {}

    fn command(&mut self, _now: Instant, command: DuplexCommand) -> Result<usize, ChannelError> {
        match command {
            DuplexCommand::Write(bytes) => match self.outbound.write(&bytes) {
                Err(ChannelError::Blocked) => Ok(0),
                other => other,
            },
            DuplexCommand::Flush => self.outbound.flush(),
            DuplexCommand::Close => self.outbound.close().map(|()| 0),
            DuplexCommand::Cancel(cause) => {
                self.cancel(cause);
                Ok(0)
            }
        }
    }

    fn poll_transmit(&mut self) -> Option<Bytes> {
        let n = self.outbound.available().min(self.max_transmit);
        if n == 0 {
            return None;
        }
        let was_full = self.outbound.free_space() == 0;
        let mut chunk = BytesMut::with_capacity(n);
        let (a, b) = self.outbound.readable().ok()?;
        chunk.extend_from_slice(&a[..n.min(a.len())]);
        chunk.extend_from_slice(&b[..n - n.min(a.len())]);
        self.outbound.consume(n);
        if was_full && !self.outbound.is_closed_for_write() {
            self.writable_edge = true;
        }
        Some(chunk.freeze())
    }

    fn poll_event(&mut self) -> Option<DuplexEvent> {
        if core::mem::take(&mut self.readable_edge) {
            Some(DuplexEvent::Readable)
        } else if core::mem::take(&mut self.writable_edge) {
            Some(DuplexEvent::Writable)
        } else if core::mem::take(&mut self.read_closed_edge) {
            Some(DuplexEvent::ReadClosed)
        } else {
            None
        }
    }

    fn poll_timeout(&self) -> Option<Instant> {
        None
    }

    fn wants_read(&self) -> bool {
        if self.inbound.closed_cause().is_some() {
            true // cancelled: input is accepted and dropped
        } else {
            !self.inbound.is_closed_for_write() && self.inbound.free_space() > 0
        }
    }

    fn is_transmit_closed(&self) -> bool {
        self.outbound.is_closed_for_write() && self.outbound.available() == 0
    }

    fn is_finished(&self) -> bool {
        self.is_transmit_closed() && self.inbound.is_closed_for_read()
    }
}
