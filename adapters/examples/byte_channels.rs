//! Byte channels at work: a typed, line-oriented conversation through an in-memory channel,
//! the std interop views, and the same byte-connection machine driven over loopback TCP.
//!
//! Run: `cargo run -p wirestate --example byte_channels`

use std::io::{self, BufRead, Write};
use std::net::TcpListener;
use std::time::Duration;

use wirestate::chan::{LineEnding, PipeConfig, byte_channel};
use wirestate::core::chan::{ByteSink, ByteSource, Duplex, DuplexEvent};
use wirestate::driver::{self, Connection};

fn main() -> io::Result<()> {
    smol::block_on(async {
        in_memory().await?;
        std_interop()?;
        over_tcp().await
    })
}

/// A writer task and a reader task exchange a typed header and lines (Ktor's
/// `writeInt` / `readInt` / `readLine`), with backpressure through a 64-byte channel.
async fn in_memory() -> io::Result<()> {
    let (mut writer, mut reader) = byte_channel(PipeConfig::with_capacity(64));
    let producer = smol::spawn(async move {
        let lines = ["first line", "second line\twith a tab", "ünïcödé line"];
        writer.write_u32(lines.len() as u32).await?;
        for line in lines {
            writer.write_str(line).await?;
            writer.write_str("\r\n").await?;
        }
        writer.flush_and_close().await
    });
    let count = reader.read_u32().await?;
    println!("[memory] header says {count} lines");
    let mut line = String::new();
    while reader
        .read_line(&mut line, 1024, LineEnding::Default)
        .await?
    {
        println!("[memory] line: {line:?}");
        line.clear();
    }
    producer.await?;
    println!(
        "[memory] {} bytes moved through a 64-byte channel",
        reader.total_read()
    );
    Ok(())
}

/// The blocking views are plain `std::io` types: a thread writes with `writeln!`, another
/// reads with `BufRead::lines`.
fn std_interop() -> io::Result<()> {
    let (mut writer, mut reader) = byte_channel(PipeConfig::default());
    let thread = std::thread::spawn(move || -> io::Result<()> {
        let mut sink = writer.blocking();
        for i in 1..=3 {
            writeln!(sink, "std line {i}")?;
        }
        sink.flush()?; // waits until the reader has taken the bytes (Ktor's asSink)
        sink.close()
    });
    for line in reader.blocking().lines() {
        println!("[std] {}", line?);
    }
    thread.join().expect("writer thread")
}

/// A `Duplex` machine run by the smol driver over a loopback connection to an echo peer.
async fn over_tcp() -> io::Result<()> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let echo = std::thread::spawn(move || -> io::Result<()> {
        let (mut stream, _) = listener.accept()?;
        stream.set_read_timeout(Some(Duration::from_secs(5)))?;
        let mut peer = stream.try_clone()?;
        io::copy(&mut stream, &mut peer)?;
        peer.shutdown(std::net::Shutdown::Write)
    });

    let stream = smol::net::TcpStream::connect(addr).await?;
    let conn = Connection::new(Duplex::default());
    let driver = smol::spawn(driver::smol::run(conn.clone(), stream));
    conn.with(|m| -> Result<(), wirestate::chan::ChannelError> {
        m.outbound_mut()
            .write(b"hello over TCP, through the smol driver\n")?;
        m.outbound_mut().close() // publishes, then half-closes the socket once sent
    })
    .map_err(io::Error::other)?;

    let mut echoed = Vec::new();
    let mut buf = [0u8; 4096];
    while let Some(event) = conn.next_event().await {
        if event == DuplexEvent::Readable || event == DuplexEvent::ReadClosed {
            while let Ok(n @ 1..) = conn.with(|m| m.inbound_mut().read(&mut buf)) {
                echoed.extend_from_slice(&buf[..n]);
            }
        }
    }
    driver.await?;
    echo.join().expect("echo thread")?;
    print!("[tcp] echoed: {}", String::from_utf8_lossy(&echoed));
    Ok(())
}
