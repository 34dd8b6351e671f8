"""ConditionExpression, Query and Scan as real DynamoDB answers them."""
from __future__ import annotations

import pytest

from conformance.cfutil import raises

V = "ValidationException"


def _n(x):
    return {"N": str(x)}


@pytest.fixture
def qt(ddb, mk):
    t = mk("pk", "sk:N")
    for i in range(10):
        ddb.put_item(TableName=t, Item={"pk": {"S": "a"}, "sk": _n(i), "x": _n(i % 3), "s": {"S": f"v{i}"}})
    ddb.put_item(TableName=t, Item={"pk": {"S": "b"}, "sk": _n(1)})
    return t


def _cond(ddb, t, expr, values=None, names=None):
    args = {"TableName": t, "Item": {"pk": {"S": "c"}, "v": _n(1), "s": {"S": "abc"}, "l": {"L": [_n(1), {"S": "x"}]},
                                    "ss": {"SS": ["p", "q"]}, "b": {"B": b"\x01\x02"}, "m": {"M": {"k": _n(1)}},
                                    "nul": {"NULL": True}, "t": {"BOOL": True}},
            "ConditionExpression": expr}
    ddb.put_item(TableName=t, Item=args["Item"])
    if values:
        args["ExpressionAttributeValues"] = values
    if names:
        args["ExpressionAttributeNames"] = names
    try:
        ddb.put_item(**args)
        return True
    except ddb.exceptions.ConditionalCheckFailedException:
        return False


@pytest.mark.parametrize("expr,values,expect", [
    ("v = :a", {":a": _n(1)}, True),
    ("v = :a", {":a": {"S": "1"}}, False),
    ("v <> :a", {":a": {"S": "1"}}, True),
    ("v < :a", {":a": {"S": "1"}}, False),          # different types: false, not an error
    ("s < :a", {":a": {"S": "abd"}}, True),
    ("b < :a", {":a": {"B": b"\x01\x03"}}, True),
    ("v BETWEEN :a AND :b", {":a": _n(0), ":b": _n(1)}, True),
    ("v IN (:a, :b)", {":a": _n(0), ":b": _n(1)}, True),
    ("v IN (:a)", {":a": _n(0)}, False),
    ("size(s) = :a", {":a": _n(3)}, True),
    ("size(l) = :a", {":a": _n(2)}, True),
    ("size(ss) = :a", {":a": _n(2)}, True),
    ("size(m) = :a", {":a": _n(1)}, True),
    ("size(b) = :a", {":a": _n(2)}, True),
    ("size(nothere) = :a", {":a": _n(0)}, False),
    ("attribute_type(v, :a)", {":a": {"S": "N"}}, True),
    ("attribute_type(nul, :a)", {":a": {"S": "NULL"}}, True),
    ("attribute_type(t, :a)", {":a": {"S": "BOOL"}}, True),
    ("attribute_type(ss, :a)", {":a": {"S": "S"}}, False),
    ("begins_with(s, :a)", {":a": {"S": "ab"}}, True),
    ("begins_with(b, :a)", {":a": {"B": b"\x01"}}, True),
    ("begins_with(v, :a)", {":a": {"S": "1"}}, False),
    ("contains(s, :a)", {":a": {"S": "bc"}}, True),
    ("contains(ss, :a)", {":a": {"S": "q"}}, True),
    ("contains(l, :a)", {":a": {"S": "x"}}, True),
    ("contains(l, :a)", {":a": _n(2)}, False),
    ("contains(v, :a)", {":a": _n(1)}, False),
    ("l[1] = :a", {":a": {"S": "x"}}, True),
    ("m.k = :a", {":a": _n(1)}, True),
    ("attribute_exists(m.k) AND NOT attribute_exists(m.z)", None, True),
    ("(v = :a OR v = :b) AND NOT v = :b", {":a": _n(1), ":b": _n(2)}, True),
    ("m = :a", {":a": {"M": {"k": _n(1)}}}, True),
    ("ss = :a", {":a": {"SS": ["q", "p"]}}, True),
    ("nothere <> :a", {":a": _n(1)}, True),
    ("nothere = nothere2", None, False),
])
def test_condition(ddb, mk, expr, values, expect):
    t = mk()
    assert _cond(ddb, t, expr, values) is expect


