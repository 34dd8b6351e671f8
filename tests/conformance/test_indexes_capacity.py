"""GSI/LSI behaviour, ReturnConsumedCapacity and ReturnItemCollectionMetrics shapes."""
from __future__ import annotations

import time

import pytest

from conformance.cfutil import raises

V = "ValidationException"


def _n(x):
    return {"N": str(x)}


@pytest.fixture
def it(ddb, mk):
    t = mk("pk", "sk", gsi={"gsik": ("g:S", "gs:N", "KEYS_ONLY"), "gsii": ("g:S", None, ["a"]), "gsia": ("g:S",)},
           lsi={"lsik": ("pk", "l:N", "KEYS_ONLY"), "lsia": ("pk", "l2:N")})
    for i in range(5):
        ddb.put_item(TableName=t, Item={"pk": {"S": "p"}, "sk": {"S": f"s{i}"}, "g": {"S": "G"}, "gs": _n(i),
                                        "l": _n(10 - i), "a": {"S": "A"}, "b": {"S": "B"}})
    ddb.put_item(TableName=t, Item={"pk": {"S": "p"}, "sk": {"S": "sparse"}, "b": {"S": "B"}})
    return t


def test_gsi_keys_only(ddb, it):
    r = ddb.query(TableName=it, IndexName="gsik", KeyConditionExpression="g = :g", ExpressionAttributeValues={":g": {"S": "G"}})
    assert r["Count"] == 5
    assert set(r["Items"][0]) == {"pk", "sk", "g", "gs"}
    assert [i["gs"]["N"] for i in r["Items"]] == ["0", "1", "2", "3", "4"]
    with raises(V, "One or more parameter values were invalid: Select type ALL_ATTRIBUTES is not supported for "
                   "global secondary index gsik because its projection type is not ALL"):
        ddb.query(TableName=it, IndexName="gsik", KeyConditionExpression="g = :g", Select="ALL_ATTRIBUTES",
                  ExpressionAttributeValues={":g": {"S": "G"}})
    r = ddb.query(TableName=it, IndexName="gsik", KeyConditionExpression="g = :g", Select="ALL_PROJECTED_ATTRIBUTES",
                  ExpressionAttributeValues={":g": {"S": "G"}})
    assert set(r["Items"][0]) == {"pk", "sk", "g", "gs"}


def test_gsi_include(ddb, it):
    r = ddb.query(TableName=it, IndexName="gsii", KeyConditionExpression="g = :g", ExpressionAttributeValues={":g": {"S": "G"}})
    assert set(r["Items"][0]) == {"pk", "sk", "g", "a"}


def test_gsi_sparse_scan(ddb, it):
    r = ddb.scan(TableName=it, IndexName="gsia")
    assert r["Count"] == 5 and all(set(i) == {"pk", "sk", "g", "gs", "l", "a", "b"} for i in r["Items"])


def test_index_paging_last_evaluated_key(ddb, it):
    r = ddb.query(TableName=it, IndexName="gsik", KeyConditionExpression="g = :g", Limit=2,
                  ExpressionAttributeValues={":g": {"S": "G"}})
    assert set(r["LastEvaluatedKey"]) == {"pk", "sk", "g", "gs"}
    seen = [i["sk"]["S"] for i in r["Items"]]
    while "LastEvaluatedKey" in r:
        r = ddb.query(TableName=it, IndexName="gsik", KeyConditionExpression="g = :g", Limit=2,
                      ExclusiveStartKey=r["LastEvaluatedKey"], ExpressionAttributeValues={":g": {"S": "G"}})
        seen += [i["sk"]["S"] for i in r["Items"]]
    assert seen == [f"s{i}" for i in range(5)]
    r = ddb.scan(TableName=it, IndexName="lsik", Limit=1)
    assert set(r["LastEvaluatedKey"]) == {"pk", "sk", "l"}


def test_lsi_fetches_all_attributes(ddb, it):
    r = ddb.query(TableName=it, IndexName="lsik", KeyConditionExpression="pk = :p AND l > :z",
                  ExpressionAttributeValues={":p": {"S": "p"}, ":z": _n(0)})
    assert set(r["Items"][0]) == {"pk", "sk", "l"}
    assert [i["l"]["N"] for i in r["Items"]] == ["6", "7", "8", "9", "10"]
    r = ddb.query(TableName=it, IndexName="lsik", KeyConditionExpression="pk = :p", Select="ALL_ATTRIBUTES",
                  ExpressionAttributeValues={":p": {"S": "p"}})
    assert set(r["Items"][0]) == {"pk", "sk", "l", "g", "gs", "a", "b"}
    r = ddb.query(TableName=it, IndexName="lsik", KeyConditionExpression="pk = :p", ProjectionExpression="b",
                  ExpressionAttributeValues={":p": {"S": "p"}})
    assert r["Items"][0] == {"b": {"S": "B"}}


