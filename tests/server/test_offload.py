"""Scans run on the server's pool, not the event loop: a Scan still being computed does not hold up
another connection's request, and its answer (or its failure) still reaches its own connection."""
from __future__ import annotations

import socket
import threading
from typing import Any

import pytest
from util import wait_for

from eddydb.server import http
from eddydb.server.app import _new_loop


def _request(target: str) -> bytes:
    body = b'{"TableName":"t"}'
    return (f"POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: DynamoDB_20120810.{target}\r\n"
            f"Authorization: AWS4-HMAC-SHA256 x\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body


def _read_response(sock: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, "connection closed"
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    length = int(next(line.split(b":")[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")))
    while len(rest) < length:
        rest += sock.recv(65536)
    return head.split(b"\r\n")[0] + b" " + rest[:length]


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Any:
    release = threading.Event()
    threads: dict[str, str] = {}

    def fake_route(inst: Any, method: str, url: str, headers: Any, body: bytes) -> tuple:
        op = headers["x-amz-target"].split(".")[1]
        threads[op] = threading.current_thread().name
        if op == "Scan":
            release.wait(10)
            return 200, {"Content-Type": "application/x-amz-json-1.0"}, b'{"Count":0,"Items":[],"ScannedCount":0}'
        if op == "Query":  # a failing scan-like request: the pool's exception becomes a 500
            raise RuntimeError("boom")
        return 200, {"Content-Type": "application/x-amz-json-1.0"}, b'{"Item":{}}'

    monkeypatch.setattr(http, "_route", fake_route)
    monkeypatch.setattr(http, "_OFFLOADED", frozenset({"DynamoDB_20120810.Scan", "DynamoDB_20120810.Query"}))
    loop = _new_loop()
    srv = http.HttpServer(inst=None, loop=loop)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    loop.run_until_complete(srv.start(sock))
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield sock.getsockname()[1], release, threads
    release.set()
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)
    srv.pool.shutdown(wait=True)
    loop.close()


def test_a_running_scan_does_not_hold_up_other_connections(server: Any) -> None:
    port, release, threads = server
    scanner = socket.create_connection(("127.0.0.1", port))
    other = socket.create_connection(("127.0.0.1", port))
    try:
        scanner.sendall(_request("Scan"))
        wait_for(lambda: "Scan" in threads, timeout=10)     # the scan is running (and blocked)
        other.sendall(_request("GetItem"))
        assert _read_response(other) == b'HTTP/1.1 200 OK {"Item":{}}'
        assert threads["Scan"].startswith("eddydb-scan")
        assert not threads["GetItem"].startswith("eddydb-scan")
        release.set()
        assert _read_response(scanner) == b'HTTP/1.1 200 OK {"Count":0,"Items":[],"ScannedCount":0}'
        other.sendall(_request("Query"))
        assert _read_response(other).startswith(b"HTTP/1.1 500 ")
    finally:
        scanner.close()
        other.close()
