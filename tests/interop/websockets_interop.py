#!/usr/bin/env python3
"""Interop between wirestate's WebSocket and Python `websockets`, both ways, on every runtime.

(a) `ws_echo_server --runtime R` against a websockets client: text, binary, 16 MiB, fragmented
    messages (with a ping between fragments), ping/pong, and closes with 1000 and with 4000;
    once without compression and once with permessage-deflate (RFC 7692) negotiated.
(b) `ws_interop_client --runtime R [--deflate on]` against a websockets echo server: the
    client's own checks (its PASS/FAIL lines are reported here too), its exit code, and what
    the server saw: the request path, a close with 1000 on every connection, and whether
    permessage-deflate was in use.

Prints `PASS name detail` or `FAIL name detail` per check, then `N passed, M failed`, and exits
0 only if none failed. Listens on and connects to 127.0.0.1 only. Every wait is bounded, and
the only processes stopped are the ones started here, by their PID (terminate, then kill).

    python tests/interop/websockets_interop.py [--bin-dir target/release/examples]
        [--runtime smol --runtime tokio ...]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import websockets
from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

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


def echo_server_checks(uri: str, compression: str | None
                       ) -> list[tuple[str, Callable[[], Awaitable[str]]]]:
    def client_options() -> dict:
        return globals()["client_options"](compression)

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


async def start_server(processes: Processes, binary: Path, runtime: str
                       ) -> tuple[asyncio.subprocess.Process, str]:
    """Starts ws_echo_server on a free port; returns it and its `HOST:PORT`."""
    process = await processes.start(
        str(binary), "--listen", f"{HOST}:0", "--runtime", runtime,
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

    async def handler(self, ws: ServerConnection) -> None:
        self.extensions.append([e.name for e in ws.protocol.extensions])
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


async def wirestate_client(report: Report, processes: Processes, bin_dir: Path,
                           echo: EchoServer, port: int, runtime: str, deflate: bool) -> None:
    prefix = f"ws_interop_client[{runtime}]{'+deflate' if deflate else ''}->websockets_server"
    path = f"/interop?runtime={runtime}"
    echo.closes.clear()
    echo.extensions.clear()
    process = await processes.start(
        str(bin_dir / "ws_interop_client"),
        "--url", f"ws://{HOST}:{port}{path}", "--runtime", runtime,
        "--deflate", "on" if deflate else "off",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    try:
        output, _ = await asyncio.wait_for(process.communicate(), CLIENT_TIMEOUT)
    except asyncio.TimeoutError:
        await Processes.stop(process)
        report.result(False, f"{prefix}:exit", f"no exit within {CLIENT_TIMEOUT:.0f} s")
        return
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
            print(f"  ({runtime} client) {line}", flush=True)
    report.result(process.returncode == 0 and checks > 0, f"{prefix}:exit",
                  f"exit code {process.returncode} after {checks} checks")

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


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin-dir", type=Path, default=Path("target/release/examples"))
    parser.add_argument("--runtime", action="append", choices=RUNTIMES)
    args = parser.parse_args()
    runtimes = args.runtime or list(RUNTIMES)
    print(f"websockets {websockets.__version__}, Python {sys.version.split()[0]}, "
          f"runtimes {' '.join(runtimes)}", flush=True)

    report = Report()
    processes = Processes()
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


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
