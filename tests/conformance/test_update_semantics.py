"""UpdateItem semantics on nested documents: list positions, missing parents, ReturnValues of nested
paths. Every list index in an update refers to the list as it was before the update."""
from __future__ import annotations

from conformance.cfutil import K, raises
from conformance.cfutil import get as _get
from conformance.cfutil import n as _n
from conformance.cfutil import nl as _l
from conformance.cfutil import upd as _upd

V = "ValidationException"
BAD_PATH = "^The document path provided in the update expression is invalid for update$"


def test_set_of_several_indexes_past_the_end_appends_them_in_index_order(ddb, mk):
    t = mk()
    ddb.put_item(TableName=t, Item={**K, "a": _l(1, 2, 3)})
    _upd(ddb, t, "SET a[4] = :w, a[3] = :v", {":v": _n(7), ":w": _n(8)})
    assert _get(ddb, t)["a"] == _l(1, 2, 3, 7, 8)
    _upd(ddb, t, "SET a[20] = :w, a[10] = :v, a[0] = :z", {":v": _n(10), ":w": _n(20), ":z": _n(0)})
    assert _get(ddb, t)["a"] == _l(0, 2, 3, 7, 8, 10, 20)


def test_add_past_the_end_of_a_list_appends_in_index_order(ddb, mk):
    t = mk()
    ddb.put_item(TableName=t, Item={**K, "a": _l(1)})
    _upd(ddb, t, "ADD a[2] :w, a[1] :v", {":v": _n(7), ":w": _n(8)})
    assert _get(ddb, t)["a"] == _l(1, 7, 8)


def test_add_and_delete_on_list_elements_refer_to_the_list_before_its_removals(ddb, mk):
    t = mk()
    ddb.put_item(TableName=t, Item={**K, "a": _l(1, 2, 3)})
    _upd(ddb, t, "REMOVE a[0] ADD a[1] :v", {":v": _n(10)})
    assert _get(ddb, t)["a"] == _l(12, 3)
    ddb.put_item(TableName=t, Item={**K, "a": {"L": [{"SS": ["x"]}, _n(1), {"SS": ["y", "z"]}]}})
    _upd(ddb, t, "REMOVE a[1] DELETE a[2] :v", {":v": {"SS": ["y"]}})
    assert _get(ddb, t)["a"] == {"L": [{"SS": ["x"]}, {"SS": ["z"]}]}


def test_a_set_emptied_inside_a_list_and_a_removal_both_refer_to_the_original_positions(ddb, mk):
    t = mk()
    ddb.put_item(TableName=t, Item={**K, "a": {"L": [{"SS": ["x"]}, _n(1), _n(2)]}})
    _upd(ddb, t, "DELETE a[0] :v REMOVE a[1]", {":v": {"SS": ["x"]}})
    assert _get(ddb, t)["a"] == _l(2)


def test_remove_through_a_missing_parent_of_a_missing_item_is_invalid(ddb, mk):
    t = mk()
    with raises(V, BAD_PATH):
        _upd(ddb, t, "REMOVE x.y")
    with raises(V, BAD_PATH):
        _upd(ddb, t, "REMOVE x[0]")
    with raises(V, BAD_PATH):
        _upd(ddb, t, "DELETE x.y :v", {":v": {"SS": ["a"]}})
    assert _get(ddb, t) is None
    _upd(ddb, t, "REMOVE x, y")  # top-level: nothing to remove, nothing created
    assert _get(ddb, t) is None


def test_set_copies_a_nested_document_and_a_list_element(ddb, mk):
    t = mk()
    ddb.put_item(TableName=t, Item={**K, "b": {"M": {"x": _l(1, 2)}}})
    _upd(ddb, t, "SET a = b, c = b.x[1], b.x[0] = :v", {":v": _n(9)})
    it = _get(ddb, t)
    assert it["a"] == {"M": {"x": _l(1, 2)}} and it["c"] == _n(2) and it["b"] == {"M": {"x": _l(9, 2)}}


def test_delete_of_every_member_of_a_nested_set_removes_that_attribute(ddb, mk):
    t = mk()
    ddb.put_item(TableName=t, Item={**K, "m": {"M": {"s": {"NS": ["1", "2"]}, "k": _n(0)}}})
    r = _upd(ddb, t, "DELETE m.s :v", {":v": {"NS": ["2", "1.0"]}}, ReturnValues="UPDATED_OLD")
    assert sorted(r["Attributes"]["m"]["M"]["s"]["NS"]) == ["1", "2"]
    assert _get(ddb, t)["m"] == {"M": {"k": _n(0)}}


def test_updated_old_and_new_of_nested_paths_hold_only_those_paths(ddb, mk):
    t = mk()
    ddb.put_item(TableName=t, Item={**K, "m": {"M": {"a": _n(1), "b": _n(2), "l": _l(1, 2, 3)}}, "x": _n(5)})
    r = _upd(ddb, t, "SET m.l[0] = :v, m.l[2] = :v, m.c = :v", {":v": _n(9)}, ReturnValues="UPDATED_OLD")
    assert r["Attributes"] == {"m": {"M": {"l": _l(1, 3)}}}
    r = _upd(ddb, t, "REMOVE m.a, x", ReturnValues="UPDATED_OLD")
    assert r["Attributes"] == {"m": {"M": {"a": _n(1)}}, "x": _n(5)}
    r = _upd(ddb, t, "SET m.b = :v", {":v": _n(3)}, ReturnValues="UPDATED_NEW")
    assert r["Attributes"] == {"m": {"M": {"b": _n(3)}}}


def test_empty_strings_and_binaries_are_allowed_in_nested_values(ddb, mk):
    t = mk()
    ddb.put_item(TableName=t, Item={**K, "m": {"M": {}}})
    _upd(ddb, t, "SET m.s = :s, l = :l", {":s": {"S": ""}, ":l": {"L": [{"S": ""}, {"B": b""}]}})
    it = _get(ddb, t)
    assert it["m"] == {"M": {"s": {"S": ""}}} and it["l"] == {"L": [{"S": ""}, {"B": b""}]}


def test_an_update_past_400_kb_is_rejected_and_changes_nothing(ddb, mk):
    t = mk()
    big = {"S": "x" * 200_000}
    ddb.put_item(TableName=t, Item={**K, "a": big})
    with raises(V, "^Item size to update has exceeded the maximum allowed size$"):
        _upd(ddb, t, "SET b = a, c = a")
    assert set(_get(ddb, t)) == {"pk", "a"}


def test_a_set_value_and_its_operands_may_be_parenthesised_once(ddb, mk):
    # DynamoDB's grammar as dynalite encodes it: ( value ) around the whole right-hand side and
    # ( operand ) around each operand, function arguments too, no deeper
    t = mk()
    ddb.put_item(TableName=t, Item={**K, "a": _n(1), "l": _l(1)})
    _upd(ddb, t, "SET a = (a + :v), b = (a) - (:v), c = ((a)), l = list_append((l), :l)", {":v": _n(1), ":l": _l(2)})
    it = _get(ddb, t)
    assert (it["a"], it["b"], it["c"], it["l"]) == (_n(2), _n(0), _n(1), _l(1, 2))
    for expr in ("SET a = (((a)))", "SET a = (a + :v) + :v", "SET a = ((a + :v))", "SET a = ()"):
        with raises(V, "^Invalid UpdateExpression: Syntax error; token: "):
            _upd(ddb, t, expr, {":v": _n(1)})
