"""Crash safety: concurrent writers, `kill -9` of the server mid-stream, restart. The stream then
holds exactly one record per acknowledged change, in per-item order, with no gap in what was
acknowledged, and nothing for a write that did not reach the table."""
from __future__ import annotations

import threading

import pytest
from botocore.exceptions import BotoCoreError, ClientError
from streamutil import read_stream, seq, stream_arn
from util import ServerProcess, make_client, wait_for

THREADS = 4
KEYS_PER_THREAD = 3


@pytest.fixture
def server(tmp_path):
    srv = ServerProcess(tmp_path / "data", args=["--stream-retention", "unlimited"], log_path=tmp_path / "server.log")
    srv.start()
    yield srv
    if srv.proc is not None:
        srv.kill9()


def test_kill9_keeps_exactly_the_acknowledged_changes(server):
    ddb = make_client("dynamodb", server.url)
    ddb.create_table(TableName="crash", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                     BillingMode="PAY_PER_REQUEST",
                     StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
    acked: dict[str, int] = {}          # key -> highest counter value acknowledged to us
    attempted: dict[str, int] = {}      # key -> highest counter value we asked for
    lock = threading.Lock()
    stop = threading.Event()
    total = [0]

    def writer(t: int) -> None:
        client = make_client("dynamodb", server.url)
        n = 0
        while not stop.is_set():
            k = f"t{t}-k{n % KEYS_PER_THREAD}"
            target = attempted.get(k, 0) + 1
            with lock:
                attempted[k] = target
            try:
                client.update_item(TableName="crash", Key={"pk": {"S": k}}, UpdateExpression="ADD c :one",
                                   ExpressionAttributeValues={":one": {"N": "1"}})
            except (BotoCoreError, ClientError):
                return  # the server is gone: this one may or may not have committed
            with lock:
                acked[k] = target
                total[0] += 1
            n += 1

    threads = [threading.Thread(target=writer, args=(t,)) for t in range(THREADS)]
    for th in threads:
        th.start()
    wait_for(lambda: total[0] >= 300, timeout=30)
    server.kill9()
    stop.set()
    for th in threads:
        th.join(30)

    server.start()
    ddb = make_client("dynamodb", server.url)
    streams = make_client("dynamodbstreams", server.url)
    records = read_stream(streams, stream_arn(ddb, "crash"))
    items = {i["pk"]["S"]: int(i["c"]["N"]) for i in ddb.scan(TableName="crash", ConsistentRead=True)["Items"]}
    by_key: dict[str, list[dict]] = {}
    for r in records:
        by_key.setdefault(r["dynamodb"]["Keys"]["pk"]["S"], []).append(r)
    assert len({r["eventID"] for r in records}) == len(records)
    for k, last_try in attempted.items():
        recs = by_key.get(k, [])
        counts = [int(r["dynamodb"]["NewImage"]["c"]["N"]) for r in recs]
        # exactly one record per committed change, in order, no gaps
        assert counts == list(range(1, len(counts) + 1)), k
        assert [seq(r) for r in recs] == sorted(seq(r) for r in recs)
        # every acknowledged change is there; at most the one in flight beyond it
        assert acked.get(k, 0) <= len(counts) <= last_try, k
        # no record without its item (and no item change without its record)
        assert items.get(k, 0) == len(counts), k
    # and the database keeps working, with sequence numbers moving on
    ddb.update_item(TableName="crash", Key={"pk": {"S": "after"}}, UpdateExpression="ADD c :one",
                    ExpressionAttributeValues={":one": {"N": "1"}})
    after = read_stream(streams, stream_arn(ddb, "crash"))
    assert after[-1]["dynamodb"]["Keys"]["pk"]["S"] == "after"
    assert seq(after[-1]) > max(seq(r) for r in records)
