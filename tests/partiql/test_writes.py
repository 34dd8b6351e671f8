"""INSERT, UPDATE and DELETE through ExecuteStatement: one item per statement, through the engine's write
path, with DynamoDB's errors."""
from __future__ import annotations

from typing import Any

import pytest
from pqutil import error_of, run


@pytest.fixture
def table(make_table: Any) -> str:
    return make_table(("pk", "S"), ("sk", "N"))


def get(client: Any, table: str, pk: str, sk: int) -> dict | None:
    return client.get_item(TableName=table, Key={"pk": {"S": pk}, "sk": {"N": str(sk)}}, ConsistentRead=True).get("Item")


def test_insert_writes_the_item_and_returns_no_items(dynamodb: Any, table: str) -> None:
    out = run(dynamodb, f"INSERT INTO \"{table}\" VALUE {{'pk': 'a', 'sk': 1, 'l': [1, 'x', TRUE, NULL], "
                        f"'m': {{'k': <<'s'>>}}, 'ns': <<1, 2.50>>, 'b': ?}}", {"B": b"\x01\x02"})
    assert out["Items"] == []
    assert get(dynamodb, table, "a", 1) == {
        "pk": {"S": "a"}, "sk": {"N": "1"}, "l": {"L": [{"N": "1"}, {"S": "x"}, {"BOOL": True}, {"NULL": True}]},
        "m": {"M": {"k": {"SS": ["s"]}}}, "ns": {"NS": ["1", "2.5"]}, "b": {"B": b"\x01\x02"}}


def test_insert_of_an_existing_key_is_a_duplicate_item(dynamodb: Any, table: str) -> None:
    run(dynamodb, f"INSERT INTO \"{table}\" VALUE {{'pk': 'a', 'sk': 1, 'v': 1}}")
    err = error_of(run, dynamodb, f"INSERT INTO \"{table}\" VALUE {{'pk': 'a', 'sk': 1, 'v': 2}}")
    assert err["Code"] == "DuplicateItemException"
    assert err["Message"] == "Duplicate primary key exists in table"
    assert get(dynamodb, table, "a", 1)["v"] == {"N": "1"}  # type: ignore[index]


def test_insert_without_the_key_is_rejected(dynamodb: Any, table: str) -> None:
    err = error_of(run, dynamodb, f"INSERT INTO \"{table}\" VALUE {{'pk': 'a'}}")
    assert err["Code"] == "ValidationException"
    assert "Missing the key sk" in err["Message"]
    err = error_of(run, dynamodb, f"INSERT INTO \"{table}\" VALUE {{'pk': 'a', 'sk': 'not a number'}}")
    assert "Type mismatch for key sk" in err["Message"]


def test_update_set_arithmetic_list_append_sets_and_remove(dynamodb: Any, table: str) -> None:
    run(dynamodb, f"INSERT INTO \"{table}\" VALUE {{'pk': 'a', 'sk': 1, 'n': 5, 'l': [1], 's': <<'x', 'y'>>, "
                  f"'gone': 'soon', 'm': {{'in': [0, 0]}}}}")
    out = run(dynamodb, f"UPDATE \"{table}\" SET n = n + 1 SET l = list_append(l, [2, 3]), t = ? "
                        f"SET s = set_add(s, <<'z'>>) SET m.\"in\"[1] = 'one' REMOVE gone "
                        f"WHERE pk = 'a' AND sk = 1", {"S": "new"})
    assert out["Items"] == []
    item = get(dynamodb, table, "a", 1)
    assert item is not None
    assert item["n"] == {"N": "6"}
    assert item["l"] == {"L": [{"N": "1"}, {"N": "2"}, {"N": "3"}]}
    assert item["t"] == {"S": "new"}
    assert sorted(item["s"]["SS"]) == ["x", "y", "z"]
    assert item["m"] == {"M": {"in": {"L": [{"N": "0"}, {"S": "one"}]}}}
    assert "gone" not in item
    run(dynamodb, f"UPDATE \"{table}\" SET s = set_delete(s, <<'x', 'y'>>), n = n - 10 WHERE pk = 'a' AND sk = 1")
    item = get(dynamodb, table, "a", 1)
    assert item["s"] == {"SS": ["z"]} and item["n"] == {"N": "-4"}  # type: ignore[index]


