"""PutItem / GetItem / UpdateItem / DeleteItem as real DynamoDB answers them (alternator-style)."""
from __future__ import annotations

import pytest

from conformance.cfutil import raises

V = "ValidationException"


def test_get_missing_item_has_no_item_key(ddb, mk):
    t = mk()
    r = ddb.get_item(TableName=t, Key={"pk": {"S": "nope"}})
    assert "Item" not in r


def test_put_get_roundtrip_all_types(ddb, mk):
    t = mk()
    item = {"pk": {"S": "a"}, "s": {"S": "x"}, "n": {"N": "3"}, "b": {"B": b"\x00\xff"},
            "ss": {"SS": ["a", "b"]}, "ns": {"NS": ["1", "2"]}, "bs": {"BS": [b"a", b"b"]},
            "l": {"L": [{"S": "x"}, {"N": "1"}]}, "m": {"M": {"k": {"BOOL": True}}},
            "t": {"BOOL": False}, "z": {"NULL": True}, "e": {"S": ""}, "eb": {"B": b""}}
    ddb.put_item(TableName=t, Item=item)
    got = ddb.get_item(TableName=t, Key={"pk": {"S": "a"}}, ConsistentRead=True)["Item"]
    assert sorted(got["ss"]["SS"]) == ["a", "b"]
    assert sorted(got["ns"]["NS"]) == ["1", "2"]
    assert sorted(got["bs"]["BS"]) == [b"a", b"b"]
    for k in ("s", "n", "b", "l", "m", "t", "z", "e", "eb"):
        assert got[k] == item[k]


def test_key_errors(ddb, mk):
    t = mk("pk", "sk:N")
    with raises(V, "Missing the key sk in the item"):
        ddb.put_item(TableName=t, Item={"pk": {"S": "a"}})
    with raises(V, "Type mismatch for key"):
        ddb.put_item(TableName=t, Item={"pk": {"N": "1"}, "sk": {"N": "1"}})
    with raises(V, "The provided key element does not match the schema"):
        ddb.get_item(TableName=t, Key={"pk": {"S": "a"}})
    with raises(V, "The provided key element does not match the schema"):
        ddb.get_item(TableName=t, Key={"pk": {"S": "a"}, "sk": {"N": "1"}, "x": {"S": "y"}})
    with raises(V, "The provided key element does not match the schema"):
        ddb.get_item(TableName=t, Key={"pk": {"S": "a"}, "sk": {"S": "1"}})
    with raises(V, "empty string value. Key: pk"):
        ddb.put_item(TableName=t, Item={"pk": {"S": ""}, "sk": {"N": "1"}})
    with raises(V, "empty"):
        ddb.get_item(TableName=t, Key={"pk": {"S": ""}, "sk": {"N": "1"}})


def test_missing_table(ddb):
    with raises("ResourceNotFoundException", "Requested resource not found"):
        ddb.get_item(TableName="no-such-table-xyz", Key={"pk": {"S": "a"}})
    with raises("ResourceNotFoundException"):
        ddb.put_item(TableName="no-such-table-xyz", Item={"pk": {"S": "a"}})


def test_put_return_values(ddb, mk):
    t = mk()
    r = ddb.put_item(TableName=t, Item={"pk": {"S": "a"}, "x": {"N": "1"}}, ReturnValues="ALL_OLD")
    assert "Attributes" not in r
    r = ddb.put_item(TableName=t, Item={"pk": {"S": "a"}, "x": {"N": "2"}}, ReturnValues="ALL_OLD")
    assert r["Attributes"] == {"pk": {"S": "a"}, "x": {"N": "1"}}
    r = ddb.put_item(TableName=t, Item={"pk": {"S": "a"}}, ReturnValues="NONE")
    assert "Attributes" not in r
    for bad in ("ALL_NEW", "UPDATED_OLD", "UPDATED_NEW"):
        with raises(V):
            ddb.put_item(TableName=t, Item={"pk": {"S": "a"}}, ReturnValues=bad)
    with raises(V):
        ddb.put_item(TableName=t, Item={"pk": {"S": "a"}}, ReturnValues="DOG")


