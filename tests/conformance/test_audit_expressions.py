"""Audit of condition, filter, update and projection expressions and their legacy parameters:
behaviours DynamoDB documents that the other conformance files did not pin down."""
from __future__ import annotations

from conformance.cfutil import K, raises
from conformance.cfutil import get as _get
from conformance.cfutil import n as _n
from conformance.cfutil import upd as _upd

V = "ValidationException"
TOO_DEEP = "^Nesting Levels have exceeded supported limits$"


def _nest(levels: int) -> dict:
    """`levels` maps, one inside the other, around a string."""
    v: dict = {"S": "x"}
    for _ in range(levels):
        v = {"M": {"a": v}}
    return v


# --- documents nested at most 32 levels deep, whichever way they are written ------------------

def test_an_update_may_not_nest_a_document_deeper_than_a_put_may(ddb, mk):
    t = mk()
    ddb.put_item(TableName=t, Item={**K, "x": _nest(31)})
    with raises(V, TOO_DEEP):  # 31 maps inside x.a.b make 33 levels
        _upd(ddb, t, "SET x.a.b = :v", {":v": _nest(31)})
    with raises(V, TOO_DEEP):  # a copy of x (32 levels) one level down
        _upd(ddb, t, "SET x.a.b = x")
    assert _get(ddb, t)["x"] == _nest(31)
    _upd(ddb, t, "SET x.b = x")  # 32 levels: allowed, and the item can be put back as it is
    item = _get(ddb, t)
    assert item["x"]["M"]["b"] == _nest(31)
    ddb.put_item(TableName=t, Item=item)


def test_a_document_at_the_32nd_level_may_be_empty_but_hold_nothing_deeper(ddb, mk):
    t = mk()
    ddb.put_item(TableName=t, Item={**K, "x": _nest(31)})
    path = "x" + ".a" * 31  # the string at the bottom, on the 32nd level
    _upd(ddb, t, f"SET {path} = :v", {":v": {"M": {}}})
    with raises(V, TOO_DEEP):
        _upd(ddb, t, f"SET {path} = :v", {":v": {"L": [{"M": {}}]}})
    ddb.put_item(TableName=t, Item=_get(ddb, t))


# --- AttributeUpdates names are attribute names -------------------------------------------------

def test_attribute_updates_may_not_name_an_empty_attribute(ddb, mk):
    t = mk()
    with raises(V, "^One or more parameter values were invalid: An attribute name cannot be empty$"):
        ddb.update_item(TableName=t, Key=K, AttributeUpdates={"": {"Value": _n(1)}})
    with raises(V, "^One or more parameter values were invalid: An attribute name cannot be empty$"):
        ddb.update_item(TableName=t, Key=K, AttributeUpdates={"": {"Action": "DELETE"}})
    assert _get(ddb, t) is None


def test_attribute_updates_may_not_name_an_attribute_over_64_kb(ddb, mk):
    t = mk()
    with raises(V, "Attribute name is too large, must be less than 65536 bytes"):
        ddb.update_item(TableName=t, Key=K, AttributeUpdates={"a" * 65536: {"Value": _n(1)}})
    assert _get(ddb, t) is None


# --- placeholder keys ----------------------------------------------------------------------------

def test_placeholder_keys_are_ascii_letters_digits_and_underscores(ddb, mk):
    t = mk()
    with raises(V, '^ExpressionAttributeNames contains invalid key: Syntax error; key: "#é"$'):
        ddb.put_item(TableName=t, Item=K, ConditionExpression="attribute_not_exists(#é)",
                     ExpressionAttributeNames={"#é": "a"})
    with raises(V, '^ExpressionAttributeValues contains invalid key: Syntax error; key: ":é"$'):
        ddb.put_item(TableName=t, Item=K, ConditionExpression="attribute_not_exists(a) OR a = :é",
                     ExpressionAttributeValues={":é": _n(1)})
    ddb.put_item(TableName=t, Item=K, ConditionExpression="attribute_not_exists(#A_9) OR #A_9 = :_Z0",
                 ExpressionAttributeNames={"#A_9": "a"}, ExpressionAttributeValues={":_Z0": _n(1)})
    assert _get(ddb, t) == K
