"""FilterCriteria of an event source mapping: EventBridge pattern matching on stream records.

Pure code. `triggers.mappings` validates a mapping's FilterCriteria with
`validate_filter_criteria` at create/update time (InvalidParameterValueException on a
bad pattern); the shard processor compiles them once with `compile_filters` and calls
the returned predicate for every record. Filters are ORed; a record that matches none
is dropped by the processor.

Supported pattern syntax (Lambda's subset of EventBridge, plus `$or`):
``[null]``, ``[""]``, ``["x"]``, ``[5]``, ``["a", "b"]`` (or), ``[{"anything-but": ...}]``
(a value, a list, ``{"prefix": ..}``, ``{"suffix": ..}``, ``{"equals-ignore-case": ..}``),
``[{"numeric": [">", 10, "<=", 20]}]``, ``[{"exists": true|false}]``, ``[{"prefix": "us-"}]``,
``[{"suffix": ".png"}]``, ``[{"equals-ignore-case": "x"}]``, nested objects. Numeric
operators also match numeric strings, so DynamoDB ``{"N": "12.5"}`` values filter as numbers.
Patterns see the leaves of the event, as EventBridge flattens it: an object is never a value, so
``exists`` on a DynamoDB attribute node (``"attr": [{"exists": true}]``) never matches and
``exists: false`` always does; name the type descriptor (``"attr": {"S": [...]}``).
"""
from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from decimal import Decimal, InvalidOperation
from typing import Any

from eddydb.model.errors import InvalidParameterValueException, ValidationException

__all__ = [
    "MAX_FILTERS",
    "MAX_PATTERN_LENGTH",
    "compile_filters",
    "compile_pattern",
    "matches",
    "parse_pattern",
    "validate_filter_criteria",
]

MAX_FILTERS = 5
MAX_PATTERN_LENGTH = 4096
# Lambda's whole answer to any bad pattern (bad JSON, a bad operator, no Pattern string): no detail
_INVALID = "Invalid filter pattern definition."

Predicate = Callable[[Any], bool]
_MISSING = object()
_NUMERIC_OPS = ("<", "<=", "=", ">", ">=")
_NUM_LIMIT = Decimal("5e9")


class _PatternError(ValueError):
    pass


# --- public -------------------------------------------------------------------------------------

def validate_filter_criteria(criteria: Any) -> list[dict[str, Any]]:
    """Check a FilterCriteria value; returns the parsed patterns. Raises InvalidParameterValueException
    (ValidationException for a Pattern longer than the model's 4096 characters)."""
    if criteria is None:
        return []
    if not isinstance(criteria, dict):
        raise InvalidParameterValueException("FilterCriteria must be an object with a Filters list.")
    filters = criteria.get("Filters")
    if filters is None:
        return []
    if not isinstance(filters, list):
        raise InvalidParameterValueException("FilterCriteria.Filters must be a list.")
    for i, f in enumerate(filters):
        text = f.get("Pattern") if isinstance(f, dict) else None
        if isinstance(text, str) and len(text) > MAX_PATTERN_LENGTH:
            # the model's limit on Pattern: the request validator answers before Lambda looks at the filters
            raise ValidationException(
                f"1 validation error detected: Value '{text}' at 'filterCriteria.filters.{i + 1}.member.pattern' "
                f"failed to satisfy constraint: Member must have length less than or equal to {MAX_PATTERN_LENGTH}")
    if len(filters) > MAX_FILTERS:
        raise InvalidParameterValueException(
            f"Invalid filter criteria: the number of filters ({len(filters)}) exceeds the maximum of {MAX_FILTERS}."
        )
    out = []
    for i, f in enumerate(filters):
        if not isinstance(f, dict) or "Pattern" not in f or not isinstance(f["Pattern"], str):
            raise InvalidParameterValueException(_INVALID)
        out.append(parse_pattern(f["Pattern"], index=i))
    return out


def parse_pattern(text: str, *, index: int = 0) -> dict[str, Any]:
    """Parse and validate one pattern's JSON text; InvalidParameterValueException with the reason."""
    if len(text) > MAX_PATTERN_LENGTH:
        raise InvalidParameterValueException(_INVALID)
    try:
        pattern = json.loads(text, parse_float=Decimal, parse_int=Decimal)
    except ValueError:
        raise InvalidParameterValueException(_INVALID) from None
    try:
        _compile_object(pattern, "")
    except _PatternError:
        raise InvalidParameterValueException(_INVALID) from None
    return pattern


def compile_pattern(pattern: dict[str, Any] | str) -> Predicate:
    """A predicate `event -> bool` for one pattern (dict as parsed by `parse_pattern`, or its JSON text)."""
    if isinstance(pattern, str):
        pattern = parse_pattern(pattern)
    try:
        return _compile_object(pattern, "")
    except _PatternError:
        raise InvalidParameterValueException(_INVALID) from None


