#!/usr/bin/env python3
"""Interop between wirestate's RSocket and Python rsocket-py, both ways, over TCP and WebSocket.

For each transport (tcp, ws) and each fragment setting (off, 1024 bytes):

(a) an rsocket-py server (TCP: TransportTCP on asyncio streams; ws: WebsocketsTransport under a
    `websockets` server at `/`, one binary message per frame) with the rsocket_peer server
    behaviour, against `rsocket_peer client`: the client's own checks (its PASS/FAIL lines are
    reported here too), its exit code, and what the Python server saw: the fire-and-forget,
    the metadata push, the credit the client gave the request-stream (request-n 2, then 2
    more per 2 received), the request-channel items within the credit granted here, the
    websocket path, the close (ERROR CONNECTION_CLOSE on stream 0), and the fragments.
(b) `rsocket_peer server` against an rsocket-py client (TCP: TransportTCP over
    asyncio.open_connection; ws: WebsocketsTransport over a `websockets` client): the same
    seven checks, each bounded (the stream with request-n 2, then 2 more per 2 received,
    failing if an item comes beyond that credit), then the fragments, whether the server
    printed the fire-and-forget and metadata-push lines, and whether it is still running.

The fragment checks count frames as rsocket-py parses them, before reassembly: with 1024,
FOLLOWS both ways and no frame from wirestate above 1024 bytes (header included, TCP's length
prefix not); without, no FOLLOWS and the 100 kB payloads whole.

Prints `PASS name detail` or `FAIL name detail` per check, then `N passed, M failed`, and exits
0 only if none failed. Listens on and connects to 127.0.0.1 only. Every wait is bounded, and
the only processes stopped are the ones started here, by their PID (terminate, then kill).

    python tests/interop/rsocket_interop.py [--bin-dir target/release/examples]
        [--transport tcp --transport ws] [--fragment off --fragment 1024] [--debug]

rsocket-py notes (0.4.20), worked around here:
- Its request-channel handler receives the first payload (the one in the REQUEST_CHANNEL
  frame) as an argument, not through the inbound subscriber; the server echoes it itself.
- Its stream and channel handlers hand request-n straight to the publisher; the publisher
  here (CreditPublisher) emits only within that credit and records every request-n.
- WebsocketsTransport.close() does nothing: the websocket is closed here. It only serves a
  connection it is handed, so the client side opens a `websockets` client connection for it.
- rsocket-py has no hook for frames; FrameStats wraps the transport's send_frame and the
  RSocket's _handle_next_frame.
- rsocket-py calls error code 0x102 (CONNECTION_CLOSE) CONNECTION_ERROR_NO_RETRY.
- It sends no CONNECTION_CLOSE of its own on close(); the connection just ends.
- Its fragments on TCP are at most fragment_size_bytes including the 3-byte length prefix,
  and, from its code, those carrying metadata may be 3 bytes over (it does not count the
  metadata length field); no metadata here is large enough to be fragmented.
- "WARNING server: Dropping frame from unknown stream 9" may show in (a): rsocket_peer's
  client sends REQUEST_N for the channel (credit that follows its reading) while the Python
  server's COMPLETE is on its way; rsocket-py has forgotten the finished stream by then and
  ignores it, as it should.
- Default keepalive 500 ms / max lifetime 10 min, MIME types application/json: left as is.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.metadata
import logging
import re
import sys
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Optional

import websockets
from websockets.asyncio.client import connect as ws_connect
from websockets.asyncio.server import ServerConnection, serve as ws_serve

from reactivestreams.publisher import Publisher
from reactivestreams.subscriber import Subscriber
from reactivestreams.subscription import Subscription
from rsocket.frame import MAX_REQUEST_N, Frame, InvalidFrame
from rsocket.helpers import create_response, single_transport_provider
from rsocket.payload import Payload
from rsocket.request_handler import BaseRequestHandler
from rsocket.rsocket_client import RSocketClient
from rsocket.rsocket_server import RSocketServer
from rsocket.transports.tcp import TransportTCP
from rsocket.transports.websockets_transport import WebsocketsTransport

TRANSPORTS = ("tcp", "ws")
FRAGMENTS = ("off", "1024")
HOST = "127.0.0.1"
MAX_SIZE = 4 * 1024 * 1024  # websocket message limit, far above any frame here
CHECK_TIMEOUT = 10.0  # seconds for one check of the Python client
ALIVE_TIMEOUT = 5.0  # seconds for the request-response after the metadata push
START_TIMEOUT = 10.0  # seconds for rsocket_peer server to print its address
CONNECT_TIMEOUT = 10.0  # seconds to connect (and for a websocket, to upgrade)
CLIENT_TIMEOUT = 120.0  # seconds for one rsocket_peer client run (7 checks of at most 10 s)
SEEN_TIMEOUT = 5.0  # seconds for a fire-and-forget or metadata push to show on the other side
CLOSE_TIMEOUT = 10.0  # seconds for an rsocket-py connection or server to close
STOP_TIMEOUT = 5.0  # seconds between terminate and kill
SERVER_SECONDS = 600  # rsocket_peer server's own deadline, should this script be killed
STREAM_COUNT = 5
BIG = 100_000


class Report:
    """Counts and prints check results as they come."""

    def __init__(self) -> None:
        self.passed = 0
        self.failed = 0

    def result(self, ok: bool, name: str, detail: str) -> None:
        if ok:
            self.passed += 1
        else:
            self.failed += 1
        print(f"{'PASS' if ok else 'FAIL'} {name} {detail}", flush=True)

    async def run(self, name: str, check: Callable[[], Awaitable[str]],
                  timeout: float = CHECK_TIMEOUT) -> None:
        """Runs one check within `timeout`; any exception is its failure."""
        try:
            detail = await asyncio.wait_for(check(), timeout)
        except asyncio.TimeoutError:
            self.result(False, name, f"no result within {timeout:.0f} s")
        except Exception as error:  # noqa: BLE001 - a failure of any kind is the check's
            self.result(False, name, f"{type(error).__name__}: {error}")
        else:
            self.result(True, name, detail)


class Processes:
    """Subprocesses started here; each is stopped by its own PID."""

    def __init__(self) -> None:
        self.started: list[asyncio.subprocess.Process] = []

    async def start(self, *argv: str, **kwargs) -> asyncio.subprocess.Process:
        process = await asyncio.create_subprocess_exec(*argv, **kwargs)
        self.started.append(process)
        return process

    @staticmethod
    async def stop(process: asyncio.subprocess.Process) -> None:
        """Terminates `process`, and kills it if it is still there after STOP_TIMEOUT."""
        if process.returncode is not None:
            return
        try:
            process.terminate()
            await asyncio.wait_for(process.wait(), STOP_TIMEOUT)
        except ProcessLookupError:
            pass
        except asyncio.TimeoutError:
            process.kill()
            await asyncio.wait_for(process.wait(), STOP_TIMEOUT)

    async def stop_all(self) -> None:
        for process in self.started:
            await self.stop(process)


async def wait_until(condition: Callable[[], bool], timeout: float) -> bool:
    """Polls `condition` until it holds or `timeout` passes; returns its last value."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not condition() and loop.time() < end:
        await asyncio.sleep(0.05)
    return condition()


