"""BatchGetItem / BatchWriteItem / TransactWriteItems / TransactGetItems errors and shapes."""
from __future__ import annotations

from conformance.cfutil import raises

V = "ValidationException"


def _k(s):
    return {"pk": {"S": s}}


def test_batch_write_and_get(ddb, mk):
    t = mk()
    r = ddb.batch_write_item(RequestItems={t: [{"PutRequest": {"Item": {**_k(str(i)), "x": {"N": str(i)}}}}
                                               for i in range(25)]})
    assert r["UnprocessedItems"] == {}
    r = ddb.batch_get_item(RequestItems={t: {"Keys": [_k(str(i)) for i in range(30)], "ProjectionExpression": "x"}})
    assert len(r["Responses"][t]) == 25 and r["UnprocessedKeys"] == {}
    assert all(set(i) == {"x"} for i in r["Responses"][t])
    r = ddb.batch_write_item(RequestItems={t: [{"DeleteRequest": {"Key": _k("0")}}]})
    r = ddb.batch_get_item(RequestItems={t: {"Keys": [_k("0")]}})
    assert r["Responses"] == {t: []}


def test_batch_errors(ddb, mk):
    t = mk()
    with raises(V, "Provided list of item keys contains duplicates"):
        ddb.batch_write_item(RequestItems={t: [{"PutRequest": {"Item": _k("a")}}, {"DeleteRequest": {"Key": _k("a")}}]})
    with raises(V, "Provided list of item keys contains duplicates"):
        ddb.batch_get_item(RequestItems={t: {"Keys": [_k("a"), _k("a")]}})
    with raises(V, "Member must have length less than or equal to 25"):
        ddb.batch_write_item(RequestItems={t: [{"PutRequest": {"Item": _k(str(i))}} for i in range(26)]})
    with raises(V, "Member must have length less than or equal to 100"):
        ddb.batch_get_item(RequestItems={t: {"Keys": [_k(str(i)) for i in range(101)]}})
    t2 = mk()
    with raises(V, "Too many items requested for the BatchGetItem call"):
        ddb.batch_get_item(RequestItems={t: {"Keys": [_k(str(i)) for i in range(60)]},
                                         t2: {"Keys": [_k(str(i)) for i in range(60)]}})
    with raises("ResourceNotFoundException", "Requested resource not found"):
        ddb.batch_write_item(RequestItems={"nosuch-tab": [{"PutRequest": {"Item": _k("a")}}]})
    with raises("ResourceNotFoundException"):
        ddb.batch_get_item(RequestItems={"nosuch-tab": {"Keys": [_k("a")]}})
    with raises(V, "The provided key element does not match the schema"):
        ddb.batch_get_item(RequestItems={t: {"Keys": [{"x": {"S": "a"}}]}})
    with raises(V):
        ddb.batch_write_item(RequestItems={t: [{"PutRequest": {"Item": _k("a")}, "DeleteRequest": {"Key": _k("b")}}]})
    with raises(V):
        ddb.batch_write_item(RequestItems={t: [{}]})
    with raises(V):
        ddb.batch_write_item(RequestItems={})
    with raises(V, "Missing the key pk in the item"):
        ddb.batch_write_item(RequestItems={t: [{"PutRequest": {"Item": {"x": {"S": "a"}}}}]})


