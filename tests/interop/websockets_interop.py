#!/usr/bin/env python3
"""Interop between wirestate's WebSocket and Python `websockets`, both ways, on every runtime.

(a) `ws_echo_server --runtime R` against a websockets client: text, binary, 16 MiB, fragmented
    messages (with a ping between fragments), ping/pong, and closes with 1000 and with 4000;
    once without compression and once with permessage-deflate (RFC 7692) negotiated.
(b) `ws_interop_client --runtime R [--deflate on]` against a websockets echo server: the
    client's own checks (its PASS/FAIL lines are reported here too), its exit code, and what
    the server saw: the request path, a close with 1000 on every connection, and whether
    permessage-deflate was in use.

With `--tls PKI_DIR` (a folder written by tests/scripts/tls_test_pki.py) the same runs over
TLS instead, `wss://localhost:PORT` (the certificate names localhost and 127.0.0.1, signed by
the folder's CA, the only root either side trusts):

(a) `ws_echo_server --tls-cert --tls-key` against a websockets client whose ssl.SSLContext
    trusts the CA and checks the host name: every check of (a) above, plain and with
    permessage-deflate, plus the TLS session (TLS 1.3, ALPN http/1.1), the IP address name,
    TLS 1.2, 20 connections at once, a client that trusts another CA (refused), a ws:// upgrade
    on the TLS port (refused), an abandoned handshake and an idle one (closed by the server's
    handshake timeout), with the server still running after all of them.
(b) `ws_interop_client --tls-ca CA.pem --url wss://...` against a websockets echo server over
    TLS (ALPN http/1.1): everything (b) above checks, plus TLS 1.3 and http/1.1 on every
    connection as the server saw it; then the client trusting another CA, and a server whose
    certificate names another host: every check must fail on the certificate (unknown issuer,
    name mismatch) and no WebSocket connection may reach the server.

Prints `PASS name detail` or `FAIL name detail` per check, then `N passed, M failed`, and exits
0 only if none failed. Listens on and connects to 127.0.0.1 only. Every wait is bounded, and
the only processes stopped are the ones started here, by their PID (terminate, then kill).

    python tests/interop/websockets_interop.py [--bin-dir target/release/examples]
        [--runtime smol --runtime tokio ...] [--tls PKI_DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import os
import re
import socket
import ssl
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import websockets
from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.typing import Data

RUNTIMES = ("smol", "tokio", "blocking")
HOST = "127.0.0.1"
LARGE = 16 * 1024 * 1024
MAX_SIZE = 32 * 1024 * 1024  # room for the 16 MiB message both ways
CHECK_TIMEOUT = 30.0  # seconds for one check against the echo server
START_TIMEOUT = 10.0  # seconds for a server to print its address
CLIENT_TIMEOUT = 300.0  # seconds for one ws_interop_client run (6 checks of at most 20 s)
STOP_TIMEOUT = 5.0  # seconds between terminate and kill


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

    async def run(self, name: str, check: Callable[[], Awaitable[str]]) -> None:
        """Runs one check within CHECK_TIMEOUT; any exception is its failure."""
        try:
            detail = await asyncio.wait_for(check(), CHECK_TIMEOUT)
        except asyncio.TimeoutError:
            self.result(False, name, f"no result within {CHECK_TIMEOUT:.0f} s")
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


def client_options(compression: str | None) -> dict:
    """Options for every websockets client: large messages, direct to 127.0.0.1, bounded."""
    return dict(max_size=MAX_SIZE, proxy=None, open_timeout=10, close_timeout=10,
                compression=compression)


# ---- (a) websockets client against ws_echo_server ------------------------------------------


async def fragments(parts: list[bytes], between: Callable[[], Awaitable[None]] | None = None
                    ) -> AsyncIterator[bytes]:
    """Yields `parts` one by one, awaiting `between` after the first."""
    for i, part in enumerate(parts):
        yield part
        if i == 0 and between is not None:
            await between()


def echo_server_checks(uri: str, compression: str | None, tls_options: dict | None = None
                       ) -> list[tuple[str, Callable[[], Awaitable[str]]]]:
    def client_options() -> dict:
        return {**globals()["client_options"](compression), **(tls_options or {})}

    async def text() -> str:
        message = "héllo wörld, ünïcode ✓ — 你好, 🦀" * 4
        async with connect(uri, **client_options()) as ws:
            await ws.send(message)
            echo = await ws.recv()
            assert echo == message, f"sent {message!r}, got {echo!r}"
            extensions = [e.name for e in ws.protocol.extensions]
        if compression:
            assert extensions == ["permessage-deflate"], f"negotiated {extensions}"
            return f"{len(message.encode())} bytes came back equal, permessage-deflate in use"
        assert not extensions, f"nothing was offered, yet {extensions}"
        return f"{len(message.encode())} bytes came back equal, uncompressed"

    async def binary() -> str:
        message = bytes(range(256)) * 4
        async with connect(uri, **client_options()) as ws:
            await ws.send(message)
            echo = await ws.recv()
            assert echo == message, f"sent {len(message)} bytes, got {echo!r:.80}"
        return f"{len(message)} bytes came back equal"

    async def large() -> str:
        message = os.urandom(LARGE)
        loop = asyncio.get_running_loop()
        async with connect(uri, **client_options()) as ws:
            started = loop.time()
            await ws.send(message)
            echo = await ws.recv()
            took = loop.time() - started
            assert isinstance(echo, bytes), f"expected binary, got {type(echo).__name__}"
            assert len(echo) == LARGE, f"sent {LARGE} bytes, got {len(echo)}"
            assert echo == message, "the echo differs from what was sent"
        return f"{LARGE} bytes came back equal in {took * 1000:.0f} ms"

    async def fragmented_text() -> str:
        message = "fragmented ✓ text: 你好 🦀"
        encoded = message.encode()
        # Cut inside multi-byte characters, and include an empty fragment.
        cuts = [0, 12, 13, 13, 25, len(encoded)]
        parts = [encoded[a:b] for a, b in zip(cuts, cuts[1:])]
        async with connect(uri, **client_options()) as ws:
            await ws.send(fragments(parts), text=True)
            echo = await ws.recv()
            assert echo == message, f"sent {message!r} in {len(parts)} fragments, got {echo!r}"
        return f"{len(parts)} text fragments (cut inside UTF-8 characters) came back as one message"

    async def fragmented_binary_with_ping() -> str:
        parts = [os.urandom(n) for n in (1000, 1, 0, 70000, 3)]
        pong: list[Awaitable[float]] = []
        async with connect(uri, **client_options()) as ws:
            async def ping() -> None:
                pong.append(await ws.ping(b"between fragments"))
            await ws.send(fragments(parts, between=ping))
            echo = await ws.recv()
            whole = b"".join(parts)
            assert echo == whole, f"sent {len(whole)} bytes in fragments, got {len(echo)} bytes"
            await asyncio.wait_for(pong[0], 10)
        return (f"{len(parts)} binary fragments ({len(whole)} bytes, a ping between) came back "
                "as one message; the ping was answered")

    async def ping_pong() -> str:
        payload = b"python ping \x00\x01\xfe\xff"
        async with connect(uri, **client_options()) as ws:
            waiter = await ws.ping(payload)
            latency = await asyncio.wait_for(waiter, 10)
        return f"pong for {len(payload)} bytes in {latency * 1000:.1f} ms"

    async def close_1000() -> str:
        ws = await connect(uri, **client_options())
        await ws.send("before close")
        assert await ws.recv() == "before close"
        await ws.close(1000, "python done")
        assert ws.close_code == 1000, f"the server answered {ws.close_code} {ws.close_reason!r}"
        return f"the server echoed {ws.close_code} {ws.close_reason!r}"

    async def close_4000_after_message() -> str:
        ws = await connect(uri, **client_options())
        await ws.send("last words")
        await ws.close(4000, "custom")
        # wirestate echoes the code alone (RFC 6455 §5.5.1), without the reason.
        got = (ws.close_code, ws.close_reason)
        assert got == (4000, ""), f"sent 4000 'custom', the server answered {got}"
        return f"sent 4000 'custom' right after a message; the server echoed {got[0]} {got[1]!r}"

    return [
        ("text", text),
        ("binary", binary),
        ("binary_16mib", large),
        ("fragmented_text", fragmented_text),
        ("fragmented_binary_with_ping", fragmented_binary_with_ping),
        ("ping_pong", ping_pong),
        ("close_1000", close_1000),
        ("close_4000_after_message", close_4000_after_message),
    ]


async def start_server(processes: Processes, binary: Path, runtime: str,
                       pki: Pki | None = None) -> tuple[asyncio.subprocess.Process, str]:
    """Starts ws_echo_server on a free port (over TLS with `pki`); returns it and its
    `HOST:PORT`."""
    tls = ["--tls-cert", str(pki.cert), "--tls-key", str(pki.key)] if pki else []
    process = await processes.start(
        str(binary), "--listen", f"{HOST}:0", "--runtime", runtime, *tls,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        line = await asyncio.wait_for(process.stdout.readline(), START_TIMEOUT)
    except asyncio.TimeoutError:
        line = b""
    match = re.fullmatch(rb"listening on (127\.0\.0\.1:\d+)\s*", line)
    if not match:
        await processes.stop(process)
        raise RuntimeError(f"{binary.name} --runtime {runtime} did not start: {line!r}")
    return process, match.group(1).decode()


async def websockets_client(report: Report, processes: Processes, bin_dir: Path,
                            runtime: str) -> None:
    prefix = f"websockets_client->ws_echo_server[{runtime}]"
    try:
        server, address = await start_server(processes, bin_dir / "ws_echo_server", runtime)
    except Exception as error:  # noqa: BLE001
        report.result(False, f"{prefix}:start", str(error))
        return
    try:
        for compression in (None, "deflate"):
            label = "+deflate" if compression else ""
            for name, check in echo_server_checks(f"ws://{address}/echo", compression):
                await report.run(f"{prefix}{label}:{name}", check)
        alive = server.returncode is None
        report.result(alive, f"{prefix}:server_alive",
                      "still running" if alive else f"exited with {server.returncode}")
    finally:
        await Processes.stop(server)


# ---- (b) ws_interop_client against a websockets echo server --------------------------------


class EchoServer:
    """A websockets echo server that records, per connection, the path and the close."""

    def __init__(self) -> None:
        self.closes: list[tuple[str, int | None, str | None]] = []
        self.extensions: list[list[str]] = []
        self.tls: list[tuple[str | None, str | None] | None] = []  # (version, ALPN) or None

    def clear(self) -> None:
        self.closes.clear()
        self.extensions.clear()
        self.tls.clear()

    async def handler(self, ws: ServerConnection) -> None:
        self.extensions.append([e.name for e in ws.protocol.extensions])
        tls = ws.transport.get_extra_info("ssl_object")
        self.tls.append((tls.version(), tls.selected_alpn_protocol()) if tls else None)
        try:
            async for message in ws:
                await ws.send(message)
        except ConnectionClosed:
            pass
        finally:
            try:
                await asyncio.wait_for(ws.wait_closed(), 10)
            except asyncio.TimeoutError:
                pass
            self.closes.append((ws.request.path, ws.close_code, ws.close_reason))

    async def wait_for_closes(self, count: int, timeout: float) -> None:
        """Waits (at most `timeout`) until `count` connections have been recorded."""
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout
        while len(self.closes) < count and loop.time() < end:
            await asyncio.sleep(0.05)


async def run_client(processes: Processes, bin_dir: Path, *args: str) -> tuple[int, str]:
    """Runs ws_interop_client with `args`; returns its exit code and output (stdout and
    stderr). Raises TimeoutError if it has not exited within CLIENT_TIMEOUT."""
    process = await processes.start(
        str(bin_dir / "ws_interop_client"), *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    try:
        output, _ = await asyncio.wait_for(process.communicate(), CLIENT_TIMEOUT)
    finally:
        await Processes.stop(process)
    return process.returncode, output.decode(errors="replace")


async def wirestate_client(report: Report, processes: Processes, bin_dir: Path,
                           echo: EchoServer, port: int, runtime: str, deflate: bool,
                           pki: Pki | None = None) -> None:
    prefix = (f"ws_interop_client[{runtime}]{'+deflate' if deflate else ''}->websockets_server"
              f"{'(wss)' if pki else ''}")
    path = f"/interop?runtime={runtime}"
    url = f"wss://localhost:{port}{path}" if pki else f"ws://{HOST}:{port}{path}"
    tls = ["--tls-ca", str(pki.ca)] if pki else []
    echo.clear()
    try:
        returncode, output = await run_client(
            processes, bin_dir, "--url", url, "--runtime", runtime,
            "--deflate", "on" if deflate else "off", *tls)
    except asyncio.TimeoutError:
        report.result(False, f"{prefix}:exit", f"no exit within {CLIENT_TIMEOUT:.0f} s")
        return

    checks = 0
    for line in output.splitlines():
        verdict, _, rest = line.partition(" ")
        if verdict in ("PASS", "FAIL"):
            checks += 1
            name, _, detail = rest.partition(" ")
            report.result(verdict == "PASS", f"{prefix}:{name}", detail)
        elif not re.fullmatch(r"\d+ passed, \d+ failed", line):  # counted here instead
            print(f"  ({runtime} client) {line}", flush=True)
    report.result(returncode == 0 and checks > 0, f"{prefix}:exit",
                  f"exit code {returncode} after {checks} checks")

    # One connection per check, each closed by the client with 1000.
    await echo.wait_for_closes(checks, 10)
    codes = [code for _, code, _ in echo.closes]
    ok = len(codes) == checks and all(code == 1000 for code in codes)
    report.result(ok, f"{prefix}:server_saw_close_1000",
                  f"{len(codes)} connections for {checks} checks, close codes {codes}")
    reasons = [reason for _, _, reason in echo.closes]
    ok = "client done ✓" in reasons
    report.result(ok, f"{prefix}:server_saw_close_reason", f"reasons {reasons}")
    paths = sorted({path for path, _, _ in echo.closes})
    report.result(paths == [path], f"{prefix}:request_path", f"paths {paths}")
    expected = ["permessage-deflate"] if deflate else []
    ok = bool(echo.extensions) and all(names == expected for names in echo.extensions)
    report.result(ok, f"{prefix}:server_saw_extensions",
                  f"{len(echo.extensions)} connections, extensions {echo.extensions[:1]}")
    if pki:
        sessions = sorted(set(echo.tls), key=str)
        ok = bool(echo.tls) and sessions == [("TLSv1.3", "http/1.1")]
        report.result(ok, f"{prefix}:server_saw_tls",
                      f"{len(echo.tls)} connections, (TLS version, ALPN) {sessions}")


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin-dir", type=Path, default=Path("target/release/examples"))
    parser.add_argument("--runtime", action="append", choices=RUNTIMES)
    parser.add_argument("--tls", type=Path, metavar="PKI_DIR",
                        help="run over TLS with the certificates in PKI_DIR (tls_test_pki.py)")
    args = parser.parse_args()
    runtimes = args.runtime or list(RUNTIMES)
    print(f"websockets {websockets.__version__}, Python {sys.version.split()[0]}, "
          f"{ssl.OPENSSL_VERSION}, runtimes {' '.join(runtimes)}"
          f"{', over TLS' if args.tls else ''}", flush=True)

    report = Report()
    processes = Processes()
    if args.tls:
        try:
            await tls_main(report, processes, args.bin_dir, runtimes, Pki(args.tls))
        finally:
            await processes.stop_all()
        print(f"{report.passed} passed, {report.failed} failed", flush=True)
        return 0 if report.failed == 0 and report.passed > 0 else 1

    try:
        for runtime in runtimes:
            await websockets_client(report, processes, args.bin_dir, runtime)

        echo = EchoServer()
        async with serve(echo.handler, HOST, 0, max_size=MAX_SIZE) as server:
            port = server.sockets[0].getsockname()[1]
            for runtime in runtimes:
                for deflate in (False, True):
                    await wirestate_client(report, processes, args.bin_dir, echo, port,
                                           runtime, deflate)
            server.close()
            await asyncio.wait_for(server.wait_closed(), 15)
    finally:
        await processes.stop_all()

    print(f"{report.passed} passed, {report.failed} failed", flush=True)
    return 0 if report.failed == 0 and report.passed > 0 else 1


# ---- (c) over TLS: both directions at wss:// ------------------------------------------------


class Pki:
    """The certificates tls_test_pki.py wrote, and the TLS contexts made from them."""

    def __init__(self, folder: Path) -> None:
        self.ca = folder / "ca.pem"
        self.cert = folder / "server.pem"
        self.key = folder / "server.key"
        self.wrong_name_cert = folder / "wrong-name.pem"
        self.wrong_name_key = folder / "wrong-name.key"
        self.other_ca = folder / "other-ca.pem"
        for path in (self.ca, self.cert, self.key, self.wrong_name_cert, self.wrong_name_key,
                     self.other_ca):
            if not path.is_file():
                raise SystemExit(f"{path}: missing (write the folder with tls_test_pki.py)")

    def client(self, ca: Path | None = None,
               maximum: ssl.TLSVersion | None = None) -> ssl.SSLContext:
        """A client context that trusts only `ca` (the test CA by default), checks the host
        name and offers ALPN http/1.1."""
        context = ssl.create_default_context(cafile=str(ca or self.ca))
        assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
        context.set_alpn_protocols(["http/1.1"])
        if maximum is not None:
            context.maximum_version = maximum
        return context

    def server(self, cert: Path | None = None, key: Path | None = None) -> ssl.SSLContext:
        """A server context presenting `cert` (the localhost one by default), ALPN http/1.1."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert or self.cert, key or self.key)
        context.set_alpn_protocols(["http/1.1"])
        return context


