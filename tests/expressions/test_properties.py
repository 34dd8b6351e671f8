"""Hypothesis properties: parse -> evaluate agrees with an independent oracle."""
from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from eddydb.expressions import apply_update, evaluate, parse_condition, parse_update

_numbers = st.integers(-50, 50).map(str)


@st.composite
def _boolean_formula(draw, depth=0):
    """(expression text, python text, is a parenthesis) over atoms t (true) and f (false), without
    parentheses except where drawn (never "((x))", which DynamoDB rejects as redundant); Python's
    not > and > or precedence is DynamoDB's."""
    if depth > 3 or draw(st.booleans()):
        atom = draw(st.sampled_from(["t", "f"]))
        expr = "a = :one" if atom == "t" else "a = :two"
        return expr, ("True" if atom == "t" else "False"), False
    kind = draw(st.sampled_from(["and", "or", "not", "paren"]))
    if kind == "not":
        e, p, _ = draw(_boolean_formula(depth + 1))
        return f"NOT {e}", f"not {p}", False
    if kind == "paren":
        e, p, paren = draw(_boolean_formula(depth + 1))
        return (e, p, True) if paren else (f"({e})", f"({p})", True)
    le, lp, _ = draw(_boolean_formula(depth + 1))
    re_, rp, _ = draw(_boolean_formula(depth + 1))
    word = "AND" if kind == "and" else "OR"
    return f"{le} {word} {re_}", f"{lp} {kind} {rp}", False


@given(_boolean_formula())
def test_precedence_matches_not_and_or(formula):
    expr, py, _ = formula
    cond = parse_condition(expr, None, {":one": {"N": "1"}, ":two": {"N": "2"}})
    assert evaluate(cond, {"a": {"N": "1"}}) is eval(py)  # test oracle over True/False only


@given(_numbers, _numbers, st.sampled_from(["=", "<>", "<", "<=", ">", ">="]))
def test_number_comparison_matches_decimal(a, b, op):
    cond = parse_condition(f"x {op} :v", None, {":v": {"N": b}})
    da, db = Decimal(a), Decimal(b)
    want = {"=": da == db, "<>": da != db, "<": da < db, "<=": da <= db, ">": da > db, ">=": da >= db}[op]
    assert evaluate(cond, {"x": {"N": a}}) is want


@given(st.text(max_size=8), st.text(max_size=8), st.sampled_from(["<", "<=", ">", ">="]))
def test_string_comparison_matches_utf8_bytes(a, b, op):
    cond = parse_condition(f"x {op} :v", None, {":v": {"S": b}})
    ba, bb = a.encode(), b.encode()
    want = {"<": ba < bb, "<=": ba <= bb, ">": ba > bb, ">=": ba >= bb}[op]
    assert evaluate(cond, {"x": {"S": a}}) is want


@given(_numbers, _numbers, _numbers)
def test_between_matches_decimal(x, lo, hi):
    if Decimal(lo) > Decimal(hi):
        lo, hi = hi, lo
    cond = parse_condition("x BETWEEN :lo AND :hi", None, {":lo": {"N": lo}, ":hi": {"N": hi}})
    assert evaluate(cond, {"x": {"N": x}}) is (Decimal(lo) <= Decimal(x) <= Decimal(hi))


@given(_numbers, _numbers)
def test_add_then_compare(a, b):
    plan = parse_update("SET x = x + :b ADD y :b", None, {":b": {"N": b}})
    new = apply_update(plan, {"x": {"N": a}, "y": {"N": a}})
    total = Decimal(a) + Decimal(b)
    assert Decimal(new["x"]["N"]) == total and new["x"] == new["y"]
    assert evaluate(parse_condition("x = :t", None, {":t": {"N": str(total)}}), new)


@given(st.lists(st.text(min_size=1, max_size=3), min_size=1, max_size=5, unique=True),
       st.lists(st.text(min_size=1, max_size=3), min_size=1, max_size=5, unique=True))
def test_set_add_delete_are_union_and_difference(a, b):
    item = {"s": {"SS": a}}
    added = apply_update(parse_update("ADD s :b", None, {":b": {"SS": b}}), item)
    assert set(added["s"]["SS"]) == set(a) | set(b)
    deleted = apply_update(parse_update("DELETE s :b", None, {":b": {"SS": b}}), item)
    rest = set(a) - set(b)
    assert (set(deleted["s"]["SS"]) if "s" in deleted else set()) == rest


@given(st.lists(st.integers(0, 5), min_size=1, max_size=4, unique=True))
def test_remove_list_indexes_refer_to_the_old_list(indexes):
    lst = [{"N": str(i)} for i in range(6)]
    plan = parse_update("REMOVE " + ", ".join(f"l[{i}]" for i in indexes), None, None)
    new = apply_update(plan, {"l": {"L": lst}})
    assert new["l"]["L"] == [v for i, v in enumerate(lst) if i not in indexes]
