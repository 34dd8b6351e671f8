"""Invariant 4 for the control plane, batches and transactions: requests with wrong JSON types get
a 4xx error with an AWS shape, never a 500 (driven through api.dispatch on an embedded instance)."""
from __future__ import annotations

import uuid
from typing import Any

import orjson
import pytest

from eddydb.api import dispatch

_BAD: list[Any] = [None, 1, "x", [], {}, [1], [{}], {"a": 1}, True, [[]],
                   [{"AttributeName": 1, "KeyType": []}], {"pk": {"S": 1}}, {"pk": {"N": "x"}}]


def _call(inst: Any, op: str, req: dict) -> tuple[int, dict]:
    out = dispatch.dispatch(inst, "DynamoDB_20120810." + op, orjson.dumps(req))
    if not isinstance(out, tuple):
        out = dispatch.complete(out)
    return out[0], orjson.loads(out[1])


@pytest.fixture(scope="module")
def setup(eddy_embedded: Any) -> tuple[Any, str]:
    inst = eddy_embedded.instance
    name = f"robust-{uuid.uuid4().hex[:8]}"
    status, body = _call(inst, "CreateTable", {
        "TableName": name, "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}], "BillingMode": "PAY_PER_REQUEST"})
    assert status == 200, body
    return inst, name


def _requests(t: str, b: Any) -> list[tuple[str, dict]]:
    create = {"TableName": f"robust-new-{uuid.uuid4().hex[:8]}", "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
              "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}], "BillingMode": "PAY_PER_REQUEST"}
    out: list[tuple[str, dict]] = []
    for field in ("TableName", "KeySchema", "AttributeDefinitions", "BillingMode", "ProvisionedThroughput",
                  "GlobalSecondaryIndexes", "LocalSecondaryIndexes", "StreamSpecification", "Tags", "SSESpecification",
                  "TableClass", "DeletionProtectionEnabled"):
        out.append(("CreateTable", {**create, field: b}))
    for field in ("AttributeDefinitions", "BillingMode", "ProvisionedThroughput", "StreamSpecification",
                  "SSESpecification", "TableClass"):
        out.append(("UpdateTable", {"TableName": t, field: b}))
    out += [
        ("UpdateTable", {"TableName": t, "GlobalSecondaryIndexUpdates": b}),
        ("UpdateTable", {"TableName": t, "GlobalSecondaryIndexUpdates": [{"Create": b}]}),
        ("UpdateTimeToLive", {"TableName": t, "TimeToLiveSpecification": b}),
        ("UpdateTimeToLive", {"TableName": t, "TimeToLiveSpecification": {"Enabled": b, "AttributeName": b}}),
        ("TagResource", {"ResourceArn": b, "Tags": b}),
        ("UntagResource", {"ResourceArn": f"arn:aws:dynamodb:us-east-1:000000000000:table/{t}", "TagKeys": b}),
        ("ListTagsOfResource", {"ResourceArn": f"arn:aws:dynamodb:us-east-1:000000000000:table/{t}", "NextToken": b}),
        ("ListTables", {"Limit": b, "ExclusiveStartTableName": b}),
        ("DescribeTable", {"TableName": b}),
        ("BatchGetItem", {"RequestItems": b}),
        ("BatchGetItem", {"RequestItems": {t: b}}),
        ("BatchGetItem", {"RequestItems": {t: {"Keys": [b]}}}),
        ("BatchGetItem", {"RequestItems": {t: {"Keys": [{"pk": {"S": "a"}}], "AttributesToGet": b}}}),
        ("BatchGetItem", {"RequestItems": {t: {"Keys": [{"pk": {"S": "a"}}], "ProjectionExpression": b}}}),
        ("BatchWriteItem", {"RequestItems": {t: [b]}}),
        ("BatchWriteItem", {"RequestItems": {t: [{"PutRequest": {"Item": b}}]}}),
        ("BatchWriteItem", {"RequestItems": {t: [{"DeleteRequest": {"Key": b}}]}}),
        ("TransactWriteItems", {"TransactItems": b}),
        ("TransactWriteItems", {"TransactItems": [b]}),
        ("TransactWriteItems", {"TransactItems": [{"Put": {"TableName": t, "Item": b}}]}),
        ("TransactWriteItems", {"TransactItems": [{"Update": {"TableName": t, "Key": {"pk": {"S": "a"}},
                                                              "UpdateExpression": "SET a = :v",
                                                              "ExpressionAttributeValues": b}}]}),
        ("TransactWriteItems", {"TransactItems": [{"ConditionCheck": {"TableName": t, "Key": {"pk": {"S": "a"}},
                                                                      "ConditionExpression": b}}]}),
        ("TransactWriteItems", {"TransactItems": [{"Delete": {"TableName": t, "Key": {"pk": {"S": "a"}}}}],
                                "ClientRequestToken": b}),
        ("TransactGetItems", {"TransactItems": [b]}),
        ("TransactGetItems", {"TransactItems": [{"Get": {"TableName": t, "Key": b}}]}),
    ]
    return out


@pytest.mark.parametrize("bad", _BAD, ids=[repr(b)[:30] for b in _BAD])
def test_wrong_types_never_answer_500(setup, bad):
    inst, t = setup
    for op, req in _requests(t, bad):
        status, body = _call(inst, op, req)
        assert status < 500, (op, req, body)
        if status == 200 and op == "CreateTable":
            _call(inst, "DeleteTable", {"TableName": req["TableName"]})
        if status >= 400:
            assert body["__type"].split("#")[-1] in ("ValidationException", "ResourceNotFoundException",
                                                       "SerializationException", "ResourceInUseException",
                                                       "LimitExceededException"), (op, req, body)
