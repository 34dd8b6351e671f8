"""Fixtures of the trigger tests: a stream handler deployed as a Lambda function on the session
server (it appends what it received to a JSON-lines file the test reads), tables with streams,
and helpers to create mappings and wait for their states.

The handler's behaviour is driven by the items written:
- `poison: true`          -> the invocation fails (raises; with REPORT=1 it reports the record instead)
- `fail_times: n`         -> fails the first n invocations that contain this key
- `sleep: seconds`        -> sleeps (timeouts)
Environment: OUT (the log file), REPORT=1 (ReportBatchItemFailures responses), WINDOW=1 (count
records in the tumbling-window state), BAD=<json> (return this JSON as the response).
"""
from __future__ import annotations

import contextlib
import itertools
import json
import os
import sys
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from triggers_support import HANDLER, ROLE, make_zip
from util import make_client, wait_for

_counter = itertools.count()


class Trigger:
    """A table with a stream, a deployed handler logging to `out`, and the clients to drive them."""

    def __init__(self, ddb: Any, lam: Any, table: str, function: str, out: str) -> None:
        self.ddb = ddb
        self.lam = lam
        self.table = table
        self.function = function
        self.out = out
        self.stream_arn = ddb.describe_table(TableName=table)["Table"]["LatestStreamArn"]
        self.mappings: list[str] = []

    def put(self, key: str, **attrs: Any) -> None:
        item: dict[str, Any] = {"pk": {"S": key}}
        for k, v in attrs.items():
            if isinstance(v, bool):
                item[k] = {"BOOL": v}
            elif isinstance(v, (int, float)):
                item[k] = {"N": str(v)}
            else:
                item[k] = {"S": str(v)}
        self.ddb.put_item(TableName=self.table, Item=item)

    def map(self, function: str | None = None, **params: Any) -> str:
        params.setdefault("StartingPosition", "TRIM_HORIZON")
        resp = self.lam.create_event_source_mapping(EventSourceArn=self.stream_arn,
                                                    FunctionName=function or self.function, **params)
        self.mappings.append(resp["UUID"])
        return resp["UUID"]

    def calls(self, path: str | None = None) -> list[dict[str, Any]]:
        path = path or self.out
        if not os.path.exists(path):
            return []
        with open(path) as f:
            return [json.loads(line) for line in f if line.strip()]

    def delivered(self, path: str | None = None) -> list[str]:
        """Keys of records delivered in invocations that succeeded (in order)."""
        out = []
        for c in self.calls(path):
            if not c.get("failed") and c.get("keys"):
                out.extend(c["keys"])
        return out

    def wait_delivered(self, keys: list[str], timeout: float = 30.0, path: str | None = None) -> list[str]:
        want = set(keys)
        return wait_for(lambda: want <= set(self.delivered(path)) and self.delivered(path), timeout,
                        message=lambda: f"keys {sorted(want)} delivered; calls: {self.calls(path)[-10:]}")

    def state(self, uuid_: str) -> str:
        return self.lam.get_event_source_mapping(UUID=uuid_)["State"]

    def wait_state(self, uuid_: str, state: str, timeout: float = 20.0) -> None:
        wait_for(lambda: self.state(uuid_) == state, timeout, message=f"mapping {uuid_} to be {state}")


_clients: dict[tuple[str, str], Any] = {}


@pytest.fixture
def lambda_client(eddy_server: Any) -> Any:
    """The session server's boto3 lambda client, made once (building a lambda client costs ~0.5 s)."""
    if eddy_server.proc is None or eddy_server.proc.poll() is not None:
        eddy_server.proc = None
        eddy_server.start()
    key = ("lambda", eddy_server.url)
    if key not in _clients:
        _clients[key] = make_client("lambda", eddy_server.url)
    return _clients[key]


@pytest.fixture
def make_function(lambda_client: Any, request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[Any]:
    """make_function(env={...}, **create_kwargs) -> (name, out_path): the test handler, logging to out_path."""
    created: list[str] = []

    def factory(env: dict[str, str] | None = None, **kwargs: Any) -> tuple[str, str]:
        test = request.node.name.split("[")[0].replace("test_", "")[:30].replace("_", "-")
        name = f"{test}-{next(_counter)}-{uuid.uuid4().hex[:6]}"
        out = str(tmp_path / f"{name}.jsonl")
        variables = {"OUT": out, **(env or {})}
        params: dict[str, Any] = {
            "FunctionName": name, "Runtime": "python3.12", "Role": ROLE, "Handler": "app.handler",
            "Code": {"ZipFile": make_zip({"app.py": HANDLER})}, "Environment": {"Variables": variables},
            "Timeout": 30,
        }
        params.update(kwargs)
        lambda_client.create_function(**params)
        created.append(name)
        return name, out

    yield factory
    for name in created:
        with contextlib.suppress(Exception):  # already deleted by the test
            lambda_client.delete_function(FunctionName=name)


@pytest.fixture
def trigger(dynamodb_server: Any, lambda_client: Any, make_table: Any, make_function: Any) -> Iterator[Any]:
    """trigger(env=None, function_kwargs=None, view="NEW_AND_OLD_IMAGES") -> Trigger."""
    made: list[Trigger] = []

    def factory(env: dict[str, str] | None = None, view: str = "NEW_AND_OLD_IMAGES", **function_kwargs: Any) -> Trigger:
        table = make_table(("pk", "S"), stream=view, client=dynamodb_server)
        fn, out = make_function(env, **function_kwargs)
        t = Trigger(dynamodb_server, lambda_client, table, fn, out)
        made.append(t)
        return t

    yield factory
    for t in made:
        for u in t.mappings:
            with contextlib.suppress(Exception):  # deleted by the test
                lambda_client.delete_event_source_mapping(UUID=u)


def ordered_subsequence(seq: list[str], expected: list[str]) -> bool:
    it = iter(seq)
    return all(any(x == e for x in it) for e in expected)


def now() -> float:
    return time.time()
