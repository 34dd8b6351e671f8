"""A PartiQL WHERE and the FilterExpression that says the same thing select the same items: both are
the expressions package's trees, evaluated by its one evaluator."""
from __future__ import annotations

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from eddydb.expressions import Condition, evaluate, parse_condition
from eddydb.model.errors import ValidationException
from eddydb.partiql import Select, bind, parse

_scalar = st.one_of(
    st.integers(-5, 5).map(lambda n: {"N": str(n)}),
    st.sampled_from(["", "a", "ab", "b", "ba"]).map(lambda s: {"S": s}),
)
_attr_value = st.one_of(
    _scalar,
    st.booleans().map(lambda b: {"BOOL": b}),
    st.lists(_scalar, max_size=3).map(lambda xs: {"L": xs}),
    st.sets(st.sampled_from(["a", "b", "c"]), min_size=1).map(lambda s: {"SS": sorted(s)}),
)
_items = st.dictionaries(st.sampled_from(["a", "b"]), _attr_value, max_size=2)


def _lit(av: dict) -> str:
    ((t, v),) = av.items()
    return v if t == "N" else "'" + v + "'"


@st.composite
def _predicates(draw: st.DrawFn) -> tuple[str, str, dict]:
    """(PartiQL predicate, the same as a condition expression, its :values)."""
    attr = draw(st.sampled_from(["a", "b"]))
    x, y = draw(_scalar), draw(_scalar)
    kind = draw(st.sampled_from(["cmp", "between", "in", "begins", "contains", "size", "missing"]))
    if kind == "cmp":
        op = draw(st.sampled_from(["=", "<>", "<", "<=", ">", ">="]))
        return f"{attr} {op} {_lit(x)}", f"{attr} {op} :x", {":x": x}
    if kind == "between":
        return f"{attr} BETWEEN {_lit(x)} AND {_lit(y)}", f"{attr} BETWEEN :x AND :y", {":x": x, ":y": y}
    if kind == "in":
        return f"{attr} IN [{_lit(x)}, {_lit(y)}]", f"{attr} IN (:x, :y)", {":x": x, ":y": y}
    if kind == "begins":
        return f"begins_with({attr}, {_lit(x)})", f"begins_with({attr}, :x)", {":x": x}
    if kind == "contains":
        return f"contains({attr}, {_lit(x)})", f"contains({attr}, :x)", {":x": x}
    if kind == "size":
        return f"size({attr}) > {_lit(x)}", f"size({attr}) > :x", {":x": x}
    return f"{attr} IS MISSING", f"attribute_not_exists({attr})", {}


@settings(max_examples=300, deadline=None)
@given(st.lists(_predicates(), min_size=1, max_size=3), st.lists(st.sampled_from(["AND", "OR"]), min_size=2,
       max_size=2), st.booleans(), _items)
def test_partiql_where_matches_the_filter_expression(preds: list, joins: list[str], negate: bool,
                                                     item: dict) -> None:
    pq, ex, values = preds[0][0], preds[0][1], dict(preds[0][2])
    for i, (p, e, v) in enumerate(preds[1:], 1):
        renamed = e
        for name in v:  # give every predicate its own placeholders
            renamed = renamed.replace(name, f"{name}{i}")
        values.update({f"{k}{i}": av for k, av in v.items()})
        pq, ex = f"{pq} {joins[i - 1]} {p}", f"{ex} {joins[i - 1]} {renamed}"
    if negate:
        pq, ex = f"NOT ({pq})", f"NOT ({ex})"
    stmt = parse(f'SELECT * FROM "t" WHERE {pq}')
    assert isinstance(stmt, Select) and stmt.where is not None
    ours = evaluate(Condition(stmt.where, bind(stmt, [])), item)
    try:
        expression = parse_condition(ex, None, values or None)
    except ValidationException:
        # constant operands a ConditionExpression rejects up front (BETWEEN 2 AND 1, begins_with(a, 1)):
        # eddydb's PartiQL does not check them up front (they evaluate to false), so skip those
        assume(False)
    theirs = evaluate(expression, item)
    assert ours == theirs, (pq, ex, item)
