"""The PartiQL parser on its own: statements become expression trees, literals become attribute values,
and malformed statements are ValidationExceptions."""
from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eddydb.expressions.tree import And, Compare, Function, In, Literal, Not, PathRef, ValueRef
from eddydb.model.errors import ValidationException
from eddydb.model.values import values_equal
from eddydb.partiql import Delete, Exists, Insert, Select, Update, bind, key_equalities, key_range, parse


def _render(av: dict) -> str:
    """An attribute value written as a PartiQL literal."""
    ((t, v),) = av.items()
    if t == "S":
        return "'" + v.replace("'", "''") + "'"
    if t == "N":
        return v
    if t == "BOOL":
        return "TRUE" if v else "FALSE"
    if t == "NULL":
        return "NULL"
    if t == "L":
        return "[" + ", ".join(_render(x) for x in v) + "]"
    if t == "M":
        return "{" + ", ".join(f"{_render({'S': k})}: {_render(x)}" for k, x in v.items()) + "}"
    if t == "SS":
        return "<<" + ", ".join(_render({"S": x}) for x in v) + ">>"
    return "<<" + ", ".join(v) + ">>"


_numbers = st.decimals(min_value=Decimal("-1e20"), max_value=Decimal("1e20"), allow_nan=False,
                       allow_infinity=False, places=6).map(lambda d: {"N": str(d)})
_scalars = st.one_of(
    st.text(max_size=12).map(lambda s: {"S": s}),
    _numbers,
    st.booleans().map(lambda b: {"BOOL": b}),
    st.just({"NULL": True}),
    st.sets(st.text(min_size=1, max_size=5), min_size=1, max_size=4).map(lambda s: {"SS": sorted(s)}),
    st.sets(st.integers(-1000, 1000), min_size=1, max_size=4).map(lambda s: {"NS": [str(x) for x in sorted(s)]}),
)
_values = st.recursive(_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4).map(lambda xs: {"L": xs}),
    st.dictionaries(st.text(min_size=1, max_size=6), inner, max_size=4).map(lambda d: {"M": d}),
), max_leaves=12)


@settings(max_examples=200, deadline=None)
@given(_values)
def test_literal_round_trip(av: dict) -> None:
    stmt = parse(f'SELECT * FROM "t" WHERE a = {_render(av)}')
    assert isinstance(stmt, Select)
    node = stmt.where
    assert isinstance(node, Compare) and isinstance(node.right, Literal)
    assert values_equal(node.right.value, av)


@settings(max_examples=100, deadline=None)
@given(_values)
def test_parameter_binds_the_same_value_as_the_literal(av: dict) -> None:
    stmt = parse("INSERT INTO \"t\" VALUE {'pk': ?, 'v': ?}")
    values = bind(stmt, [{"S": "k"}, av])
    assert values_equal(values[":p1"], av)


def test_select_builds_expression_trees() -> None:
    stmt = parse("SELECT a, b.c[2] FROM \"tbl\".\"idx\" WHERE pk = ? AND NOT x IN [1, 2] AND y IS MISSING")
    assert isinstance(stmt, Select)
    assert (stmt.table, stmt.index, stmt.projection) == ("tbl", "idx", (("a",), ("b", "c", 2)))
    assert stmt.params == 1
    terms = []
    node = stmt.where
    while isinstance(node, And):
        terms.append(node.right)
        node = node.left
    terms.append(node)
    assert Compare("=", PathRef(("pk",)), ValueRef(":p0")) in terms
    assert Not(In(PathRef(("x",)), (Literal({"N": "1"}), Literal({"N": "2"})))) in terms
    assert Function("attribute_not_exists", (PathRef(("y",)),)) in terms


def test_keywords_are_case_insensitive_and_identifiers_are_not() -> None:
    a = parse("select Pk from t where Pk = 'x'")
    b = parse("SELECT Pk FROM t WHERE Pk = 'x'")
    assert a == b
    assert isinstance(a, Select) and a.projection == (("Pk",),)


def test_update_delete_insert_exists_shapes() -> None:
    up = parse("UPDATE t SET a = a + 1, b = list_append(b, [?]) SET s = set_delete(s, <<'x'>>) REMOVE c "
               "WHERE pk = 'k' RETURNING MODIFIED NEW *")
    assert isinstance(up, Update) and up.returning == "UPDATED_NEW"
    assert [a.path for a in up.actions.sets] == [("a",), ("b",)]
    assert [a.path for a in up.actions.deletes] == [("s",)]
    assert [a.path for a in up.actions.removes] == [("c",)]
    assert up.templates and up.params == 1
    assert isinstance(parse("DELETE FROM t WHERE pk = 1 RETURNING ALL OLD *"), Delete)
    assert isinstance(parse("INSERT INTO t VALUE {'pk': 1}"), Insert)
    assert isinstance(parse("EXISTS(SELECT * FROM t WHERE pk = 1)"), Exists)


