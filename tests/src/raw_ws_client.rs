//! A WebSocket load client written straight on tokio's `TcpStream`, for the field harness:
//! no WebSocket library (neither wirestate nor a peer), so that it costs the client as
//! little as a client can and the server under test, not the client, sets the pace.
//!
//! It speaks just enough RFC 6455 for an echo load: the upgrade with the RFC's own sample
//! key (§1.3: its accept value is a constant), masked binary frames built once per
//! connection and patched with a sequence number, and a parser for the server's unmasked
//! frames that checks every echo whole. A connection keeps `depth` messages in flight: one
//! write fills the window, one read takes whatever echoes have arrived.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The RFC 6455 §1.3 sample key and its accept value.
const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
pub(crate) const ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

/// The masking key of every frame (any value is valid; the server must unmask).
const MASK: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// Bytes of the sequence number at the start of every payload (fewer if it is shorter).
const SEQ_BYTES: usize = 8;

/// An upgraded connection and the bytes read past the last whole frame.
#[derive(Debug)]
pub struct RawSocket {
    stream: TcpStream,
    /// Received bytes from `start` on are not parsed yet.
    buf: Vec<u8>,
    start: usize,
}

/// The header of a client frame: FIN, `opcode`, the mask bit, the length, the key.
fn client_header(opcode: u8, len: usize) -> Vec<u8> {
    let mut header = vec![0x80 | opcode];
    match len {
        0..=125 => header.push(0x80 | len as u8),
        126..=0xffff => {
            header.push(0x80 | 126);
            header.extend_from_slice(&(len as u16).to_be_bytes());
        }
        _ => {
            header.push(0x80 | 127);
            header.extend_from_slice(&(len as u64).to_be_bytes());
        }
    }
    header.extend_from_slice(&MASK);
    header
}

fn masked(payload: &[u8]) -> impl Iterator<Item = u8> + '_ {
    payload.iter().enumerate().map(|(i, b)| b ^ MASK[i % 4])
}

/// The echo load's messages: `template` with a sequence number in its first bytes, as
/// masked frames ready to write.
#[derive(Debug, Clone)]
pub struct Frames {
    template: Vec<u8>,
    frame: Vec<u8>,
    /// Where the payload starts in `frame`.
    payload_at: usize,
}

impl Frames {
    /// Frames carrying `template`.
    pub fn new(template: Vec<u8>) -> Frames {
        let mut frame = client_header(0x2, template.len());
        let payload_at = frame.len();
        frame.extend(masked(&template));
        Frames {
            template,
            frame,
            payload_at,
        }
    }

    /// Appends the frame of message `seq` to `out`.
    pub(crate) fn push(&self, seq: u64, out: &mut Vec<u8>) {
        let at = out.len() + self.payload_at;
        out.extend_from_slice(&self.frame);
        let n = self.template.len().min(SEQ_BYTES);
        for (i, b) in seq.to_le_bytes()[..n].iter().enumerate() {
            out[at + i] = b ^ MASK[i % 4];
        }
    }

    /// Checks that `payload` is the echo of message `seq`.
    fn check(&self, seq: u64, payload: &[u8]) -> Result<(), String> {
        check_echo(&self.template, seq, payload)
    }
}

/// Checks that `payload` is the echo of the load's message `seq`: `template` with `seq` in
/// its first bytes (whichever client sent it).
pub fn check_echo(template: &[u8], seq: u64, payload: &[u8]) -> Result<(), String> {
    let n = template.len().min(SEQ_BYTES);
    if payload.len() != template.len() {
        return Err(format!(
            "echo {seq}: {} bytes, {} sent",
            payload.len(),
            template.len()
        ));
    }
    if payload[..n] != seq.to_le_bytes()[..n] || payload[n..] != template[n..] {
        return Err(format!("echo {seq}: content differs from what was sent"));
    }
    Ok(())
}

/// A server frame at the start of `bytes`: its opcode, and where its payload lies, once
/// all of it is there.
pub(crate) fn server_frame(bytes: &[u8]) -> Result<Option<(u8, std::ops::Range<usize>)>, String> {
    let [first, second, ..] = *bytes else {
        return Ok(None);
    };
    if first & 0x80 == 0 || second & 0x80 != 0 {
        return Err(format!(
            "unexpected frame header {first:#04x} {second:#04x}"
        ));
    }
    let (len, at) = match second & 0x7f {
        126 if bytes.len() >= 4 => (u16::from_be_bytes([bytes[2], bytes[3]]) as usize, 4),
        127 if bytes.len() >= 10 => {
            let len = u64::from_be_bytes(bytes[2..10].try_into().expect("8 bytes"));
            (usize::try_from(len).map_err(|_| "frame too long")?, 10)
        }
        126 | 127 => return Ok(None),
        len => (len as usize, 2),
    };
    Ok((bytes.len() - at >= len).then(|| (first & 0x0f, at..at + len)))
}

