"""PartiQL value literals as DynamoDB attribute values: 'text' -> S, 1.5 -> N, TRUE -> BOOL,
NULL -> NULL, [..] -> L, {'k': ..} -> M, <<..>> -> SS/NS/BS; `?` parameters filled in from the
request's Parameters. Used by the parser (constant literals) and by `bind` (per request).
"""
from __future__ import annotations

from typing import Any

from eddydb.model.errors import ValidationException
from eddydb.model.values import validate_value
from eddydb.partiql.statements import Statement, Template

__all__ = ["PARAMETER_COUNT", "bind", "check_type_name", "template_value"]

PARAMETER_COUNT = "Number of parameters in request and statement don't match."
_SET_OF = {"S": "SS", "N": "NS", "B": "BS"}
_TYPE_NAMES = ("S", "SS", "N", "NS", "B", "BS", "BOOL", "NULL", "L", "M")


def check_type_name(av: dict) -> None:
    """attribute_type's second operand must name a DynamoDB data type, as in a ConditionExpression."""
    t = next(iter(av))
    if t != "S":
        raise ValidationException(
            f"Incorrect operand type for operator or function; operator or function: attribute_type, operand type: {t}")
    if av["S"] not in _TYPE_NAMES:
        raise ValidationException(f"Invalid attribute type name found; type: {av['S']}, "
                                  "valid types: { B, NULL, SS, BOOL, L, BS, N, NS, S, M }")


def template_value(tpl: Template, params: list[dict] | None) -> dict | None:
    """The attribute value of a literal (validated); None when it needs parameters and `params` is None."""
    kind = tpl.kind
    if kind == "lit":
        return tpl.data  # type: ignore[no-any-return]
    if kind == "param":
        if params is None:
            return None
        return params[tpl.data]
    if kind == "map":
        m: dict[str, dict] = {}
        for key, sub in tpl.data:
            v = template_value(sub, params)
            if v is None:
                return None
            if key in m:
                raise ValidationException(f"Duplicate key '{key}' in a tuple")
            m[key] = v
        return validate_value({"M": m})
    members = []
    for sub in tpl.data:
        v = template_value(sub, params)
        if v is None:
            return None
        members.append(v)
    if kind == "list":
        return validate_value({"L": members})
    if not members:
        return validate_value({"SS": []})  # raises DynamoDB's empty-set message
    types = {next(iter(v)) for v in members}
    if len(types) != 1 or next(iter(types)) not in _SET_OF:
        raise ValidationException("Unsupported operation: a set holds strings, numbers or binaries of one type")
    t = next(iter(types))
    return validate_value({_SET_OF[t]: [v[t] for v in members]})


def bind(stmt: Statement, params: Any) -> dict[str, dict]:
    """The values of a statement's placeholders (":pN" parameters, ":cN" collection literals).
    ValidationException when the parameter count differs or a parameter is invalid."""
    given = params or []
    if len(given) != stmt.params:
        raise ValidationException(PARAMETER_COUNT)
    values: dict[str, dict] = {}
    checked = []
    for i, av in enumerate(given):
        if type(av) is not dict:
            raise ValidationException(PARAMETER_COUNT)
        v = validate_value(av)
        checked.append(v)
        values[f":p{i}"] = v
    for name, tpl in stmt.templates:
        values[name] = template_value(tpl, checked)  # type: ignore[assignment]
    for name in stmt.type_operands:
        check_type_name(values[name])
    return values
