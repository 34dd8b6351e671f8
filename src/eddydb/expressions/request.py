"""All expressions of one request, checked together.

`compile_request(request, key=...)` is what an api handler calls once per request:
it rejects mixing legacy and expression parameters, checks the
ExpressionAttributeNames/Values maps, parses every expression (cached) or
translates the legacy parameters, and finally reports names/values no expression
used (`check_usage`: usage counts across ALL expressions of the request).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eddydb.expressions import legacy
from eddydb.expressions.parser import parse_condition, parse_key_condition, parse_projection, parse_update
from eddydb.expressions.tree import Condition, KeyCondition, Projection, UpdatePlan
from eddydb.model.errors import EddyError, SerializationException, ValidationException
from eddydb.model.values import validate_value

__all__ = ["Compiled", "check_attribute_maps", "check_usage", "compile_request"]

# In the order DynamoDB lists them in its "Can not use both ..." message (Query: {AttributesToGet,
# QueryFilter, ConditionalOperator, KeyConditions} and {ProjectionExpression, FilterExpression,
# KeyConditionExpression}; UpdateItem: {AttributeUpdates, Expected} and {UpdateExpression,
# ConditionExpression}, as dynalite records them).
_EXPRESSION_PARAMS = ("ProjectionExpression", "UpdateExpression", "ConditionExpression", "FilterExpression",
                      "KeyConditionExpression")
_LEGACY_PARAMS = ("AttributesToGet", "AttributeUpdates", "Expected", "QueryFilter", "ScanFilter",
                  "ConditionalOperator", "KeyConditions")


@dataclass(slots=True)
class Compiled:
    """The parsed expressions of one request (None where the request has none)."""

    condition: Condition | None = None       # ConditionExpression / Expected
    filter: Condition | None = None          # FilterExpression / QueryFilter / ScanFilter
    key_condition: KeyCondition | None = None  # KeyConditionExpression / KeyConditions
    update: UpdatePlan | None = None         # UpdateExpression / AttributeUpdates
    projection: Projection | None = None     # ProjectionExpression / AttributesToGet


_KEY_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")


def _is_key(key: Any, prefix: str) -> bool:
    # ASCII letters, digits and '_' only, as the expression tokenizer reads #names and :values
    # (str.isalnum would let "#é" through as a key no expression could ever use)
    return isinstance(key, str) and len(key) > 1 and key[0] == prefix and _KEY_CHARS.issuperset(key[1:])


def check_attribute_maps(names: dict[str, str] | None, values: dict[str, Any] | None,
                         *, has_name_expressions: bool = True, has_value_expressions: bool = True,
                         value_expression_params: tuple[str, ...] = ()) -> None:
    """Validate the ExpressionAttributeNames/Values maps themselves (emptiness, key syntax).

    `has_*_expressions` say whether the request carries any expression that may use
    them; `value_expression_params` names the expression parameters that could
    (for DynamoDB's "... is null" message).
    """
    if names is not None:
        if not has_name_expressions:
            raise ValidationException("ExpressionAttributeNames can only be specified when using expressions")
        if not names:
            raise ValidationException("ExpressionAttributeNames must not be empty")
        for k, v in names.items():
            if not _is_key(k, "#"):
                raise ValidationException(f'ExpressionAttributeNames contains invalid key: Syntax error; key: "{k}"')
            if not v:
                raise ValidationException(f"ExpressionAttributeNames contains invalid value: Empty attribute name "
                                          f"for key {k}")
            if isinstance(v, str) and len(v) > 16383 and len(v.encode()) > 65535:
                raise ValidationException("ExpressionAttributeNames contains invalid value: Attribute name is too "
                                          f"large, must be less than 65536 bytes for key {k}")
    if values is not None:
        if not has_value_expressions:
            msg = "ExpressionAttributeValues can only be specified when using expressions"
            if value_expression_params:
                params = value_expression_params
                joined = params[0] if len(params) == 1 else " and ".join(params)
                msg += f": {joined} {'is' if len(params) == 1 else 'are'} null"
            raise ValidationException(msg)
        if not values:
            raise ValidationException("ExpressionAttributeValues must not be empty")
        for k in values:
            if not _is_key(k, ":"):
                raise ValidationException(f'ExpressionAttributeValues contains invalid key: Syntax error; key: "{k}"')
        # every value, used or not, before any expression is parsed
        for k, av in values.items():
            try:
                validate_value(av)
            except SerializationException:  # bad base64 is a request-parsing error, wherever the value sits
                raise
            except EddyError as e:
                raise ValidationException(
                    f"ExpressionAttributeValues contains invalid value: {e.message} for key {k}") from None


def check_usage(names: dict[str, str] | None, values: dict[str, Any] | None, *parsed: Any) -> None:
    """Raise if a name or value of the request is used by none of its parsed expressions.

    `parsed` are the request's Condition/UpdatePlan/KeyCondition/Projection objects
    (None entries are ignored); each carries `names_used` / `values_used`.
    """
    if names:
        used: set[str] = set()
        for p in parsed:
            if p is not None:
                used |= p.names_used
        unused = [k for k in names if k not in used]
        if unused:
            raise ValidationException(
                "Value provided in ExpressionAttributeNames unused in expressions: keys: {" + ", ".join(unused) + "}"
            )
    if values:
        usedv: set[str] = set()
        for p in parsed:
            if p is not None:
                usedv |= p.values_used
        unusedv = [k for k in values if k not in usedv]
        if unusedv:
            raise ValidationException(
                "Value provided in ExpressionAttributeValues unused in expressions: keys: {" + ", ".join(unusedv) + "}"
            )


def compile_request(request: dict[str, Any], *, key: Any = None, operation: str = "") -> Compiled:
    """Parse/translate every expression parameter of a request, with DynamoDB's cross-checks.

    `key` is the KeySchema (of the table or the queried index) for a Query; without it
    a KeyConditionExpression/KeyConditions is rejected. `operation` ("PutItem",
    "UpdateItem", "DeleteItem", "GetItem", "Query", "Scan", "TransactPutItem"... for the
    actions of a transaction) only refines messages.
    """
    own = _MEMBERS.get(operation)
    if own is not None and not own.issuperset(k for k in request if k in _ALL_PARAMS):
        # a member the operation's input shape lacks (AttributeUpdates on a PutItem, an
        # UpdateExpression on a GetItem): DynamoDB's deserializer ignores it, as any unknown member
        request = {k: v for k, v in request.items() if k in own or k not in _ALL_PARAMS}
    expr_present = [p for p in _EXPRESSION_PARAMS if request.get(p) is not None]
    legacy_present = [p for p in _LEGACY_PARAMS if request.get(p) is not None]
    # A Query's KeyConditions go with a FilterExpression/ProjectionExpression (DynamoDB objects to
    # them only beside a KeyConditionExpression)
    legacy_keys = (expr_present and "KeyConditions" in legacy_present
                   and request.get("KeyConditionExpression") is None)
    if legacy_keys:
        legacy_present.remove("KeyConditions")
    if expr_present and legacy_present:
        raise ValidationException(
            "Can not use both expression and non-expression parameters in the same request: "
            "Non-expression parameters: {" + ", ".join(legacy_present) + "} "
            "Expression parameters: {" + ", ".join(expr_present) + "}"
        )
    names = request.get("ExpressionAttributeNames")
    values = request.get("ExpressionAttributeValues")
    value_params = _VALUE_PARAMS.get(operation.removeprefix("Transact"), ())
    try:
        check_attribute_maps(
            names, values,
            has_name_expressions=bool(expr_present),
            has_value_expressions=any(p != "ProjectionExpression" for p in expr_present),
            value_expression_params=value_params,
        )
    except ValidationException as e:
        if operation in _CORAL_EMPTY_VALUES and e.message == "ExpressionAttributeValues must not be empty":
            raise ValidationException(_CORAL + e.message) from None
        raise
    out = Compiled()
    if expr_present:
        if request.get("KeyConditionExpression") is not None:
            if key is None:
                raise ValidationException("KeyConditionExpression is only valid for Query")
            out.key_condition = parse_key_condition(request["KeyConditionExpression"], names, values, key)
        elif legacy_keys:
            if key is None:
                raise ValidationException("KeyConditions is only valid for Query")
            out.key_condition = legacy.key_conditions(request["KeyConditions"], key)
        if request.get("UpdateExpression") is not None:
            try:
                out.update = parse_update(request["UpdateExpression"], names, values)
            except ValidationException as e:
                if operation == "UpdateItem" and e.message == _EMPTY_UPDATE:
                    raise ValidationException(_CORAL + e.message) from None
                raise
        if request.get("ConditionExpression") is not None:
            out.condition = parse_condition(request["ConditionExpression"], names, values)
        if request.get("FilterExpression") is not None:
            out.filter = parse_condition(request["FilterExpression"], names, values, kind="FilterExpression")
        if request.get("ProjectionExpression") is not None:
            out.projection = parse_projection(request["ProjectionExpression"], names)
        try:
            check_usage(names, values, out.key_condition, out.update, out.condition, out.filter, out.projection)
        except ValidationException as e:
            if operation in _CORAL_UNUSED:
                raise ValidationException(_CORAL + e.message) from None
            raise
        return out
    op = request.get("ConditionalOperator")
    if request.get("Expected") is not None:
        out.condition = legacy.expected(request["Expected"], op)
    if request.get("QueryFilter") is not None:
        out.filter = legacy.query_filter(request["QueryFilter"], op)
    if request.get("ScanFilter") is not None:
        out.filter = legacy.query_filter(request["ScanFilter"], op, param="scanFilter")
    if request.get("KeyConditions") is not None:
        if key is None:
            raise ValidationException("KeyConditions is only valid for Query")
        out.key_condition = legacy.key_conditions(request["KeyConditions"], key)
    if request.get("AttributeUpdates") is not None:
        out.update = legacy.attribute_updates(request["AttributeUpdates"])
    if request.get("AttributesToGet") is not None:
        out.projection = legacy.attributes_to_get(request["AttributesToGet"])
    return out


# The expression members of each operation's input shape (botocore's service model).
_ALL_PARAMS = frozenset(_EXPRESSION_PARAMS + _LEGACY_PARAMS + ("ExpressionAttributeNames", "ExpressionAttributeValues"))
_NAMES_VALUES = ("ExpressionAttributeNames", "ExpressionAttributeValues")
_PUT_DELETE = frozenset(("ConditionExpression", "Expected", "ConditionalOperator") + _NAMES_VALUES)
_MEMBERS: dict[str, frozenset[str]] = {
    "GetItem": frozenset(("ProjectionExpression", "AttributesToGet", "ExpressionAttributeNames")),
    "PutItem": _PUT_DELETE,
    "DeleteItem": _PUT_DELETE,
    "UpdateItem": _PUT_DELETE | {"UpdateExpression", "AttributeUpdates"},
    "Query": frozenset(("KeyConditionExpression", "FilterExpression", "ProjectionExpression", "KeyConditions",
                        "QueryFilter", "AttributesToGet", "ConditionalOperator") + _NAMES_VALUES),
    "Scan": frozenset(("FilterExpression", "ProjectionExpression", "ScanFilter", "AttributesToGet",
                       "ConditionalOperator") + _NAMES_VALUES),
}

# DynamoDB reports these as a one-error coral report ("1 validation error detected: ...") for some
# operations and not for others, TransactWriteItems' actions ("TransactPutItem"...) among them; moto
# records the same inconsistency.
_CORAL = "1 validation error detected: "
_CORAL_UNUSED = frozenset({"PutItem", "UpdateItem", "DeleteItem"})
_CORAL_EMPTY_VALUES = frozenset({"PutItem", "UpdateItem", "DeleteItem", "Query", "Scan"})
_EMPTY_UPDATE = "Invalid UpdateExpression: The expression can not be empty;"  # the same on UpdateItem

_VALUE_PARAMS = {
    "PutItem": ("ConditionExpression",),
    "DeleteItem": ("ConditionExpression",),
    "UpdateItem": ("UpdateExpression", "ConditionExpression"),
    "Query": ("KeyConditionExpression", "FilterExpression"),
    "Scan": ("FilterExpression",),
}
