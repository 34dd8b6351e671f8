"""Error responses found different from dynalite's (whose validation messages were taken from
DynamoDB) by a differential probe of malformed requests, where today's DynamoDB agrees with
dynalite. Raw HTTP requests, since an SDK drops JSON nulls and will not send wrong JSON types."""
from __future__ import annotations

from typing import Any

import pytest

from conformance.cfutil import raw_error, raw_poster

V = "ValidationException"
S = "SerializationException"
_EMPTY_AV = "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes"


@pytest.fixture
def post(eddy_server: Any) -> Any:
    return raw_poster(eddy_server.url)


_err = raw_error


@pytest.fixture
def table(ddbs: Any, make_table: Any) -> str:
    t = make_table(client=ddbs)
    ddbs.put_item(TableName=t, Item={"pk": {"S": "a"}})
    return t


# --- a JSON null member is an absent member ---------------------------------------------------------

def test_null_scan_index_forward_is_the_default_order(post, table):
    status, body = post("Query", {"TableName": table, "KeyConditionExpression": "pk = :p",
                                  "ExpressionAttributeValues": {":p": {"S": "a"}}, "ScanIndexForward": None})
    assert status == 200 and body["Count"] == 1


def test_null_batch_get_consistent_read_is_eventually_consistent(post, table):
    status, body = post("BatchGetItem", {"RequestItems": {table: {"Keys": [{"pk": {"S": "a"}}],
                                                                  "ConsistentRead": None}}})
    assert status == 200 and body["Responses"][table] == [{"pk": {"S": "a"}}]


# --- an AttributeValue member of the wrong JSON type is the deserializer's error, as for any member ---

_MAP_OF_AV = "java.util.Map<java.lang.String, com.amazonaws.dynamodb.v20120810.AttributeValue>"


@pytest.mark.parametrize(("av", "code", "message"), [
    ({"S": True}, S, "TRUE_VALUE cannot be converted to String"),
    ({"S": 1.5}, S, "DECIMAL_VALUE cannot be converted to String"),
    ({"N": False}, S, "FALSE_VALUE cannot be converted to String"),
    ({"S": []}, S, "Unrecognized collection type class java.lang.String"),
    ({"N": {}}, S, "Start of structure or map found where not expected"),
    ({"SS": ["a", 1]}, S, "NUMBER_VALUE cannot be converted to String"),
    ({"NS": [True]}, S, "TRUE_VALUE cannot be converted to String"),
    ({"B": 5}, S, "only base-64-encoded strings are convertible to bytes"),
    ({"B": []}, S, "Unrecognized collection type class java.nio.ByteBuffer"),
    ({"BOOL": 1}, S, "NUMBER_VALUE cannot be converted to Boolean"),
    ({"NULL": []}, S, "Unrecognized collection type class java.lang.Boolean"),
    ({"L": "x"}, S, "Unexpected field type"),
    ({"SS": {}}, S, "Start of structure or map found where not expected"),
    ({"M": []}, S, "Unrecognized collection type " + _MAP_OF_AV),
    ({"M": 5}, S, "Unexpected field type"),
    ({"L": [1]}, S, "Unexpected value type in payload"),
    ({"M": {"a": "x"}}, S, "Unexpected value type in payload"),
    ({"L": [[]]}, S, "Unrecognized collection type class com.amazonaws.dynamodb.v20120810.AttributeValue"),
    ({"S": None}, V, _EMPTY_AV),
    ({"L": [{"N": None}]}, V, _EMPTY_AV),
])
def test_attribute_value_member_of_wrong_json_type(post, table, av, code, message):
    assert _err(post("PutItem", {"TableName": table, "Item": {"pk": {"S": "b"}, "x": av}})) == (code, message)


def test_null_attribute_value_members_are_absent(post, ddbs, table):
    status, _ = post("PutItem", {"TableName": table, "Item": {"pk": {"S": "b"}, "x": {"S": "y", "N": None}}})
    assert status == 200
    assert ddbs.get_item(TableName=table, Key={"pk": {"S": "b"}})["Item"]["x"] == {"S": "y"}


def test_boolean_text_in_an_attribute_value_is_converted(post, ddbs, table):
    status, _ = post("PutItem", {"TableName": table, "Item": {"pk": {"S": "b"}, "x": {"BOOL": "true"},
                                                              "n": {"NULL": "yes"}}})
    assert status == 200
    item = ddbs.get_item(TableName=table, Key={"pk": {"S": "b"}})["Item"]
    assert (item["x"], item["n"]) == ({"BOOL": True}, {"NULL": True})
    assert _err(post("PutItem", {"TableName": table, "Item": {"pk": {"S": "b"}, "x": {"BOOL": "maybe"}}})) == (
        S, "Unexpected token received from parser")


def test_legacy_parameters_report_value_types_as_request_parsing_errors(post, table):
    k = {"pk": {"S": "a"}}
    assert _err(post("PutItem", {"TableName": table, "Item": k, "Expected": {"a": {"Value": {"B": "YQ="}}}})) == (
        S, "Base64 encoded length is expected a multiple of 4 bytes but found: 3")
    assert _err(post("UpdateItem", {"TableName": table, "Key": k, "AttributeUpdates": {
        "a": {"Action": "PUT", "Value": {"N": 1}}}})) == (S, "NUMBER_VALUE cannot be converted to String")
    assert _err(post("Scan", {"TableName": table, "ScanFilter": {
        "a": {"ComparisonOperator": "EQ", "AttributeValueList": [{"L": "x"}]}}})) == (S, "Unexpected field type")
    assert _err(post("Scan", {"TableName": table, "ScanFilter": {
        "a": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": None}]}}})) == (V, _EMPTY_AV)


def test_null_key_condition_is_a_condition_without_its_operator(post, ddbs, make_table):
    t = make_table(client=ddbs)
    missing = ("1 validation error detected: Value null at 'keyConditions.pk.member.comparisonOperator' failed to "
               "satisfy constraint: Member must not be null")
    assert _err(post("Query", {"TableName": t, "KeyConditions": {"pk": {}}})) == (V, missing)
    assert _err(post("Query", {"TableName": t, "KeyConditions": {"pk": None}})) == (V, missing)


@pytest.mark.parametrize(("op", "param"), [("Query", "QueryFilter"), ("Scan", "ScanFilter")])
@pytest.mark.parametrize("condition", [{}, None, {"ComparisonOperator": None}])
def test_filter_condition_without_operator_names_its_path(post, ddbs, make_table, op, param, condition):
    t = make_table(client=ddbs)
    req: dict = {"TableName": t, param: {"a": condition}}
    if op == "Query":
        req["KeyConditions"] = {"pk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "a"}]}}
    path = f"{param[0].lower()}{param[1:]}.a.member.comparisonOperator"
    message = f"1 validation error detected: Value null at '{path}' failed to satisfy constraint: Member must not be null"
    assert _err(post(op, req)) == (V, message)
