//! Raw std [`TcpStream`] peers on their own threads, and what they do with the stream.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use crate::LIMIT;

/// A peer on a std thread: accepts one connection (within [`LIMIT`]) and runs `f` on it,
/// with every blocking read and write on it limited to [`LIMIT`] too.
pub fn peer<R: Send + 'static>(
    f: impl FnOnce(TcpStream) -> R + Send + 'static,
) -> (SocketAddr, JoinHandle<R>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let handle = thread::spawn(move || {
        listener.set_nonblocking(true).unwrap();
        let deadline = std::time::Instant::now() + LIMIT;
        let stream = loop {
            match listener.accept() {
                Ok((stream, _)) => break stream,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    assert!(std::time::Instant::now() < deadline, "nobody connected");
                    thread::sleep(Duration::from_millis(1));
                }
                Err(e) => panic!("accept: {e}"),
            }
        };
        stream.set_nonblocking(false).unwrap();
        stream.set_read_timeout(Some(LIMIT)).unwrap();
        stream.set_write_timeout(Some(LIMIT)).unwrap();
        f(stream)
    });
    (addr, handle)
}

/// Reads until the end of stream.
pub fn read_to_end(stream: &mut TcpStream) -> Vec<u8> {
    let mut all = Vec::new();
    stream.read_to_end(&mut all).expect("peer read");
    all
}

/// Reads until the end of stream and returns all of it.
pub fn drain(mut stream: TcpStream) -> Vec<u8> {
    read_to_end(&mut stream)
}

/// Echoes everything until the end of stream, then closes; returns the count echoed.
pub fn echo(mut stream: TcpStream) -> usize {
    let mut buf = vec![0u8; 32 * 1024];
    let mut echoed = 0usize;
    loop {
        match stream.read(&mut buf).expect("peer read") {
            0 => break,
            n => {
                stream.write_all(&buf[..n]).expect("peer write");
                echoed += n;
            }
        }
    }
    echoed // dropping the stream closes it
}

/// Writes all of `data`, shuts its write side down, then reads until the end of stream
/// and returns what it read.
pub fn send_then_drain(mut stream: TcpStream, data: &[u8]) -> Vec<u8> {
    stream.write_all(data).expect("peer write");
    stream.shutdown(Shutdown::Write).unwrap();
    read_to_end(&mut stream)
}

/// Writes `data` until done or refused (the other side went away); returns what it wrote.
pub fn send_until_refused(mut stream: TcpStream, data: &[u8]) -> usize {
    let mut sent = 0;
    while sent < data.len() {
        match stream.write(&data[sent..]) {
            Ok(0) | Err(_) => break,
            Ok(n) => sent += n,
        }
    }
    sent
}

/// Reads the request until the end of stream (the other side's FIN), then writes `reply`
/// and closes; returns the request.
pub fn reply_after_eof(mut stream: TcpStream, reply: &[u8]) -> Vec<u8> {
    let request = read_to_end(&mut stream); // the app's FIN ends this
    stream.write_all(reply).unwrap();
    request
}

/// Reads once, then closes with linger 0 while more data is on its way: a reset.
pub fn reset_after_first_read(mut stream: TcpStream) {
    let mut buf = [0u8; 1024];
    let _ = stream.read(&mut buf);
    socket2::SockRef::from(&stream)
        .set_linger(Some(Duration::ZERO))
        .unwrap();
    // Dropping with unread data and linger 0 sends RST.
}
