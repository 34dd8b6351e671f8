"""The load generator of bench/run.py: closed-loop (or paced) raw HTTP/1.1 over asyncio.

Each connection keeps exactly one request in flight (closed loop): it sends, waits for the whole
response, records the latency and sends the next one. Requests are built from a pre-rendered header
block plus a body template filled with a counter (bytes %-formatting, ~1 us), so the client spends
its CPU on the socket, not on JSON or SigV4. The Authorization header is a syntactically valid but
dummy SigV4 header: none of the targets verify signatures.

Responses are parsed minimally (status line, Content-Length or chunked body); every non-200 is
counted as an error and the first few error bodies are kept for the report. A server that closes
the connection (HTTP/1.0 style, e.g. werkzeug under moto) is reconnected transparently; the
connect time is then part of that request's latency, which is the honest cost of no keep-alive.

`run_load(spec)` runs one load in the calling process; `run_load_procs(spec, procs)` splits the
connections over `procs` child processes (spawned, optionally CPU-pinned) and merges the results.
Called by bench/run.py and the suites; nothing here knows about DynamoDB semantics.
"""
from __future__ import annotations

import asyncio
import math
import multiprocessing
import os
import resource
import time
from array import array
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "AsyncClient",
    "LoadResult",
    "LoadSpec",
    "http_call",
    "new_loop",
    "percentile",
    "request_head",
    "run_load",
    "run_load_procs",
]

_SIG = "0" * 64
_DATE = "20260101T000000Z"


def request_head(host: str, port: int, target: str, *, region: str = "us-east-1",
                 service: str = "dynamodb", content_type: str = "application/x-amz-json-1.0") -> bytes:
    """The header block of a JSON 1.0 AWS request up to (excluding) the Content-Length value."""
    return (
        f"POST / HTTP/1.1\r\n"
        f"Host: {host}:{port}\r\n"
        f"Content-Type: {content_type}\r\n"
        f"X-Amz-Target: {target}\r\n"
        f"X-Amz-Date: {_DATE}\r\n"
        f"Authorization: AWS4-HMAC-SHA256 Credential=AKIDBENCHMARK/20260101/{region}/{service}/aws4_request, "
        f"SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature={_SIG}\r\n"
        f"Content-Length: "
    ).encode()


@dataclass
class LoadSpec:
    """What to send, where, and for how long. Picklable (sent to child processes)."""
    host: str
    port: int
    target: str                      # e.g. "DynamoDB_20120810.PutItem"
    body: bytes                      # bytes %-template, mapping keys: c (connection id), i (counter),
    nkeys: int = 1 << 62             #   k = i % nkeys, j = (i // nkeys) % 25 (key space of preloaded batches)
    connections: int = 8
    warmup: float = 2.0
    duration: float = 10.0
    count: int | None = None         # send exactly this many requests (no warm-up/duration), e.g. to preload
    rate: float | None = None        # paced: total requests/s over all connections (latency from intended start)
    conn_offset: int = 0             # first connection id (multi-process splits)
    conn_stride: int | None = None   # counter stride (total connections over all processes)
    i_start: int = 0                 # count mode: first counter value of this process (counters are contiguous)
    pin_cpus: list[int] | None = None
    nice: int = 0                    # nice value of the load process (negative needs root)
    keep_errors: int = 5


