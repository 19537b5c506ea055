//! WebSocket framing cost against tungstenite, in the same run, printing ratios and goal
//! verdicts (goals: ../shared/docs/websocket.md §5 item 9, issue 4).
//!
//! - decode: a 20-byte masked text frame as a server receives it, 1000 frames back to back
//!   in one input (as one socket read delivers them under load). Two levels per library:
//!   the pieces (header parse, unmask in place, UTF-8 check) and the full connection path
//!   (wirestate `Connection::handle_input` + `poll_event`; tungstenite `WebSocket::read`
//!   over an in-memory stream replaying the frames). Goals: ≤ 30 ns and ≥ 2x tungstenite.
//! - encode: the same message as a client sends it (header, payload copy, masking), again
//!   as pieces and through the connection (`Command::Send` + `poll_transmit`, copied into a
//!   sink; tungstenite `WebSocket::write` + `flush` into a sink). Goals: ≤ 25 ns, ≥ 2x.
//! - unmask throughput for 1 KiB, 16 KiB and 1 MiB payloads. Goal ≥ 20 GB/s.
//! - a 16 KiB frame received from every offset of a page, against a plain copying
//!   receive: the worst offsets show a slow path of some `memcpy`s that wirestate avoids.
//! - heap allocations per message in steady state (goal: none), counted by the global
//!   allocator below, split by operation.
//!
//! tungstenite 0.30 keeps its `apply_mask` private, so its "pieces" use a verbatim copy of
//! it (`tungstenite_apply_mask`, checked against ours); its connection path uses its own.
//! Every output is checked (decoded text equals the input, encoded frames decode back).
//! Each sample runs many passes per contender; rounds rotate the contenders' order;
//! medians are reported. `BENCH_QUICK=1` shortens the run (as CI does).

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::io::{Cursor, Read, Write};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use tungstenite::protocol::frame::FrameHeader as TFrameHeader;
use tungstenite::protocol::frame::coding::{Data, OpCode};
use tungstenite::protocol::{Role as TRole, WebSocket};
use wirestate_core::http::{Accept, ClientRequest};
use wirestate_core::ws::{
    Command, Config, Connection, Event, FrameHeader, FrameRules, InPlace, Message, MessageRef,
    Opcode, Role, Utf8Validator, apply_mask, parse_header,
};
use wirestate_core::{Machine, Rng};

// ---- counting allocator -------------------------------------------------------------------

/// `System`, counting every allocation and reallocation.
struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Relaxed);
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations() -> u64 {
    ALLOCATIONS.load(Relaxed)
}

// ---- inputs -------------------------------------------------------------------------------

const TEXT: &str = "wirestate says hello"; // 20 bytes
const FRAMES: usize = 1000; // messages per pass
const FRAME_LEN: usize = 26; // 2-byte header, 4-byte key, payload
const ALLOC_MESSAGES: usize = 100_000;
const NOW: wirestate_core::Instant = wirestate_core::Instant::ZERO;

/// (rounds, passes per sample, bytes unmasked per sample)
fn settings() -> (usize, usize, usize) {
    if std::env::var_os("BENCH_QUICK").is_some() {
        (5, 20, 64 << 20)
    } else {
        (11, 100, 256 << 20)
    }
}

fn key(i: usize) -> [u8; 4] {
    (i as u32).wrapping_mul(0x9E37_79B9).to_ne_bytes()
}

/// Appends `FRAMES` masked text frames carrying `TEXT` as a client sends them, each with
/// its own key: wirestate's pieces.
fn encode_wirestate(out: &mut Vec<u8>) {
    for i in 0..FRAMES {
        let header = FrameHeader::new(Opcode::Text, true, TEXT.len() as u64);
        header.with_mask(key(i)).encode(out);
        let start = out.len();
        out.extend_from_slice(black_box(TEXT).as_bytes());
        apply_mask(&mut out[start..], key(i), 0);
    }
}

/// The same with tungstenite's pieces (what its `format_into_buf` does).
fn encode_tungstenite(out: &mut Vec<u8>) {
    for i in 0..FRAMES {
        let opcode = OpCode::Data(Data::Text);
        let header = TFrameHeader {
            opcode,
            mask: Some(key(i)),
            ..TFrameHeader::default()
        };
        header.format(TEXT.len() as u64, out).unwrap();
        let start = out.len();
        out.extend_from_slice(black_box(TEXT).as_bytes());
        tungstenite_apply_mask(&mut out[start..], key(i));
    }
}

