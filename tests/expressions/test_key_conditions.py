"""KeyConditionExpression: hash equality plus one sort-key condition, with DynamoDB's validation."""
from __future__ import annotations

import pytest

from eddydb.engine.catalog import KeySchema
from eddydb.expressions import parse_key_condition
from eddydb.model.errors import ValidationException

KEY = KeySchema("pk", "S", "sk", "N")
HASH_ONLY = KeySchema("pk", "S")
V = {":p": {"S": "a"}, ":x": {"N": "1"}, ":y": {"N": "2"}, ":s": {"S": "b"}}


def kc(expr, values=None, names=None, key=KEY):
    vals = values if values is not None else V
    return parse_key_condition(expr, names, vals, key)


def err(expr, values=None, names=None, key=KEY) -> str:
    with pytest.raises(ValidationException) as e:
        kc(expr, values, names, key)
    return e.value.message


def test_hash_only():
    k = kc("pk = :p", {":p": {"S": "a"}})
    assert (k.hash_value, k.range_op, k.range_values) == ({"S": "a"}, None, ())
    assert k.hash_name == "pk"


@pytest.mark.parametrize("op", ["=", "<", "<=", ">", ">="])
def test_range_comparisons(op):
    k = kc(f"pk = :p AND sk {op} :x", {":p": {"S": "a"}, ":x": {"N": "1"}})
    assert (k.range_op, k.range_values) == (op, ({"N": "1"},))


def test_reversed_operands_flip_the_operator():
    k = kc(":x < sk AND :p = pk", {":p": {"S": "a"}, ":x": {"N": "1"}})
    assert (k.hash_value, k.range_op) == ({"S": "a"}, ">")


def test_between_and_begins_with():
    k = kc("pk = :p AND sk BETWEEN :x AND :y", {":p": {"S": "a"}, ":x": {"N": "1"}, ":y": {"N": "2"}})
    assert (k.range_op, k.range_values) == ("BETWEEN", ({"N": "1"}, {"N": "2"}))
    k = kc("pk = :p AND begins_with(sk, :s)", {":p": {"S": "a"}, ":s": {"S": "b"}}, key=KeySchema("pk", "S", "sk", "S"))
    assert (k.range_op, k.range_values) == ("begins_with", ({"S": "b"},))


def test_names_and_parentheses():
    k = kc("(#h = :p) AND (#r > :x)", {":p": {"S": "a"}, ":x": {"N": "1"}}, {"#h": "pk", "#r": "sk"})
    assert k.range_op == ">" and k.names_used == {"#h", "#r"}


def test_missing_hash_key():
    assert err("sk = :x", {":x": {"N": "1"}}) == "Query condition missed key schema element: pk"


def test_non_key_attribute():
    assert err("pk = :p AND attr1 = :x", {":p": {"S": "a"}, ":x": {"N": "1"}}) == (
        "Query condition missed key schema element: sk")
    assert err("pk = :p AND sk = :x AND attr1 = :x", {":p": {"S": "a"}, ":x": {"N": "1"}}) == (
        "Query key condition not supported")


def test_hash_key_must_use_equality():
    assert err("pk > :p", {":p": {"S": "a"}}) == "Query key condition not supported"


@pytest.mark.parametrize("expr,op", [
    ("pk = :p OR sk = :x", "OR"), ("NOT pk = :p", "NOT"), ("pk = :p AND sk <> :x", "<>"),
    ("pk = :p AND sk IN (:x)", "IN"), ("pk = :p AND attribute_exists(sk)", "attribute_exists"),
    ("pk = :p AND contains(sk, :x)", "contains"),
])
def test_unsupported_operators(expr, op):
    values = {":p": {"S": "a"}, ":x": {"N": "1"}} if ":x" in expr else {":p": {"S": "a"}}
    assert err(expr, values) == f"Invalid operator used in KeyConditionExpression: {op}"


def test_one_condition_per_key():
    assert err("pk = :p AND sk > :x AND sk < :y", {":p": {"S": "a"}, ":x": {"N": "1"}, ":y": {"N": "2"}}) == (
        "Invalid KeyConditionExpression: KeyConditionExpressions must only contain one condition per key")


def test_value_type_must_match_schema():
    assert err("pk = :x", {":x": {"N": "1"}}) == (
        "One or more parameter values were invalid: Condition parameter type does not match schema type")
    assert err("pk = :p AND sk = :s", {":p": {"S": "a"}, ":s": {"S": "b"}}) == (
        "One or more parameter values were invalid: Condition parameter type does not match schema type")


def test_begins_with_on_number_key():
    assert "begins_with" in err("pk = :p AND begins_with(sk, :s)", {":p": {"S": "a"}, ":s": {"S": "1"}})


def test_between_bounds_order():
    assert "BETWEEN" in err("pk = :p AND sk BETWEEN :y AND :x", {":p": {"S": "a"}, ":x": {"N": "1"}, ":y": {"N": "2"}})


def test_syntax_error_prefix():
    assert err("pk = ", {}).startswith('Invalid KeyConditionExpression: Syntax error; token: "<EOF>"')


def test_range_condition_on_hash_only_table():
    assert err("pk = :p AND sk = :x", {":p": {"S": "a"}, ":x": {"N": "1"}}, key=HASH_ONLY) == (
        "Query key condition not supported")
