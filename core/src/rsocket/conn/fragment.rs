//! Outbound fragmentation (RSocket 1.0, "Fragmentation And Reassembly"): metadata before
//! data, request-n only on the first fragment, F on every fragment but the last, and C/N
//! only on the last.

use bytes::Bytes;

use crate::rsocket::{Frame, Payload, RequestKind};

/// The frame header.
const HEADER: usize = 6;

/// A metadata length field, in fragments that carry metadata.
const METADATA_LENGTH: usize = 3;

/// Emits `frame` as is when it fits in `limit` bytes, or as fragments that each do.
/// `limit` must be at least 64 (see `Config::frame_limit`).
pub(crate) fn fragment(frame: Frame, limit: usize, mut emit: impl FnMut(Frame)) {
    if frame.encoded_len() <= limit {
        emit(frame);
        return;
    }
    // What goes on the last fragment, and how the first one looks.
    let (stream, first, mut rest, last_complete, last_next) = match frame {
        Frame::Request {
            stream,
            kind,
            payload,
            ..
        } => {
            let complete = matches!(kind, RequestKind::Channel { complete: true, .. });
            let kind = match kind {
                RequestKind::Channel { initial_n, .. } => RequestKind::Channel {
                    initial_n,
                    complete: false, // C moves to the last fragment
                },
                other => other,
            };
            (stream, Some(kind), payload, complete, true)
        }
        Frame::Payload {
            stream,
            complete,
            next,
            payload,
            ..
        } => (stream, None, payload, complete, next),
        other => {
            emit(other); // nothing else can be fragmented; the codec caps it
            return;
        }
    };
    let mut first_kind = first;
    let mut metadata = rest.metadata.take();
    let mut data = core::mem::take(&mut rest.data);
    loop {
        let request_n = match first_kind {
            Some(RequestKind::Stream { .. } | RequestKind::Channel { .. }) => 4,
            _ => 0,
        };
        let metadata_length = if metadata.is_some() {
            METADATA_LENGTH
        } else {
            0
        };
        let mut budget = limit - HEADER - request_n - metadata_length;
        let piece_metadata = metadata.as_mut().map(|m| {
            let take = m.len().min(budget);
            budget -= take;
            m.split_to(take)
        });
        if metadata.as_ref().is_some_and(Bytes::is_empty) {
            metadata = None;
        }
        let piece_data = data.split_to(data.len().min(budget));
        let last = metadata.is_none() && data.is_empty();
        let payload = Payload {
            metadata: piece_metadata,
            data: piece_data,
        };
        emit(match first_kind.take() {
            Some(kind) => Frame::Request {
                stream,
                kind,
                follows: !last,
                payload,
            },
            None => Frame::Payload {
                stream,
                follows: !last,
                complete: last && last_complete,
                next: last && last_next,
                payload,
            },
        });
        if last {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;
    use alloc::vec::Vec;

    fn pieces(frame: Frame, limit: usize) -> Vec<Frame> {
        let mut out = Vec::new();
        fragment(frame, limit, |f| out.push(f));
        for f in &out {
            assert!(f.encoded_len() <= limit, "{} > {limit}", f.encoded_len());
        }
        out
    }

    #[test]
    fn metadata_goes_first_and_flags_go_last() {
        let payload = Payload::with_metadata(vec![b'd'; 150], vec![b'm'; 100]);
        let frames = pieces(
            Frame::Request {
                stream: 1,
                kind: RequestKind::Channel {
                    initial_n: 7,
                    complete: true,
                },
                follows: false,
                payload: payload.clone(),
            },
            64,
        );
        assert!(frames.len() > 4);
        let Frame::Request {
            kind:
                RequestKind::Channel {
                    initial_n: 7,
                    complete: false,
                },
            follows: true,
            ..
        } = &frames[0]
        else {
            panic!("the first fragment is the request: {:?}", frames[0]);
        };
        let (mut metadata, mut data) = (Vec::new(), Vec::new());
        let mut data_started = false;
        for (i, frame) in frames.iter().enumerate() {
            let last = i == frames.len() - 1;
            let p = match frame {
                Frame::Request {
                    payload, follows, ..
                } => {
                    assert_eq!(*follows, !last);
                    payload
                }
                Frame::Payload {
                    payload,
                    follows,
                    complete,
                    next,
                    ..
                } => {
                    assert_eq!(*follows, !last);
                    assert_eq!((*complete, *next), (last, last), "C and N on the last only");
                    payload
                }
                other => panic!("{other:?}"),
            };
            if let Some(m) = &p.metadata {
                assert!(!data_started, "metadata after data");
                metadata.extend_from_slice(m);
            }
            data_started |= !p.data.is_empty();
            data.extend_from_slice(&p.data);
        }
        assert_eq!(metadata, payload.metadata.unwrap().to_vec());
        assert_eq!(data, payload.data.to_vec());
    }

    #[test]
    fn data_only_fragments_fill_the_limit() {
        let frames = pieces(
            Frame::Payload {
                stream: 2,
                follows: false,
                complete: true,
                next: true,
                payload: Payload::data(vec![1u8; 5000]),
            },
            1024,
        );
        assert!(
            frames[..frames.len() - 1]
                .iter()
                .all(|f| f.encoded_len() == 1024)
        );
    }

    #[test]
    fn small_frames_pass_whole_and_payload_flags_are_kept() {
        let small = Frame::Payload {
            stream: 2,
            follows: false,
            complete: true,
            next: true,
            payload: Payload::data("x"),
        };
        assert_eq!(pieces(small.clone(), 64), [small]);
        let big = Frame::Payload {
            stream: 2,
            follows: false,
            complete: false,
            next: true,
            payload: Payload::data(vec![1u8; 1000]),
        };
        let frames = pieces(big, 100);
        let Some(Frame::Payload {
            next: true,
            complete: false,
            follows: false,
            ..
        }) = frames.last()
        else {
            panic!("{:?}", frames.last());
        };
        assert!(frames[..frames.len() - 1].iter().all(|f| matches!(
            f,
            Frame::Payload {
                follows: true,
                next: false,
                complete: false,
                ..
            }
        )));
    }
}
