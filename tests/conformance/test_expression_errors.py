"""Expression and legacy-parameter errors of the item operations as DynamoDB words and orders them
(the ones dynalite records from the service): operands that must differ, size() of a constant,
which of several errors is reported, values checked before any expression, paths into key
attributes, and the rules of Expected and of mixing legacy with expression parameters."""
from __future__ import annotations

import re

import pytest

from conformance.cfutil import K, raises
from conformance.cfutil import n as _n
from conformance.cfutil import upd as _upd

V = "ValidationException"
ITEM = {**K, "n": {"N": "5"}, "s": {"S": "hello"}, "l": {"L": [{"N": "1"}]}, "m": {"M": {"k": {"N": "1"}}}}


def _cond(ddb, t, expr, values=None, names=None):
    """An UpdateItem guarded by `expr`; True when it applied, False on ConditionalCheckFailed."""
    args = {"TableName": t, "Key": K, "UpdateExpression": "SET w = :w", "ConditionExpression": expr,
            "ExpressionAttributeValues": {":w": _n(0), **(values or {})}}
    if names:
        args["ExpressionAttributeNames"] = names
    try:
        ddb.update_item(**args)
    except ddb.exceptions.ConditionalCheckFailedException:
        return False
    return True


@pytest.fixture
def t(ddb, mk):
    name = mk()
    ddb.put_item(TableName=name, Item=ITEM)
    return name


# --- conditions -------------------------------------------------------------------------------------
@pytest.mark.parametrize("expr,op,path", [
    ("n = n", "=", "[n]"), ("n <> n", "<>", "[n]"), ("m.k < m.k", "<", "[m, k]"), ("l[0] >= l[0]", ">=", "[l, [0]]"),
    ("contains(s, s)", "contains", "[s]"), ("begins_with(s, s)", "begins_with", "[s]"),
    ("attribute_type(s, s)", "attribute_type", "[s]"), ("#a = n", "=", "[n]"),
])
def test_an_operand_compared_with_itself_is_rejected(ddb, t, expr, op, path):
    with raises(V, "^Invalid ConditionExpression: The first operand must be distinct from the remaining operands "
                   f"for this operator or function; operator: {re.escape(op)}, first operand: {re.escape(path)}$"):
        _cond(ddb, t, expr, names={"#a": "n"} if "#a" in expr else None)


def test_different_paths_and_constants_may_repeat(ddb, t):
    assert not _cond(ddb, t, "n = s")
    assert _cond(ddb, t, ":a = :a", {":a": _n(1)})
    assert _cond(ddb, t, "n BETWEEN n AND n")
    assert _cond(ddb, t, "n IN (n)")


def test_size_of_a_constant(ddb, t):
    assert _cond(ddb, t, "size(:s) = :three", {":s": {"S": "abc"}, ":three": _n(3)})
    assert _cond(ddb, t, "size(l) = size(:l)", {":l": {"L": [{"S": "x"}]}})
    for v, name in ((_n(1), "N"), ({"BOOL": True}, "BOOL"), ({"NULL": True}, "NULL")):
        with raises(V, "^Invalid ConditionExpression: Incorrect operand type for operator or function; "
                       f"operator or function: size, operand type: {name}$"):
            _cond(ddb, t, "size(:v) = :one", {":v": v, ":one": _n(1)})
    with raises(V, "operator or function: size, operand type: N$"):
        _cond(ddb, t, "size(size(s)) = :one", {":one": _n(1)})
    with raises(V, "operator or function: begins_with, operand type: N$"):
        _cond(ddb, t, "begins_with(size(s), :p)", {":p": {"S": "5"}})


def test_attribute_type_wants_a_constant_type_name(ddb, t):
    with raises(V, "^Invalid ConditionExpression: Incorrect operand type for operator or function; operator or "
                   "function: attribute_type, operand type: \\{NS,SS,L,BS,N,M,B,BOOL,NULL,S\\}$"):
        _cond(ddb, t, "attribute_type(s, m)")


def test_a_boolean_function_is_no_operand(ddb, t):
    with raises(V, "^Invalid ConditionExpression: The function is not allowed to be used this way in an "
                   "expression; function: attribute_exists$"):
        _cond(ddb, t, "attribute_exists(s) = :v", {":v": {"BOOL": True}})


