"""Request-shape ("coral") validation: wrong JSON types are SerializationExceptions, model
constraint violations are reported together in one ValidationException, and both come before any
table lookup. Raw HTTP requests, since an SDK will not send most of these shapes."""
from __future__ import annotations

from typing import Any

import pytest

from conformance.cfutil import raises, raw_error, raw_poster

V = "ValidationException"
S = "SerializationException"
_MISSING = "no-such-table-shapes"


@pytest.fixture
def post(eddy_server: Any) -> Any:
    return raw_poster(eddy_server.url)


_err = raw_error


@pytest.mark.parametrize(("op", "body", "message"), [
    ("GetItem", {"TableName": 5, "Key": {}}, "NUMBER_VALUE cannot be converted to String"),
    ("GetItem", {"TableName": 2.5, "Key": {}}, "DECIMAL_VALUE cannot be converted to String"),
    ("GetItem", {"TableName": True, "Key": {}}, "TRUE_VALUE cannot be converted to String"),
    ("GetItem", {"TableName": ["a"], "Key": {}}, "Unrecognized collection type class java.lang.String"),
    ("GetItem", {"TableName": {"a": 1}, "Key": {}}, "Start of structure or map found where not expected"),
    ("GetItem", {"TableName": _MISSING, "Key": {}, "ConsistentRead": 1},
     "NUMBER_VALUE cannot be converted to Boolean"),
    ("GetItem", {"TableName": _MISSING, "Key": {}, "ConsistentRead": "maybe"}, "Unexpected token received from parser"),
    ("GetItem", {"TableName": _MISSING, "Key": []},
     "Unrecognized collection type java.util.Map<java.lang.String, com.amazonaws.dynamodb.v20120810.AttributeValue>"),
    ("GetItem", {"TableName": _MISSING, "Key": "k"}, "Unexpected field type"),
    ("GetItem", {"TableName": _MISSING, "Key": {"pk": "a"}}, "Unexpected value type in payload"),
    ("GetItem", {"TableName": _MISSING, "Key": {}, "AttributesToGet": "a"}, "Unexpected field type"),
    ("Query", {"TableName": _MISSING, "Limit": "5"}, "STRING_VALUE cannot be converted to Integer"),
    ("Query", {"TableName": _MISSING, "Limit": False}, "FALSE_VALUE cannot be converted to Integer"),
    ("Query", {"TableName": _MISSING, "KeyConditions": {"pk": []}},
     "Unrecognized collection type class com.amazonaws.dynamodb.v20120810.Condition"),
    ("BatchWriteItem", {"RequestItems": {_MISSING: "x"}}, "ParameterizedTypeImpl cannot be cast"),
])
def test_wrong_json_type_is_serialization_exception(post, op, body, message):
    code, msg = _err(post(op, body))
    assert code == S
    assert msg == message or (message.endswith("cannot be cast") and message in msg), msg


def test_first_wrong_type_in_document_order_wins(post):
    assert _err(post("GetItem", {"ConsistentRead": 3, "TableName": 5})) == (
        S, "NUMBER_VALUE cannot be converted to Boolean")


def test_missing_members_reported_together(post):
    assert _err(post("GetItem", {})) == (V, (
        "2 validation errors detected: Value null at 'tableName' failed to satisfy constraint: Member must not be "
        "null; Value null at 'key' failed to satisfy constraint: Member must not be null"))


def test_constraints_reported_together_before_table_lookup(post):
    code, msg = _err(post("Query", {"TableName": _MISSING, "Limit": 0, "Select": "SOME",
                                    "ReturnConsumedCapacity": "ALL"}))
    assert code == V
    assert msg == (
        "3 validation errors detected: "
        "Value 'SOME' at 'select' failed to satisfy constraint: Member must satisfy enum value set: "
        "[ALL_ATTRIBUTES, ALL_PROJECTED_ATTRIBUTES, SPECIFIC_ATTRIBUTES, COUNT]; "
        "Value 'ALL' at 'returnConsumedCapacity' failed to satisfy constraint: Member must satisfy enum value set: "
        "[INDEXES, TOTAL, NONE]; "
        "Value '0' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1")


def test_nested_member_paths(post):
    code, msg = _err(post("CreateTable", {
        "TableName": _MISSING, "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": "pk"}]}))
    assert (code, msg) == (V, ("1 validation error detected: Value null at 'keySchema.1.member.keyType' failed to "
                              "satisfy constraint: Member must not be null"))


def test_transaction_item_member_path(post):
    code, msg = _err(post("TransactWriteItems", {"TransactItems": [
        {"ConditionCheck": {"TableName": _MISSING, "Key": {"pk": {"S": "a"}}}}]}))
    assert (code, msg) == (V, ("1 validation error detected: Value null at "
                              "'transactItems.1.member.conditionCheck.conditionExpression' failed to satisfy "
                              "constraint: Member must not be null"))


def test_map_value_constraint(post):
    code, msg = _err(post("BatchWriteItem", {"RequestItems": {_MISSING: []}}))
    assert code == V
    assert msg.startswith("1 validation error detected: Value '{" + _MISSING + "=[]}' at 'requestItems' failed to "
                          "satisfy constraint: Map value must satisfy constraint: [Member must have length less than "
                          "or equal to 25, Member must have length greater than or equal to 1]")


