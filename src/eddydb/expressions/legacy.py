"""Legacy request parameters translated into the one expression tree.

Expected (+ConditionalOperator), QueryFilter/ScanFilter, KeyConditions,
AttributeUpdates and AttributesToGet become the same `Condition`, `KeyCondition`,
`UpdatePlan` and `Projection` objects the expression parser produces, with the
values bound as `Literal` nodes. Called through `request.compile_request` (or
directly by the api layer).
"""
from __future__ import annotations

from typing import Any

from eddydb.expressions.tree import (
    AddAction,
    And,
    Between,
    Compare,
    Condition,
    DeleteAction,
    Function,
    In,
    KeyCondition,
    Literal,
    Node,
    Not,
    Or,
    PathRef,
    Projection,
    RemoveAction,
    SetAction,
    UpdatePlan,
    UpdateTree,
)
from eddydb.model.errors import ValidationException
from eddydb.model.values import compare_values, validate_value

__all__ = [
    "attribute_updates",
    "attributes_to_get",
    "expected",
    "key_conditions",
    "query_filter",
]

_INVALID = "One or more parameter values were invalid: "
_ARGS = {
    "EQ": 1, "NE": 1, "LE": 1, "LT": 1, "GE": 1, "GT": 1, "CONTAINS": 1, "NOT_CONTAINS": 1, "BEGINS_WITH": 1,
    "NULL": 0, "NOT_NULL": 0, "BETWEEN": 2,
}
_CMP = {"EQ": "=", "NE": "<>", "LE": "<=", "LT": "<", "GE": ">=", "GT": ">"}
_SCALAR = ("S", "N", "B")
_OPERATORS = ("EQ", "NE", "IN", "LE", "LT", "GE", "GT", "BETWEEN", "NOT_NULL", "NULL", "CONTAINS",
              "NOT_CONTAINS", "BEGINS_WITH")


def _check_value(av: Any) -> dict:
    # a value of the wrong JSON type (bad base64 included) stays a SerializationException, as in an item
    return validate_value(av)


def _operator_condition(name: str, op: Any, args: list[Any] | None) -> Node:
    """One legacy ComparisonOperator + AttributeValueList on attribute `name`."""
    if op not in _OPERATORS:
        raise ValidationException(
            f"1 validation error detected: Value '{op}' at 'comparisonOperator' failed to satisfy constraint: "
            f"Member must satisfy enum value set: [{', '.join(_OPERATORS)}]"
        )
    args = [_check_value(a) for a in (args or [])]
    want = _ARGS.get(op)
    if (want is not None and len(args) != want) or (op == "IN" and not args):
        raise ValidationException(_INVALID + f"Invalid number of argument(s) for the {op} ComparisonOperator")
    path = PathRef((name,))
    types = [next(iter(a)) for a in args]
    if len(set(types)) > 1:  # IN's values too
        raise ValidationException(_INVALID + "AttributeValues inside AttributeValueList must be of same type")
    if op in ("LE", "LT", "GE", "GT", "BETWEEN", "IN", "BEGINS_WITH", "CONTAINS", "NOT_CONTAINS"):
        allowed = ("S", "B") if op == "BEGINS_WITH" else _SCALAR
        for t in types:
            if t not in allowed:
                raise ValidationException(_INVALID + f"ComparisonOperator {op} is not valid for {t} AttributeValue type")
    if op in _CMP:
        return Compare(_CMP[op], path, Literal(args[0]))
    if op == "NULL":
        return Function("attribute_not_exists", (path,))
    if op == "NOT_NULL":
        return Function("attribute_exists", (path,))
    if op == "CONTAINS":
        return Function("contains", (path, Literal(args[0])))
    if op == "NOT_CONTAINS":
        # A missing attribute does not satisfy NOT_CONTAINS.
        return And(Function("attribute_exists", (path,)), Not(Function("contains", (path, Literal(args[0])))))
    if op == "BEGINS_WITH":
        return Function("begins_with", (path, Literal(args[0])))
    if op == "IN":
        return In(path, tuple(Literal(a) for a in args))
    low, high = args
    c = compare_values(low, high)
    if c is not None and c > 0:
        raise ValidationException(
            "The BETWEEN condition was provided a range where the lower bound is greater than the upper bound"
        )
    return Between(path, Literal(low), Literal(high))


