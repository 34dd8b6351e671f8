"""Update expressions: SET (arithmetic, if_not_exists, list_append), REMOVE, ADD, DELETE and their errors."""
from __future__ import annotations

import pytest

from eddydb.expressions import apply_update, parse_update
from eddydb.model.errors import ValidationException


def S(s):
    return {"S": s}


def N(n):
    return {"N": n}


def L(*xs):
    return {"L": list(xs)}


def up(expr: str, item: dict | None, values: dict | None = None, names: dict | None = None) -> dict:
    return apply_update(parse_update(expr, names, values), item)


def err(expr: str, item: dict | None, values: dict | None = None, names: dict | None = None) -> str:
    with pytest.raises(ValidationException) as e:
        up(expr, item, values, names)
    return e.value.message


# --- SET ---------------------------------------------------------------------------------
def test_set_top_level_creates_and_replaces():
    assert up("SET a = :v", {}, {":v": S("x")}) == {"a": S("x")}
    assert up("SET a = :v", {"a": N("1")}, {":v": S("x")}) == {"a": S("x")}
    assert up("SET a = :v", None, {":v": S("x")}) == {"a": S("x")}


def test_set_does_not_mutate_the_old_item():
    old = {"m": {"M": {"x": N("1")}}, "l": L(N("1"))}
    snapshot = {"m": {"M": {"x": N("1")}}, "l": L(N("1"))}
    new = up("SET m.y = :v, l[0] = :v", old, {":v": N("2")})
    assert old == snapshot
    assert new == {"m": {"M": {"x": N("1"), "y": N("2")}}, "l": L(N("2"))}


def test_set_copies_from_another_attribute():
    assert up("SET b = a", {"a": N("1")}) == {"a": N("1"), "b": N("1")}


def test_set_right_hand_sides_see_the_old_item():
    assert up("SET a = b, b = a", {"a": N("1"), "b": N("2")}) == {"a": N("2"), "b": N("1")}


def test_set_arithmetic():
    assert up("SET a = a + :v", {"a": N("1.5")}, {":v": N("2")}) == {"a": N("3.5")}
    assert up("SET a = :v - a", {"a": N("1")}, {":v": N("10")}) == {"a": N("9")}
    assert up("SET a = b - c", {"b": N("1"), "c": N("1")}) == {"b": N("1"), "c": N("1"), "a": N("0")}


def test_arithmetic_has_38_digit_precision():
    big = "9" * 37 + "0"
    assert up("SET a = a + :v", {"a": N(big)}, {":v": N("9")}) == {"a": N("9" * 38)}
    assert err("SET a = a + :v", {"a": N("1e20")}, {":v": N("1e-20")}) == (
        "Attempting to store more than 38 significant digits in a Number")


def test_arithmetic_overflow():
    assert err("SET a = a + :v", {"a": N("9.9999999999999999999999999999999999999E+125")},
               {":v": N("9.9999999999999999999999999999999999999E+125")}).startswith("Number overflow")


def test_arithmetic_on_non_number_is_incorrect_data_type():
    assert err("SET a = a + :v", {"a": S("x")}, {":v": N("1")}) == (
        "An operand in the update expression has an incorrect data type")


def test_arithmetic_constant_of_wrong_type_is_incorrect_operand_type():
    assert err("SET a = a + :v", {"a": N("1")}, {":v": S("x")}) == (
        "Invalid UpdateExpression: Incorrect operand type for operator or function; operator or function: +, "
        "operand type: S")


def test_arithmetic_on_missing_attribute():
    assert err("SET a = a + :v", {}, {":v": N("1")}) == (
        "The provided expression refers to an attribute that does not exist in the item")


def test_if_not_exists():
    assert up("SET a = if_not_exists(a, :v)", {}, {":v": N("0")}) == {"a": N("0")}
    assert up("SET a = if_not_exists(a, :v)", {"a": N("5")}, {":v": N("0")}) == {"a": N("5")}
    assert up("SET a = if_not_exists(a, :z) + :one", {}, {":z": N("0"), ":one": N("1")}) == {"a": N("1")}
    assert up("SET a = if_not_exists(b, c)", {"c": S("x")}) == {"a": S("x"), "c": S("x")}


def test_if_not_exists_requires_a_path():
    assert "requires a document path; operator or function: if_not_exists" in err(
        "SET a = if_not_exists(:v, :v)", {}, {":v": N("1")})


def test_list_append():
    item = {"l": L(N("1"))}
    assert up("SET l = list_append(l, :v)", item, {":v": L(N("2"))}) == {"l": L(N("1"), N("2"))}
    assert up("SET l = list_append(:v, l)", item, {":v": L(N("0"))}) == {"l": L(N("0"), N("1"))}
    assert up("SET l = list_append(if_not_exists(l, :e), :v)", {}, {":e": L(), ":v": L(N("2"))}) == {"l": L(N("2"))}


