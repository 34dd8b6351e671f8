"""PutItem, GetItem, UpdateItem, DeleteItem through boto3 (server and embedded): behaviour,
ReturnValues, conditions, and DynamoDB's validation messages."""
from __future__ import annotations

import threading

import pytest
from botocore.exceptions import ClientError


def _err(excinfo) -> tuple[str, str]:
    e = excinfo.value.response["Error"]
    return e["Code"], e["Message"]


@pytest.fixture
def table(dynamodb, make_table):
    return make_table(("pk", "S"))


@pytest.fixture
def table2(dynamodb, make_table):
    return make_table(("pk", "S"), ("sk", "N"))


# --- put / get / delete ---------------------------------------------------------------------------
def test_put_then_get_returns_the_item_with_normalised_numbers(dynamodb, table):
    dynamodb.put_item(TableName=table, Item={"pk": {"S": "a"}, "n": {"N": "01.50"}, "l": {"L": [{"BOOL": True}]}})
    got = dynamodb.get_item(TableName=table, Key={"pk": {"S": "a"}})
    assert got["Item"] == {"pk": {"S": "a"}, "n": {"N": "1.5"}, "l": {"L": [{"BOOL": True}]}}


def test_get_of_a_missing_item_has_no_item(dynamodb, table):
    assert "Item" not in dynamodb.get_item(TableName=table, Key={"pk": {"S": "nope"}})


def test_get_with_projection_expression(dynamodb, table):
    dynamodb.put_item(TableName=table, Item={"pk": {"S": "a"}, "m": {"M": {"x": {"N": "1"}, "y": {"N": "2"}}},
                                             "z": {"S": "z"}})
    got = dynamodb.get_item(TableName=table, Key={"pk": {"S": "a"}}, ProjectionExpression="#m.x, z",
                            ExpressionAttributeNames={"#m": "m"})
    assert got["Item"] == {"m": {"M": {"x": {"N": "1"}}}, "z": {"S": "z"}}


def test_get_with_attributes_to_get(dynamodb, table):
    dynamodb.put_item(TableName=table, Item={"pk": {"S": "a"}, "x": {"S": "1"}, "y": {"S": "2"}})
    got = dynamodb.get_item(TableName=table, Key={"pk": {"S": "a"}}, AttributesToGet=["y"])
    assert got["Item"] == {"y": {"S": "2"}}


def test_put_replaces_the_whole_item(dynamodb, table):
    dynamodb.put_item(TableName=table, Item={"pk": {"S": "a"}, "x": {"S": "1"}})
    dynamodb.put_item(TableName=table, Item={"pk": {"S": "a"}, "y": {"S": "2"}})
    assert dynamodb.get_item(TableName=table, Key={"pk": {"S": "a"}})["Item"] == {"pk": {"S": "a"}, "y": {"S": "2"}}


def test_put_return_values_all_old(dynamodb, table):
    r = dynamodb.put_item(TableName=table, Item={"pk": {"S": "a"}, "v": {"N": "1"}}, ReturnValues="ALL_OLD")
    assert "Attributes" not in r
    r = dynamodb.put_item(TableName=table, Item={"pk": {"S": "a"}, "v": {"N": "2"}}, ReturnValues="ALL_OLD")
    assert r["Attributes"] == {"pk": {"S": "a"}, "v": {"N": "1"}}


@pytest.mark.parametrize("rv", ["ALL_NEW", "UPDATED_OLD", "UPDATED_NEW"])
def test_put_rejects_other_return_values(dynamodb, table, rv):
    with pytest.raises(ClientError) as e:
        dynamodb.put_item(TableName=table, Item={"pk": {"S": "a"}}, ReturnValues=rv)
    assert _err(e) == ("ValidationException", "Return values set to invalid value")


def test_delete_return_values_all_old_and_missing_item(dynamodb, table):
    dynamodb.put_item(TableName=table, Item={"pk": {"S": "a"}, "v": {"N": "1"}})
    r = dynamodb.delete_item(TableName=table, Key={"pk": {"S": "a"}}, ReturnValues="ALL_OLD")
    assert r["Attributes"] == {"pk": {"S": "a"}, "v": {"N": "1"}}
    r = dynamodb.delete_item(TableName=table, Key={"pk": {"S": "a"}}, ReturnValues="ALL_OLD")
    assert "Attributes" not in r
    assert "Item" not in dynamodb.get_item(TableName=table, Key={"pk": {"S": "a"}})