def test_length_constraint(post):
    code, msg = _err(post("DescribeTable", {"TableName": ""}))
    assert (code, msg) == (V, ("1 validation error detected: Value '' at 'tableName' failed to satisfy constraint: "
                              "Member must have length greater than or equal to 1"))


def test_streams_request_shape(post):
    code, msg = _err(post("GetShardIterator", {"ShardIteratorType": "NOWHERE"}, prefix="DynamoDBStreams_20120810"))
    assert code == V
    assert msg.startswith("3 validation errors detected: ")
    assert "Value 'NOWHERE' at 'shardIteratorType' failed to satisfy constraint: Member must satisfy enum value " \
           "set: [TRIM_HORIZON, LATEST, AT_SEQUENCE_NUMBER, AFTER_SEQUENCE_NUMBER" in msg


def test_boolean_text_is_converted(post, ddbs, make_table):
    t = make_table(client=ddbs)
    ddbs.put_item(TableName=t, Item={"pk": {"S": "a"}, "v": {"N": "1"}})
    status, body = post("GetItem", {"TableName": t, "Key": {"pk": {"S": "a"}}, "ConsistentRead": "true"})
    assert status == 200 and body["Item"]["v"] == {"N": "1"}
    status, body = post("Query", {"TableName": t, "KeyConditionExpression": "pk = :p",
                                  "ExpressionAttributeValues": {":p": {"S": "a"}}, "ScanIndexForward": "no"})
    assert status == 200 and body["Count"] == 1


def test_fractional_limit_is_truncated(post, ddbs, make_table):
    t = make_table(client=ddbs)
    for k in "abc":
        ddbs.put_item(TableName=t, Item={"pk": {"S": k}})
    status, body = post("Scan", {"TableName": t, "Limit": 2.9})
    assert status == 200 and body["Count"] == 2


def test_sdk_request_with_missing_key_on_missing_table(ddb):
    with raises(V, "^1 validation error detected: Value null at 'key' failed to satisfy constraint"):
        ddb.get_item(TableName=_MISSING)
    with raises(V, "^1 validation error detected: Value null at 'item' failed to satisfy constraint"):
        ddb.put_item(TableName=_MISSING)


def _random_value(shape: Any, rnd: Any, depth: int = 0) -> Any:
    """A JSON value for a compiled shape: usually well-typed and within bounds, sometimes not."""
    wrong = rnd.random() < 0.08
    if wrong:
        return rnd.choice([1, 2.5, True, "x", [], {}, ["a"], {"a": 1}])
    kind = shape.kind
    if shape.opaque:
        return {"S": "v"}
    if kind == "string":
        if shape.enum is not None and rnd.random() < 0.9:
            return rnd.choice(sorted(shape.enum))
        n = rnd.choice([0, 1, 2, 3, 5, 36, 37, 300])
        return rnd.choice(["a", "b_", "é", ";"]) * n
    if kind == "boolean":
        return rnd.choice([True, False, "yes", "no"]) if rnd.random() < 0.3 else rnd.choice([True, False])
    if kind in ("integer", "long"):
        return rnd.choice([-1, 0, 1, 5, 100, 1000001, 2.5])
    if kind in ("double", "float", "timestamp"):
        return rnd.choice([0, 1.5])
    if kind == "blob":
        return "AAAA"
    if depth > 4:
        return None
    if kind == "list":
        return [_random_value(shape.member, rnd, depth + 1) for _ in range(rnd.choice([0, 1, 2]))]
    if kind == "map":
        return {rnd.choice(["k", "tbl", "", "x" * 3]): _random_value(shape.value, rnd, depth + 1)
                for _ in range(rnd.choice([0, 1, 2]))}
    return {m: _random_value(ms, rnd, depth + 1) for m, ms in shape.members.items() if rnd.random() < 0.6}


@pytest.mark.parametrize("op", ["GetItem", "PutItem", "UpdateItem", "Query", "Scan", "BatchWriteItem",
                                "BatchGetItem", "TransactWriteItems", "CreateTable", "UpdateTable", "TagResource"])
def test_fast_check_agrees_with_the_full_validation(op):
    """The precompiled per-operation check accepts exactly what the message-building path accepts."""
    import copy
    import random

    from eddydb.api import shapes
    from eddydb.model.errors import EddyError

    target = "DynamoDB_20120810." + op
    shapes.validator(target)
    model = shapes._MODELS["dynamodb"]
    root = model.shape(model.operations[op]["input"]["shape"])
    fast = shapes._fast(root)
    rnd = random.Random(op)
    for _ in range(400):
        req = _random_value(root, rnd)
        if not isinstance(req, dict):
            continue
        before = copy.deepcopy(req)
        ok = fast(req)
        try:
            shapes._slow(model, root, req)
            accepted = True
        except EddyError:
            accepted = False
        if ok:
            assert accepted and req == before, before
        elif accepted and req == before:
            raise AssertionError(f"fast check refused a valid request: {before}")
