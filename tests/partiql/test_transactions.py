"""ExecuteTransaction: all-or-nothing writes (with EXISTS as a condition check) or one-snapshot reads."""
from __future__ import annotations

from typing import Any

import pytest
from pqutil import error_of, run


@pytest.fixture
def table(dynamodb: Any, make_table: Any) -> str:
    name = make_table(("pk", "S"))
    for k in ("a", "b"):
        dynamodb.put_item(TableName=name, Item={"pk": {"S": k}, "n": {"N": "1"}})
    return name


def items(client: Any, table: str) -> dict[str, dict]:
    return {i["pk"]["S"]: i for i in run(client, f'SELECT * FROM "{table}"', ConsistentRead=True)["Items"]}


def test_write_transaction_applies_every_statement(dynamodb: Any, table: str) -> None:
    out = dynamodb.execute_transaction(TransactStatements=[
        {"Statement": f"INSERT INTO \"{table}\" VALUE {{'pk': 'c', 'n': 3}}"},
        {"Statement": f'UPDATE "{table}" SET n = n + ? WHERE pk = ?', "Parameters": [{"N": "5"}, {"S": "a"}]},
        {"Statement": f"DELETE FROM \"{table}\" WHERE pk = 'b'"},
    ])
    assert "Responses" not in out or out["Responses"] == []
    now = items(dynamodb, table)
    assert set(now) == {"a", "c"} and now["a"]["n"] == {"N": "6"}


def test_failed_statement_cancels_the_whole_transaction(dynamodb: Any, table: str) -> None:
    err = error_of(dynamodb.execute_transaction, TransactStatements=[
        {"Statement": f"UPDATE \"{table}\" SET n = 7 WHERE pk = 'a'"},
        {"Statement": f"INSERT INTO \"{table}\" VALUE {{'pk': 'b'}}"},
        {"Statement": f"UPDATE \"{table}\" SET n = 7 WHERE pk = 'missing'",
         "ReturnValuesOnConditionCheckFailure": "ALL_OLD"},
    ])
    assert err["Code"] == "TransactionCanceledException"
    reasons = err["CancellationReasons"]
    assert [r["Code"] for r in reasons] == ["None", "DuplicateItem", "ConditionalCheckFailed"]
    assert "Item" not in reasons[2]
    assert "[None, DuplicateItem, ConditionalCheckFailed]" in err["Message"]
    assert items(dynamodb, table)["a"]["n"] == {"N": "1"}


def test_cancellation_reason_carries_the_item_when_asked(dynamodb: Any, table: str) -> None:
    err = error_of(dynamodb.execute_transaction, TransactStatements=[
        {"Statement": f"EXISTS(SELECT * FROM \"{table}\" WHERE pk = 'b' AND n = 2)",
         "ReturnValuesOnConditionCheckFailure": "ALL_OLD"},
        {"Statement": f"DELETE FROM \"{table}\" WHERE pk = 'a'"},
    ])
    reasons = err["CancellationReasons"]
    assert reasons[0]["Code"] == "ConditionalCheckFailed"
    assert reasons[0]["Item"] == {"pk": {"S": "b"}, "n": {"N": "1"}}
    assert "a" in items(dynamodb, table)


def test_exists_guards_a_write(dynamodb: Any, table: str) -> None:
    dynamodb.execute_transaction(TransactStatements=[
        {"Statement": f"EXISTS(SELECT * FROM \"{table}\" WHERE pk = 'a' AND n = 1)"},
        {"Statement": f"UPDATE \"{table}\" SET n = 2 WHERE pk = 'b'"},
    ])
    assert items(dynamodb, table)["b"]["n"] == {"N": "2"}
    err = error_of(dynamodb.execute_transaction, TransactStatements=[
        {"Statement": f"EXISTS(SELECT * FROM \"{table}\" WHERE pk = 'nope')"},
        {"Statement": f"UPDATE \"{table}\" SET n = 3 WHERE pk = 'b'"},
    ])
    assert [r["Code"] for r in err["CancellationReasons"]] == ["ConditionalCheckFailed", "None"]


def test_read_transaction_returns_items_in_order(dynamodb: Any, table: str) -> None:
    out = dynamodb.execute_transaction(TransactStatements=[
        {"Statement": f"SELECT * FROM \"{table}\" WHERE pk = 'b'"},
        {"Statement": f"SELECT n FROM \"{table}\" WHERE pk = 'a'"},
        {"Statement": f"SELECT * FROM \"{table}\" WHERE pk = 'none'"},
    ], ReturnConsumedCapacity="TOTAL")
    assert out["Responses"] == [{"Item": {"pk": {"S": "b"}, "n": {"N": "1"}}}, {"Item": {"n": {"N": "1"}}}, {}]
    assert out["ConsumedCapacity"][0]["TableName"] == table


def test_reads_and_writes_do_not_mix(dynamodb: Any, table: str) -> None:
    err = error_of(dynamodb.execute_transaction, TransactStatements=[
        {"Statement": f"SELECT * FROM \"{table}\" WHERE pk = 'a'"},
        {"Statement": f"UPDATE \"{table}\" SET n = 9 WHERE pk = 'b'"},
    ])
    assert err["Code"] == "ValidationException"
    assert items(dynamodb, table)["b"]["n"] == {"N": "1"}


def test_two_statements_on_one_item_are_rejected(dynamodb: Any, table: str) -> None:
    err = error_of(dynamodb.execute_transaction, TransactStatements=[
        {"Statement": f"UPDATE \"{table}\" SET n = 8 WHERE pk = 'a'"},
        {"Statement": f"DELETE FROM \"{table}\" WHERE pk = 'a'"},
    ])
    assert err["Message"] == "Transaction request cannot include multiple operations on one item"


def test_invalid_statement_rejects_the_transaction_before_it_runs(dynamodb: Any, table: str) -> None:
    update_a = f"UPDATE \"{table}\" SET n = 8 WHERE pk = 'a'"
    select_a = f"SELECT * FROM \"{table}\" WHERE pk = 'a'"
    for good, bad in ((update_a, f'UPDATE "{table}" SET n = 8 WHERE n = 1'), (update_a, "SELEC oops"),
                      (select_a, f'SELECT * FROM "{table}" WHERE n = 1')):
        err = error_of(dynamodb.execute_transaction, TransactStatements=[{"Statement": good}, {"Statement": bad}])
        assert err["Code"] == "ValidationException", bad
    err = error_of(dynamodb.execute_transaction, TransactStatements=[
        {"Statement": "DELETE FROM \"no-such-table-here\" WHERE pk = 'a'"}])
    assert err["Code"] == "ResourceNotFoundException"
    assert items(dynamodb, table)["a"]["n"] == {"N": "1"}


def test_client_request_token_makes_the_transaction_idempotent(dynamodb: Any, table: str) -> None:
    stmts = [{"Statement": f"UPDATE \"{table}\" SET n = n + 1 WHERE pk = 'a'"}]
    dynamodb.execute_transaction(TransactStatements=stmts, ClientRequestToken="tok-partiql-1")
    dynamodb.execute_transaction(TransactStatements=stmts, ClientRequestToken="tok-partiql-1")
    assert items(dynamodb, table)["a"]["n"] == {"N": "2"}
    err = error_of(dynamodb.execute_transaction, ClientRequestToken="tok-partiql-1",
                   TransactStatements=[{"Statement": f"UPDATE \"{table}\" SET n = 0 WHERE pk = 'a'"}])
    assert err["Code"] == "IdempotentParameterMismatchException"