def test_delete_rejects_all_new(dynamodb, table):
    with pytest.raises(ClientError) as e:
        dynamodb.delete_item(TableName=table, Key={"pk": {"S": "a"}}, ReturnValues="ALL_NEW")
    assert _err(e) == ("ValidationException", "Return values set to invalid value")


# --- conditions ----------------------------------------------------------------------------------
def test_condition_expression_failure_is_conditional_check_failed(dynamodb, table):
    dynamodb.put_item(TableName=table, Item={"pk": {"S": "a"}})
    with pytest.raises(ClientError) as e:
        dynamodb.put_item(TableName=table, Item={"pk": {"S": "a"}}, ConditionExpression="attribute_not_exists(pk)")
    assert _err(e) == ("ConditionalCheckFailedException", "The conditional request failed")
    assert "Item" not in e.value.response


def test_condition_failure_returns_the_old_item_when_asked(dynamodb, table):
    dynamodb.put_item(TableName=table, Item={"pk": {"S": "a"}, "v": {"N": "1"}})
    with pytest.raises(ClientError) as e:
        dynamodb.delete_item(TableName=table, Key={"pk": {"S": "a"}}, ConditionExpression="v = :two",
                             ExpressionAttributeValues={":two": {"N": "2"}},
                             ReturnValuesOnConditionCheckFailure="ALL_OLD")
    assert e.value.response["Item"] == {"pk": {"S": "a"}, "v": {"N": "1"}}


def test_condition_on_a_missing_item_sees_no_attributes(dynamodb, table):
    dynamodb.put_item(TableName=table, Item={"pk": {"S": "new"}}, ConditionExpression="attribute_not_exists(pk)")
    with pytest.raises(ClientError):
        dynamodb.update_item(TableName=table, Key={"pk": {"S": "nope"}}, UpdateExpression="SET a = :v",
                             ConditionExpression="attribute_exists(pk)", ExpressionAttributeValues={":v": {"N": "1"}})
    assert "Item" not in dynamodb.get_item(TableName=table, Key={"pk": {"S": "nope"}})


def test_legacy_expected(dynamodb, table):
    dynamodb.put_item(TableName=table, Item={"pk": {"S": "a"}, "v": {"N": "1"}})
    dynamodb.put_item(TableName=table, Item={"pk": {"S": "a"}, "v": {"N": "2"}},
                      Expected={"v": {"Value": {"N": "1"}}})
    with pytest.raises(ClientError) as e:
        dynamodb.put_item(TableName=table, Item={"pk": {"S": "a"}}, Expected={"v": {"Value": {"N": "1"}}})
    assert _err(e)[0] == "ConditionalCheckFailedException"


def test_mixing_expected_and_condition_expression_is_rejected(dynamodb, table):
    with pytest.raises(ClientError) as e:
        dynamodb.put_item(TableName=table, Item={"pk": {"S": "a"}}, Expected={"v": {"Exists": False}},
                          ConditionExpression="attribute_not_exists(pk)")
    code, msg = _err(e)
    assert code == "ValidationException"
    assert msg.startswith("Can not use both expression and non-expression parameters in the same request")


def test_unused_expression_attribute_values_are_rejected(dynamodb, table):
    with pytest.raises(ClientError) as e:
        dynamodb.put_item(TableName=table, Item={"pk": {"S": "a"}}, ConditionExpression="attribute_not_exists(pk)",
                          ExpressionAttributeValues={":unused": {"N": "1"}})
    # PutItem/UpdateItem/DeleteItem word it as a one-error coral report (as moto records)
    assert _err(e) == ("ValidationException", ("1 validation error detected: "
                       "Value provided in ExpressionAttributeValues unused in expressions: keys: {:unused}"))


