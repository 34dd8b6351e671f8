"""The one evaluator: conditions and filters against an item, and projections of an item.

Walks `tree` nodes with DynamoDB's semantics: comparisons of different types are
false (not errors), a missing attribute makes a comparison false (except `<>`),
`contains` works on strings, sets and lists, `size` on strings (UTF-8 bytes),
binaries (bytes), sets, lists and maps (elements). Called by the engine for
ConditionExpression/Expected, Query/Scan filters and projections.
"""
from __future__ import annotations

import base64
from typing import Any

from eddydb.expressions.tree import (
    And,
    Between,
    Compare,
    Condition,
    Function,
    In,
    Literal,
    Not,
    Or,
    Path,
    PathRef,
    Size,
    ValueRef,
)
from eddydb.model.values import compare_values, to_decimal, values_equal

__all__ = ["evaluate", "operand_value", "project", "resolve_path"]


def resolve_path(item: dict, path: Path) -> dict | None:
    """The attribute value at a document path, or None when any step is missing."""
    v = item.get(path[0])  # type: ignore[call-overload]
    for p in path[1:]:
        if v is None:
            return None
        if type(p) is int:
            lst = v.get("L")
            if lst is None or p >= len(lst):
                return None
            v = lst[p]
        else:
            m = v.get("M")
            if m is None:
                return None
            v = m.get(p)
    return v


def _size(av: dict | None) -> dict | None:
    if av is None:
        return None
    ((t, v),) = av.items()
    if t == "S":
        # DynamoDB measures strings in UTF-8 bytes (item size, key limits, PartiQL SIZE "in bytes")
        return {"N": str(len(v) if v.isascii() else len(v.encode("utf-8")))}
    if t == "B":
        return {"N": str(len(base64.b64decode(v)))}
    if t in ("SS", "NS", "BS", "L", "M"):
        return {"N": str(len(v))}
    return None


def operand_value(op: Any, item: dict, values: dict[str, dict]) -> dict | None:
    """Value of a condition operand for an item (None when it refers to nothing)."""
    t = type(op)
    if t is PathRef:
        return resolve_path(item, op.path)
    if t is ValueRef:
        return values[op.name]
    if t is Literal:
        return op.value  # type: ignore[no-any-return]
    if t is Size:
        return _size(operand_value(op.path, item, values))
    raise TypeError(f"not a condition operand: {op!r}")


def _begins_with(a: dict | None, b: dict | None) -> bool:
    if a is None or b is None:
        return False
    if "S" in a and "S" in b:
        return a["S"].startswith(b["S"])  # type: ignore[no-any-return]
    if "B" in a and "B" in b:
        return base64.b64decode(a["B"]).startswith(base64.b64decode(b["B"]))
    return False


def _contains(a: dict | None, b: dict | None) -> bool:
    if a is None or b is None:
        return False
    ((ta, va),) = a.items()
    ((tb, vb),) = b.items()
    if ta == "S":
        return tb == "S" and vb in va  # type: ignore[no-any-return]
    if ta == "SS":
        return tb == "S" and vb in va  # type: ignore[no-any-return]
    if ta == "NS":
        if tb != "N":
            return False
        d = to_decimal(vb)
        return vb in va or any(to_decimal(x) == d for x in va)
    if ta == "BS":
        if tb != "B":
            return False
        raw = base64.b64decode(vb)
        return any(base64.b64decode(x) == raw for x in va)
    if ta == "B":
        return tb == "B" and base64.b64decode(vb) in base64.b64decode(va)
    if ta == "L":
        return any(values_equal(x, b) for x in va)
    return False


