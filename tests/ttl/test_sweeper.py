"""The TTL sweeper on an embedded database: the conditional delete (a rewrite between the sweep's
decision and its delete wins, also under concurrent writers), the background thread, and the
option hiding expired-but-not-yet-deleted items from reads."""
from __future__ import annotations

import random
import threading
import time

import pytest
from util import wait_for

import eddydb
from eddydb.engine.ttl import FIVE_YEARS, SERVICE_IDENTITY, is_expired, sweep


@pytest.fixture
def db(tmp_path):
    d = eddydb.open(str(tmp_path / "data"), background=False)
    yield d
    d.close()


def _table(client, name: str = "tasks") -> str:
    client.create_table(TableName=name, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                        BillingMode="PAY_PER_REQUEST")
    client.update_time_to_live(TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": "exp"})
    return name


def test_rewrite_between_decision_and_delete_is_not_deleted(db):
    c = db.client("dynamodb")
    t = _table(c)
    now = time.time()
    c.put_item(TableName=t, Item={"pk": {"S": "a"}, "exp": {"N": str(int(now - 10))}, "v": {"N": "1"}})
    c.put_item(TableName=t, Item={"pk": {"S": "b"}, "exp": {"N": str(int(now - 10))}})

    def rewrite() -> None:  # runs after the candidates were read, before the deletes
        c.put_item(TableName=t, Item={"pk": {"S": "a"}, "exp": {"N": str(int(now + 1000))}, "v": {"N": "2"}})

    assert sweep(db.instance.engine, t, now, _after_decision=rewrite) == 1
    item = c.get_item(TableName=t, Key={"pk": {"S": "a"}})["Item"]
    assert item["v"] == {"N": "2"}
    assert "Item" not in c.get_item(TableName=t, Key={"pk": {"S": "b"}})


def test_removing_the_attribute_between_decision_and_delete_wins(db):
    c = db.client("dynamodb")
    t = _table(c)
    now = time.time()
    c.put_item(TableName=t, Item={"pk": {"S": "a"}, "exp": {"N": str(int(now - 10))}})

    def remove_attr() -> None:
        c.update_item(TableName=t, Key={"pk": {"S": "a"}}, UpdateExpression="REMOVE #e",
                      ExpressionAttributeNames={"#e": "exp"})

    assert sweep(db.instance.engine, t, now, _after_decision=remove_attr) == 0
    assert "Item" in c.get_item(TableName=t, Key={"pk": {"S": "a"}})


def test_concurrent_rewrites_race_the_sweeper(db):
    """Every item a writer rewrote with a future expiry exists afterwards; every other one expired."""
    c = db.client("dynamodb")
    t = _table(c)
    now = time.time()
    keys = [f"k{i}" for i in range(300)]
    for k in keys:
        c.put_item(TableName=t, Item={"pk": {"S": k}, "exp": {"N": str(int(now - 5))}})
    rewritten: set[str] = set()
    order = random.Random(7).sample(keys, 150)
    start = threading.Event()

    def writer() -> None:
        start.wait()
        for k in order:
            c.put_item(TableName=t, Item={"pk": {"S": k}, "exp": {"N": str(int(now + 3600))}})
            rewritten.add(k)

    th = threading.Thread(target=writer)
    th.start()
    start.set()
    deleted = 0
    while th.is_alive():
        deleted += sweep(db.instance.engine, t, now)
    th.join()
    deleted += sweep(db.instance.engine, t, now)
    left = {i["pk"]["S"] for i in c.scan(TableName=t, ConsistentRead=True)["Items"]}
    assert left == rewritten
    assert deleted >= len(keys) - len(rewritten)


def test_background_sweeper_expires_within_its_interval(tmp_path):
    d = eddydb.open(str(tmp_path / "bg"), ttl_interval=0.05)
    try:
        c = d.client("dynamodb")
        t = _table(c)
        c.put_item(TableName=t, Item={"pk": {"S": "a"}, "exp": {"N": str(int(time.time()) - 1)}})
        wait_for(lambda: "Item" not in c.get_item(TableName=t, Key={"pk": {"S": "a"}}), timeout=5)
    finally:
        d.close()


def test_ttl_hide_expired_hides_items_from_reads(tmp_path):
    d = eddydb.open(str(tmp_path / "hide"), background=False, ttl_hide_expired=True)
    try:
        c = d.client("dynamodb")
        t = _table(c)
        past = str(int(time.time()) - 60)
        c.put_item(TableName=t, Item={"pk": {"S": "gone"}, "exp": {"N": past}})
        c.put_item(TableName=t, Item={"pk": {"S": "here"}})
        assert "Item" not in c.get_item(TableName=t, Key={"pk": {"S": "gone"}})
        r = c.batch_get_item(RequestItems={t: {"Keys": [{"pk": {"S": "gone"}}, {"pk": {"S": "here"}}]}})
        assert [i["pk"]["S"] for i in r["Responses"][t]] == ["here"]
        r = c.transact_get_items(TransactItems=[{"Get": {"TableName": t, "Key": {"pk": {"S": "gone"}}}}])
        assert r["Responses"] == [{}]
        assert [i["pk"]["S"] for i in c.scan(TableName=t)["Items"]] == ["here"]
        r = c.query(TableName=t, KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "gone"}})
        assert r["Items"] == []
    finally:
        d.close()