def test_delete_return_values(ddb, mk):
    t = mk()
    r = ddb.delete_item(TableName=t, Key={"pk": {"S": "a"}}, ReturnValues="ALL_OLD")
    assert "Attributes" not in r
    ddb.put_item(TableName=t, Item={"pk": {"S": "a"}, "x": {"N": "1"}})
    r = ddb.delete_item(TableName=t, Key={"pk": {"S": "a"}}, ReturnValues="ALL_OLD")
    assert r["Attributes"] == {"pk": {"S": "a"}, "x": {"N": "1"}}
    with raises(V):
        ddb.delete_item(TableName=t, Key={"pk": {"S": "a"}}, ReturnValues="ALL_NEW")


def test_update_return_values(ddb, mk):
    t = mk()
    k = {"pk": {"S": "a"}}
    ddb.put_item(TableName=t, Item={"pk": {"S": "a"}, "x": {"N": "1"}, "y": {"N": "5"}})
    r = ddb.update_item(TableName=t, Key=k, UpdateExpression="SET x = :v, z = :v",
                        ExpressionAttributeValues={":v": {"N": "2"}}, ReturnValues="UPDATED_OLD")
    assert r["Attributes"] == {"x": {"N": "1"}}
    r = ddb.update_item(TableName=t, Key=k, UpdateExpression="SET x = :v",
                        ExpressionAttributeValues={":v": {"N": "3"}}, ReturnValues="UPDATED_NEW")
    assert r["Attributes"] == {"x": {"N": "3"}}
    r = ddb.update_item(TableName=t, Key=k, UpdateExpression="SET x = :v",
                        ExpressionAttributeValues={":v": {"N": "4"}}, ReturnValues="ALL_OLD")
    assert r["Attributes"] == {"pk": {"S": "a"}, "x": {"N": "3"}, "y": {"N": "5"}, "z": {"N": "2"}}
    r = ddb.update_item(TableName=t, Key=k, UpdateExpression="REMOVE y", ReturnValues="ALL_NEW")
    assert r["Attributes"] == {"pk": {"S": "a"}, "x": {"N": "4"}, "z": {"N": "2"}}
    r = ddb.update_item(TableName=t, Key=k, UpdateExpression="SET w = :v",
                        ExpressionAttributeValues={":v": {"N": "4"}}, ReturnValues="UPDATED_OLD")
    assert "Attributes" not in r
    r = ddb.update_item(TableName=t, Key=k, UpdateExpression="REMOVE w", ReturnValues="UPDATED_NEW")
    assert "Attributes" not in r
    r = ddb.update_item(TableName=t, Key={"pk": {"S": "new"}}, UpdateExpression="SET q = :v",
                        ExpressionAttributeValues={":v": {"N": "4"}}, ReturnValues="ALL_OLD")
    assert "Attributes" not in r
    with raises(V):
        ddb.update_item(TableName=t, Key=k, UpdateExpression="SET x = :v",
                        ExpressionAttributeValues={":v": {"N": "4"}}, ReturnValues="DOG")


def test_update_nested_updated_new(ddb, mk):
    t = mk()
    k = {"pk": {"S": "a"}}
    ddb.put_item(TableName=t, Item={"pk": {"S": "a"}, "m": {"M": {"a": {"N": "1"}, "b": {"N": "2"}}}})
    r = ddb.update_item(TableName=t, Key=k, UpdateExpression="SET m.a = :v",
                        ExpressionAttributeValues={":v": {"N": "9"}}, ReturnValues="UPDATED_NEW")
    assert r["Attributes"] == {"m": {"M": {"a": {"N": "9"}}}}


def test_update_without_expression_creates_item(ddb, mk):
    t = mk()
    ddb.update_item(TableName=t, Key={"pk": {"S": "a"}})
    assert ddb.get_item(TableName=t, Key={"pk": {"S": "a"}})["Item"] == {"pk": {"S": "a"}}


def test_update_key_attribute_rejected(ddb, mk):
    t = mk()
    msg = "^One or more parameter values were invalid: Cannot update attribute pk. This attribute is part of the key$"
    with raises(V, msg):
        ddb.update_item(TableName=t, Key={"pk": {"S": "a"}}, UpdateExpression="SET pk = :v",
                        ExpressionAttributeValues={":v": {"S": "b"}})
    for expr in ("REMOVE pk", "SET pk.x = :v", "ADD pk :v"):  # any action on it, a nested path too
        with raises(V, msg):
            ddb.update_item(TableName=t, Key={"pk": {"S": "a"}}, UpdateExpression=expr,
                            **({"ExpressionAttributeValues": {":v": {"N": "1"}}} if ":v" in expr else {}))


