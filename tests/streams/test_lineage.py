"""Shard lineage: scheduled rollover (background and lazily at write time), ParentShardId,
DescribeStream paging and CHILD_SHARDS, key-hash partitions (one item, one shard, in order)."""
from __future__ import annotations

import time

import pytest
from streamutil import all_shards, read_shard, read_stream, seq, stream_arn
from util import client_config, wait_for

import eddydb


def _open(tmp_path, **settings):
    db = eddydb.open(str(tmp_path / "data"), **settings)
    return db, db.client("dynamodb", config=client_config()), db.client("dynamodbstreams", config=client_config())


def _shards_at_least(streams, arn, n):
    def probe():
        shards = all_shards(streams, arn)
        return shards if len(shards) >= n else None
    return wait_for(probe, timeout=10)


def _table(ddb, name="lineage", view="NEW_AND_OLD_IMAGES"):
    ddb.create_table(TableName=name, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                     BillingMode="PAY_PER_REQUEST", StreamSpecification={"StreamEnabled": True, "StreamViewType": view})
    return stream_arn(ddb, name)


@pytest.fixture
def rolling(tmp_path):
    db, ddb, streams = _open(tmp_path, shard_rollover=0.15)
    yield db, ddb, streams
    db.close()


def test_background_rollover_closes_a_shard_and_opens_its_child(rolling):
    _db, ddb, streams = rolling
    arn = _table(ddb)
    ddb.put_item(TableName="lineage", Item={"pk": {"S": "a"}, "v": {"N": "1"}})
    first = all_shards(streams, arn)
    holder = next(s["ShardId"] for s in first if read_shard(streams, arn, s["ShardId"]))
    shards = _shards_at_least(streams, arn, len(first) + 1)
    ids = [s["ShardId"] for s in shards]
    parent, child = shards[ids.index(holder)], shards[ids.index(holder) + 1]
    assert child["ParentShardId"] == parent["ShardId"]
    assert "ParentShardId" not in shards[0]
    prange, crange = parent["SequenceNumberRange"], child["SequenceNumberRange"]
    assert int(prange["StartingSequenceNumber"]) <= int(prange["EndingSequenceNumber"])
    assert int(crange["StartingSequenceNumber"]) > int(prange["EndingSequenceNumber"])
    [rec] = read_shard(streams, arn, parent["ShardId"])
    assert rec["dynamodb"]["SequenceNumber"] == prange["EndingSequenceNumber"]


def test_child_shards_filter_and_paging(rolling):
    _db, ddb, streams = rolling
    arn = _table(ddb)
    shards = _shards_at_least(streams, arn, 3)
    paged, kw = [], {"StreamArn": arn, "Limit": 1}
    while True:
        d = streams.describe_stream(**kw)["StreamDescription"]
        assert len(d["Shards"]) <= 1
        paged += d["Shards"]
        if "LastEvaluatedShardId" not in d:
            break
        kw["ExclusiveStartShardId"] = d["LastEvaluatedShardId"]
    assert [s["ShardId"] for s in paged][:3] == [s["ShardId"] for s in shards[:3]]
    first = shards[0]["ShardId"]
    children = streams.describe_stream(StreamArn=arn, ShardFilter={"Type": "CHILD_SHARDS", "ShardId": first})
    assert [s["ShardId"] for s in children["StreamDescription"]["Shards"]] == [shards[1]["ShardId"]]


def test_reading_lineage_in_order_returns_every_change_once(rolling):
    _db, ddb, streams = rolling
    arn = _table(ddb)
    for i in range(40):
        ddb.update_item(TableName="lineage", Key={"pk": {"S": f"k{i % 3}"}}, UpdateExpression="ADD c :one",
                        ExpressionAttributeValues={":one": {"N": "1"}})
        if i % 10 == 9:
            n = len(all_shards(streams, arn))
            wait_for(lambda n=n: len(all_shards(streams, arn)) > n, timeout=10)
    assert len(all_shards(streams, arn)) >= 4
    records = read_stream(streams, arn)
    assert len(records) == 40 and len({r["eventID"] for r in records}) == 40
    for k in range(3):
        counts = [int(r["dynamodb"]["NewImage"]["c"]["N"]) for r in records if r["dynamodb"]["Keys"]["pk"]["S"] == f"k{k}"]
        assert counts == list(range(1, len(counts) + 1))


