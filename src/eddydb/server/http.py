"""The HTTP/1.1 transport: an asyncio protocol (uvloop + httptools, no framework) that parses
requests, hands them to server/router.py and writes the responses with the headers AWS SDKs
rely on (x-amzn-RequestId, x-amz-crc32, Content-Length).

Built by server/app.py. Reads run inline on the loop thread (they are short SQLite lookups);
writes come back as engine Futures, completed through a batched thread-safe wake-up so the
loop never blocks. Requests on one connection execute strictly in order (pipelining-safe: a
GetItem pipelined after a PutItem sees it); many connections run concurrently.
"""
from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import itertools
import logging
import os
import zlib
from collections.abc import Mapping
from typing import Any

import httptools

from eddydb.server import forward as _forward
from eddydb.server import handoff as _handoff
from eddydb.server import router as _router

__all__ = ["HttpProtocol", "HttpServer"]

log = logging.getLogger("eddydb.server")

_crc32 = zlib.crc32
_running_loop = asyncio._get_running_loop  # the C accessor get_running_loop uses, minus the raise
_route = _router.route
_Deferred = _router.Deferred

_REASONS = {
    100: "Continue", 200: "OK", 201: "Created", 202: "Accepted", 204: "No Content", 400: "Bad Request",
    403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed", 409: "Conflict", 413: "Payload Too Large",
    415: "Unsupported Media Type", 429: "Too Many Requests", 500: "Internal Server Error",
    502: "Bad Gateway", 503: "Service Unavailable",
}
_STATUS_LINES: dict[int, bytes] = {}


def _status_line(status: int) -> bytes:
    line = _STATUS_LINES.get(status)
    if line is None:
        line = b"HTTP/1.1 %d %s\r\n" % (status, _REASONS.get(status, "Unknown").encode())
        _STATUS_LINES[status] = line
    return line


# A route may answer its own request id in this header (Invoke: the invocation's id).
REQUEST_ID_HEADER = "x-amzn-RequestId"

_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"  # the interim answer to `Expect: 100-continue`

# Precomputed response prefixes for the common (status, shared header dict) pairs.
_PREFIX: dict[tuple[int, int], bytes] = {}


def _prefix(status: int, headers: Mapping[str, str]) -> bytes:
    key = (status, id(headers))
    shared = headers is _router.AMZ_JSON or headers is _router.JSON or headers is _router.TEXT
    p = _PREFIX.get(key) if shared else None
    if p is None:
        p = _status_line(status) + b"".join(
            b"%s: %s\r\n" % (k.encode("latin-1"), str(v).encode("latin-1")) for k, v in headers.items()
            if k != REQUEST_ID_HEADER
        ) + b"x-amzn-RequestId: "
        if shared:
            _PREFIX[key] = p
    return p


# Request ids look like uuid4s: a random per-process prefix and a counter (no urandom per request).
_RID_PREFIX = f"{os.urandom(4).hex()}-{os.urandom(2).hex()}-4{os.urandom(2).hex()[1:]}-{os.urandom(2).hex()}-".encode()
_rid_counter = itertools.count(int.from_bytes(os.urandom(3), "big") << 20)


def _render(status: int, headers: Mapping[str, str], body: bytes, keep_alive: bool, head_only: bool = False) -> bytes:
    tail = b"" if keep_alive else b"Connection: close\r\n"
    # A route may name the request id (Invoke answers the invocation's own); otherwise a new one.
    rid = headers.get(REQUEST_ID_HEADER)
    rid_bytes = rid.encode("latin-1") if rid else b"%s%012x" % (_RID_PREFIX, next(_rid_counter) & 0xFFFFFFFFFFFF)
    return b"%s%s\r\nx-amz-crc32: %d\r\nContent-Length: %d\r\n%s\r\n%s" % (
        _prefix(status, headers), rid_bytes, _crc32(body), len(body), tail, b"" if head_only else body)


def _error(status: int, message: str) -> bytes:
    body = b'{"message":"%s"}' % message.encode()
    return _render(status, _router.JSON, body, keep_alive=False)


# Operations that may read a whole 1 MB page (thousands of items, 50-250 ms of Python): run on a small
# pool instead of the loop thread, so other connections' requests keep being served meanwhile (the
# GIL is handed over every switch interval). Everything else is short and runs inline. These are
# reads: their route answers at once, so the pool future's result is the response.
_OFFLOADED = frozenset({"DynamoDB_20120810.Scan"})
_LOCAL_TARGETS = _forward.LOCAL_TARGETS
_WRITE_TARGETS = _handoff.WRITE_TARGETS
_READS_BEFORE_RETURN = _handoff.READS_BEFORE_RETURN