/// Decodes frames from a client in place with wirestate's pieces; payloads are left unmasked.
fn decode_wirestate(buf: &mut [u8], utf8: &mut Utf8Validator) {
    let rules = FrameRules::new(Role::Server);
    let mut pos = 0;
    while pos < buf.len() {
        let (header, len) = parse_header(&buf[pos..], &rules).unwrap().unwrap();
        assert!(header.fin && header.opcode == Opcode::Text);
        let payload = &mut buf[pos + len..][..header.payload_len as usize];
        apply_mask(payload, header.mask.unwrap(), 0);
        utf8.feed(payload).unwrap();
        utf8.finish().unwrap();
        pos += len + black_box(payload).len();
    }
}

/// The same with tungstenite's pieces.
fn decode_tungstenite(buf: &mut [u8]) {
    let mut pos = 0;
    while pos < buf.len() {
        let mut cursor = Cursor::new(&buf[pos..]);
        let (header, len) = TFrameHeader::parse(&mut cursor).unwrap().unwrap();
        assert!(header.is_final && header.opcode == OpCode::Data(Data::Text));
        pos += cursor.position() as usize;
        let payload = &mut buf[pos..pos + len as usize];
        tungstenite_apply_mask(payload, header.mask.unwrap());
        pos += black_box(std::str::from_utf8(payload).unwrap()).len();
    }
}

/// Whether `buf` is `FRAMES` frames whose payloads (unmasked in place) are all `TEXT`.
fn all_text(buf: &[u8]) -> bool {
    let mut payloads = buf.chunks(FRAME_LEN).map(|frame| &frame[6..]);
    buf.len() == FRAMES * FRAME_LEN && payloads.all(|p| p == TEXT.as_bytes())
}

/// Checks that `wire` is exactly `FRAMES` masked, final text frames carrying `TEXT`.
fn check_client_frames(wire: &[u8]) {
    let mut buf = wire.to_vec();
    decode_wirestate(&mut buf, &mut Utf8Validator::new());
    assert!(all_text(&buf));
}

/// tungstenite 0.30.0's `apply_mask` (src/protocol/frame/mask.rs, `apply_mask_fast32`),
/// copied verbatim because the crate does not export it. MIT/Apache-2.0, snapview.
fn tungstenite_apply_mask(buf: &mut [u8], mask: [u8; 4]) {
    fn fallback(buf: &mut [u8], mask: [u8; 4]) {
        for (i, byte) in buf.iter_mut().enumerate() {
            *byte ^= mask[i & 3];
        }
    }
    let mask_u32 = u32::from_ne_bytes(mask);
    let (prefix, words, suffix) = unsafe { buf.align_to_mut::<u32>() };
    fallback(prefix, mask);
    let head = prefix.len() & 3;
    let mask_u32 = if head > 0 {
        if cfg!(target_endian = "big") {
            mask_u32.rotate_left(8 * head as u32)
        } else {
            mask_u32.rotate_right(8 * head as u32)
        }
    } else {
        mask_u32
    };
    for word in words.iter_mut() {
        *word ^= mask_u32;
    }
    fallback(suffix, mask_u32.to_ne_bytes());
}

/// An endless in-memory stream for tungstenite: reads replay `input` in a loop (whole
/// frames, so the sequence stays valid); writes are appended to `output`.
struct Replay {
    input: Vec<u8>,
    pos: usize,
    output: Vec<u8>,
}

impl Read for Replay {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(self.input.len() - self.pos);
        buf[..n].copy_from_slice(&self.input[self.pos..self.pos + n]);
        self.pos = (self.pos + n) % self.input.len();
        Ok(n)
    }
}

