"""Audit of attribute values, their limits and the single-item operations' options (PutItem, GetItem,
UpdateItem, DeleteItem), beyond test_items.py / test_misc_limits.py / test_capacity_conformance.py."""
from __future__ import annotations

import re

import pytest

from conformance.cfutil import raises, raw_poster

V = "ValidationException"
K = {"pk": {"S": "a"}}


# --- members an operation's input shape does not have are ignored ---------------------------------------
# DynamoDB's JSON deserializer drops members the operation does not define: an AttributeUpdates on a
# PutItem neither applies nor fails (eddydb used to translate it, and answered 500 when it was not a map).
@pytest.mark.parametrize("op, body", [
    ("PutItem", {"Item": K, "AttributeUpdates": 1}),
    ("PutItem", {"Item": K, "AttributeUpdates": ["x"]}),
    ("PutItem", {"Item": K, "AttributesToGet": 1}),
    ("DeleteItem", {"Key": K, "AttributeUpdates": "x"}),
    ("DeleteItem", {"Key": K, "AttributesToGet": [{"S": "a"}]}),
    ("GetItem", {"Key": K, "Expected": 5}),
    ("UpdateItem", {"Key": K, "AttributesToGet": True}),
])
def test_a_foreign_member_of_the_wrong_type_is_ignored_not_a_500(eddy_server, ddbs, make_table, op, body):
    t = make_table(client=ddbs)
    status, out = raw_poster(eddy_server.url)(op, {"TableName": t, **body})
    assert status == 200, out


def test_foreign_expression_members_are_ignored(eddy_server, ddbs, make_table):
    t = make_table(client=ddbs)
    post = raw_poster(eddy_server.url)
    # PutItem has no AttributeUpdates: the item is put as given
    assert post("PutItem", {"TableName": t, "Item": K, "AttributeUpdates": {"v": {"Value": {"S": "x"}}}})[0] == 200
    assert ddbs.get_item(TableName=t, Key=K, ConsistentRead=True)["Item"] == K
    # GetItem has no ConditionExpression / Expected / ExpressionAttributeValues: a plain read
    for extra in ({"ConditionExpression": "attribute_exists(zz)"}, {"Expected": {"zz": {"Exists": True}}},
                  {"UpdateExpression": "SET v = :v", "ExpressionAttributeValues": {":v": {"S": "x"}}}):
        status, out = post("GetItem", {"TableName": t, "Key": K, **extra})
        assert (status, out) == (200, {"Item": K})
    # a ProjectionExpression on an UpdateItem projects nothing, an AttributesToGet on a PutItem neither
    status, out = post("UpdateItem", {"TableName": t, "Key": K, "ProjectionExpression": "zz", "ReturnValues": "ALL_NEW"})
    assert (status, out) == (200, {"Attributes": K})
    status, out = post("PutItem", {"TableName": t, "Item": K, "AttributesToGet": ["zz"], "ReturnValues": "ALL_OLD"})
    assert (status, out) == (200, {"Attributes": K})
    # a KeyConditionExpression outside a Query is not "only valid for Query": it is not there at all
    status, out = post("PutItem", {"TableName": t, "Item": K, "KeyConditionExpression": "pk = a"})
    assert status == 200, out
    # an UpdateExpression on a DeleteItem does not use the values: they are the ConditionExpression's
    status, out = post("DeleteItem", {"TableName": t, "Key": K, "UpdateExpression": "SET v = :v",
                                      "ExpressionAttributeValues": {":v": {"S": "x"}}})
    assert status == 400
    assert out["message"] == ("ExpressionAttributeValues can only be specified when using expressions: "
                              "ConditionExpression is null")
    assert "Item" in ddbs.get_item(TableName=t, Key=K, ConsistentRead=True)


