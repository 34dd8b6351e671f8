"""Write forwarding between server processes (`--workers N` on SQLite).

One SQLite file has one writer at a time. Worker processes that each wrote would take turns on the
file's lock (with millisecond busy-handler sleeps) and throw away each other's page caches at every
commit, so writes got slower with every worker added. Instead, worker 0 is the only process that
writes: the other workers serve item reads themselves (`LOCAL_TARGETS`: GetItem, Query, Scan,
BatchGetItem, TransactGetItems, straight from the shared file) and forward every other request,
writes, table and stream operations, Lambda and health checks alike, to worker 0 over a socketpair
made by the parent. Worker 0 routes it like a request of its own (same group-commit batches, same
in-process stream subscribers) and sends the response back; the worker that got the request
answers it over HTTP. So reads scale with processes while every write, every table change and
every control-plane object still has exactly one owner.

Frames, both directions: `!II` (payload length, request id) + a `marshal` payload. Requests carry
(method, url, headers, body); responses (status, headers, body), the shared router header dicts
sent as small ints so the HTTP layer keeps its precomputed prefixes. Frames written during one loop
iteration leave in one `write` (a group commit answers many forwarded writes at once).

Freshness: a worker's table cache must not serve a table worker 0 has changed or dropped. Worker
0 publishes its catalog version in a shared counter before it acknowledges the change
(`Engine.share_catalog`); the other workers compare it on every table lookup and reload on a
difference. Writes acknowledged by worker 0 are committed, so a read on any worker sees them.
"""
from __future__ import annotations

import asyncio
import logging
import marshal
import struct
from collections.abc import Callable
from typing import Any

from eddydb.server import router as _router

__all__ = ["LOCAL_TARGETS", "ForwardClient", "ForwardServer"]

log = logging.getLogger("eddydb.server")

# Requests a non-writer worker answers from its own read transactions: item reads only. Everything
# else (table metadata, streams, Lambda, health) goes to worker 0, whose answer is authoritative.
LOCAL_TARGETS = frozenset({
    "DynamoDB_20120810.GetItem", "DynamoDB_20120810.Query", "DynamoDB_20120810.Scan",
    "DynamoDB_20120810.BatchGetItem", "DynamoDB_20120810.TransactGetItems",
})

_running_loop = asyncio._get_running_loop
_HEAD = struct.Struct("!II")
_HEAD_SIZE = _HEAD.size
_SHARED_HEADERS: tuple[dict[str, str], ...] = (_router.AMZ_JSON, _router.JSON, _router.TEXT)
_UNAVAILABLE = (503, _router.JSON, b'{"message":"The writer process is not available"}')
_INTERNAL = (500, _router.JSON, b'{"message":"Internal server error"}')


def _headers_out(headers: Any) -> Any:
    for i, shared in enumerate(_SHARED_HEADERS):
        if headers is shared:
            return i
    return dict(headers)


def _headers_in(code: Any) -> Any:
    return _SHARED_HEADERS[code] if type(code) is int else code


class _Channel(asyncio.Protocol):
    """Frame reader/writer over one end of a socketpair; subclasses handle whole frames."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._transport: asyncio.Transport | None = None
        self._buf = bytearray()
        self._out: list[bytes] = []
        self._flush_armed = False
        self.closed = loop.create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None
        if not self.closed.done():
            self.closed.set_result(None)

    def _send(self, rid: int, payload: bytes) -> None:
        self._out.append(_HEAD.pack(len(payload), rid))
        self._out.append(payload)
        if not self._flush_armed:
            self._flush_armed = True
            self.loop.call_soon(self.flush)

    def flush(self) -> None:
        """Write the frames queued so far in one go (also called right after an inline write batch)."""
        self._flush_armed = False
        out = self._out
        if out:
            self._out = []
            if self._transport is not None:
                self._transport.write(b"".join(out))

    def data_received(self, data: bytes) -> None:
        buf = self._buf
        buf += data
        pos, end = 0, len(buf)
        while end - pos >= _HEAD_SIZE:
            size, rid = _HEAD.unpack_from(buf, pos)
            stop = pos + _HEAD_SIZE + size
            if stop > end:
                break
            self.frame(rid, bytes(buf[pos + _HEAD_SIZE:stop]))
            pos = stop
        if pos:
            del buf[:pos]

    def frame(self, rid: int, payload: bytes) -> None:
        raise NotImplementedError

    def close(self) -> None:
        self.flush()
        if self._transport is not None:
            self._transport.close()


class ForwardClient(_Channel):
    """A non-writer worker's end: `forward(request, done)` sends a request to worker 0 and calls
    `done(response)` on the loop thread when its answer arrives (503 if worker 0 went away)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(loop)
        self._pending: dict[int, Callable[[tuple], None]] = {}
        self._next = 0

    def forward(self, method: str, url: str, headers: dict[str, str], body: bytes,
                done: Callable[[tuple], None]) -> None:
        if self._transport is None:
            done(_UNAVAILABLE)
            return
        rid = self._next = (self._next + 1) & 0xFFFFFFFF
        self._pending[rid] = done
        payload = marshal.dumps((method, url, headers, body))
        self._transport.write(_HEAD.pack(len(payload), rid) + payload)  # now: worker 0 may be idle

    def frame(self, rid: int, payload: bytes) -> None:
        done = self._pending.pop(rid, None)
        if done is None:
            log.error("forwarded response for unknown request %d", rid)
            return
        status, headers, body = marshal.loads(payload)
        done((status, _headers_in(headers), body))

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        pending, self._pending = self._pending, {}
        if pending:
            log.error("the writer process closed the forwarding channel; %d request(s) fail", len(pending))
        for done in pending.values():
            done(_UNAVAILABLE)


class _Awaiting:
    """A forwarded write waiting for its batch: the HTTP server's waker calls `_deferred_done`."""

    __slots__ = ("_channel", "_deferred", "_rid")

    def __init__(self, channel: ForwardServer, rid: int, deferred: Any) -> None:
        self._channel = channel
        self._rid = rid
        self._deferred = deferred

    def _future_done(self, _future: Any) -> None:
        if _running_loop() is self._channel.loop:
            self._deferred_done()   # an inline batch on the loop thread: answer now, one hop less
        else:                       # the writer thread: hand over to the loop
            self._channel.waker.notify(self)

    def _deferred_done(self) -> None:
        try:
            res = self._deferred.finish()
        except Exception as e:
            log.error("internal error finishing a forwarded response", exc_info=e)
            res = _INTERNAL
        self._channel.answer(self._rid, res)


class ForwardServer(_Channel):
    """Worker 0's end of one channel: routes each forwarded request and sends back its response."""

    def __init__(self, loop: asyncio.AbstractEventLoop, inst: Any, waker: Any) -> None:
        super().__init__(loop)
        self._inst = inst
        self.waker = waker

    def frame(self, rid: int, payload: bytes) -> None:
        method, url, headers, body = marshal.loads(payload)
        try:
            res = _router.route(self._inst, method, url, headers, body)
        except Exception as e:
            log.error("internal error routing forwarded %s %s", method, url, exc_info=e)
            res = _INTERNAL
        if isinstance(res, tuple):
            self.answer(rid, res)
            return
        waiting = _Awaiting(self, rid, res)
        fut = res.future
        if fut.done():
            waiting._deferred_done()
        else:
            fut.add_done_callback(waiting._future_done)

    def answer(self, rid: int, res: tuple) -> None:
        status, headers, body = res
        self._send(rid, marshal.dumps((status, _headers_out(headers), body)))
