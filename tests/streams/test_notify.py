"""The engine-side reader interface the trigger layer builds on: push subscription (woken right
after the commit that appended), blocking wait, and `read` of StreamRecords."""
from __future__ import annotations

import threading

import pytest
from streamutil import stream_arn
from util import client_config, wait_for

import eddydb
from eddydb.model.errors import TrimmedDataAccessException


@pytest.fixture
def db(tmp_path):
    d = eddydb.open(str(tmp_path / "data"))
    yield d
    d.close()


def _table(db):
    ddb = db.client("dynamodb", config=client_config())
    ddb.create_table(TableName="notify", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                     BillingMode="PAY_PER_REQUEST",
                     StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
    return ddb, stream_arn(ddb, "notify")


def test_subscriber_is_called_with_the_shard_that_grew(db):
    ddb, arn = _table(db)
    svc = db.instance.streams
    [shard] = svc.shards(arn)
    seen: list[set[str]] = []
    unsubscribe = svc.subscribe(seen.append)
    ddb.put_item(TableName="notify", Item={"pk": {"S": "a"}})
    # The callback runs on the writer thread before the write is acknowledged to others; poll briefly.
    wait_for(lambda: any(shard.shard_id in s for s in seen), timeout=5)
    unsubscribe()
    n = len(seen)
    ddb.put_item(TableName="notify", Item={"pk": {"S": "b"}})
    assert len(seen) == n


def test_no_notification_for_a_write_that_changed_nothing(db):
    ddb, _arn = _table(db)
    ddb.put_item(TableName="notify", Item={"pk": {"S": "a"}})
    seen: list[set[str]] = []
    db.instance.streams.subscribe(seen.append)
    ddb.put_item(TableName="notify", Item={"pk": {"S": "a"}})
    ddb.put_item(TableName="notify", Item={"pk": {"S": "b"}})
    wait_for(lambda: seen, timeout=5)
    assert len(seen) == 1


def test_wait_wakes_on_a_write(db):
    ddb, _arn = _table(db)
    svc = db.instance.streams
    gen = svc.generation()
    woke = threading.Event()

    def waiter():
        svc.wait(gen, timeout=10)
        woke.set()

    t = threading.Thread(target=waiter)
    t.start()
    ddb.put_item(TableName="notify", Item={"pk": {"S": "a"}})
    assert woke.wait(5)
    t.join()


def test_read_returns_stream_records_after_a_position(db):
    ddb, arn = _table(db)
    svc = db.instance.streams
    [shard] = svc.shards(arn)
    for i in range(5):
        ddb.put_item(TableName="notify", Item={"pk": {"S": f"k{i}"}})
    records = svc.read(shard.shard_id, None, 100)
    assert [r.record["dynamodb"]["Keys"]["pk"]["S"] for r in records] == [f"k{i}" for i in range(5)]
    assert all("eventSourceARN" not in r.record for r in records)
    assert [str(10**20 + r.seq) for r in records] == [r.record["dynamodb"]["SequenceNumber"] for r in records]
    rest = svc.read(shard.shard_id, records[1].seq, 2)
    assert [r.seq for r in rest] == [records[2].seq, records[3].seq]
    assert svc.read(shard.shard_id, records[-1].seq, 10) == []
    assert svc.latest_seq(shard.shard_id) == records[-1].seq


def test_read_before_the_horizon_is_trimmed(tmp_path):
    d = eddydb.open(str(tmp_path / "data"), stream_retention=0.2)
    try:
        ddb, arn = _table(d)
        svc = d.instance.streams
        [shard] = svc.shards(arn)
        ddb.put_item(TableName="notify", Item={"pk": {"S": "a"}})
        wait_for(lambda: svc.read(shard.shard_id, None, 10) == [], timeout=10)
        with pytest.raises(TrimmedDataAccessException):
            svc.read(shard.shard_id, shard.start_seq - 1, 10)
    finally:
        d.close()