def text(data: Optional[bytes]) -> str:
    return bytes(data or b"").decode(errors="replace")


def echo(payload: Payload) -> Payload:
    return Payload(b"echo:" + bytes(payload.data or b""))


# ---- reactive-streams pieces with explicit credit -------------------------------------------


class CreditPublisher(Publisher, Subscription):
    """A publisher of queued payloads that emits only within the credit its subscriber asked
    for (request-n; 2^31-1 is unbounded), and completes once finished and drained. Payloads
    can be pushed while it runs (request-channel echoes). Records each request-n with the
    number of payloads sent before it."""

    def __init__(self, payloads: Iterable[Payload] = (), finished: bool = False) -> None:
        self._pending: deque[Payload] = deque(payloads)
        self._finished = finished
        self._credit = 0
        self._subscriber: Optional[Subscriber] = None
        self._draining = False
        self.done = False
        self.cancelled = False
        self.sent = 0
        self.requests: list[tuple[int, int]] = []  # (sent before, n)

    def subscribe(self, subscriber: Subscriber) -> None:
        self._subscriber = subscriber
        subscriber.on_subscribe(self)
        self._drain()

    def request(self, n: int) -> None:
        self.requests.append((self.sent, n))
        self._credit = min(self._credit + n, MAX_REQUEST_N)
        self._drain()

    def cancel(self) -> None:
        self.cancelled = True
        self.done = True
        self._pending.clear()

    def push(self, payload: Payload) -> None:
        self._pending.append(payload)
        self._drain()

    def finish(self) -> None:
        self._finished = True
        self._drain()

    def fail(self, error: Exception) -> None:
        if not self.done and self._subscriber is not None:
            self.done = True
            self._subscriber.on_error(error)

    def _drain(self) -> None:
        # on_next may call request() again (re-entrantly); the running loop picks that up.
        if self._subscriber is None or self.done or self._draining:
            return
        self._draining = True
        try:
            while self._pending and self._credit > 0 and not self.done:
                payload = self._pending.popleft()
                if self._credit < MAX_REQUEST_N:
                    self._credit -= 1
                self.sent += 1
                self._subscriber.on_next(payload)
            if self._finished and not self._pending and not self.done:
                self.done = True
                self._subscriber.on_complete()
        finally:
            self._draining = False

    def credit_summary(self) -> str:
        if not self.requests:
            return "no request-n"
        first, *rest = self.requests
        parts = [f"request-n {first[1]}"] + [f"{n} after {sent} sent" for sent, n in rest]
        return ", ".join(parts)


