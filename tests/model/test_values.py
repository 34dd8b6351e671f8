"""Attribute-value validation and number normalisation (model/values.py)."""
from __future__ import annotations

import decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from eddydb.model.errors import SerializationException, ValidationException
from eddydb.model.values import (
    compare_values,
    normalize_number,
    to_decimal,
    validate_item,
    validate_value,
    values_equal,
)


@pytest.mark.parametrize(
    "text,canon",
    [
        ("1.50", "1.5"), ("1e2", "100"), ("-0", "0"), ("0.000", "0"), ("+7", "7"), ("007", "7"),
        ("1E-3", "0.001"), (".5", "0.5"), ("5.", "5"), ("-12.340e1", "-123.4"), ("1e-130", "0." + "0" * 129 + "1"),
        ("123", "123"), ("-123", "-123"), ("0", "0"), ("1.0e0", "1"), ("1000", "1000"),
    ],
)
def test_normalize_number_canonical_text(text, canon):
    assert normalize_number(text) == canon


@pytest.mark.parametrize("text", ["abc", "", "1.2.3", "--1", "1e", "e5", ".", "NaN", "Infinity", "1_000", " 1", "0x10",
                                  "\u0661\u0662", "1\u0662", "1e\u0661"])
def test_unparsable_number_is_rejected(text):
    expected = "The parameter cannot be converted to a numeric value" + (f": {text}" if text else "")
    with pytest.raises(ValidationException) as e:
        normalize_number(text)
    assert e.value.message == expected


def test_more_than_38_significant_digits_is_rejected():
    normalize_number("1" * 38)
    normalize_number("1" * 38 + "000")
    with pytest.raises(ValidationException, match="more than 38 significant digits"):
        normalize_number("1" * 39)


def test_number_overflow_and_underflow():
    normalize_number("9.9999999999999999999999999999999999999E+125")
    normalize_number("1E-130")
    with pytest.raises(ValidationException, match="^Number overflow. Attempting to store a number with magnitude larger"):
        normalize_number("1E+126")
    with pytest.raises(ValidationException, match="^Number underflow. Attempting to store a number with magnitude smaller"):
        normalize_number("1E-131")
    with pytest.raises(ValidationException, match="overflow"):
        normalize_number("-1E+126")


_finite = st.decimals(allow_nan=False, allow_infinity=False, places=None).filter(
    lambda d: d == 0 or (-130 <= d.adjusted() <= 125 and len(d.normalize(decimal.Context(prec=100)).as_tuple().digits) <= 38)
)


@given(_finite)
def test_normalize_is_idempotent_and_exact(d):
    n = normalize_number(str(d))
    assert normalize_number(n) == n
    assert to_decimal(n) == d


@given(_finite, _finite)
def test_equal_strings_iff_equal_decimals(a, b):
    assert (normalize_number(str(a)) == normalize_number(str(b))) == (a == b)


def test_empty_attribute_value():
    with pytest.raises(ValidationException, match="^Supplied AttributeValue is empty, must contain exactly one"):
        validate_value({})


def test_more_than_one_datatype():
    with pytest.raises(ValidationException, match="^Supplied AttributeValue has more than one datatypes set"):
        validate_value({"S": "a", "N": "1"})


@pytest.mark.parametrize(
    "av,msg",
    [
        ({"SS": []}, "An string set  may not be empty"),
        ({"NS": []}, "An number set  may not be empty"),
        ({"BS": []}, "Binary sets should not be empty"),
    ],
)
def test_empty_sets_are_rejected(av, msg):
    with pytest.raises(ValidationException, match="One or more parameter values were invalid: " + msg):
        validate_value(av)


def test_duplicate_set_members():
    with pytest.raises(ValidationException) as e:
        validate_value({"SS": ["a", "a"]})
    assert e.value.message == "One or more parameter values were invalid: Input collection [a, a] contains duplicates."
    with pytest.raises(ValidationException, match="^Input collection contains duplicates$"):
        validate_value({"NS": ["1", "1.0"]})
    with pytest.raises(ValidationException, match=r"\[YQ==, YQ==\]of type BS contains duplicates\.$"):
        validate_value({"BS": ["YQ==", "YQ=="]})