# --- a key value with a member set to JSON null ----------------------------------------------------------
def test_a_key_value_with_a_null_member_is_the_type_of_its_other_member(eddy_server, ddbs, make_table):
    # JSON null is an absent member everywhere in a request: {"S": "a", "N": null} is the string "a",
    # in a Key as in an Item (the Key used to answer "does not match the schema")
    t = make_table(client=ddbs)
    post = raw_poster(eddy_server.url)
    assert post("PutItem", {"TableName": t, "Item": {"pk": {"S": "a", "N": None}, "v": {"N": "1", "S": None}}})[0] == 200
    assert post("GetItem", {"TableName": t, "Key": {"pk": {"S": "a", "N": None}}}) == (
        200, {"Item": {"pk": {"S": "a"}, "v": {"N": "1"}}})
    assert post("UpdateItem", {"TableName": t, "Key": {"pk": {"NULL": None, "S": "b"}}, "ReturnValues": "ALL_NEW"}) == (
        200, {"Attributes": {"pk": {"S": "b"}}})
    assert post("DeleteItem", {"TableName": t, "Key": {"pk": {"S": "a", "B": None}}, "ReturnValues": "ALL_OLD"}) == (
        200, {"Attributes": {"pk": {"S": "a"}, "v": {"N": "1"}}})
    # another type beside the null is still the wrong type
    status, out = post("GetItem", {"TableName": t, "Key": {"pk": {"N": "1", "S": None}}})
    assert (status, out["message"]) == (400, "The provided key element does not match the schema")
    status, out = post("PutItem", {"TableName": t, "Item": {"pk": {"N": "1", "S": None}}})
    assert status == 400
    assert out["message"] == "One or more parameter values were invalid: Type mismatch for key pk expected: S actual: N"


# --- PutItem's and DeleteItem's ReturnValues: checked before the table, the key and the size -------------
_RV_INVALID = "Return values set to invalid value"


def test_put_and_delete_return_values_are_checked_before_the_table_lookup(ddb):
    with raises(V, _RV_INVALID):
        ddb.put_item(TableName="audit-values-no-such-table", Item=K, ReturnValues="ALL_NEW")
    with raises(V, _RV_INVALID):
        ddb.delete_item(TableName="audit-values-no-such-table", Key=K, ReturnValues="UPDATED_OLD")
    # the attribute values come first
    with raises(V, "^The parameter cannot be converted to a numeric value: x$"):
        ddb.put_item(TableName="audit-values-no-such-table", Item={**K, "n": {"N": "x"}}, ReturnValues="ALL_NEW")
    # valid values and a missing table stay ResourceNotFound
    with raises("ResourceNotFoundException"):
        ddb.delete_item(TableName="audit-values-no-such-table", Key=K, ReturnValues="ALL_OLD")


def test_put_and_delete_return_values_are_checked_before_the_key_and_the_size(ddb, mk):
    t = mk()
    with raises(V, _RV_INVALID):
        ddb.put_item(TableName=t, Item={"x": {"S": "a"}}, ReturnValues="ALL_NEW")
    with raises(V, _RV_INVALID):
        ddb.put_item(TableName=t, Item={**K, "x": {"S": "a" * 409600}}, ReturnValues="UPDATED_NEW")
    with raises(V, _RV_INVALID):
        ddb.delete_item(TableName=t, Key={"x": {"S": "a"}}, ReturnValues="ALL_NEW")
    with raises(V, "Supplied AttributeValue is empty"):
        ddb.delete_item(TableName=t, Key={"pk": {}}, ReturnValues="ALL_NEW")
    with raises(V, "Missing the key pk in the item"):
        ddb.put_item(TableName=t, Item={"x": {"S": "a"}}, ReturnValues="ALL_OLD")
    assert "Item" not in ddb.get_item(TableName=t, Key=K, ConsistentRead=True)


# --- number text DynamoDB cannot read ------------------------------------------------------------------
@pytest.mark.parametrize("text", ["abc", "1.2.3", "NaN", "Infinity", "-Infinity", "0x10", " 5", "5 ", "1e", "e5", "+",
                                  "--1", "1_000"])
def test_an_unreadable_number_is_named_in_the_error(ddb, mk, text):
    # "The parameter cannot be converted to a numeric value: <text>" (moto and dynalite record it)
    t = mk()
    with raises(V, "^The parameter cannot be converted to a numeric value: " + re.escape(text) + "$"):
        ddb.put_item(TableName=t, Item={**K, "n": {"N": text}})
    with raises(V, "^The parameter cannot be converted to a numeric value: " + re.escape(text) + "$"):
        ddb.put_item(TableName=t, Item={**K, "n": {"NS": ["1", text]}})
    with raises(V, "^ExpressionAttributeValues contains invalid value: The parameter cannot be converted to a "
                   "numeric value: " + re.escape(text) + " for key :v$"):
        ddb.update_item(TableName=t, Key=K, UpdateExpression="SET n = :v", ExpressionAttributeValues={":v": {"N": text}})
    assert "Item" not in ddb.get_item(TableName=t, Key=K, ConsistentRead=True)