class Collector(Subscriber):
    """Collects a stream or channel, giving `initial` credit (set on the request) and then
    `batch` more per `batch` received (if `batch`). Notes any payload beyond the credit."""

    def __init__(self, initial: int, batch: Optional[int] = None) -> None:
        self.granted = initial
        self.batch = batch
        self.values: list[Payload] = []
        self.requests: list[int] = []
        self.over_credit = 0
        self.completed = False
        self.error: Optional[Exception] = None
        self.done = asyncio.Event()
        self.subscription: Optional[Subscription] = None

    def on_subscribe(self, subscription: Subscription) -> None:
        self.subscription = subscription

    def on_next(self, value: Payload, is_complete: bool = False) -> None:
        self.values.append(value)
        if len(self.values) > self.granted:
            self.over_credit = max(self.over_credit, len(self.values) - self.granted)
        if is_complete:
            self.completed = True
            self.done.set()
        elif self.batch and len(self.values) % self.batch == 0:
            self.granted += self.batch
            self.requests.append(self.batch)
            self.subscription.request(self.batch)

    def on_error(self, exception: Exception) -> None:
        self.error = exception
        self.done.set()

    def on_complete(self) -> None:
        self.completed = True
        self.done.set()

    async def run(self) -> list[str]:
        await self.done.wait()
        if self.error is not None:
            raise self.error
        return [text(value.data) for value in self.values]


# ---- what crosses the wire, seen from rsocket-py ---------------------------------------------


class FrameStats:
    """Frames rsocket-py received and sent: counts, fragments (FOLLOWS), and the largest
    frame (bytes, RSocket header included, without TCP's 3-byte length prefix)."""

    def __init__(self) -> None:
        self.received = self.received_follows = self.received_largest = 0
        self.sent = self.sent_follows = self.sent_largest = 0

    def note_received(self, frame: Frame) -> None:
        self.received += 1
        self.received_follows += bool(getattr(frame, "flags_follows", False))
        self.received_largest = max(self.received_largest, frame.length)

    def note_sent(self, frame: Frame) -> None:
        self.sent += 1
        self.sent_follows += bool(getattr(frame, "flags_follows", False))
        self.sent_largest = max(self.sent_largest, len(frame.serialize()))

    def watch(self, transport):
        """Counts each frame `transport` sends (rsocket-py has no hook for it)."""
        send_frame = transport.send_frame

        async def counting_send_frame(frame: Frame) -> None:
            self.note_sent(frame)
            await send_frame(frame)

        transport.send_frame = counting_send_frame
        return transport

    def summary(self) -> str:
        return (f"received {self.received} frames ({self.received_follows} with FOLLOWS, "
                f"largest {self.received_largest} bytes), sent {self.sent} "
                f"({self.sent_follows} with FOLLOWS, largest {self.sent_largest} bytes)")

    def fragmented_as(self, fragment: Optional[int]) -> bool:
        """With `fragment`: both ways fragmented, and no frame from wirestate above it.
        Without: no fragments either way (the 100 kB payloads went whole)."""
        if fragment is None:
            return (self.received_follows == 0 and self.sent_follows == 0
                    and self.received_largest > BIG)
        return (self.received_follows > 0 and self.sent_follows > 0
                and self.received_largest <= fragment)


