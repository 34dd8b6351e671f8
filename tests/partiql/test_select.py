"""SELECT through ExecuteStatement: projections, WHERE operators, Query or Scan, paging, indexes."""
from __future__ import annotations

from typing import Any

import pytest
from pqutil import error_of, run


@pytest.fixture
def table(dynamodb: Any, make_table: Any) -> str:
    name = make_table(("pk", "S"), ("sk", "N"), gsi={"byg": ("g:S", "sk:N")})
    for p in ("a", "b", "c"):
        for i in range(5):
            item = {"pk": {"S": p}, "sk": {"N": str(i)}, "n": {"N": str(i * 10)}, "s": {"S": f"{p}-{i}"},
                    "m": {"M": {"x": {"L": [{"N": str(i)}, {"S": "y"}]}}}, "tags": {"SS": [p, f"t{i}"]}}
            if i % 2 == 0:
                item["g"] = {"S": "even"}
            dynamodb.put_item(TableName=name, Item=item)
    return name


def keys(items: list[dict]) -> list[tuple[str, int]]:
    return [(it["pk"]["S"], int(it["sk"]["N"])) for it in items]


def test_select_star_with_partition_key_returns_the_partition_in_sort_order(dynamodb: Any, table: str) -> None:
    out = run(dynamodb, f'SELECT * FROM "{table}" WHERE pk = ?', {"S": "b"})
    assert keys(out["Items"]) == [("b", i) for i in range(5)]
    assert out["Items"][0]["tags"] == {"SS": ["b", "t0"]}
    assert "NextToken" not in out


def test_select_projection_of_nested_paths(dynamodb: Any, table: str) -> None:
    out = run(dynamodb, f"SELECT sk, m.x[1], \"n\" FROM \"{table}\" WHERE pk = 'a' AND sk = 3")
    assert out["Items"] == [{"sk": {"N": "3"}, "m": {"M": {"x": {"L": [{"S": "y"}]}}}, "n": {"N": "30"}}]


@pytest.mark.parametrize(("where", "expected"), [
    ("sk > 2", [3, 4]),
    ("sk >= 2", [2, 3, 4]),
    ("sk < 2", [0, 1]),
    ("sk <= 2", [0, 1, 2]),
    ("sk <> 2", [0, 1, 3, 4]),
    ("sk != 2", [0, 1, 3, 4]),
    ("sk BETWEEN 1 AND 3", [1, 2, 3]),
    ("sk IN [0, 4]", [0, 4]),
    ("sk IN (1, 2)", [1, 2]),
    ("NOT sk IN (1, 2)", [0, 3, 4]),
    ("sk NOT BETWEEN 1 AND 3", [0, 4]),
    ("(sk = 1 OR sk = 3) AND n > 10", [3]),
    ("begins_with(s, 'a-3')", [3]),
    ("contains(tags, 't2')", [2]),
    ("contains(s, '-4')", [4]),
    ("size(s) = 3 AND sk = 0", [0]),
    ("attribute_exists(g)", [0, 2, 4]),
    ("attribute_not_exists(g)", [1, 3]),
    ("g IS MISSING", [1, 3]),
    ("g IS NOT MISSING", [0, 2, 4]),
    ("attribute_type(g, 'S')", [0, 2, 4]),
    ("m.x[0] = 2", [2]),
    ("m['x'][0] >= 3", [3, 4]),
])
def test_where_operators(dynamodb: Any, table: str, where: str, expected: list[int]) -> None:
    out = run(dynamodb, f"SELECT * FROM \"{table}\" WHERE pk = 'a' AND ({where})")
    assert keys(out["Items"]) == [("a", i) for i in expected]


def test_partition_key_in_queries_each_partition(dynamodb: Any, table: str) -> None:
    out = run(dynamodb, f"SELECT pk, sk FROM \"{table}\" WHERE pk IN ['c', 'a'] AND sk < 2")
    assert keys(out["Items"]) == [("c", 0), ("c", 1), ("a", 0), ("a", 1)]


def test_where_without_partition_key_scans(dynamodb: Any, table: str) -> None:
    out = run(dynamodb, f'SELECT pk, sk FROM "{table}" WHERE n = ?', {"N": "40"})
    assert sorted(keys(out["Items"])) == [("a", 4), ("b", 4), ("c", 4)]
    everything = run(dynamodb, f'SELECT * FROM "{table}"')
    assert len(everything["Items"]) == 15


def test_or_on_partition_key_scans(dynamodb: Any, table: str) -> None:
    out = run(dynamodb, f"SELECT pk, sk FROM \"{table}\" WHERE pk = 'a' AND sk = 0 OR pk = 'b' AND sk = 1")
    assert sorted(keys(out["Items"])) == [("a", 0), ("b", 1)]


def test_order_by_sort_key_descending(dynamodb: Any, table: str) -> None:
    out = run(dynamodb, f"SELECT sk FROM \"{table}\" WHERE pk = 'a' ORDER BY sk DESC")
    assert [int(i["sk"]["N"]) for i in out["Items"]] == [4, 3, 2, 1, 0]


def test_order_by_without_partition_key_is_rejected(dynamodb: Any, table: str) -> None:
    err = error_of(run, dynamodb, f'SELECT * FROM "{table}" ORDER BY sk')
    assert err["Code"] == "ValidationException"


def test_select_from_index(dynamodb: Any, table: str) -> None:
    out = run(dynamodb, f"SELECT pk, sk FROM \"{table}\".\"byg\" WHERE g = 'even' AND sk >= 2")
    assert sorted(keys(out["Items"])) == [(p, i) for p in "abc" for i in (2, 4)]


def test_select_from_missing_index(dynamodb: Any, table: str) -> None:
    err = error_of(run, dynamodb, f'SELECT * FROM "{table}"."nope"')
    assert err["Code"] == "ValidationException"
    assert "nope" in err["Message"]


