"""Condition/filter expressions: grammar, precedence and DynamoDB comparison semantics."""
from __future__ import annotations

import pytest

from eddydb.expressions import evaluate, parse_condition
from eddydb.model.errors import ValidationException

ITEM = {
    "pk": {"S": "k"},
    "n": {"N": "5"},
    "s": {"S": "hello"},
    "b": {"B": "aGVsbG8="},  # b"hello"
    "ss": {"SS": ["x", "y"]},
    "ns": {"NS": ["1", "2.5"]},
    "bs": {"BS": ["AQ==", "Ag=="]},
    "l": {"L": [{"S": "a"}, {"N": "1"}, {"M": {"z": {"S": "deep"}}}]},
    "m": {"M": {"a": {"M": {"b": {"N": "7"}}}, "list": {"L": [{"L": [{"S": "x"}, {"S": "y"}]}]}}},
    "t": {"BOOL": True},
    "nul": {"NULL": True},
}


def ev(expr: str, values: dict | None = None, names: dict | None = None, item: dict | None = None) -> bool:
    return evaluate(parse_condition(expr, names, values), ITEM if item is None else item)


def S(s):
    return {"S": s}


def N(n):
    return {"N": n}


# --- comparators ---------------------------------------------------------------------
@pytest.mark.parametrize(
    "expr,v,expected",
    [
        ("n = :v", N("5"), True), ("n = :v", N("5.0"), True), ("n = :v", N("6"), False),
        ("n <> :v", N("6"), True), ("n <> :v", N("5"), False),
        ("n < :v", N("10"), True), ("n <= :v", N("5"), True), ("n > :v", N("4.99"), True),
        ("n >= :v", N("5"), True), ("n > :v", N("5"), False),
        ("s < :v", S("help"), True), ("s > :v", S("hello"), False), ("s >= :v", S("hello"), True),
        ("b < :v", {"B": "aGk="}, True),
    ],
)
def test_comparators(expr, v, expected):
    assert ev(expr, {":v": v}) is expected


def test_different_types_compare_false_not_error():
    assert ev("n = :v", {":v": S("5")}) is False
    assert ev("n < :v", {":v": S("9")}) is False
    assert ev("s > :v", {":v": N("1")}) is False


def test_missing_attribute_comparisons_are_false_but_not_equal_is_true():
    assert ev("nope = :v", {":v": N("1")}) is False
    assert ev("nope < :v", {":v": N("1")}) is False
    assert ev("nope <> :v", {":v": N("1")}) is True


def test_equality_of_documents_and_sets_by_value():
    assert ev("ss = :v", {":v": {"SS": ["y", "x"]}})
    assert ev("ns = :v", {":v": {"NS": ["2.50", "1"]}})
    assert ev("m.a = :v", {":v": {"M": {"b": N("7")}}})
    assert not ev("l = :v", {":v": {"L": [S("a")]}})


def test_compare_two_paths():
    item = {"a": N("1"), "b": N("2")}
    assert ev("a < b", item=item)
    assert not ev("a = b", item=item)


def test_ordering_comparison_with_non_scalar_constant_is_an_error():
    with pytest.raises(ValidationException, match="Incorrect operand type for operator or function; "
                       "operator or function: <, operand type: SS"):
        parse_condition("a < :v", None, {":v": {"SS": ["a"]}})


# --- BETWEEN / IN ----------------------------------------------------------------------------
def test_between_inclusive():
    assert ev("n BETWEEN :a AND :b", {":a": N("5"), ":b": N("6")})
    assert ev("n BETWEEN :a AND :b", {":a": N("1"), ":b": N("5")})
    assert not ev("n BETWEEN :a AND :b", {":a": N("6"), ":b": N("9")})
    assert not ev("s BETWEEN :a AND :b", {":a": N("1"), ":b": N("9")})
    assert not ev("nope BETWEEN :a AND :b", {":a": N("1"), ":b": N("9")})


def test_between_lower_bound_above_upper_bound_is_an_error():
    with pytest.raises(ValidationException, match="^Invalid ConditionExpression: The BETWEEN operator requires upper "
                       r"bound to be greater than or equal to lower bound; lower bound operand: AttributeValue: \{N:9\}, "
                       r"upper bound operand: AttributeValue: \{N:1\}$"):
        parse_condition("n BETWEEN :a AND :b", None, {":a": N("9"), ":b": N("1")})


