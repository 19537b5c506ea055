//! The field harness's floor: the least work a tokio server can do per echo of the load
//! client ([`raw_ws_client`](crate::raw_ws_client)), to show what the runtime and the
//! kernel cost on the machine at hand, below any WebSocket library.
//!
//! It is not a WebSocket server. It answers only that client's fixed upgrade request (the
//! RFC's sample key), checks nothing (no reserved bits, no lengths, no UTF-8), answers no
//! ping and ends at the first close frame. Per read it echoes every whole frame unmasked
//! into one buffer and writes that once, as a server that batches its writes does.

use std::io::{self, IoSlice};
use std::ops::Range;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::raw_ws_client::ACCEPT;

/// Where [`echo_frames`] stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Echoed {
    /// Input bytes taken: every whole frame before the first partial one.
    pub consumed: usize,
    /// A close frame came (it is not echoed; nothing after it is read).
    pub closed: bool,
}

/// A client frame at the start of `bytes`, once all of it is there: its first header byte,
/// masking key and where its payload lies.
fn client_frame(bytes: &[u8]) -> Option<(u8, [u8; 4], Range<usize>)> {
    let [first, second, ..] = *bytes else {
        return None;
    };
    let (len, at) = match second & 0x7f {
        126 => (
            u16::from_be_bytes(bytes.get(2..4)?.try_into().ok()?) as usize,
            4,
        ),
        127 => {
            let len = u64::from_be_bytes(bytes.get(2..10)?.try_into().ok()?);
            (usize::try_from(len).ok()?, 10)
        }
        len => (len as usize, 2),
    };
    let key = bytes.get(at..at + 4)?.try_into().ok()?;
    let start = at + 4;
    (bytes.len() - start >= len).then_some((first, key, start..start + len))
}

/// Unmasks `payload` in place with `key`, eight bytes at a time.
fn unmask(payload: &mut [u8], key: [u8; 4]) {
    let [a, b, c, d] = key;
    let word = u64::from_ne_bytes([a, b, c, d, a, b, c, d]);
    let mut chunks = payload.chunks_exact_mut(8);
    for chunk in &mut chunks {
        let bytes: &mut [u8; 8] = chunk.try_into().expect("8 bytes");
        *bytes = (u64::from_ne_bytes(*bytes) ^ word).to_ne_bytes();
    }
    for (byte, k) in chunks.into_remainder().iter_mut().zip(word.to_ne_bytes()) {
        *byte ^= k;
    }
}

/// Turns every whole client frame at the start of `input` into its echo, in place: the
/// payload unmasked, and before it the frame's header without the mask bit (the masking
/// key's four bytes make room for it). Pushes where each echo lies onto `echoes`.
pub fn echo_frames(input: &mut [u8], echoes: &mut Vec<Range<usize>>) -> Echoed {
    let mut consumed = 0;
    while let Some((first, key, payload)) = client_frame(&input[consumed..]) {
        if first & 0x0f == 0x8 {
            return Echoed {
                consumed,
                closed: true,
            };
        }
        let frame = &mut input[consumed..consumed + payload.end];
        unmask(&mut frame[payload.clone()], key);
        // The header ends where the key starts: move it up against the payload.
        let header_len = payload.start - 4;
        frame.copy_within(..header_len, 4);
        frame[5] &= 0x7f;
        echoes.push(consumed + 4..consumed + payload.end);
        consumed += payload.end;
    }
    Echoed {
        consumed,
        closed: false,
    }
}

/// Serves one connection of the load client: the upgrade, then echoes until its close or
/// its end of stream.
pub async fn serve(mut stream: TcpStream) -> io::Result<()> {
    stream.set_nodelay(true)?;
    let mut buf = vec![0u8; 64 * 1024];
    let mut filled = 0;
    loop {
        let n = stream.read(&mut buf[filled..]).await?;
        if n == 0 {
            return Ok(());
        }
        filled += n;
        if let Some(end) = buf[..filled].windows(4).position(|w| w == b"\r\n\r\n") {
            let response = format!(
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
                 Connection: Upgrade\r\nSec-WebSocket-Accept: {ACCEPT}\r\n\r\n"
            );
            stream.write_all(response.as_bytes()).await?;
            buf.copy_within(end + 4..filled, 0);
            filled -= end + 4;
            break;
        }
        if filled == buf.len() {
            return Err(io::Error::other("the upgrade request is too long"));
        }
    }
    let mut echoes = Vec::new();
    loop {
        let echoed = echo_frames(&mut buf[..filled], &mut echoes);
        write_all_vectored(&mut stream, &buf, &echoes).await?;
        echoes.clear();
        if echoed.closed {
            return Ok(());
        }
        buf.copy_within(echoed.consumed..filled, 0);
        filled -= echoed.consumed;
        if filled == buf.len() {
            buf.resize(buf.len() * 2, 0); // a frame larger than the buffer
        }
        match stream.read(&mut buf[filled..]).await? {
            0 => return Ok(()),
            n => filled += n,
        }
    }
}

/// Writes every range of `buf` in `echoes`, in order, in as few vectored writes as the
/// socket takes.
async fn write_all_vectored(
    stream: &mut TcpStream,
    buf: &[u8],
    echoes: &[Range<usize>],
) -> io::Result<()> {
    // At most IOV_MAX (1024 on Linux) slices per system call.
    for batch in echoes.chunks(1024) {
        let mut slices: Vec<IoSlice<'_>> = batch
            .iter()
            .map(|r| IoSlice::new(&buf[r.clone()]))
            .collect();
        let mut slices = &mut slices[..];
        while !slices.is_empty() {
            match stream.write_vectored(slices).await? {
                0 => return Err(io::ErrorKind::WriteZero.into()),
                n => IoSlice::advance_slices(&mut slices, n),
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raw_ws_client::{Frames, check_echo, server_frame};

    #[test]
    fn whole_frames_are_echoed_unmasked_and_a_partial_one_waits() {
        for size in [0, 7, 20, 125, 126, 1024, 70_000] {
            let template = crate::pattern(size, 3);
            let frames = Frames::new(template.clone());
            let mut input = Vec::new();
            frames.push(1, &mut input);
            frames.push(2, &mut input);
            let whole = input.len();
            frames.push(3, &mut input);
            input.truncate(input.len() - 1);

            let mut echoes = Vec::new();
            let echoed = echo_frames(&mut input, &mut echoes);
            assert_eq!(echoed.consumed, whole, "{size} bytes");
            assert!(!echoed.closed);
            let out: Vec<u8> = echoes
                .iter()
                .flat_map(|r| input[r.clone()].to_vec())
                .collect();
            let mut at = 0;
            for seq in 1..=2 {
                let (opcode, payload) = server_frame(&out[at..]).unwrap().unwrap();
                assert_eq!(opcode, 0x2);
                check_echo(&template, seq, &out[at + payload.start..at + payload.end]).unwrap();
                at += payload.end;
            }
            assert_eq!(at, out.len());
        }
    }

    #[test]
    fn a_close_frame_ends_the_echo() {
        let frames = Frames::new(vec![1; 20]);
        let mut input = Vec::new();
        frames.push(0, &mut input);
        let before_close = input.len();
        input.extend_from_slice(&[0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe8]);
        frames.push(1, &mut input);
        let mut echoes = Vec::new();
        let echoed = echo_frames(&mut input, &mut echoes);
        assert_eq!(
            echoed,
            Echoed {
                consumed: before_close,
                closed: true
            }
        );
        assert_eq!(echoes.len(), 1);
        assert_eq!(echoes[0], 4..before_close);
    }
}
