"""What a WHERE clause says about the primary key: the equalities a write must have on every key
attribute, and the partition/sort-key conditions that let a SELECT run as a Query.

Pure functions over expression trees (`eddydb.expressions.tree`) and key attribute names, used by
api/partiql.py to choose GetItem-like writes, Query or Scan.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eddydb.expressions.tree import And, Between, Compare, Function, In, Literal, Node, Or, PathRef, ValueRef

__all__ = ["KeyRange", "conjuncts", "key_equalities", "key_range", "operand_av"]

_FLIP = {"=": "=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}


def conjuncts(node: Node | None) -> list[Node]:
    """The terms of a top-level AND chain (the node itself when it is not an AND)."""
    if node is None:
        return []
    out: list[Node] = []
    stack = [node]
    while stack:
        n = stack.pop()
        if type(n) is And:
            stack.append(n.right)
            stack.append(n.left)
        else:
            out.append(n)
    return out


def _is_value(op: Any) -> bool:
    return type(op) is Literal or type(op) is ValueRef


def _attr(op: Any) -> str | None:
    if type(op) is PathRef and len(op.path) == 1 and type(op.path[0]) is str:
        return op.path[0]
    return None


def operand_av(op: Any, values: dict[str, dict]) -> dict:
    """The attribute value of a Literal / ValueRef operand under a request's bound values."""
    return op.value if type(op) is Literal else values[op.name]  # type: ignore[no-any-return]


def _equality(term: Node) -> tuple[str, Any] | None:
    if type(term) is Compare and term.op == "=":
        a, b = term.left, term.right
        if _attr(a) is not None and _is_value(b):
            return _attr(a), b  # type: ignore[return-value]
        if _attr(b) is not None and _is_value(a):
            return _attr(b), a  # type: ignore[return-value]
    return None


def key_equalities(where: Node | None, names: tuple[str, ...]) -> tuple[dict[str, Any] | None, list[Node]]:
    """(key attribute -> value operand, remaining terms) when the WHERE is `k1 = v AND k2 = v [AND ...]`
    with exactly one equality per key attribute; (None, []) otherwise."""
    found: dict[str, Any] = {}
    rest: list[Node] = []
    for term in conjuncts(where):
        eq = _equality(term)
        if eq is not None and eq[0] in names:
            if eq[0] in found:
                return None, []
            found[eq[0]] = eq[1]
        else:
            rest.append(term)
    if len(found) != len(names):
        return None, []
    return found, rest


@dataclass(frozen=True, slots=True)
class KeyRange:
    """A Query a SELECT can run as: partition-key value operands (one per Query, from = or IN) and
    an optional sort-key condition ("=", "<", "<=", ">", ">=", "BETWEEN", "begins_with")."""
    hash_values: tuple[Any, ...]
    range_op: str | None = None
    range_values: tuple[Any, ...] = ()


def _pinned(node: Node, hash_name: str) -> tuple[Any, ...] | None:
    """The partition-key value operands outside of which `node` cannot hold: `pk = v`, `pk IN [..]`,
    an AND with such a term, an OR whose every branch is one (DynamoDB's "OrderID = 100 or OrderID =
    200" is not a full table scan); None when it does not pin the partition key."""
    t = type(node)
    if t is And:
        for term in conjuncts(node):
            found = _pinned(term, hash_name)
            if found is not None:
                return found
        return None
    if t is Or:
        left, right = _pinned(node.left, hash_name), _pinned(node.right, hash_name)  # type: ignore[union-attr, arg-type]
        return None if left is None or right is None else left + right
    eq = _equality(node)
    if eq is not None and eq[0] == hash_name:
        return (eq[1],)
    if t is In and _attr(node.operand) == hash_name and all(_is_value(o) for o in node.options):  # type: ignore[union-attr]
        return node.options  # type: ignore[union-attr, no-any-return]
    return None


def key_range(where: Node | None, hash_name: str, range_name: str | None) -> KeyRange | None:
    """The Query of a WHERE that pins the partition key (= or IN in its top-level AND chain, or an OR
    of such terms); None: the SELECT is a Scan. The whole WHERE stays the filter, so the partition
    values (in the order written) and the sort-key term of the top-level AND chain are only bounds."""
    if where is None:
        return None
    hashes = _pinned(where, hash_name)
    if hashes is None:
        return None
    terms = conjuncts(where)
    if range_name is not None:
        for term in terms:
            r = _range_term(term, range_name)
            if r is not None:
                return KeyRange(hashes, r[0], r[1])
    return KeyRange(hashes)


def _range_term(term: Node, name: str) -> tuple[str, tuple[Any, ...]] | None:
    t = type(term)
    if t is Compare and term.op in _FLIP:  # type: ignore[union-attr]
        a, b = term.left, term.right  # type: ignore[union-attr]
        if _attr(a) == name and _is_value(b):
            return term.op, (b,)  # type: ignore[union-attr]
        if _attr(b) == name and _is_value(a):
            return _FLIP[term.op], (a,)  # type: ignore[union-attr]
        return None
    if t is Between and _attr(term.operand) == name and _is_value(term.low) and _is_value(term.high):  # type: ignore[union-attr]
        return "BETWEEN", (term.low, term.high)  # type: ignore[union-attr]
    if t is Function and term.name == "begins_with" and _attr(term.args[0]) == name and _is_value(term.args[1]):  # type: ignore[union-attr]
        return "begins_with", (term.args[1],)  # type: ignore[union-attr]
    return None
