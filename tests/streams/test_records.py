"""What lands in a stream: record shape, view types, INSERT/MODIFY/REMOVE, no record for a write
that changes nothing, one record per changed item of batch and transaction writes."""
from __future__ import annotations

import pytest
from botocore.exceptions import ClientError
from streamutil import read_stream, seq, stream_arn

VIEW_TYPES = ["KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES"]


def _records(dynamodb, ddbstreams, name):
    return read_stream(ddbstreams, stream_arn(dynamodb, name))


def test_record_shape(dynamodb, ddbstreams, make_table):
    name = make_table(stream=True)
    dynamodb.put_item(TableName=name, Item={"pk": {"S": "a"}, "v": {"N": "1"}})
    [r] = _records(dynamodb, ddbstreams, name)
    assert set(r) == {"eventID", "eventName", "eventVersion", "eventSource", "awsRegion", "dynamodb"}
    assert r["eventName"] == "INSERT"
    assert r["eventVersion"] == "1.1"
    assert r["eventSource"] == "aws:dynamodb"
    assert r["awsRegion"] == "us-east-1"
    d = r["dynamodb"]
    assert set(d) == {"ApproximateCreationDateTime", "Keys", "NewImage", "SequenceNumber", "SizeBytes",
                      "StreamViewType"}
    assert d["Keys"] == {"pk": {"S": "a"}}
    assert d["NewImage"] == {"pk": {"S": "a"}, "v": {"N": "1"}}
    assert d["SizeBytes"] > 0
    assert d["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    assert d["SequenceNumber"].isdigit() and len(d["SequenceNumber"]) >= 21


def test_event_ids_are_unique(dynamodb, ddbstreams, make_table):
    name = make_table(stream=True)
    for i in range(20):
        dynamodb.put_item(TableName=name, Item={"pk": {"S": f"k{i % 4}"}, "v": {"N": str(i)}})
    ids = [r["eventID"] for r in _records(dynamodb, ddbstreams, name)]
    assert len(ids) == 20 and len(set(ids)) == 20


@pytest.mark.parametrize("view", VIEW_TYPES)
def test_view_type_decides_images(dynamodb, ddbstreams, make_table, view):
    name = make_table(("pk", "S"), ("sk", "N"), stream=view)
    key = {"pk": {"S": "a"}, "sk": {"N": "1"}}
    dynamodb.put_item(TableName=name, Item={**key, "v": {"S": "one"}})
    dynamodb.update_item(TableName=name, Key=key, UpdateExpression="SET v = :v",
                         ExpressionAttributeValues={":v": {"S": "two"}})
    dynamodb.delete_item(TableName=name, Key=key)
    ins, mod, rem = _records(dynamodb, ddbstreams, name)
    assert [ins["eventName"], mod["eventName"], rem["eventName"]] == ["INSERT", "MODIFY", "REMOVE"]
    for r in (ins, mod, rem):
        assert r["dynamodb"]["Keys"] == key
        assert r["dynamodb"]["StreamViewType"] == view
    new = view in ("NEW_IMAGE", "NEW_AND_OLD_IMAGES")
    old = view in ("OLD_IMAGE", "NEW_AND_OLD_IMAGES")
    one, two = {**key, "v": {"S": "one"}}, {**key, "v": {"S": "two"}}
    assert ins["dynamodb"].get("NewImage") == (one if new else None)
    assert "OldImage" not in ins["dynamodb"]
    assert mod["dynamodb"].get("NewImage") == (two if new else None)
    assert mod["dynamodb"].get("OldImage") == (one if old else None)
    assert "NewImage" not in rem["dynamodb"]
    assert rem["dynamodb"].get("OldImage") == (two if old else None)


def test_put_over_existing_item_is_modify(dynamodb, ddbstreams, make_table):
    name = make_table(stream=True)
    dynamodb.put_item(TableName=name, Item={"pk": {"S": "a"}, "v": {"N": "1"}})
    dynamodb.put_item(TableName=name, Item={"pk": {"S": "a"}, "w": {"N": "2"}})
    ins, mod = _records(dynamodb, ddbstreams, name)
    assert (ins["eventName"], mod["eventName"]) == ("INSERT", "MODIFY")
    assert mod["dynamodb"]["OldImage"] == {"pk": {"S": "a"}, "v": {"N": "1"}}
    assert mod["dynamodb"]["NewImage"] == {"pk": {"S": "a"}, "w": {"N": "2"}}


def test_update_creating_an_item_is_insert(dynamodb, ddbstreams, make_table):
    name = make_table(stream=True)
    dynamodb.update_item(TableName=name, Key={"pk": {"S": "a"}}, UpdateExpression="SET v = :v",
                         ExpressionAttributeValues={":v": {"N": "1"}})
    [r] = _records(dynamodb, ddbstreams, name)
    assert r["eventName"] == "INSERT"
    assert r["dynamodb"]["NewImage"] == {"pk": {"S": "a"}, "v": {"N": "1"}}


def test_no_record_for_writes_that_change_nothing(dynamodb, ddbstreams, make_table):
    name = make_table(stream=True)
    item = {"pk": {"S": "a"}, "n": {"N": "1.50"}, "m": {"M": {"x": {"S": "1"}, "y": {"SS": ["p", "q"]}}}}
    dynamodb.put_item(TableName=name, Item=item)
    dynamodb.put_item(TableName=name, Item=item)                                  # same item again
    same = {"pk": {"S": "a"}, "m": {"M": {"y": {"SS": ["q", "p"]}, "x": {"S": "1"}}}, "n": {"N": "1.5"}}
    dynamodb.put_item(TableName=name, Item=same)                                  # equal by value
    dynamodb.update_item(TableName=name, Key={"pk": {"S": "a"}}, UpdateExpression="SET n = :n",
                         ExpressionAttributeValues={":n": {"N": "1.5"}})          # update to same value
    dynamodb.update_item(TableName=name, Key={"pk": {"S": "a"}}, UpdateExpression="REMOVE absent")
    dynamodb.delete_item(TableName=name, Key={"pk": {"S": "missing"}})           # delete of a missing item
    records = _records(dynamodb, ddbstreams, name)
    assert [r["eventName"] for r in records] == ["INSERT"]


def test_failed_conditional_write_emits_no_record(dynamodb, ddbstreams, make_table):
    name = make_table(stream=True)
    dynamodb.put_item(TableName=name, Item={"pk": {"S": "a"}, "v": {"N": "1"}})
    with pytest.raises(ClientError):
        dynamodb.put_item(TableName=name, Item={"pk": {"S": "a"}, "v": {"N": "2"}},
                          ConditionExpression="attribute_not_exists(pk)")
    with pytest.raises(ClientError):
        dynamodb.delete_item(TableName=name, Key={"pk": {"S": "a"}}, ConditionExpression="v = :x",
                             ExpressionAttributeValues={":x": {"N": "9"}})
    assert [r["eventName"] for r in _records(dynamodb, ddbstreams, name)] == ["INSERT"]


def test_changes_of_one_item_are_in_order(dynamodb, ddbstreams, make_table):
    name = make_table(stream=True)
    for i in range(30):
        dynamodb.update_item(TableName=name, Key={"pk": {"S": "a"}}, UpdateExpression="ADD c :one",
                             ExpressionAttributeValues={":one": {"N": "1"}})
    records = _records(dynamodb, ddbstreams, name)
    assert [r["dynamodb"]["NewImage"]["c"]["N"] for r in records] == [str(i) for i in range(1, 31)]
    assert [r["dynamodb"].get("OldImage", {}).get("c", {}).get("N") for r in records] == \
        [None] + [str(i) for i in range(1, 30)]


def test_batch_write_emits_one_record_per_changed_item(dynamodb, ddbstreams, make_table):
    name = make_table(stream=True)
    dynamodb.put_item(TableName=name, Item={"pk": {"S": "same"}, "v": {"N": "1"}})
    dynamodb.put_item(TableName=name, Item={"pk": {"S": "gone"}, "v": {"N": "1"}})
    dynamodb.batch_write_item(RequestItems={name: [
        {"PutRequest": {"Item": {"pk": {"S": "new1"}}}},
        {"PutRequest": {"Item": {"pk": {"S": "new2"}}}},
        {"PutRequest": {"Item": {"pk": {"S": "same"}, "v": {"N": "1"}}}},   # no change
        {"DeleteRequest": {"Key": {"pk": {"S": "gone"}}}},
        {"DeleteRequest": {"Key": {"pk": {"S": "never"}}}},                  # missing: no change
    ]})
    records = _records(dynamodb, ddbstreams, name)[2:]
    got = sorted((r["eventName"], r["dynamodb"]["Keys"]["pk"]["S"]) for r in records)
    assert got == [("INSERT", "new1"), ("INSERT", "new2"), ("REMOVE", "gone")]


def test_transact_write_emits_one_record_per_changed_item(dynamodb, ddbstreams, make_table):
    name = make_table(stream=True)
    dynamodb.put_item(TableName=name, Item={"pk": {"S": "u"}, "v": {"N": "1"}})
    dynamodb.put_item(TableName=name, Item={"pk": {"S": "d"}, "v": {"N": "1"}})
    dynamodb.put_item(TableName=name, Item={"pk": {"S": "c"}, "v": {"N": "1"}})
    dynamodb.transact_write_items(TransactItems=[
        {"Put": {"TableName": name, "Item": {"pk": {"S": "p"}, "v": {"N": "1"}}}},
        {"Update": {"TableName": name, "Key": {"pk": {"S": "u"}}, "UpdateExpression": "SET v = :v",
                    "ExpressionAttributeValues": {":v": {"N": "2"}}}},
        {"Delete": {"TableName": name, "Key": {"pk": {"S": "d"}}}},
        {"ConditionCheck": {"TableName": name, "Key": {"pk": {"S": "c"}}, "ConditionExpression": "attribute_exists(pk)"}},
    ])
    records = _records(dynamodb, ddbstreams, name)[3:]
    got = sorted((r["eventName"], r["dynamodb"]["Keys"]["pk"]["S"]) for r in records)
    assert got == [("INSERT", "p"), ("MODIFY", "u"), ("REMOVE", "d")]


def test_cancelled_transaction_emits_no_record(dynamodb, ddbstreams, make_table):
    name = make_table(stream=True)
    with pytest.raises(ClientError):
        dynamodb.transact_write_items(TransactItems=[
            {"Put": {"TableName": name, "Item": {"pk": {"S": "p"}}}},
            {"ConditionCheck": {"TableName": name, "Key": {"pk": {"S": "nope"}},
                                "ConditionExpression": "attribute_exists(pk)"}},
        ])
    assert _records(dynamodb, ddbstreams, name) == []


def test_sequence_numbers_increase_across_tables(dynamodb, ddbstreams, make_table):
    a, b = make_table(stream=True), make_table(stream=True)
    dynamodb.put_item(TableName=a, Item={"pk": {"S": "1"}})
    dynamodb.put_item(TableName=b, Item={"pk": {"S": "2"}})
    dynamodb.put_item(TableName=a, Item={"pk": {"S": "3"}})
    ra, rb = _records(dynamodb, ddbstreams, a), _records(dynamodb, ddbstreams, b)
    assert seq(ra[0]) < seq(rb[0]) < seq(ra[1])


def test_no_stream_no_records(dynamodb, ddbstreams, make_table):
    name = make_table()
    dynamodb.put_item(TableName=name, Item={"pk": {"S": "1"}})
    assert ddbstreams.list_streams(TableName=name)["Streams"] == []
