"""Query and Scan through boto3 (server and embedded): key conditions, ordering, Limit and paging,
filters after the limit, Select, projections, indexes, parallel scan, and their validation."""
from __future__ import annotations

import pytest
from botocore.exceptions import ClientError


def _err(excinfo) -> tuple[str, str]:
    e = excinfo.value.response["Error"]
    return e["Code"], e["Message"]


@pytest.fixture
def sorted_table(dynamodb, make_table):
    """pk:S, sk:N with partition "p" holding sk 0..9 (v = sk % 2) and partition "q" holding sk 0."""
    t = make_table(("pk", "S"), ("sk", "N"), gsi={"byg": ("g:S", "sk:N"), "keys": ("g:S", None, "KEYS_ONLY")},
                   lsi={"byl": ("pk:S", "l:S", "KEYS_ONLY")})
    for i in range(10):
        dynamodb.put_item(TableName=t, Item={"pk": {"S": "p"}, "sk": {"N": str(i)}, "v": {"N": str(i % 2)},
                                             "g": {"S": "G" if i < 5 else "H"}, "l": {"S": f"l{9 - i}"}})
    dynamodb.put_item(TableName=t, Item={"pk": {"S": "q"}, "sk": {"N": "0"}})
    return t


def _sks(resp) -> list[int]:
    return [int(i["sk"]["N"]) for i in resp["Items"]]


def _q(dynamodb, t, cond="pk = :p", values=None, **kw):
    return dynamodb.query(TableName=t, KeyConditionExpression=cond,
                          ExpressionAttributeValues={":p": {"S": "p"}, **(values or {})}, **kw)


@pytest.mark.parametrize("cond,values,expected", [
    ("pk = :p", {}, list(range(10))),
    ("pk = :p AND sk = :a", {":a": {"N": "3"}}, [3]),
    ("pk = :p AND sk < :a", {":a": {"N": "3"}}, [0, 1, 2]),
    ("pk = :p AND sk <= :a", {":a": {"N": "3"}}, [0, 1, 2, 3]),
    ("pk = :p AND sk > :a", {":a": {"N": "7"}}, [8, 9]),
    ("pk = :p AND sk >= :a", {":a": {"N": "7"}}, [7, 8, 9]),
    ("pk = :p AND sk BETWEEN :a AND :b", {":a": {"N": "2"}, ":b": {"N": "4"}}, [2, 3, 4]),
])
def test_key_conditions_select_a_sort_key_range(dynamodb, sorted_table, cond, values, expected):
    assert _sks(_q(dynamodb, sorted_table, cond, values)) == expected


def test_scan_index_forward_false_reverses(dynamodb, sorted_table):
    assert _sks(_q(dynamodb, sorted_table, ScanIndexForward=False)) == list(range(9, -1, -1))


def test_limit_pages_with_last_evaluated_key(dynamodb, sorted_table):
    seen, start = [], None
    for _ in range(10):
        kw = {"ExclusiveStartKey": start} if start else {}
        r = _q(dynamodb, sorted_table, Limit=3, **kw)
        seen += _sks(r)
        start = r.get("LastEvaluatedKey")
        if start is None:
            break
    assert seen == list(range(10))


def test_paging_backward(dynamodb, sorted_table):
    r = _q(dynamodb, sorted_table, Limit=4, ScanIndexForward=False)
    assert _sks(r) == [9, 8, 7, 6]
    r = _q(dynamodb, sorted_table, Limit=4, ScanIndexForward=False, ExclusiveStartKey=r["LastEvaluatedKey"])
    assert _sks(r) == [5, 4, 3, 2]


def test_filter_applies_after_limit(dynamodb, sorted_table):
    r = _q(dynamodb, sorted_table, FilterExpression="v = :one", values={":one": {"N": "1"}}, Limit=4)
    assert _sks(r) == [1, 3]
    assert r["Count"] == 2 and r["ScannedCount"] == 4
    assert r["LastEvaluatedKey"] == {"pk": {"S": "p"}, "sk": {"N": "3"}}