def _combine(nodes: list[Node], conditional_operator: str | None) -> Node:
    op = conditional_operator or "AND"
    if op not in ("AND", "OR"):
        raise ValidationException(
            f"1 validation error detected: Value '{op}' at 'conditionalOperator' failed to satisfy constraint: "
            "Member must satisfy enum value set: [OR, AND]"
        )
    node = nodes[0]
    for n in nodes[1:]:
        node = And(node, n) if op == "AND" else Or(node, n)
    return node


def _always_true() -> Node:
    # An empty Expected map/filter: no condition. Expressed as NOT(attribute_exists of an impossible path).
    return Not(Function("attribute_exists", (PathRef(("",)),)))


def expected(exp: dict[str, Any], conditional_operator: str | None = None) -> Condition:
    """Translate Expected (+ConditionalOperator) into a Condition."""
    nodes: list[Node] = []
    for name, spec in exp.items():
        spec = spec or {}
        op = spec.get("ComparisonOperator")
        has_value = "Value" in spec and spec["Value"] is not None
        avl = spec.get("AttributeValueList")
        exists = spec.get("Exists")
        # DynamoDB's checks, in its order (as dynalite records them)
        if has_value and avl is not None:
            raise ValidationException(
                _INVALID + "Value and AttributeValueList cannot be used together for Attribute: " + name
            )
        if op is not None:
            if exists is not None:
                raise ValidationException(
                    _INVALID + "Exists and ComparisonOperator cannot be used together for Attribute: " + name
                )
            if op not in ("NULL", "NOT_NULL") and op in _OPERATORS and avl is None and not has_value:
                raise ValidationException(
                    _INVALID + f"Value or AttributeValueList must be used with ComparisonOperator: {op} "
                    f"for Attribute: {name}"
                )
            if has_value:
                avl = [spec["Value"]]
            nodes.append(_operator_condition(name, op, avl))
            continue
        if avl is not None:
            raise ValidationException(
                _INVALID + "AttributeValueList can only be used with a ComparisonOperator for Attribute: " + name
            )
        if exists is None or exists is True:
            if not has_value:
                raise ValidationException(
                    _INVALID + "Value must be provided when Exists is " + ("null" if exists is None else "true")
                    + " for Attribute: " + name
                )
            nodes.append(Compare("=", PathRef((name,)), Literal(_check_value(spec["Value"]))))
        else:
            if has_value:
                raise ValidationException(_INVALID + "Value cannot be used when Exists is false for Attribute: " + name)
            nodes.append(Function("attribute_not_exists", (PathRef((name,)),)))
    if not nodes:
        return Condition(_always_true())
    return Condition(_combine(nodes, conditional_operator), attributes=frozenset(exp))


def query_filter(flt: dict[str, Any], conditional_operator: str | None = None, *,
                 param: str = "queryFilter") -> Condition:
    """Translate QueryFilter/ScanFilter (+ConditionalOperator) into a Condition; `param` names the
    request member in error messages."""
    nodes = []
    for name, spec in flt.items():
        spec = spec or {}  # a null Condition is one without its operator
        if spec.get("ComparisonOperator") is None:
            raise ValidationException(
                f"1 validation error detected: Value null at '{param}.{name}.member.comparisonOperator' failed to "
                "satisfy constraint: Member must not be null"
            )
        nodes.append(_operator_condition(name, spec["ComparisonOperator"], spec.get("AttributeValueList")))
    if not nodes:
        return Condition(_always_true())
    return Condition(_combine(nodes, conditional_operator), attributes=frozenset(flt))


_KEY_OPS = {"EQ": "=", "LE": "<=", "LT": "<", "GE": ">=", "GT": ">", "BEGINS_WITH": "begins_with",
            "BETWEEN": "BETWEEN"}