class CountingRSocketServer(RSocketServer):
    """RSocketServer that counts what it receives (before reassembly) in `stats`."""

    def __init__(self, transport, stats: FrameStats, **kwargs) -> None:
        self.frame_stats = stats
        super().__init__(stats.watch(transport), **kwargs)

    async def _handle_next_frame(self, frame, async_frame_handler_by_type):
        if not isinstance(frame, InvalidFrame):
            self.frame_stats.note_received(frame)
        await super()._handle_next_frame(frame, async_frame_handler_by_type)


class CountingRSocketClient(RSocketClient):
    """RSocketClient that counts what it receives (before reassembly) in `stats`."""

    def __init__(self, transport, stats: FrameStats, **kwargs) -> None:
        self.frame_stats = stats
        super().__init__(single_transport_provider(stats.watch(transport)), **kwargs)

    async def _handle_next_frame(self, frame, async_frame_handler_by_type):
        if not isinstance(frame, InvalidFrame):
            self.frame_stats.note_received(frame)
        await super()._handle_next_frame(frame, async_frame_handler_by_type)


# ---- (a) rsocket-py server against rsocket_peer client --------------------------------------


class ChannelInbound(Subscriber):
    """The server's side of a request-channel: echoes each inbound payload into `out`, and
    completes `out` when the requester completes. Grants 2 at first, then 1 per payload."""

    def __init__(self, out: CreditPublisher, record: dict) -> None:
        self.out = out
        self.record = record
        self.subscription: Optional[Subscription] = None

    def on_subscribe(self, subscription: Subscription) -> None:
        self.subscription = subscription
        self.record["granted"] += 2
        subscription.request(2)

    def on_next(self, value: Payload, is_complete: bool = False) -> None:
        self.record["items"].append(text(value.data))
        received = len(self.record["items"]) - 1  # the first payload needs no request-n
        if received > self.record["granted"]:
            self.record["over_credit"] = max(self.record["over_credit"],
                                             received - self.record["granted"])
        self.out.push(echo(value))
        if is_complete:
            self.on_complete()
        else:
            self.record["granted"] += 1
            self.subscription.request(1)

    def on_error(self, exception: Exception) -> None:
        self.record["error"] = f"{type(exception).__name__}: {exception}"
        self.out.fail(exception)

    def on_complete(self) -> None:
        self.record["completed"] = True
        self.out.finish()


class Observed:
    """What the Python server saw, over every connection of one run."""

    def __init__(self) -> None:
        self.setups: list[tuple[str, str]] = []
        self.fire_and_forget: list[bytes] = []
        self.metadata_push: list[bytes] = []
        self.streams: list[tuple[int, CreditPublisher]] = []
        self.channels: list[dict] = []
        self.paths: list[str] = []
        self.errors: list[tuple[int, str]] = []  # ERROR frames on stream 0: (code, data)
        self.frames = FrameStats()


