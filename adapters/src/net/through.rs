//! A socket's side of write-through and read-through (see `chan::write_through` and
//! `chan::read_through`): the application's writes go straight to the socket while the
//! write pump has nothing to send, and its reads come straight from the socket while the
//! read channel is empty and the read pump is not reading.

use std::io::{self, Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering, fence};
use std::task::{Context, Poll};

use atomic_waker::AtomicWaker;

use super::pump::PollRead;
use super::socket::DirectIo;
use crate::chan::read_through::ReadThrough;
use crate::chan::write_through::WriteThrough;

/// A duplicate descriptor of a socket whose descriptor is non-blocking (smol's and tokio's
/// are: the flag belongs to the socket, which every duplicate shares), so a write never
/// waits. Going around the runtime's reactor is fine: the pump, which waits on it, has
/// nothing to write while the application writes through.
#[derive(Debug)]
pub(crate) struct NonBlockingSocket(socket2::Socket);

impl NonBlockingSocket {
    /// Write-through to `socket`, which must be in non-blocking mode.
    pub(crate) fn boxed(socket: socket2::Socket) -> Box<dyn WriteThrough> {
        Box::new(NonBlockingSocket(socket))
    }
}

impl WriteThrough for NonBlockingSocket {
    fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        (&self.0).write(buf)
    }
}

/// Direct I/O for a socket whose descriptor is non-blocking, and the read side its read
/// pump must take turns on ([`TakingTurns`]).
pub(crate) fn direct_io(handle: &socket2::Socket) -> io::Result<(DirectIo, Arc<SharedReadSide>)> {
    let side = SharedReadSide::new(handle.try_clone()?);
    let direct = DirectIo {
        write: Some(NonBlockingSocket::boxed(handle.try_clone()?)),
        read: Some(side.application()),
    };
    Ok((direct, side))
}

/// Who may read the socket now: the read pump, the application (reading through), or
/// nobody. Whoever reads holds it until its bytes are where the other would look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
enum ReadOwner {
    Nobody = 0,
    Pump = 1,
    Application = 2,
}

/// The socket's read side, shared by the read pump and the application's read channel.
#[derive(Debug)]
pub(crate) struct SharedReadSide {
    owner: AtomicU8,
    /// The pump lost the socket to the application and waits for it back.
    pump_waiting: AtomicBool,
    pump_waker: AtomicWaker,
    /// The application read bytes through since the pump last asked (for its timeout).
    application_read: AtomicBool,
    /// A non-blocking duplicate descriptor, for the application's reads.
    socket: socket2::Socket,
}

impl SharedReadSide {
    /// The read side of `socket`, which must be in non-blocking mode.
    pub(crate) fn new(socket: socket2::Socket) -> Arc<Self> {
        Arc::new(SharedReadSide {
            owner: AtomicU8::new(ReadOwner::Nobody as u8),
            pump_waiting: AtomicBool::new(false),
            pump_waker: AtomicWaker::new(),
            application_read: AtomicBool::new(false),
            socket,
        })
    }

    fn claim(&self, who: ReadOwner) -> bool {
        let nobody = ReadOwner::Nobody as u8;
        self.owner
            .compare_exchange(nobody, who as u8, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
    }

    /// Claims the socket for the pump, or registers the pump to be woken when the
    /// application gives it back (Dekker, as the channel ring's waits: either the retry
    /// wins or the application's release sees the flag).
    fn claim_for_pump(&self, cx: &mut Context<'_>) -> bool {
        if self.claim(ReadOwner::Pump) {
            return true;
        }
        self.pump_waker.register(cx.waker());
        self.pump_waiting.store(true, Ordering::Relaxed);
        fence(Ordering::SeqCst);
        let won = self.claim(ReadOwner::Pump);
        if won {
            self.pump_waiting.store(false, Ordering::Relaxed);
        }
        won
    }

    fn release(&self, who: ReadOwner) {
        debug_assert_eq!(self.owner.load(Ordering::Relaxed), who as u8);
        self.owner.store(ReadOwner::Nobody as u8, Ordering::Release);
        if who == ReadOwner::Application {
            fence(Ordering::SeqCst);
            if self.pump_waiting.load(Ordering::Relaxed)
                && self.pump_waiting.swap(false, Ordering::AcqRel)
            {
                self.pump_waker.wake();
            }
        }
    }

    /// The application's handle (installed in its read channel).
    pub(crate) fn application(self: &Arc<Self>) -> Box<dyn ReadThrough> {
        Box::new(ApplicationRead(Arc::clone(self)))
    }
}

#[derive(Debug)]
struct ApplicationRead(Arc<SharedReadSide>);

impl ReadThrough for ApplicationRead {
    fn try_read(
        &self,
        buf: &mut [u8],
        ring_is_empty: &dyn Fn() -> bool,
    ) -> io::Result<Option<usize>> {
        let side = &*self.0;
        if buf.is_empty() || !side.claim(ReadOwner::Application) {
            return Ok(None);
        }
        // The pump published its last read before it let go: check the ring only now.
        let read = if ring_is_empty() {
            (&side.socket).read(buf)
        } else {
            Ok(0)
        };
        side.release(ReadOwner::Application);
        match read {
            Ok(0) => Ok(None), // nothing tried, or the end: the pump reports the end
            Ok(n) => {
                side.application_read.store(true, Ordering::Relaxed);
                Ok(Some(n))
            }
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => Ok(None),
            Err(error) => Err(error),
        }
    }
}

/// A read pump's socket that takes turns with the application: it holds the socket from
/// each read until the pump has published the bytes ([`PollRead::release`]).
pub(crate) struct TakingTurns<R> {
    inner: R,
    side: Arc<SharedReadSide>,
    holding: bool,
}

impl<R> TakingTurns<R> {
    pub(crate) fn new(inner: R, side: Arc<SharedReadSide>) -> Self {
        TakingTurns {
            inner,
            side,
            holding: false,
        }
    }
}

impl<R: PollRead> PollRead for TakingTurns<R> {
    fn poll_read(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        if !self.holding {
            if !self.side.claim_for_pump(cx) {
                return Poll::Pending;
            }
            self.holding = true;
        }
        let read = self.inner.poll_read(cx, buf);
        if read.is_pending() {
            self.release(); // the application may read while the socket has nothing
        }
        read
    }