def test_between_bounds_of_different_types_is_an_error():
    with pytest.raises(ValidationException, match="same data type for lower and upper bounds"):
        parse_condition("n BETWEEN :a AND :b", None, {":a": N("1"), ":b": S("x")})


def test_in():
    assert ev("n IN (:a, :b)", {":a": N("1"), ":b": N("5.0")})
    assert not ev("n IN (:a)", {":a": S("5")})
    assert not ev("nope IN (:a)", {":a": S("5")})
    assert ev("ss IN (:a)", {":a": {"SS": ["y", "x"]}})


def test_in_accepts_100_operands_but_not_101():
    values = {f":v{i}": N(str(i)) for i in range(101)}
    ev("n IN (" + ", ".join(f":v{i}" for i in range(100)) + ")", {k: values[k] for k in list(values)[:100]})
    with pytest.raises(ValidationException, match="The IN operator is provided with too many operands; "
                       "number of operands: 101"):
        parse_condition("n IN (" + ", ".join(values) + ")", None, values)


# --- logic -----------------------------------------------------------------------------------
def test_precedence_not_over_and_over_or():
    t, f = {":t": N("5")}, None
    assert f is None
    # a OR b AND c == a OR (b AND c)
    assert ev("n = :t OR n <> :t AND n <> :t", t)
    # NOT a AND b == (NOT a) AND b
    assert not ev("NOT n = :t AND n = :t", t)
    assert ev("NOT (n = :t AND n <> :t)", t)


def test_parentheses_and_case_insensitive_keywords():
    assert ev("(n = :t) and (not (n <> :t)) or n between :t and :t", {":t": N("5")})


def test_not_and_or_truth_tables():
    v = {":y": N("5"), ":n": N("6")}
    assert ev("n = :y AND n = :y", v) and not ev("n = :y AND n = :n", v)
    assert ev("n = :n OR n = :y", v) and not ev("n = :n OR n = :n", v)
    assert ev("NOT n = :n", v) and not ev("NOT NOT n = :n", v)


# --- functions -------------------------------------------------------------------------------
def test_attribute_exists_and_not_exists():
    assert ev("attribute_exists(n)") and not ev("attribute_exists(nope)")
    assert ev("attribute_not_exists(nope)") and not ev("attribute_not_exists(n)")
    assert ev("attribute_exists(m.a.b)") and not ev("attribute_exists(m.a.c)")
    assert ev("attribute_exists(l[2].z)") and not ev("attribute_exists(l[3])")
    assert ev("attribute_not_exists(pk)", item={})


@pytest.mark.parametrize("path,t", [("n", "N"), ("s", "S"), ("b", "B"), ("ss", "SS"), ("ns", "NS"), ("bs", "BS"),
                                    ("l", "L"), ("m", "M"), ("t", "BOOL"), ("nul", "NULL")])
def test_attribute_type(path, t):
    assert ev(f"attribute_type({path}, :t)", {":t": S(t)})
    assert not ev(f"attribute_type({path}, :t)", {":t": S("S" if t != "S" else "N")})


def test_attribute_type_rejects_unknown_type_name():
    with pytest.raises(ValidationException, match="Invalid attribute type name found"):
        parse_condition("attribute_type(a, :t)", None, {":t": S("STRING")})


def test_begins_with():
    assert ev("begins_with(s, :p)", {":p": S("he")})
    assert not ev("begins_with(s, :p)", {":p": S("lo")})
    assert ev("begins_with(b, :p)", {":p": {"B": "aGU="}})
    assert not ev("begins_with(n, :p)", {":p": S("5")})
    assert not ev("begins_with(nope, :p)", {":p": S("5")})


def test_begins_with_number_constant_is_an_error():
    with pytest.raises(ValidationException, match="operator or function: begins_with, operand type: N"):
        parse_condition("begins_with(s, :p)", None, {":p": N("1")})


def test_contains():
    assert ev("contains(s, :v)", {":v": S("ell")})
    assert not ev("contains(s, :v)", {":v": S("z")})
    assert ev("contains(ss, :v)", {":v": S("x")})
    assert not ev("contains(ss, :v)", {":v": {"SS": ["x"]}})
    assert ev("contains(ns, :v)", {":v": N("2.50")})
    assert ev("contains(bs, :v)", {":v": {"B": "AQ=="}})
    assert ev("contains(l, :v)", {":v": N("1")})
    assert ev("contains(l, :v)", {":v": {"M": {"z": S("deep")}}})
    assert not ev("contains(n, :v)", {":v": N("5")})
    assert not ev("contains(nope, :v)", {":v": N("5")})