class PeerHandler(BaseRequestHandler):
    """rsocket_peer's server behaviour (DESIGN.md), recording what it sees in `observed`."""

    def __init__(self, observed: Observed) -> None:
        self.observed = observed

    async def on_setup(self, data_encoding: bytes, metadata_encoding: bytes,
                       payload: Payload) -> None:
        self.observed.setups.append((text(data_encoding), text(metadata_encoding)))

    async def request_response(self, payload: Payload) -> Awaitable[Payload]:
        return create_response(b"echo:" + bytes(payload.data or b""))

    async def request_fire_and_forget(self, payload: Payload) -> None:
        self.observed.fire_and_forget.append(bytes(payload.data or b""))

    async def on_metadata_push(self, payload: Payload) -> None:
        self.observed.metadata_push.append(bytes(payload.metadata or b""))

    async def request_stream(self, payload: Payload) -> Publisher:
        request = text(payload.data).strip()
        try:
            count = STREAM_COUNT if not request else min(int(request), BIG)
        except ValueError:
            count = 0
        publisher = CreditPublisher((Payload(f"item-{i}".encode()) for i in range(count)),
                                    finished=True)
        self.observed.streams.append((count, publisher))
        return publisher

    async def request_channel(self, payload: Payload):
        out = CreditPublisher([echo(payload)])
        record = {"items": [text(payload.data)], "granted": 0, "over_credit": 0,
                  "completed": False, "error": None, "out": out}
        self.observed.channels.append(record)
        return out, ChannelInbound(out, record)

    async def on_error(self, error_code, payload: Payload) -> None:
        self.observed.errors.append((int(error_code), text(payload.data)))


class PyServer:
    """An rsocket-py server on 127.0.0.1 (free port) over TCP or WebSocket."""

    def __init__(self, transport: str, fragment: Optional[int]) -> None:
        self.transport = transport
        self.fragment = fragment
        self.observed = Observed()
        self.connections: list[RSocketServer] = []
        self.port = 0
        self._server = None
        self._ws_server = None

    def _rsocket(self, transport) -> RSocketServer:
        server = CountingRSocketServer(transport, self.observed.frames,
                                       handler_factory=lambda: PeerHandler(self.observed),
                                       fragment_size_bytes=self.fragment)
        self.connections.append(server)
        return server

    async def _on_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._rsocket(TransportTCP(reader, writer))

    async def _on_ws(self, ws: ServerConnection) -> None:
        self.observed.paths.append(ws.request.path)
        transport = WebsocketsTransport()
        server = self._rsocket(transport)
        try:
            await transport.handler(ws)  # returns when the websocket closes
        finally:
            try:
                await asyncio.wait_for(server.close(), CLOSE_TIMEOUT)
            except Exception:  # noqa: BLE001 - closing is best effort (and bounded)
                pass

    async def start(self) -> None:
        if self.transport == "tcp":
            self._server = await asyncio.start_server(self._on_tcp, HOST, 0)
            self.port = self._server.sockets[0].getsockname()[1]
        else:
            self._ws_server = await ws_serve(self._on_ws, HOST, 0, max_size=MAX_SIZE)
            self.port = self._ws_server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        for server in self.connections:
            try:
                await asyncio.wait_for(server.close(), CLOSE_TIMEOUT)
            except Exception:  # noqa: BLE001 - closing is best effort (and bounded)
                pass
        for server in (self._server, self._ws_server):
            if server is not None:
                server.close()
                try:
                    await asyncio.wait_for(server.wait_closed(), CLOSE_TIMEOUT)
                except asyncio.TimeoutError:
                    pass


def fragment_args(fragment: Optional[int]) -> list[str]:
    return ["--fragment", str(fragment)] if fragment else []


def label(transport: str, fragment: Optional[int]) -> str:
    return f"[{transport},frag={fragment or 'off'}]"


