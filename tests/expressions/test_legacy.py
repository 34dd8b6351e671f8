"""Legacy parameters (Expected, QueryFilter/ScanFilter, KeyConditions, AttributeUpdates, AttributesToGet)
translated into the same tree as expressions."""
from __future__ import annotations

import pytest

from eddydb.engine.catalog import KeySchema
from eddydb.expressions import apply_update, evaluate, legacy, project
from eddydb.model.errors import ValidationException

ITEM = {"a": {"N": "5"}, "s": {"S": "hello"}, "ss": {"SS": ["x", "y"]}, "l": {"L": [{"N": "1"}]}}


def N(n):
    return {"N": n}


def S(s):
    return {"S": s}


def check(op, args, item=ITEM, attr="a"):
    spec = {"ComparisonOperator": op}
    if args is not None:
        spec["AttributeValueList"] = args
    return evaluate(legacy.expected({attr: spec}), item)


@pytest.mark.parametrize("op,args,expected", [
    ("EQ", [N("5")], True), ("EQ", [N("6")], False), ("NE", [N("6")], True), ("NE", [N("5")], False),
    ("LT", [N("6")], True), ("LE", [N("5")], True), ("GT", [N("4")], True), ("GE", [N("6")], False),
    ("IN", [N("1"), N("5")], True), ("IN", [N("1")], False), ("BETWEEN", [N("1"), N("5")], True),
    ("BETWEEN", [N("6"), N("7")], False), ("NOT_NULL", None, True), ("NULL", None, False),
])
def test_comparison_operators(op, args, expected):
    assert check(op, args) is expected


def test_string_operators():
    assert check("BEGINS_WITH", [S("he")], attr="s")
    assert check("CONTAINS", [S("ell")], attr="s")
    assert check("CONTAINS", [S("x")], attr="ss")
    assert check("CONTAINS", [N("1")], attr="l")
    assert check("NOT_CONTAINS", [S("z")], attr="ss")
    assert not check("NOT_CONTAINS", [S("x")], attr="ss")


def test_missing_attribute():
    assert check("NULL", None, attr="nope")
    assert check("NE", [N("1")], attr="nope")
    assert not check("EQ", [N("1")], attr="nope")
    assert not check("NOT_CONTAINS", [S("z")], attr="nope")
    assert not check("CONTAINS", [S("z")], attr="nope")


@pytest.mark.parametrize("op,args", [("EQ", []), ("EQ", [N("1"), N("2")]), ("NULL", [N("1")]), ("BETWEEN", [N("1")]),
                                     ("IN", [])])
def test_argument_count_validation(op, args):
    with pytest.raises(ValidationException) as e:
        check(op, args)
    assert e.value.message == (f"One or more parameter values were invalid: Invalid number of argument(s) for the "
                               f"{op} ComparisonOperator")


def test_expected_operator_without_value_or_list():
    # a ComparisonOperator that takes values, given neither Value nor AttributeValueList
    for op in ("EQ", "BEGINS_WITH", "IN", "BETWEEN"):
        with pytest.raises(ValidationException) as e:
            check(op, None)
        assert e.value.message == ("One or more parameter values were invalid: Value or AttributeValueList must be "
                                   f"used with ComparisonOperator: {op} for Attribute: a")
    assert check("NULL", None) is False and check("NOT_NULL", None) is True


def test_expected_value_and_list_are_checked_first():
    both = {"Value": N("5"), "AttributeValueList": [N("5")]}
    for spec in (both, {**both, "ComparisonOperator": "EQ"}, {**both, "ComparisonOperator": "EQ", "Exists": True}):
        with pytest.raises(ValidationException, match="^One or more parameter values were invalid: Value and "
                           "AttributeValueList cannot be used together for Attribute: a$"):
            legacy.expected({"a": spec})


def test_attribute_value_list_of_one_type():
    for op, args in (("IN", [N("5"), S("5")]), ("BETWEEN", [N("1"), S("x")])):
        with pytest.raises(ValidationException, match="^One or more parameter values were invalid: AttributeValues "
                           "inside AttributeValueList must be of same type$"):
            check(op, args)
        with pytest.raises(ValidationException, match="must be of same type$"):
            legacy.query_filter({"a": {"ComparisonOperator": op, "AttributeValueList": args}})


def test_operator_type_validation():
    with pytest.raises(ValidationException, match="ComparisonOperator LT is not valid for SS AttributeValue type"):
        check("LT", [{"SS": ["a"]}])
    with pytest.raises(ValidationException, match="ComparisonOperator BEGINS_WITH is not valid for N AttributeValue"):
        check("BEGINS_WITH", [N("1")])


def test_unknown_operator():
    with pytest.raises(ValidationException, match="comparisonOperator"):
        check("LIKE", [N("1")])


def test_expected_value_and_exists():
    assert evaluate(legacy.expected({"a": {"Value": N("5")}}), ITEM)
    assert evaluate(legacy.expected({"a": {"Value": N("5"), "Exists": True}}), ITEM)
    assert not evaluate(legacy.expected({"a": {"Exists": False}}), ITEM)
    assert evaluate(legacy.expected({"nope": {"Exists": False}}), ITEM)
    assert evaluate(legacy.expected({"a": {"ComparisonOperator": "GT", "Value": N("1")}}), ITEM)