def test_size():
    assert ev("size(s) = :v", {":v": N("5")})
    assert ev("size(b) = :v", {":v": N("5")})
    assert ev("size(ss) = :v", {":v": N("2")})
    assert ev("size(l) = :v", {":v": N("3")})
    assert ev("size(m) = :v", {":v": N("2")})
    assert ev("size(m.#l[0]) = :v", {":v": N("2")}, {"#l": "list"})
    assert not ev("size(n) = :v", {":v": N("1")})
    assert not ev("size(nope) >= :v", {":v": N("0")})
    assert ev("size(s) BETWEEN :a AND :b", {":a": N("1"), ":b": N("9")})


def test_size_of_a_constant_value():
    # size() also measures a :value of a sized type (string, binary, set, list, map) ...
    assert ev("size(:s) = :n", {":s": S("abc"), ":n": N("3")})
    assert ev("size(:l) = :n", {":l": {"L": [S("a"), S("b")]}, ":n": N("2")})
    # ... and rejects one of a type without a size, as it rejects size(size(path))
    for v, t in ((N("1"), "N"), ({"BOOL": True}, "BOOL"), ({"NULL": True}, "NULL")):
        with pytest.raises(ValidationException, match="^Invalid ConditionExpression: Incorrect operand type for "
                           f"operator or function; operator or function: size, operand type: {t}$"):
            parse_condition("size(:v) = :n", None, {":v": v, ":n": N("1")})
    with pytest.raises(ValidationException, match="operator or function: size, operand type: N$"):
        parse_condition("size(size(s)) = :n", None, {":n": N("1")})


# --- document paths and names -------------------------------------------------------------
def test_nested_paths_and_list_indexes():
    assert ev("m.a.b = :v", {":v": N("7")})
    assert ev("m.#l[0][1] = :v", {":v": S("y")}, {"#l": "list"})
    assert ev("l[2].z = :v", {":v": S("deep")})
    assert not ev("l[9] = :v", {":v": S("a")})
    assert not ev("s[0] = :v", {":v": S("h")})
    assert not ev("s.x = :v", {":v": S("h")})


def test_name_placeholder_with_dots_is_one_attribute():
    item = {"a.b": N("1"), "a": {"M": {"b": N("2")}}}
    assert ev("#ab = :v", {":v": N("1")}, {"#ab": "a.b"}, item=item)
    assert ev("a.b = :v", {":v": N("2")}, item=item)


def test_reserved_word_is_rejected_but_works_through_a_name():
    with pytest.raises(ValidationException) as e:
        parse_condition("name = :v", None, {":v": S("x")})
    assert e.value.message == "Invalid ConditionExpression: Attribute name is a reserved keyword; reserved keyword: name"
    assert ev("#n = :v", {":v": S("k")}, {"#n": "pk"})


def test_filter_kind_prefixes_messages():
    with pytest.raises(ValidationException, match="^Invalid FilterExpression: Syntax error"):
        parse_condition("a = ", None, None, kind="FilterExpression")


# --- syntax and definition errors --------------------------------------------------------------
def test_syntax_error_message_at_eof():
    with pytest.raises(ValidationException) as e:
        parse_condition("a =", None, None)
    assert e.value.message == 'Invalid ConditionExpression: Syntax error; token: "<EOF>", near: "a ="'


@pytest.mark.parametrize("expr,token", [
    ("a = :v :v", ":v"), ("a == :v", "="), ("a = @", "@"), ("(a = :v", "<EOF>"), ("a = :v)", ")"),
    ("a BETWEEN :v", "<EOF>"), ("a IN :v", ":v"), ("AND a = :v", "AND"), ("a = AND", "AND"),
    ("a[x] = :v", "x"), ("first-name = :v", "-"),
])
def test_syntax_errors_name_the_token(expr, token):
    with pytest.raises(ValidationException) as e:
        parse_condition(expr, None, {":v": N("1")})
    assert e.value.message.startswith(f'Invalid ConditionExpression: Syntax error; token: "{token}", near: "')


