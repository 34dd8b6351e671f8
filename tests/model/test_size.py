"""Item size by DynamoDB's rules (model/size.py)."""
from __future__ import annotations

from eddydb.model.size import item_size


def test_string_size_is_name_plus_utf8_bytes():
    assert item_size({"ab": {"S": "héllo"}}) == 2 + 6


def test_number_size():
    assert item_size({"n": {"N": "12345"}}) == 1 + 3 + 1
    assert item_size({"n": {"N": "1000"}}) == 1 + 1 + 1


def test_binary_size_is_decoded_length():
    assert item_size({"b": {"B": "YWJj"}}) == 1 + 3
    assert item_size({"b": {"B": "YQ=="}}) == 1 + 1


def test_bool_null_size():
    assert item_size({"a": {"BOOL": True}, "b": {"NULL": True}}) == 4


def test_containers_have_overhead():
    assert item_size({"m": {"M": {"x": {"S": "ab"}}}}) == 1 + 3 + (1 + 2 + 1)
    assert item_size({"l": {"L": [{"S": "ab"}, {"BOOL": True}]}}) == 1 + 3 + (2 + 1) + (1 + 1)


def test_sets_sum_members():
    assert item_size({"s": {"SS": ["ab", "c"]}}) == 1 + 3