impl RawSocket {
    /// Connects to `address` and upgrades to a WebSocket, within `stall`.
    pub async fn open(address: &str, stall: Duration) -> Result<RawSocket, String> {
        let opening = async {
            let mut stream = TcpStream::connect(address)
                .await
                .map_err(|e| e.to_string())?;
            stream.set_nodelay(true).map_err(|e| e.to_string())?;
            let request = format!(
                "GET / HTTP/1.1\r\nHost: {address}\r\nUpgrade: websocket\r\n\
                 Connection: Upgrade\r\nSec-WebSocket-Key: {KEY}\r\n\
                 Sec-WebSocket-Version: 13\r\n\r\n"
            );
            stream
                .write_all(request.as_bytes())
                .await
                .map_err(|e| e.to_string())?;
            let mut buf = Vec::with_capacity(64 * 1024);
            let end = loop {
                if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                    break at + 4;
                }
                if buf.len() > 16 * 1024
                    || stream.read_buf(&mut buf).await.map_err(|e| e.to_string())? == 0
                {
                    return Err("the upgrade response ended early".to_string());
                }
            };
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            if !head.starts_with("http/1.1 101")
                || !head.contains(&format!(
                    "sec-websocket-accept: {}",
                    ACCEPT.to_ascii_lowercase()
                ))
            {
                return Err(format!("not a valid upgrade response: {head:?}"));
            }
            Ok(RawSocket {
                stream,
                buf,
                start: end,
            })
        };
        tokio::time::timeout(stall, opening)
            .await
            .map_err(|_| "connecting timed out".to_string())?
    }

    /// Reads more bytes, within `stall`; an end of stream is an error.
    async fn read_more(&mut self, stall: Duration) -> Result<(), String> {
        if self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
        } else if self.start > self.buf.capacity() / 2 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        self.buf.reserve(16 * 1024);
        let read = tokio::time::timeout(stall, self.stream.read_buf(&mut self.buf))
            .await
            .map_err(|_| format!("nothing arrived within {stall:?}"))?
            .map_err(|e| e.to_string())?;
        match read {
            0 => Err("the server closed the connection".to_string()),
            _ => Ok(()),
        }
    }

    /// Keeps `depth` messages of `frames` in flight until `deadline`, then waits for the
    /// last echoes; returns the echoes received, each checked whole.
    pub async fn echo_load(
        &mut self,
        frames: &Frames,
        depth: u64,
        deadline: Instant,
        stall: Duration,
    ) -> Result<u64, String> {
        let (mut sent, mut received) = (0u64, 0u64);
        let mut out = Vec::with_capacity(frames.frame.len() * depth as usize);
        loop {
            if Instant::now() < deadline {
                while sent - received < depth {
                    frames.push(sent, &mut out);
                    sent += 1;
                }
                if !out.is_empty() {
                    self.stream
                        .write_all(&out)
                        .await
                        .map_err(|e| e.to_string())?;
                    out.clear();
                }
            } else if sent == received {
                return Ok(received);
            }
            self.read_more(stall).await?;
            while let Some((opcode, payload)) = server_frame(&self.buf[self.start..])? {
                if opcode != 0x2 {
                    return Err(format!("echo {received}: opcode {opcode}, not binary"));
                }
                let at = self.start;
                frames.check(received, &self.buf[at + payload.start..at + payload.end])?;
                self.start += payload.end;
                received += 1;
            }
        }
    }

    /// Sends a normal close and waits, within `stall`, for the server's close frame or
    /// the end of the stream.
    pub async fn close(mut self, stall: Duration) {
        let mut frame = client_header(0x8, 2);
        frame.extend(masked(&1000u16.to_be_bytes()));
        let closing = async {
            self.stream
                .write_all(&frame)
                .await
                .map_err(|e| e.to_string())?;
            loop {
                while let Some((opcode, payload)) = server_frame(&self.buf[self.start..])? {
                    if opcode == 0x8 {
                        return Ok(());
                    }
                    self.start += payload.end;
                }
                self.read_more(stall).await?;
            }
        };
        let _: Result<Result<(), String>, _> = tokio::time::timeout(stall, closing).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_carry_the_sequence_number_masked() {
        let frames = Frames::new(vec![0xaa; 300]);
        let mut out = Vec::new();
        frames.push(0x0102, &mut out);
        assert_eq!(&out[..4], &[0x82, 0x80 | 126, 0x01, 0x2c]);
        assert_eq!(&out[4..8], &MASK);
        let payload: Vec<u8> = masked(&out[8..]).collect();
        assert_eq!(&payload[..8], &0x0102u64.to_le_bytes());
        assert!(payload[8..].iter().all(|&b| b == 0xaa));
        assert!(frames.check(0x0102, &payload).is_ok());
        assert!(frames.check(0x0103, &payload).is_err());
    }

    #[test]
    fn server_frames_are_parsed_once_whole() {
        let mut frame = vec![0x82, 126, 0x01, 0x00];
        frame.extend(std::iter::repeat_n(7, 256));
        assert_eq!(server_frame(&frame[..100]), Ok(None));
        assert_eq!(server_frame(&frame[..3]), Ok(None));
        assert_eq!(server_frame(&frame), Ok(Some((2, 4..260))));
        assert_eq!(server_frame(&[0x81, 0x00]), Ok(Some((1, 2..2))));
        assert!(
            server_frame(&[0x82, 0x81]).is_err(),
            "a masked server frame"
        );
    }
}
