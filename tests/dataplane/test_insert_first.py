"""PutItem without a condition on a table with a stream or indexes inserts first and reads the old item
only when the key is taken (engine/items.execute, `insert_item_if_absent`). Both branches must give
the same images, stream records, index entries and TTL expiry as a read-then-write."""
from __future__ import annotations

import time
from typing import Any

from util import table_stream_records

from eddydb.config import Settings
from eddydb.storage import open_store


def test_new_key_then_overwrite_give_insert_and_modify_records(dynamodb_server: Any, streams: Any,
                                                                make_table: Any) -> None:
    ddb = dynamodb_server
    t = make_table(stream="NEW_AND_OLD_IMAGES")
    first = ddb.put_item(TableName=t, Item={"pk": {"S": "a"}, "v": {"N": "1"}}, ReturnValues="ALL_OLD")
    assert "Attributes" not in first
    second = ddb.put_item(TableName=t, Item={"pk": {"S": "a"}, "v": {"N": "2"}}, ReturnValues="ALL_OLD")
    assert second["Attributes"] == {"pk": {"S": "a"}, "v": {"N": "1"}}
    ddb.put_item(TableName=t, Item={"pk": {"S": "a"}, "v": {"N": "2"}})  # identical: no record
    recs = table_stream_records(ddb, streams, t)
    assert [r["eventName"] for r in recs] == ["INSERT", "MODIFY"]
    assert "OldImage" not in recs[0]["dynamodb"]
    assert recs[0]["dynamodb"]["NewImage"] == {"pk": {"S": "a"}, "v": {"N": "1"}}
    assert recs[1]["dynamodb"]["OldImage"] == {"pk": {"S": "a"}, "v": {"N": "1"}}
    assert recs[1]["dynamodb"]["NewImage"] == {"pk": {"S": "a"}, "v": {"N": "2"}}


def test_overwrite_moves_the_index_entry(ddb: Any, make_table: Any) -> None:
    t = make_table(gsi={"byg": ("g:S",)}, client=ddb)
    ddb.put_item(TableName=t, Item={"pk": {"S": "a"}, "g": {"S": "old"}})
    ddb.put_item(TableName=t, Item={"pk": {"S": "a"}, "g": {"S": "new"}})
    by = {g: ddb.query(TableName=t, IndexName="byg", KeyConditionExpression="g = :g",
                       ExpressionAttributeValues={":g": {"S": g}})["Count"] for g in ("old", "new")}
    assert by == {"old": 0, "new": 1}


def test_wrong_index_key_type_writes_nothing(ddb: Any, make_table: Any) -> None:
    from botocore.exceptions import ClientError

    t = make_table(gsi={"byg": ("g:S",)}, client=ddb)
    try:
        ddb.put_item(TableName=t, Item={"pk": {"S": "a"}, "g": {"N": "1"}})
    except ClientError as e:
        assert e.response["Error"]["Code"] == "ValidationException"
    else:
        raise AssertionError("a GSI key of the wrong type was accepted")
    assert "Item" not in ddb.get_item(TableName=t, Key={"pk": {"S": "a"}})


def test_new_item_on_a_ttl_table_with_an_index_expires(eddy_embedded: Any) -> None:
    ddb = eddy_embedded.client("dynamodb")
    ddb.create_table(TableName="ttl-insert-first", BillingMode="PAY_PER_REQUEST",
                     KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                           {"AttributeName": "g", "AttributeType": "S"}],
                     GlobalSecondaryIndexes=[{"IndexName": "byg", "Projection": {"ProjectionType": "ALL"},
                                              "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}]}])
    try:
        ddb.update_time_to_live(TableName="ttl-insert-first",
                                TimeToLiveSpecification={"Enabled": True, "AttributeName": "exp"})
        ddb.put_item(TableName="ttl-insert-first", Item={"pk": {"S": "a"}, "g": {"S": "x"}, "exp": {"N": str(int(time.time()) - 10)}})
        assert eddy_embedded.ttl_sweep(table="ttl-insert-first") == 1
        assert "Item" not in ddb.get_item(TableName="ttl-insert-first", Key={"pk": {"S": "a"}})
        assert ddb.query(TableName="ttl-insert-first", IndexName="byg", KeyConditionExpression="g = :g",
                         ExpressionAttributeValues={":g": {"S": "x"}})["Count"] == 0
    finally:
        ddb.delete_table(TableName="ttl-insert-first")


def test_store_insert_item_if_absent(tmp_path: Any) -> None:
    store = open_store(Settings(data=str(tmp_path)))
    try:
        txn = store.begin_write()
        assert txn.insert_item_if_absent(1, 7, b"k", b"", b"first", None) is True
        assert txn.insert_item_if_absent(1, 7, b"k", b"", b"second", None) is False
        assert txn.get_item(1, 7, b"k", b"") == b"first"
        txn.commit()
    finally:
        store.close()


def test_overwrite_heavy_tables_read_first_and_lean_back(eddy_embedded: Any) -> None:
    """The insert-first choice adapts per table: keys found taken push it to read-first (an insert
    attempt would only add a statement), new keys pull it back; both give the same answers."""
    from eddydb.engine import items as engine_items

    ddb = eddy_embedded.client("dynamodb")
    name = "insert-first-adapts"
    ddb.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                     KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                     StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
    try:
        tid = eddy_embedded.instance.engine.find_table(name).table_id
        for i in range(10):
            ddb.put_item(TableName=name, Item={"pk": {"S": "same"}, "v": {"N": str(i)}})
        assert engine_items._taken[tid] >= engine_items._TAKEN_LIMIT
        old = ddb.put_item(TableName=name, Item={"pk": {"S": "same"}, "v": {"N": "99"}},
                           ReturnValues="ALL_OLD")["Attributes"]
        assert old == {"pk": {"S": "same"}, "v": {"N": "9"}}
        for i in range(20):
            ddb.put_item(TableName=name, Item={"pk": {"S": f"new{i}"}})
        assert engine_items._taken.get(tid, 0) < engine_items._TAKEN_LIMIT
        assert ddb.scan(TableName=name, Select="COUNT")["Count"] == 21
    finally:
        ddb.delete_table(TableName=name)
