"""Raw HTTP clients and a `--workers N` server for the connection-handoff tests (server/handoff.py):
request builders, a connection that checks every answer's x-amz-crc32, and the server's worker
pids with which of them holds a connection (read from /proc, so Linux only).
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import zlib
from typing import Any

from util import ServerProcess, make_client, wait_for

from eddydb.server import handoff

__all__ = ["OPEN", "TABLE", "ClosedBetweenRequests", "Conn", "Response", "Server", "add", "get", "put", "request"]

TABLE = "adv"
_KEYS = {"KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
         "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}], "BillingMode": "PAY_PER_REQUEST"}
_AUTH = (b"Authorization: AWS4-HMAC-SHA256 Credential=k/20260101/us-east-1/dynamodb/aws4_request, "
         b"SignedHeaders=host, Signature=0\r\n")


# --- raw HTTP -------------------------------------------------------------------------------------
def request(op: str, body: dict | bytes, *, version: bytes = b"1.1", extra: bytes = b"",
            chunked: bool = False) -> bytes:
    """The bytes of one DynamoDB request."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    head = (b"POST / HTTP/%s\r\nHost: localhost\r\nX-Amz-Target: DynamoDB_20120810.%s\r\n"
            b"Content-Type: application/x-amz-json-1.0\r\n%s%s" % (version, op.encode(), _AUTH, extra))
    if chunked:
        chunks = b"".join(b"%x\r\n%s\r\n" % (len(data[i:i + 7]), data[i:i + 7]) for i in range(0, len(data), 7))
        return head + b"Transfer-Encoding: chunked\r\n\r\n" + chunks + b"0\r\n\r\n"
    return head + b"Content-Length: %d\r\n\r\n%s" % (len(data), data)


def put(pk: str, n: int, **kw: Any) -> bytes:
    return request("PutItem", {"TableName": TABLE, "Item": {"pk": {"S": pk}, "n": {"N": str(n)}}}, **kw)


def add(pk: str, **kw: Any) -> bytes:
    return request("UpdateItem", {"TableName": TABLE, "Key": {"pk": {"S": pk}}, "UpdateExpression": "ADD n :one",
                                  "ExpressionAttributeValues": {":one": {"N": "1"}}}, **kw)


def get(pk: str, **kw: Any) -> bytes:
    return request("GetItem", {"TableName": TABLE, "Key": {"pk": {"S": pk}}}, **kw)


class Response:
    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status, self.headers, self.body = status, headers, body

    def json(self) -> Any:
        return json.loads(self.body)

    def n(self) -> int:
        """The `n` of a GetItem answer."""
        assert self.status == 200, self.body
        return int(self.json()["Item"]["n"]["N"])


class ClosedBetweenRequests(ConnectionError):
    """The server closed the connection before any byte of the next answer."""


OPEN: list[Conn] = []   # every Conn made, for the tests' fixture to close


class Conn:
    """One raw client connection; every response is checked against its x-amz-crc32."""

    def __init__(self, port: int, rcvbuf: int | None = None) -> None:
        self.port = port
        self.sock = socket.socket()
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.settimeout(30)
        self.sock.connect(("127.0.0.1", port))
        self.local_port = self.sock.getsockname()[1]
        self.buf = b""
        OPEN.append(self)

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _more(self) -> bool:
        chunk = self.sock.recv(1 << 20)
        self.buf += chunk
        return bool(chunk)

    def response(self, head_only: bool = False) -> Response:
        while b"\r\n\r\n" not in self.buf:
            if not self._more():
                assert self.buf == b"", f"closed mid-response: {self.buf!r}"
                raise ClosedBetweenRequests()
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        version, status = lines[0].split()[:2]
        assert version == "HTTP/1.1", lines[0]
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
        if status == "100":
            return Response(100, headers, b"")
        length = 0 if head_only else int(headers["content-length"])
        while len(self.buf) < length:
            assert self._more(), "closed mid-body"
        body, self.buf = self.buf[:length], self.buf[length:]
        if not head_only:
            assert int(headers["x-amz-crc32"]) == zlib.crc32(body), "a response body arrived damaged"
        return Response(int(status), headers, body)

    def call(self, data: bytes) -> Response:
        self.send(data)
        return self.response()

    def closed_by_server(self) -> bool:
        """Nothing more comes: the server closed its side (after the answers read so far)."""
        while True:
            try:
                if not self._more():
                    return self.buf == b""
            except ConnectionResetError:
                return self.buf == b""

    def close(self) -> None:
        self.sock.close()


