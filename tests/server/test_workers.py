"""Several server processes on one SQLite store (`--workers N`, server/forward.py): worker 0 writes,
the others serve item reads and forward everything else to it.

The channel itself is tested in-process over a real socketpair (frames cut anywhere, answers
matched to requests, a lost channel answering 503); the processes through the server with many
connections, each of which either worker may accept.
"""
from __future__ import annotations

import asyncio
import errno
import http.client
import json
import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest
from util import ServerProcess, free_port, make_client, wait_for

from eddydb.config import Settings
from eddydb.engine.database import Engine
from eddydb.instance import Instance
from eddydb.server import forward, router
from eddydb.server.forward import ForwardClient, ForwardServer
from eddydb.server.http import HttpServer
from eddydb.storage import open_store

_KEYS = {"KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
         "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}], "BillingMode": "PAY_PER_REQUEST"}


def _headers(op: str) -> dict[str, str]:
    return {"x-amz-target": f"DynamoDB_20120810.{op}", "authorization": "AWS4-HMAC-SHA256 test",
            "content-type": "application/x-amz-json-1.0"}


def _raw_call(url: str, op: str, body: dict) -> tuple[int, dict]:
    """One request on a new connection (so either worker may get it)."""
    host, port = url.rsplit("/", 1)[-1].split(":")
    c = http.client.HTTPConnection(host, int(port), timeout=30)
    c.request("POST", "/", json.dumps(body), {**_headers(op), "Content-Type": "application/x-amz-json-1.0"})
    r = c.getresponse()
    out = (r.status, json.loads(r.read()))
    c.close()
    return out


# --- the channel, in-process -----------------------------------------------------------------------
class _Pair:
    """Worker 0's ForwardServer (over a real Instance) and a ForwardClient, on one loop and socketpair."""

    def __init__(self, data_dir: str) -> None:
        self.inst = Instance(Settings(data=data_dir))
        self.loop = asyncio.new_event_loop()
        self.http = HttpServer(self.inst, self.loop)
        a, b = socket.socketpair()
        self.server: ForwardServer = self.run(self.loop.connect_accepted_socket(
            lambda: ForwardServer(self.loop, self.inst, self.http.waker), sock=a))[1]
        self.client: ForwardClient = self.run(self.loop.connect_accepted_socket(
            lambda: ForwardClient(self.loop), sock=b))[1]

    def run(self, coro):
        return self.loop.run_until_complete(coro)

    def call_many(self, requests: list[tuple[str, dict]], timeout: float = 10.0) -> list[tuple]:
        answers: list = [None] * len(requests)
        done = self.loop.create_future()

        def answer(i: int):
            def cb(res: tuple) -> None:
                answers[i] = res
                if all(a is not None for a in answers) and not done.done():
                    done.set_result(None)
            return cb

        for i, (op, body) in enumerate(requests):
            self.client.forward("POST", "/", _headers(op), json.dumps(body).encode(), answer(i))
        self.run(asyncio.wait_for(done, timeout))
        return answers

    def close(self) -> None:
        self.client.close()
        self.server.close()
        self.run(asyncio.sleep(0))
        self.loop.close()
        self.inst.close()


@pytest.fixture
def pair(tmp_path):
    p = _Pair(str(tmp_path / "data"))
    yield p
    p.close()


def test_forwarded_requests_are_answered_each_with_its_own_response(pair):
    (status, headers, body), = pair.call_many([("CreateTable", {"TableName": "fwd", **_KEYS})])
    assert status == 200 and headers is router.AMZ_JSON  # shared header dicts survive the trip
    puts = [("PutItem", {"TableName": "fwd", "Item": {"pk": {"S": f"k{i}"}, "n": {"N": str(i)}}}) for i in range(50)]
    assert {a[0] for a in pair.call_many(puts)} == {200}
    gets = [("GetItem", {"TableName": "fwd", "Key": {"pk": {"S": f"k{i}"}}}) for i in range(50)]
    gets.append(("GetItem", {"TableName": "missing", "Key": {"pk": {"S": "x"}}}))
    answers = pair.call_many(gets)
    for i, (status, _h, body) in enumerate(answers[:50]):
        assert status == 200 and json.loads(body)["Item"]["n"] == {"N": str(i)}
    assert answers[50][0] == 400 and b"ResourceNotFoundException" in answers[50][2]


def test_frames_cut_anywhere_are_reassembled(pair):
    got: list[tuple[int, bytes]] = []
    chan = forward._Channel(pair.loop)
    chan.frame = lambda rid, payload: got.append((rid, payload))  # type: ignore[method-assign]
    stream = b"".join(forward._HEAD.pack(len(p), rid) + p for rid, p in ((1, b"abc"), (2, b""), (7, b"x" * 300)))
    for i in range(len(stream)):
        chan.data_received(stream[i:i + 1])
    assert got == [(1, b"abc"), (2, b""), (7, b"x" * 300)]
    got.clear()
    chan.data_received(stream)
    assert [rid for rid, _ in got] == [1, 2, 7]


def test_a_lost_writer_answers_the_waiting_requests_with_503(pair):
    answers: list[tuple] = []
    pair.server.close()   # worker 0 goes away with the request unanswered
    pair.client.forward("POST", "/", _headers("ListTables"), b"{}", answers.append)
    pair.run(asyncio.wait_for(pair.client.closed, 10))
    assert [a[0] for a in answers] == [503]
    pair.client.forward("POST", "/", _headers("ListTables"), b"{}", answers.append)  # and any later one
    assert [a[0] for a in answers] == [503, 503]


# --- the shared catalog version ------------------------------------------------------------------
def test_a_reader_process_reloads_tables_the_writer_changed(tmp_path):
    """Two engines on one store share the counter as two server processes do: a change committed by
    one is never answered from the other's stale cache (also with several writers, on PostgreSQL)."""
    settings = Settings(data=str(tmp_path / "data"))
    owner = Instance(settings)
    reader_store = open_store(settings)
    reader = Engine(reader_store, settings)
    shared = multiprocessing.Value("q", -1)

    def call(op: str, body: dict) -> int:
        res = router.route(owner, "POST", "/", _headers(op), json.dumps(body).encode())
        return (res.finish() if isinstance(res, router.Deferred) else res)[0]

    try:
        owner.engine.share_catalog(shared)
        reader.share_catalog(shared)
        assert call("CreateTable", {"TableName": "cat", **_KEYS}) == 200
        assert shared.value == owner.engine._version   # published before the answer
        first = reader.table("cat")
        # the reader has the table cached; the owner drops and recreates it: never the old one
        assert call("DeleteTable", {"TableName": "cat"}) == 200
        assert reader.find_table("cat") is None
        assert call("CreateTable", {"TableName": "cat", **_KEYS}) == 200
        assert reader.table("cat").table_id != first.table_id
    finally:
        reader.close()
        reader_store.close()
        owner.close()


# --- the processes -------------------------------------------------------------------------------
def test_table_changes_reach_every_worker_before_they_are_acknowledged(tmp_path):
    with ServerProcess(tmp_path / "d", args=["--workers", "2"], log_path=tmp_path / "srv.log") as srv:
        for round_ in range(3):
            assert _raw_call(srv.url, "CreateTable", {"TableName": "wkr", **_KEYS})[0] == 200
            assert _raw_call(srv.url, "PutItem", {"TableName": "wkr", "Item": {"pk": {"S": "a"}}})[0] == 200
            # 16 new connections: the chance that none lands on the reading worker is 2^-16
            for _ in range(16):
                status, body = _raw_call(srv.url, "GetItem", {"TableName": "wkr", "Key": {"pk": {"S": "a"}}})
                assert status == 200 and body == {"Item": {"pk": {"S": "a"}}}, (round_, body)
            assert _raw_call(srv.url, "DeleteTable", {"TableName": "wkr"})[0] == 200
            for _ in range(16):
                status, body = _raw_call(srv.url, "GetItem", {"TableName": "wkr", "Key": {"pk": {"S": "a"}}})
                assert status == 400 and body["__type"].endswith("ResourceNotFoundException"), (round_, body)
            wait_for(lambda: _raw_call(srv.url, "DescribeTable", {"TableName": "wkr"})[0] == 400, 30,
                     message="the deleted table to be gone")
        assert srv.stop() == 0


def test_reads_and_writes_from_many_connections_see_each_other(tmp_path):
    with ServerProcess(tmp_path / "d", args=["--workers", "2"], log_path=tmp_path / "srv.log") as srv:
        ddb = make_client("dynamodb", srv.url)
        ddb.create_table(TableName="rwt", **_KEYS)
        for i in range(30):
            assert _raw_call(srv.url, "UpdateItem", {
                "TableName": "rwt", "Key": {"pk": {"S": "c"}}, "UpdateExpression": "ADD n :one",
                "ExpressionAttributeValues": {":one": {"N": "1"}}})[0] == 200
            status, body = _raw_call(srv.url, "GetItem", {"TableName": "rwt", "Key": {"pk": {"S": "c"}}})
            assert status == 200 and body["Item"]["n"] == {"N": str(i + 1)}
            status, body = _raw_call(srv.url, "Query", {"TableName": "rwt", "KeyConditionExpression": "pk = :p",
                                                        "ExpressionAttributeValues": {":p": {"S": "c"}}})
            assert body["Items"][0]["n"] == {"N": str(i + 1)}
        assert srv.stop() == 0


def test_workers_die_with_the_server(tmp_path):
    """kill -9 of `eddydb serve` alone (not its process group) takes its workers with it: nothing
    keeps serving the port or writing the store, and a restart finds every acknowledged write."""
    srv = ServerProcess(tmp_path / "d", args=["--workers", "2"], log_path=tmp_path / "srv.log")
    srv.start()
    try:
        assert _raw_call(srv.url, "CreateTable", {"TableName": "dwk", **_KEYS})[0] == 200
        for i in range(20):
            assert _raw_call(srv.url, "PutItem", {"TableName": "dwk", "Item": {"pk": {"S": f"k{i}"}}})[0] == 200
        workers = subprocess.run(["pgrep", "-P", str(srv.proc.pid)], capture_output=True, text=True, check=True).stdout.split()
        assert len(workers) >= 2
        os.kill(srv.proc.pid, signal.SIGKILL)
        srv.proc.wait()

        def gone(pid: str) -> bool:
            try:
                os.kill(int(pid), 0)
            except ProcessLookupError:
                return True
            # a zombie (reaped by init soon) no longer runs
            with open(f"/proc/{pid}/stat") as f:
                return f.read().split(") ", 1)[1].startswith("Z")
        wait_for(lambda: all(gone(p) for p in workers), 30, message="the workers to exit with the server")
        srv.proc = None
        srv._log.close()
        srv.start()
        ddb = make_client("dynamodb", srv.url)
        assert ddb.scan(TableName="dwk")["Count"] == 20
    finally:
        srv.kill9()


def test_a_worker_that_exits_on_its_own_stops_the_server(tmp_path):
    """SIGTERM to one worker alone (not to `eddydb serve`): the others must not go on serving (without
    worker 0 every write would answer 503); the server stops with an error. The worker tells the
    parent as it starts stopping, so worker 0 does not wait out its 20 s for the other worker's
    forwarding channel (which stays open while that worker serves)."""
    srv = ServerProcess(tmp_path / "d", args=["--workers", "2"], log_path=tmp_path / "srv.log")
    try:
        for which in (0, 1):  # worker 0, then a reading worker (spawned in that order)
            srv.start()
            workers = _worker_pids(srv.proc.pid)
            assert len(workers) == 2
            start = time.monotonic()
            os.kill(workers[which], signal.SIGTERM)
            assert srv.proc.wait(timeout=60) != 0
            assert time.monotonic() - start < 18, "worker 0 waited out its channel timeout"
            assert "stopped on its own" in srv.log_tail()
            srv.kill9()
    finally:
        srv.kill9()


def test_a_worker_killed_alone_stops_the_server_with_its_exit_code(tmp_path):
    """A worker that dies without stopping (SIGKILL: no chance to tell the parent) still stops the
    server, which reports the exit."""
    srv = ServerProcess(tmp_path / "d", args=["--workers", "2"], log_path=tmp_path / "srv.log")
    try:
        srv.start()
        workers = _worker_pids(srv.proc.pid)
        assert len(workers) == 2
        os.kill(workers[1], signal.SIGKILL)
        assert srv.proc.wait(timeout=60) != 0
        assert "exited with code -9" in srv.log_tail()
    finally:
        srv.kill9()


def _worker_pids(parent: int) -> list[int]:
    """The worker processes of `eddydb serve` (not multiprocessing's resource tracker), oldest first."""
    pids = subprocess.run(["pgrep", "-P", str(parent)], capture_output=True, text=True, check=True).stdout.split()
    workers = []
    for pid in pids:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            if b"spawn_main" in f.read():
                workers.append(int(pid))
    return sorted(workers)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/<pid>/limits")
def test_workers_run_with_the_hard_open_file_limit(tmp_path):
    srv = ServerProcess(tmp_path / "d", args=["--workers", "2"], log_path=tmp_path / "srv.log")
    srv.start()
    try:
        workers = _worker_pids(srv.proc.pid)
        assert workers
        for pid in workers:
            with open(f"/proc/{pid}/limits") as f:
                soft, hard = next(line for line in f if line.startswith("Max open files")).split()[3:5]
            assert soft == hard or int(soft) >= 65536
    finally:
        srv.stop()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux-only")
def test_a_worker_whose_parent_is_already_gone_exits(tmp_path):
    code = ("import os, sys; from eddydb.server.app import _die_with_parent; "
            "_die_with_parent(os.getppid() + 1); sys.exit(0)")
    assert subprocess.run([sys.executable, "-c", code], timeout=60, check=False).returncode == 1


class _Recorder:
    def __init__(self) -> None:
        self.forwarded: list[tuple[str, str]] = []

    def forward(self, method, url, headers, body, done) -> None:
        self.forwarded.append((method, url))
        done((200, router.JSON, b"{}"))


class _Transport:
    def __init__(self) -> None:
        self.out: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.out.append(data)

    def close(self) -> None:
        pass


def test_only_item_reads_on_the_dynamodb_path_stay_on_a_reading_worker(tmp_path):
    """A reading worker answers GetItem & co. itself only on POST /: the same target header on a
    Lambda path (which no SDK sends, but a client could) is forwarded like every other request."""
    from eddydb.server.http import HttpProtocol

    inst = Instance(Settings(data=str(tmp_path / "data")))
    loop = asyncio.new_event_loop()
    try:
        server = HttpServer(inst, loop)
        server.forward = _Recorder()
        proto = HttpProtocol(server)
        transport = _Transport()
        proto.connection_made(transport)  # type: ignore[arg-type]
        body = b'{"TableName":"nope","Key":{"pk":{"S":"a"}}}'
        for path in ("/2015-03-31/functions/", "/"):
            proto.data_received(b"POST %s HTTP/1.1\r\nHost: x\r\nX-Amz-Target: DynamoDB_20120810.GetItem\r\n"
                                b"Authorization: AWS4-HMAC-SHA256 x\r\nContent-Length: %d\r\n\r\n%s"
                                % (path.encode(), len(body), body))
        assert server.forward.forwarded == [("POST", "/2015-03-31/functions/")]
        assert len(transport.out) == 2 and b"ResourceNotFoundException" in transport.out[1]
    finally:
        loop.close()
        inst.close()


def test_a_port_still_held_by_exiting_workers_is_waited_for_then_refused(tmp_path):
    from eddydb.server.app import _claim_port

    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    port = busy.getsockname()[1]
    with pytest.raises(OSError) as e:
        _claim_port("127.0.0.1", port, wait=0.2)       # held past the wait: the start fails
    assert e.value.errno == errno.EADDRINUSE
    released = threading.Timer(0.3, busy.close)          # freed a moment later, as a killed worker's
    released.start()
    try:
        claim = _claim_port("127.0.0.1", port, wait=30)
        assert claim.getsockname()[1] == port
        claim.close()
    finally:
        released.cancel()
        busy.close()


def test_the_listening_line_comes_once_every_worker_answers_and_sigterm_then_exits_zero(tmp_path):
    """A client may connect the moment it reads the line; and a SIGTERM right after it stops the
    server cleanly (the parent's handlers exist before its first worker does)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDDYDB_")}
    proc = subprocess.Popen([sys.executable, "-m", "eddydb", "serve", "--port", str(port), "--data",
                             str(tmp_path / "d"), "--workers", "2"], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, env=env)
    try:
        line = proc.stdout.readline().decode()
        while "listening" not in line and line:
            line = proc.stdout.readline().decode()
        assert f"http://127.0.0.1:{port}" in line and "2 workers" in line
        for _ in range(20):   # fresh connections, no retry: whichever worker gets one must answer
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            c.request("GET", "/")
            assert c.getresponse().status == 200
            c.close()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
