"""Crash safety through the public interface: writers load a server that has a data directory,
the server is killed with SIGKILL mid-load, restarted, and every acknowledged write must be
there, intact, with its stream record; nothing may be half-written (no torn items, no batch or
transaction partially applied, no stream record without its write or write without its record)."""
from __future__ import annotations

import hashlib
import threading
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError
from util import ServerProcess, make_client, wait_for

pytestmark = pytest.mark.slow


def _payload(key: str, size: int = 600) -> str:
    """Content derived from the key alone: a torn or mixed-up item cannot match it."""
    seed = hashlib.sha256(key.encode()).hexdigest()
    return (seed * (size // len(seed) + 1))[:size]


def _item(key: str, kind: str) -> dict[str, Any]:
    return {
        "pk": {"S": key},
        "kind": {"S": kind},
        "payload": {"S": _payload(key)},
        "n": {"N": str(len(key))},
        "tags": {"SS": [key, "x" + key]},
        "nested": {"M": {"k": {"S": key}, "l": {"L": [{"N": "1"}, {"S": _payload(key, 40)}]}}},
    }


class _Load:
    """Writer threads doing PutItem, BatchWriteItem (25 items) and TransactWriteItems (pairs)."""

    def __init__(self, url: str, table: str, prefix: str, threads: int = 6) -> None:
        self.url, self.table, self.prefix = url, table, prefix
        self.acked: set[str] = set()
        self.acked_pairs: list[tuple[str, str]] = []
        self.attempted_pairs: list[tuple[str, str]] = []
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._run, args=(t,), daemon=True) for t in range(threads)]
        self.unexpected: list[BaseException] = []

    def start(self) -> None:
        for t in self.threads:
            t.start()

    def join(self) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(60)

    def _run(self, tid: int) -> None:
        client = make_client("dynamodb", self.url, read_timeout=10, connect_timeout=2)
        i = 0
        while not self.stop.is_set():
            i += 1
            base = f"{self.prefix}w{tid}-{i}"
            kind = ("put", "put", "batch", "txn")[i % 4]
            try:
                if kind == "put":
                    client.put_item(TableName=self.table, Item=_item(base, "put"))
                    keys = [base]
                elif kind == "batch":
                    keys = [f"{base}-b{j}" for j in range(25)]
                    resp = client.batch_write_item(RequestItems={self.table: [
                        {"PutRequest": {"Item": _item(k, "batch")}} for k in keys]})
                    unprocessed = resp.get("UnprocessedItems", {}).get(self.table, [])
                    left = {r["PutRequest"]["Item"]["pk"]["S"] for r in unprocessed}
                    keys = [k for k in keys if k not in left]
                else:
                    a, b = f"{base}-ta", f"{base}-tb"
                    with self.lock:
                        self.attempted_pairs.append((a, b))
                    client.transact_write_items(TransactItems=[
                        {"Put": {"TableName": self.table, "Item": _item(a, "txn"),
                                 "ConditionExpression": "attribute_not_exists(pk)"}},
                        {"Put": {"TableName": self.table, "Item": _item(b, "txn")}},
                    ])
                    keys = [a, b]
                    with self.lock:
                        self.acked_pairs.append((a, b))
            except ClientError as e:
                if not self.stop.is_set():
                    self.unexpected.append(e)
                return
            except Exception:  # noqa: BLE001 - connection refused/reset: the server was killed
                return
            with self.lock:
                self.acked.update(keys)


def _read_all_stream_keys(streams: Any, table_desc: dict) -> list[str]:
    arn = table_desc["LatestStreamArn"]
    keys: list[str] = []
    desc = streams.describe_stream(StreamArn=arn)["StreamDescription"]
    shards = list(desc["Shards"])
    while desc.get("LastEvaluatedShardId"):
        desc = streams.describe_stream(StreamArn=arn, ExclusiveStartShardId=desc["LastEvaluatedShardId"])[
            "StreamDescription"]
        shards += desc["Shards"]
    for shard in shards:
        it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"],
                                        ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        while it:
            resp = streams.get_records(ShardIterator=it, Limit=1000)
            for rec in resp["Records"]:
                assert rec["eventName"] == "INSERT", rec
                keys.append(rec["dynamodb"]["Keys"]["pk"]["S"])
            if not resp["Records"] and "EndingSequenceNumber" not in shard["SequenceNumberRange"]:
                break  # open shard, caught up
            it = resp.get("NextShardIterator")
    return keys