def test_select_count(dynamodb, sorted_table):
    r = _q(dynamodb, sorted_table, Select="COUNT")
    assert "Items" not in r and r["Count"] == 10


def test_projection_expression(dynamodb, sorted_table):
    r = _q(dynamodb, sorted_table, "pk = :p AND sk = :a", {":a": {"N": "1"}}, ProjectionExpression="v")
    assert r["Items"] == [{"v": {"N": "1"}}]


def test_legacy_key_conditions_and_query_filter(dynamodb, sorted_table):
    r = dynamodb.query(TableName=sorted_table,
                       KeyConditions={"pk": {"AttributeValueList": [{"S": "p"}], "ComparisonOperator": "EQ"},
                                      "sk": {"AttributeValueList": [{"N": "5"}], "ComparisonOperator": "GE"}},
                       QueryFilter={"v": {"AttributeValueList": [{"N": "0"}], "ComparisonOperator": "EQ"}})
    assert _sks(r) == [6, 8]


def test_begins_with_on_a_string_sort_key(dynamodb, make_table):
    t = make_table(("pk", "S"), ("sk", "S"))
    for s in ["a", "ab", "abc", "b", "\u00e9t\u00e9"]:
        dynamodb.put_item(TableName=t, Item={"pk": {"S": "p"}, "sk": {"S": s}})
    r = dynamodb.query(TableName=t, KeyConditionExpression="pk = :p AND begins_with(sk, :x)",
                       ExpressionAttributeValues={":p": {"S": "p"}, ":x": {"S": "ab"}})
    assert [i["sk"]["S"] for i in r["Items"]] == ["ab", "abc"]


def test_query_on_a_gsi(dynamodb, sorted_table):
    r = dynamodb.query(TableName=sorted_table, IndexName="byg", KeyConditionExpression="g = :g AND sk > :s",
                       ExpressionAttributeValues={":g": {"S": "H"}, ":s": {"N": "6"}})
    assert _sks(r) == [7, 8, 9]


def test_gsi_paging_last_evaluated_key_has_table_and_index_keys(dynamodb, sorted_table):
    r = dynamodb.query(TableName=sorted_table, IndexName="byg", KeyConditionExpression="g = :g",
                       ExpressionAttributeValues={":g": {"S": "G"}}, Limit=2)
    assert r["LastEvaluatedKey"] == {"pk": {"S": "p"}, "sk": {"N": "1"}, "g": {"S": "G"}}
    r = dynamodb.query(TableName=sorted_table, IndexName="byg", KeyConditionExpression="g = :g",
                       ExpressionAttributeValues={":g": {"S": "G"}}, ExclusiveStartKey=r["LastEvaluatedKey"])
    assert _sks(r) == [2, 3, 4]


def test_keys_only_gsi_returns_keys(dynamodb, sorted_table):
    r = dynamodb.query(TableName=sorted_table, IndexName="keys", KeyConditionExpression="g = :g",
                       ExpressionAttributeValues={":g": {"S": "G"}})
    assert r["Count"] == 5
    assert all(set(i) == {"pk", "sk", "g"} for i in r["Items"])


def test_lsi_orders_by_its_sort_key_and_fetches_all_attributes(dynamodb, sorted_table):
    r = _q(dynamodb, sorted_table, IndexName="byl", Limit=3)
    assert [i["l"]["S"] for i in r["Items"]] == ["l0", "l1", "l2"]
    assert set(r["Items"][0]) == {"pk", "sk", "l"}
    r = _q(dynamodb, sorted_table, IndexName="byl", Limit=1, Select="ALL_ATTRIBUTES")
    assert r["Items"][0]["v"] == {"N": "1"} and r["Items"][0]["sk"] == {"N": "9"}