def compile_filters(criteria: Any) -> Predicate | None:
    """The OR of a FilterCriteria's patterns, or None when there are no filters (everything passes)."""
    patterns = validate_filter_criteria(criteria)
    if not patterns:
        return None
    preds = [compile_pattern(p) for p in patterns]
    if len(preds) == 1:
        return preds[0]
    return lambda event: any(p(event) for p in preds)


def matches(pattern: dict[str, Any] | str, event: Any) -> bool:
    """Does `event` match one pattern? (Convenience; compile once for hot paths.)"""
    return compile_pattern(pattern)(event)


# --- compilation --------------------------------------------------------------------------------

def _compile_object(pattern: Any, path: str) -> Predicate:
    """An object pattern: every key must match (AND); `$or` holds a list of alternative patterns."""
    if not isinstance(pattern, dict):
        raise _PatternError(f"{path or 'the pattern'} must be a JSON object")
    if not pattern:
        if path:
            raise _PatternError(f"{path} must not be an empty object")
        return lambda event: True
    checks: list[Predicate] = []
    for key, sub in pattern.items():
        where = f"{path}.{key}" if path else key
        if key == "$or":
            if not isinstance(sub, list) or len(sub) < 2:
                raise _PatternError(f"{where} must be a list of at least two patterns")
            checks.append(_any_of([_compile_object(alt, where) for alt in sub]))
            continue
        if isinstance(sub, dict):
            inner = _compile_object(sub, where)
            checks.append(_field_object(key, inner))
        elif isinstance(sub, list):
            checks.append(_field_leaf(key, sub, where))
        else:
            raise _PatternError(f"{where} must be an array of match values or a nested object, got {_show(sub)}")
    if len(checks) == 1:
        return checks[0]
    return lambda event: all(c(event) for c in checks)


def _any_of(alternatives: list[Predicate]) -> Predicate:
    return lambda event: any(a(event) for a in alternatives)


def _field_object(key: str, inner: Predicate) -> Predicate:
    # The event is matched as EventBridge flattens it: a missing (or scalar) node has no leaves under
    # it, which only exists:false conditions accept, so `inner({})` decides for those once.
    vacuous = inner({})

    def check(event: Any) -> bool:
        value = event.get(key, _MISSING) if isinstance(event, dict) else _MISSING
        if isinstance(value, dict):
            return inner(value)
        objects = list(_objects(value)) if isinstance(value, list) else []
        if not objects:
            return vacuous
        return any(inner(v) for v in objects)

    return check


def _field_leaf(key: str, values: list, where: str) -> Predicate:
    if not values:
        raise _PatternError(f"{where} must not be an empty array")
    present_preds: list[Predicate] = []   # need the field present; called with each scalar value
    absent_ok = False                      # {"exists": false}
    exists_true = False
    for v in values:
        if isinstance(v, dict):
            if len(v) != 1:
                raise _PatternError(f"{where}: an operator object must have exactly one key, got {_show(v)}")
            op, arg = next(iter(v.items()))
            if op == "exists":
                if not isinstance(arg, bool):
                    raise _PatternError(f"{where}: exists takes true or false, got {_show(arg)}")
                if arg:
                    exists_true = True
                else:
                    absent_ok = True
                continue
            present_preds.append(_operator(op, arg, where))
        elif isinstance(v, list):
            raise _PatternError(f"{where}: match values must not be nested arrays")
        else:
            present_preds.append(_literal(v))

    def check(event: Any) -> bool:
        value = event.get(key, _MISSING) if isinstance(event, dict) else _MISSING
        # Patterns see leaves only ("exists matching only works on leaf nodes"): an object here is an
        # intermediate node, an array stands for its elements, an empty one for nothing.
        if value is _MISSING or isinstance(value, dict):
            return absent_ok
        if isinstance(value, list):
            leaves = list(_leaves(value))
            if not leaves:
                return absent_ok
            return exists_true or any(p(x) for x in leaves for p in present_preds)
        return exists_true or any(p(value) for p in present_preds)

    return check


def _leaves(values: list) -> Iterator[Any]:
    """The scalar values of an event array, nested arrays flattened (objects are not leaves)."""
    for v in values:
        if isinstance(v, list):
            yield from _leaves(v)
        elif not isinstance(v, dict):
            yield v


def _objects(values: list) -> Iterator[dict]:
    """The objects of an event array, nested arrays flattened."""
    for v in values:
        if isinstance(v, list):
            yield from _objects(v)
        elif isinstance(v, dict):
            yield v


def _literal(v: Any) -> Predicate:
    if v is None:
        return lambda x: x is None
    if isinstance(v, bool):
        return lambda x: x is v
    if isinstance(v, Decimal):
        # no range check: only numeric bounds are limited; a literal beyond them (an account
        # number) is still a valid exact match, as EventBridge compiles it
        return lambda x: _num(x) == v
    if isinstance(v, str):
        return lambda x: isinstance(x, str) and x == v
    raise _PatternError(f"unsupported match value {_show(v)}")


