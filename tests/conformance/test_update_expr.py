"""UpdateExpression edge cases as real DynamoDB answers them (alternator test_update_expression.py style)."""
from __future__ import annotations

from conformance.cfutil import K, raises
from conformance.cfutil import get as _get
from conformance.cfutil import n as _n
from conformance.cfutil import nl as _l
from conformance.cfutil import upd as _upd

V = "ValidationException"


def test_set_list_index_beyond_end_appends(ddb, mk):
    t = mk()
    ddb.put_item(TableName=t, Item={**K, "a": _l(1, 2)})
    _upd(ddb, t, "SET a[5] = :v", {":v": _n(9)})
    assert _get(ddb, t)["a"] == _l(1, 2, 9)
    _upd(ddb, t, "SET a[0] = :v", {":v": _n(7)})
    assert _get(ddb, t)["a"] == _l(7, 2, 9)
    _upd(ddb, t, "SET a[7] = :v, a[8] = :w", {":v": _n(10), ":w": _n(11)})
    assert _get(ddb, t)["a"] == _l(7, 2, 9, 10, 11)


def test_set_list_index_on_non_list(ddb, mk):
    t = mk()
    ddb.put_item(TableName=t, Item={**K, "a": {"S": "x"}, "m": {"M": {}}})
    with raises(V, "The document path provided in the update expression is invalid for update"):
        _upd(ddb, t, "SET a[0] = :v", {":v": _n(1)})
    with raises(V, "The document path provided in the update expression is invalid for update"):
        _upd(ddb, t, "SET nothere[0] = :v", {":v": _n(1)})
    with raises(V, "The document path provided in the update expression is invalid for update"):
        _upd(ddb, t, "SET nothere.b = :v", {":v": _n(1)})
    with raises(V, "The document path provided in the update expression is invalid for update"):
        _upd(ddb, t, "SET m.x.y = :v", {":v": _n(1)})
    _upd(ddb, t, "SET m.x = :v", {":v": _n(1)})
    assert _get(ddb, t)["m"] == {"M": {"x": _n(1)}}


def test_remove_list_elements(ddb, mk):
    t = mk()
    ddb.put_item(TableName=t, Item={**K, "a": _l(0, 1, 2, 3, 4)})
    _upd(ddb, t, "REMOVE a[1], a[3]")  # indexes refer to the list before the update
    assert _get(ddb, t)["a"] == _l(0, 2, 4)
    _upd(ddb, t, "REMOVE a[10]")       # beyond the end: no-op
    assert _get(ddb, t)["a"] == _l(0, 2, 4)
    _upd(ddb, t, "REMOVE nothere, a[0]")
    assert _get(ddb, t)["a"] == _l(2, 4)
    with raises(V, "The document path provided in the update expression is invalid for update"):
        _upd(ddb, t, "REMOVE nothere2.x")


def test_remove_then_nested(ddb, mk):
    t = mk()
    ddb.put_item(TableName=t, Item={**K, "m": {"M": {"a": {"M": {"b": _n(1), "c": _n(2)}}}}})
    _upd(ddb, t, "REMOVE m.a.b")
    assert _get(ddb, t)["m"] == {"M": {"a": {"M": {"c": _n(2)}}}}


def test_add(ddb, mk):
    t = mk()
    _upd(ddb, t, "ADD n :v, s :s", {":v": _n(3), ":s": {"SS": ["a"]}})
    assert _get(ddb, t)["n"] == _n(3) and _get(ddb, t)["s"] == {"SS": ["a"]}
    _upd(ddb, t, "ADD n :v, s :s", {":v": _n(-1.5), ":s": {"SS": ["b", "a"]}})
    it = _get(ddb, t)
    assert it["n"] == _n(1.5) and sorted(it["s"]["SS"]) == ["a", "b"]
    ddb.put_item(TableName=t, Item={**K, "x": {"S": "str"}, "ns": {"NS": ["1"]}})
    with raises(V, "An operand in the update expression has an incorrect data type"):
        _upd(ddb, t, "ADD x :v", {":v": _n(1)})
    with raises(V, "An operand in the update expression has an incorrect data type"):
        _upd(ddb, t, "ADD ns :v", {":v": {"SS": ["a"]}})
    with raises(V, "Incorrect operand type for operator or function; operator: ADD, operand type: STRING"):
        _upd(ddb, t, "ADD y :v", {":v": {"S": "a"}})
    with raises(V):
        _upd(ddb, t, "ADD y :v", {":v": _l(1)})


