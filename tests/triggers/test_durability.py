"""Durable checkpoints and leases: `kill -9` of the server while a trigger is processing loses no
record (at-least-once, resuming from the checkpoint), and when several eddydb processes share one
store each shard is processed by one of them, another taking over when it dies."""
from __future__ import annotations

import json
import os

import pytest
from triggers_support import HANDLER, ROLE, make_zip
from util import ServerProcess, make_client, wait_for


def _setup(url: str, out: str, *, sleep: float = 0.0) -> tuple:
    ddb = make_client("dynamodb", url)
    lam = make_client("lambda", url)
    ddb.create_table(TableName="durable", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                     BillingMode="PAY_PER_REQUEST",
                     StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"})
    lam.create_function(FunctionName="recorder", Runtime="python3.12", Role=ROLE, Handler="app.handler",
                        Code={"ZipFile": make_zip({"app.py": HANDLER})}, Timeout=30,
                        Environment={"Variables": {"OUT": out}})
    arn = ddb.describe_table(TableName="durable")["Table"]["LatestStreamArn"]
    return ddb, lam, arn


def _delivered(out: str) -> list[str]:
    if not os.path.exists(out):
        return []
    keys = []
    with open(out) as f:
        for line in f:
            if line.strip():
                try:
                    c = json.loads(line)
                except ValueError:
                    continue   # a line cut by kill -9
                if not c.get("failed"):
                    keys.extend(c["keys"])
    return keys


def test_kill9_during_processing_loses_no_record(tmp_path):
    out = str(tmp_path / "calls.jsonl")
    server = ServerProcess(tmp_path / "data", log_path=tmp_path / "server.log")
    server.start()
    try:
        ddb, lam, arn = _setup(server.url, out)
        keys = [f"k{i:04d}" for i in range(300)]
        for i in range(0, len(keys), 25):
            # every record sleeps a little in the handler so the kill lands mid-stream
            ddb.batch_write_item(RequestItems={"durable": [
                {"PutRequest": {"Item": {"pk": {"S": k}, "sleep": {"N": "0.01"}}}} for k in keys[i:i + 25]]})
        # the mapping starts after the writes: processing the backlog takes > 3 s
        lam.create_event_source_mapping(EventSourceArn=arn, FunctionName="recorder", StartingPosition="TRIM_HORIZON",
                                        BatchSize=5)
        wait_for(lambda: len(_delivered(out)) >= 30, 30)
        server.kill9()
        assert len(set(_delivered(out))) < len(keys), "the kill lands mid-stream"
        server.start()
        wait_for(lambda: set(_delivered(out)) >= set(keys), 60,
                 message=lambda: f"all keys after restart (have {len(set(_delivered(out)))})")
        got = _delivered(out)
        # in order per shard: the first delivery of each key follows the write order
        first = list(dict.fromkeys(got))
        assert first == keys
    finally:
        if server.proc is not None:
            server.kill9()


@pytest.mark.slow
def test_two_processes_share_shards_and_take_over(tmp_path):
    out = str(tmp_path / "calls.jsonl")
    data = tmp_path / "data"
    a = ServerProcess(data, log_path=tmp_path / "a.log")
    a.start()
    b = ServerProcess(data, log_path=tmp_path / "b.log")
    try:
        ddb, lam, arn = _setup(a.url, out)
        lam.create_event_source_mapping(EventSourceArn=arn, FunctionName="recorder", StartingPosition="TRIM_HORIZON",
                                        BatchSize=10)
        b.start()
        first = [f"a{i:03d}" for i in range(50)]
        for k in first:
            ddb.put_item(TableName="durable", Item={"pk": {"S": k}})
        wait_for(lambda: set(_delivered(out)) >= set(first), 30)
        # one lease holder: nothing delivered twice (no failures happened)
        assert sorted(_delivered(out)) == sorted(first)
        a.kill9()
        ddb_b = make_client("dynamodb", b.url)
        second = [f"b{i:03d}" for i in range(20)]
        for k in second:
            ddb_b.put_item(TableName="durable", Item={"pk": {"S": k}})
        wait_for(lambda: set(_delivered(out)) >= set(first + second), 30)
    finally:
        for s in (a, b):
            if s.proc is not None:
                s.kill9()