def tls_session(ws) -> tuple[str | None, str | None, str | None]:
    """A connection's TLS version, ALPN protocol and cipher, as Python's ssl sees them."""
    tls = ws.transport.get_extra_info("ssl_object")
    assert tls is not None, "the connection is not over TLS"
    return tls.version(), tls.selected_alpn_protocol(), tls.cipher()[0]


async def echo_once(ws, message: Data) -> None:
    await ws.send(message)
    echo = await ws.recv()
    assert echo == message, f"sent {len(message)} bytes or chars, got {echo!r:.80}"


async def idle_handshake(port: int) -> float:
    """Opens a TCP connection to the TLS port, sends nothing, and returns how long the server
    took to close it (bounded by CHECK_TIMEOUT)."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        data = await asyncio.wait_for(reader.read(), CHECK_TIMEOUT)
    finally:
        writer.close()
    assert data == b"", f"the server sent {data!r} to a client that said nothing"
    return loop.time() - started


class TrickleClient:
    """A WebSocket client on an ssl.SSLObject of its own, so it decides how the ciphertext is
    cut: every write to the socket is at most `chunk` bytes (TCP_NODELAY on), so TLS records
    reach the server in many pieces."""

    def __init__(self, pki: Pki, port: int, chunk: int, context: ssl.SSLContext | None = None,
                 session: ssl.SSLSession | None = None) -> None:
        self.port, self.chunk = port, chunk
        self.incoming, self.outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.tls = (context or pki.client()).wrap_bio(
            self.incoming, self.outgoing, server_hostname="localhost", session=session)
        self.writes = 0
        self.written = 0  # bytes of ciphertext
        self.plain = b""

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(HOST, self.port)
        self.writer.get_extra_info("socket").setsockopt(
            socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        while True:
            try:
                self.tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                await self.flush()
                await self.pump()
        await self.flush()

    async def flush(self) -> None:
        data = self.outgoing.read()
        for at in range(0, len(data), self.chunk):
            self.writer.write(data[at:at + self.chunk])
            await self.writer.drain()
            await asyncio.sleep(0)  # a check's timeout can fire in between
            self.writes += 1
            self.written += len(data[at:at + self.chunk])

    async def pump(self) -> None:
        data = await self.reader.read(65536)
        if data:
            self.incoming.write(data)
        else:
            self.incoming.write_eof()

    async def send(self, data: bytes) -> None:
        self.tls.write(data)
        await self.flush()

    async def read_more(self) -> bytes:
        """The next decrypted bytes; EOFError once the server's close_notify is in."""
        while True:
            try:
                data = self.tls.read(65536)
            except ssl.SSLWantReadError:
                await self.flush()
                await self.pump()
                continue
            if not data:  # SSLObject.read's answer to close_notify
                raise EOFError("the server ended the TLS session (close_notify)")
            return data

    async def recv_exactly(self, n: int) -> bytes:
        while len(self.plain) < n:
            self.plain += await self.read_more()
        data, self.plain = self.plain[:n], self.plain[n:]
        return data

    async def recv_until(self, end: bytes) -> bytes:
        while end not in self.plain:
            self.plain += await self.read_more()
        data, _, self.plain = self.plain.partition(end)
        return data + end

    async def upgrade(self) -> None:
        key = base64.b64encode(os.urandom(16)).decode()
        await self.send((f"GET /echo HTTP/1.1\r\nHost: localhost:{self.port}\r\n"
                         "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                         f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
                         ).encode())
        head = (await self.recv_until(b"\r\n\r\n")).decode("latin-1")
        accept = base64.b64encode(hashlib.sha1(
            (key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()).decode()
        assert head.startswith("HTTP/1.1 101"), f"the upgrade was answered {head!r:.80}"
        assert accept in head, f"no Sec-WebSocket-Accept {accept} in {head!r}"

    async def send_frame(self, opcode: int, payload: bytes) -> None:
        mask = os.urandom(4)
        n = len(payload)
        if n < 126:
            head = bytes([0x80 | opcode, 0x80 | n])
        elif n < 65536:
            head = bytes([0x80 | opcode, 0x80 | 126]) + n.to_bytes(2, "big")
        else:
            head = bytes([0x80 | opcode, 0x80 | 127]) + n.to_bytes(8, "big")
        key = int.from_bytes((mask * (n // 4 + 1))[:n], "big")
        masked = (int.from_bytes(payload, "big") ^ key).to_bytes(n, "big")
        await self.send(head + mask + masked)

    async def recv_frame(self) -> tuple[int, bytes]:
        b0, b1 = await self.recv_exactly(2)
        assert b0 & 0x80 and not b1 & 0x80, f"unexpected frame header {b0:#x} {b1:#x}"
        n = b1 & 0x7F
        if n == 126:
            n = int.from_bytes(await self.recv_exactly(2), "big")
        elif n == 127:
            n = int.from_bytes(await self.recv_exactly(8), "big")
        return b0 & 0x0F, await self.recv_exactly(n)

    async def tls_end(self) -> str:
        """Reads until the TLS session ends: "close_notify", or how it ended otherwise."""
        try:
            extra = self.plain + await self.read_more()
        except EOFError:
            return "close_notify"
        except ssl.SSLError as error:  # SSLEOFError: the TCP end came without close_notify
            return f"{type(error).__name__}: {error}"
        raise AssertionError(f"{len(extra)} bytes after the close frame")

    def close(self) -> None:
        self.writer.close()


def tls_echo_server_checks(port: int, pki: Pki
                           ) -> list[tuple[str, Callable[[], Awaitable[str]]]]:
    """Checks that only make sense over TLS, against ws_echo_server on `port`."""
    uri = f"wss://localhost:{port}/echo"
    verified = dict(ssl=pki.client(), host=HOST)

    async def session() -> str:
        async with connect(uri, **client_options(None), **verified) as ws:
            version, alpn, cipher = tls_session(ws)
            await echo_once(ws, "over TLS ✓")
        assert version == "TLSv1.3", f"TLS version {version}"
        assert alpn == "http/1.1", f"ALPN {alpn!r}, not http/1.1"
        return (f"{version} {cipher}, ALPN {alpn}; the certificate for localhost verified "
                "against the test CA; a message came back")

    async def ip_address_name() -> str:
        async with connect(f"wss://{HOST}:{port}/echo", **client_options(None),
                           ssl=pki.client()) as ws:
            await echo_once(ws, b"ip \x00\xff")
        return f"wss://{HOST}: the certificate verified for the IP address; a message came back"

    async def tls12() -> str:
        async with connect(uri, **client_options(None), ssl=pki.client(
                maximum=ssl.TLSVersion.TLSv1_2), host=HOST) as ws:
            version, alpn, cipher = tls_session(ws)
            message = os.urandom(300_000)
            await echo_once(ws, message)
        assert version == "TLSv1.2", f"TLS version {version}"
        return f"{version} {cipher}, ALPN {alpn}; {len(message)} bytes came back equal"

    async def concurrent() -> str:
        async def one(i: int) -> None:
            async with connect(uri, **client_options(None), ssl=pki.client(), host=HOST) as ws:
                for j in range(5):
                    await echo_once(ws, os.urandom(20_000 + 1000 * i + j))
                await echo_once(ws, f"connection {i} ✓")
        await asyncio.gather(*(one(i) for i in range(20)))
        return "20 connections at once, 6 messages each (~100 KiB), all came back equal"

    async def other_ca_refused() -> str:
        try:
            async with connect(uri, **client_options(None), ssl=pki.client(pki.other_ca),
                               host=HOST):
                pass
        except ssl.SSLCertVerificationError as error:
            return f"refused by Python's ssl as expected: {error.verify_message}"
        raise AssertionError("the handshake succeeded, trusting a CA that signed nothing")

    async def plain_upgrade_refused() -> str:
        try:
            async with connect(f"ws://{HOST}:{port}/echo", **client_options(None)):
                pass
        except Exception as error:  # noqa: BLE001 - any refusal will do
            return f"a ws:// upgrade on the TLS port failed: {type(error).__name__}: {error}"
        raise AssertionError("a ws:// upgrade succeeded on the TLS port")

    async def backpressure() -> str:
        # 128 MiB of frames, none of the echoes read for 2 s. ws_echo_server queues up to its
        # 64 MiB message limit of received messages, so it has to stop reading before the end
        # (its TLS layer holding decrypted bytes back), then take the rest once the echoes
        # are read.
        count, size = 512, 256 * 1024
        payloads = [os.urandom(size) for _ in range(count)]
        client = TrickleClient(pki, port, chunk=1 << 20)
        try:
            await client.open()
            await client.upgrade()

            async def send_all() -> None:
                for payload in payloads:
                    await client.send_frame(0x2, payload)
            sending = asyncio.create_task(send_all())
            await asyncio.sleep(2)
            stalled, taken = not sending.done(), client.written
            for i, payload in enumerate(payloads):
                opcode, echo = await client.recv_frame()
                assert opcode == 0x2 and echo == payload, f"echo {i} differs"
            await sending
            await client.send_frame(0x8, (1000).to_bytes(2, "big"))
            opcode, _ = await client.recv_frame()
            assert opcode == 0x8, f"expected the close frame, got opcode {opcode}"
        finally:
            client.close()
        assert stalled, f"the server took all {client.written} bytes without its echoes read"
        return (f"{count} x {size // 1024} KiB: the server stopped taking data after "
                f"{taken / 2**20:.1f} MiB while its echoes were not read; all {count} echoes "
                "came back equal and in order once they were")

    async def trickle() -> str:
        client = TrickleClient(pki, port, chunk=3)
        try:
            await client.open()
            await client.upgrade()
            text = "trickled ✓".encode()
            await client.send_frame(0x1, text)
            assert await client.recv_frame() == (0x1, text), "the text echo differs"
            binary = os.urandom(70_000)
            await client.send_frame(0x2, binary)
            assert await client.recv_frame() == (0x2, binary), "the binary echo differs"
            await client.send_frame(0x8, (1000).to_bytes(2, "big") + b"trickle done")
            opcode, payload = await client.recv_frame()
            assert opcode == 0x8 and payload[:2] == (1000).to_bytes(2, "big"), \
                f"expected a close frame with 1000, got opcode {opcode} {payload!r}"
            end = await client.tls_end()
        finally:
            client.close()
        assert end == "close_notify", f"after the closing handshake the TLS session ended: {end}"
        return (f"{client.writes} writes of at most 3 bytes of ciphertext (handshake, upgrade, "
                "text, 70000 bytes binary, close): every echo equal, close 1000 echoed, then "
                "the server's close_notify")

    async def resumption() -> str:
        # The server's session tickets come after the handshake, through the TLS layer.
        context = pki.client()
        first = TrickleClient(pki, port, 1 << 20, context)
        try:
            await first.open()
            await first.upgrade()
            await first.send_frame(0x1, b"first")
            assert await first.recv_frame() == (0x1, b"first"), "the first echo differs"
            session = first.tls.session
            await first.send_frame(0x8, (1000).to_bytes(2, "big"))
            await first.recv_frame()
            await first.tls_end()
        finally:
            first.close()
        assert session is not None and session.has_ticket, "no session ticket came"
        second = TrickleClient(pki, port, 1 << 20, context, session)
        try:
            await second.open()
            await second.upgrade()
            await second.send_frame(0x1, b"second")
            assert await second.recv_frame() == (0x1, b"second"), "the second echo differs"
            resumed, version = second.tls.session_reused, second.tls.version()
        finally:
            second.close()
        assert resumed, "the second connection did not resume the first one's session"
        return f"a {version} session ticket from the first connection resumed the second"

    async def abandoned_handshake() -> str:
        _, writer = await asyncio.open_connection(HOST, port)
        # A TLS record header and the first bytes of a ClientHello, then the end.
        writer.write(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")
        await writer.drain()
        writer.close()
        await writer.wait_closed()
        async with connect(uri, **client_options(None), **verified) as ws:
            await echo_once(ws, "after an abandoned handshake")
        return "a connection that left mid-ClientHello; the next one works"

    return [
        ("tls_session", session),
        ("ip_address_name", ip_address_name),
        ("tls_1_2", tls12),
        ("concurrent_20", concurrent),
        ("backpressure_128mib", backpressure),
        ("trickled_records", trickle),
        ("tls13_resumption", resumption),
        ("other_ca_refused", other_ca_refused),
        ("plain_upgrade_refused", plain_upgrade_refused),
        ("abandoned_handshake", abandoned_handshake),
    ]


async def websockets_client_tls(report: Report, processes: Processes, bin_dir: Path,
                                runtime: str, pki: Pki) -> None:
    prefix = f"websockets_client->ws_echo_server[{runtime}](wss)"
    try:
        server, address = await start_server(processes, bin_dir / "ws_echo_server", runtime,
                                             pki)
    except Exception as error:  # noqa: BLE001
        report.result(False, f"{prefix}:start", str(error))
        return
    port = int(address.rpartition(":")[2])
    try:
        # The server's handshake timeout (10 s) runs while the other checks do.
        idle = asyncio.create_task(idle_handshake(port))
        verified = dict(ssl=pki.client(), host=HOST)
        for compression in (None, "deflate"):
            label = "+deflate" if compression else ""
            for name, check in echo_server_checks(f"wss://localhost:{port}/echo", compression,
                                                  verified):
                await report.run(f"{prefix}{label}:{name}", check)
        for name, check in tls_echo_server_checks(port, pki):
            await report.run(f"{prefix}:{name}", check)

        async def idle_closed() -> str:
            took = await idle
            assert 5 <= took <= 20, f"closed after {took:.1f} s, not near the 10 s timeout"
            return f"a connection that sent nothing was closed after {took:.1f} s"
        await report.run(f"{prefix}:idle_handshake_timeout", idle_closed)

        alive = server.returncode is None
        report.result(alive, f"{prefix}:server_alive",
                      "still running" if alive else f"exited with {server.returncode}")
    finally:
        await Processes.stop(server)


async def wirestate_client_refused(report: Report, processes: Processes, bin_dir: Path,
                                   echo: EchoServer, port: int, runtime: str, label: str,
                                   ca: Path, expected: str) -> None:
    """Runs ws_interop_client against a server it must not trust: every check has to fail
    with `expected` in its detail, the exit code has to be 1, and no WebSocket connection
    may have reached the server."""
    prefix = f"ws_interop_client[{runtime}]->websockets_server(wss,{label})"
    echo.clear()
    try:
        returncode, output = await run_client(
            processes, bin_dir, "--url", f"wss://localhost:{port}/refused",
            "--runtime", runtime, "--tls-ca", str(ca))
    except asyncio.TimeoutError:
        report.result(False, f"{prefix}:refused", f"no exit within {CLIENT_TIMEOUT:.0f} s")
        return
    lines = output.splitlines()
    failures = [line for line in lines if line.startswith("FAIL ")]
    passes = [line for line in lines if line.startswith("PASS ")]
    ok = (returncode == 1 and failures and not passes
          and all(expected in line for line in failures))
    first = failures[0].partition(" ")[2] if failures else output.strip()[:200]
    report.result(ok, f"{prefix}:refused",
                  f"exit code {returncode}, {len(failures)} checks failed, {len(passes)} "
                  f"passed; first: {first}")
    await asyncio.sleep(0.2)
    report.result(not echo.extensions, f"{prefix}:server_saw_nothing",
                  f"{len(echo.extensions)} WebSocket connections reached the server")


async def tls_main(report: Report, processes: Processes, bin_dir: Path, runtimes: list[str],
                   pki: Pki) -> None:
    for runtime in runtimes:
        await websockets_client_tls(report, processes, bin_dir, runtime, pki)

    echo = EchoServer()
    async with serve(echo.handler, HOST, 0, max_size=MAX_SIZE, ssl=pki.server()) as server, \
            serve(echo.handler, HOST, 0, max_size=MAX_SIZE,
                  ssl=pki.server(pki.wrong_name_cert, pki.wrong_name_key)) as wrong_name:
        port = server.sockets[0].getsockname()[1]
        wrong_name_port = wrong_name.sockets[0].getsockname()[1]
        for runtime in runtimes:
            for deflate in (False, True):
                await wirestate_client(report, processes, bin_dir, echo, port, runtime,
                                       deflate, pki)
            await wirestate_client_refused(report, processes, bin_dir, echo, port, runtime,
                                           "other CA", pki.other_ca, "unknown issuer")
            await wirestate_client_refused(report, processes, bin_dir, echo, wrong_name_port,
                                           runtime, "wrong name", pki.ca,
                                           "not valid for the server name")
        for listening in (server, wrong_name):
            listening.close()
            await asyncio.wait_for(listening.wait_closed(), 15)


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
