"""BatchGetItem and BatchWriteItem through boto3: results, limits, duplicate keys, projections,
all-or-nothing validation, consumed capacity."""
from __future__ import annotations

import pytest
from botocore.exceptions import ClientError


def _err(exc: pytest.ExceptionInfo) -> tuple[str, str]:
    e = exc.value.response["Error"]
    return e["Code"], e["Message"]


def _put(name: str, pk: str, **attrs: dict) -> dict:
    return {"PutRequest": {"Item": {"pk": {"S": pk}, **attrs}}}


def _key(pk: str) -> dict:
    return {"pk": {"S": pk}}


def test_batch_write_puts_and_deletes_then_batch_get_reads_them(ddb, make_table):
    a = make_table()
    b = make_table(("pk", "S"), ("sk", "N"))
    ddb.put_item(TableName=a, Item={"pk": {"S": "old"}})
    r = ddb.batch_write_item(RequestItems={
        a: [_put(a, "x", v={"N": "1"}), _put(a, "y"), {"DeleteRequest": {"Key": _key("old")}}],
        b: [{"PutRequest": {"Item": {"pk": {"S": "p"}, "sk": {"N": "1"}}}}],
    })
    assert r["UnprocessedItems"] == {}
    r = ddb.batch_get_item(RequestItems={
        a: {"Keys": [_key("x"), _key("y"), _key("old")]},
        b: {"Keys": [{"pk": {"S": "p"}, "sk": {"N": "1"}}]},
    })
    assert r["UnprocessedKeys"] == {}
    got = sorted(i["pk"]["S"] for i in r["Responses"][a])
    assert got == ["x", "y"]
    assert r["Responses"][b] == [{"pk": {"S": "p"}, "sk": {"N": "1"}}]


def test_batch_get_projection_and_consistent_read(ddb, make_table):
    t = make_table()
    ddb.put_item(TableName=t, Item={"pk": {"S": "a"}, "x": {"S": "1"}, "y": {"S": "2"}})
    r = ddb.batch_get_item(RequestItems={t: {"Keys": [_key("a")], "ProjectionExpression": "#x",
                                             "ExpressionAttributeNames": {"#x": "x"}, "ConsistentRead": True}})
    assert r["Responses"][t] == [{"x": {"S": "1"}}]
    r = ddb.batch_get_item(RequestItems={t: {"Keys": [_key("a")], "AttributesToGet": ["y"]}})
    assert r["Responses"][t] == [{"y": {"S": "2"}}]


def test_batch_write_more_than_25_across_tables(ddb, make_table):
    a, b = make_table(), make_table()
    with pytest.raises(ClientError) as exc:
        ddb.batch_write_item(RequestItems={a: [_put(a, f"k{i}") for i in range(13)],
                                           b: [_put(b, f"k{i}") for i in range(13)]})
    assert _err(exc) == ("ValidationException", "Too many items requested for the BatchWriteItem call")


def test_batch_write_more_than_25_in_one_table(ddb, make_table):
    a = make_table()
    with pytest.raises(ClientError) as exc:
        ddb.batch_write_item(RequestItems={a: [_put(a, f"k{i}") for i in range(26)]})
    code, msg = _err(exc)
    assert code == "ValidationException" and "less than or equal to 25" in msg


def test_batch_write_duplicate_keys(ddb, make_table):
    a = make_table()
    with pytest.raises(ClientError) as exc:
        ddb.batch_write_item(RequestItems={a: [_put(a, "k"), {"DeleteRequest": {"Key": _key("k")}}]})
    assert _err(exc) == ("ValidationException", "Provided list of item keys contains duplicates")


def test_batch_write_is_all_or_nothing_on_invalid_item(ddb, make_table):
    a = make_table()
    with pytest.raises(ClientError) as exc:
        ddb.batch_write_item(RequestItems={a: [_put(a, "good"), {"PutRequest": {"Item": {"pk": {"N": "1"}}}}]})
    assert _err(exc)[0] == "ValidationException"
    assert "Item" not in ddb.get_item(TableName=a, Key=_key("good"))


def test_batch_write_index_key_type_mismatch_writes_nothing(ddb, make_table):
    a = make_table(gsi={"byg": ("g:S",)})
    with pytest.raises(ClientError) as exc:
        ddb.batch_write_item(RequestItems={a: [_put(a, "good"), _put(a, "bad", g={"N": "1"})]})
    assert _err(exc)[0] == "ValidationException"
    assert "Item" not in ddb.get_item(TableName=a, Key=_key("good"))


def test_batch_write_missing_table(ddb):
    with pytest.raises(ClientError) as exc:
        ddb.batch_write_item(RequestItems={"no-such-table-xyz": [_put("t", "k")]})
    assert _err(exc)[0] == "ResourceNotFoundException"


def test_batch_write_empty_request(ddb):
    with pytest.raises(ClientError) as exc:
        ddb.batch_write_item(RequestItems={})
    assert _err(exc)[0] == "ValidationException"


def test_batch_write_request_needs_exactly_one_action(ddb, make_table):
    a = make_table()
    with pytest.raises(ClientError) as exc:
        ddb.batch_write_item(RequestItems={a: [{"PutRequest": {"Item": {"pk": {"S": "a"}}},
                                                "DeleteRequest": {"Key": _key("a")}}]})
    assert _err(exc)[0] == "ValidationException"