async def wirestate_client(report: Report, processes: Processes, bin_dir: Path,
                           transport: str, fragment: Optional[int]) -> None:
    prefix = f"rsocket_peer_client->py_server{label(transport, fragment)}"
    server = PyServer(transport, fragment)
    try:
        await asyncio.wait_for(server.start(), START_TIMEOUT)
    except Exception as error:  # noqa: BLE001
        report.result(False, f"{prefix}:start", f"{type(error).__name__}: {error}")
        return
    try:
        try:
            process = await processes.start(
                str(bin_dir / "rsocket_peer"), "client", transport, str(server.port),
                *fragment_args(fragment),
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
            )
        except Exception as error:  # noqa: BLE001
            report.result(False, f"{prefix}:start", f"{type(error).__name__}: {error}")
            return
        try:
            output, _ = await asyncio.wait_for(process.communicate(), CLIENT_TIMEOUT)
        except asyncio.TimeoutError:
            output = b""
            report.result(False, f"{prefix}:exit", f"no exit within {CLIENT_TIMEOUT:.0f} s")
        finally:
            await Processes.stop(process)

        checks = 0
        for line in output.decode(errors="replace").splitlines():
            verdict, _, rest = line.partition(" ")
            if verdict in ("PASS", "FAIL"):
                checks += 1
                name, _, detail = rest.partition(" ")
                report.result(verdict == "PASS", f"{prefix}:{name}", detail)
            elif not re.fullmatch(r"\d+ passed, \d+ failed", line):  # counted here instead
                print(f"  (rsocket_peer client) {line}", flush=True)
        if output:
            report.result(process.returncode == 0 and checks == 7, f"{prefix}:exit",
                          f"exit code {process.returncode} after {checks} checks")

        observed = server.observed
        await wait_until(lambda: observed.fire_and_forget and observed.metadata_push,
                         SEEN_TIMEOUT)
        report.result(observed.fire_and_forget == [b"fnf"],
                      f"{prefix}:py_server_saw_fire_and_forget",
                      f"data {observed.fire_and_forget}")
        report.result(observed.metadata_push == [b"push"],
                      f"{prefix}:py_server_saw_metadata_push",
                      f"metadata {observed.metadata_push}")

        # Credit fidelity of the request-stream: request-n 2, then 2 more per 2 received.
        # CreditPublisher never sends beyond the credit, so only the request-n can be judged.
        streams = [(count, pub) for count, pub in observed.streams if count == STREAM_COUNT]
        if len(streams) == 1:
            count, pub = streams[0]
            ns = [n for _, n in pub.requests]
            ok = bool(ns) and all(n == 2 for n in ns) and pub.sent == count and pub.done
            report.result(ok, f"{prefix}:py_server_stream_credit",
                          f"{pub.credit_summary()}; {pub.sent} of {count} items sent"
                          f"{', completed' if pub.done else ', not completed'}")
        else:
            report.result(False, f"{prefix}:py_server_stream_credit",
                          f"{len(observed.streams)} streams seen, counts "
                          f"{[c for c, _ in observed.streams]}")

        # The channel: what came in (within the credit granted here), and what went out.
        if len(observed.channels) == 1:
            record = observed.channels[0]
            expected = ["c-first", "c0", "c1", "c2"]
            ok = (record["items"] == expected and record["completed"]
                  and record["over_credit"] == 0 and record["error"] is None
                  and record["out"].done)
            report.result(ok, f"{prefix}:py_server_saw_channel",
                          f"in {record['items']}, completed {record['completed']}, "
                          f"beyond credit {record['over_credit']}, error {record['error']}; "
                          f"out {record['out'].sent} echoes, {record['out'].credit_summary()}")
        else:
            report.result(False, f"{prefix}:py_server_saw_channel",
                          f"{len(observed.channels)} channels seen")

        if transport == "ws":
            report.result(observed.paths == ["/"], f"{prefix}:py_server_ws_path",
                          f"paths {observed.paths}")
        # wirestate closes with ERROR CONNECTION_CLOSE (0x102) on stream 0; rsocket-py's
        # ErrorCode calls 0x102 CONNECTION_ERROR_NO_RETRY.
        await wait_until(lambda: observed.errors, SEEN_TIMEOUT)
        codes = [f"0x{code:03x} {data!r}" for code, data in observed.errors]
        report.result([code for code, _ in observed.errors] == [0x102],
                      f"{prefix}:py_server_saw_close", f"connection errors {codes}")
        report.result(observed.frames.fragmented_as(fragment),
                      f"{prefix}:py_server_fragments", observed.frames.summary())
    finally:
        await server.stop()


# ---- (b) rsocket-py client against rsocket_peer server --------------------------------------