def test_which_condition_error_is_reported(ddb, t):
    # an unknown function before a reserved word, both before an undefined name
    with raises(V, "^Invalid ConditionExpression: Invalid function name; function: foo$"):
        _cond(ddb, t, "status = foo(:w)")
    with raises(V, "reserved keyword: status$"):
        _cond(ddb, t, "status = #nope")
    # undefined names and values: whichever comes first in the text
    with raises(V, "attribute value used in expression is not defined; attribute value: :nope$"):
        _cond(ddb, t, ":nope = #nope")
    with raises(V, "attribute name used in the document path is not defined; attribute name: #nope$"):
        _cond(ddb, t, "#nope = :nope")
    # the first comparison with an error decides, then its worst error
    with raises(V, "must be distinct from the remaining operands"):
        _cond(ddb, t, "n = n AND #nope = :w")
    with raises(V, "attribute name used in the document path is not defined; attribute name: #nope$"):
        _cond(ddb, t, "#nope = #nope AND n = n")


# --- update expressions ------------------------------------------------------------------------------
def test_which_update_error_is_reported(ddb, t):
    # a syntax error first, then: reserved word, unknown function, repeated section, undefined name,
    # undefined value, overlapping paths, ADD/DELETE operand type, function operand
    with raises(V, "^Invalid UpdateExpression: Syntax error; token: \"<EOF>\""):
        _upd(ddb, t, "SET a = :w SET b = :w REMOVE", {":w": _n(1)})
    with raises(V, "^Invalid UpdateExpression: Attribute name is a reserved keyword; reserved keyword: status$"):
        _upd(ddb, t, "SET a = foo(:w) SET status = :w", {":w": _n(1)})
    with raises(V, "^Invalid UpdateExpression: Invalid function name; function: foo$"):
        _upd(ddb, t, "SET a = foo(:w) SET b = :w", {":w": _n(1)})
    with raises(V, '^Invalid UpdateExpression: The "SET" section can only be used once in an update expression;$'):
        _upd(ddb, t, "SET a = :w SET #b = :w", {":w": _n(1)})
    with raises(V, "attribute name used in the document path is not defined; attribute name: #b$"):
        _upd(ddb, t, "SET a = :nope, #b = :w", {":w": _n(1)})
    with raises(V, "attribute value used in expression is not defined; attribute value: :nope$"):
        _upd(ddb, t, "SET a = :nope, a = :w", {":w": _n(1)})
    with raises(V, "Two document paths overlap with each other"):
        _upd(ddb, t, "ADD a :s SET a = :w", {":w": _n(1), ":s": {"S": "x"}})
    with raises(V, "operator: ADD, operand type: STRING$"):
        _upd(ddb, t, "SET b = list_append(:w, :w) ADD a :s", {":w": _n(1), ":s": {"S": "x"}})


def test_expression_values_are_checked_before_the_expressions(ddb, t):
    msg = ("^ExpressionAttributeValues contains invalid value: One or more parameter values were invalid: "
           "An string set  may not be empty for key :e$")
    with raises(V, msg):  # even one no expression uses
        _upd(ddb, t, "SET a = :w", {":w": _n(1), ":e": {"SS": []}})
    with raises(V, msg):  # before a syntax error
        _upd(ddb, t, "SET a = ", {":e": {"SS": []}})


def test_paths_into_key_attributes_are_rejected(ddb, mk):
    t = mk("pk", gsi={"byg": ("g:S",)})
    ddb.put_item(TableName=t, Item={**K, "g": {"S": "x"}})
    key_msg = "^Key attributes must be scalars; list random access '\\[\\]' and map lookup '.' are not allowed: Key: pk$"
    with raises(V, key_msg):
        _upd(ddb, t, "SET a = pk.x")
    with raises(V, "are not allowed: IndexKey: g$"):
        _upd(ddb, t, "SET a = g[0]")
    with raises(V, key_msg):
        ddb.get_item(TableName=t, Key=K, ProjectionExpression="pk.x")
    with raises(V, "are not allowed: IndexKey: g$"):
        ddb.scan(TableName=t, FilterExpression="g.x = :v", ExpressionAttributeValues={":v": _n(1)})
    with raises(V, key_msg):
        ddb.query(TableName=t, KeyConditionExpression="pk = :p", ProjectionExpression="pk[1]",
                  ExpressionAttributeValues={":p": {"S": "a"}})
    # a condition may read into them (it finds nothing there)
    with raises("ConditionalCheckFailedException"):
        _upd(ddb, t, "SET a = :v", {":v": _n(1)}, ConditionExpression="attribute_exists(pk.x)")


