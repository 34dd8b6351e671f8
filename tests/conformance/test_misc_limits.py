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


def test_number_with_digits_of_another_script_is_not_a_number(ddb, mk):
    t = mk(range_key="sk:N")
    for text in ("\u0661\u0662", "1\u0662"):  # Arabic-Indic digits
        with raises(V, "cannot be converted"):
            ddb.put_item(TableName=t, Item={**K, "sk": {"N": text}})
        with raises(V, "cannot be converted"):
            ddb.put_item(TableName=t, Item={**K, "sk": {"N": "1"}, "n": {"N": text}})
    assert "Item" not in ddb.get_item(TableName=t, Key={**K, "sk": {"N": "1"}})


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
    expr = "(n = :v AND " * 149 + "n = :v" + ")" * 149  # 298 ANDs and comparisons: within the 300 limit
    ddb.put_item(TableName=t, Item={**K, "n": {"N": "5"}}, ConditionExpression=expr, ExpressionAttributeValues=vals)
    with raises("ConditionalCheckFailedException"):
        ddb.put_item(TableName=t, Item=K, ConditionExpression="NOT " * 299 + "n = :v", ExpressionAttributeValues=vals)
    with raises(V, "Invalid ConditionExpression: The expression has redundant parentheses;"):
        ddb.put_item(TableName=t, Item=K, ConditionExpression="(" * 2000 + "n = :v" + ")" * 2000,
                     ExpressionAttributeValues=vals)
    with raises(V, "Invalid ConditionExpression: The expression has too many nested levels"):
        ddb.put_item(TableName=t, Item=K, ConditionExpression="size(" * 200 + "n" + ")" * 200 + " = :v",
                     ExpressionAttributeValues=vals)


def test_redundant_parentheses(ddb, mk):
    # DynamoDB rejects a parenthesis around nothing but another parenthesis (moto and dynalite agree)
    t = mk()
    vals = {":v": {"N": "5"}}
    ddb.put_item(TableName=t, Item={**K, "n": {"N": "5"}})
    with raises(V, "^Invalid ConditionExpression: The expression has redundant parentheses;$"):
        ddb.put_item(TableName=t, Item=K, ConditionExpression="n = :v AND ((n = :v))", ExpressionAttributeValues=vals)
    with raises(V, "^Invalid FilterExpression: The expression has redundant parentheses;$"):
        ddb.scan(TableName=t, FilterExpression="((n = :v))", ExpressionAttributeValues=vals)
    r = ddb.scan(TableName=t, FilterExpression="(n = :v) AND (NOT (n <> :v))", ExpressionAttributeValues=vals)
    assert r["Count"] == 1


def test_at_most_300_operators_in_an_expression(ddb, mk):
    # The documented quota: 300 operators or functions per expression ("SET a = :v + :v" has one)
    t = mk()
    vals = {":v": {"N": "1"}}
    ddb.put_item(TableName=t, Item={**K, "n": {"N": "1"}})
    ok = " OR ".join(["n = :v"] * 150)  # 150 comparisons + 149 ORs
    ddb.put_item(TableName=t, Item={**K, "n": {"N": "1"}}, ConditionExpression=ok, ExpressionAttributeValues=vals)
    assert ddb.scan(TableName=t, FilterExpression=ok, ExpressionAttributeValues=vals)["Count"] == 1
    too_many = ok + " OR size(n) > :v"  # + OR, size, > = 302
    with raises(V, "^Invalid ConditionExpression: The expression contains too many operators; operator count: 302$"):
        ddb.put_item(TableName=t, Item=K, ConditionExpression=too_many, ExpressionAttributeValues=vals)
    with raises(V, "^Invalid FilterExpression: The expression contains too many operators; operator count: 302$"):
        ddb.scan(TableName=t, FilterExpression=too_many, ExpressionAttributeValues=vals)
    sets = ",".join(f"a{i}=:v+:v" for i in range(300))
    ddb.update_item(TableName=t, Key=K, UpdateExpression="SET " + sets, ExpressionAttributeValues=vals)
    assert ddb.get_item(TableName=t, Key=K)["Item"]["a299"] == {"N": "2"}
    with raises(V, "^Invalid UpdateExpression: The expression contains too many operators; operator count: 301$"):
        ddb.update_item(TableName=t, Key=K, UpdateExpression="SET " + sets + ", b = if_not_exists(b, :v)",
                        ExpressionAttributeValues=vals)


def test_expression_longer_than_4kb(ddb, mk):
    t = mk()
    vals = {":v": {"N": "1"}}
    expr = "attribute_exists(#aaaaaaaaaa) OR " * 124 + "n = :v"  # 4098 bytes, 250 operators
    with raises(V, "^Invalid ConditionExpression: Expression size has exceeded the maximum allowed size; "
                   "expression size: 4098$"):
        ddb.put_item(TableName=t, Item=K, ConditionExpression=expr, ExpressionAttributeValues=vals,
                     ExpressionAttributeNames={"#aaaaaaaaaa": "a"})


def test_importing_eddydb_leaves_the_recursion_limit_alone():
    code = ("import sys; before = sys.getrecursionlimit(); import eddydb.expressions.parser, eddydb.api.items; "
            "assert sys.getrecursionlimit() == before, sys.getrecursionlimit()")
    subprocess.run([sys.executable, "-c", code], check=True)
