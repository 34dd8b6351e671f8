"""Connection handoff between server processes (`--workers N` on SQLite, next to forward.py).

Forwarding a write costs worker 0 about as much as serving it over HTTP, and the worker that
forwarded it pays for its HTTP as well: a connection that writes is cheapest on worker 0 itself.
So a worker that forwards an item write passes the connection to worker 0 once it is idle (the
response written, nothing of the next request read), and worker 0 serves it from then on. A
connection worker 0 adopted that then only reads for `READS_BEFORE_RETURN` requests in a row goes
back to a reading worker, so reads spread over the processes again after a write phase;
connections worker 0 accepted itself stay (the kernel's share of a read load).

The socket moves as a file descriptor (SCM_RIGHTS) over a SOCK_SEQPACKET socketpair of its own
(`pairs()`): the forwarding channel is a byte stream read by the event loop, which would drop
ancillary data, and a packet keeps each descriptor with its own message.
Nothing is in flight on a connection while it moves, so no byte is read twice or lost; the kernel
keeps the TCP connection open while either process holds it, and the client notices nothing.
A handoff that cannot be sent at once (a full socket buffer, the other process gone) is skipped:
the connection stays where it is. One the other process cannot take goes back where it came from:
that process is stopping, or out of descriptors (the kernel would drop the connection, so each end
keeps one descriptor free for the next arrival and sends back the one that leaves it none). One
sent back is closed between two requests if its first process cannot take it either.
"""
from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Callable
from typing import Any

__all__ = ["READS_BEFORE_RETURN", "WRITE_TARGETS", "Handoff", "pairs"]

log = logging.getLogger("eddydb.server")

# Requests that make a connection move to worker 0: the item writes (PartiQL statements included,
# which worker 0 answers in any case). Table and stream operations are rare on a connection and
# do not move it.
WRITE_TARGETS = frozenset({
    "DynamoDB_20120810.PutItem", "DynamoDB_20120810.UpdateItem", "DynamoDB_20120810.DeleteItem",
    "DynamoDB_20120810.BatchWriteItem", "DynamoDB_20120810.TransactWriteItems",
    "DynamoDB_20120810.ExecuteStatement", "DynamoDB_20120810.BatchExecuteStatement",
    "DynamoDB_20120810.ExecuteTransaction",
})

# Consecutive item reads after which a connection worker 0 adopted returns to a reading worker.
READS_BEFORE_RETURN = 16

_MSG = b"c"
_BACK = b"b"   # one sent back: never sent back again (no ping-pong between two ends that cannot take it)


def pairs(n: int) -> list[tuple[socket.socket, socket.socket]]:
    """`n` handoff socketpairs (made by the parent, one per non-writer worker); none where the
    platform has no SOCK_SEQPACKET Unix sockets (macOS): connections then stay where they land."""
    made: list[tuple[socket.socket, socket.socket]] = []
    try:
        for _ in range(n):
            made.append(socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET))
    except (OSError, AttributeError) as e:
        log.info("no connection handoff between workers on this platform: %s", e)
        for a, b in made:
            a.close()
            b.close()
        return []
    return made


class Handoff:
    """One end of a handoff socketpair: `send(sock)` passes a connected socket to the other
    process; connections arriving from it are given to `adopt(sock)` on the loop thread, which
    returns False if it cannot take them (stopping)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, sock: socket.socket,
                 adopt: Callable[[socket.socket], bool]) -> None:
        self._loop = loop
        self._sock = sock
        self._adopt = adopt
        self.open = True
        self._spare = _reserve()
        sock.setblocking(False)
        loop.add_reader(sock.fileno(), self._receive)

    def send(self, conn: Any, msg: bytes = _MSG) -> bool:
        """Pass `conn` (a socket, or the transport's socket-like object) to the other process.
        True if it left; the caller then closes its own copy. False leaves everything as it was."""
        if not self.open:
            return False
        try:
            return socket.send_fds(self._sock, [msg], [conn.fileno()]) == len(msg)
        except ConnectionError as e:  # the other process is gone
            log.warning("connection handoff channel closed: %s", e)
            self.close()
            return False
        except OSError as e:  # no room for it now (a full buffer, ETOOMANYREFS, ENOBUFS): it stays
            log.debug("connection handoff skipped: %s", e)
            return False

    def _receive(self) -> None:
        while self.open:  # (sending one back may find the other end gone and close this one)
            if self._spare >= 0:  # room for the descriptor this message may carry
                os.close(self._spare)
                self._spare = -1
            try:
                msg, fds, flags, _addr = socket.recv_fds(self._sock, 16, 1)
            except (BlockingIOError, InterruptedError):
                self._spare = _reserve()
                return
            except OSError as e:
                log.warning("connection handoff channel failed: %s", e)
                self.close()
                return
            self._spare = _reserve()
            if not msg and not fds:  # the other process closed its end
                self.close()
                return
            if flags & socket.MSG_CTRUNC:
                log.error("a handed-over connection was lost: no file descriptor left to receive it")
            for fd in fds:
                try:
                    conn = socket.socket(fileno=fd)
                except OSError as e:  # pragma: no cover - the kernel handed us a descriptor
                    log.error("cannot adopt a handed-over connection: %s", e)
                    os.close(fd)
                    continue
                if self._spare >= 0 and self._adopt(conn):
                    continue
                # not taken (stopping, or it took our last descriptor): back where it came from
                if msg != _BACK and self.send(conn, _BACK):
                    conn.close()
                elif self._spare >= 0 or not self._adopt(conn):
                    conn.close()  # nowhere to go: closed between two requests

    def close(self) -> None:
        if self.open:
            self.open = False
            self._loop.remove_reader(self._sock.fileno())
            self._sock.close()
            if self._spare >= 0:
                os.close(self._spare)
                self._spare = -1


def _reserve() -> int:
    """A descriptor held only to be given up for an arriving connection; -1 if none is left."""
    try:
        return os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return -1