    fn release(&mut self) {
        if std::mem::take(&mut self.holding) {
            self.side.release(ReadOwner::Pump);
        }
    }

    fn read_elsewhere(&mut self) -> bool {
        self.side.application_read.swap(false, Ordering::Relaxed)
    }
}

impl<R> Drop for TakingTurns<R> {
    fn drop(&mut self) {
        if self.holding {
            self.side.release(ReadOwner::Pump);
        }
    }
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::net::UnixStream;
    use std::sync::atomic::AtomicUsize;
    use std::task::{Wake, Waker};

    use super::*;

    /// A pump socket that returns what it is told, standing in for the runtime's stream.
    struct Scripted(Option<usize>);

    impl PollRead for Scripted {
        fn poll_read(&mut self, _: &mut Context<'_>, _: &mut [u8]) -> Poll<io::Result<usize>> {
            self.0.map_or(Poll::Pending, |n| Poll::Ready(Ok(n)))
        }
    }

    struct CountingWaker(AtomicUsize);

    impl Wake for CountingWaker {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn side_with_bytes_waiting() -> (Arc<SharedReadSide>, UnixStream) {
        let (ours, peer) = UnixStream::pair().unwrap();
        ours.set_nonblocking(true).unwrap();
        (&peer).write_all(b"waiting").unwrap();
        (SharedReadSide::new(socket2::Socket::from(ours)), peer)
    }

    /// The pump holds the socket from its read until it has published the bytes: the
    /// application cannot read in between, and can once the pump lets go.
    #[test]
    fn the_application_waits_while_the_pump_holds_the_socket() {
        let (side, _peer) = side_with_bytes_waiting();
        let app = side.application();
        let mut pump = TakingTurns::new(Scripted(Some(3)), Arc::clone(&side));
        let mut cx = Context::from_waker(Waker::noop());
        assert!(pump.poll_read(&mut cx, &mut [0; 8]).is_ready());
        let mut buf = [0; 16];
        assert_eq!(app.try_read(&mut buf, &|| true).unwrap(), None);
        pump.release();
        assert_eq!(
            app.try_read(&mut buf, &|| false).unwrap(),
            None,
            "ring not empty"
        );
        assert_eq!(app.try_read(&mut buf, &|| true).unwrap(), Some(7));
        assert_eq!(&buf[..7], b"waiting");
        assert!(pump.read_elsewhere());
        assert!(!pump.read_elsewhere());
    }

    /// A pump that finds the application reading waits, and the application's release
    /// wakes it; a pump whose socket has nothing lets the application read.
    #[test]
    fn a_pump_that_lost_the_socket_is_woken_when_it_is_free() {
        let (side, _peer) = side_with_bytes_waiting();
        let counter = Arc::new(CountingWaker(AtomicUsize::new(0)));
        let waker = Waker::from(Arc::clone(&counter));
        let mut cx = Context::from_waker(&waker);
        assert!(side.claim(ReadOwner::Application));
        let mut pump = TakingTurns::new(Scripted(Some(3)), Arc::clone(&side));
        assert!(pump.poll_read(&mut cx, &mut [0; 8]).is_pending());
        side.release(ReadOwner::Application);
        assert_eq!(counter.0.load(Ordering::SeqCst), 1);
        let mut idle = TakingTurns::new(Scripted(None), Arc::clone(&side));
        assert!(idle.poll_read(&mut cx, &mut [0; 8]).is_pending());
        assert!(
            side.claim(ReadOwner::Application),
            "an idle pump holds nothing"
        );
    }
}