def test_condition_errors(ddb, mk):
    t = mk()
    with raises(V, "Invalid ConditionExpression: Invalid attribute type name found; type: XX"):
        _cond(ddb, t, "attribute_type(v, :a)", {":a": {"S": "XX"}})
    with raises(V, "Invalid ConditionExpression: The BETWEEN operator requires upper bound to be greater than or "
                   "equal to lower bound"):
        _cond(ddb, t, "v BETWEEN :a AND :b", {":a": _n(2), ":b": _n(1)})
    with raises(V, "Invalid ConditionExpression: Syntax error"):
        _cond(ddb, t, "v = = :a", {":a": _n(2)})
    with raises(V, "Invalid ConditionExpression: Invalid function name; function: nosuch"):
        _cond(ddb, t, "nosuch(v)")
    with raises(V, "Invalid ConditionExpression: The expression can not be empty"):
        _cond(ddb, t, "")
    with raises(V, "Invalid ConditionExpression: The function is not allowed to be used this way in an expression"):
        _cond(ddb, t, "size(v)")
    with raises(V, "Invalid ConditionExpression"):
        _cond(ddb, t, "v IN ()", None)


def test_query_basic_and_order(ddb, qt):
    r = ddb.query(TableName=qt, KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "a"}})
    assert [i["sk"]["N"] for i in r["Items"]] == [str(i) for i in range(10)]
    assert r["Count"] == 10 and r["ScannedCount"] == 10 and "LastEvaluatedKey" not in r
    r = ddb.query(TableName=qt, KeyConditionExpression="pk = :p AND sk > :s", ScanIndexForward=False,
                  ExpressionAttributeValues={":p": {"S": "a"}, ":s": _n(6)})
    assert [i["sk"]["N"] for i in r["Items"]] == ["9", "8", "7"]


def test_query_paging_with_filter(ddb, qt):
    seen = []
    kw = {"TableName": qt, "KeyConditionExpression": "pk = :p", "FilterExpression": "x = :z", "Limit": 3,
          "ExpressionAttributeValues": {":p": {"S": "a"}, ":z": _n(0)}}
    pages = 0
    while True:
        r = ddb.query(**kw)
        pages += 1
        assert r["ScannedCount"] <= 3
        seen += [i["sk"]["N"] for i in r["Items"]]
        if "LastEvaluatedKey" not in r:
            break
        assert r["LastEvaluatedKey"] == {"pk": {"S": "a"}, "sk": r["LastEvaluatedKey"]["sk"]}
        kw["ExclusiveStartKey"] = r["LastEvaluatedKey"]
    assert seen == ["0", "3", "6", "9"]
    assert pages in (4, 5)
    r = ddb.query(TableName=qt, KeyConditionExpression="pk = :p", Limit=10, ExpressionAttributeValues={":p": {"S": "a"}})
    assert r["Count"] == 10  # DynamoDB returns a LastEvaluatedKey when Limit is reached exactly
    assert "LastEvaluatedKey" in r


def test_query_select(ddb, qt):
    v = {":p": {"S": "a"}}
    r = ddb.query(TableName=qt, KeyConditionExpression="pk = :p", Select="COUNT", ExpressionAttributeValues=v)
    assert r["Count"] == 10 and "Items" not in r
    r = ddb.query(TableName=qt, KeyConditionExpression="pk = :p", Select="SPECIFIC_ATTRIBUTES",
                  ProjectionExpression="s", ExpressionAttributeValues=v)
    assert r["Items"][0] == {"s": {"S": "v0"}}
    # the Select checks are worded as one-error coral reports (as moto records)
    with raises(V, "^1 validation error detected: ALL_PROJECTED_ATTRIBUTES can be used only when Querying using an "
                   "IndexName$"):
        ddb.query(TableName=qt, KeyConditionExpression="pk = :p", Select="ALL_PROJECTED_ATTRIBUTES",
                  ExpressionAttributeValues=v)
    with raises(V, "^1 validation error detected: Cannot specify the ProjectionExpression when choosing to get "
                   "ALL_ATTRIBUTES$"):
        ddb.query(TableName=qt, KeyConditionExpression="pk = :p", Select="ALL_ATTRIBUTES",
                  ProjectionExpression="s", ExpressionAttributeValues=v)
    with raises(V):
        ddb.query(TableName=qt, KeyConditionExpression="pk = :p", Select="DOG", ExpressionAttributeValues=v)