# --- the server and its processes -----------------------------------------------------------------
class Server:
    """An `eddydb serve --workers N` with the table `TABLE`, its worker pids and worker 0's among them."""

    def __init__(self, base: Any, workers: int = 2) -> None:
        self.log_path = base / "server.log"
        self.proc = ServerProcess(base / "data", args=["--workers", str(workers)], log_path=self.log_path)
        self.proc.start()
        self.port = self.proc.port
        self.ddb = make_client("dynamodb", self.proc.url)
        self.ddb.create_table(TableName=TABLE, **_KEYS)
        self.ddb.get_waiter("table_exists").wait(TableName=TABLE, WaiterConfig={"Delay": 0.1})
        self.workers = wait_for(lambda: self._workers(workers), timeout=10, message="the worker pids")
        probe = Conn(self.port)   # a connection that wrote ends on worker 0
        assert probe.call(put("probe", 0)).status == 200
        self.writer = wait_for(lambda: next(iter(self.owners(probe)), None), timeout=10, message="probe owner")
        probe.close()

    def _workers(self, n: int) -> list[int]:
        pids = []
        for pid in subprocess.run(["pgrep", "-P", str(self.proc.proc.pid)], capture_output=True,
                                  text=True, check=False).stdout.split():
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if b"spawn_main" in f.read():
                    pids.append(int(pid))
        return sorted(pids) if len(pids) == n else []

    def owners(self, conn: Conn) -> set[int]:
        """The workers holding the server end of `conn`."""
        return self.owners_of([conn])[0]

    def owners_of(self, conns: list[Conn]) -> list[set[int]]:
        by_port = {c.local_port: i for i, c in enumerate(conns)}
        which = {}   # socket inode -> index in conns
        for path in ("/proc/net/tcp", "/proc/net/tcp6"):
            with open(path) as f:
                for line in f.read().splitlines()[1:]:
                    fields = line.split()
                    if int(fields[1].rsplit(":", 1)[1], 16) == self.port:
                        i = by_port.get(int(fields[2].rsplit(":", 1)[1], 16))
                        if i is not None:
                            which[f"socket:[{fields[9]}]"] = i
        found: list[set[int]] = [set() for _ in conns]
        for pid in self.workers:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                try:
                    i = which.get(os.readlink(f"/proc/{pid}/fd/{fd}"))
                except OSError:
                    continue
                if i is not None:
                    found[i].add(pid)
        return found

    def fds(self) -> dict[int, int]:
        """How many descriptors each worker holds, not counting the store's files (SQLite opens
        them per thread, when a thread first needs them)."""
        store = str(self.proc.data_dir)
        counts = {}
        for pid in self.workers:
            counts[pid] = 0
            for fd in os.listdir(f"/proc/{pid}/fd"):
                try:
                    target = os.readlink(f"/proc/{pid}/fd/{fd}")
                except OSError:
                    continue
                counts[pid] += not target.startswith(store)
        return counts

    def no_more_fds_than(self, before: dict[int, int]) -> None:
        wait_for(lambda: all(n <= before[pid] for pid, n in self.fds().items()), timeout=10,
                 message=lambda: f"descriptors back to {before} (now {self.fds()})")

    def on_reader(self, rcvbuf: int | None = None) -> Conn:
        """A new connection the kernel gave to a worker other than worker 0."""
        tried = []
        try:
            for _ in range(200):
                conn = Conn(self.port, rcvbuf)
                assert conn.call(get("none")).status == 200   # accepted and served
                owners = self.owners(conn)
                if owners and self.writer not in owners:
                    return conn
                tried.append(conn)
            raise AssertionError("200 connections all landed on worker 0")
        finally:
            for c in tried:
                c.close()

    def back_to_reader(self, conn: Conn) -> int:
        """Read on an adopted connection until it returns to a reading worker; that worker's pid."""
        self.moved(conn)
        conn.send(get("none") * handoff.READS_BEFORE_RETURN)
        for _ in range(handoff.READS_BEFORE_RETURN):
            assert conn.response().status == 200
        return wait_for(lambda: next(iter(self.owners(conn) - {self.writer}), None), timeout=10,
                        message="the connection back on a reader")

    def moved(self, conn: Conn) -> None:
        wait_for(lambda: self.owners(conn) == {self.writer}, timeout=10, message="the connection on worker 0")

    def log_errors(self) -> list[str]:
        return [line for line in self.log_path.read_text(errors="replace").splitlines()
                if "ERROR" in line or "Traceback" in line or "WARNING" in line]
