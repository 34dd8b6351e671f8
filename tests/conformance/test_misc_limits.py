"""Reserved words, operand limits, nesting depth, transaction request shapes."""
from __future__ import annotations

import subprocess
import sys

from conformance.cfutil import raises

V = "ValidationException"
K = {"pk": {"S": "a"}}


def test_reserved_words(ddb, mk):
    t = mk()
    ddb.put_item(TableName=t, Item={**K, "name": {"S": "x"}})
    with raises(V, "Invalid ProjectionExpression: Attribute name is a reserved keyword; reserved keyword: name"):
        ddb.get_item(TableName=t, Key=K, ProjectionExpression="name")
    with raises(V, "Invalid UpdateExpression: Attribute name is a reserved keyword; reserved keyword: name"):
        ddb.update_item(TableName=t, Key=K, UpdateExpression="SET name = :v", ExpressionAttributeValues={":v": {"S": "y"}})
    r = ddb.get_item(TableName=t, Key=K, ProjectionExpression="#n", ExpressionAttributeNames={"#n": "name"})
    assert r["Item"] == {"name": {"S": "x"}}


def test_in_operand_limit(ddb, mk):
    t = mk()
    names = [f":v{i}" for i in range(101)]
    values = {n: {"N": str(i)} for i, n in enumerate(names)}
    with raises(V, "The IN operator is provided with too many operands; number of operands: 101"):
        ddb.put_item(TableName=t, Item=K, ConditionExpression=f"pk IN ({', '.join(names)})",
                     ExpressionAttributeValues=values)
    del values[":v100"]
    ddb.put_item(TableName=t, Item=K, ConditionExpression=f"attribute_not_exists(pk) OR pk IN ({', '.join(names[:100])})",
                 ExpressionAttributeValues=values)


def test_nesting_depth(ddb, mk):
    t = mk()

    def nest(n):
        v = {"N": "1"}
        for _ in range(n):
            v = {"L": [v]}
        return v
    ddb.put_item(TableName=t, Item={**K, "d": nest(31)})
    with raises(V, "Nesting Levels have exceeded supported limits"):
        ddb.put_item(TableName=t, Item={**K, "d": nest(33)})


def test_transaction_request_shapes(ddb, mk):
    t = mk()
    with raises(V, "Transaction request cannot include multiple operations on one item"):
        ddb.transact_get_items(TransactItems=[{"Get": {"TableName": t, "Key": K}}, {"Get": {"TableName": t, "Key": K}}])
    with raises(V, "Member must not be null"):
        ddb.transact_write_items(TransactItems=[{"Update": {"TableName": t, "Key": K}}])
    with raises(V, "Member must have length less than or equal to 36"):
        ddb.transact_write_items(TransactItems=[{"Put": {"TableName": t, "Item": K}}], ClientRequestToken="x" * 37)
    with raises("TransactionCanceledException", r"\[ValidationError\]") as e:
        ddb.transact_write_items(TransactItems=[{"Update": {"TableName": t, "Key": K, "UpdateExpression": "SET a = b + :v",
                                                            "ExpressionAttributeValues": {":v": {"N": "1"}}}}])
    reason = e.error.response["CancellationReasons"][0]
    assert reason["Code"] == "ValidationError"
    assert "does not exist in the item" in reason["Message"]


def test_deeply_nested_condition_expression(ddb, mk):
    t = mk()
    ddb.put_item(TableName=t, Item={**K, "n": {"N": "5"}})
    vals = {":v": {"N": "5"}}
    expr = "(" * 2000 + "n = :v" + ")" * 2000
    ddb.put_item(TableName=t, Item={**K, "n": {"N": "5"}}, ConditionExpression=expr, ExpressionAttributeValues=vals)
    expr = "(n = :v AND " * 300 + "n = :v" + ")" * 300
    ddb.put_item(TableName=t, Item={**K, "n": {"N": "5"}}, ConditionExpression=expr, ExpressionAttributeValues=vals)
    with raises("ConditionalCheckFailedException"):
        ddb.put_item(TableName=t, Item=K, ConditionExpression="NOT " * 999 + "n = :v", ExpressionAttributeValues=vals)
    with raises(V, "Invalid ConditionExpression: The expression has too many nested levels"):
        ddb.put_item(TableName=t, Item=K, ConditionExpression="size(" * 200 + "n" + ")" * 200 + " = :v",
                     ExpressionAttributeValues=vals)


def test_importing_eddydb_leaves_the_recursion_limit_alone():
    code = ("import sys; before = sys.getrecursionlimit(); import eddydb.expressions.parser, eddydb.api.items; "
            "assert sys.getrecursionlimit() == before, sys.getrecursionlimit()")
    subprocess.run([sys.executable, "-c", code], check=True)