def test_query_key_condition_errors(ddb, qt):
    with raises(V, "Invalid KeyConditionExpression: The BETWEEN operator requires upper bound to be greater than or "
                   "equal to lower bound; lower bound operand: AttributeValue: {N:5}, upper bound operand: "
                   "AttributeValue: {N:1}"):
        ddb.query(TableName=qt, KeyConditionExpression="pk = :p AND sk BETWEEN :a AND :b",
                  ExpressionAttributeValues={":p": {"S": "a"}, ":a": _n(5), ":b": _n(1)})
    with raises(V, "Either the KeyConditions or KeyConditionExpression parameter must be specified in the request"):
        ddb.query(TableName=qt)
    with raises(V, "Query condition missed key schema element"):
        ddb.query(TableName=qt, KeyConditionExpression="sk = :a", ExpressionAttributeValues={":a": _n(1)})
    with raises(V, "Query key condition not supported"):
        ddb.query(TableName=qt, KeyConditionExpression="pk > :a", ExpressionAttributeValues={":a": {"S": "a"}})
    with raises(V):
        ddb.query(TableName=qt, KeyConditionExpression="pk = :p AND x = :a",
                  ExpressionAttributeValues={":p": {"S": "a"}, ":a": _n(1)})
    with raises(V, "KeyConditionExpression"):
        ddb.query(TableName=qt, KeyConditionExpression="pk = :p OR sk = :a",
                  ExpressionAttributeValues={":p": {"S": "a"}, ":a": _n(1)})
    with raises(V, "limit"):
        ddb.query(TableName=qt, KeyConditionExpression="pk = :p", Limit=0, ExpressionAttributeValues={":p": {"S": "a"}})
    with raises(V, "Filter Expression can only contain non-primary key attributes: Primary key attribute: sk"):
        ddb.query(TableName=qt, KeyConditionExpression="pk = :p", FilterExpression="sk > :a",
                  ExpressionAttributeValues={":p": {"S": "a"}, ":a": _n(1)})
    with raises(V, "Invalid KeyConditionExpression: Incorrect operand type for operator or function; "
                   "operator or function: begins_with, operand type: N"):
        ddb.query(TableName=qt, KeyConditionExpression="pk = :p AND begins_with(sk, :a)",
                  ExpressionAttributeValues={":p": {"S": "a"}, ":a": _n(1)})


def test_query_begins_with_binary(ddb, mk):
    t = mk("pk", "sk:B")
    for b in (b"\x01\x02", b"\x01\x03", b"\x02"):
        ddb.put_item(TableName=t, Item={"pk": {"S": "a"}, "sk": {"B": b}})
    r = ddb.query(TableName=t, KeyConditionExpression="pk = :p AND begins_with(sk, :b)",
                  ExpressionAttributeValues={":p": {"S": "a"}, ":b": {"B": b"\x01"}})
    assert [i["sk"]["B"] for i in r["Items"]] == [b"\x01\x02", b"\x01\x03"]


def test_query_legacy_key_conditions(ddb, qt):
    r = ddb.query(TableName=qt, KeyConditions={"pk": {"AttributeValueList": [{"S": "a"}], "ComparisonOperator": "EQ"},
                                              "sk": {"AttributeValueList": [_n(2), _n(4)], "ComparisonOperator": "BETWEEN"}})
    assert [i["sk"]["N"] for i in r["Items"]] == ["2", "3", "4"]