def test_list_append_wrong_types():
    assert err("SET l = list_append(l, :v)", {"l": S("x")}, {":v": L()}) == (
        "An operand in the update expression has an incorrect data type")
    assert "operator or function: list_append, operand type: S" in err(
        "SET l = list_append(l, :v)", {"l": L()}, {":v": S("x")})


def test_set_nested_map_and_list_elements():
    item = {"m": {"M": {"a": {"M": {}}}}, "l": L(N("0"), N("1"))}
    new = up("SET m.a.b = :v, l[1] = :v", item, {":v": S("x")})
    assert new == {"m": {"M": {"a": {"M": {"b": S("x")}}}}, "l": L(N("0"), S("x"))}


def test_set_list_index_past_the_end_appends():
    assert up("SET l[10] = :v", {"l": L(N("0"))}, {":v": S("x")}) == {"l": L(N("0"), S("x"))}
    assert up("SET l[10] = :a, l[11] = :b", {"l": L()}, {":a": S("a"), ":b": S("b")}) == {"l": L(S("a"), S("b"))}


def test_set_through_missing_or_wrong_parent_is_invalid_path():
    msg = "The document path provided in the update expression is invalid for update"
    assert err("SET m.a = :v", {}, {":v": N("1")}) == msg
    assert err("SET m.a = :v", {"m": S("x")}, {":v": N("1")}) == msg
    assert err("SET l[0] = :v", {"l": {"M": {}}}, {":v": N("1")}) == msg
    assert err("SET m.a.b = :v", {"m": {"M": {}}}, {":v": N("1")}) == msg


def test_set_with_name_placeholders():
    assert up("SET #a.#b = :v", {"x": {"M": {}}}, {":v": N("1")}, {"#a": "x", "#b": "y.z"}) == {
        "x": {"M": {"y.z": N("1")}}}


# --- REMOVE ------------------------------------------------------------------------------------
def test_remove_attributes():
    assert up("REMOVE a, b", {"a": N("1"), "b": N("2"), "c": N("3")}) == {"c": N("3")}
    assert up("REMOVE nope", {"a": N("1")}) == {"a": N("1")}


def test_remove_nested():
    item = {"m": {"M": {"a": N("1"), "b": N("2")}}}
    assert up("REMOVE m.a", item) == {"m": {"M": {"b": N("2")}}}
    assert item == {"m": {"M": {"a": N("1"), "b": N("2")}}}


def test_remove_list_elements_shifts_the_rest():
    item = {"l": L(S("a"), S("b"), S("c"), S("d"))}
    assert up("REMOVE l[1]", item) == {"l": L(S("a"), S("c"), S("d"))}
    # indexes refer to the list before the update
    assert up("REMOVE l[0], l[2]", item) == {"l": L(S("b"), S("d"))}
    assert up("REMOVE l[2], l[0]", item) == {"l": L(S("b"), S("d"))}
    assert up("REMOVE l[9]", item) == item


# --- ADD ---------------------------------------------------------------------------------------
def test_add_numbers_and_creates():
    assert up("ADD n :v", {"n": N("1")}, {":v": N("2")}) == {"n": N("3")}
    assert up("ADD n :v", {}, {":v": N("-2")}) == {"n": N("-2")}


def test_add_to_sets():
    assert up("ADD s :v", {"s": {"SS": ["a"]}}, {":v": {"SS": ["a", "b"]}}) == {"s": {"SS": ["a", "b"]}}
    assert up("ADD s :v", {}, {":v": {"NS": ["1"]}}) == {"s": {"NS": ["1"]}}
    assert up("ADD s :v", {"s": {"NS": ["1"]}}, {":v": {"NS": ["1.0", "2"]}}) == {"s": {"NS": ["1", "2"]}}


def test_add_type_mismatch():
    assert err("ADD s :v", {"s": {"SS": ["a"]}}, {":v": {"NS": ["1"]}}) == (
        "An operand in the update expression has an incorrect data type")
    assert err("ADD s :v", {"s": S("a")}, {":v": N("1")}) == (
        "An operand in the update expression has an incorrect data type")


def test_add_requires_number_or_set_operand():
    assert err("ADD s :v", {}, {":v": S("x")}) == (
        "Invalid UpdateExpression: Incorrect operand type for operator or function; operator: ADD, "
        "operand type: STRING")


def test_add_nested():
    assert up("ADD m.n :v", {"m": {"M": {"n": N("1")}}}, {":v": N("1")}) == {"m": {"M": {"n": N("2")}}}


# --- DELETE ------------------------------------------------------------------------------------
def test_delete_from_set():
    assert up("DELETE s :v", {"s": {"SS": ["a", "b"]}}, {":v": {"SS": ["a", "z"]}}) == {"s": {"SS": ["b"]}}
    assert up("DELETE s :v", {"s": {"NS": ["1", "2"]}}, {":v": {"NS": ["2.0"]}}) == {"s": {"NS": ["1"]}}