def test_delete_from_set(ddb, mk):
    t = mk()
    ddb.put_item(TableName=t, Item={**K, "s": {"SS": ["a", "b"]}, "x": _n(1)})
    _upd(ddb, t, "DELETE s :v", {":v": {"SS": ["a", "zz"]}})
    assert _get(ddb, t)["s"] == {"SS": ["b"]}
    _upd(ddb, t, "DELETE s :v", {":v": {"SS": ["b"]}})
    assert "s" not in _get(ddb, t)
    _upd(ddb, t, "DELETE nothere :v", {":v": {"SS": ["b"]}})
    assert "nothere" not in _get(ddb, t)
    with raises(V, "An operand in the update expression has an incorrect data type"):
        _upd(ddb, t, "DELETE x :v", {":v": {"NS": ["1"]}})
    with raises(V, "Incorrect operand type for operator or function; operator: DELETE, operand type: NUMBER"):
        _upd(ddb, t, "DELETE x :v", {":v": _n(1)})


def test_list_append(ddb, mk):
    t = mk()
    ddb.put_item(TableName=t, Item={**K, "a": _l(1), "s": {"S": "x"}})
    _upd(ddb, t, "SET a = list_append(a, :v)", {":v": _l(2, 3)})
    _upd(ddb, t, "SET a = list_append(:v, a)", {":v": _l(0)})
    assert _get(ddb, t)["a"] == _l(0, 1, 2, 3)
    with raises(V, "Incorrect operand type for operator or function; operator or function: list_append, operand type: S"):
        _upd(ddb, t, "SET a = list_append(a, :v)", {":v": {"S": "x"}})
    with raises(V, "The provided expression refers to an attribute that does not exist in the item"):
        _upd(ddb, t, "SET a = list_append(nothere, :v)", {":v": _l(1)})
    _upd(ddb, t, "SET b = list_append(if_not_exists(b, :e), :v)", {":v": _l(1), ":e": {"L": []}})
    assert _get(ddb, t)["b"] == _l(1)


def test_if_not_exists(ddb, mk):
    t = mk()
    ddb.put_item(TableName=t, Item={**K, "a": _n(1)})
    _upd(ddb, t, "SET a = if_not_exists(a, :v), b = if_not_exists(b, :v)", {":v": _n(5)})
    it = _get(ddb, t)
    assert it["a"] == _n(1) and it["b"] == _n(5)
    _upd(ddb, t, "SET c = if_not_exists(a, :v) + :one", {":v": _n(5), ":one": _n(1)})
    assert _get(ddb, t)["c"] == _n(2)
    with raises(V, "Operator or function requires a document path; operator or function: if_not_exists"):
        _upd(ddb, t, "SET a = if_not_exists(:v, a)", {":v": _n(5)})


def test_arithmetic(ddb, mk):
    t = mk()
    ddb.put_item(TableName=t, Item={**K, "a": _n(1), "s": {"S": "x"}})
    _upd(ddb, t, "SET b = a + :v, c = :v - a, d = :v + :v", {":v": _n(2.5)})
    it = _get(ddb, t)
    assert (it["b"], it["c"], it["d"]) == (_n(3.5), _n(1.5), _n(5))
    with raises(V, "An operand in the update expression has an incorrect data type"):
        _upd(ddb, t, "SET b = s + :v", {":v": _n(1)})
    with raises(V, "The provided expression refers to an attribute that does not exist in the item"):
        _upd(ddb, t, "SET b = nothere + :v", {":v": _n(1)})
    with raises(V, "Number overflow"):
        _upd(ddb, t, "SET b = :v + :v", {":v": _n("9.9999999999999999999999999999999999999E+125")})