def test_scan_parallel_union(ddb, mk):
    t = mk()
    for i in range(60):
        ddb.put_item(TableName=t, Item={"pk": {"S": f"k{i}"}})
    full = {i["pk"]["S"] for i in ddb.scan(TableName=t)["Items"]}
    assert len(full) == 60
    seen: list[str] = []
    for seg in range(4):
        kw = {"TableName": t, "Segment": seg, "TotalSegments": 4, "Limit": 7}
        while True:
            r = ddb.scan(**kw)
            seen += [i["pk"]["S"] for i in r["Items"]]
            if "LastEvaluatedKey" not in r:
                break
            kw["ExclusiveStartKey"] = r["LastEvaluatedKey"]
    assert sorted(seen) == sorted(full)
    with raises(V, "The Segment parameter is required but was not present in the request when parameter "
                   "TotalSegments is present"):
        ddb.scan(TableName=t, TotalSegments=4)
    with raises(V, "The TotalSegments parameter is required but was not present in the request when Segment "
                   "parameter is present"):
        ddb.scan(TableName=t, Segment=1)
    with raises(V, "The Segment parameter is zero-based and must be less than parameter TotalSegments: "
                   "Segment: 4 is not less than TotalSegments: 4"):
        ddb.scan(TableName=t, Segment=4, TotalSegments=4)


def test_scan_limit_and_filter(ddb, qt):
    r = ddb.scan(TableName=qt, Limit=4, FilterExpression="x = :z", ExpressionAttributeValues={":z": _n(0)})
    assert r["ScannedCount"] == 4 and "LastEvaluatedKey" in r
    r = ddb.scan(TableName=qt, Select="COUNT")
    assert r["Count"] == 11 and "Items" not in r
    r = ddb.scan(TableName=qt, FilterExpression="sk > :z", ExpressionAttributeValues={":z": _n(7)})  # keys allowed in Scan
    assert r["Count"] == 2


def test_exclusive_start_key_errors(ddb, qt):
    with raises(V, "The provided starting key is invalid"):
        ddb.query(TableName=qt, KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "a"}},
                  ExclusiveStartKey={"pk": {"S": "a"}})
    with raises(V, "^The provided starting key is outside query boundaries based on provided conditions$"):
        ddb.query(TableName=qt, KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "a"}},
                  ExclusiveStartKey={"pk": {"S": "b"}, "sk": _n(1)})
    with raises(V, "^The provided starting key does not match the range key predicate$"):
        ddb.query(TableName=qt, KeyConditionExpression="pk = :p AND sk > :s",
                  ExpressionAttributeValues={":p": {"S": "a"}, ":s": _n(5)}, ExclusiveStartKey={"pk": {"S": "a"}, "sk": _n(1)})
    with raises(V, "^The provided starting key is invalid: The provided key element does not match the schema$"):
        ddb.scan(TableName=qt, ExclusiveStartKey={"pk": {"S": "a"}, "sk": _n(1), "x": _n(1)})
    # a parallel scan's start key must hash into the segment scanned
    key = {"pk": {"S": "a"}, "sk": _n(1)}
    home = [seg for seg in range(4) if any(
        (i["pk"], i["sk"]) == (key["pk"], key["sk"]) for i in ddb.scan(TableName=qt, Segment=seg, TotalSegments=4)["Items"])]
    assert len(home) == 1
    with raises(V, "^The provided Exclusive start key does not map to the provided segment$"):
        ddb.scan(TableName=qt, Segment=(home[0] + 1) % 4, TotalSegments=4, ExclusiveStartKey=key)


def test_query_key_values_over_the_key_size_limits(ddb, mk):
    t = mk("pk", "sk")
    big_hash, big_range = {":p": {"S": "x" * 2049}}, {":p": {"S": "a"}, ":s": {"S": "y" * 1025}}
    with raises(V, "^One or more parameter values were invalid: Size of hashkey has exceeded the maximum size "
                   "limit of2048 bytes$"):
        ddb.query(TableName=t, KeyConditionExpression="pk = :p", ExpressionAttributeValues=big_hash)
    with raises(V, "^One or more parameter values were invalid: Aggregated size of all range keys has exceeded the "
                   "size limit of 1024 bytes$"):
        ddb.query(TableName=t, KeyConditionExpression="pk = :p AND begins_with(sk, :s)",
                  ExpressionAttributeValues=big_range)
    with raises(V, "Size of hashkey has exceeded"):
        ddb.query(TableName=t, KeyConditions={"pk": {"ComparisonOperator": "EQ",
                                                     "AttributeValueList": [{"S": "\u00e9" * 1025}]}})
    ok = ddb.query(TableName=t, KeyConditionExpression="pk = :p AND sk < :s",
                   ExpressionAttributeValues={":p": {"S": "x" * 2048}, ":s": {"S": "y" * 1024}})
    assert ok["Count"] == 0