def test_expected_exists_validation():
    with pytest.raises(ValidationException, match="^One or more parameter values were invalid: Value must be "
                       "provided when Exists is true for Attribute: a$"):
        legacy.expected({"a": {"Exists": True}})
    # without Exists (and without a ComparisonOperator) DynamoDB names the missing Exists as null
    with pytest.raises(ValidationException, match="^One or more parameter values were invalid: Value must be "
                       "provided when Exists is null for Attribute: a$"):
        legacy.expected({"a": {}})
    with pytest.raises(ValidationException, match="Value cannot be used when Exists is false"):
        legacy.expected({"a": {"Exists": False, "Value": N("1")}})


def test_conditional_operator():
    two = {"a": {"Value": N("5")}, "s": {"Value": S("nope")}}
    assert not evaluate(legacy.expected(two), ITEM)
    assert not evaluate(legacy.expected(two, "AND"), ITEM)
    assert evaluate(legacy.expected(two, "OR"), ITEM)
    with pytest.raises(ValidationException, match="conditionalOperator"):
        legacy.expected(two, "XOR")


def test_query_filter():
    f = legacy.query_filter({"a": {"ComparisonOperator": "GT", "AttributeValueList": [N("1")]},
                             "s": {"ComparisonOperator": "BEGINS_WITH", "AttributeValueList": [S("h")]}})
    assert evaluate(f, ITEM)
    assert not evaluate(f, {"a": N("0")})


def test_key_conditions():
    key = KeySchema("pk", "S", "sk", "N")
    k = legacy.key_conditions({"pk": {"ComparisonOperator": "EQ", "AttributeValueList": [S("a")]},
                               "sk": {"ComparisonOperator": "BETWEEN", "AttributeValueList": [N("1"), N("2")]}}, key)
    assert (k.hash_value, k.range_op, k.range_values) == (S("a"), "BETWEEN", (N("1"), N("2")))
    k = legacy.key_conditions({"pk": {"ComparisonOperator": "EQ", "AttributeValueList": [S("a")]}}, key)
    assert k.range_op is None


def test_key_conditions_errors():
    key = KeySchema("pk", "S", "sk", "N")
    eq = {"ComparisonOperator": "EQ", "AttributeValueList": [S("a")]}
    with pytest.raises(ValidationException, match="^Query condition missed key schema element: pk$"):
        legacy.key_conditions({"sk": {"ComparisonOperator": "EQ", "AttributeValueList": [N("1")]}}, key)
    with pytest.raises(ValidationException, match="^Attempted conditional constraint is not an indexable operation$"):
        legacy.key_conditions({"pk": eq, "sk": {"ComparisonOperator": "NE", "AttributeValueList": [N("1")]}}, key)
    with pytest.raises(ValidationException, match="Condition parameter type does not match schema type"):
        legacy.key_conditions({"pk": eq, "sk": {"ComparisonOperator": "EQ", "AttributeValueList": [S("1")]}}, key)
    with pytest.raises(ValidationException, match="^Conditions can be of length 1 or 2 only$"):
        legacy.key_conditions({}, key)


def test_attribute_updates():
    plan = legacy.attribute_updates({
        "p": {"Action": "PUT", "Value": S("x")},
        "d": {"Action": "DELETE"},
        "n": {"Action": "ADD", "Value": N("2")},
        "s": {"Action": "DELETE", "Value": {"SS": ["a"]}},
        "l": {"Action": "ADD", "Value": {"L": [N("2")]}},
        "q": {"Value": N("1")},
    })
    item = {"d": N("1"), "n": N("1"), "s": {"SS": ["a", "b"]}, "l": {"L": [N("1")]}}
    assert apply_update(plan, item) == {
        "p": S("x"), "n": N("3"), "s": {"SS": ["b"]}, "l": {"L": [N("1"), N("2")]}, "q": N("1")}
    assert plan.top_level_names() == {"p", "d", "n", "s", "l", "q"}


def test_attribute_updates_validation():
    with pytest.raises(ValidationException, match="Only DELETE action is allowed when no attribute value is specified"):
        legacy.attribute_updates({"a": {"Action": "PUT"}})
    with pytest.raises(ValidationException):
        legacy.attribute_updates({"a": {"Action": "ADD", "Value": S("x")}})


def test_attributes_to_get():
    paths = legacy.attributes_to_get(["a", "s"])
    assert project(ITEM, paths) == {"a": N("5"), "s": S("hello")}
    with pytest.raises(ValidationException, match="Duplicate value in attribute name: a"):
        legacy.attributes_to_get(["a", "a"])


def test_attribute_updates_type_mismatch_uses_the_legacy_message():
    plan = legacy.attribute_updates({"n": {"Action": "ADD", "Value": N("1")}})
    # found when the write applies the update, so not worded as a request parameter error (as dynalite records)
    with pytest.raises(ValidationException, match="^Type mismatch for attribute to update$"):
        apply_update(plan, {"n": S("x")})


def test_legacy_conditions_record_attributes():
    assert legacy.query_filter({"a": {"ComparisonOperator": "NOT_NULL"}}).attributes == {"a"}