@pytest.mark.parametrize(("returning", "expected"), [
    ("ALL OLD", {"pk": {"S": "a"}, "sk": {"N": "1"}, "n": {"N": "1"}, "o": {"S": "x"}}),
    ("MODIFIED OLD", {"n": {"N": "1"}}),
    ("ALL NEW", {"pk": {"S": "a"}, "sk": {"N": "1"}, "n": {"N": "2"}, "o": {"S": "x"}}),
    ("MODIFIED NEW", {"n": {"N": "2"}}),
])
def test_update_returning(dynamodb: Any, table: str, returning: str, expected: dict) -> None:
    run(dynamodb, f"INSERT INTO \"{table}\" VALUE {{'pk': 'a', 'sk': 1, 'n': 1, 'o': 'x'}}")
    out = run(dynamodb, f"UPDATE \"{table}\" SET n = n + 1 WHERE pk = 'a' AND sk = 1 RETURNING {returning} *")
    assert out["Items"] == [expected]


def test_update_of_a_missing_item_fails_the_condition(dynamodb: Any, table: str) -> None:
    err = error_of(run, dynamodb, f"UPDATE \"{table}\" SET n = 1 WHERE pk = 'nope' AND sk = 1")
    assert err["Code"] == "ConditionalCheckFailedException"
    assert get(dynamodb, table, "nope", 1) is None


def test_update_with_a_condition(dynamodb: Any, table: str) -> None:
    run(dynamodb, f"INSERT INTO \"{table}\" VALUE {{'pk': 'a', 'sk': 1, 'n': 1}}")
    run(dynamodb, f"UPDATE \"{table}\" SET n = 2 WHERE pk = 'a' AND sk = 1 AND n = 1")
    err = error_of(run, dynamodb, f"UPDATE \"{table}\" SET n = 3 WHERE pk = 'a' AND sk = 1 AND n = 1",
                   ReturnValuesOnConditionCheckFailure="ALL_OLD")
    assert err["Code"] == "ConditionalCheckFailedException"
    assert err["Item"] == {"pk": {"S": "a"}, "sk": {"N": "1"}, "n": {"N": "2"}}
    err = error_of(run, dynamodb, f"UPDATE \"{table}\" SET n = 3 WHERE pk = 'a' AND sk = 1 AND n = 1")
    assert "Item" not in err


@pytest.mark.parametrize("where", ["pk = 'a'", "sk = 1", "pk = 'a' AND sk > 1", "pk = 'a' OR sk = 1",
                                   "pk = 'a' AND sk = 1 AND sk = 2"])
def test_write_where_must_pin_the_full_primary_key(dynamodb: Any, table: str, where: str) -> None:
    for stmt in (f'UPDATE "{table}" SET n = 1 WHERE {where}', f'DELETE FROM "{table}" WHERE {where}'):
        err = error_of(run, dynamodb, stmt)
        assert err["Code"] == "ValidationException"
        assert err["Message"] == "Where clause does not contain a mandatory equality on all key attributes"


def test_update_of_a_key_attribute_is_rejected(dynamodb: Any, table: str) -> None:
    run(dynamodb, f"INSERT INTO \"{table}\" VALUE {{'pk': 'a', 'sk': 1}}")
    err = error_of(run, dynamodb, f"UPDATE \"{table}\" SET sk = 2 WHERE pk = 'a' AND sk = 1")
    assert err["Message"] == "Cannot update attribute sk. This attribute is part of the key"


def test_update_operand_of_the_wrong_type(dynamodb: Any, table: str) -> None:
    run(dynamodb, f"INSERT INTO \"{table}\" VALUE {{'pk': 'a', 'sk': 1, 's': 'text'}}")
    err = error_of(run, dynamodb, f"UPDATE \"{table}\" SET s = s + 1 WHERE pk = 'a' AND sk = 1")
    assert err["Message"] == "An operand in the update expression has an incorrect data type"


def test_delete_removes_the_item_and_returns_the_old_one(dynamodb: Any, table: str) -> None:
    run(dynamodb, f"INSERT INTO \"{table}\" VALUE {{'pk': 'a', 'sk': 1, 'n': 1}}")
    out = run(dynamodb, f"DELETE FROM \"{table}\" WHERE pk = ? AND sk = ? RETURNING ALL OLD *",
              {"S": "a"}, {"N": "1"})
    assert out["Items"] == [{"pk": {"S": "a"}, "sk": {"N": "1"}, "n": {"N": "1"}}]
    assert get(dynamodb, table, "a", 1) is None


