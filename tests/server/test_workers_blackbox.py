"""`eddydb serve --workers 2` from the outside: what a client sends over raw sockets or boto3 gets
the same answer whichever worker accepted its connection (worker 1 answers item reads itself and
forwards everything else to worker 0, server/forward.py).

SO_REUSEPORT spreads connections over the workers by a hash, so each check opens fresh connections
until it has seen answers from both workers (told apart by the per-process request-id prefix).
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from util import ServerProcess, wait_for

_KEYS = {"KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
         "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}], "BillingMode": "PAY_PER_REQUEST"}
_AUTH = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20250101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    base = tmp_path_factory.mktemp("workers-blackbox")
    with ServerProcess(base / "data", args=["--workers", "2"], log_path=base / "server.log") as srv:
        yield srv


def _request(op: str | None, body: bytes, method: str = "POST", headers: dict[str, str] | None = None) -> bytes:
    h = {"Host": "localhost", "Content-Type": "application/x-amz-json-1.0", "Authorization": _AUTH,
         "Content-Length": str(len(body))}
    if op is not None:
        h["X-Amz-Target"] = f"DynamoDB_20120810.{op}"
    h.update(headers or {})
    head = f"{method} / HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in h.items()) + "\r\n"
    return head.encode() + body


def _call(op: str, body: dict) -> bytes:
    return _request(op, json.dumps(body).encode())


def _read_response(stream: Any) -> tuple[int, dict[str, str], bytes] | None:
    """One response (status, headers with lower-case names, body) from a socket's `makefile("rb")`,
    or None if the server closed the connection first."""
    status = stream.readline()
    if not status:
        return None
    headers: dict[str, str] = {}
    while (line := stream.readline()) not in (b"\r\n", b""):
        name, value = line.decode("latin-1").split(":", 1)
        headers[name.strip().lower()] = value.strip()
    body = stream.read(int(headers.get("content-length", "0")))
    return int(status.split()[1]), headers, body


def _worker(headers: dict[str, str]) -> str:
    return headers["x-amzn-requestid"][:23]   # the answering process's request-id prefix


def _on_both_workers(exchange: Callable[[], Any], check: Callable[[Any], None],
                     worker: Callable[[Any], str] = lambda res: _worker(res[1])) -> None:
    """Run `exchange` (on a new connection each time) until both workers have answered it; `check`
    every answer (also a missing one) on the way; `worker(answer)` names the worker that answered."""
    seen: set[str] = set()
    failed: list[AssertionError] = []

    def both() -> bool:
        res = exchange()
        try:
            check(res)
        except AssertionError as e:  # wait_for would take it for "not yet"
            failed.append(e)
            return True
        seen.add(worker(res))
        return len(seen) == 2

    wait_for(both, 30, interval=0, message=lambda: f"answers from both workers (seen {seen})")
    if failed:
        raise failed[0]


def _send(srv: ServerProcess, data: bytes, *, half_close: bool = False) -> tuple[int, dict[str, str], bytes] | None:
    with socket.create_connection((srv.host, srv.port), timeout=30) as s:
        s.sendall(data)
        if half_close:
            s.shutdown(socket.SHUT_WR)
        return _read_response(s.makefile("rb"))


# --- HTTP ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("what", ["health", "DescribeTable", "PutItem", "GetItem"])
def test_a_client_that_half_closes_after_its_request_still_gets_the_answer(server, what):
    """A client may shut down its sending side once the request is out (`nc -N`, scripted probes):
    the request is complete, so it is answered, forwarded or not."""
    _send(server, _call("CreateTable", {"TableName": "halfclose", **_KEYS}))
    data = {
        "health": _request(None, b"", method="GET"),
        "DescribeTable": _call("DescribeTable", {"TableName": "halfclose"}),
        "PutItem": _call("PutItem", {"TableName": "halfclose", "Item": {"pk": {"S": "a"}}}),
        "GetItem": _call("GetItem", {"TableName": "halfclose", "Key": {"pk": {"S": "a"}}}),
    }[what]

    def check(res):
        assert res is not None, f"{what}: the connection closed without an answer"
        assert res[0] == 200, res

    _on_both_workers(lambda: _send(server, data, half_close=True), check)


def test_pipelined_requests_before_a_half_close_are_all_answered_in_order_then_the_connection_closes(server):
    _send(server, _call("CreateTable", {"TableName": "halfpipe", **_KEYS}))
    ops = []
    for i in range(3):
        ops.append(_call("PutItem", {"TableName": "halfpipe", "Item": {"pk": {"S": "a"}, "n": {"N": str(i)}}}))
        ops.append(_call("GetItem", {"TableName": "halfpipe", "Key": {"pk": {"S": "a"}}}))

    def exchange():
        with socket.create_connection((server.host, server.port), timeout=30) as s:
            s.sendall(b"".join(ops))
            s.shutdown(socket.SHUT_WR)
            stream = s.makefile("rb")
            answers = [_read_response(stream) for _ in ops]
            return answers, stream.read(1)

    def check(res):
        answers, after = res
        assert None not in answers, answers
        assert [json.loads(a[2]).get("Item", {}).get("n") for a in answers[1::2]] == [{"N": str(i)} for i in range(3)]
        assert after == b""   # closed once everything is answered

    _on_both_workers(exchange, check, lambda res: _worker(res[0][0][1]))


# --- the port --------------------------------------------------------------------------------------
def test_a_second_server_on_a_port_already_served_fails_to_start(server, tmp_path):
    """The workers share the port through SO_REUSEPORT, which any other process of the same user
    binding it with SO_REUSEPORT would join: a second `eddydb serve` on the same port must not start
    and quietly take half the connections to its own database."""
    cmd = [sys.executable, "-m", "eddydb", "serve", "--host", server.host, "--port", str(server.port),
           "--data", str(tmp_path / "other"), "--workers", "2"]
    with open(tmp_path / "second.log", "wb") as log:
        second = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for(lambda: second.poll() is not None, 30, message="the second server to give up")
    finally:
        if second.poll() is None:
            os.killpg(second.pid, signal.SIGKILL)
            second.wait()
    assert second.returncode != 0
    assert b"Address already in use" in (tmp_path / "second.log").read_bytes()