# --- update --------------------------------------------------------------------------------------
def test_update_creates_the_item_from_its_key(dynamodb, table):
    dynamodb.update_item(TableName=table, Key={"pk": {"S": "a"}}, UpdateExpression="SET v = :v",
                         ExpressionAttributeValues={":v": {"N": "5"}})
    assert dynamodb.get_item(TableName=table, Key={"pk": {"S": "a"}})["Item"] == {"pk": {"S": "a"}, "v": {"N": "5"}}


def test_update_without_any_action_creates_a_key_only_item(dynamodb, table):
    dynamodb.update_item(TableName=table, Key={"pk": {"S": "bare"}})
    assert dynamodb.get_item(TableName=table, Key={"pk": {"S": "bare"}})["Item"] == {"pk": {"S": "bare"}}


@pytest.mark.parametrize("rv,expected", [
    ("NONE", None),
    ("ALL_OLD", {"pk": {"S": "a"}, "a": {"N": "1"}, "b": {"N": "1"}}),
    ("UPDATED_OLD", {"a": {"N": "1"}}),
    ("ALL_NEW", {"pk": {"S": "a"}, "a": {"N": "2"}, "b": {"N": "1"}, "c": {"S": "x"}}),
    ("UPDATED_NEW", {"a": {"N": "2"}, "c": {"S": "x"}}),
])
def test_update_return_values(dynamodb, table, rv, expected):
    dynamodb.put_item(TableName=table, Item={"pk": {"S": "a"}, "a": {"N": "1"}, "b": {"N": "1"}})
    r = dynamodb.update_item(TableName=table, Key={"pk": {"S": "a"}}, UpdateExpression="SET a = a + :one, c = :x",
                             ExpressionAttributeValues={":one": {"N": "1"}, ":x": {"S": "x"}}, ReturnValues=rv)
    assert r.get("Attributes") == expected


def test_update_return_values_nested_path_returns_only_that_part(dynamodb, table):
    dynamodb.put_item(TableName=table, Item={"pk": {"S": "a"}, "m": {"M": {"x": {"N": "1"}, "y": {"N": "1"}}}})
    r = dynamodb.update_item(TableName=table, Key={"pk": {"S": "a"}}, UpdateExpression="SET m.x = :v",
                             ExpressionAttributeValues={":v": {"N": "9"}}, ReturnValues="UPDATED_NEW")
    assert r["Attributes"] == {"m": {"M": {"x": {"N": "9"}}}}


def test_update_rejects_bad_return_values(dynamodb, table):
    with pytest.raises(ClientError) as e:
        dynamodb.update_item(TableName=table, Key={"pk": {"S": "a"}}, ReturnValues="EVERYTHING")
    code, msg = _err(e)
    assert code == "ValidationException" and "returnValues" in msg


def test_updating_a_key_attribute_is_rejected(dynamodb, table):
    with pytest.raises(ClientError) as e:
        dynamodb.update_item(TableName=table, Key={"pk": {"S": "a"}}, UpdateExpression="SET pk = :v",
                             ExpressionAttributeValues={":v": {"S": "b"}})
    assert _err(e) == ("ValidationException", ("One or more parameter values were invalid: Cannot update attribute "
                                               "pk. This attribute is part of the key"))


def test_legacy_attribute_updates(dynamodb, table):
    dynamodb.put_item(TableName=table, Item={"pk": {"S": "a"}, "n": {"N": "1"}, "gone": {"S": "x"}})
    dynamodb.update_item(TableName=table, Key={"pk": {"S": "a"}}, AttributeUpdates={
        "n": {"Action": "ADD", "Value": {"N": "2"}}, "gone": {"Action": "DELETE"}, "s": {"Value": {"S": "v"}}})
    assert dynamodb.get_item(TableName=table, Key={"pk": {"S": "a"}})["Item"] == {
        "pk": {"S": "a"}, "n": {"N": "3"}, "s": {"S": "v"}}


