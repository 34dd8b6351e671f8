"""Crash safety beyond items: `kill -9` of a server whose table has a stream, a trigger and TTL,
while writers load it; restart on the same data directory and keep writing. Afterwards every
acknowledged write is in the table, the stream holds exactly one record per committed change in
order per key, the trigger saw every record at least once and, across the restart, in order per
partition key (Lambda's at-least-once), and items that had expired before the crash are deleted
after the restart as service deletes. And a crash under a TransactWriteItems load leaves each
transaction wholly applied (table, GSI, stream, a counter) or not at all."""
from __future__ import annotations

import json
import os
import threading
import time
from typing import Any

import pytest
from botocore.exceptions import BotoCoreError, ClientError
from streams.streamutil import read_stream, seq, stream_arn
from triggers.triggers_support import make_zip
from util import ServerProcess, make_client, wait_for

pytestmark = pytest.mark.slow

ROLE = "arn:aws:iam::000000000000:role/eddydb-test"
SERVICE = {"Type": "Service", "PrincipalId": "dynamodb.amazonaws.com"}

# One JSON line per invocation, with a leading newline so a line cut by kill -9 never swallows the next.
HANDLER = r'''
import json, os

def handler(event, context):
    recs = []
    for r in event["Records"]:
        d = r["dynamodb"]
        img = d.get("NewImage") or {}
        recs.append([d["Keys"]["pk"]["S"], r["eventName"], d["SequenceNumber"],
                     int(img["c"]["N"]) if "c" in img else None, (r.get("userIdentity") or {}).get("type")])
    with open(os.environ["OUT"], "a") as f:
        f.write("\n" + json.dumps(recs) + "\n")
'''


def _deliveries(path: str) -> list[list]:
    """Every record the handler received, in invocation order (repeats included)."""
    if not os.path.exists(path):
        return []
    out: list[list] = []
    with open(path) as f:
        for line in f:
            try:
                out += json.loads(line) if line.strip() else []
            except ValueError:
                continue   # a line cut by kill -9: that invocation is retried after the restart
    return out


class _Counters:
    """Writer threads, each owning a few keys it increments (UpdateItem ADD c 1). Per key: `acked`
    increments the server confirmed, `unsure` ones that were in flight when the server died."""

    def __init__(self, table: str, threads: int = 4, keys_per_thread: int = 3) -> None:
        self.table = table
        self.keys = {t: [f"t{t}-k{i}" for i in range(keys_per_thread)] for t in range(threads)}
        self.acked = {k: 0 for ks in self.keys.values() for k in ks}
        self.unsure = dict.fromkeys(self.acked, 0)
        self.total = 0
        self.lock = threading.Lock()
        self.errors: list[BaseException] = []

    def run(self, url: str, stop: threading.Event) -> list[threading.Thread]:
        def work(keys: list[str]) -> None:
            client = make_client("dynamodb", url, read_timeout=10, connect_timeout=2)
            n = 0
            while not stop.is_set():
                k = keys[n % len(keys)]
                n += 1
                try:
                    client.update_item(TableName=self.table, Key={"pk": {"S": k}}, UpdateExpression="ADD c :one",
                                       ExpressionAttributeValues={":one": {"N": "1"}})
                except (BotoCoreError, ClientError) as e:
                    with self.lock:
                        self.unsure[k] += 1
                        if not stop.is_set() and isinstance(e, ClientError):
                            self.errors.append(e)
                    return  # the server is gone: that one may or may not have committed
                with self.lock:
                    self.acked[k] += 1
                    self.total += 1

        threads = [threading.Thread(target=work, args=(ks,), daemon=True) for ks in self.keys.values()]
        for th in threads:
            th.start()
        return threads


