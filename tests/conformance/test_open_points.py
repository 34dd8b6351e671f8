"""Semantic points earlier reviews left open, settled and pinned through boto3.

size() of a String counts the UTF-8 bytes of its value, as every string measure of DynamoDB does
("Strings are Unicode with UTF-8 binary encoding"; item size and key limits in UTF-8 bytes; the
PartiQL SIZE function "returns a number representing an attribute's size in bytes"); a Binary
its bytes, a set its members, a List its elements and a Map its top-level keys.
"""
from __future__ import annotations

from typing import Any

import pytest

K = {"pk": {"S": "k"}}


def _size_is(dynamodb: Any, table: str, attr: str, n: int) -> bool:
    """True when a ConditionExpression `size(attr) = n` holds for the item K."""
    try:
        dynamodb.update_item(TableName=table, Key=K, UpdateExpression="SET probed = :n",
                             ConditionExpression="size(#a) = :n", ExpressionAttributeNames={"#a": attr},
                             ExpressionAttributeValues={":n": {"N": str(n)}})
    except dynamodb.exceptions.ConditionalCheckFailedException:
        return False
    return True


@pytest.mark.parametrize(("value", "size"), [
    ({"S": "abc"}, 3),
    ({"S": "é"}, 2),                     # one code point, one UTF-16 unit, two UTF-8 bytes
    ({"S": "☃"}, 3),                     # BMP: one UTF-16 unit, three bytes
    ({"S": "😀"}, 4),                    # astral: one code point, two UTF-16 units, four bytes
    ({"S": "a😀é"}, 7),
    ({"B": b"\x00\xff\x10"}, 3),
    ({"SS": ["😀", "a"]}, 2),
    ({"NS": ["1", "2", "3"]}, 3),
    ({"BS": [b"\x01", b"\x02\x03"]}, 2),
    ({"L": [{"S": "😀"}, {"NULL": True}]}, 2),
    ({"M": {"😀": {"S": "x"}, "b": {"M": {"c": {"N": "1"}}}}}, 2),
])
def test_size_counts_utf8_bytes_of_a_string_and_members_of_a_collection(
        dynamodb: Any, make_table: Any, value: dict, size: int) -> None:
    table = make_table()
    dynamodb.put_item(TableName=table, Item={**K, "a": value})
    assert _size_is(dynamodb, table, "a", size)
    assert not _size_is(dynamodb, table, "a", size - 1)


def test_size_of_an_astral_string_in_a_filter_and_in_partiql(dynamodb: Any, make_table: Any) -> None:
    table = make_table()
    dynamodb.put_item(TableName=table, Item={**K, "a": {"S": "😀😀"}})
    out = dynamodb.scan(TableName=table, FilterExpression="size(a) = :n", ExpressionAttributeValues={":n": {"N": "8"}})
    assert out["Count"] == 1
    out = dynamodb.execute_statement(Statement=f'SELECT pk FROM "{table}" WHERE pk = \'k\' AND size(a) = 8')
    assert out["Items"] == [K]
    out = dynamodb.execute_statement(Statement=f'SELECT pk FROM "{table}" WHERE pk = \'k\' AND size(a) = 2')
    assert out["Items"] == []


def test_size_of_a_constant_string_counts_utf8_bytes(dynamodb: Any, make_table: Any) -> None:
    table = make_table()
    dynamodb.put_item(TableName=table, Item=K)
    dynamodb.update_item(TableName=table, Key=K, UpdateExpression="SET probed = :n",
                         ConditionExpression="size(:s) = :n",
                         ExpressionAttributeValues={":s": {"S": "😀"}, ":n": {"N": "4"}})