def test_an_empty_number_has_no_text_to_name(ddb, mk):
    t = mk(("pk", "N"))
    with raises(V, "^The parameter cannot be converted to a numeric value$"):
        ddb.put_item(TableName=t, Item={"pk": {"N": "1"}, "n": {"N": ""}})
    with raises(V, "^The parameter cannot be converted to a numeric value$"):
        ddb.get_item(TableName=t, Key={"pk": {"N": ""}})


def test_a_number_out_of_range_reports_its_magnitude_before_its_digits(ddb, mk):
    # 39 significant digits at an exponent past 125: the overflow is reported (dynalite's order)
    t = mk()
    with raises(V, "^Number overflow. Attempting to store a number with magnitude larger than supported range$"):
        ddb.put_item(TableName=t, Item={**K, "n": {"N": "1" * 39 + "E+100"}})
    with raises(V, "^Number underflow. Attempting to store a number with magnitude smaller than supported range$"):
        ddb.put_item(TableName=t, Item={**K, "n": {"N": "0." + "0" * 140 + "1" * 39}})
    with raises(V, "^Attempting to store more than 38 significant digits in a Number$"):
        ddb.put_item(TableName=t, Item={**K, "n": {"N": "1" * 39}})
    # the limits themselves are numbers
    ddb.put_item(TableName=t, Item={**K, "a": {"N": "9.9999999999999999999999999999999999999E+125"},
                                    "b": {"N": "-1E-130"}, "c": {"N": "1" * 38 + "0" * 88}})
    got = ddb.get_item(TableName=t, Key=K, ConsistentRead=True)["Item"]
    assert got["a"] == {"N": "9" * 38 + "0" * 88}
    assert got["b"] == {"N": "-0." + "0" * 129 + "1"}
    assert got["c"] == {"N": "1" * 38 + "0" * 88}


# --- binary values that are not canonical base64 ---------------------------------------------------------
_B64 = "^Invalid last non-pad Base64 character dectected$"


@pytest.mark.parametrize("text", ["YR==", "YWJk", "!!!!", "YQ=a", "-_-_", "====", "Y Q="])
def test_binary_that_is_not_canonical_base64_is_a_serialization_error(eddy_server, ddbs, make_table, text):
    # DynamoDB's decoder takes only canonical base64: "YR==" (stray bits after the last byte) fails
    # like a character outside the alphabet, with dynalite's recorded message (typo included)
    t = make_table(client=ddbs)
    post = raw_poster(eddy_server.url)
    for body in ({"Item": {**K, "b": {"B": text}}}, {"Item": {**K, "b": {"BS": ["YQ==", text]}}},
                 {"Item": {**K, "m": {"M": {"b": {"B": text}}}}}):
        status, out = post("PutItem", {"TableName": t, **body})
        if text == "YWJk":  # canonical: "abd"
            assert status == 200, out
            continue
        assert status == 400
        assert out["__type"].endswith("#SerializationException")
        assert re.match(_B64, out["message"]), out


def test_binary_base64_length_is_checked_first(eddy_server, ddbs, make_table):
    t = make_table(client=ddbs)
    status, out = raw_poster(eddy_server.url)("PutItem", {"TableName": t, "Item": {**K, "b": {"B": "YR="}}})
    assert (status, out["message"]) == (400, "Base64 encoded length is expected a multiple of 4 bytes but found: 3")
    assert "Item" not in ddbs.get_item(TableName=t, Key=K, ConsistentRead=True)


# --- duplicates in sets -------------------------------------------------------------------------------
def test_each_set_type_words_its_duplicates_as_dynalite_records(ddb, mk):
    t = mk()
    with raises(V, r"^One or more parameter values were invalid: Input collection \[a, b, a\] contains duplicates\.$"):
        ddb.put_item(TableName=t, Item={**K, "s": {"SS": ["a", "b", "a"]}})
    # numbers are compared by value: 1 and 1.0 are the same member
    with raises(V, "^Input collection contains duplicates$"):
        ddb.put_item(TableName=t, Item={**K, "s": {"NS": ["1", "1.0"]}})
    with raises(V, "^ExpressionAttributeValues contains invalid value: Input collection contains duplicates for key :v$"):
        ddb.update_item(TableName=t, Key=K, UpdateExpression="ADD s :v", ExpressionAttributeValues={":v": {"NS": ["2", "02"]}})
    with raises(V, r"^One or more parameter values were invalid: Input collection \[YQ==, Yg==, YQ==\]of type BS "
                   r"contains duplicates\.$"):
        ddb.put_item(TableName=t, Item={**K, "s": {"BS": [b"a", b"b", b"a"]}})
    assert "Item" not in ddb.get_item(TableName=t, Key=K, ConsistentRead=True)
    # empty strings and binaries are members like any other (only the set itself may not be empty)
    ddb.put_item(TableName=t, Item={**K, "s": {"SS": ["", "a"]}, "b": {"BS": [b"", b"a"]}, "n": {"NS": ["0", "-0.5"]}})
    got = ddb.get_item(TableName=t, Key=K, ConsistentRead=True)["Item"]
    assert sorted(got["s"]["SS"]) == ["", "a"] and sorted(got["b"]["BS"]) == [b"", b"a"]
    assert sorted(got["n"]["NS"]) == ["-0.5", "0"]