def test_rollover_happens_lazily_at_write_time(tmp_path):
    db, ddb, streams = _open(tmp_path, shard_rollover=0.05, background=False)
    try:
        arn = _table(ddb)
        ddb.put_item(TableName="lineage", Item={"pk": {"S": "a"}})
        before = all_shards(streams, arn)  # (a slow machine may already have rolled over once)
        last = before[-1]["ShardId"]
        wait_for(lambda: db.instance.streams.shard(last).created + 0.06 < time.time(), timeout=5)
        assert all_shards(streams, arn) == before  # nothing rolls without a write or the background thread
        ddb.put_item(TableName="lineage", Item={"pk": {"S": "b"}})
        shards = all_shards(streams, arn)
        assert len(shards) == len(before) + 1 and shards[-1]["ParentShardId"] == last
        assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in read_shard(streams, arn, shards[-1]["ShardId"])] == ["b"]
        assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in read_stream(streams, arn)] == ["a", "b"]
    finally:
        db.close()


def test_partitions_keep_each_item_in_one_shard_in_order(tmp_path):
    db, ddb, streams = _open(tmp_path, stream_partitions=4)
    try:
        arn = _table(ddb)
        shards = all_shards(streams, arn)
        assert len(shards) == 4 and all("ParentShardId" not in s for s in shards)
        for rnd in range(5):
            for k in range(12):
                ddb.put_item(TableName="lineage", Item={"pk": {"S": f"k{k}"}, "r": {"N": str(rnd)}})
        per_key: dict[str, set[str]] = {}
        used = 0
        for s in shards:
            recs = read_shard(streams, arn, s["ShardId"])
            used += bool(recs)
            by_key: dict[str, list[int]] = {}
            for r in recs:
                k = r["dynamodb"]["Keys"]["pk"]["S"]
                per_key.setdefault(k, set()).add(s["ShardId"])
                by_key.setdefault(k, []).append(int(r["dynamodb"]["NewImage"]["r"]["N"]))
            assert all(v == list(range(5)) for v in by_key.values())
        assert all(len(v) == 1 for v in per_key.values()) and len(per_key) == 12
        assert used >= 2
    finally:
        db.close()


def test_sequence_numbers_never_go_back_across_restarts(tmp_path):
    db, ddb, streams = _open(tmp_path, stream_retention=None)
    arn = _table(ddb)
    ddb.put_item(TableName="lineage", Item={"pk": {"S": "a"}})
    before = seq(read_stream(streams, arn)[-1])
    db.close()
    db, ddb, streams = _open(tmp_path, stream_retention=None)
    try:
        ddb.put_item(TableName="lineage", Item={"pk": {"S": "b"}})
        records = read_stream(streams, arn)
        assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in records] == ["a", "b"]
        assert seq(records[-1]) > before
    finally:
        db.close()


def test_server_rollover_flag_gives_lineage_over_http(tmp_path):
    from util import ServerProcess, make_client

    with ServerProcess(tmp_path / "srv", args=["--shard-rollover", "0.2s"], log_path=tmp_path / "srv.log") as srv:
        ddb, streams = make_client("dynamodb", srv.url), make_client("dynamodbstreams", srv.url)
        arn = _table(ddb)
        ddb.put_item(TableName="lineage", Item={"pk": {"S": "a"}})
        shards = _shards_at_least(streams, arn, 2)
        ddb.put_item(TableName="lineage", Item={"pk": {"S": "b"}})
        assert shards[1]["ParentShardId"] == shards[0]["ShardId"]
        keys = [r["dynamodb"]["Keys"]["pk"]["S"] for r in read_stream(streams, arn)]
        assert keys == ["a", "b"]