# Headers every SDK request carries that no operation reads (as the SDKs spell them).
_UNUSED_HEADERS = frozenset({
    b"User-Agent", b"X-Amz-Date", b"amz-sdk-invocation-id", b"amz-sdk-request", b"Accept-Encoding",
    b"X-Amz-Content-SHA256", b"x-amz-user-agent", b"user-agent", b"x-amz-date", b"X-Amz-Security-Token",
})


class _Waker:
    """Completes Deferred responses on the loop thread; one thread-safe wake-up per batch of
    futures resolved together (the writer resolves a whole group commit at once)."""

    __slots__ = ("_armed", "_loop", "_ready")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._ready: collections.deque = collections.deque()
        self._armed = False

    def notify(self, item: Any) -> None:
        """Called on the writer thread, or on the loop thread itself after an inline batch."""
        self._ready.append(item)
        if not self._armed:
            self._armed = True
            if _running_loop() is self._loop:  # on the loop's own thread: no wake-up needed
                self._loop.call_soon(self._drain)
            else:
                self._loop.call_soon_threadsafe(self._drain)

    def _drain(self) -> None:
        # Reset `_armed` only once the deque looks empty, and look again after the reset: futures
        # resolved while we drain ride along without another thread-safe wake-up, and none is lost
        # (a notify that saw _armed True is followed by the re-check below).
        ready = self._ready
        while True:
            while ready:
                ready.popleft()._deferred_done()
            self._armed = False
            if not ready:
                return
            self._armed = True