# --- boundaries: item size with containers, key size in UTF-8 bytes, read units at 4 KB -----------------
_MAX = 409600


def test_the_400_kb_limit_counts_container_overhead_exactly(ddb, mk):
    t = mk()
    # pk: 2 + 1; m: 1 + 3 (map) + 1 (element) + 1 ("k") + n;  l: 1 + 3 (list) + 1 (element) + n
    map_n = _MAX - 3 - 1 - 3 - 1 - 1
    ddb.put_item(TableName=t, Item={**K, "m": {"M": {"k": {"S": "y" * map_n}}}})
    with raises(V, "^Item size has exceeded the maximum allowed size$"):
        ddb.put_item(TableName=t, Item={**K, "m": {"M": {"k": {"S": "y" * (map_n + 1)}}}})
    list_n = _MAX - 3 - 1 - 3 - 1
    ddb.put_item(TableName=t, Item={**K, "l": {"L": [{"S": "y" * list_n}]}})
    with raises(V, "^Item size has exceeded the maximum allowed size$"):
        ddb.put_item(TableName=t, Item={**K, "l": {"L": [{"S": "y" * (list_n + 1)}]}})
    # an update may reach the limit exactly, not pass it
    ddb.put_item(TableName=t, Item={**K, "x": {"S": "y" * (_MAX - 4 - 10)}})
    ddb.update_item(TableName=t, Key=K, UpdateExpression="SET z = :v", ExpressionAttributeValues={":v": {"S": "y" * 9}})
    with raises(V, "^Item size to update has exceeded the maximum allowed size$"):
        ddb.update_item(TableName=t, Key=K, UpdateExpression="SET q = :v", ExpressionAttributeValues={":v": {"S": ""}})


def test_key_sizes_count_utf8_bytes(ddb, mk):
    t = mk("pk", "sk")
    euro = "\u20ac"  # three UTF-8 bytes
    ddb.put_item(TableName=t, Item={"pk": {"S": euro * 682 + "ab"}, "sk": {"S": euro * 341 + "a"}})
    with raises(V, "^One or more parameter values were invalid: Size of hashkey has exceeded the maximum size "
                   "limit of2048 bytes$"):
        ddb.put_item(TableName=t, Item={"pk": {"S": euro * 683}, "sk": {"S": "a"}})
    with raises(V, "^One or more parameter values were invalid: Aggregated size of all range keys has exceeded "
                   "the size limit of 1024 bytes$"):
        ddb.get_item(TableName=t, Key={"pk": {"S": "a"}, "sk": {"S": euro * 342}})


def test_get_item_read_units_round_up_per_4_kb(ddb, mk):
    t = mk()
    ddb.put_item(TableName=t, Item={"pk": {"S": "a"}, "x": {"S": "y" * (4096 - 4)}})  # 4096 bytes
    ddb.put_item(TableName=t, Item={"pk": {"S": "b"}, "x": {"S": "y" * (4097 - 4)}})  # 4097 bytes
    units = {}
    for k in ("a", "b", "missing"):
        for consistent in (False, True):
            r = ddb.get_item(TableName=t, Key={"pk": {"S": k}}, ConsistentRead=consistent,
                             ReturnConsumedCapacity="TOTAL", ProjectionExpression="pk")
            units[k, consistent] = r["ConsumedCapacity"]["CapacityUnits"]
    # a projection does not make the read cheaper; a missing item costs the minimum
    assert units == {("a", False): 0.5, ("a", True): 1.0, ("b", False): 1.0, ("b", True): 2.0,
                     ("missing", False): 0.5, ("missing", True): 1.0}
    # a delete costs the deleted item's size, a delete of nothing one unit
    r = ddb.delete_item(TableName=t, Key={"pk": {"S": "b"}}, ReturnConsumedCapacity="TOTAL")
    assert r["ConsumedCapacity"]["CapacityUnits"] == 5.0
    r = ddb.delete_item(TableName=t, Key={"pk": {"S": "b"}}, ReturnConsumedCapacity="TOTAL")
    assert r["ConsumedCapacity"]["CapacityUnits"] == 1.0