def _eval(node: Any, item: dict, values: dict[str, dict]) -> bool:
    t = type(node)
    if t is Compare:
        a = operand_value(node.left, item, values)
        b = operand_value(node.right, item, values)
        op = node.op
        if op == "=":
            return a is not None and b is not None and values_equal(a, b)
        if op == "<>":
            return not (a is not None and b is not None and values_equal(a, b))
        if a is None or b is None:
            return False
        c = compare_values(a, b)
        if c is None:
            return False
        if op == "<":
            return c < 0
        if op == "<=":
            return c <= 0
        if op == ">":
            return c > 0
        return c >= 0
    if t is Function:
        name = node.name
        args = node.args
        if name == "attribute_exists":
            return operand_value(args[0], item, values) is not None
        if name == "attribute_not_exists":
            return operand_value(args[0], item, values) is None
        if name == "begins_with":
            return _begins_with(operand_value(args[0], item, values), operand_value(args[1], item, values))
        if name == "contains":
            return _contains(operand_value(args[0], item, values), operand_value(args[1], item, values))
        if name == "attribute_type":
            a = operand_value(args[0], item, values)
            want = operand_value(args[1], item, values)
            return a is not None and want is not None and want.get("S") == next(iter(a))
        raise ValueError(f"unknown function {name}")
    if t is And:
        return _eval(node.left, item, values) and _eval(node.right, item, values)
    if t is Or:
        return _eval(node.left, item, values) or _eval(node.right, item, values)
    if t is Not:
        return not _eval(node.operand, item, values)
    if t is Between:
        x = operand_value(node.operand, item, values)
        lo = operand_value(node.low, item, values)
        hi = operand_value(node.high, item, values)
        if x is None or lo is None or hi is None:
            return False
        c1 = compare_values(lo, x)
        c2 = compare_values(x, hi)
        return c1 is not None and c2 is not None and c1 <= 0 and c2 <= 0
    if t is In:
        x = operand_value(node.operand, item, values)
        if x is None:
            return False
        for opt in node.options:
            v = operand_value(opt, item, values)
            if v is not None and values_equal(x, v):
                return True
        return False
    raise TypeError(f"not a condition node: {node!r}")


def evaluate(cond: Condition | Any, item: dict | None) -> bool:
    """True if `item` (None = no item) satisfies a bound Condition (or a bare tree with literals)."""
    if item is None:
        item = {}
    if isinstance(cond, Condition):
        return _eval(cond.tree, item, cond.values)
    return _eval(cond, item, {})


# --- projection ----------------------------------------------------------------------

def _selection(paths: list[Path]) -> dict:
    root: dict = {}
    for path in paths:
        node = root
        for i, p in enumerate(path):
            if i == len(path) - 1:
                node[p] = True
            else:
                nxt = node.get(p)
                if nxt is True:
                    break
                if nxt is None:
                    nxt = node[p] = {}
                node = nxt
    return root


def _extract(av: dict, sel: dict) -> dict | None:
    keys = list(sel)
    if isinstance(keys[0], int):
        lst = av.get("L")
        if lst is None:
            return None
        out_l = []
        for idx in sorted(k for k in keys if isinstance(k, int)):
            if idx < len(lst):
                sub = sel[idx]
                v = lst[idx] if sub is True else _extract(lst[idx], sub)
                if v is not None:
                    out_l.append(v)
        return {"L": out_l} if out_l else None
    m = av.get("M")
    if m is None:
        return None
    out_m = {}
    for k, sub in sel.items():
        if isinstance(k, int):
            continue
        v = m.get(k)
        if v is None:
            continue
        if sub is not True:
            v = _extract(v, sub)
            if v is None:
                continue
        out_m[k] = v
    return {"M": out_m} if out_m else None


def project(item: dict | None, paths: list[Path] | None) -> dict | None:
    """The parts of `item` named by document paths (DynamoDB ProjectionExpression semantics).

    Top-level-only projections are a dict comprehension; nested paths keep only the
    selected map keys and list elements (list elements in index order).
    """
    if item is None or paths is None:
        return item
    if all(len(p) == 1 for p in paths):
        return {p[0]: item[p[0]] for p in paths if p[0] in item}  # type: ignore[index]
    out = {}
    for name, sub in _selection(paths).items():
        v = item.get(name)
        if v is None:
            continue
        if sub is not True:
            v = _extract(v, sub)
            if v is None:
                continue
        out[name] = v
    return out
