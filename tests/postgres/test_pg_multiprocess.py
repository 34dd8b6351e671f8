"""Several `eddydb serve` processes over one PostgreSQL schema, driven through boto3 as users do.

- 4 servers, clients writing through all of them, one server killed mid-way: afterwards no
  acknowledged write is missing and the stream holds exactly one record per change, in order
  per item, with unique increasing sequence numbers.
- many processes, one counter item, conditional increments: no lost update.
- transfers between accounts with TransactWriteItems through every process: the total is kept.
"""
from __future__ import annotations

import io
import json
import random
import threading
import zipfile
from collections.abc import Iterator
from typing import Any

import harness
import pytest
from botocore.exceptions import ClientError
from util import ServerProcess, make_client, wait_for

N_SERVERS = 4

_HANDLER = r'''
import json, os

def handler(event, context):
    recs = event.get("Records", [])
    line = {"pid": os.getpid(), "recs": [[r["dynamodb"]["Keys"]["pk"]["S"], int(r["dynamodb"]["NewImage"]["v"]["N"])]
                                         for r in recs]}
    with open(os.environ["OUT"], "a") as f:
        f.write("\n" + json.dumps(line) + "\n")
    return {}
'''


def _zip(files: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, text in files.items():
            z.writestr(name, text)
    return buf.getvalue()


def _delivered(path: str) -> set[tuple[str, int]]:
    try:
        with open(path) as f:
            lines = [json.loads(x) for x in f if x.strip()]
    except FileNotFoundError:
        return set()
    return {(k, v) for line in lines for k, v in line["recs"]}


@pytest.fixture(scope="module")
def _servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[ServerProcess]]:
    url = harness.fresh_store_url("mp")
    procs = []
    try:
        for i in range(N_SERVERS):
            base = tmp_path_factory.mktemp(f"pg-mp-{i}")
            procs.append(ServerProcess(base / "data", env={"EDDYDB_STORE": url}, log_path=base / "server.log",
                                       args=["--stream-partitions", "4"]))
        threads = [threading.Thread(target=p.start) for p in procs]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for p in procs:
            assert p.proc is not None, "a server did not start"
        yield procs
    finally:
        for p in procs:
            if p.proc is not None:
                try:
                    p.stop()
                except AssertionError:
                    p.kill9()


@pytest.fixture
def servers(_servers: list[ServerProcess]) -> list[ServerProcess]:
    """The module's 4 servers on one schema, any killed one started again."""
    for p in _servers:
        if p.proc is None or p.proc.poll() is not None:
            p.proc = None
            p.start()
    return _servers


def _clients(servers: list[ServerProcess], service: str = "dynamodb") -> list[Any]:
    return [make_client(service, s.url, connect_timeout=2, read_timeout=20) for s in servers]