def test_conditional_check_failed(ddb, mk):
    t = mk()
    ddb.put_item(TableName=t, Item={"pk": {"S": "a"}, "x": {"N": "1"}})
    with raises("ConditionalCheckFailedException", "^The conditional request failed$"):
        ddb.put_item(TableName=t, Item={"pk": {"S": "a"}}, ConditionExpression="attribute_not_exists(pk)")
    with raises("ConditionalCheckFailedException") as e:
        ddb.delete_item(TableName=t, Key={"pk": {"S": "a"}}, ConditionExpression="x = :v",
                        ExpressionAttributeValues={":v": {"N": "2"}},
                        ReturnValuesOnConditionCheckFailure="ALL_OLD")
    assert e.error.response["Item"] == {"pk": {"S": "a"}, "x": {"N": "1"}}
    with raises("ConditionalCheckFailedException") as e:
        ddb.update_item(TableName=t, Key={"pk": {"S": "a"}}, UpdateExpression="SET y = :v",
                        ConditionExpression="x = :v", ExpressionAttributeValues={":v": {"N": "2"}},
                        ReturnValuesOnConditionCheckFailure="NONE")
    assert "Item" not in e.error.response


def test_empty_sets_and_duplicates(ddb, mk):
    t = mk()
    with raises(V, "may not be empty"):
        ddb.put_item(TableName=t, Item={"pk": {"S": "a"}, "s": {"SS": []}})
    with raises(V, "may not be empty"):
        ddb.put_item(TableName=t, Item={"pk": {"S": "a"}, "s": {"NS": []}})
    with raises(V, "contains duplicates"):
        ddb.put_item(TableName=t, Item={"pk": {"S": "a"}, "s": {"SS": ["a", "a"]}})
    with raises(V, "contains duplicates"):
        ddb.put_item(TableName=t, Item={"pk": {"S": "a"}, "s": {"NS": ["1", "1.0"]}})


def test_empty_string_in_gsi_key(ddb, mk):
    t = mk(gsi={"gsi": ("gk:S",)})
    with raises(V, "secondary index key"):
        ddb.put_item(TableName=t, Item={"pk": {"S": "a"}, "gk": {"S": ""}})
    with raises(V, "Type mismatch for Index Key gk Expected: S Actual: N IndexName: gsi"):
        ddb.put_item(TableName=t, Item={"pk": {"S": "a"}, "gk": {"N": "1"}})
    ddb.put_item(TableName=t, Item={"pk": {"S": "a"}})  # sparse: no gk is fine


def test_item_size_limit(ddb, mk):
    t = mk()
    # item size = len("pk") + len("a") + len("x") + len(value) ; limit 400 KB = 409600 bytes
    ok = "y" * (409600 - 4)
    ddb.put_item(TableName=t, Item={"pk": {"S": "a"}, "x": {"S": ok}})
    with raises(V, "Item size has exceeded the maximum allowed size"):
        ddb.put_item(TableName=t, Item={"pk": {"S": "a"}, "x": {"S": ok + "y"}})
    with raises(V, "Item size to update has exceeded the maximum allowed size"):
        ddb.update_item(TableName=t, Key={"pk": {"S": "a"}}, UpdateExpression="SET z = :v",
                        ExpressionAttributeValues={":v": {"S": "yy"}})


def test_key_size_limits(ddb, mk):
    t = mk("pk", "sk")
    ddb.put_item(TableName=t, Item={"pk": {"S": "a" * 2048}, "sk": {"S": "b" * 1024}})
    with raises(V, "Size of hashkey has exceeded the maximum size limit of2048 bytes"):
        ddb.put_item(TableName=t, Item={"pk": {"S": "a" * 2049}, "sk": {"S": "b"}})
    with raises(V, "Aggregated size of all range keys has exceeded the size limit of 1024 bytes"):
        ddb.put_item(TableName=t, Item={"pk": {"S": "a"}, "sk": {"S": "b" * 1025}})


