"""PartiQL behaviour checked against DynamoDB's documentation, through ExecuteStatement: ORDER BY on
the key attributes, update paths that overlap, reserved words as names."""
from __future__ import annotations

from typing import Any

import pytest
from pqutil import error_of, run


@pytest.fixture
def table(dynamodb: Any, make_table: Any) -> str:
    name = make_table(("pk", "S"), ("sk", "N"))
    for p in ("a", "b", "c"):
        for i in range(3):
            dynamodb.put_item(TableName=name, Item={"pk": {"S": p}, "sk": {"N": str(i)}, "n": {"N": str(i)}})
    return name


def keys(out: dict) -> list[tuple[str, int]]:
    return [(i["pk"]["S"], int(i["sk"]["N"])) for i in out["Items"]]


# --- ORDER BY: "a hash key or a sort key to use to order returned results" -------------------------
def test_order_by_the_partition_key_of_a_hash_only_table(dynamodb: Any, make_table: Any) -> None:
    name = make_table(("pk", "S"))
    dynamodb.put_item(TableName=name, Item={"pk": {"S": "a"}})
    out = run(dynamodb, f"SELECT * FROM \"{name}\" WHERE pk = 'a' ORDER BY pk")
    assert out["Items"] == [{"pk": {"S": "a"}}]


def test_order_by_the_partition_key_orders_the_partitions_of_an_in(dynamodb: Any, table: str) -> None:
    where = f"SELECT pk, sk FROM \"{table}\" WHERE pk IN ['b', 'c', 'a'] AND sk < 2"
    assert keys(run(dynamodb, f"{where} ORDER BY pk")) == [("a", 0), ("a", 1), ("b", 0), ("b", 1), ("c", 0), ("c", 1)]
    assert keys(run(dynamodb, f"{where} ORDER BY pk DESC")) == [
        ("c", 0), ("c", 1), ("b", 0), ("b", 1), ("a", 0), ("a", 1)]


def test_order_by_partition_and_sort_key(dynamodb: Any, table: str) -> None:
    out = run(dynamodb, f"SELECT pk, sk FROM \"{table}\" WHERE pk IN ['b', 'a'] ORDER BY pk DESC, sk DESC")
    assert keys(out) == [("b", 2), ("b", 1), ("b", 0), ("a", 2), ("a", 1), ("a", 0)]
    out = run(dynamodb, f"SELECT pk, sk FROM \"{table}\" WHERE pk = 'a' ORDER BY pk, sk ASC")
    assert keys(out) == [("a", 0), ("a", 1), ("a", 2)]


def test_order_by_pages_through_next_token(dynamodb: Any, table: str) -> None:
    stmt = f"SELECT pk, sk FROM \"{table}\" WHERE pk IN ['b', 'c', 'a'] ORDER BY pk DESC, sk DESC"
    seen: list[tuple[str, int]] = []
    token = None
    while True:
        out = run(dynamodb, stmt, Limit=2, **({"NextToken": token} if token else {}))
        seen += keys(out)
        token = out.get("NextToken")
        if token is None:
            break
    assert seen == [(p, i) for p in "cba" for i in (2, 1, 0)]


@pytest.mark.parametrize("order", ["n", "sk, n", "pk, pk"])
def test_order_by_anything_but_the_key_attributes_is_rejected(dynamodb: Any, table: str, order: str) -> None:
    err = error_of(run, dynamodb, f"SELECT * FROM \"{table}\" WHERE pk = 'a' ORDER BY {order}")
    assert err["Code"] == "ValidationException"


# --- UPDATE: the same overlap rule as an UpdateExpression ------------------------------------------
@pytest.mark.parametrize(("clauses", "one", "two"), [
    ("SET n = 1, n = 2", "[n]", "[n]"),
    ("SET m = {'x': 1} SET m.x = 2", "[m]", "[m, x]"),
    ("SET n = 1 REMOVE n", "[n]", "[n]"),
])
def test_update_paths_that_overlap_are_rejected(dynamodb: Any, table: str, clauses: str, one: str, two: str) -> None:
    err = error_of(run, dynamodb, f"UPDATE \"{table}\" {clauses} WHERE pk = 'a' AND sk = 1")
    assert err["Code"] == "ValidationException"
    assert err["Message"] == ("Two document paths overlap with each other; must remove or rewrite one of these "
                              f"paths; path one: {one}, path two: {two}")
    item = dynamodb.get_item(TableName=table, Key={"pk": {"S": "a"}, "sk": {"N": "1"}}, ConsistentRead=True)["Item"]
    assert item["n"] == {"N": "1"} and "m" not in item


# --- reserved words: "PartiQL reserved words" must be double-quoted as names ---------------------
@pytest.mark.parametrize("word", ["date", "count", "key", "user", "timestamp", "Year"])
def test_a_reserved_word_as_a_bare_name_is_a_syntax_error(dynamodb: Any, table: str, word: str) -> None:
    for stmt in (f"SELECT {word} FROM \"{table}\" WHERE pk = 'a'",
                 f"SELECT * FROM \"{table}\" WHERE pk = 'a' AND {word} = 1",
                 f"UPDATE \"{table}\" SET {word} = 1 WHERE pk = 'a' AND sk = 1"):
        err = error_of(run, dynamodb, stmt)
        assert err["Code"] == "ValidationException", stmt
        assert err["Message"].startswith("Statement wasn't well formed, can't be processed: "), stmt


def test_a_reserved_word_in_double_quotes_is_a_name(dynamodb: Any, table: str) -> None:
    run(dynamodb, f"UPDATE \"{table}\" SET \"date\" = 1, \"count\" = 2 WHERE pk = 'a' AND sk = 1")
    out = run(dynamodb, f"SELECT \"date\", \"count\" FROM \"{table}\" WHERE pk = 'a' AND \"date\" = 1")
    assert out["Items"] == [{"date": {"N": "1"}, "count": {"N": "2"}}]


def test_size_stays_a_function_and_non_reserved_words_are_names(dynamodb: Any, table: str) -> None:
    run(dynamodb, f"UPDATE \"{table}\" SET name = 'x', status = 'y', type = 'z', data = [1] WHERE pk = 'a' AND sk = 1")
    out = run(dynamodb, f"SELECT name, status, type FROM \"{table}\" WHERE pk = 'a' AND size(data) = 1")
    assert out["Items"] == [{"name": {"S": "x"}, "status": {"S": "y"}, "type": {"S": "z"}}]
