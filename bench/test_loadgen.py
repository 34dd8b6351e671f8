"""Self-tests of the bench's load generator and helpers against a tiny local HTTP server
(no eddydb needed): `.venv/bin/python -m pytest bench/test_loadgen.py -q`."""
from __future__ import annotations

import asyncio
import sys
import threading
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from loadgen import AsyncClient, LoadSpec, http_call, new_loop, percentile, run_load


class _Server:
    """HTTP/1.1 server on a free port; the mode decides how it answers each request."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.bodies: list[bytes] = []
        self.loop = new_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        self.ready.wait(5)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.server = self.loop.run_until_complete(asyncio.start_server(self._handle, "127.0.0.1", 0))
        self.port = self.server.sockets[0].getsockname()[1]
        self.ready.set()
        self.loop.run_forever()

    async def _handle(self, reader, writer) -> None:
        n = 0
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                body = await reader.readexactly(length)
                self.bodies.append(body)
                n += 1
                if self.mode == "chunked":
                    writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")
                elif self.mode == "close":
                    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}")
                    await writer.drain()
                    writer.close()
                    return
                elif self.mode == "errors" and n % 2 == 0:
                    writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 11\r\n\r\n{\"x\":\"bad\"}")
                else:
                    writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


@pytest.fixture
def server(request):
    s = _Server(request.param)
    yield s
    s.stop()


@pytest.mark.parametrize("server", ["ok", "chunked", "close"], indirect=True)
def test_count_mode_sends_exactly_count_with_contiguous_counters(server):
    spec = LoadSpec(host="127.0.0.1", port=server.port, target="X.Op", body=b'{"i":%(i)d,"k":%(k)d,"j":%(j)d}',
                    connections=4, count=100, nkeys=10)
    r = run_load(spec)
    assert r.ops == 100 and r.errors == 0
    got = sorted(int(b.split(b":")[1].split(b",")[0]) for b in server.bodies)
    assert got == list(range(100))
    assert b'{"i":37,"k":7,"j":3}' in server.bodies
    if server.mode == "close":
        assert r.reconnects >= 96


@pytest.mark.parametrize("server", ["errors"], indirect=True)
def test_duration_mode_counts_errors_and_keeps_samples(server):
    spec = LoadSpec(host="127.0.0.1", port=server.port, target="X.Op", body=b"{}", connections=2,
                    warmup=0.1, duration=0.5)
    r = run_load(spec)
    assert r.ops > 50
    assert 0 < r.errors < r.ops
    assert r.error_samples and "400" in r.error_samples[0]
    assert len(r.latencies_ns) == r.ops
    s = r.summary()
    assert s["p50_ms"] <= s["p99_ms"] <= s["max_ms"]


@pytest.mark.parametrize("server", ["ok"], indirect=True)
def test_paced_mode_holds_the_rate(server):
    spec = LoadSpec(host="127.0.0.1", port=server.port, target="X.Op", body=b"{}", connections=4,
                    warmup=0.2, duration=1.0, rate=400)
    r = run_load(spec)
    assert 340 <= r.ops <= 460


@pytest.mark.parametrize("server", ["ok"], indirect=True)
def test_async_client_and_http_call(server):
    loop = new_loop()
    try:
        async def go():
            c = await AsyncClient("127.0.0.1", server.port).connect()
            st, body, t = await c.call("X.Op", b"{}")
            await c.close()
            return st, body, t
        st, body, t = loop.run_until_complete(go())
    finally:
        loop.close()
    assert (st, body) == (200, b"{}") and t > 0
    assert http_call("127.0.0.1", server.port, "X.Op", b"{}") == (200, b"{}")


def test_percentile_nearest_rank():
    assert percentile([], 50) == 0
    vals = list(range(1, 101))
    assert percentile(vals, 50) == 50
    assert percentile(vals, 99) == 99
    assert percentile(vals, 100) == 100