def test_kill9_with_a_trigger_and_ttl_loses_nothing_and_keeps_order(tmp_path):
    out = str(tmp_path / "deliveries.jsonl")
    # no TTL sweep before the crash (the first sweep is an interval after start), a fast one after
    server = ServerProcess(tmp_path / "data", args=["--ttl-interval", "3600"], log_path=tmp_path / "server.log")
    server.start()
    try:
        ddb = make_client("dynamodb", server.url)
        lam = make_client("lambda", server.url)
        ddb.create_table(TableName="orders", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                         AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                         BillingMode="PAY_PER_REQUEST",
                         StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
        ddb.update_time_to_live(TableName="orders", TimeToLiveSpecification={"Enabled": True, "AttributeName": "exp"})
        lam.create_function(FunctionName="recorder", Runtime="python3.12", Role=ROLE, Handler="app.handler",
                            Code={"ZipFile": make_zip({"app.py": HANDLER})}, Timeout=30, Environment={"Variables": {"OUT": out}})
        arn = stream_arn(ddb, "orders")
        lam.create_event_source_mapping(EventSourceArn=arn, FunctionName="recorder", StartingPosition="TRIM_HORIZON",
                                        BatchSize=7)
        expired = [f"ttl-{i}" for i in range(10)]
        for k in expired:
            ddb.put_item(TableName="orders", Item={"pk": {"S": k}, "exp": {"N": str(int(time.time()) - 60)}})

        load = _Counters("orders")
        stop = threading.Event()
        threads = load.run(server.url, stop)
        wait_for(lambda: load.errors or (load.total >= 300 and len(_deliveries(out)) >= 100), timeout=60,
                 message=lambda: f"writes acknowledged and delivered before the kill ({load.total})")
        server.kill9()
        stop.set()
        for th in threads:
            th.join(30)
        assert not load.errors, load.errors[:3]
        before_crash = dict(load.acked)

        server.args = ["--ttl-interval", "0.1"]
        server.start()
        stop = threading.Event()
        threads = load.run(server.url, stop)
        wait_for(lambda: load.errors or load.total >= sum(before_crash.values()) + 200, timeout=60,
                 message="writes acknowledged after the restart")
        stop.set()
        for th in threads:
            th.join(30)
        assert not load.errors, load.errors[:3]

        ddb = make_client("dynamodb", server.url)
        streams = make_client("dynamodbstreams", server.url)
        # TTL: the items that had expired before the crash go after the restart, as service deletes
        wait_for(lambda: not any("Item" in ddb.get_item(TableName="orders", Key={"pk": {"S": k}}, ConsistentRead=True)
                                 for k in expired), timeout=30, message="expired items deleted after the restart")
        records = read_stream(streams, arn)
        removes = [r for r in records if r["eventName"] == "REMOVE"]
        assert sorted(r["dynamodb"]["Keys"]["pk"]["S"] for r in removes) == sorted(expired)
        assert all(r.get("userIdentity") == SERVICE for r in removes), removes[:2]

        # table and stream: exactly one record per committed increment, in order per key
        items = {i["pk"]["S"]: int(i["c"]["N"]) for i in ddb.scan(TableName="orders", ConsistentRead=True)["Items"]}
        assert len({r["eventID"] for r in records}) == len(records)
        for k in load.acked:
            recs = [r for r in records if r["dynamodb"]["Keys"]["pk"]["S"] == k]
            counts = [int(r["dynamodb"]["NewImage"]["c"]["N"]) for r in recs]
            assert counts == list(range(1, len(counts) + 1)), k
            assert [seq(r) for r in recs] == sorted(seq(r) for r in recs), k
            assert items[k] == len(counts), k
            assert load.acked[k] <= items[k] <= load.acked[k] + load.unsure[k], k

        # the trigger: every record at least once, and per partition key never ahead of itself
        want = {r["dynamodb"]["SequenceNumber"] for r in records}
        wait_for(lambda: want <= {d[2] for d in _deliveries(out)}, timeout=60,
                 message=lambda: f"all {len(want)} records delivered "
                                 f"(missing {len(want - {d[2] for d in _deliveries(out)})})")
        got = _deliveries(out)
        by_seq = {r["dynamodb"]["SequenceNumber"]: r for r in records}
        assert {d[2] for d in got} == set(by_seq), "the trigger received a record the stream does not have"
        seen: dict[str, list[int]] = {}
        for key, name, sq, c, who in got:
            r = by_seq[sq]
            assert [key, name] == [r["dynamodb"]["Keys"]["pk"]["S"], r["eventName"]]
            if name == "REMOVE":
                assert who == "Service"
            if key in expired:
                continue
            prior = seen.setdefault(key, [])
            # at-least-once: a redelivery repeats what came before, it never skips ahead
            assert c <= (max(prior) if prior else 0) + 1, f"{key}: {c} delivered after {prior[-5:]}"
            prior.append(c)
        for k in load.acked:
            assert list(dict.fromkeys(seen.get(k, []))) == list(range(1, items[k] + 1)), k
    finally:
        if server.proc is not None:
            server.kill9()


TXN_ITEMS = 4


def test_kill9_under_transactions_leaves_each_wholly_applied_or_not(tmp_path):
    server = ServerProcess(tmp_path / "data", log_path=tmp_path / "server.log")
    server.start()
    try:
        ddb = make_client("dynamodb", server.url)
        ddb.create_table(TableName="txns", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                         AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                               {"AttributeName": "txid", "AttributeType": "S"}],
                         GlobalSecondaryIndexes=[{"IndexName": "bytx",
                                                  "KeySchema": [{"AttributeName": "txid", "KeyType": "HASH"}],
                                                  "Projection": {"ProjectionType": "ALL"}}],
                         BillingMode="PAY_PER_REQUEST",
                         StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"})
        attempted: list[tuple[int, str]] = []
        acked: set[str] = set()
        errors: list[ClientError] = []
        lock = threading.Lock()
        stop = threading.Event()

        def work(t: int) -> None:
            client = make_client("dynamodb", server.url, read_timeout=10, connect_timeout=2)
            i = 0
            while not stop.is_set():
                i += 1
                txid = f"t{t}-{i}"
                with lock:
                    attempted.append((t, txid))
                try:
                    client.transact_write_items(TransactItems=[
                        *({"Put": {"TableName": "txns", "Item": {"pk": {"S": f"{txid}-{j}"}, "txid": {"S": txid}},
                                   "ConditionExpression": "attribute_not_exists(pk)"}} for j in range(TXN_ITEMS)),
                        {"Update": {"TableName": "txns", "Key": {"pk": {"S": f"counter-{t}"}},
                                    "UpdateExpression": "ADD n :one", "ExpressionAttributeValues": {":one": {"N": "1"}}}},
                    ])
                except (BotoCoreError, ClientError) as e:
                    if isinstance(e, ClientError) and not stop.is_set():
                        errors.append(e)
                    return
                with lock:
                    acked.add(txid)

        threads = [threading.Thread(target=work, args=(t,), daemon=True) for t in range(4)]
        for th in threads:
            th.start()
        wait_for(lambda: errors or len(acked) >= 150, timeout=60, message="acknowledged transactions before the kill")
        server.kill9()
        stop.set()
        for th in threads:
            th.join(30)
        assert not errors, errors[:3]
        server.start()

        ddb = make_client("dynamodb", server.url)
        items: dict[str, dict] = {}
        kw: dict[str, Any] = {"TableName": "txns", "ConsistentRead": True}
        while True:
            page = ddb.scan(**kw)
            items.update({i["pk"]["S"]: i for i in page["Items"]})
            if "LastEvaluatedKey" not in page:
                break
            kw["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        committed: dict[int, int] = {}
        for t, txid in attempted:
            present = sum(f"{txid}-{j}" in items for j in range(TXN_ITEMS))
            assert present in (0, TXN_ITEMS), f"transaction {txid} half applied: {present} of {TXN_ITEMS} items"
            assert present or txid not in acked, f"acknowledged transaction {txid} lost"
            if present:
                committed[t] = committed.get(t, 0) + 1
                index = ddb.query(TableName="txns", IndexName="bytx", KeyConditionExpression="txid = :t",
                                  ExpressionAttributeValues={":t": {"S": txid}})
                assert index["Count"] == TXN_ITEMS, f"GSI of {txid}: {index['Items']}"
        for t in range(4):
            have = int(items[f"counter-{t}"]["n"]["N"]) if f"counter-{t}" in items else 0
            assert have == committed.get(t, 0), f"counter {t} says {have}, {committed.get(t, 0)} transactions committed"

        records = read_stream(make_client("dynamodbstreams", server.url), stream_arn(ddb, "txns"))
        streamed = [r["dynamodb"]["Keys"]["pk"]["S"] for r in records]
        assert len(streamed) == (TXN_ITEMS + 1) * sum(committed.values()), "one record per committed change"
        assert set(streamed) == set(items)
        for t in range(4):
            ns = [int(r["dynamodb"]["NewImage"]["n"]["N"]) for r in records
                  if r["dynamodb"]["Keys"]["pk"]["S"] == f"counter-{t}"]
            assert ns == list(range(1, committed.get(t, 0) + 1))
    finally:
        if server.proc is not None:
            server.kill9()