def test_null_must_be_true():
    assert validate_value({"NULL": True}) == {"NULL": True}
    with pytest.raises(ValidationException, match="Null attribute value types must have the value of true"):
        validate_value({"NULL": False})


def test_bool_must_be_bool():
    # DynamoDB's deserializer reads the text true/false (1/0, yes/no) as a boolean, as for any member
    assert validate_value({"BOOL": "true"}) == {"BOOL": True}
    with pytest.raises(SerializationException, match="^Unexpected token received from parser$"):
        validate_value({"BOOL": "maybe"})
    with pytest.raises(SerializationException, match="^NUMBER_VALUE cannot be converted to Boolean$"):
        validate_value({"BOOL": 1})


def test_binary_must_be_base64():
    assert validate_value({"B": "YWJj"}) == {"B": "YWJj"}
    with pytest.raises(SerializationException):
        validate_value({"B": "abc"})
    with pytest.raises(SerializationException):
        validate_value({"B": "ab!c"})
    with pytest.raises(SerializationException, match="^Invalid last non-pad Base64 character dectected$"):
        validate_value({"B": "YR=="})  # canonical base64 only


def test_nesting_depth_limit():
    v: dict = {"S": "x"}
    for _ in range(32):
        v = {"M": {"a": v}}
    validate_value(v)
    with pytest.raises(ValidationException, match="^Nesting Levels have exceeded supported limits$"):
        validate_value({"L": [v]})


def test_validate_item_normalises_nested_numbers():
    item = {"a": {"M": {"b": {"L": [{"N": "1.50"}, {"NS": ["1e2", "2"]}]}}}, "k": {"S": "x"}}
    assert validate_item(item) == {"a": {"M": {"b": {"L": [{"N": "1.5"}, {"NS": ["100", "2"]}]}}}, "k": {"S": "x"}}


def test_validate_item_returns_same_object_when_canonical():
    item = {"a": {"N": "1"}, "b": {"M": {"c": {"S": "x"}}}}
    assert validate_item(item) is item


def test_values_equal_by_value():
    assert values_equal({"N": "1"}, {"N": "1.0"})
    assert values_equal({"SS": ["a", "b"]}, {"SS": ["b", "a"]})
    assert values_equal({"NS": ["1", "2"]}, {"NS": ["2.0", "1"]})
    assert values_equal({"M": {"a": {"N": "1"}, "b": {"S": "x"}}}, {"M": {"b": {"S": "x"}, "a": {"N": "1.00"}}})
    assert not values_equal({"L": [{"N": "1"}, {"N": "2"}]}, {"L": [{"N": "2"}, {"N": "1"}]})
    assert not values_equal({"S": "1"}, {"N": "1"})
    assert not values_equal({"SS": ["a"]}, {"SS": ["a", "b"]})


def test_compare_values():
    assert compare_values({"N": "10"}, {"N": "9"}) == 1
    assert compare_values({"N": "-1.5"}, {"N": "-1"}) == -1
    assert compare_values({"S": "a"}, {"S": "a"}) == 0
    assert compare_values({"S": "Z"}, {"S": "a"}) == -1
    assert compare_values({"S": "\uffff"}, {"S": "\U00010000"}) == -1  # UTF-8 order, not UTF-16
    assert compare_values({"B": "AQ=="}, {"B": "/w=="}) == -1
    assert compare_values({"S": "1"}, {"N": "1"}) is None
    assert compare_values({"SS": ["a"]}, {"SS": ["a"]}) is None


def test_absurd_exponents_are_range_errors_not_crashes():
    with pytest.raises(ValidationException, match="overflow"):
        normalize_number("1e" + "9" * 5000)
    with pytest.raises(ValidationException, match="underflow"):
        normalize_number("1e-" + "9" * 5000)
    assert normalize_number("0e" + "9" * 5000) == "0"


def test_validate_item_rejects_non_string_numbers():
    with pytest.raises(SerializationException):
        validate_value({"N": 5})