def test_update_item_too_large(dynamodb, table):
    dynamodb.put_item(TableName=table, Item={"pk": {"S": "a"}, "x": {"S": "x" * 300_000}})
    with pytest.raises(ClientError) as e:
        dynamodb.update_item(TableName=table, Key={"pk": {"S": "a"}}, UpdateExpression="SET y = :v",
                             ExpressionAttributeValues={":v": {"S": "y" * 200_000}})
    assert _err(e) == ("ValidationException", "Item size to update has exceeded the maximum allowed size")


# --- validation ------------------------------------------------------------------------------------
def test_put_missing_key_attribute(dynamodb, table):
    with pytest.raises(ClientError) as e:
        dynamodb.put_item(TableName=table, Item={"other": {"S": "a"}})
    assert _err(e) == ("ValidationException", "One or more parameter values were invalid: Missing the key pk in the item")


def test_put_key_type_mismatch(dynamodb, table):
    with pytest.raises(ClientError) as e:
        dynamodb.put_item(TableName=table, Item={"pk": {"N": "1"}})
    assert _err(e) == ("ValidationException",
                       "One or more parameter values were invalid: Type mismatch for key pk expected: S actual: N")


def test_put_empty_string_key(dynamodb, table):
    with pytest.raises(ClientError) as e:
        dynamodb.put_item(TableName=table, Item={"pk": {"S": ""}})
    assert _err(e) == ("ValidationException",
                       ("One or more parameter values are not valid. The AttributeValue for a key attribute cannot "
                       "contain an empty string value. Key: pk"))


def test_empty_string_in_a_non_key_attribute_is_fine(dynamodb, table):
    dynamodb.put_item(TableName=table, Item={"pk": {"S": "a"}, "e": {"S": ""}})
    assert dynamodb.get_item(TableName=table, Key={"pk": {"S": "a"}})["Item"]["e"] == {"S": ""}


@pytest.mark.parametrize("key", [
    {"pk": {"N": "1"}},
    {"pk": {"S": "a"}, "extra": {"S": "b"}},
    {"other": {"S": "a"}},
])
def test_get_with_a_key_not_matching_the_schema(dynamodb, table, key):
    with pytest.raises(ClientError) as e:
        dynamodb.get_item(TableName=table, Key=key)
    assert _err(e) == ("ValidationException", "The provided key element does not match the schema")


def test_key_without_its_sort_key_does_not_match_the_schema(dynamodb, table2):
    with pytest.raises(ClientError) as e:
        dynamodb.delete_item(TableName=table2, Key={"pk": {"S": "a"}})
    assert _err(e) == ("ValidationException", "The provided key element does not match the schema")


def test_hash_key_size_limit(dynamodb, table):
    dynamodb.put_item(TableName=table, Item={"pk": {"S": "x" * 2048}})
    with pytest.raises(ClientError) as e:
        dynamodb.put_item(TableName=table, Item={"pk": {"S": "x" * 2049}})
    code, msg = _err(e)
    assert code == "ValidationException" and "2048" in msg


def test_range_key_size_limit(dynamodb, make_table):
    t = make_table(("pk", "S"), ("sk", "S"))
    dynamodb.put_item(TableName=t, Item={"pk": {"S": "a"}, "sk": {"S": "x" * 1024}})
    with pytest.raises(ClientError) as e:
        dynamodb.put_item(TableName=t, Item={"pk": {"S": "a"}, "sk": {"S": "x" * 1025}})
    code, msg = _err(e)
    assert code == "ValidationException" and "1024" in msg


def test_item_size_limit(dynamodb, table):
    dynamodb.put_item(TableName=table, Item={"pk": {"S": "a"}, "x": {"S": "x" * (400 * 1024 - 10)}})
    with pytest.raises(ClientError) as e:
        dynamodb.put_item(TableName=table, Item={"pk": {"S": "a"}, "x": {"S": "x" * (400 * 1024)}})
    assert _err(e) == ("ValidationException", "Item size has exceeded the maximum allowed size")


def test_item_on_a_missing_table(dynamodb):
    with pytest.raises(ClientError) as e:
        dynamodb.get_item(TableName="no-such-table-anywhere", Key={"pk": {"S": "a"}})
    assert _err(e) == ("ResourceNotFoundException", "Requested resource not found")