# --- error precedence inside attribute values ------------------------------------------------------------
@pytest.mark.parametrize("av, message", [
    ({"S": "a", "N": "b"}, "The parameter cannot be converted to a numeric value: b"),
    ({"S": "", "N": ""}, "The parameter cannot be converted to a numeric value"),
    ({"NS": ["1", "1"], "S": "x"}, "Input collection contains duplicates"),
    ({"SS": [], "N": "1"}, "One or more parameter values were invalid: An string set  may not be empty"),
    ({"NULL": False, "S": "x"}, ("One or more parameter values were invalid: Null attribute value types must have the "
                                "value of true")),
    ({"L": [{"N": "x"}], "S": "x"}, "The parameter cannot be converted to a numeric value: x"),
    ({"S": "a", "N": "1"}, ("Supplied AttributeValue has more than one datatypes set, must contain exactly one of the "
                           "supported datatypes")),
])
def test_each_datatype_is_validated_before_there_being_several_is(eddy_server, ddbs, make_table, av, message):
    # dynalite's order (its validation messages were taken from DynamoDB)
    t = make_table(client=ddbs)
    status, out = raw_poster(eddy_server.url)("PutItem", {"TableName": t, "Item": {**K, "v": av}})
    assert (status, out["message"]) == (400, message)


@pytest.mark.parametrize("op, body, message", [
    # a validation error in an earlier attribute, a JSON-type or base64 error in a later one
    ("PutItem", {"Item": {**K, "a": {"N": "x"}, "b": {"B": "!!!!"}}}, "Invalid last non-pad Base64 character dectected"),
    ("PutItem", {"Item": {**K, "a": {"SS": []}, "b": {"S": 5}}}, "NUMBER_VALUE cannot be converted to String"),
    ("PutItem", {"Item": {**K, "a": {"SS": []}, "b": {"M": {"c": {"L": [{"BOOL": "x"}]}}}}},
     "Unexpected token received from parser"),
    ("PutItem", {"Item": {"x": {"S": "a"}, "b": {"NS": [1]}}}, "NUMBER_VALUE cannot be converted to String"),
    ("UpdateItem", {"Key": K, "UpdateExpression": "SET a = :a, b = :b",
                    "ExpressionAttributeValues": {":a": {"N": "x"}, ":b": {"BS": ["YR=="]}}},
     "Invalid last non-pad Base64 character dectected"),
    ("GetItem", {"Key": {"pk": {"N": "x"}, "sk": {"S": True}}}, "TRUE_VALUE cannot be converted to String"),
    ("DeleteItem", {"Key": K, "ConditionExpression": "a = :a AND b = :b",
                    "ExpressionAttributeValues": {":a": {"SS": []}, ":b": {"B": 1}}},
     "only base-64-encoded strings are convertible to bytes"),
])
def test_a_request_that_cannot_be_deserialized_fails_so_whatever_else_is_wrong(eddy_server, ddbs, make_table, op, body,
                                                                               message):
    # DynamoDB deserializes the whole request before validating any of it
    t = make_table(client=ddbs)
    post = raw_poster(eddy_server.url)
    for table in (t, "audit-values-no-such-table"):
        status, out = post(op, {"TableName": table, **body})
        assert status == 400
        assert (out["__type"].rsplit("#", 1)[-1], out["message"]) == ("SerializationException", message)
    assert "Item" not in ddbs.get_item(TableName=t, Key=K, ConsistentRead=True)


def test_deeply_nested_values_are_checked_without_recursion(eddy_server, ddbs, make_table):
    t = make_table(client=ddbs)
    v: dict = {"S": 5}
    for _ in range(400):
        v = {"L": [v]}
    status, out = raw_poster(eddy_server.url)("PutItem", {"TableName": t, "Item": {**K, "v": v}})
    assert (status, out["message"]) == (400, "NUMBER_VALUE cannot be converted to String")
