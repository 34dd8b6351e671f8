"""Sort-key order (numbers by value, strings by UTF-8 bytes, binary unsigned) and scan/query consistency."""
from __future__ import annotations

import random
from decimal import Decimal


def _query_all(ddb, t, **kw):
    out, kw = [], {"TableName": t, "KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "a"}},
                   "Limit": 5, **kw}
    while True:
        r = ddb.query(**kw)
        out += r["Items"]
        if "LastEvaluatedKey" not in r:
            return out
        kw["ExclusiveStartKey"] = r["LastEvaluatedKey"]


def test_number_order(ddb, mk):
    t = mk("pk", "sk:N")
    nums = ["-1E+100", "-1000", "-1.5", "-1", "-0.001", "0", "1E-130", "0.5", "1", "1.5", "2", "10", "1E+20", "9.9E+125"]
    shuffled = nums[:]
    random.Random(1).shuffle(shuffled)
    for n in shuffled:
        ddb.put_item(TableName=t, Item={"pk": {"S": "a"}, "sk": {"N": n}})
    got = [Decimal(i["sk"]["N"]) for i in _query_all(ddb, t)]
    assert got == [Decimal(n) for n in nums]
    back = [Decimal(i["sk"]["N"]) for i in _query_all(ddb, t, ScanIndexForward=False)]
    assert back == list(reversed(got))


def test_string_order_utf8(ddb, mk):
    t = mk("pk", "sk")
    strs = ["A", "Z", "a", "z", "\u00e9", "\uff21", "\U0001f600"]   # UTF-8 byte order (U+FF21 < U+1F600)
    for s in reversed(strs):
        ddb.put_item(TableName=t, Item={"pk": {"S": "a"}, "sk": {"S": s}})
    assert [i["sk"]["S"] for i in _query_all(ddb, t)] == sorted(strs, key=lambda s: s.encode())
    r = ddb.query(TableName=t, KeyConditionExpression="pk = :p AND sk > :s",
                  ExpressionAttributeValues={":p": {"S": "a"}, ":s": {"S": "\uffff"}})
    assert [i["sk"]["S"] for i in r["Items"]] == ["\U0001f600"]


def test_binary_order_unsigned(ddb, mk):
    t = mk("pk", "sk:B")
    bins = [b"\x00", b"\x00\x00", b"\x01", b"\x7f", b"\x80", b"\xff", b"\xff\x00"]
    for b in reversed(bins):
        ddb.put_item(TableName=t, Item={"pk": {"S": "a"}, "sk": {"B": b}})
    assert [i["sk"]["B"] for i in _query_all(ddb, t)] == bins


def test_condition_string_compare_utf8(ddb, mk):
    t = mk()
    ddb.put_item(TableName=t, Item={"pk": {"S": "a"}, "s": {"S": "\U0001f600"}})
    r = ddb.scan(TableName=t, FilterExpression="s > :v", ExpressionAttributeValues={":v": {"S": "\uff21"}})
    assert r["Count"] == 1