@pytest.mark.parametrize("num,expect", [
    ("1E-130", "1E-130"), ("9.9999999999999999999999999999999999999E+125", None),
    ("0.0", "0"), ("-0", "0"), ("007", "7"), ("1.50", "1.5"), ("1e2", "100"), ("-.5", "-0.5"),
    ("12345678901234567890123456789012345678", "12345678901234567890123456789012345678"),
])
def test_number_ok(ddb, mk, num, expect):
    t = mk()
    ddb.put_item(TableName=t, Item={"pk": {"S": "a"}, "n": {"N": num}})
    got = ddb.get_item(TableName=t, Key={"pk": {"S": "a"}})["Item"]["n"]["N"]
    if expect is not None:
        from decimal import Decimal
        assert Decimal(got) == Decimal(expect)
    if num in ("0.0", "-0", "007", "1.50"):
        assert got == expect


@pytest.mark.parametrize("num,match", [
    ("1E-131", "Number underflow"), ("1E126", "Number overflow"),
    ("123456789012345678901234567890123456789", "38 significant digits"),
    ("abc", "cannot be converted"), ("", "cannot be converted"), ("1.2.3", "cannot be converted"),
    ("NaN", "cannot be converted"), ("Infinity", "cannot be converted"),
])
def test_number_bad(ddb, mk, num, match):
    t = mk()
    with raises(V, match):
        ddb.put_item(TableName=t, Item={"pk": {"S": "a"}, "n": {"N": num}})


def test_number_key_normalised(ddb, mk):
    t = mk("pk:N")
    ddb.put_item(TableName=t, Item={"pk": {"N": "1.0"}, "x": {"S": "1"}})
    assert ddb.get_item(TableName=t, Key={"pk": {"N": "1"}})["Item"]["x"] == {"S": "1"}
    assert ddb.get_item(TableName=t, Key={"pk": {"N": "01.000"}})["Item"]["pk"] == {"N": "1"}


def test_invalid_attribute_values(ddb, mk):
    t = mk()
    with raises(V):
        ddb.put_item(TableName=t, Item={"pk": {"S": "a"}, "": {"S": "x"}})
    with raises(V, "Attribute name is too large"):
        ddb.put_item(TableName=t, Item={"pk": {"S": "a"}, "x" * 65536: {"S": "x"}})
    ddb.put_item(TableName=t, Item={"pk": {"S": "a"}, "x" * 65535: {"S": "x"}})
    with raises(V, "Attribute name is too large"):
        ddb.get_item(TableName=t, Key={"pk": {"S": "a"}}, ProjectionExpression="#n",
                     ExpressionAttributeNames={"#n": "x" * 65536})
    with raises(V):
        ddb.put_item(TableName=t, Item={"pk": {"S": "a"}, "x": {}})
    with raises(V):
        ddb.put_item(TableName=t, Item={"pk": {"S": "a"}, "x": {"S": "a", "N": "1"}})
    with raises(V, "Null attribute value types must have the value of true"):
        ddb.put_item(TableName=t, Item={"pk": {"S": "a"}, "x": {"NULL": False}})


def test_projection_expression_get(ddb, mk):
    t = mk()
    ddb.put_item(TableName=t, Item={"pk": {"S": "a"}, "a": {"L": [{"N": "1"}, {"M": {"b": {"S": "x"}, "c": {"S": "y"}}}]},
                                    "d": {"S": "z"}})
    r = ddb.get_item(TableName=t, Key={"pk": {"S": "a"}}, ProjectionExpression="a[1].b, d, nothere")
    assert r["Item"] == {"a": {"L": [{"M": {"b": {"S": "x"}}}]}, "d": {"S": "z"}}
    r = ddb.get_item(TableName=t, Key={"pk": {"S": "a"}}, ProjectionExpression="nothere")
    assert r["Item"] == {}
    with raises(V, "Two document paths overlap"):
        ddb.get_item(TableName=t, Key={"pk": {"S": "a"}}, ProjectionExpression="a, a.b")
    with raises(V, "Two document paths"):
        ddb.get_item(TableName=t, Key={"pk": {"S": "a"}}, ProjectionExpression="a[1], a[1].b")
    with raises(V, "Can not use both expression and non-expression parameters"):
        ddb.get_item(TableName=t, Key={"pk": {"S": "a"}}, ProjectionExpression="a", AttributesToGet=["a"])