def test_consistent_read_on_a_gsi_is_rejected(dynamodb, sorted_table):
    with pytest.raises(ClientError) as e:
        dynamodb.query(TableName=sorted_table, IndexName="byg", KeyConditionExpression="g = :g",
                       ExpressionAttributeValues={":g": {"S": "G"}}, ConsistentRead=True)
    assert _err(e) == ("ValidationException", "Consistent reads are not supported on global secondary indexes")


def test_query_on_a_missing_index(dynamodb, sorted_table):
    with pytest.raises(ClientError) as e:
        _q(dynamodb, sorted_table, IndexName="nope")
    code, msg = _err(e)
    assert code == "ValidationException" and "nope" in msg


def test_limit_must_be_positive(dynamodb_server, eddy_server, make_table):
    from util import make_client

    raw = make_client("dynamodb", eddy_server.url, parameter_validation=False)
    t = make_table(client=dynamodb_server)
    with pytest.raises(ClientError) as e:
        raw.scan(TableName=t, Limit=0)
    code, msg = _err(e)
    assert code == "ValidationException" and "limit" in msg


def test_query_needs_a_key_condition(dynamodb, sorted_table):
    with pytest.raises(ClientError) as e:
        dynamodb.query(TableName=sorted_table)
    assert _err(e)[0] == "ValidationException"


def test_select_specific_attributes_needs_a_projection(dynamodb, sorted_table):
    with pytest.raises(ClientError) as e:
        _q(dynamodb, sorted_table, Select="SPECIFIC_ATTRIBUTES")
    assert _err(e)[0] == "ValidationException"


def test_select_all_projected_attributes_needs_an_index(dynamodb, sorted_table):
    with pytest.raises(ClientError) as e:
        _q(dynamodb, sorted_table, Select="ALL_PROJECTED_ATTRIBUTES")
    assert _err(e)[0] == "ValidationException"


def test_exclusive_start_key_must_match_the_schema(dynamodb, sorted_table):
    with pytest.raises(ClientError) as e:
        _q(dynamodb, sorted_table, ExclusiveStartKey={"pk": {"S": "p"}})
    assert _err(e)[0] == "ValidationException"


def test_query_reports_consumed_capacity_of_the_summed_size(dynamodb, sorted_table):
    r = _q(dynamodb, sorted_table, ReturnConsumedCapacity="TOTAL")
    assert r["ConsumedCapacity"]["CapacityUnits"] == 0.5


# --- scan ----------------------------------------------------------------------------------------
def test_scan_returns_everything(dynamodb, sorted_table):
    r = dynamodb.scan(TableName=sorted_table)
    assert r["Count"] == 11 and "LastEvaluatedKey" not in r


def test_scan_paging_covers_every_item_once(dynamodb, sorted_table):
    seen, start = [], None
    while True:
        kw = {"ExclusiveStartKey": start} if start else {}
        r = dynamodb.scan(TableName=sorted_table, Limit=4, **kw)
        seen += [(i["pk"]["S"], i["sk"]["N"]) for i in r["Items"]]
        start = r.get("LastEvaluatedKey")
        if not start:
            break
    assert len(seen) == 11 and len(set(seen)) == 11


def test_parallel_scan_segments_cover_the_table(dynamodb, make_table):
    t = make_table(("pk", "S"))
    for i in range(40):
        dynamodb.put_item(TableName=t, Item={"pk": {"S": f"k{i}"}})
    seen = []
    for seg in range(3):
        r = dynamodb.scan(TableName=t, Segment=seg, TotalSegments=3)
        seen += [i["pk"]["S"] for i in r["Items"]]
    assert sorted(seen) == sorted(f"k{i}" for i in range(40))


def test_scan_filter_and_legacy_scan_filter(dynamodb, sorted_table):
    r = dynamodb.scan(TableName=sorted_table, FilterExpression="v = :one",
                      ExpressionAttributeValues={":one": {"N": "1"}})
    assert r["Count"] == 5 and r["ScannedCount"] == 11
    r = dynamodb.scan(TableName=sorted_table,
                      ScanFilter={"v": {"AttributeValueList": [{"N": "1"}], "ComparisonOperator": "EQ"}})
    assert r["Count"] == 5


