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


def test_a_transaction_update_past_32_levels_is_cancelled_with_a_validation_error(ddb, mk):
    t = mk()
    ddb.put_item(TableName=t, Item={**K, "x": _nest(31)})
    with raises("TransactionCanceledException") as e:
        ddb.transact_write_items(TransactItems=[
            {"Put": {"TableName": t, "Item": {"pk": {"S": "b"}}}},
            {"Update": {"TableName": t, "Key": K, "UpdateExpression": "SET x.a.b = x"}}])
    reasons = e.error.response["CancellationReasons"]
    assert reasons[1] == {"Code": "ValidationError", "Message": "Nesting Levels have exceeded supported limits"}
    assert ddb.get_item(TableName=t, Key={"pk": {"S": "b"}}).get("Item") is None


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


# --- each grammar's keywords ------------------------------------------------------------------

def test_remove_is_a_plain_attribute_name_outside_update_expressions(ddb, mk):
    # REMOVE is a keyword of the update grammar only, and no reserved word
    t = mk()
    ddb.put_item(TableName=t, Item={**K, "remove": _n(1), "m": {"M": {"remove": _n(2)}}})
    ddb.put_item(TableName=t, Item={**K, "remove": _n(3), "m": {"M": {"remove": _n(2)}}},
                 ConditionExpression="remove = :v AND m.remove = :w", ExpressionAttributeValues={":v": _n(1), ":w": _n(2)})
    got = ddb.get_item(TableName=t, Key=K, ProjectionExpression="remove, m.remove")["Item"]
    assert got == {"remove": _n(3), "m": {"M": {"remove": _n(2)}}}
    assert ddb.scan(TableName=t, FilterExpression="remove > :v", ExpressionAttributeValues={":v": _n(2)})["Count"] == 1


def test_update_keywords_in_a_condition_are_reserved_words_not_syntax_errors(ddb, mk):
    t = mk()
    for word in ("set", "ADD", "delete"):
        with raises(V, f"^Invalid ConditionExpression: Attribute name is a reserved keyword; reserved keyword: {word}$"):
            ddb.put_item(TableName=t, Item=K, ConditionExpression=f"attribute_not_exists({word})")
        with raises(V, f"^Invalid ProjectionExpression: Attribute name is a reserved keyword; reserved keyword: {word}$"):
            ddb.get_item(TableName=t, Key=K, ProjectionExpression=f"a, {word}")


def test_condition_keywords_in_an_update_or_projection_are_reserved_words(ddb, mk):
    t = mk()
    for expr, word in (("SET x = and", "and"), ("SET x.between = :v", "between"), ("REMOVE not", "not"),
                       ("SET x = if_not_exists(in, :v)", "in"), ("ADD or :v", "or")):
        with raises(V, f"^Invalid UpdateExpression: Attribute name is a reserved keyword; reserved keyword: {word}$"):
            _upd(ddb, t, expr, {":v": _n(1)} if ":v" in expr else None)
    with raises(V, "^Invalid ProjectionExpression: Attribute name is a reserved keyword; reserved keyword: between$"):
        ddb.get_item(TableName=t, Key=K, ProjectionExpression="a.between")
    # the update grammar's own keywords stay syntax errors where a name is expected
    with raises(V, '^Invalid UpdateExpression: Syntax error; token: "remove"'):
        _upd(ddb, t, "SET remove = :v", {":v": _n(1)})