def test_key_condition_on_a_non_key_attribute(ddb, mk):
    # DynamoDB names the range key the condition misses; with no range key to miss, the condition
    # itself is unsupported
    hash_only, hash_range = mk(), mk("pk", "sk:N")
    vals = {":p": {"S": "a"}, ":x": _n(1)}
    with raises(V, "^Query key condition not supported$"):
        ddb.query(TableName=hash_only, KeyConditionExpression="pk = :p AND x = :x", ExpressionAttributeValues=vals)
    with raises(V, "^Query key condition not supported$"):
        ddb.query(TableName=hash_only, KeyConditions={"pk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "a"}]},
                                                      "x": {"ComparisonOperator": "EQ", "AttributeValueList": [_n(1)]}})
    with raises(V, "^Query condition missed key schema element: sk$"):
        ddb.query(TableName=hash_range, KeyConditionExpression="pk = :p AND x = :x", ExpressionAttributeValues=vals)
    with raises(V, "^Query key condition not supported$"):
        ddb.query(TableName=hash_range, KeyConditionExpression="pk = :p AND sk = :x AND x = :x",
                  ExpressionAttributeValues=vals)


def test_query_with_an_empty_key_value_is_rejected(ddb, mk):
    # as GetItem: a key attribute value cannot be empty, in the partition key or the sort key condition
    t = mk("pk", "sk", gsi={"gsi": ("g:B",)})
    msg = ("^One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an "
           "empty {} value. Key: {}$")
    empty = {":p": {"S": "a"}, ":s": {"S": ""}}
    for cond, values in (("sk = :s", empty), ("sk < :s", empty), ("begins_with(sk, :s)", empty),
                         ("sk BETWEEN :s AND :t", {**empty, ":t": {"S": "z"}})):
        with raises(V, msg.format("string", "sk")):
            ddb.query(TableName=t, KeyConditionExpression="pk = :p AND " + cond, ExpressionAttributeValues=values)
    with raises(V, msg.format("string", "sk")):
        ddb.query(TableName=t, KeyConditions={"pk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "a"}]},
                                              "sk": {"ComparisonOperator": "GE", "AttributeValueList": [{"S": ""}]}})
    with raises(V, msg.format("string", "pk")):
        ddb.query(TableName=t, KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": ""}})
    with raises(V, msg.format("string", "pk")):
        ddb.query(TableName=t, KeyConditions={"pk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": ""}]}})
    with raises(V, msg.format("binary", "g")):
        ddb.query(TableName=t, IndexName="gsi", KeyConditionExpression="g = :g", ExpressionAttributeValues={":g": {"B": b""}})


_TWO_NAMES = "Invalid condition in KeyConditionExpression: Multiple attribute names used in one condition"


@pytest.mark.parametrize("expr,message", [
    ("pk = :p AND sk = x", _TWO_NAMES),
    ("pk = :p AND sk BETWEEN :x AND x", _TWO_NAMES),
    ("pk = :p AND :x = :x", "Invalid condition in KeyConditionExpression: No key attribute specified"),
    ("pk.a = :p", "KeyConditionExpressions cannot have conditions on nested attributes"),
    ("pk = :p AND sk[0] = :x", "KeyConditionExpressions cannot have conditions on nested attributes"),
    ("pk = :p AND begins_with(sk.a, :s)", "KeyConditionExpressions cannot have conditions on nested attributes"),
])
def test_key_condition_operands(ddb, qt, expr, message):
    # one top-level key attribute compared with values, per condition
    values = {k: v for k, v in {":p": {"S": "a"}, ":x": _n(1), ":s": {"S": "b"}}.items() if k in expr}
    with raises(V, f"^{message}$"):
        ddb.query(TableName=qt, KeyConditionExpression=expr, ExpressionAttributeValues=values)
