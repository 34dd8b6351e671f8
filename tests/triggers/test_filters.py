"""FilterCriteria pattern matching (EventBridge syntax) on stream records: every operator, the
presence rule, DynamoDB "N" strings as numbers, and rejection of invalid patterns."""
from __future__ import annotations

import json
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from eddydb.model.errors import InvalidParameterValueException
from eddydb.triggers.filters import compile_filters, matches, parse_pattern, validate_filter_criteria


def rec(event_name: str = "INSERT", **new_image: dict) -> dict:
    return {
        "eventName": event_name,
        "eventSource": "aws:dynamodb",
        "dynamodb": {"Keys": {"pk": {"S": "a"}}, "NewImage": {"pk": {"S": "a"}, **new_image}},
    }


def m(pattern: dict, event: dict) -> bool:
    return matches(json.dumps(pattern), event)


def test_exact_string_and_or_list():
    assert m({"eventName": ["INSERT"]}, rec("INSERT"))
    assert not m({"eventName": ["INSERT"]}, rec("MODIFY"))
    assert m({"eventName": ["INSERT", "MODIFY"]}, rec("MODIFY"))
    assert not m({"eventName": ["INSERT", "MODIFY"]}, rec("REMOVE"))


def test_nested_object_pattern():
    p = {"dynamodb": {"NewImage": {"status": {"S": ["open"]}}}}
    assert m(p, rec(status={"S": "open"}))
    assert not m(p, rec(status={"S": "closed"}))


def test_every_named_field_must_be_present():
    p = {"dynamodb": {"NewImage": {"status": {"S": ["open"]}}}}
    assert not m(p, rec())
    assert not m({"missing": ["x"]}, rec())
    assert not m({"missing": {"deeper": ["x"]}}, rec())


def test_null_matches_only_null_not_missing():
    assert m({"f": [None]}, {"f": None})
    assert not m({"f": [None]}, {})
    assert not m({"f": [None]}, {"f": ""})


def test_empty_string():
    assert m({"f": [""]}, {"f": ""})
    assert not m({"f": [""]}, {"f": "x"})
    assert not m({"f": [""]}, {"f": None})


def test_numeric_equals_zero_on_dynamodb_number_string():
    p = {"dynamodb": {"NewImage": {"amount": {"N": [{"numeric": ["=", 0]}]}}}}
    assert m(p, rec(amount={"N": "0"}))
    assert m(p, rec(amount={"N": "0.00"}))
    assert not m(p, rec(amount={"N": "12.5"}))
    assert not m(p, rec(amount={"S": "0"}))


def test_numeric_range():
    p = {"v": [{"numeric": [">", 10, "<=", 20]}]}
    assert not m(p, {"v": 10})
    assert m(p, {"v": 10.5})
    assert m(p, {"v": "20"})
    assert not m(p, {"v": 20.01})
    assert not m(p, {"v": "abc"})
    assert not m(p, {"v": True})


def test_numeric_literal_matches_number_value():
    assert m({"v": [5]}, {"v": 5})
    assert m({"v": [5]}, {"v": "5.0"})
    assert not m({"v": [5]}, {"v": 6})


def test_anything_but_value_and_list():
    assert m({"f": [{"anything-but": "a"}]}, {"f": "b"})
    assert not m({"f": [{"anything-but": "a"}]}, {"f": "a"})
    assert not m({"f": [{"anything-but": ["a", "b"]}]}, {"f": "b"})
    assert m({"f": [{"anything-but": ["a", "b"]}]}, {"f": "c"})
    assert not m({"f": [{"anything-but": [0]}]}, {"f": "0"})
    assert not m({"f": [{"anything-but": "a"}]}, {}), "anything-but needs the field present"


def test_anything_but_prefix_suffix_and_ignore_case():
    assert m({"f": [{"anything-but": {"prefix": "us-"}}]}, {"f": "eu-west"})
    assert not m({"f": [{"anything-but": {"prefix": "us-"}}]}, {"f": "us-east"})
    assert not m({"f": [{"anything-but": {"suffix": ".png"}}]}, {"f": "a.png"})
    assert m({"f": [{"anything-but": {"suffix": ".png"}}]}, {"f": "a.jpg"})
    assert not m({"f": [{"anything-but": {"equals-ignore-case": ["A", "b"]}}]}, {"f": "B"})
    assert m({"f": [{"anything-but": {"equals-ignore-case": "A"}}]}, {"f": "c"})


def test_exists_true_and_false():
    assert m({"f": [{"exists": True}]}, {"f": "x"})
    assert not m({"f": [{"exists": True}]}, {})
    assert m({"f": [{"exists": False}]}, {})
    assert not m({"f": [{"exists": False}]}, {"f": "x"})
    # on DynamoDB images: "the item has no BOOL 'done' attribute" (exists works on leaf nodes only,
    # so the pattern names the type descriptor; see test_filter_conformance.py)
    p = {"dynamodb": {"NewImage": {"done": {"BOOL": [{"exists": False}]}}}}
    assert m(p, rec())
    assert not m(p, rec(done={"BOOL": True}))


def test_prefix_suffix_equals_ignore_case():
    assert m({"f": [{"prefix": "us-"}]}, {"f": "us-east-1"})
    assert not m({"f": [{"prefix": "us-"}]}, {"f": "eu-west-1"})
    assert m({"f": [{"suffix": ".png"}]}, {"f": "a.png"})
    assert not m({"f": [{"suffix": ".png"}]}, {"f": "a.jpg"})
    assert m({"f": [{"equals-ignore-case": "HeLLo"}]}, {"f": "hello"})
    assert m({"f": [{"prefix": {"equals-ignore-case": "US-"}}]}, {"f": "us-east"})
    assert not m({"f": [{"prefix": "1"}]}, {"f": 1})


