"""Connection handoff between server processes (server/handoff.py): a connection that writes moves
to worker 0 between two requests, one adopted by worker 0 that then only reads goes back, and the
client notices nothing: the same TCP connection keeps answering, in order, with its own writes
visible.

Which process serves a connection is read from /proc (the process holding the server side of the
socket), so these tests run on Linux, where `--workers 2` is the default anyway.
"""
from __future__ import annotations

import concurrent.futures
import glob
import json
import os
import socket
import sys

import pytest
from util import make_client, wait_for

from eddydb.server import handoff

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads socket owners from /proc")

_TABLE = "handoff"


def _connection_owners(server_port: int, client_port: int) -> set[int]:
    """Pids of the processes holding the server end of the TCP connection from `client_port`."""
    inodes = set()
    for path in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(path) as f:
                lines = f.read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            f = line.split()
            if int(f[1].rsplit(":", 1)[1], 16) == server_port and int(f[2].rsplit(":", 1)[1], 16) == client_port:
                inodes.add(f"socket:[{f[9]}]")
    owners = set()
    for fd in glob.glob("/proc/[0-9]*/fd/*"):
        try:
            if os.readlink(fd) in inodes:
                owners.add(int(fd.split("/")[2]))
        except OSError:
            continue
    return owners


class _Conn:
    """One raw keep-alive HTTP/1.1 connection: requests and responses in order on one socket."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.local_port = self.sock.getsockname()[1]
        self._buf = b""

    def send(self, op: str, body: dict) -> None:
        data = json.dumps(body).encode()
        self.sock.sendall(
            b"POST / HTTP/1.1\r\nHost: localhost\r\nX-Amz-Target: DynamoDB_20120810.%s\r\n"
            b"Content-Type: application/x-amz-json-1.0\r\n"
            b"Authorization: AWS4-HMAC-SHA256 Credential=k/20260101/us-east-1/dynamodb/aws4_request, "
            b"SignedHeaders=host, Signature=0\r\nContent-Length: %d\r\n\r\n%s" % (op.encode(), len(data), data))

    def receive(self) -> tuple[int, dict]:
        while b"\r\n\r\n" not in self._buf:
            self._more()
        head, _, self._buf = self._buf.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        length = next(int(v) for k, _, v in (line.partition(b":") for line in lines[1:])
                      if k.strip().lower() == b"content-length")
        while len(self._buf) < length:
            self._more()
        body, self._buf = self._buf[:length], self._buf[length:]
        return int(lines[0].split()[1]), json.loads(body)

    def _more(self) -> None:
        chunk = self.sock.recv(65536)
        assert chunk, "the server closed the connection"
        self._buf += chunk

    def call(self, op: str, body: dict) -> dict:
        self.send(op, body)
        status, out = self.receive()
        assert status == 200, out
        return out

    def owners(self) -> set[int]:
        return _connection_owners(self.port, self.local_port)

    def close(self) -> None:
        self.sock.close()


def _put(conn: _Conn, pk: str, n: int) -> None:
    conn.call("PutItem", {"TableName": _TABLE, "Item": {"pk": {"S": pk}, "n": {"N": str(n)}}})


def _get(conn: _Conn, pk: str) -> int:
    return int(conn.call("GetItem", {"TableName": _TABLE, "Key": {"pk": {"S": pk}}, "ConsistentRead": True})
               ["Item"]["n"]["N"])


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory):
    from util import ServerProcess

    base = tmp_path_factory.mktemp("handoff")
    srv = ServerProcess(base / "data", args=["--workers", "2"], log_path=base / "server.log")
    srv.start()
    client = make_client("dynamodb", srv.url)
    client.create_table(TableName=_TABLE, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                        BillingMode="PAY_PER_REQUEST")
    client.get_waiter("table_exists").wait(TableName=_TABLE, WaiterConfig={"Delay": 0.1})
    port = int(srv.url.rsplit(":", 1)[1])
    # Worker 0 is the process serving a connection right after it wrote.
    probe = _Conn(port)
    _put(probe, "probe", 0)
    writer = wait_for(lambda: next(iter(probe.owners()), None), timeout=10, message="the probe's owner")
    probe.close()
    yield srv, port, writer
    srv.stop()


def _connection_on_reader(port: int, writer: int) -> _Conn:
    """A new connection the kernel gave to the worker that is not worker 0."""
    tried = []
    try:
        for _ in range(200):
            conn = _Conn(port)
            conn.call("GetItem", {"TableName": _TABLE, "Key": {"pk": {"S": "none"}}})  # accepted and served
            owners = conn.owners()
            if owners and writer not in owners:
                return conn
            tried.append(conn)
        raise AssertionError("200 connections all landed on worker 0")
    finally:
        for c in tried:
            c.close()


def _moved_to_worker_0(port: int, writer: int, pk: str, n: int) -> tuple[_Conn, int]:
    """A connection a reading worker accepted, moved to worker 0 by a PutItem; and the reader's pid."""
    conn = _connection_on_reader(port, writer)
    reader = next(iter(conn.owners()))
    _put(conn, pk, n)
    wait_for(lambda: conn.owners() == {writer}, timeout=10, message="the connection moved to worker 0")
    return conn, reader