@dataclass
class LoadResult:
    ops: int = 0                     # responses completed inside the measurement window
    errors: int = 0                  # non-200 responses inside the window (or anywhere in count mode)
    elapsed: float = 0.0             # measurement window length (s)
    latencies_ns: array = field(default_factory=lambda: array("q"))
    error_samples: list[str] = field(default_factory=list)
    client_cpu: float = 0.0          # user+sys CPU seconds the client spent in the window
    reconnects: int = 0
    sent: int = 0

    @property
    def throughput(self) -> float:
        return self.ops / self.elapsed if self.elapsed > 0 else 0.0

    def pct_ms(self, p: float) -> float:
        return percentile(self.latencies_ns, p) / 1e6

    def summary(self) -> dict[str, Any]:
        return {
            "ops": self.ops,
            "errors": self.errors,
            "elapsed_s": round(self.elapsed, 3),
            "throughput": round(self.throughput, 1),
            "p50_ms": round(self.pct_ms(50), 3),
            "p90_ms": round(self.pct_ms(90), 3),
            "p99_ms": round(self.pct_ms(99), 3),
            "max_ms": round(self.pct_ms(100), 3),
            "client_cpu_s": round(self.client_cpu, 2),
            "client_cpu_pct": round(100 * self.client_cpu / self.elapsed, 1) if self.elapsed else 0.0,
            "reconnects": self.reconnects,
            "error_samples": self.error_samples,
        }


def percentile(values, p: float) -> float:
    """Nearest-rank percentile of a sequence (0 if empty)."""
    if not len(values):
        return 0.0
    s = sorted(values)
    if p >= 100:
        return float(s[-1])
    idx = max(0, min(len(s) - 1, math.ceil(p / 100.0 * len(s)) - 1))
    return float(s[idx])


class _Shared:
    """State shared by the connections of one process."""

    def __init__(self, spec: LoadSpec) -> None:
        self.spec = spec
        self.head = request_head(spec.host, spec.port, spec.target)
        self.measure_start = 0
        self.measure_end = 0
        self.stop_at = 0
        self.running = True
        self.remaining = spec.count
        self.next_i = spec.i_start
        self.lat = array("q")
        self.ops = 0
        self.errors = 0
        self.error_samples: list[str] = []
        self.reconnects = 0
        self.sent = 0
        self.active = 0
        self.done: asyncio.Future | None = None