def key_conditions(conds: dict[str, Any], key: Any) -> KeyCondition:
    """Translate KeyConditions into a KeyCondition for a key schema (hash_name/hash_type/range_name/range_type)."""
    if not 1 <= len(conds) <= 2:
        raise ValidationException("Conditions can be of length 1 or 2 only")
    parsed: dict[str, tuple[str, tuple[dict, ...]]] = {}
    for name, spec in conds.items():
        spec = spec or {}
        op = spec.get("ComparisonOperator")
        if op is None:  # a null Condition, as one without its operator
            raise ValidationException(
                f"1 validation error detected: Value null at 'keyConditions.{name}.member.comparisonOperator' "
                "failed to satisfy constraint: Member must not be null")
        if op not in _OPERATORS:
            raise ValidationException(
                f"1 validation error detected: Value '{op}' at 'keyConditions.{name}.member.comparisonOperator' "
                f"failed to satisfy constraint: Member must satisfy enum value set: [{', '.join(_OPERATORS)}]"
            )
        args = [_check_value(a) for a in spec.get("AttributeValueList") or []]
        want = _ARGS.get(op)
        if (want is not None and len(args) != want) or (op == "IN" and not args):
            raise ValidationException(_INVALID + f"Invalid number of argument(s) for the {op} ComparisonOperator")
        if op not in _KEY_OPS:
            raise ValidationException("Attempted conditional constraint is not an indexable operation")
        parsed[name] = (_KEY_OPS[op], tuple(args))
    if key.hash_name not in parsed:
        raise ValidationException(f"Query condition missed key schema element: {key.hash_name}")
    for name in parsed:
        if name not in (key.hash_name, key.range_name):
            if key.range_name is None or key.range_name in parsed:  # as KeyConditionExpression
                raise ValidationException("Query key condition not supported")
            raise ValidationException(f"Query condition missed key schema element: {key.range_name}")
    hop, hargs = parsed[key.hash_name]
    if hop != "=":
        raise ValidationException("Query key condition not supported")
    for name, (op, key_args) in parsed.items():
        want_type = key.hash_type if name == key.hash_name else key.range_type
        for a in key_args:
            t = next(iter(a))
            if op == "begins_with" and t not in ("S", "B"):
                raise ValidationException(_INVALID + f"ComparisonOperator BEGINS_WITH is not valid for {t} AttributeValue type")
            if t != want_type:
                raise ValidationException(_INVALID + "Condition parameter type does not match schema type")
        if op == "BETWEEN":
            c = compare_values(key_args[0], key_args[1])
            if c is not None and c > 0:
                raise ValidationException(
                    "The BETWEEN condition was provided a range where the lower bound is greater than the upper bound"
                )
    if key.range_name in parsed:
        rop, rargs = parsed[key.range_name]
        return KeyCondition(hargs[0], rop, rargs, key.hash_name, key.range_name)
    return KeyCondition(hargs[0], None, (), key.hash_name, key.range_name)


def attribute_updates(updates: dict[str, Any]) -> UpdatePlan:
    """Translate AttributeUpdates (PUT/ADD/DELETE) into an UpdatePlan."""
    sets, removes, adds, deletes = [], [], [], []
    for name, spec in updates.items():
        spec = spec or {}
        action = spec.get("Action") or "PUT"
        value = spec.get("Value")
        if action not in ("PUT", "ADD", "DELETE"):
            raise ValidationException(
                f"1 validation error detected: Value '{action}' at 'attributeUpdates.{name}.member.action' failed "
                "to satisfy constraint: Member must satisfy enum value set: [ADD, PUT, DELETE]"
            )
        # the names become the item's attribute names: the same rules as a PutItem's
        if not name:
            raise ValidationException(_INVALID + "An attribute name cannot be empty")
        if len(name) > 16383 and len(name.encode()) > 65535:
            raise ValidationException(_INVALID + "Attribute name is too large, must be less than 65536 bytes")
        path = (name,)
        if value is None:
            if action != "DELETE":
                raise ValidationException(
                    _INVALID + "Only DELETE action is allowed when no attribute value is specified"
                )
            removes.append(RemoveAction(path))
            continue
        av = _check_value(value)
        t = next(iter(av))
        if action == "PUT":
            sets.append(SetAction(path, Literal(av)))
        elif action == "ADD":
            if t not in ("N", "SS", "NS", "BS", "L"):
                raise ValidationException(
                    _INVALID + f"ADD action is not supported for the type {t}"
                )
            adds.append(AddAction(path, Literal(av)))
        else:
            if t not in ("SS", "NS", "BS"):
                raise ValidationException(_INVALID + f"DELETE action with value is not supported for the type {t}")
            deletes.append(DeleteAction(path, Literal(av)))
    return UpdatePlan(UpdateTree(tuple(sets), tuple(removes), tuple(adds), tuple(deletes)), legacy=True)


def attributes_to_get(names: list[str]) -> Projection:
    """Translate AttributesToGet into a Projection of top-level paths."""
    seen = set()
    for n in names:
        if n in seen:
            raise ValidationException(_INVALID + f"Duplicate value in attribute name: {n}")
        seen.add(n)
    return Projection([(n,) for n in names])
