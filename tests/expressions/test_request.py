"""All expressions of one request checked together: mixing, attribute-name/value maps, usage."""
from __future__ import annotations

import pytest

from eddydb.engine.catalog import KeySchema
from eddydb.expressions import check_usage, compile_request, parse_condition
from eddydb.model.errors import ValidationException

KEY = KeySchema("pk", "S", "sk", "S")


def err(req, **kw) -> str:
    with pytest.raises(ValidationException) as e:
        compile_request(req, **kw)
    return e.value.message


def test_mixing_legacy_and_expression_parameters():
    assert err({"AttributesToGet": ["a"], "ProjectionExpression": "a"}) == (
        "Can not use both expression and non-expression parameters in the same request: "
        "Non-expression parameters: {AttributesToGet} Expression parameters: {ProjectionExpression}")


def test_value_used_only_in_filter_counts():
    c = compile_request({
        "KeyConditionExpression": "pk = :p", "FilterExpression": "x = :x", "ProjectionExpression": "#a",
        "ExpressionAttributeNames": {"#a": "a"}, "ExpressionAttributeValues": {":p": {"S": "k"}, ":x": {"N": "1"}},
    }, key=KEY, operation="Query")
    assert c.key_condition is not None and c.filter is not None and c.projection == [("a",)]


def test_unused_value():
    assert err({"ConditionExpression": "a = :v", "ExpressionAttributeValues": {":v": {"N": "1"}, ":x": {"N": "2"}}}) == (
        "Value provided in ExpressionAttributeValues unused in expressions: keys: {:x}")


def test_unused_name():
    assert err({"ConditionExpression": "a = :v", "ExpressionAttributeNames": {"#x": "x"},
                "ExpressionAttributeValues": {":v": {"N": "1"}}}) == (
        "Value provided in ExpressionAttributeNames unused in expressions: keys: {#x}")


def test_invalid_name_key():
    assert err({"ConditionExpression": "a = :v", "ExpressionAttributeNames": {"x": "x"},
                "ExpressionAttributeValues": {":v": {"N": "1"}}}) == (
        'ExpressionAttributeNames contains invalid key: Syntax error; key: "x"')


def test_invalid_value_key():
    assert err({"ConditionExpression": "a = :v", "ExpressionAttributeValues": {"v": {"N": "1"}}}) == (
        'ExpressionAttributeValues contains invalid key: Syntax error; key: "v"')


def test_empty_maps():
    assert err({"ConditionExpression": "a = b", "ExpressionAttributeValues": {}}) == (
        "ExpressionAttributeValues must not be empty")
    assert err({"ConditionExpression": "a = b", "ExpressionAttributeNames": {}}) == (
        "ExpressionAttributeNames must not be empty")


def test_maps_without_expressions():
    assert err({"ExpressionAttributeNames": {"#a": "a"}}, operation="GetItem") == (
        "ExpressionAttributeNames can only be specified when using expressions")
    assert err({"ExpressionAttributeValues": {":a": {"S": "a"}}}, operation="PutItem") == (
        "ExpressionAttributeValues can only be specified when using expressions: ConditionExpression is null")
    assert err({"ExpressionAttributeValues": {":a": {"S": "a"}}}, operation="UpdateItem") == (
        "ExpressionAttributeValues can only be specified when using expressions: "
        "UpdateExpression and ConditionExpression are null")


def test_undefined_value_in_update_of_a_request():
    assert err({"UpdateExpression": "SET a = :v", "ConditionExpression": "b = :w",
                "ExpressionAttributeValues": {":w": {"N": "1"}}}) == (
        "Invalid UpdateExpression: An expression attribute value used in expression is not defined; "
        "attribute value: :v")


def test_legacy_request():
    c = compile_request({"Expected": {"a": {"Exists": False}}, "AttributesToGet": ["a"]})  # no operation: every member translated
    assert c.condition is not None and c.projection == [("a",)]


def test_compile_request_with_update_and_condition():
    c = compile_request({"UpdateExpression": "SET #a = :v", "ConditionExpression": "attribute_exists(#a)",
                         "ExpressionAttributeNames": {"#a": "a"}, "ExpressionAttributeValues": {":v": {"N": "1"}}})
    assert c.update is not None and c.condition is not None


def test_check_usage_directly():
    cond = parse_condition("a = :v", None, {":v": {"N": "1"}})
    check_usage(None, {":v": {"N": "1"}}, cond, None)
    with pytest.raises(ValidationException, match="keys: {:w}"):
        check_usage(None, {":v": {"N": "1"}, ":w": {"N": "1"}}, cond)


def test_empty_attribute_name_value():
    assert err({"ConditionExpression": "#a = #a", "ExpressionAttributeNames": {"#a": ""}}).startswith(
        "ExpressionAttributeNames contains invalid value")