class _Conn(asyncio.Protocol):
    def __init__(self, shared: _Shared, conn_id: int, stride: int, loop: asyncio.AbstractEventLoop) -> None:
        self.sh = shared
        self.cid = conn_id
        self.stride = stride
        self.loop = loop
        self.i = conn_id                 # counter: conn_id, conn_id + stride, ...
        self.transport: asyncio.Transport | None = None
        self.buf = b""
        self.t0 = 0
        self.in_flight = False
        self.close_after = False
        self.pending_connect_t0 = 0      # when reconnecting: latency starts at the connect
        self.interval_ns = 0
        self.next_due = 0
        self.finished = False

    # -- request side
    def build(self) -> bytes | None:
        sh = self.sh
        if sh.remaining is not None:
            if sh.remaining <= 0:
                return None
            sh.remaining -= 1
            i = sh.next_i                # count mode: one contiguous counter (preloads cover 0..count-1)
            sh.next_i += 1
        else:
            i = self.i
            self.i += self.stride
        nk = sh.spec.nkeys
        body = sh.spec.body % {b"c": self.cid, b"i": i, b"k": i % nk, b"j": (i // nk) % 25}
        return sh.head + b"%d\r\n\r\n" % len(body) + body

    def send_next(self) -> None:
        sh = self.sh
        if not sh.running:
            self.finish()
            return
        if self.interval_ns:
            now = time.perf_counter_ns()
            if now < self.next_due:
                self.loop.call_later((self.next_due - now) / 1e9, self.send_next)
                return
        req = self.build()
        if req is None:
            self.finish()
            return
        if self.interval_ns:
            self.t0 = self.next_due          # latency from intended start (no coordinated omission)
            self.next_due += self.interval_ns
        elif self.pending_connect_t0:
            self.t0 = self.pending_connect_t0
        else:
            self.t0 = time.perf_counter_ns()
        self.pending_connect_t0 = 0
        self.in_flight = True
        sh.sent += 1
        self.transport.write(req)

    def finish(self) -> None:
        if self.finished:
            return
        self.finished = True
        sh = self.sh
        sh.active -= 1
        if sh.active <= 0 and sh.done is not None and not sh.done.done():
            sh.done.set_result(None)
        if self.transport is not None:
            self.transport.close()

    # -- protocol
    def connection_made(self, transport) -> None:
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            import socket
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass

    def data_received(self, data: bytes) -> None:
        buf = self.buf + data if self.buf else data
        he = buf.find(b"\r\n\r\n")
        if he < 0:
            self.buf = buf
            return
        head = buf[:he].lower()
        cl = head.find(b"\r\ncontent-length:")
        if cl >= 0:
            end = head.find(b"\r\n", cl + 2)
            n = int(head[cl + 17:end if end >= 0 else len(head)])
            total = he + 4 + n
            if len(buf) < total:
                self.buf = buf
                return
            body = buf[he + 4:total]
            rest = buf[total:]
        elif b"\r\ntransfer-encoding: chunked" in head:
            parsed = _parse_chunked(buf, he + 4)
            if parsed is None:
                self.buf = buf
                return
            body, total = parsed
            rest = buf[total:]
        else:                               # no length: body ends at close (HTTP/1.0)
            self.buf = buf
            self.close_after = True
            return
        self.buf = rest
        self._complete(buf, head, body)

    def _complete(self, buf: bytes, head: bytes, body: bytes) -> None:
        t1 = time.perf_counter_ns()
        sh = self.sh
        self.in_flight = False
        ok = buf[9:12] == b"200"
        counting = sh.spec.count is not None
        if counting or (self.t0 >= sh.measure_start and t1 <= sh.measure_end):
            sh.ops += 1
            sh.lat.append(t1 - self.t0)
            if not ok:
                sh.errors += 1
        if not ok and len(sh.error_samples) < sh.spec.keep_errors:
            sh.error_samples.append(buf[:12].decode("latin-1") + " " + body[:300].decode("utf-8", "replace"))
        closing = b"\r\nconnection: close" in head or (head.startswith(b"http/1.0")
                                                          and b"connection: keep-alive" not in head)
        if closing:
            self.close_after = True
            self.transport.close()          # connection_lost reconnects
            return
        self.send_next()

    def connection_lost(self, exc) -> None:
        if self.finished:
            return
        if self.in_flight and self.close_after and self.buf:
            head_end = self.buf.find(b"\r\n\r\n")
            if head_end >= 0:              # body delimited by close
                buf = self.buf
                self.buf = b""
                self.in_flight = False
                self.close_after = False
                self._complete_on_close(buf, head_end)
        if self.in_flight and exc is None and not self.close_after:
            # server dropped a request: count as an error
            self.sh.errors += 1
            if len(self.sh.error_samples) < self.sh.spec.keep_errors:
                self.sh.error_samples.append("connection closed with a request in flight")
            self.in_flight = False
        self.close_after = False
        self.buf = b""
        if not self.sh.running:
            self.finish()
            return
        self.sh.reconnects += 1
        self.pending_connect_t0 = time.perf_counter_ns()
        self.loop.create_task(self._reconnect())

    def _complete_on_close(self, buf: bytes, he: int) -> None:
        head = buf[:he].lower()
        t1 = time.perf_counter_ns()
        sh = self.sh
        if sh.spec.count is not None or (self.t0 >= sh.measure_start and t1 <= sh.measure_end):
            sh.ops += 1
            sh.lat.append(t1 - self.t0)
            if buf[9:12] != b"200":
                sh.errors += 1
        del head

    async def _reconnect(self) -> None:
        try:
            await self.loop.create_connection(lambda: self, self.sh.spec.host, self.sh.spec.port)
        except OSError as e:
            self.sh.errors += 1
            if len(self.sh.error_samples) < self.sh.spec.keep_errors:
                self.sh.error_samples.append(f"connect failed: {e}")
            self.finish()
            return
        self.send_next()


def _parse_chunked(buf: bytes, pos: int) -> tuple[bytes, int] | None:
    parts = []
    while True:
        le = buf.find(b"\r\n", pos)
        if le < 0:
            return None
        size = int(buf[pos:le].split(b";")[0], 16)
        start = le + 2
        if size == 0:
            end = buf.find(b"\r\n", start)
            if end < 0:
                return None
            return b"".join(parts), end + 2
        if len(buf) < start + size + 2:
            return None
        parts.append(buf[start:start + size])
        pos = start + size + 2


async def _run(spec: LoadSpec) -> LoadResult:
    loop = asyncio.get_running_loop()
    sh = _Shared(spec)
    sh.done = loop.create_future()
    stride = spec.conn_stride or spec.connections
    conns = []
    for n in range(spec.connections):
        c = _Conn(sh, spec.conn_offset + n, stride, loop)
        await loop.create_connection(lambda c=c: c, spec.host, spec.port)
        conns.append(c)
    sh.active = len(conns)
    now = time.perf_counter_ns()
    if spec.count is not None:
        sh.measure_start, sh.measure_end = now, 1 << 62
    else:
        sh.measure_start = now + int(spec.warmup * 1e9)
        sh.measure_end = sh.measure_start + int(spec.duration * 1e9)
    if spec.rate:
        per_conn = spec.rate / (spec.conn_stride or spec.connections)
        interval = int(1e9 / per_conn)
        for n, c in enumerate(conns):
            c.interval_ns = interval
            c.next_due = now + (interval * n) // len(conns)   # spread the phases
    ru0 = None
    t_start = time.perf_counter()
    for c in conns:
        c.send_next()
    if spec.count is None:
        await asyncio.sleep(max(0.0, (sh.measure_start - time.perf_counter_ns()) / 1e9))
        ru0 = resource.getrusage(resource.RUSAGE_SELF)
        await asyncio.sleep(max(0.0, (sh.measure_end - time.perf_counter_ns()) / 1e9))
        ru1 = resource.getrusage(resource.RUSAGE_SELF)
        sh.running = False
        try:
            await asyncio.wait_for(asyncio.shield(sh.done), timeout=10)
        except TimeoutError:
            pass
        elapsed = spec.duration
    else:
        ru0 = resource.getrusage(resource.RUSAGE_SELF)
        await sh.done
        ru1 = resource.getrusage(resource.RUSAGE_SELF)
        elapsed = time.perf_counter() - t_start
    for c in conns:
        if c.transport is not None:
            c.transport.close()
    return LoadResult(
        ops=sh.ops, errors=sh.errors, elapsed=elapsed, latencies_ns=sh.lat, error_samples=sh.error_samples,
        client_cpu=(ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime),
        reconnects=sh.reconnects, sent=sh.sent,
    )


def _new_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop
        return uvloop.new_event_loop()
    except ImportError:  # pragma: no cover
        return asyncio.new_event_loop()


def run_load(spec: LoadSpec) -> LoadResult:
    """Run one load in this process (its own event loop) and return the merged result."""
    if spec.pin_cpus:
        os.sched_setaffinity(0, spec.pin_cpus)
    if spec.nice:
        try:
            os.setpriority(os.PRIO_PROCESS, 0, spec.nice)
        except OSError:
            pass
    loop = _new_loop()
    try:
        return loop.run_until_complete(_run(spec))
    finally:
        loop.close()


def _child(spec: LoadSpec, conn) -> None:
    try:
        r = run_load(spec)
        conn.send(("ok", r.ops, r.errors, r.elapsed, r.latencies_ns.tobytes(), r.error_samples, r.client_cpu,
                   r.reconnects, r.sent))
    except BaseException as e:  # noqa: BLE001 - report anything to the parent
        conn.send(("err", repr(e)))
    finally:
        conn.close()


def run_load_procs(spec: LoadSpec, procs: int = 1) -> LoadResult:
    """Run the load in `procs` spawned child processes (connections split between them) and merge.

    With procs=1 the load still runs in a child, so the orchestrator's own state (boto3, threads)
    never competes with the client loop and the client's CPU time is measured alone.
    """
    ctx = multiprocessing.get_context("spawn")
    procs = max(1, min(procs, spec.connections))
    children = []
    base = spec.connections // procs
    extra = spec.connections % procs
    offset = 0
    for p in range(procs):
        n = base + (1 if p < extra else 0)
        sub = LoadSpec(**{**spec.__dict__, "connections": n, "conn_offset": offset,
                          "conn_stride": spec.connections,
                          "count": None if spec.count is None else _share(spec.count, procs, p),
                          "i_start": spec.i_start + sum(_share(spec.count or 0, procs, q) for q in range(p)),
                          "rate": None if spec.rate is None else spec.rate})
        sub.conn_stride = spec.connections
        offset += n
        parent, child = ctx.Pipe(duplex=False)
        pr = ctx.Process(target=_child, args=(sub, child), daemon=True)
        pr.start()
        child.close()
        children.append((pr, parent))
    merged = LoadResult()
    failures = []
    for pr, parent in children:
        try:
            msg = parent.recv()
        except EOFError:
            msg = ("err", "load process died")
        pr.join()
        if msg[0] != "ok":
            failures.append(msg[1])
            continue
        _, ops, errors, elapsed, lat, samples, cpu, rec, sent = msg
        merged.ops += ops
        merged.errors += errors
        merged.elapsed = max(merged.elapsed, elapsed)
        a = array("q")
        a.frombytes(lat)
        merged.latencies_ns.extend(a)
        merged.error_samples.extend(samples)
        merged.client_cpu += cpu
        merged.reconnects += rec
        merged.sent += sent
    if failures:
        raise RuntimeError("load generator failed: " + "; ".join(failures))
    return merged


def _share(total: int, parts: int, idx: int) -> int:
    return total // parts + (1 if idx < total % parts else 0)


def http_call(host: str, port: int, target: str, payload: bytes, timeout: float = 30.0) -> tuple[int, bytes]:
    """One blocking request on a fresh connection (setup, probes, drains): (status, body)."""
    import http.client

    c = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        head = request_head(host, port, target).decode()
        headers = {}
        for line in head.split("\r\n")[1:]:
            if ": " in line and not line.startswith("Content-Length"):
                k, v = line.split(": ", 1)
                headers[k] = v
        c.request("POST", "/", body=payload, headers=headers)
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


class AsyncClient:
    """One keep-alive connection for latency probes: `await c.call(target, body) -> (status, body, t_done_ns)`.

    Used by the streams/triggers/TTL suites where requests are few and timing matters more than
    raw rate (asyncio streams; ~50 us of client overhead per call).
    """

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self._heads: dict[str, bytes] = {}

    async def connect(self) -> AsyncClient:
        import socket
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port, limit=1 << 26)
        sock = self.writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return self

    async def call(self, target: str, body: bytes) -> tuple[int, bytes, int]:
        head = self._heads.get(target)
        if head is None:
            head = self._heads[target] = request_head(self.host, self.port, target)
        if self.writer is None:
            await self.connect()
        self.writer.write(head + b"%d\r\n\r\n" % len(body) + body)
        raw = await self.reader.readuntil(b"\r\n\r\n")
        low = raw.lower()
        status = int(raw[9:12])
        cl = low.find(b"\r\ncontent-length:")
        if cl >= 0:
            end = low.find(b"\r\n", cl + 2)
            n = int(low[cl + 17:end])
            data = await self.reader.readexactly(n)
        elif b"chunked" in low:
            parts = []
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                if size == 0:
                    await self.reader.readuntil(b"\r\n")
                    break
                parts.append(await self.reader.readexactly(size))
                await self.reader.readexactly(2)
            data = b"".join(parts)
        else:
            data = await self.reader.read()
            self.writer.close()
            self.writer = None
        if b"\r\nconnection: close" in low and self.writer is not None:
            self.writer.close()
            self.writer = None
        return status, data, time.perf_counter_ns()

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


def new_loop() -> asyncio.AbstractEventLoop:
    """A fresh (uvloop if available) event loop."""
    return _new_loop()
