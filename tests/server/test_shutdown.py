"""Graceful shutdown of the HTTP server, in-process with fake operations whose completion the
test controls: requests in flight are answered before the server stops, idle keep-alive
connections are closed, and no new connection is accepted."""
from __future__ import annotations

import asyncio
import http.client
import socket
import threading
from concurrent.futures import Future

import pytest
from util import wait_for

from eddydb.api import dispatch
from eddydb.server.app import _new_loop, make_socket
from eddydb.server.http import HttpServer

AUTH = {"Authorization": "AWS4-HMAC-SHA256 Credential=x/20260101/us-east-1/dynamodb/aws4_request"}


@pytest.fixture
def gate(monkeypatch):
    """A fake write operation whose Future resolves only when the test opens the gate."""
    pending: list[Future] = []

    def slow_write(inst, req):
        f: Future = Future()
        pending.append(f)
        return f

    monkeypatch.setattr(dispatch, "_TARGETS", {
        "DynamoDB_20120810.SlowWrite": slow_write,
        "DynamoDB_20120810.Fast": lambda inst, req: {"ok": True},
    })
    return pending


@pytest.fixture
def server():
    loop = _new_loop()
    sock = make_socket("127.0.0.1", 0)
    srv = HttpServer(None, loop)
    loop.run_until_complete(srv.start(sock))
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    port = sock.getsockname()[1]

    def shutdown() -> Future:
        return asyncio.run_coroutine_threadsafe(srv.shutdown(timeout=10), loop)

    yield port, srv, shutdown
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)
    loop.close()


def _request(port: int, op: str) -> http.client.HTTPConnection:
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request("POST", "/", body="{}", headers={"X-Amz-Target": "DynamoDB_20120810." + op, **AUTH})
    return c


def test_in_flight_write_is_answered_before_shutdown_completes(server, gate):
    port, srv, shutdown = server
    conn = _request(port, "SlowWrite")
    wait_for(lambda: gate, message="the write to reach the handler")
    done = shutdown()
    wait_for(lambda: srv.stopping, message="shutdown to start")
    assert not done.done()  # still waiting for the write
    gate[0].set_result({"Written": True})
    r = conn.getresponse()
    assert r.status == 200 and r.read() == b'{"Written":true}'
    assert r.getheader("Connection") == "close"
    done.result(10)


def test_idle_keep_alive_connections_are_closed_and_new_ones_refused(server, gate):
    port, _, shutdown = server
    conn = _request(port, "Fast")
    assert conn.getresponse().read() == b'{"ok":true}'  # connection now idle, kept alive
    shutdown().result(10)
    assert conn.sock.recv(1) == b""  # closed by the server
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2).recv(1)