class HttpProtocol(asyncio.Protocol):
    """One client connection."""

    def __init__(self, server: HttpServer, adopted: bool = False) -> None:
        self._server = server
        self._inst = server.inst
        self._waker = server.waker
        self._parser = httptools.HttpRequestParser(self)
        self._transport: asyncio.Transport | None = None
        self._url = b""
        self._headers: dict[str, str] = {}
        self._body: list[bytes] = []
        self._body_len = 0
        self._in_request = False
        self._busy = False                    # a Deferred of this connection is in flight
        self._busy_keep_alive = True
        self._busy_head = False
        self._deferred: Any = None
        self._waiting: collections.deque = collections.deque()   # parsed requests behind it
        self._closing = False
        self._paused_write = False
        self._paused_read = False
        self._too_large = False
        self._eof = False                     # the client half-closed: close once it is answered
        self._feeding = False                 # inside parser.feed_data (its callbacks run requests)
        self._adopted = adopted               # worker 0: handed over by a reading worker (handoff.py)
        self._reads = 0                       # consecutive item reads of an adopted connection
        self._move: Any = None                # the handoff.Handoff to pass this connection to once idle
        self._continue = False                # a 100 Continue owed once the answers before it are out

    # --- connection events -------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]
        self._server.connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self._server.connections.discard(self)
        self._transport = None
        self._waiting.clear()
        self._server.maybe_idle()

    def eof_received(self) -> bool | None:
        # A client may shut down its sending side right after its request (`nc -N`, scripts): the
        # requests it completed are still answered (a forwarded or written one is not done yet),
        # then the connection closes. Returning None closes it now.
        if self._busy or self._waiting:
            self._eof = True
            return True
        return None

    def pause_writing(self) -> None:
        self._paused_write = True
        self._update_reading()

    def resume_writing(self) -> None:
        self._paused_write = False
        self._update_reading()

    def _update_reading(self) -> None:
        t = self._transport
        if t is None:
            return
        want_pause = self._paused_write or len(self._waiting) >= 32
        if want_pause and not self._paused_read:
            self._paused_read = True
            t.pause_reading()
        elif not want_pause and self._paused_read:
            self._paused_read = False
            t.resume_reading()

    def data_received(self, data: bytes) -> None:
        self._feeding = True
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._abort(400, "Upgrade not supported")
        except httptools.HttpParserError as e:
            # httptools wraps exceptions raised by callbacks (our _TooLarge) in a parser error
            if isinstance(e.__context__, _TooLarge) or isinstance(e.__cause__, _TooLarge) or self._too_large:
                self._abort(413, "Request must not exceed 16 MB")
            else:
                self._abort(400, f"Bad request: {e}")
        finally:
            self._feeding = False
        if self._move is not None:
            self._maybe_move()

    def _abort(self, status: int, message: str) -> None:
        t = self._transport
        if t is not None:
            if not self._busy:
                t.write(_error(status, message.replace('"', "'")))
            t.close()
            self._transport = None

    # --- httptools callbacks -----------------------------------------------------------------
    def on_message_begin(self) -> None:
        self._in_request = True
        self._continue = False
        self._url = b""
        self._headers = {}
        self._body = []
        self._body_len = 0

    def on_url(self, url: bytes) -> None:
        self._url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        if name in _UNUSED_HEADERS:  # SDK bookkeeping nothing below reads: skip the decoding
            return
        self._headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_headers_complete(self) -> None:
        length = self._headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > _router.MAX_BODY:
            self._too_large = True
            raise _TooLarge()
        if (self._headers.get("expect", "").lower() == "100-continue" and self._transport is not None
                and self._parser.get_http_version() != "1.0"):  # RFC 9110 10.1.1: not to HTTP/1.0 clients
            if self._busy or self._waiting:  # an interim answer must not overtake those before it
                self._continue = True
            else:
                self._transport.write(_CONTINUE)

    def on_body(self, body: bytes) -> None:
        self._body_len += len(body)
        if self._body_len > _router.MAX_BODY:
            self._too_large = True
            raise _TooLarge()
        self._body.append(body)

    def on_message_complete(self) -> None:
        self._in_request = False
        self._continue = False  # the body came without it
        body = self._body
        req = (
            self._parser.get_method().decode("latin-1"),
            self._url.decode("latin-1"),
            self._headers,
            body[0] if len(body) == 1 else b"".join(body),
            self._parser.should_keep_alive(),
        )
        if self._busy or self._waiting:
            self._waiting.append(req)
            self._update_reading()
        else:
            self._execute(req)

    # --- request execution -------------------------------------------------------------------
    def _execute(self, req: tuple) -> None:
        method, url, headers, body, keep_alive = req
        if self._server.stopping:
            keep_alive = False
        res: Any
        target = headers.get("x-amz-target")
        fwd = self._server.forward
        if fwd is not None and (target not in _LOCAL_TARGETS or url != "/"):
            # a worker that does not write: worker 0 answers (server/forward.py), and a connection
            # that writes moves there once this answer is written (server/handoff.py)
            if target in _WRITE_TARGETS:
                self._move = self._server.to_writer
            self._busy = True
            self._busy_keep_alive = keep_alive
            self._busy_head = method == "HEAD"
            fwd.forward(method, url, headers, body, self._forwarded)
            return
        if self._adopted:  # worker 0: an adopted connection that only reads goes back (handoff.py)
            if target not in _LOCAL_TARGETS:
                self._reads = 0
            else:
                self._reads += 1
                if self._reads >= _READS_BEFORE_RETURN:
                    self._move = self._server.next_reader()
        if target in _OFFLOADED:
            res = _Deferred(self._server.pool.submit(_route, self._inst, method, url, headers, body),
                            concurrent.futures.Future.result)
        else:
            try:
                res = _route(self._inst, method, url, headers, body)
            except Exception as e:
                log.error("internal error routing %s %s", method, url, exc_info=e)
                res = (500, _router.JSON, b'{"message":"Internal server error"}')
        if isinstance(res, tuple):
            self._respond(res, keep_alive, method == "HEAD")
            return
        # a Deferred: answer when the writer resolves it
        self._busy = True
        self._busy_keep_alive = keep_alive
        self._busy_head = method == "HEAD"
        self._deferred = res
        fut = res.future
        if fut.done():
            self._deferred_done()
        else:
            fut.add_done_callback(self._future_done)

    def _forwarded(self, res: tuple) -> None:
        self._deferred = _Answered(res)
        self._deferred_done()

    def _future_done(self, _future: Any) -> None:  # on the writer thread
        self._waker.notify(self)

    def _deferred_done(self) -> None:
        self._busy = False
        deferred, self._deferred = self._deferred, None
        try:
            res = deferred.finish()
        except Exception as e:
            log.error("internal error finishing a response", exc_info=e)
            res = (500, _router.JSON, b'{"message":"Internal server error"}')
        if not self._respond(res, self._busy_keep_alive and not self._server.stopping, self._busy_head):
            return
        waiting = self._waiting
        while waiting and not self._busy and self._transport is not None:
            self._execute(waiting.popleft())
        self._update_reading()
        if not self._busy and not waiting:
            if self._continue and self._transport is not None:
                self._continue = False
                self._transport.write(_CONTINUE)
            if self._eof and self._transport is not None:
                self._transport.close()
                self._transport = None
            elif self._move is not None and not self._feeding:
                self._maybe_move()
            self._server.maybe_idle()

    def _maybe_move(self) -> None:
        """Pass this connection to another worker (`self._move`, handoff.py) if it is idle: its
        responses all written, no byte of a next request read. Otherwise try after the next one."""
        t = self._transport
        dest = self._move
        if (t is None or not self.idle() or self._eof or self._paused_write or self._server.stopping
                or t.get_write_buffer_size()):
            return
        self._move = None
        self._reads = 0
        t.pause_reading()
        if not dest.send(t.get_extra_info("socket")):
            t.resume_reading()
            return
        t.close()  # this process's copy; the other one serves the connection from now on
        self._transport = None

    def _respond(self, res: tuple, keep_alive: bool, head_only: bool) -> bool:
        t = self._transport
        if t is None:
            return False
        status, headers, body = res
        t.write(_render(status, headers, body, keep_alive, head_only))
        if not keep_alive:
            self._waiting.clear()
            t.close()
            self._transport = None
            return False
        return True

    def idle(self) -> bool:
        return not (self._in_request or self._busy or self._waiting)

    def close_if_idle(self) -> bool:
        if self.idle():
            if self._transport is not None:
                self._transport.close()
                self._transport = None
            return True
        return False