def _create(client: Any, name: str, stream: bool = False) -> None:
    kw: dict[str, Any] = {}
    if stream:
        kw["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    client.create_table(TableName=name, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                        BillingMode="PAY_PER_REQUEST", **kw)


def _read_stream(streams: Any, arn: str) -> list[dict]:
    """Every record of every shard (parents first), checking seq order within each shard."""
    out: list[dict] = []
    shards = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]
    for sh in shards:
        it = streams.get_shard_iterator(StreamArn=arn, ShardId=sh["ShardId"],
                                        ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        last = -1
        while it:
            resp = streams.get_records(ShardIterator=it, Limit=1000)
            for r in resp["Records"]:
                seq = int(r["dynamodb"]["SequenceNumber"])
                assert seq > last, "sequence numbers must increase within a shard"
                last = seq
                out.append(r)
            if not resp["Records"]:
                break
            it = resp.get("NextShardIterator")
    return out


def test_four_servers_one_killed_no_acknowledged_write_lost(servers: list[ServerProcess], tmp_path: Any) -> None:
    clients = _clients(servers)
    table = "mp-writes"
    _create(clients[0], table, stream=True)
    for c in clients:   # every process sees the new table (catalog version check)
        wait_for(lambda c=c: c.describe_table(TableName=table)["Table"]["TableStatus"] == "ACTIVE", 10)
    # a trigger on the stream: its 4 shards' leases spread over the processes
    out = str(tmp_path / "delivered.jsonl")
    lam = make_client("lambda", servers[1].url)
    lam.create_function(FunctionName="mp-recorder", Runtime="python3.12", Handler="app.handler",
                        Role="arn:aws:iam::000000000000:role/eddydb-test", Code={"ZipFile": _zip({"app.py": _HANDLER})},
                        Environment={"Variables": {"OUT": out}}, Timeout=30)
    arn = clients[0].describe_table(TableName=table)["Table"]["LatestStreamArn"]
    lam.create_event_source_mapping(EventSourceArn=arn, FunctionName="mp-recorder", StartingPosition="TRIM_HORIZON",
                                    BatchSize=100)

    n_threads, items_per_thread, versions = 8, 3, 12
    acked: dict[str, int] = {}
    errors: list[BaseException] = []
    killed = threading.Event()
    progress = [0]
    lock = threading.Lock()
    alive = list(range(N_SERVERS))

    def writer(t: int) -> None:
        rnd = random.Random(t)
        try:
            for v in range(1, versions + 1):
                for j in range(items_per_thread):
                    key = f"item-{t}-{j}"
                    for _attempt in range(40):
                        idx = rnd.choice(alive)
                        try:
                            # the same item on a retry: a retried write that had committed changes nothing
                            clients[idx].put_item(TableName=table, Item={"pk": {"S": key}, "v": {"N": str(v)}})
                        except Exception:  # noqa: BLE001, S112 - the killed server: unknown outcome, retry elsewhere
                            continue
                        with lock:
                            acked[key] = v
                            progress[0] += 1
                        break
                    else:
                        raise AssertionError(f"{key} v{v} never acknowledged")
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=writer, args=(t,)) for t in range(n_threads)]
    for th in threads:
        th.start()
    total = n_threads * items_per_thread * versions
    wait_for(lambda: progress[0] >= total // 3 or errors, 60)
    servers[3].kill9()            # mid-way, with requests in flight
    alive.remove(3)
    killed.set()
    for th in threads:
        th.join(120)
    assert not errors, errors[0]
    assert len(acked) == n_threads * items_per_thread

    # no acknowledged write missing, whichever surviving process is asked
    for i, c in enumerate(clients[:3]):
        for key, v in acked.items():
            item = c.get_item(TableName=table, Key={"pk": {"S": key}}, ConsistentRead=True)["Item"]
            assert int(item["v"]["N"]) == v == versions, (i, key)

    # exactly one stream record per change, in order per item, INSERT then MODIFYs
    streams = make_client("dynamodbstreams", servers[0].url)
    arn = clients[0].describe_table(TableName=table)["Table"]["LatestStreamArn"]
    records = _read_stream(streams, arn)
    seqs = [int(r["dynamodb"]["SequenceNumber"]) for r in records]
    assert len(set(seqs)) == len(seqs)
    per_item: dict[str, list[int]] = {}
    for r in records:
        key = r["dynamodb"]["Keys"]["pk"]["S"]
        per_item.setdefault(key, []).append(int(r["dynamodb"]["NewImage"]["v"]["N"]))
        expect = "INSERT" if len(per_item[key]) == 1 else "MODIFY"
        assert r["eventName"] == expect, (key, per_item[key], r["eventName"])
    assert set(per_item) == set(acked)
    for key, vs in per_item.items():
        assert vs == list(range(1, versions + 1)), (key, vs)
    assert len(records) == total

    # every change reached the trigger (at least once; the killed process's shards failed over)
    want = {(k, v) for k in acked for v in range(1, versions + 1)}
    wait_for(lambda: want <= _delivered(out), 60,
             message=lambda: f"all changes delivered; missing {sorted(want - _delivered(out))[:10]}")


def test_counter_many_processes_no_lost_update(servers: list[ServerProcess]) -> None:
    clients = _clients(servers)
    table = "mp-counter"
    _create(clients[0], table)
    clients[0].put_item(TableName=table, Item={"pk": {"S": "c"}, "n": {"N": "0"}})
    per_thread, n_threads = 15, 8
    done = [0]
    errors: list[BaseException] = []
    lock = threading.Lock()

    def bump(t: int) -> None:
        c = clients[t % N_SERVERS]
        try:
            for _ in range(per_thread):
                while True:
                    cur = c.get_item(TableName=table, Key={"pk": {"S": "c"}}, ConsistentRead=True)["Item"]["n"]["N"]
                    try:
                        c.put_item(TableName=table, Item={"pk": {"S": "c"}, "n": {"N": str(int(cur) + 1)}},
                                   ConditionExpression="n = :old", ExpressionAttributeValues={":old": {"N": cur}})
                    except ClientError as e:
                        if e.response["Error"]["Code"] == "ConditionalCheckFailedException":
                            continue
                        raise
                    with lock:
                        done[0] += 1
                    break
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=bump, args=(t,)) for t in range(n_threads)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(120)
    assert not errors, errors[0]
    assert done[0] == per_thread * n_threads
    for c in clients:
        n = c.get_item(TableName=table, Key={"pk": {"S": "c"}}, ConsistentRead=True)["Item"]["n"]["N"]
        assert int(n) == per_thread * n_threads
    # and UpdateItem ADD through every process at once
    def add(t: int) -> None:
        for _ in range(10):
            clients[t % N_SERVERS].update_item(TableName=table, Key={"pk": {"S": "a"}},
                                               UpdateExpression="ADD n :one",
                                               ExpressionAttributeValues={":one": {"N": "1"}})
    threads = [threading.Thread(target=add, args=(t,)) for t in range(n_threads)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    n = clients[1].get_item(TableName=table, Key={"pk": {"S": "a"}}, ConsistentRead=True)["Item"]["n"]["N"]
    assert int(n) == 10 * n_threads


def test_transfers_across_processes_keep_the_total(servers: list[ServerProcess]) -> None:
    clients = _clients(servers)
    table = "mp-accounts"
    _create(clients[0], table)
    accounts = [f"acct-{i}" for i in range(5)]
    for a in accounts:
        clients[0].put_item(TableName=table, Item={"pk": {"S": a}, "bal": {"N": "100"}})
    errors: list[BaseException] = []

    def transfer(t: int) -> None:
        rnd = random.Random(t)
        c = clients[t % N_SERVERS]
        try:
            for _ in range(15):
                src, dst = rnd.sample(accounts, 2)
                try:
                    c.transact_write_items(TransactItems=[
                        {"Update": {"TableName": table, "Key": {"pk": {"S": src}},
                                    "UpdateExpression": "SET bal = bal - :x", "ConditionExpression": "bal >= :x",
                                    "ExpressionAttributeValues": {":x": {"N": "7"}}}},
                        {"Update": {"TableName": table, "Key": {"pk": {"S": dst}},
                                    "UpdateExpression": "SET bal = bal + :x",
                                    "ExpressionAttributeValues": {":x": {"N": "7"}}}},
                    ])
                except ClientError as e:
                    if e.response["Error"]["Code"] not in ("TransactionCanceledException",
                                                           "TransactionConflictException"):
                        raise
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=transfer, args=(t,)) for t in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(120)
    assert not errors, errors[0]
    items = clients[2].scan(TableName=table, ConsistentRead=True)["Items"]
    bals = [int(i["bal"]["N"]) for i in items]
    assert sum(bals) == 500 and min(bals) >= 0