def test_key_analysis() -> None:
    where = parse("SELECT * FROM t WHERE 'k' = pk AND sk = 3 AND x > 1").where
    found, rest = key_equalities(where, ("pk", "sk"))
    assert found is not None and set(found) == {"pk", "sk"} and len(rest) == 1
    assert key_equalities(where, ("pk", "other"))[0] is None
    rng = key_range(parse("SELECT * FROM t WHERE pk IN ['a', 'b'] AND 5 > sk").where, "pk", "sk")
    assert rng is not None and len(rng.hash_values) == 2 and rng.range_op == "<"
    assert key_range(parse("SELECT * FROM t WHERE pk = 'a' OR x = 1").where, "pk", "sk") is None


@pytest.mark.parametrize("text", [
    "SELEC * FROM t",
    "SELECT * FROM",
    "SELECT * FROM t WHERE",
    "SELECT * FROM t WHERE a = ",
    "SELECT * FROM t WHERE a = 'unterminated",
    "SELECT * FROM t WHERE a = 1 extra",
    "SELECT * FROM t WHERE a # 1",
    "SELECT value FROM t",
    "INSERT INTO t VALUE 1",
    "UPDATE t WHERE pk = 1",
    "DELETE FROM t",
    "SELECT * FROM t WHERE a = <<1, 'x'>>",
    "SELECT * FROM t WHERE a = <<>>",
    "SELECT * FROM t WHERE a = {'k': 1, 'k': 2}",
    "SELECT * FROM t WHERE a = 1e999999",
    "SELECT * FROM t WHERE " + "(" * 100 + "a = 1" + ")" * 100,
    "SELECT * FROM t WHERE nosuchfn(a)",
    "UPDATE t SET a = set_add(b, <<1>>) WHERE pk = 1",
    "DELETE FROM t WHERE pk = 1 RETURNING ALL NEW *",
])
def test_malformed_statements_are_validation_errors(text: str) -> None:
    with pytest.raises(ValidationException):
        parse(text)


def test_parameter_count_must_match() -> None:
    stmt = parse("SELECT * FROM t WHERE a = ? AND b = ?")
    with pytest.raises(ValidationException, match="Number of parameters"):
        bind(stmt, [{"S": "x"}])
    with pytest.raises(ValidationException, match="Number of parameters"):
        bind(stmt, [{"S": "x"}, {"S": "y"}, {"S": "z"}])


def test_long_or_chains_build_shallow_trees() -> None:
    text = "SELECT * FROM t WHERE " + " OR ".join(f"a = {i}" for i in range(2000))
    stmt = parse(text)
    depth, stack = 0, [(stmt.where, 1)]  # type: ignore[union-attr]
    while stack:
        node, d = stack.pop()
        depth = max(depth, d)
        for child in (getattr(node, "left", None), getattr(node, "right", None)):
            if child is not None and hasattr(child, "left") and not isinstance(child, Compare):
                stack.append((child, d + 1))
    assert depth < 20


_WORDS = ["SELECT", "*", "FROM", '"t"', "t", ".", "WHERE", "a", "=", "?", "1", "'s'", "AND", "OR", "NOT", "(", ")",
          "[", "]", "<<", ">>", "{", "}", ":", ",", "IN", "BETWEEN", "IS", "MISSING", "NULL", "INSERT", "INTO",
          "VALUE", "UPDATE", "SET", "REMOVE", "DELETE", "RETURNING", "ALL", "OLD", "NEW", "MODIFIED", "EXISTS",
          "ORDER", "BY", "DESC", "size", "begins_with", "set_add", "list_append", "+", "-", "<>", ";"]


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(_WORDS), max_size=14))
def test_any_token_soup_parses_or_is_a_validation_error(words: list[str]) -> None:
    try:
        parse(" ".join(words))
    except ValidationException:
        pass


@pytest.mark.parametrize("text", ["DELETE FROM t WHERE pk = 1 RETURNING", "DELETE FROM t WHERE pk = 1 RETURNING ALL",
                                  "UPDATE t SET a = set_add(", "SELECT * FROM t WHERE size(", "EXISTS("])
def test_statements_cut_short_are_validation_errors(text: str) -> None:
    with pytest.raises(ValidationException):
        parse(text)