def test_consistent_read_on_gsi_is_rejected(dynamodb: Any, table: str) -> None:
    err = error_of(run, dynamodb, f'SELECT * FROM "{table}"."byg"', ConsistentRead=True)
    assert err["Message"] == "Consistent reads are not supported on global secondary indexes"


def test_limit_and_next_token_page_a_query(dynamodb: Any, table: str) -> None:
    seen: list[tuple[str, int]] = []
    kw: dict[str, Any] = {"Limit": 2}
    pages = 0
    while True:
        out = run(dynamodb, f'SELECT * FROM "{table}" WHERE pk = ?', {"S": "a"}, **kw)
        seen += keys(out["Items"])
        pages += 1
        if "NextToken" not in out:
            break
        kw["NextToken"] = out["NextToken"]
    assert seen == [("a", i) for i in range(5)]
    assert pages == 3


def test_limit_counts_items_evaluated_not_matched(dynamodb: Any, table: str) -> None:
    out = run(dynamodb, f"SELECT sk FROM \"{table}\" WHERE pk = 'a' AND n >= 30", Limit=3)
    assert out["Items"] == []
    assert "NextToken" in out
    out = run(dynamodb, f"SELECT sk FROM \"{table}\" WHERE pk = 'a' AND n >= 30", Limit=3,
              NextToken=out["NextToken"])
    assert [i["sk"]["N"] for i in out["Items"]] == ["3", "4"]


def test_paging_a_scan_and_an_in_query_sees_every_item_once(dynamodb: Any, table: str) -> None:
    for stmt in (f'SELECT pk, sk FROM "{table}"', f"SELECT pk, sk FROM \"{table}\" WHERE pk IN ('a', 'b', 'c')"):
        seen: list[tuple[str, int]] = []
        kw: dict[str, Any] = {"Limit": 4}
        while True:
            out = run(dynamodb, stmt, **kw)
            assert len(out["Items"]) <= 4
            seen += keys(out["Items"])
            if "NextToken" not in out:
                break
            kw["NextToken"] = out["NextToken"]
        assert sorted(seen) == [(p, i) for p in "abc" for i in range(5)]
        assert len(seen) == 15


def test_next_token_of_another_statement_is_rejected(dynamodb: Any, table: str) -> None:
    out = run(dynamodb, f'SELECT * FROM "{table}"', Limit=1)
    err = error_of(run, dynamodb, f"SELECT * FROM \"{table}\" WHERE pk = 'a'", NextToken=out["NextToken"])
    assert err["Code"] == "ValidationException"
    err = error_of(run, dynamodb, f'SELECT * FROM "{table}"', NextToken="garbage")
    assert err["Code"] == "ValidationException"


def test_consistent_read_and_consumed_capacity(dynamodb: Any, table: str) -> None:
    out = run(dynamodb, f"SELECT * FROM \"{table}\" WHERE pk = 'a'", ConsistentRead=True,
              ReturnConsumedCapacity="TOTAL")
    assert out["ConsumedCapacity"] == {"TableName": table, "CapacityUnits": 1.0}
    out = run(dynamodb, f"SELECT * FROM \"{table}\" WHERE pk = 'a'", ReturnConsumedCapacity="TOTAL")
    assert out["ConsumedCapacity"]["CapacityUnits"] == 0.5


def test_select_from_missing_table(dynamodb: Any) -> None:
    err = error_of(run, dynamodb, 'SELECT * FROM "no-such-table-here"')
    assert err["Code"] == "ResourceNotFoundException"


def test_partition_value_of_another_type_matches_nothing(dynamodb: Any, table: str) -> None:
    assert run(dynamodb, f'SELECT * FROM "{table}" WHERE pk = 1')["Items"] == []


def test_projection_of_absent_attributes_is_an_empty_item(dynamodb: Any, table: str) -> None:
    assert run(dynamodb, f"SELECT nothere FROM \"{table}\" WHERE pk = 'a' AND sk = 1")["Items"] == [{}]


def test_ttl_hide_expired_hides_from_select_projections_and_index_reads(tmp_path):
    """The opt-in ttl_hide_expired: an expired, not yet deleted item is absent from a PartiQL SELECT
    also when the selected attributes leave out the TTL attribute or a KEYS_ONLY index is read."""
    import time

    import eddydb

    d = eddydb.open(str(tmp_path / "hide"), background=False, ttl_hide_expired=True)
    try:
        c = d.client("dynamodb")
        c.create_table(TableName="hide", BillingMode="PAY_PER_REQUEST",
                       KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
                       AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in ("pk", "sk", "g")],
                       GlobalSecondaryIndexes=[{"IndexName": "glob", "Projection": {"ProjectionType": "KEYS_ONLY"},
                                                "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}]}])
        c.update_time_to_live(TableName="hide", TimeToLiveSpecification={"Enabled": True, "AttributeName": "exp"})
        c.put_item(TableName="hide", Item={"pk": {"S": "a"}, "sk": {"S": "gone"}, "g": {"S": "G"},
                                           "exp": {"N": str(int(time.time()) - 60)}})
        c.put_item(TableName="hide", Item={"pk": {"S": "a"}, "sk": {"S": "here"}, "g": {"S": "G"}})
        for stmt in ('SELECT sk FROM "hide" WHERE pk = \'a\'', 'SELECT sk FROM "hide"',
                     'SELECT * FROM "hide"."glob" WHERE g = \'G\'', 'SELECT sk FROM "hide"."glob"'):
            items = c.execute_statement(Statement=stmt)["Items"]
            assert [i["sk"]["S"] for i in items] == ["here"], stmt
    finally:
        d.close()
