"""Audit of attribute values, their limits and the single-item operations' options (PutItem, GetItem,
UpdateItem, DeleteItem), beyond test_items.py / test_misc_limits.py / test_capacity_conformance.py."""
from __future__ import annotations

import pytest

from conformance.cfutil import raw_poster

V = "ValidationException"
K = {"pk": {"S": "a"}}


# --- members an operation's input shape does not have are ignored ---------------------------------------
# DynamoDB's JSON deserializer drops members the operation does not define: an AttributeUpdates on a
# PutItem neither applies nor fails (eddydb used to translate it, and answered 500 when it was not a map).
@pytest.mark.parametrize("op, body", [
    ("PutItem", {"Item": K, "AttributeUpdates": 1}),
    ("PutItem", {"Item": K, "AttributeUpdates": ["x"]}),
    ("PutItem", {"Item": K, "AttributesToGet": 1}),
    ("DeleteItem", {"Key": K, "AttributeUpdates": "x"}),
    ("DeleteItem", {"Key": K, "AttributesToGet": [{"S": "a"}]}),
    ("GetItem", {"Key": K, "Expected": 5}),
    ("UpdateItem", {"Key": K, "AttributesToGet": True}),
])
def test_a_foreign_member_of_the_wrong_type_is_ignored_not_a_500(eddy_server, ddbs, make_table, op, body):
    t = make_table(client=ddbs)
    status, out = raw_poster(eddy_server.url)(op, {"TableName": t, **body})
    assert status == 200, out


def test_foreign_expression_members_are_ignored(eddy_server, ddbs, make_table):
    t = make_table(client=ddbs)
    post = raw_poster(eddy_server.url)
    # PutItem has no AttributeUpdates: the item is put as given
    assert post("PutItem", {"TableName": t, "Item": K, "AttributeUpdates": {"v": {"Value": {"S": "x"}}}})[0] == 200
    assert ddbs.get_item(TableName=t, Key=K, ConsistentRead=True)["Item"] == K
    # GetItem has no ConditionExpression / Expected / ExpressionAttributeValues: a plain read
    for extra in ({"ConditionExpression": "attribute_exists(zz)"}, {"Expected": {"zz": {"Exists": True}}},
                  {"UpdateExpression": "SET v = :v", "ExpressionAttributeValues": {":v": {"S": "x"}}}):
        status, out = post("GetItem", {"TableName": t, "Key": K, **extra})
        assert (status, out) == (200, {"Item": K})
    # a ProjectionExpression on an UpdateItem projects nothing, an AttributesToGet on a PutItem neither
    status, out = post("UpdateItem", {"TableName": t, "Key": K, "ProjectionExpression": "zz", "ReturnValues": "ALL_NEW"})
    assert (status, out) == (200, {"Attributes": K})
    status, out = post("PutItem", {"TableName": t, "Item": K, "AttributesToGet": ["zz"], "ReturnValues": "ALL_OLD"})
    assert (status, out) == (200, {"Attributes": K})
    # a KeyConditionExpression outside a Query is not "only valid for Query": it is not there at all
    status, out = post("PutItem", {"TableName": t, "Item": K, "KeyConditionExpression": "pk = a"})
    assert status == 200, out
    # an UpdateExpression on a DeleteItem does not use the values: they are the ConditionExpression's
    status, out = post("DeleteItem", {"TableName": t, "Key": K, "UpdateExpression": "SET v = :v",
                                      "ExpressionAttributeValues": {":v": {"S": "x"}}})
    assert status == 400
    assert out["message"] == ("ExpressionAttributeValues can only be specified when using expressions: "
                              "ConditionExpression is null")
    assert "Item" in ddbs.get_item(TableName=t, Key=K, ConsistentRead=True)