impl Write for Replay {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.output.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn tungstenite_socket(role: TRole, input: Vec<u8>) -> WebSocket<Replay> {
    let (pos, output) = (0, Vec::new());
    WebSocket::from_raw_socket(Replay { input, pos, output }, role, None)
}

/// An open (client, server) pair of wirestate connections, upgraded in memory.
fn open_pair() -> (Connection, Connection) {
    let request = ClientRequest::new("localhost", "/");
    let mut client = Connection::client(Config::default(), Rng::from_u64(1), &request).unwrap();
    let mut server = Connection::server(Config::default(), Rng::from_u64(2));
    let pipe = |from: &mut Connection, to: &mut Connection| {
        while let Some(bytes) = from.poll_transmit() {
            assert_eq!(to.handle_input(NOW, &bytes), bytes.len());
        }
    };
    pipe(&mut client, &mut server);
    assert!(matches!(
        server.poll_event(),
        Some(Event::UpgradeRequest(_))
    ));
    server.command(NOW, Command::Accept(Accept::new())).unwrap();
    pipe(&mut server, &mut client);
    assert!(matches!(server.poll_event(), Some(Event::Open { .. })));
    assert!(matches!(client.poll_event(), Some(Event::Open { .. })));
    (client, server)
}

fn expect_text(event: Option<Event>) {
    match event {
        Some(Event::Message(Message::Text(text))) => assert_eq!(black_box(text), TEXT),
        other => panic!("expected the text message, got {other:?}"),
    }
}

// ---- contenders ---------------------------------------------------------------------------

/// One contender: runs one pass of `FRAMES` messages and returns its timed part.
type Pass<'a> = Box<dyn FnMut() -> Duration + 'a>;

fn timed(f: impl FnOnce()) -> Duration {
    let start = Instant::now();
    f();
    start.elapsed()
}

/// Decodes a fresh copy of `wire` in place with `decode` (the copy is not timed), then
/// checks that every payload was unmasked to `TEXT`.
fn in_place(wire: &[u8], mut decode: impl FnMut(&mut [u8]) + 'static) -> Pass<'static> {
    let (wire, mut buf) = (wire.to_vec(), wire.to_vec());
    Box::new(move || {
        buf.copy_from_slice(&wire);
        let t = timed(|| decode(&mut buf));
        assert!(all_text(&buf));
        t
    })
}

/// Encodes `FRAMES` messages into an emptied buffer with `encode`, then checks them.
fn into_buffer(mut encode: impl FnMut(&mut Vec<u8>) + 'static) -> Pass<'static> {
    let mut out = Vec::new();
    Box::new(move || {
        out.clear();
        let t = timed(|| encode(&mut out));
        check_client_frames(&out);
        t
    })
}

fn decode_contenders(wire: &[u8]) -> [Pass<'static>; 5] {
    let mut utf8 = Utf8Validator::new();
    let (_, mut server) = open_pair();
    let (_, mut in_place_server) = open_pair();
    let input = wire.to_vec();
    let mut socket = tungstenite_socket(TRole::Server, wire.to_vec());
    [
        in_place(wire, move |buf| decode_wirestate(buf, &mut utf8)),
        Box::new(move || {
            timed(|| {
                assert_eq!(server.handle_input(NOW, black_box(&input)), input.len());
                (0..FRAMES).for_each(|_| expect_text(server.poll_event()));
            })
        }),
        in_place(wire, decode_tungstenite),
        Box::new(move || {
            timed(|| {
                for _ in 0..FRAMES {
                    match socket.read().unwrap() {
                        tungstenite::Message::Text(text) => assert_eq!(black_box(text), TEXT),
                        other => panic!("expected the text message, got {other:?}"),
                    }
                }
            })
        }),
        in_place(wire, move |buf| {
            let mut pos = 0;
            while pos < buf.len() {
                match in_place_server.read_in_place(NOW, &mut buf[pos..]) {
                    InPlace::Message {
                        consumed,
                        message: MessageRef::Text(text),
                    } => {
                        assert_eq!(black_box(text), TEXT); // compares bytes, as for Text
                        pos += consumed;
                    }
                    other => panic!("expected the text message in place, got {other:?}"),
                }
            }
        }),
    ]
}

/// The connections' output is copied into the buffer, as a socket write would copy it.
fn encode_contenders() -> [Pass<'static>; 5] {
    let (mut client, _) = open_pair();
    let (mut borrowing_client, _) = open_pair();
    let mut socket = tungstenite_socket(TRole::Client, Vec::new());
    [
        into_buffer(encode_wirestate),
        into_buffer(move |out| {
            for _ in 0..FRAMES {
                let message = Message::Text(black_box(TEXT).into());
                client.command(NOW, Command::Send(message)).unwrap();
            }
            out.extend_from_slice(&client.poll_transmit().unwrap());
        }),
        into_buffer(encode_tungstenite),
        into_buffer(move |out| {
            for _ in 0..FRAMES {
                let message = tungstenite::Message::text(black_box(TEXT).to_owned());
                socket.write(message).unwrap();
            }
            socket.flush().unwrap(); // copies into the Replay's output
            std::mem::swap(out, &mut socket.get_mut().output);
        }),
        into_buffer(move |out| {
            for _ in 0..FRAMES {
                borrowing_client.send_text(NOW, black_box(TEXT)).unwrap();
            }
            out.extend_from_slice(&borrowing_client.poll_transmit().unwrap());
        }),
    ]
}

// ---- measuring and reporting --------------------------------------------------------------

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(|a, b| a.partial_cmp(b).unwrap());
    xs[xs.len() / 2]
}

/// Runs every contender `passes` times per round, rounds in rotated order; returns each
/// contender's median time per pass in nanoseconds.
fn compare(rounds: usize, passes: usize, contenders: &mut [Pass<'_>]) -> Vec<f64> {
    let mut samples = vec![Vec::new(); contenders.len()];
    for pass in contenders.iter_mut() {
        for _ in 0..passes.div_ceil(4) {
            let _ = pass(); // warm-up
        }
    }
    for round in 0..rounds {
        for k in 0..contenders.len() {
            let i = (round + k) % contenders.len();
            let total: Duration = (0..passes).map(|_| contenders[i]()).sum();
            samples[i].push(total.as_nanos() as f64 / passes as f64);
        }
    }
    samples.into_iter().map(median).collect()
}

fn verdict(ok: bool) -> &'static str {
    if ok { "meets" } else { "MISSES" }
}

/// Prints ns per message of [wirestate pieces, Connection with owned messages, tungstenite
/// pieces, WebSocket, Connection with borrowed messages].
fn report_codec(title: &str, names: [&str; 5], mut contenders: [Pass<'_>; 5], goal_ns: f64) {
    let (rounds, passes, _) = settings();
    let ns: Vec<f64> = compare(rounds, passes, &mut contenders)
        .into_iter()
        .map(|pass| pass / FRAMES as f64)
        .collect();
    println!("\n{title} ({FRAMES} messages per pass, {passes} passes per sample)");
    for (name, v) in names.iter().zip(&ns) {
        println!("  {name:<64} {v:>6.1} ns/msg");
    }
    for (level, ours, theirs) in [
        ("pieces", ns[0], ns[2]),
        ("connection, owned", ns[1], ns[3]),
        ("connection, borrowed", ns[4], ns[3]),
    ] {
        println!(
            "  {level:<20} wirestate {ours:5.1} ns ({} the goal of {goal_ns} ns), \
             tungstenite / wirestate {:.2}x ({} the goal of 2x)",
            verdict(ours <= goal_ns),
            theirs / ours,
            verdict(theirs / ours >= 2.0),
        );
    }
}

/// Masks a buffer in place with a key.
type MaskFn = fn(&mut [u8], [u8; 4]);

fn report_unmask() {
    let (rounds, _, bytes) = settings();
    println!("\nunmask throughput, in place, buffer reused (in cache up to L2), GB/s");
    let ours = |buf: &mut [u8], key| apply_mask(buf, key, 0);
    for size in [1 << 10, 16 << 10, 1 << 20] {
        let reps = (16 << 20) / size;
        let mut bufs = [vec![0x5a; size], vec![0x5a; size]];
        let masks: [MaskFn; 2] = [ours, tungstenite_apply_mask];
        let mut contenders: Vec<Pass<'_>> = (bufs.iter_mut().zip(masks))
            .map(|(buf, mask)| -> Pass<'_> {
                Box::new(move || {
                    timed(|| (0..reps).for_each(|_| mask(black_box(buf), [1, 2, 3, 4])))
                })
            })
            .collect();
        let gbps = compare(rounds, bytes / (16 << 20), &mut contenders)
            .into_iter()
            .map(|ns| (reps * size) as f64 / ns)
            .collect::<Vec<_>>();
        println!(
            "  {:>4} KiB: wirestate {:5.1}, tungstenite {:5.1}, ratio {:.2}x \
             (wirestate {} the goal of 20 GB/s)",
            size >> 10,
            gbps[0],
            gbps[1],
            gbps[0] / gbps[1],
            verdict(gbps[0] >= 20.0),
        );
    }
    // The copy is faithful: the same result as ours for every length and alignment.
    for (len, start) in (0..70).flat_map(|len| (0..4).map(move |start| (len, start))) {
        let mut a: Vec<u8> = (0..len + start).map(|i| i as u8).collect();
        let mut b = a.clone();
        apply_mask(&mut a[start..], [9, 8, 7, 6], 0);
        tungstenite_apply_mask(&mut b[start..], [9, 8, 7, 6]);
        assert_eq!(a, b);
    }
}

/// The fastest of `reps` runs of `op`, in nanoseconds.
fn best_of(reps: usize, mut op: impl FnMut()) -> f64 {
    (0..reps)
        .map(|_| timed(&mut op).as_nanos() as f64)
        .fold(f64::INFINITY, f64::min)
}

/// Median, worst, and how many of `ns` exceed three times the median.
fn spread(mut ns: Vec<f64>) -> (f64, f64, usize) {
    let median = median(ns.clone());
    ns.sort_by(f64::total_cmp);
    let slow = ns.iter().filter(|&&x| x > 3.0 * median).count();
    (median, ns[ns.len() - 1], slow)
}

/// A 16 KiB frame received from each of the 4096 offsets of a page, so that the copy into
/// the receive buffer meets every distance between source and destination, among them the
/// few at which glibc's `memcpy` runs about thirty times slower on AMD Zen 3 and later (its
/// `rep movsb` path; see `core/src/copy.rs`). A plain copy (`extend_from_slice` into a
/// reused buffer, then unmasking, as a copying decoder does) shows the effect. A server
/// unmasks a client's frame as it copies it, with vector moves; a client copies a server's
/// unmasked frame at such a distance in pieces.
fn report_page_distances() {
    const SIZE: usize = 16 << 10;
    let (mut client, mut server) = open_pair();
    let payload: Vec<u8> = (0..SIZE).map(|i| (i % 251) as u8).collect();
    let message = Message::Binary(payload.clone().into());
    // A frame as its sender wrote it (a server sends a large payload after its header).
    let sent = |from: &mut Connection| {
        let mut bytes = Vec::new();
        while let Some(transmit) = from.poll_transmit() {
            bytes.extend_from_slice(&transmit);
        }
        bytes
    };
    client.command(NOW, Command::Send(message.clone())).unwrap();
    let masked = sent(&mut client);
    server.command(NOW, Command::Send(message)).unwrap();
    let unmasked = sent(&mut server);
    let mut input = vec![0u8; masked.len() + 4096];
    let mut plain: Vec<u8> = Vec::with_capacity(SIZE);
    let (mut by_server, mut by_client, mut copying) = (Vec::new(), Vec::new(), Vec::new());
    let receive = |at: &mut Connection, wire: &[u8]| {
        best_of(3, || {
            assert_eq!(at.handle_input(NOW, black_box(wire)), wire.len());
            match at.poll_event() {
                Some(Event::Message(Message::Binary(bytes))) => assert!(bytes == payload),
                other => panic!("expected the binary message, got {other:?}"),
            }
        })
    };
    for offset in 0..4096 {
        input[offset..offset + unmasked.len()].copy_from_slice(&unmasked);
        by_client.push(receive(
            &mut client,
            &input[offset..offset + unmasked.len()],
        ));
        input[offset..offset + masked.len()].copy_from_slice(&masked);
        let wire = &input[offset..offset + masked.len()];
        by_server.push(receive(&mut server, wire));
        let at = wire.len() - SIZE;
        copying.push(best_of(3, || {
            plain.clear();
            plain.extend_from_slice(black_box(&wire[at..]));
            apply_mask(&mut plain, frame_key(wire), 0);
        }));
        assert!(plain == payload);
    }
    println!(
        "
a 16 KiB frame received from each of the 4096 offsets in a page, ns per frame (wirestate's
include checking the received bytes)"
    );
    for (name, ns) in [
        ("wirestate server, masked", by_server),
        ("wirestate client, unmasked", by_client),
        ("plain copy + unmask", copying),
    ] {
        let (median, worst, slow) = spread(ns);
        println!(
            "  {name:<26} median {median:6.0}, worst {worst:6.0}, offsets over 3x the median: {slow}"
        );
    }
}

/// The masking key of a client frame whose length takes 2 extended bytes.
fn frame_key(frame: &[u8]) -> [u8; 4] {
    frame[4..8].try_into().expect("a 16-bit length and a key")
}

/// Allocations per call of `op`, over `calls` calls after `calls / 10` warm-up calls.
fn allocs_per(calls: usize, mut op: impl FnMut()) -> f64 {
    (0..(calls / 10).max(100)).for_each(|_| op());
    let before = allocations();
    (0..calls).for_each(|_| op());
    (allocations() - before) as f64 / calls as f64
}

/// Receiving splits each payload off a shared arena (core/src/ws/arena.rs), which is reused
/// once the application dropped its messages: no allocation per message. Sending allocates
/// nothing once the transmitted `Bytes` is dropped before the next send (the `BytesMut`
/// reclaims its buffer); the caller's text in `Message::Text` is one allocation.
fn report_allocations(wire: &[u8]) {
    let (n, batches) = (ALLOC_MESSAGES, ALLOC_MESSAGES / FRAMES);
    println!("\nheap allocations per message, steady state ({n} messages after warm-up; goal 0)");
    let (mut client, mut server) = open_pair();
    let text = || Message::Text(black_box(TEXT).into());
    let mut receive = || {
        let before = allocations();
        assert_eq!(server.handle_input(NOW, &wire[..FRAME_LEN]), FRAME_LEN);
        let middle = allocations();
        expect_text(server.poll_event());
        [middle - before, allocations() - middle]
    };
    (0..n / 10).for_each(|_| _ = receive());
    let [input, event] = (0..n)
        .map(|_| receive())
        .fold([0, 0], |[a, b], [x, y]| [a + x, b + y])
        .map(|count| count as f64 / n as f64);
    let one = input + event;
    let batch = allocs_per(batches, || {
        assert_eq!(server.handle_input(NOW, wire), wire.len());
        (0..FRAMES).for_each(|_| expect_text(server.poll_event()));
    }) / FRAMES as f64;
    println!(
        "  receive: {one:.4} with one frame per handle_input ({input:.4} in handle_input, \
         {event:.4} in poll_event), {batch:.4} with {FRAMES} per call ({} the goal)",
        verdict(one == 0.0 && batch == 0.0),
    );
    let string = allocs_per(n, || drop(black_box(text())));
    let one = allocs_per(n, || {
        client.command(NOW, Command::Send(text())).unwrap();
        drop(black_box(client.poll_transmit().unwrap()));
    });
    let batch = allocs_per(batches, || {
        (0..FRAMES).for_each(|_| client.command(NOW, Command::Send(text())).unwrap());
        drop(black_box(client.poll_transmit().unwrap()));
    }) / FRAMES as f64;
    println!(
        "  send: {one:.2} with a poll_transmit per Command::Send, {batch:.2} with one per \
         {FRAMES}; building the Message::Text String is {string:.2} of it, so the connection's \
         own: {:.2} ({} the goal)",
        one.max(batch) - string,
        verdict(one.max(batch) - string == 0.0),
    );
    let mut reader = tungstenite_socket(TRole::Server, wire.to_vec());
    let read = allocs_per(n, || drop(black_box(reader.read().unwrap())));
    let mut writer = tungstenite_socket(TRole::Client, Vec::new());
    let write = allocs_per(batches, || {
        (0..FRAMES).for_each(|_| {
            writer
                .write(tungstenite::Message::text(TEXT.to_owned()))
                .unwrap()
        });
        writer.flush().unwrap();
        writer.get_mut().output.clear();
    }) / FRAMES as f64;
    println!("  tungstenite, for reference: read {read:.2}; write (String included) {write:.2}");
}

fn main() {
    let (rounds, ..) = settings();
    println!("WebSocket framing against tungstenite 0.30: {rounds} rounds, medians; {TEXT:?}");
    let mut wire = Vec::new();
    encode_wirestate(&mut wire);
    check_client_frames(&wire);
    report_codec(
        "decode: a masked 20-byte text frame, server side",
        [
            "wirestate pieces (parse_header + apply_mask + Utf8Validator)",
            "wirestate Connection (handle_input + poll_event)",
            "tungstenite pieces (FrameHeader::parse + apply_mask + from_utf8)",
            "tungstenite WebSocket::read",
            "wirestate Connection, borrowed (read_in_place)",
        ],
        decode_contenders(&wire),
        30.0,
    );
    report_codec(
        "encode: a 20-byte text message, client side (masked)",
        [
            "wirestate pieces (FrameHeader::encode + copy + apply_mask)",
            "wirestate Connection (Command::Send + poll_transmit)",
            "tungstenite pieces (FrameHeader::format + copy + apply_mask)",
            "tungstenite WebSocket::write + flush",
            "wirestate Connection, borrowed (send_text + poll_transmit)",
        ],
        encode_contenders(),
        25.0,
    );
    report_unmask();
    report_page_distances();
    report_allocations(&wire);
}
