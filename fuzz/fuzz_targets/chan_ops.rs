//! Arbitrary operation sequences on a Pipe and a LineReader, checked against a plain
//! VecDeque model: no panic, bounded memory, and every byte read is the byte written.
#![no_main]

use std::collections::VecDeque;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use wirestate_core::chan::{
    ByteSink, ByteSource, Cause, ChannelError, Delimited, LineEnding, LineReader, Pipe, PipeConfig,
    TypedRead,
};

#[derive(Arbitrary, Debug)]
enum Op {
    Write(Vec<u8>),
    Flush,
    Read(u16),
    ReadU32,
    ReadLine { limit: u8, lenient: bool },
    Peek(u8),
    Discard(u16),
    Close,
    Cancel,
    Shrink,
}

#[derive(Arbitrary, Debug)]
struct Input {
    capacity: u16,
    auto_flush: bool,
    ops: Vec<Op>,
}

fuzz_target!(|input: Input| {
    let capacity = usize::from(input.capacity).max(1);
    let mut pipe = Pipe::new(PipeConfig::with_capacity(capacity).auto_flush(input.auto_flush));
    let mut lines = LineReader::new();
    // Everything written and not yet consumed, in order. Line reads may hold bytes in the
    // reader, so once one has run the model only checks lengths and bounds.
    let mut model: VecDeque<u8> = VecDeque::new();
    let mut exact = true;
    for op in input.ops {
        match op {
            Op::Write(data) => match pipe.write(&data) {
                Ok(n) => model.extend(&data[..n]),
                Err(ChannelError::Blocked) => assert!(pipe.free_space() == 0 && !data.is_empty()),
                Err(_) => assert!(pipe.is_closed_for_write()),
            },
            Op::Flush => {
                let _ = pipe.flush();
            }
            Op::Read(n) => {
                let mut buf = vec![0u8; usize::from(n)];
                if let Ok(got) = pipe.read(&mut buf) {
                    for byte in &buf[..got] {
                        let expected = model.pop_front().expect("read more than written");
                        if exact {
                            assert_eq!(*byte, expected);
                        }
                    }
                }
            }
            Op::ReadU32 => {
                if let Ok(value) = pipe.read_u32() {
                    let bytes: Vec<u8> = model.drain(..4).collect();
                    if exact {
                        assert_eq!(value.to_be_bytes().as_slice(), bytes.as_slice());
                    }
                }
            }
            Op::ReadLine { limit, lenient } => {
                exact = false;
                let ending = if lenient {
                    LineEnding::Lenient
                } else {
                    LineEnding::Default
                };
                let mut out = Vec::new();
                let before = pipe.total_read();
                match lines.read_line(&mut pipe, &mut out, usize::from(limit), ending) {
                    Ok(Delimited::Found(n) | Delimited::Eof(n)) => {
                        assert!(n <= usize::from(limit), "a line longer than its limit");
                        assert_eq!(out.len(), n);
                    }
                    Ok(Delimited::End) | Err(_) => {}
                }
                let taken = (pipe.total_read() - before) as usize;
                model.drain(..taken.min(model.len()));
            }
            Op::Peek(n) => {
                let mut buf = vec![0u8; usize::from(n)];
                if pipe.peek(&mut buf).is_ok() && exact {
                    assert!(buf.iter().zip(model.iter()).all(|(a, b)| a == b));
                }
            }
            Op::Discard(n) => {
                if let Ok(dropped) = pipe.discard(usize::from(n)) {
                    model.drain(..dropped);
                }
            }
            Op::Close => {
                let _ = pipe.close();
            }
            Op::Cancel => {
                pipe.cancel(Cause::message("fuzz"));
                model.clear();
            }
            Op::Shrink => pipe.shrink_if_empty(),
        }
        // Invariants after every step.
        assert!(pipe.available() <= capacity);
        assert!(pipe.free_space() <= capacity);
        assert!(
            lines.pending() <= 256,
            "a line reader holds at most limit + CR bytes"
        );
        if pipe.closed_cause().is_none() {
            let buffered = (pipe.available() + pipe.unflushed()) as u64;
            assert_eq!(pipe.total_written() - pipe.total_read(), buffered);
        } else {
            assert_eq!(pipe.available(), 0);
        }
    }
});