def test_delete_last_members_removes_the_attribute():
    assert up("DELETE s :v", {"s": {"SS": ["a"]}, "x": N("1")}, {":v": {"SS": ["a"]}}) == {"x": N("1")}


def test_delete_from_missing_attribute_is_a_no_op():
    assert up("DELETE s :v", {"x": N("1")}, {":v": {"SS": ["a"]}}) == {"x": N("1")}


def test_delete_requires_a_set_operand_of_the_same_type():
    assert "operator: DELETE, operand type: NUMBER" in err("DELETE s :v", {}, {":v": N("1")})
    assert err("DELETE s :v", {"s": {"SS": ["a"]}}, {":v": {"NS": ["1"]}}) == (
        "An operand in the update expression has an incorrect data type")


# --- whole-expression rules ----------------------------------------------------------------------
def test_all_clauses_together_in_any_order():
    item = {"a": N("1"), "r": N("1"), "s": {"SS": ["x", "y"]}}
    new = up("DELETE s :d ADD a :one REMOVE r SET b = :b", item,
             {":d": {"SS": ["x"]}, ":one": N("1"), ":b": S("b")})
    assert new == {"a": N("2"), "s": {"SS": ["y"]}, "b": S("b")}


def test_each_clause_only_once():
    with pytest.raises(ValidationException) as e:
        parse_update("SET a = :v SET b = :v", None, {":v": N("1")})
    assert e.value.message == 'Invalid UpdateExpression: The "SET" section can only be used once in an update expression;'


def test_overlapping_paths():
    with pytest.raises(ValidationException) as e:
        parse_update("SET a = :v REMOVE a.b", None, {":v": N("1")})
    assert e.value.message == ("Invalid UpdateExpression: Two document paths overlap with each other; must remove or "
                               "rewrite one of these paths; path one: [a], path two: [a, b]")


def test_same_path_twice_overlaps():
    with pytest.raises(ValidationException, match=r"Two document paths overlap with each other; must remove or "
                       r"rewrite one of these paths; path one: \[a\], path two: \[a\]"):
        parse_update("SET a = :v, a = :v", None, {":v": N("1")})
    with pytest.raises(ValidationException, match=r"overlap.*path one: \[l, \[1\]\], path two: \[l, \[1\], x\]"):
        parse_update("REMOVE l[1] SET l[1].x = :v", None, {":v": N("1")})


def test_list_index_and_map_key_on_the_same_path_conflict():
    with pytest.raises(ValidationException, match=r"Two document paths conflict with each other; must remove or "
                       r"rewrite one of these paths; path one: \[a, \[1\]\], path two: \[a, b\]"):
        parse_update("SET a[1] = :v, a.b = :v", None, {":v": N("1")})


def test_sibling_paths_do_not_overlap():
    parse_update("SET a.b = :v, a.c = :v, l[0] = :v, l[1] = :v", None, {":v": N("1")})


def test_update_syntax_errors():
    for bad in ["SET", "SET a", "SET a = ", "SET a = :v,", "REMOVE", "ADD a b", "ADD a", "DELETE a", "a = :v",
                "SET a = b + c + d", "UPSERT a = :v"]:
        with pytest.raises(ValidationException, match="^Invalid UpdateExpression: Syntax error; token: "):
            parse_update(bad, None, {":v": N("1")})


def test_update_function_errors():
    with pytest.raises(ValidationException, match="Invalid function name; function: foo"):
        parse_update("SET a = foo(b)", None, None)
    with pytest.raises(ValidationException, match="not allowed in an update expression; function: size"):
        parse_update("SET a = size(b)", None, None)
    with pytest.raises(ValidationException, match="number of operands: 1"):
        parse_update("SET a = list_append(b)", None, None)


def test_update_reserved_word():
    with pytest.raises(ValidationException) as e:
        parse_update("SET name = :v", None, {":v": N("1")})
    assert e.value.message == "Invalid UpdateExpression: Attribute name is a reserved keyword; reserved keyword: name"


def test_update_undefined_value_and_name():
    with pytest.raises(ValidationException, match="^Invalid UpdateExpression: An expression attribute value used in "
                       "expression is not defined; attribute value: :v$"):
        parse_update("SET a = :v", None, None)
    with pytest.raises(ValidationException, match="attribute name: #a$"):
        parse_update("SET #a = :v", None, {":v": N("1")})


def test_top_level_names_of_a_plan():
    plan = parse_update("SET a.b = :v, c = :v REMOVE d ADD e :v", None, {":v": N("1")})
    assert plan.top_level_names() == {"a", "c", "d", "e"}


def test_empty_update_expression():
    with pytest.raises(ValidationException, match="^Invalid UpdateExpression: The expression can not be empty;$"):
        parse_update("", None, None)
