"""Conformance audit of PartiQL (ExecuteStatement, BatchExecuteStatement, ExecuteTransaction) and of
BatchGetItem / BatchWriteItem / TransactWriteItems / TransactGetItems: request limits, result shapes
and error codes as DynamoDB documents them."""
from __future__ import annotations

import pytest

from conformance.cfutil import raises, raw_error, raw_poster

V = "ValidationException"
TOO_LARGE = "Transaction request size has exceeded the maximum allowed size of 4 MB"
_390K = "y" * (390 * 1024)


def _k(s):
    return {"pk": {"S": s}}


def _items(ddb, t):
    """Every item of `t` (a Scan page stops at 1 MB)."""
    out, kw = [], {}
    while True:
        page = ddb.scan(TableName=t, ConsistentRead=True, **kw)
        out += page["Items"]
        if "LastEvaluatedKey" not in page:
            return out
        kw = {"ExclusiveStartKey": page["LastEvaluatedKey"]}


def _count(ddb, t):
    return len(_items(ddb, t))


# --- the 4 MB transaction limit ------------------------------------------------------------------
def test_execute_transaction_of_more_than_4_mb_is_rejected_and_writes_nothing(ddb, mk):
    t = mk()
    with raises(V, TOO_LARGE):
        ddb.execute_transaction(TransactStatements=[
            {"Statement": f"INSERT INTO \"{t}\" VALUE {{'pk': 'k{i}', 'v': ?}}", "Parameters": [{"S": _390K}]}
            for i in range(11)])
    assert _count(ddb, t) == 0


def test_execute_transaction_just_under_4_mb_runs(ddb, mk):
    t = mk()
    ddb.execute_transaction(TransactStatements=[
        {"Statement": f"INSERT INTO \"{t}\" VALUE {{'pk': 'k{i}', 'v': ?}}", "Parameters": [{"S": _390K}]}
        for i in range(10)])
    assert _count(ddb, t) == 10


def test_transact_write_updates_writing_more_than_4_mb_are_rejected(ddb, mk):
    t = mk()
    with raises(V, TOO_LARGE):
        ddb.transact_write_items(TransactItems=[
            {"Update": {"TableName": t, "Key": _k(f"k{i}"), "UpdateExpression": "SET v = :v",
                        "ExpressionAttributeValues": {":v": {"S": _390K}}}} for i in range(11)])
    assert _count(ddb, t) == 0


def test_execute_transaction_updates_writing_more_than_4_mb_are_rejected(ddb, mk):
    t = mk()
    for i in range(11):
        ddb.put_item(TableName=t, Item=_k(f"k{i}"))
    with raises(V, TOO_LARGE):
        ddb.execute_transaction(TransactStatements=[
            {"Statement": f"UPDATE \"{t}\" SET v = ? WHERE pk = 'k{i}'", "Parameters": [{"S": _390K}]}
            for i in range(11)])
    assert all("v" not in x for x in _items(ddb, t))


# --- tables named by ARN ----------------------------------------------------------------------------
def test_batch_get_by_table_arn_answers_under_that_arn(ddb, mk):
    t = mk()
    arn = ddb.describe_table(TableName=t)["Table"]["TableArn"]
    ddb.put_item(TableName=t, Item={**_k("a"), "x": {"N": "1"}})
    r = ddb.batch_get_item(RequestItems={arn: {"Keys": [_k("a"), _k("b")]}})
    assert r["Responses"] == {arn: [{**_k("a"), "x": {"N": "1"}}]}
    assert r["UnprocessedKeys"] == {}


def test_batch_get_of_one_key_through_the_table_name_and_its_arn_is_a_duplicate(ddb, mk):
    t = mk()
    arn = ddb.describe_table(TableName=t)["Table"]["TableArn"]
    with raises(V, "^Provided list of item keys contains duplicates$"):
        ddb.batch_get_item(RequestItems={t: {"Keys": [_k("a")]}, arn: {"Keys": [_k("a")]}})
    r = ddb.batch_get_item(RequestItems={t: {"Keys": [_k("a")]}, arn: {"Keys": [_k("b")]}})
    assert r["Responses"] == {t: [], arn: []}


def test_batch_write_of_one_key_through_the_table_name_and_its_arn_is_a_duplicate(ddb, mk):
    t = mk()
    arn = ddb.describe_table(TableName=t)["Table"]["TableArn"]
    with raises(V, "^Provided list of item keys contains duplicates$"):
        ddb.batch_write_item(RequestItems={t: [{"PutRequest": {"Item": _k("a")}}],
                                           arn: [{"DeleteRequest": {"Key": _k("a")}}]})
    assert _count(ddb, t) == 0


# --- JSON nulls inside the statement lists (what an SDK does not send) -------------------------------
@pytest.mark.parametrize("op, member", [("BatchExecuteStatement", "Statements"),
                                        ("ExecuteTransaction", "TransactStatements")])
def test_a_null_statement_is_a_validation_error_not_a_500(eddy_server, ddbs, make_table, op, member):
    t = make_table(client=ddbs)
    post = raw_poster(eddy_server.url)
    insert = {"Statement": f"INSERT INTO \"{t}\" VALUE {{'pk': 'a'}}"}
    field = member[0].lower() + member[1:]
    message = (f"1 validation error detected: Value null at '{field}.2.member.statement' failed to satisfy "
               "constraint: Member must not be null")
    assert raw_error(post(op, {member: [insert, None]})) == (V, message)
    assert "Item" not in ddbs.get_item(TableName=t, Key=_k("a"), ConsistentRead=True)


# --- ExecuteTransaction's ClientRequestToken ---------------------------------------------------------
def test_cancelled_execute_transaction_does_not_bind_its_token(ddb, mk):
    t = mk()
    token = f"tok-{t}"[:36]
    ddb.put_item(TableName=t, Item={**_k("a"), "n": {"N": "1"}})
    failing = [{"Statement": f"UPDATE \"{t}\" SET n = 5 WHERE pk = 'a' AND n = 99"}]
    with raises("TransactionCanceledException"):
        ddb.execute_transaction(TransactStatements=failing, ClientRequestToken=token)
    other = [{"Statement": f"UPDATE \"{t}\" SET n = 7 WHERE pk = 'a'"}]
    ddb.execute_transaction(TransactStatements=other, ClientRequestToken=token)
    assert ddb.get_item(TableName=t, Key=_k("a"), ConsistentRead=True)["Item"]["n"] == {"N": "7"}


def test_execute_transaction_replay_reports_read_capacity_and_changes_nothing(ddb, mk):
    t = mk()
    token = f"tok-{t}"[:36]
    stmts = [{"Statement": f"INSERT INTO \"{t}\" VALUE {{'pk': 'a'}}"}]
    first = ddb.execute_transaction(TransactStatements=stmts, ClientRequestToken=token,
                                    ReturnConsumedCapacity="TOTAL")
    assert first["ConsumedCapacity"][0]["WriteCapacityUnits"] == 2.0
    again = ddb.execute_transaction(TransactStatements=stmts, ClientRequestToken=token,
                                    ReturnConsumedCapacity="TOTAL")   # not a DuplicateItem
    assert "WriteCapacityUnits" not in again["ConsumedCapacity"][0]
    assert again["ConsumedCapacity"][0]["ReadCapacityUnits"] > 0
    with raises("IdempotentParameterMismatchException"):
        ddb.transact_write_items(TransactItems=[{"Put": {"TableName": t, "Item": _k("a")}}], ClientRequestToken=token)