def test_batch_get_more_than_100_keys(ddb, make_table):
    a, b = make_table(), make_table()
    with pytest.raises(ClientError) as exc:
        ddb.batch_get_item(RequestItems={a: {"Keys": [_key(f"k{i}") for i in range(60)]},
                                         b: {"Keys": [_key(f"k{i}") for i in range(41)]}})
    assert _err(exc) == ("ValidationException", "Too many items requested for the BatchGetItem call")


def test_batch_get_more_than_100_keys_in_one_table(ddb, make_table):
    a = make_table()
    with pytest.raises(ClientError) as exc:
        ddb.batch_get_item(RequestItems={a: {"Keys": [_key(f"k{i}") for i in range(101)]}})
    code, msg = _err(exc)
    assert code == "ValidationException" and "less than or equal to 100" in msg


def test_batch_get_duplicate_keys(ddb, make_table):
    a = make_table(("pk", "S"), ("sk", "N"))
    with pytest.raises(ClientError) as exc:
        # 1 and 1.0 are the same number, so the same key
        ddb.batch_get_item(RequestItems={a: {"Keys": [{"pk": {"S": "a"}, "sk": {"N": "1"}},
                                                      {"pk": {"S": "a"}, "sk": {"N": "1.0"}}]}})
    assert _err(exc) == ("ValidationException", "Provided list of item keys contains duplicates")


def test_batch_get_bad_key(ddb, make_table):
    a = make_table()
    with pytest.raises(ClientError) as exc:
        ddb.batch_get_item(RequestItems={a: {"Keys": [{"nope": {"S": "a"}}]}})
    assert _err(exc) == ("ValidationException", "The provided key element does not match the schema")


def test_batch_get_missing_table(ddb):
    with pytest.raises(ClientError) as exc:
        ddb.batch_get_item(RequestItems={"no-such-table-xyz": {"Keys": [_key("a")]}})
    assert _err(exc)[0] == "ResourceNotFoundException"


def test_batch_write_consumed_capacity(ddb, make_table):
    a = make_table()
    r = ddb.batch_write_item(RequestItems={a: [_put(a, "x"), _put(a, "y")]}, ReturnConsumedCapacity="TOTAL")
    (cc,) = r["ConsumedCapacity"]
    assert cc["TableName"] == a and cc["CapacityUnits"] == 2.0


def test_batch_get_consumed_capacity(ddb, make_table):
    a = make_table()
    ddb.put_item(TableName=a, Item={"pk": {"S": "x"}})
    r = ddb.batch_get_item(RequestItems={a: {"Keys": [_key("x")], "ConsistentRead": True}},
                           ReturnConsumedCapacity="TOTAL")
    assert r["ConsumedCapacity"][0]["TableName"] == a
    assert r["ConsumedCapacity"][0]["CapacityUnits"] == 1.0


def test_batch_write_updates_indexes(ddb, make_table):
    a = make_table(gsi={"byg": ("g:S",)})
    ddb.batch_write_item(RequestItems={a: [_put(a, "x", g={"S": "G"}), _put(a, "y", g={"S": "G"})]})
    r = ddb.query(TableName=a, IndexName="byg", KeyConditionExpression="g = :g",
                  ExpressionAttributeValues={":g": {"S": "G"}})
    assert r["Count"] == 2
    ddb.batch_write_item(RequestItems={a: [{"DeleteRequest": {"Key": _key("x")}}]})
    r = ddb.query(TableName=a, IndexName="byg", KeyConditionExpression="g = :g",
                  ExpressionAttributeValues={":g": {"S": "G"}})
    assert r["Count"] == 1


def test_batch_get_beyond_16_mb_returns_unprocessed_keys(eddy_embedded, make_table):
    from util import client_config

    ddb = eddy_embedded.client("dynamodb", config=client_config())
    t = make_table(client=ddb)
    blob = "x" * (390 * 1024)
    keys = [_key(f"k{i:02d}") for i in range(45)]
    for i in range(0, 45, 5):
        ddb.batch_write_item(RequestItems={t: [{"PutRequest": {"Item": {**k, "b": {"S": blob}}}} for k in keys[i:i + 5]]})
    r = ddb.batch_get_item(RequestItems={t: {"Keys": keys, "ProjectionExpression": "pk, b"}})
    got = [i["pk"]["S"] for i in r["Responses"][t]]
    rest = r["UnprocessedKeys"][t]
    assert 0 < len(rest["Keys"]) < 45 and len(got) + len(rest["Keys"]) == 45
    size = len("pk") + len("k00") + len("b") + len(blob)
    assert len(got) * size <= 16 * 1024 * 1024 < (len(got) + 1) * size  # as many as fit, never past 16 MB
    assert rest["ProjectionExpression"] == "pk, b"
    r2 = ddb.batch_get_item(RequestItems={t: rest})
    assert r2["UnprocessedKeys"] == {}
    assert sorted(got + [i["pk"]["S"] for i in r2["Responses"][t]]) == [k["pk"]["S"] for k in keys]
