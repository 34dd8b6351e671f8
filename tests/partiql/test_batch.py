"""BatchExecuteStatement: up to 25 reads or 25 writes, each statement answered (or failed) on its own."""
from __future__ import annotations

from typing import Any

import pytest
from pqutil import error_of, run


@pytest.fixture
def table(dynamodb: Any, make_table: Any) -> str:
    name = make_table(("pk", "S"), ("sk", "N"))
    for i in range(3):
        dynamodb.put_item(TableName=name, Item={"pk": {"S": "a"}, "sk": {"N": str(i)}, "n": {"N": str(i)}})
    return name


def test_batch_reads_answer_in_statement_order(dynamodb: Any, table: str) -> None:
    out = dynamodb.batch_execute_statement(Statements=[
        {"Statement": f"SELECT * FROM \"{table}\" WHERE pk = 'a' AND sk = 2"},
        {"Statement": f'SELECT n FROM "{table}" WHERE pk = ? AND sk = ?', "Parameters": [{"S": "a"}, {"N": "0"}]},
        {"Statement": f"SELECT * FROM \"{table}\" WHERE pk = 'a' AND sk = 9"},
        {"Statement": f"SELECT * FROM \"{table}\" WHERE pk = 'a' AND sk = 1 AND n = 5"},
    ], ReturnConsumedCapacity="TOTAL")
    r = out["Responses"]
    assert r[0] == {"TableName": table, "Item": {"pk": {"S": "a"}, "sk": {"N": "2"}, "n": {"N": "2"}}}
    assert r[1] == {"TableName": table, "Item": {"n": {"N": "0"}}}
    assert r[2] == {"TableName": table}
    assert r[3] == {"TableName": table}
    assert out["ConsumedCapacity"] == [{"TableName": table, "CapacityUnits": 2.0}]


def test_batch_read_must_pin_the_full_key(dynamodb: Any, table: str) -> None:
    out = dynamodb.batch_execute_statement(Statements=[
        {"Statement": f"SELECT * FROM \"{table}\" WHERE pk = 'a'"},
        {"Statement": f"SELECT * FROM \"{table}\" WHERE pk = 'a' AND sk = 0"},
    ])
    assert out["Responses"][0]["Error"]["Code"] == "ValidationError"
    assert "Item" in out["Responses"][1]


def test_batch_writes_fail_one_by_one(dynamodb: Any, table: str) -> None:
    out = dynamodb.batch_execute_statement(Statements=[
        {"Statement": f"INSERT INTO \"{table}\" VALUE {{'pk': 'a', 'sk': 0}}"},                       # duplicate
        {"Statement": f"INSERT INTO \"{table}\" VALUE {{'pk': 'b', 'sk': 0}}"},                       # ok
        {"Statement": f"UPDATE \"{table}\" SET n = 10 WHERE pk = 'a' AND sk = 1 AND n = 99",
         "ReturnValuesOnConditionCheckFailure": "ALL_OLD"},                                          # condition
        {"Statement": f"UPDATE \"{table}\" SET n = 20 WHERE pk = 'a' AND sk = 2"},                   # ok
        {"Statement": f"DELETE FROM \"{table}\" WHERE pk = 'a'"},                                     # not the key
        {"Statement": "INSERT INTO \"no-such-table-here\" VALUE {'pk': 'x'}"},                        # no table
        {"Statement": f"INSERT INTO \"{table}\" VALUE {{'pk': ?, 'sk': 1}}"},                        # parameters
        {"Statement": f"DELETE FROM \"{table}\" WHERE pk = 'a' AND sk = 0"},                         # ok
    ])
    r = out["Responses"]
    assert r[0]["Error"] == {"Code": "DuplicateItem", "Message": "Duplicate primary key exists in table"}
    assert r[0]["TableName"] == table
    assert r[1] == {"TableName": table}
    assert r[2]["Error"]["Code"] == "ConditionalCheckFailed"
    assert r[2]["Error"]["Item"] == {"pk": {"S": "a"}, "sk": {"N": "1"}, "n": {"N": "1"}}
    assert r[3] == {"TableName": table}
    assert r[4]["Error"]["Code"] == "ValidationError"
    assert r[5]["Error"]["Code"] == "ResourceNotFound"
    assert r[6]["Error"]["Code"] == "ValidationError"
    assert r[7] == {"TableName": table}
    left = run(dynamodb, f'SELECT pk, sk, n FROM "{table}"', ConsistentRead=True)["Items"]
    assert sorted((i["pk"]["S"], i["sk"]["N"], i.get("n", {}).get("N")) for i in left) == [
        ("a", "1", "1"), ("a", "2", "20"), ("b", "0", None)]


def test_reads_and_writes_do_not_mix_in_a_batch(dynamodb: Any, table: str) -> None:
    err = error_of(dynamodb.batch_execute_statement, Statements=[
        {"Statement": f"SELECT * FROM \"{table}\" WHERE pk = 'a' AND sk = 0"},
        {"Statement": f"DELETE FROM \"{table}\" WHERE pk = 'a' AND sk = 0"},
    ])
    assert err["Code"] == "ValidationException"
    assert run(dynamodb, f"SELECT * FROM \"{table}\" WHERE pk = 'a' AND sk = 0")["Items"]


def test_at_most_25_statements(ddb: Any, table: str) -> None:
    stmts = [{"Statement": f"SELECT * FROM \"{table}\" WHERE pk = 'a' AND sk = {i}"} for i in range(26)]
    err = error_of(ddb.batch_execute_statement, Statements=stmts)
    assert err["Code"] == "ValidationException"
    assert "length less than or equal to 25" in err["Message"]
    assert len(ddb.batch_execute_statement(Statements=stmts[:25])["Responses"]) == 25


def test_batch_write_consumed_capacity(dynamodb: Any, table: str) -> None:
    out = dynamodb.batch_execute_statement(Statements=[
        {"Statement": f"INSERT INTO \"{table}\" VALUE {{'pk': 'c', 'sk': 0}}"},
        {"Statement": f"INSERT INTO \"{table}\" VALUE {{'pk': 'c', 'sk': 1}}"},
    ], ReturnConsumedCapacity="TOTAL")
    assert out["ConsumedCapacity"] == [{"TableName": table, "CapacityUnits": 2.0}]


def test_a_batch_read_of_a_table_dropped_after_its_lookup_is_resource_not_found(monkeypatch):
    """A DeleteTable committing between a statement's table lookup and its read answers that statement
    ResourceNotFound (as BatchGetItem does), not an item-less success."""
    import eddydb
    from eddydb.api import partiql

    with eddydb.open(None) as db:
        c = db.client()
        c.create_table(TableName="gone", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                       AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                       BillingMode="PAY_PER_REQUEST")
        c.put_item(TableName="gone", Item={"pk": {"S": "a"}})
        stale = db.instance.engine.table("gone")
        c.delete_table(TableName="gone")
        monkeypatch.setattr(partiql, "_table", lambda _inst, _name: stale)   # looked up before the drop
        out = c.batch_execute_statement(Statements=[{"Statement": "SELECT * FROM gone WHERE pk = 'a'"}])
        assert out["Responses"][0]["Error"]["Code"] == "ResourceNotFound"
        assert "Item" not in out["Responses"][0]