def test_delete_of_a_missing_item_succeeds(dynamodb: Any, table: str) -> None:
    assert run(dynamodb, f"DELETE FROM \"{table}\" WHERE pk = 'x' AND sk = 1 AND n = 5")["Items"] == []


def test_delete_with_a_failing_condition(dynamodb: Any, table: str) -> None:
    run(dynamodb, f"INSERT INTO \"{table}\" VALUE {{'pk': 'a', 'sk': 1, 'n': 1}}")
    err = error_of(run, dynamodb, f"DELETE FROM \"{table}\" WHERE pk = 'a' AND sk = 1 AND n = 2",
                   ReturnValuesOnConditionCheckFailure="ALL_OLD")
    assert err["Code"] == "ConditionalCheckFailedException"
    assert err["Item"]["n"] == {"N": "1"}
    assert get(dynamodb, table, "a", 1) is not None


def test_write_consumed_capacity(dynamodb: Any, table: str) -> None:
    out = run(dynamodb, f"INSERT INTO \"{table}\" VALUE {{'pk': 'a', 'sk': 1}}", ReturnConsumedCapacity="TOTAL")
    assert out["ConsumedCapacity"] == {"TableName": table, "CapacityUnits": 1.0}


def test_parameters_of_the_wrong_count_are_rejected(dynamodb: Any, table: str) -> None:
    err = error_of(run, dynamodb, f'INSERT INTO "{table}" VALUE {{\'pk\': ?, \'sk\': ?}}', {"S": "a"})
    assert err["Code"] == "ValidationException"
    assert "Number of parameters" in err["Message"]


def test_syntax_error_is_a_validation_exception(dynamodb: Any, table: str) -> None:
    err = error_of(run, dynamodb, f'INSERT "{table}" VALUE {{}}')
    assert err["Code"] == "ValidationException"
    assert err["Message"].startswith("Statement wasn't well formed")


def test_limit_on_a_write_is_rejected(dynamodb: Any, table: str) -> None:
    err = error_of(run, dynamodb, f"DELETE FROM \"{table}\" WHERE pk = 'a' AND sk = 1", Limit=1)
    assert err["Code"] == "ValidationException"


def test_write_to_a_missing_table(dynamodb: Any) -> None:
    err = error_of(run, dynamodb, "INSERT INTO \"no-such-table-here\" VALUE {'pk': 'a'}")
    assert err["Code"] == "ResourceNotFoundException"


def test_writes_maintain_secondary_indexes(dynamodb: Any, make_table: Any) -> None:
    name = make_table(("pk", "S"), gsi={"byg": ("g:S",)})
    run(dynamodb, f"INSERT INTO \"{name}\" VALUE {{'pk': 'a', 'g': 'one'}}")
    run(dynamodb, f"UPDATE \"{name}\" SET g = 'two' WHERE pk = 'a'")
    assert run(dynamodb, f"SELECT pk FROM \"{name}\".\"byg\" WHERE g = 'one'")["Items"] == []
    assert run(dynamodb, f"SELECT pk FROM \"{name}\".\"byg\" WHERE g = 'two'")["Items"] == [{"pk": {"S": "a"}}]
    err = error_of(run, dynamodb, f"UPDATE \"{name}\" SET g = 5 WHERE pk = 'a'")
    assert "Type mismatch for Index Key g" in err["Message"]
    run(dynamodb, f"DELETE FROM \"{name}\" WHERE pk = 'a'")
    assert run(dynamodb, f"SELECT pk FROM \"{name}\".\"byg\"")["Items"] == []


def test_insert_value_parameter(dynamodb: Any, table: str) -> None:
    item = {"pk": {"S": "p"}, "sk": {"N": "7"}, "x": {"L": [{"S": "y"}]}}
    run(dynamodb, f'INSERT INTO "{table}" VALUE ?', {"M": item})
    assert get(dynamodb, table, "p", 7) == item


def test_set_add_takes_a_set(dynamodb: Any, table: str) -> None:
    run(dynamodb, f"INSERT INTO \"{table}\" VALUE {{'pk': 'a', 'sk': 1, 'n': 1}}")
    err = error_of(run, dynamodb, f"UPDATE \"{table}\" SET n = set_add(n, ?) WHERE pk = 'a' AND sk = 1", {"N": "1"})
    assert err["Message"] == "An operand in the update expression has an incorrect data type"
    assert get(dynamodb, table, "a", 1)["n"] == {"N": "1"}  # type: ignore[index]