def test_attributes_to_get(ddb, mk):
    t = mk()
    ddb.put_item(TableName=t, Item={"pk": {"S": "a"}, "x": {"S": "1"}, "y": {"S": "2"}})
    r = ddb.get_item(TableName=t, Key={"pk": {"S": "a"}}, AttributesToGet=["x"])
    assert r["Item"] == {"x": {"S": "1"}}
    with raises(V, "[Dd]uplicate"):
        ddb.get_item(TableName=t, Key={"pk": {"S": "a"}}, AttributesToGet=["x", "x"])


def test_expression_attribute_errors(ddb, mk):
    t = mk()
    k = {"pk": {"S": "a"}}
    with raises(V, "Value provided in ExpressionAttributeValues unused in expressions: keys: {:w}"):
        ddb.update_item(TableName=t, Key=k, UpdateExpression="SET x = :v",
                        ExpressionAttributeValues={":v": {"N": "1"}, ":w": {"N": "1"}})
    with raises(V, "Value provided in ExpressionAttributeNames unused in expressions: keys: {#n}"):
        ddb.update_item(TableName=t, Key=k, UpdateExpression="SET x = :v",
                        ExpressionAttributeValues={":v": {"N": "1"}}, ExpressionAttributeNames={"#n": "y"})
    with raises(V, "An expression attribute value used in expression is not defined; attribute value: :v"):
        ddb.update_item(TableName=t, Key=k, UpdateExpression="SET x = :v")
    with raises(V, "An expression attribute name used in the document path is not defined; attribute name: #n"):
        ddb.update_item(TableName=t, Key=k, UpdateExpression="SET #n = :v", ExpressionAttributeValues={":v": {"N": "1"}})
    with raises(V, "ExpressionAttributeValues must not be empty"):
        ddb.update_item(TableName=t, Key=k, UpdateExpression="REMOVE x", ExpressionAttributeValues={})
    with raises(V, "ExpressionAttributeNames must not be empty"):
        ddb.update_item(TableName=t, Key=k, UpdateExpression="REMOVE x", ExpressionAttributeNames={})
    with raises(V, "ExpressionAttributeValues can only be specified when using expressions"):
        ddb.delete_item(TableName=t, Key=k, ExpressionAttributeValues={":v": {"N": "1"}})
    with raises(V, "Can not use both expression and non-expression parameters"):
        ddb.update_item(TableName=t, Key=k, UpdateExpression="REMOVE x",
                        AttributeUpdates={"y": {"Action": "DELETE"}})


def test_missing_required_params(ddbs, make_table):
    t = make_table(client=ddbs)
    with raises(V, r"^1 validation error detected: Value null at 'tableName' failed to satisfy constraint: "
                   r"Member must not be null$"):
        ddbs.get_item(Key={"pk": {"S": "a"}})
    with raises(V, "Value null at 'key' failed to satisfy constraint: Member must not be null"):
        ddbs.get_item(TableName=t)


def test_validation_errors_reported_together_before_table_lookup(ddbs):
    with raises(V, "Value null at 'key' failed to satisfy constraint: Member must not be null"):
        ddbs.get_item(TableName="no-such-table-xyz")
    with raises(V, "^2 validation errors detected: Value null at 'tableName'"):
        ddbs.get_item()


def test_wrong_json_types(ddbs, make_table):
    t = make_table(client=ddbs)
    with raises("SerializationException"):
        ddbs.put_item(TableName=t, Item={"pk": {"S": 5}})


def test_empty_values_in_index_keys_by_update(ddb, mk):
    t = mk("pk", "sk", gsi={"gsi": ("g:S",)}, lsi={"lsi": ("pk", "l:B")})
    k = {"pk": {"S": "a"}, "sk": {"S": "b"}}
    with raises(V, "The update expression attempted to update a secondary index key to a value that is not "
                   "supported. The AttributeValue for a key attribute cannot contain an empty string value. "
                   "IndexName: gsi, IndexKey: g"):
        ddb.update_item(TableName=t, Key=k, UpdateExpression="SET g = :v", ExpressionAttributeValues={":v": {"S": ""}})
    with raises(V, "cannot contain an empty binary value. IndexName: lsi, IndexKey: l"):
        ddb.update_item(TableName=t, Key=k, UpdateExpression="SET l = :v", ExpressionAttributeValues={":v": {"B": b""}})
    assert "Item" not in ddb.get_item(TableName=t, Key=k)


