"""Expressions through the AWS wire protocol (boto3, server and embedded): the messages clients see."""
from __future__ import annotations

import pytest
from botocore.exceptions import ClientError


def _error(call, **kw) -> tuple[str, str]:
    with pytest.raises(ClientError) as e:
        call(**kw)
    return e.value.response["Error"]["Code"], e.value.response["Error"]["Message"]


def test_condition_update_and_projection_round_trip(dynamodb, make_table):
    t = make_table(("pk", "S"))
    dynamodb.put_item(TableName=t, Item={"pk": {"S": "a"}, "n": {"N": "1.50"}, "m": {"M": {"x": {"L": []}}}},
                      ConditionExpression="attribute_not_exists(pk)")
    r = dynamodb.update_item(
        TableName=t, Key={"pk": {"S": "a"}},
        UpdateExpression="SET n = n + :one, m.x = list_append(m.x, :l) ADD s :s",
        ConditionExpression="n BETWEEN :lo AND :hi",
        ExpressionAttributeValues={":one": {"N": "1"}, ":l": {"L": [{"S": "q"}]}, ":s": {"SS": ["z"]},
                                   ":lo": {"N": "1"}, ":hi": {"N": "2"}},
        ReturnValues="ALL_NEW")
    assert r["Attributes"]["n"] == {"N": "2.5"}
    got = dynamodb.get_item(TableName=t, Key={"pk": {"S": "a"}}, ProjectionExpression="m.x[0], #s",
                            ExpressionAttributeNames={"#s": "s"})
    assert got["Item"] == {"m": {"M": {"x": {"L": [{"S": "q"}]}}}, "s": {"SS": ["z"]}}


def test_failed_condition(dynamodb, make_table):
    t = make_table(("pk", "S"))
    dynamodb.put_item(TableName=t, Item={"pk": {"S": "a"}})
    code, msg = _error(dynamodb.put_item, TableName=t, Item={"pk": {"S": "a"}},
                       ConditionExpression="attribute_not_exists(pk)")
    assert (code, msg) == ("ConditionalCheckFailedException", "The conditional request failed")


def test_syntax_error_message(dynamodb, make_table):
    t = make_table(("pk", "S"))
    code, msg = _error(dynamodb.put_item, TableName=t, Item={"pk": {"S": "a"}}, ConditionExpression="a =")
    assert (code, msg) == ("ValidationException",
                           'Invalid ConditionExpression: Syntax error; token: "<EOF>", near: "a ="')


def test_value_used_only_by_the_filter_is_not_unused(dynamodb, make_table):
    t = make_table(("pk", "S"), ("sk", "N"))
    dynamodb.put_item(TableName=t, Item={"pk": {"S": "a"}, "sk": {"N": "1"}, "x": {"N": "5"}})
    r = dynamodb.query(TableName=t, KeyConditionExpression="pk = :p", FilterExpression="x > :x",
                       ExpressionAttributeValues={":p": {"S": "a"}, ":x": {"N": "4"}})
    assert r["Count"] == 1
    code, msg = _error(dynamodb.query, TableName=t, KeyConditionExpression="pk = :p",
                       ExpressionAttributeValues={":p": {"S": "a"}, ":x": {"N": "4"}})
    assert code == "ValidationException"
    assert msg == "Value provided in ExpressionAttributeValues unused in expressions: keys: {:x}"


def test_mixing_legacy_and_expressions(dynamodb, make_table):
    t = make_table(("pk", "S"))
    code, msg = _error(dynamodb.get_item, TableName=t, Key={"pk": {"S": "a"}}, AttributesToGet=["a"],
                       ProjectionExpression="a")
    assert code == "ValidationException"
    assert msg == ("Can not use both expression and non-expression parameters in the same request: "
                   "Non-expression parameters: {AttributesToGet} Expression parameters: {ProjectionExpression}")


def test_legacy_expected_and_attribute_updates(dynamodb, make_table):
    t = make_table(("pk", "S"))
    dynamodb.put_item(TableName=t, Item={"pk": {"S": "a"}, "n": {"N": "1"}})
    r = dynamodb.update_item(TableName=t, Key={"pk": {"S": "a"}},
                             AttributeUpdates={"n": {"Action": "ADD", "Value": {"N": "2"}}},
                             Expected={"n": {"ComparisonOperator": "LT", "AttributeValueList": [{"N": "2"}]}},
                             ReturnValues="UPDATED_NEW")
    assert r["Attributes"] == {"n": {"N": "3"}}


def test_reserved_word(dynamodb, make_table):
    t = make_table(("pk", "S"))
    code, msg = _error(dynamodb.update_item, TableName=t, Key={"pk": {"S": "a"}}, UpdateExpression="SET name = :v",
                       ExpressionAttributeValues={":v": {"S": "x"}})
    assert code == "ValidationException"
    assert msg == "Invalid UpdateExpression: Attribute name is a reserved keyword; reserved keyword: name"