def test_overlapping_and_sections(ddb, mk):
    t = mk()
    with raises(V, r"Two document paths overlap with each other; must remove or rewrite one of these paths; "
                   r"path one: \[a\], path two: \[a\]"):
        _upd(ddb, t, "SET a = :v, a = :v", {":v": _n(1)})
    with raises(V, "Two document paths overlap"):
        _upd(ddb, t, "SET a.b = :v REMOVE a", {":v": _n(1)})
    with raises(V, "Two document paths conflict with each other"):
        _upd(ddb, t, "SET a.b = :v, a[0] = :v", {":v": _n(1)})
    with raises(V, r'The "SET" section can only be used once in an update expression'):
        _upd(ddb, t, "SET a = :v SET b = :v", {":v": _n(1)})
    with raises(V, "Invalid UpdateExpression: Syntax error"):
        _upd(ddb, t, "SET", {})
    with raises(V, "Invalid UpdateExpression: The function is not allowed in an update expression; function: size"):
        _upd(ddb, t, "SET a = size(b)")
    with raises(V, "^1 validation error detected: Invalid UpdateExpression: The expression can not be empty;$"):
        _upd(ddb, t, "")  # UpdateItem words it as a one-error coral report (as moto records)
    with raises(V, "^1 validation error detected: Invalid UpdateExpression: The expression can not be empty;$"):
        _upd(ddb, t, "  ")


def test_nested_set_and_names(ddb, mk):
    t = mk()
    ddb.put_item(TableName=t, Item={**K, "m": {"M": {"x.y": {"M": {"z": {"L": [_n(1)]}}}}}})
    _upd(ddb, t, "SET m.#a.z[0] = :v, #b = :v", {":v": _n(2)}, {"#a": "x.y", "#b": "dotted.name"})
    it = _get(ddb, t)
    assert it["m"]["M"]["x.y"]["M"]["z"] == _l(2)
    assert it["dotted.name"] == _n(2)


def test_update_condition_on_missing_item(ddb, mk):
    t = mk()
    with raises("ConditionalCheckFailedException"):
        _upd(ddb, t, "SET a = :v", {":v": _n(1)}, ConditionExpression="attribute_exists(pk)")
    _upd(ddb, t, "SET a = :v", {":v": _n(1)}, ConditionExpression="attribute_not_exists(pk)")
    assert _get(ddb, t)["a"] == _n(1)


def test_legacy_attribute_updates(ddb, mk):
    t = mk()
    ddb.update_item(TableName=t, Key=K, AttributeUpdates={
        "a": {"Action": "PUT", "Value": _n(1)}, "s": {"Action": "ADD", "Value": {"SS": ["x"]}},
        "n": {"Action": "ADD", "Value": _n(2)}})
    ddb.update_item(TableName=t, Key=K, AttributeUpdates={"a": {"Action": "DELETE"}, "n": {"Action": "ADD", "Value": _n(2)}},
                    Expected={"n": {"Value": _n(2)}})
    it = _get(ddb, t)
    assert "a" not in it and it["n"] == _n(4) and it["s"] == {"SS": ["x"]}
    with raises("ConditionalCheckFailedException"):
        ddb.update_item(TableName=t, Key=K, AttributeUpdates={"a": {"Action": "PUT", "Value": _n(1)}},
                        Expected={"n": {"Exists": False}})


def test_remove_only_update_does_not_create_item(ddb, mk):
    # DynamoDB creates the item for SET/ADD (and for an empty update) but not for REMOVE/DELETE alone
    t = mk()
    r = _upd(ddb, t, "REMOVE x", ReturnValues="ALL_NEW")
    assert "Attributes" not in r and _get(ddb, t) is None
    _upd(ddb, t, "DELETE s :v", {":v": {"SS": ["a"]}})
    assert _get(ddb, t) is None
    ddb.update_item(TableName=t, Key=K, AttributeUpdates={"x": {"Action": "DELETE"}})
    assert _get(ddb, t) is None
    ddb.update_item(TableName=t, Key=K)
    assert _get(ddb, t) == K
    _upd(ddb, t, "REMOVE x")  # an existing key-only item stays
    assert _get(ddb, t) == K
