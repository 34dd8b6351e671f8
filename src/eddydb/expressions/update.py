"""Applying an update plan (UpdateExpression or legacy AttributeUpdates) to an item.

`apply_update(plan, item)` returns the new item without mutating the old one (the
old image must stay intact for streams and ReturnValues): containers are copied
only along the paths that change. Every right-hand side is evaluated against the
old item, as DynamoDB does. Called by the engine's UpdateItem and transactions.
"""
from __future__ import annotations

import base64
from typing import Any

from eddydb.expressions.evaluate import operand_value, resolve_path
from eddydb.expressions.tree import (
    Arith,
    IfNotExists,
    ListAppend,
    Path,
    PathRef,
    UpdatePlan,
)
from eddydb.model.errors import ValidationException
from eddydb.model.values import DECIMAL_CONTEXT, MAX_DEPTH, decimal_to_number, to_decimal

__all__ = ["apply_update"]


def _bad_path() -> ValidationException:
    return ValidationException("The document path provided in the update expression is invalid for update")


def _bad_type() -> ValidationException:
    return ValidationException("An operand in the update expression has an incorrect data type")


def _too_deep() -> ValidationException:
    return ValidationException("Nesting Levels have exceeded supported limits")


def _depth_exceeds(av: dict, budget: int) -> bool:
    """True when `av` holds more than `budget` levels of maps/lists (itself included)."""
    inner = av.get("M")
    if inner is not None:
        members = inner.values()
    else:
        inner = av.get("L")
        if inner is None:
            return False
        members = inner
    if budget <= 0:
        return True
    return any(_depth_exceeds(m, budget - 1) for m in members)


def _missing() -> ValidationException:
    return ValidationException("The provided expression refers to an attribute that does not exist in the item")


def _value(op: Any, item: dict, values: dict[str, dict]) -> dict:
    """Value of a SET operand; a path that refers to nothing is an error here."""
    t = type(op)
    if t is PathRef:
        v = resolve_path(item, op.path)
        if v is None:
            raise _missing()
        return v
    if t is Arith:
        a = _value(op.left, item, values)
        b = _value(op.right, item, values)
        if "N" not in a or "N" not in b:
            raise _bad_type()
        da, db = to_decimal(a["N"]), to_decimal(b["N"])
        r = DECIMAL_CONTEXT.add(da, db) if op.op == "+" else DECIMAL_CONTEXT.subtract(da, db)
        return {"N": decimal_to_number(r)}
    if t is IfNotExists:
        v = resolve_path(item, op.path.path)
        return v if v is not None else _value(op.default, item, values)
    if t is ListAppend:
        a = _value(op.left, item, values)
        b = _value(op.right, item, values)
        if "L" not in a or "L" not in b:
            raise _bad_type()
        return {"L": a["L"] + b["L"]}
    v = operand_value(op, item, values)
    if v is None:
        raise _missing()
    return v


# --- copy-on-write path surgery -------------------------------------------------------

def _parent(new: dict, path: Path, copied: set[int]) -> tuple[Any, Any] | None:
    """Container (a dict of the item or a map, or a list) holding the last path element.

    Copies every container on the way (once per update). Returns None when the
    parent does not exist; raises for a parent of the wrong type.
    """
    container: Any = new
    for i, p in enumerate(path[:-1]):
        nxt_key = path[i + 1]
        if isinstance(container, dict):
            av = container.get(p)
        else:
            av = container[p] if p < len(container) else None  # type: ignore[operator]
        if av is None:
            return None
        want = "L" if isinstance(nxt_key, int) else "M"
        inner = av.get(want)
        if inner is None:
            raise _bad_path()
        if id(inner) not in copied:
            inner = list(inner) if want == "L" else dict(inner)
            copied.add(id(inner))
            container[p] = {want: inner}
        container = inner
    return container, path[-1]


def _type_matches(container: Any, last: Any) -> bool:
    return isinstance(container, list) == isinstance(last, int)


def _set(new: dict, path: Path, value: dict, copied: set[int]) -> None:
    found = _parent(new, path, copied)
    if found is None:
        raise _bad_path()
    container, last = found
    if not _type_matches(container, last):
        raise _bad_path()
    if isinstance(container, list):
        if last >= len(container):
            container.append(value)
        else:
            container[last] = value
    else:
        container[last] = value


def _get(new: dict, path: Path, copied: set[int]) -> tuple[Any, Any, dict | None]:
    found = _parent(new, path, copied)
    if found is None:
        raise _bad_path()
    container, last = found
    if not _type_matches(container, last):
        raise _bad_path()
    if isinstance(container, list):
        return container, last, container[last] if last < len(container) else None
    return container, last, container.get(last)


def _remove(new: dict, path: Path, copied: set[int]) -> None:
    found = _parent(new, path, copied)
    if found is None:
        raise _bad_path()
    container, last = found
    if not _type_matches(container, last):
        raise _bad_path()
    if isinstance(container, list):
        if last < len(container):
            del container[last]
    else:
        container.pop(last, None)


