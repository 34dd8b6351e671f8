"""Order-preserving key encoding and partition hash (model/keys.py)."""
from __future__ import annotations

import base64
import decimal
import functools

from hypothesis import given
from hypothesis import strategies as st

from eddydb.model.keys import encode_key, partition_hash
from eddydb.model.values import compare_values, normalize_number

_numbers = st.decimals(allow_nan=False, allow_infinity=False).filter(
    lambda d: d == 0 or (-130 <= d.adjusted() <= 125 and len(d.normalize(decimal.Context(prec=100)).as_tuple().digits) <= 38)
).map(lambda d: {"N": normalize_number(str(d))})
_small_numbers = st.one_of(
    st.integers(-1000, 1000).map(lambda i: {"N": str(i)}),
    st.sampled_from(["1", "1.5", "10", "-1", "-1.5", "-10", "0", "0.001", "-0.001", "15", "0.15", "1e100", "-1e-100"])
    .map(lambda s: {"N": normalize_number(s)}),
)
_strings = st.text().map(lambda s: {"S": s})
_binaries = st.binary().map(lambda b: {"B": base64.b64encode(b).decode()})


def _cmp_sorted(values):
    return sorted(values, key=functools.cmp_to_key(compare_values))


@given(st.lists(st.one_of(_numbers, _small_numbers), max_size=30))
def test_number_key_order_matches_numeric_order(values):
    by_key = sorted(values, key=encode_key)
    assert [encode_key(v) for v in by_key] == [encode_key(v) for v in _cmp_sorted(values)]


@given(st.lists(_strings, max_size=30))
def test_string_key_order_matches_utf8_order(values):
    assert [v["S"] for v in sorted(values, key=encode_key)] == [v["S"] for v in _cmp_sorted(values)]


@given(st.lists(_binaries, max_size=30))
def test_binary_key_order_matches_byte_order(values):
    assert [v["B"] for v in sorted(values, key=encode_key)] == [v["B"] for v in _cmp_sorted(values)]


@given(_numbers, _numbers)
def test_equal_numbers_encode_equal(a, b):
    assert (encode_key(a) == encode_key(b)) == (compare_values(a, b) == 0)


def test_examples_order():
    order = ["-10", "-1.5", "-1", "-0.5", "0", "0.5", "1", "1.5", "10", "100"]
    keys = [encode_key({"N": n}) for n in order]
    assert keys == sorted(keys)


def test_partition_hash_is_stable_32_bit():
    h = partition_hash(b"abc")
    assert h == partition_hash(b"abc")
    assert 0 <= h < 2**32