def test_transact_write_ok_and_cancel(ddb, mk):
    t = mk()
    ddb.transact_write_items(TransactItems=[
        {"Put": {"TableName": t, "Item": {**_k("a"), "n": {"N": "1"}}}},
        {"Update": {"TableName": t, "Key": _k("b"), "UpdateExpression": "SET n = :v",
                    "ExpressionAttributeValues": {":v": {"N": "2"}}}},
    ])
    with raises("TransactionCanceledException",
                r"^Transaction cancelled, please refer cancellation reasons for specific reasons "
                r"\[None, ConditionalCheckFailed\]$") as e:
        ddb.transact_write_items(TransactItems=[
            {"Put": {"TableName": t, "Item": {**_k("c")}}},
            {"ConditionCheck": {"TableName": t, "Key": _k("a"), "ConditionExpression": "n = :v",
                                "ExpressionAttributeValues": {":v": {"N": "5"}},
                                "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}},
        ])
    reasons = e.error.response["CancellationReasons"]
    assert reasons[0] == {"Code": "None"}
    assert reasons[1]["Code"] == "ConditionalCheckFailed"
    assert reasons[1]["Message"] == "The conditional request failed"
    assert reasons[1]["Item"] == {**_k("a"), "n": {"N": "1"}}
    assert "Item" not in ddb.get_item(TableName=t, Key=_k("c"))


def test_transact_write_errors(ddb, mk):
    t = mk()
    with raises(V, "Transaction request cannot include multiple operations on one item"):
        ddb.transact_write_items(TransactItems=[{"Put": {"TableName": t, "Item": _k("a")}},
                                                {"Delete": {"TableName": t, "Key": _k("a")}}])
    with raises(V, "Member must have length less than or equal to 100"):
        ddb.transact_write_items(TransactItems=[{"Put": {"TableName": t, "Item": _k(str(i))}} for i in range(101)])
    with raises("ResourceNotFoundException"):
        ddb.transact_write_items(TransactItems=[{"Put": {"TableName": "nosuch-tab", "Item": _k("a")}}])
    with raises(V):
        ddb.transact_write_items(TransactItems=[{"Put": {"TableName": t, "Item": _k("a")},
                                                 "Delete": {"TableName": t, "Key": _k("b")}}])
    with raises(V):
        ddb.transact_write_items(TransactItems=[{"ConditionCheck": {"TableName": t, "Key": _k("a")}}])
    with raises(V, "Missing the key pk in the item"):
        ddb.transact_write_items(TransactItems=[{"Put": {"TableName": t, "Item": {"x": {"S": "a"}}}}])


def test_transact_idempotency(ddb, mk):
    t = mk()
    items = [{"Update": {"TableName": t, "Key": _k("a"), "UpdateExpression": "ADD n :v",
                         "ExpressionAttributeValues": {":v": {"N": "1"}}}}]
    ddb.transact_write_items(TransactItems=items, ClientRequestToken="tok1")
    ddb.transact_write_items(TransactItems=items, ClientRequestToken="tok1")
    assert ddb.get_item(TableName=t, Key=_k("a"))["Item"]["n"] == {"N": "1"}
    with raises("IdempotentParameterMismatchException"):
        ddb.transact_write_items(TransactItems=[{"Put": {"TableName": t, "Item": _k("z")}}], ClientRequestToken="tok1")


def test_transact_get(ddb, mk):
    t = mk()
    ddb.put_item(TableName=t, Item={**_k("a"), "x": {"S": "1"}, "y": {"S": "2"}})
    r = ddb.transact_get_items(TransactItems=[
        {"Get": {"TableName": t, "Key": _k("a"), "ProjectionExpression": "x"}},
        {"Get": {"TableName": t, "Key": _k("missing")}},
    ])
    assert r["Responses"] == [{"Item": {"x": {"S": "1"}}}, {}]
    with raises(V, "Member must have length less than or equal to 100"):
        ddb.transact_get_items(TransactItems=[{"Get": {"TableName": t, "Key": _k(str(i))}} for i in range(101)])
    with raises("ResourceNotFoundException"):
        ddb.transact_get_items(TransactItems=[{"Get": {"TableName": "nosuch-tab", "Key": _k("a")}}])
    with raises(V, "The provided key element does not match the schema"):
        ddb.transact_get_items(TransactItems=[{"Get": {"TableName": t, "Key": {"zz": {"S": "a"}}}}])


def test_transact_put_of_an_item_invalid_on_its_own_is_a_validation_exception(ddb, mk):
    t = mk("pk", gsi={"gsi": ("g:S",)})
    ddb.put_item(TableName=t, Item=_k("b"))
    with raises(V, "^One or more parameter values are not valid. A value specified for a secondary index key is not "
                   "supported. The AttributeValue for a key attribute cannot contain an empty string value. "
                   "IndexName: gsi, IndexKey: g$"):
        ddb.transact_write_items(TransactItems=[
            {"Delete": {"TableName": t, "Key": _k("b")}},
            {"Put": {"TableName": t, "Item": {**_k("a"), "g": {"S": ""}}}}])
    with raises(V, "^One or more parameter values were invalid: Type mismatch for Index Key g Expected: S Actual: N "
                   "IndexName: gsi$"):
        ddb.transact_write_items(TransactItems=[{"Put": {"TableName": t, "Item": {**_k("a"), "g": {"N": "1"}}}}])
    assert "Item" in ddb.get_item(TableName=t, Key=_k("b"))
    assert "Item" not in ddb.get_item(TableName=t, Key=_k("a"))


def test_batch_and_transaction_validation_comes_before_the_table_lookup(ddb):
    t = "no-such-table-xyz"
    with raises(V, "An string set  may not be empty"):
        ddb.batch_write_item(RequestItems={t: [{"PutRequest": {"Item": {**_k("a"), "s": {"SS": []}}}}]})
    with raises(V, "The parameter cannot be converted to a numeric value: x"):
        ddb.batch_write_item(RequestItems={t: [{"DeleteRequest": {"Key": {"pk": {"N": "x"}}}}]})
    with raises(V, "Invalid UpdateExpression: Syntax error"):
        ddb.transact_write_items(TransactItems=[{"Update": {"TableName": t, "Key": _k("a"), "UpdateExpression": "SET"}}])
    with raises(V, "^Item size has exceeded the maximum allowed size$"):
        ddb.transact_write_items(TransactItems=[{"Put": {"TableName": t, "Item": {**_k("a"), "x": {"S": "y" * 409600}}}}])
    with raises("ResourceNotFoundException"):
        ddb.transact_write_items(TransactItems=[{"ConditionCheck": {"TableName": t, "Key": _k("a"),
                                                                    "ConditionExpression": "attribute_exists(pk)"}}])


def test_batch_get_and_transact_get_validation_comes_before_the_table_lookup(ddb, mk):
    t = "no-such-table-xyz"
    with raises(V, "^Provided list of item keys contains duplicates$"):
        ddb.batch_get_item(RequestItems={t: {"Keys": [{**_k("a"), "n": {"N": "1"}}, {"n": {"N": "1"}, **_k("a")}]}})
    with raises(V, "^Provided list of item keys contains duplicates$"):  # the missing table comes after a real one
        ddb.batch_get_item(RequestItems={mk(): {"Keys": [_k("a")]}, t: {"Keys": [_k("b"), _k("b")]}})
    with raises(V, "The parameter cannot be converted to a numeric value: x"):
        ddb.batch_get_item(RequestItems={t: {"Keys": [{"pk": {"N": "x"}}]}})
    with raises(V, "^Invalid ProjectionExpression: The expression can not be empty;$"):
        ddb.batch_get_item(RequestItems={t: {"Keys": [_k("a")], "ProjectionExpression": ""}})
    with raises(V, "^Can not use both expression and non-expression parameters in the same request"):
        ddb.batch_get_item(RequestItems={t: {"Keys": [_k("a")], "ProjectionExpression": "x", "AttributesToGet": ["x"]}})
    with raises(V, "^Invalid ProjectionExpression: The expression can not be empty;$"):
        ddb.transact_get_items(TransactItems=[{"Get": {"TableName": t, "Key": _k("a"), "ProjectionExpression": ""}}])
    with raises(V, "The parameter cannot be converted to a numeric value: x"):
        ddb.transact_get_items(TransactItems=[{"Get": {"TableName": t, "Key": {"pk": {"N": "x"}}}}])
    with raises(V, r"^Value provided in ExpressionAttributeNames unused in expressions: keys: \{#a\}$"):
        ddb.transact_get_items(TransactItems=[{"Get": {"TableName": t, "Key": _k("a"), "ProjectionExpression": "x",
                                                       "ExpressionAttributeNames": {"#a": "a"}}}])
    # valid reads of a missing table still answer ResourceNotFoundException
    with raises("ResourceNotFoundException", "^Requested resource not found$"):
        ddb.batch_get_item(RequestItems={t: {"Keys": [_k("a"), _k("b")], "ProjectionExpression": "x"}})
    with raises("ResourceNotFoundException", "^Requested resource not found$"):
        ddb.transact_get_items(TransactItems=[{"Get": {"TableName": t, "Key": _k("a")}}])
