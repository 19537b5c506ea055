//! One stream's state: which sides are open, credit both ways, items held for credit, and
//! a message being reassembled from fragments.

use alloc::boxed::Box;
use alloc::collections::VecDeque;
use bytes::BytesMut;

use super::event::Demand;
use crate::rsocket::{MAX_REQUEST_N, Payload};

/// Credit: items allowed so far minus items used, saturating; `MAX_REQUEST_N` or more is
/// unbounded for good (RSocket implementations all treat 2^31-1 that way). A bounded
/// credit is below 2^31, so 32 bits hold it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Credit {
    available: u32,
    unbounded: bool,
}

impl Credit {
    pub(crate) fn new(n: u32) -> Credit {
        let mut credit = Credit::default();
        credit.grant(n);
        credit
    }

    /// Adds `n` (cumulative; 2^31-1 at once, or in total, is unbounded).
    pub(crate) fn grant(&mut self, n: u32) {
        self.available = self.available.saturating_add(n);
        if n >= MAX_REQUEST_N || self.available >= MAX_REQUEST_N {
            self.unbounded = true;
        }
    }

    /// Uses one item of credit; `false` if there was none.
    pub(crate) fn take(&mut self) -> bool {
        if self.unbounded {
            return true;
        }
        match self.available {
            0 => false,
            _ => {
                self.available -= 1;
                true
            }
        }
    }

    pub(crate) fn is_unbounded(&self) -> bool {
        self.unbounded
    }
}

/// Who opened the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    /// We did: we are the requester.
    Requester,
    /// The peer did: we are the responder.
    Responder,
}

/// The kind of stream, for the rules that differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Response,
    Stream,
    Channel,
}

/// A payload being reassembled from fragments.
#[derive(Debug, Default)]
pub(crate) struct Partial {
    pub(crate) metadata: Option<BytesMut>,
    pub(crate) data: BytesMut,
    /// N or C seen on any fragment (rsocket-rust puts them on the first one).
    pub(crate) next: bool,
    pub(crate) complete: bool,
}

impl Partial {
    pub(crate) fn len(&self) -> usize {
        self.metadata.as_ref().map_or(0, |m| m.len()) + self.data.len()
    }

    pub(crate) fn push(&mut self, payload: &Payload) {
        if let Some(metadata) = &payload.metadata {
            self.metadata
                .get_or_insert_with(BytesMut::new)
                .extend_from_slice(metadata);
        }
        self.data.extend_from_slice(&payload.data);
    }

    pub(crate) fn into_payload(self) -> Payload {
        Payload {
            metadata: self.metadata.map(BytesMut::freeze),
            data: self.data.freeze(),
        }
    }
}

/// What a fragmented inbound message will be once complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Assembling {
    /// A request the peer is still sending (the stream is not delivered yet).
    Request(super::event::Interaction),
    /// An item (PAYLOAD) on an open stream.
    Item,
}

/// One live stream.
#[derive(Debug)]
pub(crate) struct Stream {
    pub(crate) side: Side,
    pub(crate) kind: Kind,
    /// The peer may still send items (or, for a response, its one answer).
    pub(crate) inbound_open: bool,
    /// We may still send items.
    pub(crate) outbound_open: bool,
    /// Items the peer may still send us.
    pub(crate) inbound_credit: Credit,
    /// How we grant the peer more.
    pub(crate) demand: Demand,
    /// Items the application consumed since our last grant (window demand).
    pub(crate) consumed: u32,
    /// Items beyond credit tolerated so far.
    pub(crate) overflow: u32,
    /// Items we may still send.
    pub(crate) outbound_credit: Credit,
    /// Items waiting for credit, each with "complete after it".
    pub(crate) held: VecDeque<(Payload, bool)>,
    /// Complete our side once `held` is empty.
    pub(crate) complete_after_held: bool,
    /// A message coming in fragments (boxed: most streams never see one).
    pub(crate) partial: Option<Box<(Assembling, Partial)>>,
}

impl Stream {
    pub(crate) fn new(side: Side, kind: Kind, demand: Demand, outbound_credit: Credit) -> Stream {
        Stream {
            side,
            kind,
            inbound_open: true,
            outbound_open: true,
            inbound_credit: Credit::new(demand.initial()),
            demand,
            consumed: 0,
            overflow: 0,
            outbound_credit,
            held: VecDeque::new(),
            complete_after_held: false,
            partial: None,
        }
    }

    /// Both sides are over: the stream can be forgotten.
    pub(crate) fn is_done(&self) -> bool {
        !self.inbound_open && !self.outbound_open && self.partial.is_none()
    }
}