def _put(container: Any, last: Any, value: dict) -> None:
    if isinstance(container, list) and last >= len(container):
        container.append(value)
    else:
        container[last] = value


def _path_order(path: Path) -> tuple:
    # List positions in numeric order: appends past the end go in index order, and removals,
    # run in reverse, go from the last position back so none shifts another.
    return tuple((1, p, "") if isinstance(p, int) else (0, 0, p) for p in path)


def _set_members(av: dict) -> tuple[str, list]:
    ((t, v),) = av.items()
    return t, v


def _member_key(t: str, m: str) -> Any:
    if t == "NS":
        return to_decimal(m)
    if t == "BS":
        return base64.b64decode(m)
    return m


def _add(current: dict | None, value: dict) -> dict:
    if current is None:
        return value
    (tv, vv), = value.items()
    (tc, vc), = current.items()
    if tv == "N":
        if tc != "N":
            raise _bad_type()
        r = DECIMAL_CONTEXT.add(to_decimal(vc), to_decimal(vv))
        return {"N": decimal_to_number(r)}
    if tv in ("SS", "NS", "BS"):
        if tc != tv:
            raise _bad_type()
        have = {_member_key(tc, m) for m in vc}
        out = list(vc)
        for m in vv:
            k = _member_key(tv, m)
            if k not in have:
                have.add(k)
                out.append(m)
        return {tc: out}
    if tv == "L":  # legacy AttributeUpdates ADD appends to a list
        if tc != "L":
            raise _bad_type()
        return {"L": vc + vv}
    raise _bad_type()


def _delete(current: dict, value: dict) -> dict | None:
    (tv, vv), = value.items()
    (tc, vc), = current.items()
    if tc != tv:
        raise _bad_type()
    drop = {_member_key(tv, m) for m in vv}
    out = [m for m in vc if _member_key(tc, m) not in drop]
    return {tc: out} if out else None


def apply_update(plan: UpdatePlan, item: dict | None) -> dict:
    """The new item after applying `plan` to `item` (None = no item yet); `item` is not modified.

    Every list index refers to the list before the update: SET, ADD and DELETE change elements
    in place (indexes past the end append, in index order), then the removals (REMOVE, and the
    sets DELETE emptied) run from the last position back so none shifts another.
    Raises ValidationException with DynamoDB's messages for invalid document paths,
    operands of the wrong type, missing operands and number range errors.
    """
    old = item or {}
    tree = plan.tree
    values = plan.values
    # Right-hand sides see the old item only.
    sets = [(a.path, _value(a.value, old, values)) for a in tree.sets]
    adds = [(a.path, _value(a.value, old, values)) for a in tree.adds]
    deletes = [(a.path, _value(a.value, old, values)) for a in tree.deletes]
    new = dict(old)
    copied: set[int] = set()
    for path, v in sorted(sets, key=_position):
        if len(path) == 1:
            new[path[0]] = v  # type: ignore[index]
        else:
            # a document placed at a nested path must keep the item within 32 levels, as a PutItem must
            if _depth_exceeds(v, MAX_DEPTH - len(path) + 1):
                raise _too_deep()
            _set(new, path, v, copied)
    removes = [a.path for a in tree.removes]
    try:
        removes += _apply_add_delete(new, adds, deletes, copied)
    except ValidationException as e:
        if plan.legacy and e.message == _bad_type().message:
            raise ValidationException(  # a failure of the write, not of the request: no "parameter values" prefix
                "Type mismatch for attribute to update"
            ) from None
        raise
    for path in sorted(removes, key=_path_order, reverse=True):
        if len(path) == 1:
            new.pop(path[0], None)  # type: ignore[call-overload]
        else:
            _remove(new, path, copied)
    return new


def _position(action: tuple[Path, dict]) -> tuple:
    return _path_order(action[0])


def _apply_add_delete(new: dict, adds: list, deletes: list, copied: set[int]) -> list[Path]:
    """Applies ADD and DELETE; returns the paths of the sets DELETE emptied, for the removal pass."""
    for path, v in sorted(adds, key=_position):
        if len(path) == 1:
            new[path[0]] = _add(new.get(path[0]), v)  # type: ignore[call-overload,index]
        else:
            container, last, cur = _get(new, path, copied)
            _put(container, last, _add(cur, v))
    emptied: list[Path] = []
    for path, v in deletes:
        if len(path) == 1:
            cur = new.get(path[0])  # type: ignore[call-overload]
            if cur is None:
                continue
            r = _delete(cur, v)
            if r is None:
                emptied.append(path)
            else:
                new[path[0]] = r  # type: ignore[index]
        else:
            container, last, cur = _get(new, path, copied)
            if cur is None:
                continue
            r = _delete(cur, v)
            if r is None:
                emptied.append(path)
            else:
                container[last] = r
    return emptied