def test_scan_an_index(dynamodb, sorted_table):
    r = dynamodb.scan(TableName=sorted_table, IndexName="byg")
    assert r["Count"] == 10


@pytest.mark.parametrize("kw", [{"Segment": 0}, {"TotalSegments": 2}, {"Segment": 2, "TotalSegments": 2},
                                {"Segment": 0, "TotalSegments": 0}])
def test_bad_segments_are_rejected(dynamodb_server, eddy_server, make_table, kw):
    from util import make_client

    raw = make_client("dynamodb", eddy_server.url, parameter_validation=False)
    t = make_table(client=dynamodb_server)
    with pytest.raises(ClientError) as e:
        raw.scan(TableName=t, **kw)
    assert _err(e)[0] == "ValidationException"


def test_gsi_follows_updates_of_its_key(dynamodb, make_table):
    t = make_table(("pk", "S"), gsi={"byg": ("g:S",)})
    dynamodb.put_item(TableName=t, Item={"pk": {"S": "a"}, "g": {"S": "one"}})
    dynamodb.update_item(TableName=t, Key={"pk": {"S": "a"}}, UpdateExpression="SET g = :g",
                         ExpressionAttributeValues={":g": {"S": "two"}})

    def count(g):
        return dynamodb.query(TableName=t, IndexName="byg", KeyConditionExpression="g = :g",
                              ExpressionAttributeValues={":g": {"S": g}})["Count"]
    assert (count("one"), count("two")) == (0, 1)
    dynamodb.update_item(TableName=t, Key={"pk": {"S": "a"}}, UpdateExpression="REMOVE g")
    assert count("two") == 0
    assert dynamodb.scan(TableName=t, IndexName="byg")["Count"] == 0


def test_exclusive_start_key_outside_the_queried_partition(dynamodb, sorted_table):
    with pytest.raises(ClientError) as e:
        _q(dynamodb, sorted_table, ExclusiveStartKey={"pk": {"S": "q"}, "sk": {"N": "0"}})
    assert _err(e)[0] == "ValidationException"


def test_select_all_attributes_on_a_keys_only_gsi_is_rejected(dynamodb, sorted_table):
    with pytest.raises(ClientError) as e:
        dynamodb.query(TableName=sorted_table, IndexName="keys", KeyConditionExpression="g = :g",
                       ExpressionAttributeValues={":g": {"S": "G"}}, Select="ALL_ATTRIBUTES")
    assert _err(e)[0] == "ValidationException"


def test_index_query_capacity_is_charged_to_the_index(dynamodb, sorted_table):
    r = dynamodb.query(TableName=sorted_table, IndexName="byg", KeyConditionExpression="g = :g",
                       ExpressionAttributeValues={":g": {"S": "G"}}, ReturnConsumedCapacity="INDEXES")
    cc = r["ConsumedCapacity"]
    assert cc["CapacityUnits"] == 0.5 and cc["GlobalSecondaryIndexes"]["byg"]["CapacityUnits"] == 0.5


def test_scan_with_limit_and_count(dynamodb, sorted_table):
    r = dynamodb.scan(TableName=sorted_table, Select="COUNT", Limit=4)
    assert r["Count"] == 4 and r["ScannedCount"] == 4 and "LastEvaluatedKey" in r


def test_query_filter_on_a_key_attribute_is_rejected(dynamodb, sorted_table):
    with pytest.raises(ClientError) as e:
        _q(dynamodb, sorted_table, FilterExpression="sk > :z", values={":z": {"N": "1"}})
    assert _err(e) == ("ValidationException",
                       "Filter Expression can only contain non-primary key attributes: Primary key attribute: sk")


def test_scan_filter_on_a_key_attribute_is_fine(dynamodb, sorted_table):
    r = dynamodb.scan(TableName=sorted_table, FilterExpression="sk > :z", ExpressionAttributeValues={":z": {"N": "7"}})
    assert r["Count"] == 2