def test_index_errors(ddb, it):
    with raises(V, "The table does not have the specified index: nosuch"):
        ddb.query(TableName=it, IndexName="nosuch", KeyConditionExpression="g = :g",
                  ExpressionAttributeValues={":g": {"S": "G"}})
    with raises(V, "Consistent reads are not supported on global secondary indexes"):
        ddb.query(TableName=it, IndexName="gsik", KeyConditionExpression="g = :g", ConsistentRead=True,
                  ExpressionAttributeValues={":g": {"S": "G"}})
    with raises(V, "The table does not have the specified index: nosuch"):
        ddb.scan(TableName=it, IndexName="nosuch")


def test_consumed_capacity(ddb, mk):
    t = mk(gsi={"gsi": ("g:S",)})
    r = ddb.put_item(TableName=t, Item={"pk": {"S": "a"}, "g": {"S": "x"}}, ReturnConsumedCapacity="TOTAL")
    assert r["ConsumedCapacity"]["TableName"] == t
    assert r["ConsumedCapacity"]["CapacityUnits"] == 2.0  # table + one GSI
    r = ddb.put_item(TableName=t, Item={"pk": {"S": "b"}}, ReturnConsumedCapacity="INDEXES")
    cc = r["ConsumedCapacity"]
    assert cc["CapacityUnits"] == 1.0 and cc["Table"] == {"CapacityUnits": 1.0}
    r = ddb.get_item(TableName=t, Key={"pk": {"S": "a"}}, ReturnConsumedCapacity="TOTAL")
    assert r["ConsumedCapacity"] == {"TableName": t, "CapacityUnits": 0.5}
    r = ddb.get_item(TableName=t, Key={"pk": {"S": "a"}}, ReturnConsumedCapacity="TOTAL", ConsistentRead=True)
    assert r["ConsumedCapacity"] == {"TableName": t, "CapacityUnits": 1.0}
    r = ddb.get_item(TableName=t, Key={"pk": {"S": "a"}}, ReturnConsumedCapacity="NONE")
    assert "ConsumedCapacity" not in r
    r = ddb.query(TableName=t, IndexName="gsi", KeyConditionExpression="g = :g",
                  ExpressionAttributeValues={":g": {"S": "x"}}, ReturnConsumedCapacity="INDEXES")
    cc = r["ConsumedCapacity"]
    assert cc["TableName"] == t and cc["CapacityUnits"] == 0.5
    assert cc["GlobalSecondaryIndexes"] == {"gsi": {"CapacityUnits": 0.5}}
    r = ddb.batch_get_item(RequestItems={t: {"Keys": [{"pk": {"S": "a"}}]}}, ReturnConsumedCapacity="TOTAL")
    assert r["ConsumedCapacity"] == [{"TableName": t, "CapacityUnits": 0.5}]
    r = ddb.batch_write_item(RequestItems={t: [{"PutRequest": {"Item": {"pk": {"S": "c"}}}}]},
                             ReturnConsumedCapacity="TOTAL")
    assert r["ConsumedCapacity"][0]["TableName"] == t
    r = ddb.transact_write_items(TransactItems=[{"Put": {"TableName": t, "Item": {"pk": {"S": "d"}}}}],
                                 ReturnConsumedCapacity="TOTAL")
    assert r["ConsumedCapacity"][0]["TableName"] == t and r["ConsumedCapacity"][0]["CapacityUnits"] >= 2.0
    r = ddb.update_item(TableName=t, Key={"pk": {"S": "e"}}, ReturnConsumedCapacity="TOTAL")
    assert r["ConsumedCapacity"]["CapacityUnits"] == 1.0


def test_item_collection_metrics(ddb, mk):
    t = mk("pk", "sk", lsi={"lsi": ("pk", "l:S")})
    r = ddb.put_item(TableName=t, Item={"pk": {"S": "a"}, "sk": {"S": "1"}}, ReturnItemCollectionMetrics="SIZE")
    m = r["ItemCollectionMetrics"]
    assert m["ItemCollectionKey"] == {"pk": {"S": "a"}}
    assert len(m["SizeEstimateRangeGB"]) == 2
    t2 = mk()
    r = ddb.put_item(TableName=t2, Item={"pk": {"S": "a"}}, ReturnItemCollectionMetrics="SIZE")
    assert "ItemCollectionMetrics" not in r