def test_array_value_matches_if_any_element_matches():
    assert m({"f": ["b"]}, {"f": ["a", "b"]})
    assert not m({"f": ["c"]}, {"f": ["a", "b"]})
    assert m({"l": {"S": ["x"]}}, {"l": [{"S": "y"}, {"S": "x"}]})


def test_user_identity_selects_ttl_deletes():
    p = {"eventName": ["REMOVE"], "userIdentity": {"type": ["Service"], "principalId": ["dynamodb.amazonaws.com"]}}
    ttl = {"eventName": "REMOVE", "userIdentity": {"type": "Service", "principalId": "dynamodb.amazonaws.com"}}
    assert m(p, ttl)
    assert not m(p, {"eventName": "REMOVE"})


def test_or_operator():
    p = {"$or": [{"a": ["1"]}, {"b": ["2"]}]}
    assert m(p, {"a": "1"})
    assert m(p, {"b": "2"})
    assert not m(p, {"a": "2"})


def test_filters_are_ored_and_none_means_all_pass():
    pred = compile_filters({"Filters": [{"Pattern": '{"eventName": ["INSERT"]}'},
                                        {"Pattern": '{"eventName": ["REMOVE"]}'}]})
    assert pred(rec("INSERT")) and pred(rec("REMOVE")) and not pred(rec("MODIFY"))
    assert compile_filters(None) is None
    assert compile_filters({"Filters": []}) is None


@pytest.mark.parametrize("pattern", [
    "not json",
    "[]",
    '{"f": "x"}',
    '{"f": 5}',
    '{"f": []}',
    '{"f": [{"numeric": [">"]}]}',
    '{"f": [{"numeric": ["!=", 1]}]}',
    '{"f": [{"numeric": ["<", 5, ">", 1]}]}',
    '{"f": [{"numeric": [">", 9, "<", 1]}]}',
    '{"f": [{"numeric": [">", "a"]}]}',
    '{"f": [{"exists": "yes"}]}',
    '{"f": [{"prefix": 5}]}',
    '{"f": [{"bogus": 1}]}',
    '{"f": [{"prefix": "a", "suffix": "b"}]}',
    '{"f": [{"anything-but": []}]}',
    '{"f": [{"anything-but": {"numeric": [">", 1]}}]}',
    '{"f": [["x"]]}',
    '{"f": [{"numeric": [">", 1e10]}]}',
    '{"f": {}}',
])
def test_invalid_patterns_are_rejected(pattern):
    with pytest.raises(InvalidParameterValueException) as e:
        validate_filter_criteria({"Filters": [{"Pattern": pattern}]})
    assert "Invalid filter pattern definition" in e.value.message


def test_at_most_five_filters():
    validate_filter_criteria({"Filters": [{"Pattern": '{"a": ["x"]}'}] * 5})
    with pytest.raises(InvalidParameterValueException):
        validate_filter_criteria({"Filters": [{"Pattern": '{"a": ["x"]}'}] * 6})


def test_empty_pattern_matches_everything():
    assert parse_pattern("{}") == {}
    assert m({}, rec())


# --- properties ---------------------------------------------------------------------------------
_keys = st.text(min_size=1, max_size=5).filter(lambda k: k != "$or")
_scalars = st.one_of(st.text(max_size=8), st.integers(-1000, 1000), st.booleans(), st.none())


@given(st.dictionaries(_keys, _scalars, min_size=1, max_size=5))
def test_event_matches_pattern_made_of_its_own_values(event):
    pattern = {k: [v] for k, v in event.items()}
    assert m(pattern, event)


@given(st.dictionaries(_keys, st.text(max_size=8), min_size=1, max_size=5),
       st.text(max_size=8))
def test_anything_but_is_the_complement_of_exact(event, probe):
    key = next(iter(event))
    assert m({key: [probe]}, event) != m({key: [{"anything-but": [probe]}]}, event)


@given(st.decimals(min_value=-10**6, max_value=10**6, allow_nan=False, places=3),
       st.decimals(min_value=-10**6, max_value=10**6, allow_nan=False, places=3))
def test_numeric_comparisons_agree_with_decimal(value, bound):
    for op, expect in (("<", value < bound), ("<=", value <= bound), ("=", value == bound),
                       (">", value > bound), (">=", value >= bound)):
        pattern = json.dumps({"n": {"N": [{"numeric": [op, "BOUND"]}]}}).replace('"BOUND"', str(bound))
        assert matches(pattern, {"n": {"N": str(value)}}) == expect


@given(st.text(max_size=10), st.text(max_size=4))
def test_prefix_and_suffix_agree_with_str(value, affix):
    assert m({"f": [{"prefix": affix}]}, {"f": value}) == value.startswith(affix)
    assert m({"f": [{"suffix": affix}]}, {"f": value}) == value.endswith(affix)


@given(st.recursive(_scalars, lambda c: st.dictionaries(st.text(max_size=3), c, max_size=3), max_leaves=10))
def test_exists_false_is_the_complement_of_exists_true(value):
    event = {"x": value} if value is not None else {}
    assert m({"x": [{"exists": True}]}, event) != m({"x": [{"exists": False}]}, event)


def test_decimal_module_in_patterns():
    assert parse_pattern('{"n": [1.5]}') == {"n": [Decimal("1.5")]}