class _TooLarge(Exception):
    pass


class _Answered:
    """A response that arrived from elsewhere (worker 0), in the shape of a finished Deferred."""

    __slots__ = ("_res",)

    def __init__(self, res: tuple) -> None:
        self._res = res

    def finish(self) -> tuple:
        return self._res


class HttpServer:
    """Listens on a socket and serves until `shutdown()`: stop accepting, finish in-flight
    requests (closing keep-alive connections as they go idle), then return."""

    def __init__(self, inst: Any, loop: asyncio.AbstractEventLoop) -> None:
        self.inst = inst
        self.loop = loop
        self.waker = _Waker(loop)
        self.pool = concurrent.futures.ThreadPoolExecutor(max_workers=2, thread_name_prefix="eddydb-scan")
        self.connections: set[HttpProtocol] = set()
        self.forward: Any = None            # a forward.ForwardClient on workers that do not write
        self.to_writer: Any = None          # handoff.Handoff to worker 0, on workers that do not write
        self._to_readers: list[Any] = []    # worker 0: a handoff.Handoff to each other worker
        self._next_reader = 0
        self._adopting: set[asyncio.Task] = set()
        self.stopping = False
        self._server: asyncio.AbstractServer | None = None
        self._idle: asyncio.Event | None = None

    async def start(self, sock: Any) -> None:
        self._server = await self.loop.create_server(lambda: HttpProtocol(self), sock=sock, backlog=4096)

    def attach_handoffs(self, socks: list[Any]) -> None:
        """Connect the handoff socketpairs (handoff.py): worker 0 gets one per other worker, every
        other worker its one to worker 0."""
        links = [_handoff.Handoff(self.loop, s, self.adopt) for s in socks]
        if self.forward is None:
            self._to_readers = links
        elif links:
            self.to_writer = links[0]

    def next_reader(self) -> Any:
        """Worker 0: the reading worker an adopted connection that only reads goes back to."""
        readers = [h for h in self._to_readers if h.open]
        if not readers:
            return None
        self._next_reader += 1
        return readers[self._next_reader % len(readers)]

    def adopt(self, conn: Any) -> bool:
        """A connection another worker handed over between two requests: serve it from here.
        False when stopping: the handoff sends it back, or closes it if that one stops too."""
        if self.stopping:
            return False
        task = self.loop.create_task(self._adopt(conn, self.forward is None))
        self._adopting.add(task)
        task.add_done_callback(self._adopting.discard)
        return True

    async def _adopt(self, conn: Any, adopted: bool) -> None:
        try:
            await self.loop.connect_accepted_socket(lambda: HttpProtocol(self, adopted), sock=conn)
        except OSError as e:  # the client went away meanwhile
            log.debug("adopting a handed-over connection: %r", e)
            conn.close()

    def close_handoffs(self) -> None:
        for h in [*self._to_readers, self.to_writer]:
            if h is not None:
                h.close()

    def maybe_idle(self) -> None:
        if self.stopping and self._idle is not None:
            for c in list(self.connections):
                c.close_if_idle()
            if not self.connections:
                self._idle.set()

    async def shutdown(self, timeout: float = 15.0) -> None:
        self.stopping = True
        if self._server is not None:
            self._server.close()
        self._idle = asyncio.Event()
        self.maybe_idle()
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            log.warning("shutdown: %d connection(s) still busy after %.0fs; closing them",
                        len(self.connections), timeout)
        for c in list(self.connections):
            if c._transport is not None:
                c._transport.close()
        if self._server is not None:
            try:
                await asyncio.wait_for(self._server.wait_closed(), 2)
            except Exception as e:  # noqa: BLE001 - closing anyway
                log.debug("wait_closed: %r", e)
        self.pool.shutdown(wait=False, cancel_futures=True)  # scans of connections closed above