def _operator(op: str, arg: Any, where: str) -> Predicate:
    if op == "prefix":
        return _prefix_suffix(arg, where, str.startswith, "prefix")
    if op == "suffix":
        return _prefix_suffix(arg, where, str.endswith, "suffix")
    if op == "equals-ignore-case":
        if not isinstance(arg, str):
            raise _PatternError(f"{where}: equals-ignore-case takes a string, got {_show(arg)}")
        folded = arg.casefold()
        return lambda x: isinstance(x, str) and x.casefold() == folded
    if op == "numeric":
        return _numeric(arg, where)
    if op == "anything-but":
        return _anything_but(arg, where)
    raise _PatternError(f"{where}: unrecognized match type {op!r}")


def _prefix_suffix(arg: Any, where: str, test: Callable[[str, str], bool], name: str) -> Predicate:
    if isinstance(arg, dict) and len(arg) == 1 and isinstance(arg.get("equals-ignore-case"), str):
        folded = arg["equals-ignore-case"].casefold()
        return lambda x: isinstance(x, str) and test(x.casefold(), folded)
    if not isinstance(arg, str):
        raise _PatternError(f"{where}: {name} takes a string, got {_show(arg)}")
    return lambda x: isinstance(x, str) and test(x, arg)


def _numeric(arg: Any, where: str) -> Predicate:
    if not isinstance(arg, list) or len(arg) not in (2, 4):
        raise _PatternError(f"{where}: numeric takes [op, number] or [op, number, op, number], got {_show(arg)}")
    conds: list[tuple[str, Decimal]] = []
    for i in range(0, len(arg), 2):
        op, n = arg[i], arg[i + 1]
        if op not in _NUMERIC_OPS:
            raise _PatternError(f"{where}: unrecognized numeric operator {_show(op)}")
        if not isinstance(n, Decimal) or isinstance(n, bool):
            raise _PatternError(f"{where}: numeric {op} needs a number, got {_show(n)}")
        _check_number(n, f"{where}: numeric bound")
        conds.append((op, n))
    if len(conds) == 2:
        (op1, lo), (op2, hi) = conds
        if op1 not in (">", ">=") or op2 not in ("<", "<="):
            raise _PatternError(f"{where}: a numeric range must be a lower bound (> or >=) then an upper bound (< or <=)")
        if lo > hi:
            raise _PatternError(f"{where}: the numeric range's lower bound is above its upper bound")

    def check(x: Any) -> bool:
        n = _num(x)
        if n is None:
            return False
        for op, bound in conds:
            if op == "<" and not n < bound:
                return False
            if op == "<=" and not n <= bound:
                return False
            if op == "=" and n != bound:
                return False
            if op == ">" and not n > bound:
                return False
            if op == ">=" and not n >= bound:
                return False
        return True

    return check


def _anything_but(arg: Any, where: str) -> Predicate:
    if isinstance(arg, dict):
        if len(arg) != 1:
            raise _PatternError(f"{where}: anything-but takes one operator object, got {_show(arg)}")
        op, inner = next(iter(arg.items()))
        if op not in ("prefix", "suffix", "equals-ignore-case"):
            raise _PatternError(f"{where}: anything-but does not support {op!r}")
        if op == "equals-ignore-case" and isinstance(inner, list):
            if not inner or not all(isinstance(s, str) for s in inner):
                raise _PatternError(f"{where}: anything-but equals-ignore-case takes a string or a list of strings")
            folded = {s.casefold() for s in inner}
            return lambda x: isinstance(x, str) and x.casefold() not in folded
        positive = _operator(op, inner, where)
        # anything-but prefix/suffix only matches strings (a number is neither "not prefixed" nor prefixed)
        return lambda x: isinstance(x, str) and not positive(x)
    values = arg if isinstance(arg, list) else [arg]
    if not values:
        raise _PatternError(f"{where}: anything-but must not be an empty list")
    strings: set[str] = set()
    numbers: list[Decimal] = []
    for v in values:
        if isinstance(v, str):
            strings.add(v)
        elif isinstance(v, Decimal):
            _check_number(v, f"{where}: anything-but value")
            numbers.append(v)
        else:
            raise _PatternError(f"{where}: anything-but takes strings or numbers, got {_show(v)}")

    def check(x: Any) -> bool:
        if isinstance(x, str) and x in strings:
            return False
        if numbers:
            n = _num(x)
            if n is not None and n in numbers:
                return False
        return True

    return check


def _num(x: Any) -> Decimal | None:
    """Numeric value of an event value: JSON numbers and numeric strings (DynamoDB "N")."""
    if isinstance(x, bool) or x is None:
        return None
    if isinstance(x, Decimal):
        return x
    if isinstance(x, (int, float)):
        return Decimal(str(x))
    if isinstance(x, str):
        try:
            d = Decimal(x.strip())
        except (InvalidOperation, ValueError):
            return None
        return d if d.is_finite() else None
    return None


def _check_number(n: Decimal, what: str) -> None:
    if not n.is_finite() or abs(n) > _NUM_LIMIT:
        raise _PatternError(f"{what} {n} is outside the range -5.0e9 to 5.0e9")


def _show(v: Any) -> str:
    try:
        return json.dumps(v, default=str)
    except (TypeError, ValueError):
        return repr(v)