def test_index_key_values_over_the_key_size_limits_are_rejected(ddb, mk):
    # A secondary-index key attribute has the table key's limits: 2048 bytes hash, 1024 bytes range
    t = mk("pk", gsi={"gsi": ("g:S", "gr:B")}, range_key="sk", lsi={"lsi": ("pk", "l:S")})
    key = {"pk": {"S": "a"}, "sk": {"S": "b"}}
    ddb.put_item(TableName=t, Item={**key, "g": {"S": "\U0001f600" * 512}, "gr": {"B": b"x" * 1024},
                                    "l": {"S": "y" * 1024}})
    hash_msg = "Size of hashkey has exceeded the maximum size limit of2048 bytes"
    range_msg = "Aggregated size of all range keys has exceeded the size limit of 1024 bytes"
    with raises(V, hash_msg):
        ddb.put_item(TableName=t, Item={**key, "g": {"S": "\U0001f600" * 512 + "x"}})
    with raises(V, range_msg):
        ddb.put_item(TableName=t, Item={**key, "g": {"S": "g"}, "gr": {"B": b"x" * 1025}})
    with raises(V, range_msg):
        ddb.update_item(TableName=t, Key=key, UpdateExpression="SET l = :v", ExpressionAttributeValues={":v": {"S": "\u00e9" * 513}})
    with raises(V, hash_msg):
        ddb.batch_write_item(RequestItems={t: [{"PutRequest": {"Item": {**key, "g": {"S": "x" * 2049}}}}]})
    with raises(V, range_msg):
        ddb.transact_write_items(TransactItems=[{"Put": {"TableName": t, "Item": {**key, "l": {"S": "x" * 1025}}}}])
    item = ddb.get_item(TableName=t, Key=key)["Item"]
    assert item["g"] == {"S": "\U0001f600" * 512} and item["l"] == {"S": "y" * 1024}


def test_a_new_gsi_leaves_out_items_whose_key_value_it_cannot_index(ddb, mk):
    # Existing items with a wrong-typed, empty or oversized index key are index key violations: the
    # GSI is created without them
    t = mk()
    good = {"pk": {"S": "ok"}, "g": {"S": "x"}}
    for item in (good, {"pk": {"S": "n"}, "g": {"N": "1"}}, {"pk": {"S": "e"}, "g": {"S": ""}},
                 {"pk": {"S": "big"}, "g": {"S": "y" * 2049}}):
        ddb.put_item(TableName=t, Item=item)
    ddb.update_table(TableName=t, AttributeDefinitions=[{"AttributeName": "g", "AttributeType": "S"}],
                     GlobalSecondaryIndexUpdates=[{"Create": {"IndexName": "gsi", "KeySchema": [
                         {"AttributeName": "g", "KeyType": "HASH"}], "Projection": {"ProjectionType": "ALL"}}}])
    deadline = time.monotonic() + 10
    while ddb.describe_table(TableName=t)["Table"]["GlobalSecondaryIndexes"][0]["IndexStatus"] != "ACTIVE":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert ddb.scan(TableName=t, IndexName="gsi")["Items"] == [good]
    assert ddb.scan(TableName=t)["Count"] == 4


def test_lsi_filter_reads_attributes_the_index_does_not_project(ddb, it):
    # DynamoDB fetches an LSI entry's missing attributes from the table, for the filter too; the
    # items returned keep the index's projection
    q = {"TableName": it, "IndexName": "lsik", "KeyConditionExpression": "pk = :p", "FilterExpression": "a = :a"}
    r = ddb.query(**q, ExpressionAttributeValues={":p": {"S": "p"}, ":a": {"S": "A"}})
    assert r["Count"] == 5 and r["ScannedCount"] == 5
    assert all(set(i) == {"pk", "sk", "l"} for i in r["Items"])
    r = ddb.query(**q, ExpressionAttributeValues={":p": {"S": "p"}, ":a": {"S": "other"}}, Select="COUNT")
    assert r["Count"] == 0 and r["ScannedCount"] == 5
    r = ddb.scan(TableName=it, IndexName="lsik", ScanFilter={"b": {"ComparisonOperator": "EQ",
                                                                   "AttributeValueList": [{"S": "B"}]}})
    assert r["Count"] == 5