def _scan_all(client: Any, table: str) -> dict[str, dict]:
    items: dict[str, dict] = {}
    kwargs: dict[str, Any] = {"TableName": table, "ConsistentRead": True}
    while True:
        resp = client.scan(**kwargs)
        for it in resp["Items"]:
            items[it["pk"]["S"]] = it
        if "LastEvaluatedKey" not in resp:
            return items
        kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]


def _norm(item: dict) -> dict:
    out = dict(item)
    out["tags"] = {"SS": sorted(item["tags"]["SS"])}
    return out


@pytest.mark.parametrize("rounds", [2])
def test_acknowledged_writes_survive_kill_9(tmp_path, rounds):
    srv = ServerProcess(tmp_path / "data")
    srv.start()
    try:
        client = make_client("dynamodb", srv.url)
        table = "crash"
        client.create_table(TableName=table, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                            BillingMode="PAY_PER_REQUEST",
                            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"})
        acked: set[str] = set()
        pairs_acked: list[tuple[str, str]] = []
        pairs_attempted: list[tuple[str, str]] = []
        for r in range(rounds):
            load = _Load(srv.url, table, prefix=f"r{r}")
            load.start()
            wait_for(lambda load=load: load.unexpected or len(load.acked) >= 400, timeout=60,
                     message="400 acknowledged writes before the kill")
            assert not load.unexpected, load.unexpected[:3]
            time.sleep(0.05)
            srv.kill9()
            load.join()
            assert not load.unexpected, load.unexpected[:3]
            acked |= load.acked
            pairs_acked += load.acked_pairs
            pairs_attempted += load.attempted_pairs
            srv.start()

        client = make_client("dynamodb", srv.url)
        items = _scan_all(client, table)
        missing = acked - items.keys()
        assert not missing, f"{len(missing)} acknowledged writes lost, e.g. {sorted(missing)[:5]}"
        for key, item in items.items():  # intact: every stored item is exactly what some writer sent
            assert _norm(item) == _norm(_item(key, item["kind"]["S"])), f"torn item {key}"
        for a, b in pairs_attempted:  # transactions: all or nothing, acknowledged or not
            assert (a in items) == (b in items), f"half-applied transaction {a}/{b}"
        for a, b in pairs_acked:
            assert a in items and b in items
        for key in list(acked)[:50]:
            got = client.get_item(TableName=table, Key={"pk": {"S": key}}, ConsistentRead=True)["Item"]
            assert got["payload"]["S"] == _payload(key)

        # the stream has exactly one INSERT per stored item: no record without its write, no write without its record
        desc = client.describe_table(TableName=table)["Table"]
        streams = make_client("dynamodbstreams", srv.url)
        stream_keys = _read_all_stream_keys(streams, desc)
        assert len(stream_keys) == len(set(stream_keys)), "duplicate stream records"
        assert set(stream_keys) == set(items), (
            f"records without writes: {sorted(set(stream_keys) - set(items))[:5]}, "
            f"writes without records: {sorted(set(items) - set(stream_keys))[:5]}")
    finally:
        srv.kill9()



def test_sigterm_under_load_finishes_in_flight_requests_and_keeps_them(tmp_path):
    srv = ServerProcess(tmp_path / "data")
    srv.start()
    try:
        client = make_client("dynamodb", srv.url)
        client.create_table(TableName="graceful", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                            BillingMode="PAY_PER_REQUEST")
        load = _Load(srv.url, "graceful", prefix="g")
        load.start()
        wait_for(lambda: load.unexpected or len(load.acked) >= 200, timeout=60, message="200 acknowledged writes")
        code = srv.stop(timeout=60)  # SIGTERM: clean exit while writers are still sending
        assert code == 0, f"exit code {code}:\n{srv.log_tail()}"
        load.join()
        assert not load.unexpected, (load.unexpected[:3], srv.log_tail())
        srv.start()
        items = _scan_all(make_client("dynamodb", srv.url), "graceful")
        assert not load.acked - items.keys()
        for a, b in load.attempted_pairs:
            assert (a in items) == (b in items)
    finally:
        srv.kill9()