def test_gsi_key_of_the_wrong_type_is_rejected(dynamodb, make_table):
    t = make_table(("pk", "S"), gsi={"byg": ("g:S",)})
    with pytest.raises(ClientError) as e:
        dynamodb.put_item(TableName=t, Item={"pk": {"S": "a"}, "g": {"N": "1"}})
    code, msg = _err(e)
    assert code == "ValidationException" and "Type mismatch for Index Key g" in msg


# --- capacity --------------------------------------------------------------------------------------
def test_consumed_capacity_of_small_writes_and_reads(dynamodb, table):
    r = dynamodb.put_item(TableName=table, Item={"pk": {"S": "a"}}, ReturnConsumedCapacity="TOTAL")
    assert r["ConsumedCapacity"] == {"TableName": table, "CapacityUnits": 1.0}
    r = dynamodb.get_item(TableName=table, Key={"pk": {"S": "a"}}, ReturnConsumedCapacity="TOTAL")
    assert r["ConsumedCapacity"]["CapacityUnits"] == 0.5
    r = dynamodb.get_item(TableName=table, Key={"pk": {"S": "a"}}, ReturnConsumedCapacity="TOTAL",
                          ConsistentRead=True)
    assert r["ConsumedCapacity"]["CapacityUnits"] == 1.0


def test_consumed_capacity_counts_kilobytes_and_index_writes(dynamodb, make_table):
    t = make_table(("pk", "S"), gsi={"byg": ("g:S",)})
    r = dynamodb.put_item(TableName=t, Item={"pk": {"S": "a"}, "g": {"S": "g"}, "x": {"S": "x" * 1500}},
                          ReturnConsumedCapacity="INDEXES")
    cc = r["ConsumedCapacity"]
    assert cc["Table"]["CapacityUnits"] == 2.0
    assert cc["GlobalSecondaryIndexes"]["byg"]["CapacityUnits"] == 2.0
    assert cc["CapacityUnits"] == 4.0


# --- concurrency -----------------------------------------------------------------------------------
def test_concurrent_conditional_increments_lose_no_update(dynamodb, table):
    dynamodb.put_item(TableName=table, Item={"pk": {"S": "ctr"}, "n": {"N": "0"}})
    errors: list[BaseException] = []

    def worker():
        try:
            for _ in range(25):
                while True:
                    cur = dynamodb.get_item(TableName=table, Key={"pk": {"S": "ctr"}},
                                            ConsistentRead=True)["Item"]["n"]["N"]
                    try:
                        dynamodb.update_item(TableName=table, Key={"pk": {"S": "ctr"}},
                                             UpdateExpression="SET n = :new", ConditionExpression="n = :cur",
                                             ExpressionAttributeValues={":cur": {"N": cur},
                                                                        ":new": {"N": str(int(cur) + 1)}})
                        break
                    except ClientError as e:
                        if e.response["Error"]["Code"] != "ConditionalCheckFailedException":
                            raise
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors
    assert dynamodb.get_item(TableName=table, Key={"pk": {"S": "ctr"}})["Item"]["n"] == {"N": "150"}


def test_concurrent_add_increments_are_all_applied(dynamodb, table):
    def worker():
        for _ in range(30):
            dynamodb.update_item(TableName=table, Key={"pk": {"S": "adds"}}, UpdateExpression="ADD n :one",
                                 ExpressionAttributeValues={":one": {"N": "1"}})

    threads = [threading.Thread(target=worker) for _ in range(5)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert dynamodb.get_item(TableName=table, Key={"pk": {"S": "adds"}})["Item"]["n"] == {"N": "150"}


def test_binary_key_limits_count_decoded_bytes(dynamodb, make_table):
    t = make_table(("pk", "B"))
    dynamodb.put_item(TableName=t, Item={"pk": {"B": b"x" * 2048}})
    with pytest.raises(ClientError) as e:
        dynamodb.put_item(TableName=t, Item={"pk": {"B": b"x" * 2049}})
    assert _err(e)[0] == "ValidationException"
    got = dynamodb.get_item(TableName=t, Key={"pk": {"B": b"x" * 2048}})
    assert got["Item"]["pk"]["B"] == b"x" * 2048