def test_a_connection_that_writes_moves_to_worker_0_and_keeps_answering(two_workers):
    _srv, port, writer = two_workers
    conn, reader = _moved_to_worker_0(port, writer, "moves", 1)
    assert reader != writer
    # the same socket goes on answering, and sees its own writes
    for n in range(2, 6):
        _put(conn, "moves", n)
        assert _get(conn, "moves") == n
    conn.close()


def test_an_adopted_connection_that_only_reads_goes_back(two_workers):
    _srv, port, writer = two_workers
    conn, reader = _moved_to_worker_0(port, writer, "back", 7)
    for _ in range(handoff.READS_BEFORE_RETURN):
        assert _get(conn, "back") == 7
    wait_for(lambda: conn.owners() == {reader}, timeout=10, message="the connection went back")
    assert _get(conn, "back") == 7
    conn.close()


def test_a_connection_worker_0_accepted_stays_there_when_it_reads(two_workers):
    _srv, port, writer = two_workers
    kept = []
    try:
        for _ in range(200):
            conn = _Conn(port)
            conn.call("GetItem", {"TableName": _TABLE, "Key": {"pk": {"S": "none"}}})  # accepted and served
            if conn.owners() == {writer}:
                break
            kept.append(conn)
        else:
            raise AssertionError("no connection landed on worker 0")
    finally:
        for c in kept:
            c.close()
    _put(conn, "native", 3)
    for _ in range(3 * handoff.READS_BEFORE_RETURN):
        assert _get(conn, "native") == 3
    assert conn.owners() == {writer}
    conn.close()


def test_pipelined_requests_across_a_move_are_answered_in_order(two_workers):
    _srv, port, writer = two_workers
    conn = _connection_on_reader(port, writer)
    for n in range(20):  # each burst: a write and a read of it, sent before either is answered
        conn.send("PutItem", {"TableName": _TABLE, "Item": {"pk": {"S": "pipe"}, "n": {"N": str(n)}}})
        conn.send("GetItem", {"TableName": _TABLE, "Key": {"pk": {"S": "pipe"}}})
        assert conn.receive()[0] == 200
        status, got = conn.receive()
        assert status == 200 and got["Item"]["n"]["N"] == str(n)
    conn.close()


def test_concurrent_increments_over_moving_connections_lose_nothing(two_workers):
    srv, _port, _writer = two_workers
    client = make_client("dynamodb", srv.url)
    threads, rounds = 8, 40

    def work(t: int) -> None:
        for i in range(rounds):
            client.update_item(TableName=_TABLE, Key={"pk": {"S": "counter"}},
                               UpdateExpression="ADD n :one", ExpressionAttributeValues={":one": {"N": "1"}})
            for _ in range(i % 20):  # read runs long enough to send adopted connections back
                client.get_item(TableName=_TABLE, Key={"pk": {"S": "counter"}})

    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        list(pool.map(work, range(threads)))
    got = client.get_item(TableName=_TABLE, Key={"pk": {"S": "counter"}}, ConsistentRead=True)["Item"]["n"]["N"]
    assert int(got) == threads * rounds


# --- the channel itself -------------------------------------------------------------------------
def test_a_handed_over_socket_reaches_the_other_end_connected():
    import asyncio

    loop = asyncio.new_event_loop()
    a, b = handoff.pair()
    listener = socket.create_server(("127.0.0.1", 0))
    client = socket.create_connection(listener.getsockname())
    accepted, _ = listener.accept()
    adopted: list[socket.socket] = []
    try:
        sender = handoff.Handoff(loop, a, lambda s: False)
        receiver = handoff.Handoff(loop, b, lambda s: adopted.append(s) or True)
        assert sender.send(accepted)
        accepted.close()  # the sender's copy: the connection lives on in the receiver's
        loop.run_until_complete(asyncio.sleep(0))
        wait_for(lambda: loop.run_until_complete(asyncio.sleep(0.01)) or adopted, timeout=5, message="adopted")
        client.sendall(b"ping")
        assert adopted[0].recv(4) == b"ping"
        adopted[0].sendall(b"pong")
        assert client.recv(4) == b"pong"
        receiver.close()
        assert not sender.send(client)  # the other end is gone: nothing sent, no exception
        assert not sender.open
    finally:
        for s in (client, listener, *adopted):
            s.close()
        loop.close()