async def start_peer_server(processes: Processes, bin_dir: Path, transport: str,
                            fragment: Optional[int]
                            ) -> tuple[asyncio.subprocess.Process, int, list[str], asyncio.Task]:
    """Starts rsocket_peer server on a free port; returns it, its port, and its output lines
    (collected by the returned task)."""
    process = await processes.start(
        str(bin_dir / "rsocket_peer"), "server", transport, "0", *fragment_args(fragment),
        "--seconds", str(SERVER_SECONDS),
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        line = await asyncio.wait_for(process.stdout.readline(), START_TIMEOUT)
    except asyncio.TimeoutError:
        line = b""
    match = re.fullmatch(rb"listening on 127\.0\.0\.1:(\d+)\s*", line)
    if not match:
        await Processes.stop(process)
        raise RuntimeError(f"rsocket_peer server {transport} did not start: {line!r}")
    lines: list[str] = []

    async def collect() -> None:
        while True:
            out = await process.stdout.readline()
            if not out:
                return
            lines.append(out.decode(errors="replace").rstrip("\n"))

    return process, int(match.group(1)), lines, asyncio.create_task(collect())


async def open_client(transport: str, port: int, fragment: Optional[int]
                      ) -> tuple[RSocketClient, Callable[[], Awaitable[None]]]:
    """Connects an rsocket-py client; returns it and a coroutine function that closes all."""
    if transport == "tcp":
        reader, writer = await asyncio.wait_for(asyncio.open_connection(HOST, port),
                                                CONNECT_TIMEOUT)
        rs_transport = TransportTCP(reader, writer)
        ws = pump = None
    else:
        ws = await ws_connect(f"ws://{HOST}:{port}/", max_size=MAX_SIZE, proxy=None,
                              open_timeout=CONNECT_TIMEOUT, close_timeout=CLOSE_TIMEOUT)
        rs_transport = WebsocketsTransport()
        pump = asyncio.create_task(rs_transport.handler(ws))
    client = CountingRSocketClient(rs_transport, FrameStats(), fragment_size_bytes=fragment)
    await asyncio.wait_for(client.connect(), CONNECT_TIMEOUT)

    async def close() -> None:
        try:
            await asyncio.wait_for(client.close(), CLOSE_TIMEOUT)
        except Exception:  # noqa: BLE001 - closing is best effort (and bounded)
            pass
        if ws is not None:
            try:
                await asyncio.wait_for(ws.close(), CLOSE_TIMEOUT)
            except Exception:  # noqa: BLE001
                pass
        if pump is not None:
            pump.cancel()
            try:
                await asyncio.wait_for(pump, CLOSE_TIMEOUT)
            except (asyncio.CancelledError, asyncio.TimeoutError, Exception):  # noqa: BLE001
                pass

    return client, close


def client_checks(client: RSocketClient
                  ) -> list[tuple[str, Callable[[], Awaitable[str]], float]]:
    loop = asyncio.get_running_loop()

    async def request_response() -> str:
        answer = await client.request_response(Payload(b"hello", b"meta"))
        assert text(answer.data) == "echo:hello", f"expected echo:hello, got {answer.data!r}"
        return "got echo:hello"

    async def request_response_100k() -> str:
        answer = await client.request_response(Payload(b"x" * BIG))
        data = bytes(answer.data or b"")
        assert len(data) == BIG + 5, f"expected {BIG + 5} bytes, got {len(data)}"
        assert data == b"echo:" + b"x" * BIG, "the answer differs from echo:xxx…"
        return f"{len(data)} bytes back"

    async def fire_and_forget() -> str:
        await client.fire_and_forget(Payload(b"fnf"))
        return "sent"

    async def request_stream() -> str:
        # Explicit credit: request-n 2 on the REQUEST_STREAM, then 2 more per 2 received.
        collector = Collector(initial=2, batch=2)
        client.request_stream(Payload(str(STREAM_COUNT).encode())) \
            .initial_request_n(2).subscribe(collector)
        items = await collector.run()
        expected = [f"item-{i}" for i in range(STREAM_COUNT)]
        assert items == expected, f"expected item-0..item-4, got {items}"
        assert collector.over_credit == 0, \
            f"the server sent {collector.over_credit} item(s) beyond the credit"
        return (f"{len(items)} items in order within credit (request-n 2, then "
                f"{collector.requests})")

    async def request_channel() -> str:
        outbound = CreditPublisher([Payload(b"c0"), Payload(b"c1"), Payload(b"c2")],
                                   finished=True)
        collector = Collector(initial=8)
        client.request_channel(Payload(b"c-first"), publisher=outbound) \
            .initial_request_n(8).subscribe(collector)
        items = await collector.run()
        expected = ["echo:c-first", "echo:c0", "echo:c1", "echo:c2"]
        assert items == expected, (f"expected {expected}, got {items}; "
                                   f"server credit: {outbound.credit_summary()}")
        return (f"{len(items)} items back: {items}; server credit for c0..c2: "
                f"{outbound.credit_summary()}")

    async def metadata_push() -> str:
        await client.metadata_push(b"push")
        return "sent"

    async def alive_after_metadata_push() -> str:
        started = loop.time()
        answer = await client.request_response(Payload(b"alive"))
        assert text(answer.data) == "echo:alive", f"expected echo:alive, got {answer.data!r}"
        return f"answered in {(loop.time() - started) * 1000:.0f} ms"

    return [
        ("request_response", request_response, CHECK_TIMEOUT),
        ("request_response_100k", request_response_100k, CHECK_TIMEOUT),
        ("fire_and_forget", fire_and_forget, CHECK_TIMEOUT),
        ("request_stream", request_stream, CHECK_TIMEOUT),
        ("request_channel", request_channel, CHECK_TIMEOUT),
        ("metadata_push", metadata_push, CHECK_TIMEOUT),
        ("alive_after_metadata_push", alive_after_metadata_push, ALIVE_TIMEOUT),
    ]


async def python_client(report: Report, processes: Processes, bin_dir: Path,
                        transport: str, fragment: Optional[int]) -> None:
    prefix = f"py_client->rsocket_peer_server{label(transport, fragment)}"
    try:
        server, port, lines, collector = await start_peer_server(processes, bin_dir,
                                                                  transport, fragment)
    except Exception as error:  # noqa: BLE001
        report.result(False, f"{prefix}:start", str(error))
        return
    try:
        try:
            client, close = await open_client(transport, port, fragment)
        except Exception as error:  # noqa: BLE001
            report.result(False, f"{prefix}:connect", f"{type(error).__name__}: {error}")
            return
        try:
            for name, check, timeout in client_checks(client):
                await report.run(f"{prefix}:{name}", check, timeout)
        finally:
            await close()
        stats = client.frame_stats
        report.result(stats.fragmented_as(fragment), f"{prefix}:py_client_fragments",
                      stats.summary())

        ok = await wait_until(lambda: "fire_and_forget fnf" in lines, SEEN_TIMEOUT)
        report.result(ok, f"{prefix}:server_saw_fire_and_forget", f"server lines {lines}")
        ok = await wait_until(lambda: "metadata_push push" in lines, SEEN_TIMEOUT)
        report.result(ok, f"{prefix}:server_saw_metadata_push", f"server lines {lines}")
        alive = server.returncode is None
        report.result(alive, f"{prefix}:server_alive",
                      "still running" if alive else f"exited with {server.returncode}")
    finally:
        await Processes.stop(server)
        collector.cancel()
        try:
            await asyncio.wait_for(collector, STOP_TIMEOUT)
        except (asyncio.CancelledError, asyncio.TimeoutError):
            pass


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin-dir", type=Path, default=Path("target/release/examples"))
    parser.add_argument("--transport", action="append", choices=TRANSPORTS)
    parser.add_argument("--fragment", action="append", choices=FRAGMENTS,
                        help="fragment size: off or 1024 (bytes); repeatable")
    parser.add_argument("--debug", action="store_true", help="log rsocket-py's frames")
    args = parser.parse_args()
    transports = args.transport or list(TRANSPORTS)
    fragments = [None if f == "off" else int(f) for f in (args.fragment or FRAGMENTS)]
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.WARNING,
                        format="  (rsocket-py) %(levelname)s %(message)s")
    print(f"rsocket-py {importlib.metadata.version('rsocket')}, websockets "
          f"{websockets.__version__}, Python {sys.version.split()[0]}, transports "
          f"{' '.join(transports)}, fragments {' '.join(str(f or 'off') for f in fragments)}",
          flush=True)

    report = Report()
    processes = Processes()
    try:
        for transport in transports:
            for fragment in fragments:
                await wirestate_client(report, processes, args.bin_dir, transport, fragment)
                await python_client(report, processes, args.bin_dir, transport, fragment)
    finally:
        await processes.stop_all()

    print(f"{report.passed} passed, {report.failed} failed", flush=True)
    return 0 if report.failed == 0 and report.passed > 0 else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