def test_expired_items_stay_visible_by_default(db):
    c = db.client("dynamodb")
    t = _table(c)
    c.put_item(TableName=t, Item={"pk": {"S": "a"}, "exp": {"N": str(int(time.time()) - 60)}})
    assert "Item" in c.get_item(TableName=t, Key={"pk": {"S": "a"}})


def test_is_expired_rules(db):
    c = db.client("dynamodb")
    t = _table(c)
    meta = db.instance.engine.table(t)
    now = 2_000_000_000.0
    assert is_expired(meta, {"exp": {"N": str(now)}}, now)
    assert is_expired(meta, {"exp": {"N": str(now - FIVE_YEARS)}}, now)
    assert not is_expired(meta, {"exp": {"N": str(now - FIVE_YEARS - 1)}}, now)
    assert not is_expired(meta, {"exp": {"N": str(now + 1)}}, now)
    assert not is_expired(meta, {"exp": {"S": str(now)}}, now)
    assert not is_expired(meta, {}, now)
    assert SERVICE_IDENTITY == {"type": "Service", "principalId": "dynamodb.amazonaws.com"}


def test_a_trigger_filter_selects_only_ttl_deletes(tmp_path):
    """Expiry is a REMOVE with userIdentity type Service: a filter on it skips user deletes."""
    d = eddydb.open(str(tmp_path / "trig"), background=False)
    try:
        c = d.client("dynamodb")
        c.create_table(TableName="tasks", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                       AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                       BillingMode="PAY_PER_REQUEST",
                       StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
        c.update_time_to_live(TableName="tasks", TimeToLiveSpecification={"Enabled": True, "AttributeName": "exp"})
        seen: list[dict] = []
        lock = threading.Lock()

        def handler(event):
            with lock:
                seen.extend(event["Records"])

        d.on_change("tasks", handler, filters=[{"userIdentity": {"type": ["Service"],
                                                                 "principalId": ["dynamodb.amazonaws.com"]}}])
        now = time.time()
        c.put_item(TableName="tasks", Item={"pk": {"S": "expires"}, "exp": {"N": str(int(now - 5))}})
        c.put_item(TableName="tasks", Item={"pk": {"S": "user"}})
        c.delete_item(TableName="tasks", Key={"pk": {"S": "user"}})
        assert d.ttl_sweep("tasks", now) == 1
        wait_for(lambda: len(seen) >= 1, timeout=10)
        c.put_item(TableName="tasks", Item={"pk": {"S": "marker"}, "exp": {"N": str(int(now - 5))}})
        d.ttl_sweep("tasks", now)
        wait_for(lambda: len(seen) >= 2, timeout=10)
        assert [(r["eventName"], r["dynamodb"]["Keys"]["pk"]["S"]) for r in seen] == [
            ("REMOVE", "expires"), ("REMOVE", "marker")]
        assert seen[0]["userIdentity"] == SERVICE_IDENTITY
        assert seen[0]["dynamodb"]["OldImage"]["pk"] == {"S": "expires"}
    finally:
        d.close()