def test_empty_expression():
    with pytest.raises(ValidationException, match="^Invalid ConditionExpression: The expression can not be empty;$"):
        parse_condition("  ", None, None)


def test_undefined_value():
    with pytest.raises(ValidationException) as e:
        parse_condition("a = :v", None, {":w": N("1")})
    assert e.value.message == ("Invalid ConditionExpression: An expression attribute value used in expression is not "
                               "defined; attribute value: :v")


def test_undefined_name():
    with pytest.raises(ValidationException) as e:
        parse_condition("#n = :v", {"#m": "x"}, {":v": N("1")})
    assert e.value.message == ("Invalid ConditionExpression: An expression attribute name used in the document path "
                               "is not defined; attribute name: #n")


def test_unknown_function():
    with pytest.raises(ValidationException, match="^Invalid ConditionExpression: Invalid function name; function: foo$"):
        parse_condition("foo(a)", None, None)


def test_function_argument_count():
    with pytest.raises(ValidationException, match="Incorrect number of operands for operator or function; "
                       "operator or function: begins_with, number of operands: 1"):
        parse_condition("begins_with(a)", None, None)


def test_attribute_exists_requires_path():
    with pytest.raises(ValidationException, match="requires a document path; operator or function: attribute_exists"):
        parse_condition("attribute_exists(:v)", None, {":v": N("1")})


def test_update_functions_not_allowed_in_conditions():
    with pytest.raises(ValidationException, match="function: if_not_exists"):
        parse_condition("if_not_exists(a, :v) = :v", None, {":v": N("1")})
    with pytest.raises(ValidationException, match="function: size"):
        parse_condition("size(a)", None, None)


def test_invalid_expression_attribute_value_is_reported_with_its_key():
    with pytest.raises(ValidationException, match="^ExpressionAttributeValues contains invalid value: "
                       "One or more parameter values were invalid: An string set  may not be empty for key :v$"):
        parse_condition("a = :v", None, {":v": {"SS": []}})


def test_values_are_normalised_when_bound():
    cond = parse_condition("a = :v", None, {":v": N("1.50")})
    assert cond.values[":v"] == N("1.5")


def test_parse_is_cached():
    from eddydb.expressions.parser import _parse_cached
    _parse_cached.cache_clear()
    for _ in range(5):
        parse_condition("attribute_not_exists(pk) AND x = :v", None, {":v": N("1")})
    info = _parse_cached.cache_info()
    assert info.misses == 1 and info.hits == 4


def test_evaluate_on_missing_item():
    assert evaluate(parse_condition("attribute_not_exists(pk)", None, None), None)


def test_deeply_nested_conditions_parse_and_evaluate():
    # as deep as DynamoDB's 300-operator limit allows
    assert ev("(n = :v AND " * 149 + "n = :v" + ")" * 149, {":v": N("5")})
    assert ev("NOT (" * 298 + "n = :v" + ")" * 298, {":v": N("5")})


def test_redundant_parentheses_are_rejected():
    with pytest.raises(ValidationException, match="^Invalid ConditionExpression: The expression has redundant "
                                                  "parentheses;$"):
        ev("(" * 1500 + "n = :v" + ")" * 1500, {":v": N("5")})
    with pytest.raises(ValidationException, match="redundant parentheses"):
        ev("n = :v AND ((n = :v))", {":v": N("5")})
    assert ev("(n = :v) AND ((n = :v) OR (n = :v))", {":v": N("5")})


def test_more_than_300_operators_are_rejected():
    assert ev("NOT " * 299 + "n = :v", {":v": N("5")}) is False
    with pytest.raises(ValidationException, match="^Invalid ConditionExpression: The expression contains too many "
                                                  "operators; operator count: 301$"):
        ev("NOT " * 300 + "n = :v", {":v": N("5")})


def test_expression_longer_than_4kb_is_rejected():
    with pytest.raises(ValidationException, match="Expression size has exceeded the maximum allowed size"):
        parse_condition("a = :v AND " * 400 + "a = :v", None, {":v": N("1")})


def test_condition_records_top_level_attributes():
    cond = parse_condition("a.b = :v AND #c[0] = :v OR size(d) > :v", {"#c": "c"}, {":v": N("1")})
    assert cond.attributes == {"a", "c", "d"}