def test_index_key_type_is_checked_before_the_condition(ddb, mk):
    t = mk("pk", gsi={"byg": ("g:S",)})
    msg = ("^One or more parameter values were invalid: Type mismatch for Index Key g Expected: S Actual: N "
           "IndexName: byg$")
    with raises(V, msg):  # the item does not exist, so the condition would fail
        _upd(ddb, t, "SET g = :v", {":v": _n(1)}, ConditionExpression="attribute_exists(pk)")
    with raises(V, "Actual: N IndexName: byg$"):
        _upd(ddb, t, "SET g = if_not_exists(g, :v) + :v", {":v": _n(1)})
    with raises(V, "Actual: L IndexName: byg$"):
        ddb.update_item(TableName=t, Key=K, AttributeUpdates={"g": {"Action": "PUT", "Value": {"L": []}}})
    _upd(ddb, t, "SET g = if_not_exists(g, :v)", {":v": {"S": "x"}})
    assert ddb.get_item(TableName=t, Key=K)["Item"]["g"] == {"S": "x"}


# --- legacy parameters --------------------------------------------------------------------------------
def test_expected_operator_needs_a_value(ddb, t):
    with raises(V, "^One or more parameter values were invalid: Value or AttributeValueList must be used with "
                   "ComparisonOperator: EQ for Attribute: n$"):
        ddb.put_item(TableName=t, Item=ITEM, Expected={"n": {"ComparisonOperator": "EQ"}})
    with raises(V, "^One or more parameter values were invalid: Value must be provided when Exists is null for "
                   "Attribute: n$"):
        ddb.put_item(TableName=t, Item=ITEM, Expected={"n": {}})
    with raises(V, "^One or more parameter values were invalid: Value and AttributeValueList cannot be used "
                   "together for Attribute: n$"):
        ddb.put_item(TableName=t, Item=ITEM, Expected={"n": {"Value": _n(5), "AttributeValueList": [_n(5)]}})
    with raises(V, "^One or more parameter values were invalid: AttributeValues inside AttributeValueList must be "
                   "of same type$"):
        ddb.put_item(TableName=t, Item=ITEM, Expected={"n": {"ComparisonOperator": "IN",
                                                             "AttributeValueList": [_n(5), {"S": "5"}]}})


def test_attribute_updates_type_mismatch(ddb, t):
    with raises(V, "^Type mismatch for attribute to update$"):
        ddb.update_item(TableName=t, Key=K, AttributeUpdates={"s": {"Action": "ADD", "Value": _n(1)}})
    with raises(V, "^Type mismatch for attribute to update$"):
        ddb.update_item(TableName=t, Key=K, AttributeUpdates={"n": {"Action": "DELETE", "Value": {"SS": ["a"]}}})


def test_mixing_lists_the_parameters_in_dynamodb_order(ddb, t):
    with raises(V, "^Can not use both expression and non-expression parameters in the same request: "
                   "Non-expression parameters: \\{AttributeUpdates, Expected\\} "
                   "Expression parameters: \\{UpdateExpression, ConditionExpression\\}$"):
        ddb.update_item(TableName=t, Key=K, AttributeUpdates={"a": {"Action": "PUT", "Value": _n(1)}},
                        Expected={"n": {"Exists": False}}, UpdateExpression="SET a = :v",
                        ConditionExpression="attribute_exists(n)", ExpressionAttributeValues={":v": _n(1)})
    with raises(V, "^Can not use both expression and non-expression parameters in the same request: "
                   "Non-expression parameters: \\{AttributesToGet, QueryFilter, ConditionalOperator\\} "
                   "Expression parameters: \\{ProjectionExpression, FilterExpression, KeyConditionExpression\\}$"):
        ddb.query(TableName=t, KeyConditionExpression="pk = :p", FilterExpression="n = :p",
                  ProjectionExpression="n", AttributesToGet=["n"], ConditionalOperator="OR",
                  QueryFilter={"n": {"ComparisonOperator": "NOT_NULL"}}, ExpressionAttributeValues={":p": K["pk"]})


def test_key_conditions_go_with_a_filter_expression(ddb, t):
    r = ddb.query(TableName=t, KeyConditions={"pk": {"ComparisonOperator": "EQ", "AttributeValueList": [K["pk"]]}},
                  FilterExpression="n = :five", ProjectionExpression="n", ExpressionAttributeValues={":five": _n(5)})
    assert r["Items"] == [{"n": _n(5)}]
    with raises(V, "Non-expression parameters: \\{KeyConditions\\} Expression parameters: "
                   "\\{KeyConditionExpression\\}$"):
        ddb.query(TableName=t, KeyConditions={"pk": {"ComparisonOperator": "EQ", "AttributeValueList": [K["pk"]]}},
                  KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": K["pk"]})