def test_request_validation_comes_before_the_table_lookup(ddb):
    # DynamoDB checks values, item size and expressions before looking the table up (dynalite's
    # tests, run against DynamoDB, aim these requests at a table that does not exist)
    t = "no-such-table-xyz"
    with raises(V, "An string set  may not be empty"):
        ddb.put_item(TableName=t, Item={"pk": {"S": "a"}, "s": {"SS": []}})
    with raises(V, "^Item size has exceeded the maximum allowed size$"):
        ddb.put_item(TableName=t, Item={"pk": {"S": "a"}, "x": {"S": "y" * 409600}})
    with raises(V, "Invalid ConditionExpression: Syntax error"):
        ddb.put_item(TableName=t, Item={"pk": {"S": "a"}}, ConditionExpression="a = = b")
    with raises(V, r"Value provided in ExpressionAttributeValues unused in expressions: keys: \{:w\}"):
        ddb.update_item(TableName=t, Key={"pk": {"S": "a"}}, UpdateExpression="SET a = :v",
                        ExpressionAttributeValues={":v": {"N": "1"}, ":w": {"N": "2"}})
    with raises(V, "The parameter cannot be converted to a numeric value: x"):
        ddb.delete_item(TableName=t, Key={"pk": {"N": "x"}})
    with raises(V, "Invalid ProjectionExpression: Syntax error"):
        ddb.get_item(TableName=t, Key={"pk": {"S": "a"}}, ProjectionExpression="a,,b")
    with raises(V, "Invalid KeyConditionExpression: Syntax error"):
        ddb.query(TableName=t, KeyConditionExpression="pk = = :v", ExpressionAttributeValues={":v": {"S": "a"}})
    with raises(V, "Either the KeyConditions or KeyConditionExpression parameter must be specified"):
        ddb.query(TableName=t)
    with raises(V, "^1 validation error detected: ExpressionAttributeValues must not be empty$"):
        ddb.query(TableName=t, KeyConditionExpression="pk = :v", ExpressionAttributeValues={})
    with raises(V, "The Segment parameter is zero-based and must be less than parameter TotalSegments"):
        ddb.scan(TableName=t, Segment=2, TotalSegments=2)
    with raises("ResourceNotFoundException", "^Requested resource not found$"):  # valid requests: the table
        ddb.query(TableName=t, KeyConditionExpression="pk = :v", FilterExpression="x > :v",
                  ExpressionAttributeValues={":v": {"S": "a"}})
    with raises("ResourceNotFoundException"):
        ddb.put_item(TableName=t, Item={"x": {"S": "a"}})  # the key schema needs the table


def test_unused_names_and_values_are_one_error_reports_on_single_item_writes_only(ddb, mk):
    # DynamoDB's own inconsistency (moto records it too): PutItem/UpdateItem/DeleteItem prefix the
    # message with "1 validation error detected: ", reads and transactions do not
    t = mk()
    k = {"pk": {"S": "a"}}
    unused = r"Value provided in ExpressionAttributeValues unused in expressions: keys: \{:w\}$"
    extra = {":v": {"N": "1"}, ":w": {"N": "2"}}
    with raises(V, "^1 validation error detected: " + unused):
        ddb.put_item(TableName=t, Item=k, ConditionExpression="a <> :v", ExpressionAttributeValues=extra)
    with raises(V, "^1 validation error detected: " + unused):
        ddb.update_item(TableName=t, Key=k, UpdateExpression="SET a = :v", ExpressionAttributeValues=extra)
    with raises(V, "^1 validation error detected: Value provided in ExpressionAttributeNames unused"):
        ddb.delete_item(TableName=t, Key=k, ConditionExpression="a <> :v", ExpressionAttributeValues={":v": {"N": "1"}},
                        ExpressionAttributeNames={"#n": "b"})
    with raises(V, "^" + unused):
        ddb.scan(TableName=t, FilterExpression="a <> :v", ExpressionAttributeValues=extra)
    with raises(V, "^" + unused):
        ddb.transact_write_items(TransactItems=[{"Put": {"TableName": t, "Item": k, "ConditionExpression": "a <> :v",
                                                         "ExpressionAttributeValues": extra}}])
    with raises(V, "^1 validation error detected: ExpressionAttributeValues must not be empty$"):
        ddb.update_item(TableName=t, Key=k, UpdateExpression="REMOVE a", ExpressionAttributeValues={})
