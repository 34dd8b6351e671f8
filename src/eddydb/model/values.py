"""Attribute values: validation, number normalisation, value equality and ordering.

Every item entering eddydb passes `validate_item` (called by the api/engine write
paths), so everything downstream may assume canonical wire-format values: numbers
as canonical decimal text, binary as canonical base64 text. Expressions, keys and
streams use `values_equal` / `compare_values` / `to_decimal` from here.
"""
from __future__ import annotations

import base64
import binascii
import decimal
import re
from functools import lru_cache
from typing import Any

from eddydb.model.errors import SerializationException, ValidationException

__all__ = [
    "MAX_DEPTH",
    "START_MAP",
    "TYPES",
    "check_serialization",
    "compare_values",
    "decimal_to_number",
    "json_boolean",
    "json_number_kind",
    "normalize_binary",
    "normalize_number",
    "not_a_string",
    "to_decimal",
    "validate_item",
    "validate_value",
    "value_type",
    "values_equal",
]

TYPES = frozenset(("S", "N", "B", "SS", "NS", "BS", "M", "L", "NULL", "BOOL"))
MAX_DEPTH = 32
_MAX_DIGITS = 38
_MAX_ADJ_EXP = 125   # 9.99..E+125 is the largest magnitude
_MIN_ADJ_EXP = -130  # 1E-130 is the smallest non-zero magnitude

# ASCII digits only: str patterns' \d would let other scripts' digits through as number text.
_NUMBER_RE = re.compile(r"([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?", re.ASCII)
_SIMPLE_INT_RE = re.compile(r"-?[1-9]\d{0,36}|0", re.ASCII)

_INVALID_PARAMS = "One or more parameter values were invalid: "
_EMPTY_SET = {
    "SS": _INVALID_PARAMS + "An string set  may not be empty",
    "NS": _INVALID_PARAMS + "An number set  may not be empty",
    "BS": _INVALID_PARAMS + "Binary sets should not be empty",
}

# Enough precision for exact arithmetic on any two DynamoDB numbers' sum/difference
# (38 digits at exponents 125 and -130 would need ~260; we round to 38 afterwards).
DECIMAL_CONTEXT = decimal.Context(prec=300, Emax=999999, Emin=-999999, traps=[decimal.InvalidOperation])


# DynamoDB's JSON deserializer (Jackson) rejects a member of the wrong JSON type before any validation,
# with the same messages for an AttributeValue's members as for every other member (api/shapes.py
# calls these for its string and boolean members).
START_MAP = "Start of structure or map found where not expected"
_FIELD_TYPE = "Unexpected field type"


def json_number_kind(v: float) -> str:
    return "NUMBER_VALUE" if type(v) is int or v.is_integer() else "DECIMAL_VALUE"


def not_a_string(v: Any) -> SerializationException:
    """The error for a JSON value that is not a string where a string is expected (S, N, SS/NS members)."""
    if type(v) is bool:
        return SerializationException(f"{'TRUE' if v else 'FALSE'}_VALUE cannot be converted to String")
    if type(v) is int or type(v) is float:
        return SerializationException(f"{json_number_kind(v)} cannot be converted to String")
    if type(v) is list:
        return SerializationException("Unrecognized collection type class java.lang.String")
    if type(v) is dict:
        return SerializationException(START_MAP)
    return SerializationException("Unexpected value type in payload")


def json_boolean(v: Any) -> bool:
    """A BOOL/NULL member as a boolean; the deserializer also accepts the text true/false, 1/0, yes/no."""
    if type(v) is bool:
        return v
    if type(v) is str:
        up = v.upper()
        if up in ("TRUE", "1", "YES"):
            return True
        if up in ("FALSE", "0", "NO"):
            return False
        raise SerializationException("Unexpected token received from parser")
    if type(v) is int or type(v) is float:
        raise SerializationException(f"{json_number_kind(v)} cannot be converted to Boolean")
    if type(v) is list:
        raise SerializationException("Unrecognized collection type class java.lang.Boolean")
    raise SerializationException(START_MAP if type(v) is dict else "Unexpected value type in payload")


def _not_a_list(v: Any) -> SerializationException:
    return SerializationException(START_MAP if type(v) is dict else _FIELD_TYPE)


def _invalid_number(text: str) -> ValidationException:
    # DynamoDB names the text it could not read (dynalite and moto record the same message; an
    # empty text has no ": " part)
    if not text:
        return ValidationException("The parameter cannot be converted to a numeric value")
    return ValidationException(f"The parameter cannot be converted to a numeric value: {text}")


def _split_number(text: str) -> tuple[bool, str, int]:
    """Parse number text into (negative, significant digits without leading/trailing zeros, exponent).

    The value is `(-1 if negative) * int(digits) * 10**exponent`; digits == "" means zero.
    """
    m = _NUMBER_RE.fullmatch(text)
    if m is None:
        raise _invalid_number(text)
    sign, ipart, fpart, exp = m.groups()
    fpart = fpart or ""
    if not ipart and not fpart:
        raise _invalid_number(text)
    digits = ipart + fpart
    if exp and len(exp) > 12:  # absurd exponent: keep int() cheap, the range check still fires
        exp = exp[0] + "9" * 12 if exp[0] in "+-" else "9" * 12
    exponent = (int(exp) if exp else 0) - len(fpart)
    stripped = digits.lstrip("0")
    if not stripped:
        return False, "", 0
    trimmed = stripped.rstrip("0")
    exponent += len(stripped) - len(trimmed)
    return sign == "-", trimmed, exponent


def _format(negative: bool, digits: str, exponent: int) -> str:
    """Plain (non-scientific) canonical text of a split number."""
    if not digits:
        return "0"
    if exponent >= 0:
        body = digits + "0" * exponent
    else:
        point = len(digits) + exponent
        if point > 0:
            body = digits[:point] + "." + digits[point:]
        else:
            body = "0." + "0" * (-point) + digits
    return "-" + body if negative else body


def _check_range(digits: str, exponent: int) -> None:
    # the magnitude before the digits, as dynalite records DynamoDB's order
    adjusted = exponent + len(digits) - 1
    if adjusted > _MAX_ADJ_EXP:
        raise ValidationException(
            "Number overflow. Attempting to store a number with magnitude larger than supported range"
        )
    if adjusted < _MIN_ADJ_EXP:
        raise ValidationException(
            "Number underflow. Attempting to store a number with magnitude smaller than supported range"
        )
    if len(digits) > _MAX_DIGITS:
        raise ValidationException("Attempting to store more than 38 significant digits in a Number")


@lru_cache(maxsize=65536)
def _normalize_cached(text: str) -> str:
    negative, digits, exponent = _split_number(text)
    if not digits:
        return "0"
    _check_range(digits, exponent)
    return _format(negative, digits, exponent)


def normalize_number(text: str) -> str:
    """Canonical text of a DynamoDB number (equal numbers give equal strings).

    Raises ValidationException for unparsable text, more than 38 significant digits,
    or a magnitude outside 1E-130 .. 9.99..E+125.
    """
    if type(text) is not str:
        raise SerializationException("NUMBER_VALUE cannot be converted to String")
    if _SIMPLE_INT_RE.fullmatch(text):
        return text
    if len(text) > 1000:  # cannot be a valid DynamoDB number in any sane spelling; avoid caching junk
        negative, digits, exponent = _split_number(text)
        if not digits:
            return "0"
        _check_range(digits, exponent)
        return _format(negative, digits, exponent)
    return _normalize_cached(text)


def to_decimal(n: str) -> decimal.Decimal:
    """The exact Decimal value of (already validated) number text."""
    return decimal.Decimal(n)


def decimal_to_number(d: decimal.Decimal) -> str:
    """Canonical number text of a Decimal result of arithmetic, with DynamoDB's range checks.

    Results needing more than 38 significant digits are rounded like DynamoDB does
    only when the extra digits are zeros; otherwise the digits error is raised.
    """
    if not d.is_finite():
        raise _invalid_number(str(d))
    sign, digit_tuple, exponent = d.as_tuple()
    assert isinstance(exponent, int)
    digits = "".join(map(str, digit_tuple)).lstrip("0")
    if not digits:
        return "0"
    trimmed = digits.rstrip("0")
    exponent += len(digits) - len(trimmed)
    if exponent + len(trimmed) - 1 > _MAX_ADJ_EXP:  # an arithmetic result: report the overflow first
        raise ValidationException(
            "Number overflow. Attempting to store a number with magnitude larger than supported range"
        )
    _check_range(trimmed, exponent)
    return _format(bool(sign), trimmed, exponent)


def normalize_binary(value: Any) -> str:
    """Validate base64 text (canonical: padded, standard alphabet, no stray bits) and return it."""
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode("ascii")
    if type(value) is not str:
        if type(value) is list:
            raise SerializationException("Unrecognized collection type class java.nio.ByteBuffer")
        raise SerializationException(START_MAP if type(value) is dict
                                     else "only base-64-encoded strings are convertible to bytes")
    if len(value) % 4:
        raise SerializationException(
            f"Base64 encoded length is expected a multiple of 4 bytes but found: {len(value)}"
        )
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raw = None
    # DynamoDB's decoder takes only canonical base64: a last character with stray low bits ("YR==")
    # fails like a character outside the alphabet (the message, typo included, as dynalite records it)
    if raw is None or base64.b64encode(raw).decode("ascii") != value:
        raise SerializationException("Invalid last non-pad Base64 character dectected")
    return value


def value_type(av: Any) -> str:
    """The single type key of an attribute value (validating the shape only). A member set to JSON
    null is an absent member, as everywhere in a request."""
    if not isinstance(av, dict) and av is not None:  # a list member or map value of the wrong JSON type
        raise SerializationException("Unrecognized collection type class com.amazonaws.dynamodb.v20120810."
                                     "AttributeValue" if type(av) is list else "Unexpected value type in payload")
    if not av:
        raise ValidationException(
            "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes"
        )
    if len(av) > 1 or None in av.values():
        known = [k for k, v in av.items() if k in TYPES and v is not None]
        if len(known) > 1:
            raise ValidationException(
                "Supplied AttributeValue has more than one datatypes set, "
                "must contain exactly one of the supported datatypes"
            )
        if not known:
            raise ValidationException(
                "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes"
            )
        return known[0]
    (t,) = av
    if t not in TYPES:
        raise ValidationException(
            "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes"
        )
    return t


def _dup_error(members: list[str]) -> ValidationException:
    """A string set's duplicates (number and binary sets word theirs apart, see `_validate`)."""
    return ValidationException(
        _INVALID_PARAMS + "Input collection [" + ", ".join(members) + "] contains duplicates."
    )


def _validate(av: Any, depth: int) -> dict:
    try:
        t = value_type(av)
    except ValidationException as e:
        if e.message.startswith("Supplied AttributeValue has more than one"):
            # DynamoDB validates each datatype's content before it objects to there being several
            # (dynalite's order): {"S": "a", "N": "b"} is the number error
            for k, sub in av.items():
                if k in TYPES and sub is not None:
                    _validate({k: sub}, depth)
        raise
    v = av[t]
    if t == "S":
        if type(v) is not str:
            raise not_a_string(v)
        return av if len(av) == 1 else {"S": v}
    if t == "N":
        if type(v) is not str:
            raise not_a_string(v)
        n = normalize_number(v)
        return av if (n is v and len(av) == 1) else {"N": n}
    if t == "B":
        b = normalize_binary(v)
        return av if (b is v and len(av) == 1) else {"B": b}
    if t == "BOOL":
        flag = json_boolean(v)
        return av if (flag is v and len(av) == 1) else {"BOOL": flag}
    if t == "NULL":
        if json_boolean(v) is not True:
            raise ValidationException(_INVALID_PARAMS + "Null attribute value types must have the value of true")
        return av if (v is True and len(av) == 1) else {"NULL": True}
    if t == "M":
        if type(v) is not dict:
            if type(v) is list:
                raise SerializationException("Unrecognized collection type java.util.Map<java.lang.String, "
                                             "com.amazonaws.dynamodb.v20120810.AttributeValue>")
            raise SerializationException(_FIELD_TYPE)
        if depth >= MAX_DEPTH:
            raise ValidationException("Nesting Levels have exceeded supported limits")
        out_m = {}
        changed = len(av) != 1
        for k, sub in v.items():
            nsub = _validate(sub, depth + 1)
            changed = changed or nsub is not sub
            out_m[k] = nsub
        return {"M": out_m} if changed else av
    if t == "L":
        if type(v) is not list:
            raise _not_a_list(v)
        if depth >= MAX_DEPTH:
            raise ValidationException("Nesting Levels have exceeded supported limits")
        out_l = []
        changed = len(av) != 1
        for sub in v:
            nsub = _validate(sub, depth + 1)
            changed = changed or nsub is not sub
            out_l.append(nsub)
        return {"L": out_l} if changed else av
    # sets
    if type(v) is not list:
        raise _not_a_list(v)
    if not v:
        raise ValidationException(_EMPTY_SET[t])
    if t == "SS":
        for s in v:
            if type(s) is not str:
                raise not_a_string(s)
        if len(set(v)) != len(v):
            raise _dup_error(v)
        return av if len(av) == 1 else {"SS": v}
    if t == "NS":
        members = []
        for s in v:
            if type(s) is not str:
                raise not_a_string(s)
            members.append(normalize_number(s))
        if len(set(members)) != len(members):  # equal numbers ("1", "1.0") are duplicates
            # DynamoDB words a number set's duplicates apart from the other sets' (dynalite records it)
            raise ValidationException("Input collection contains duplicates")
        changed = len(av) != 1 or any(a is not b for a, b in zip(members, v))
        return {"NS": members} if changed else av
    members = [normalize_binary(s) for s in v]
    if len(set(members)) != len(members):
        # "...]of type BS contains duplicates.", without a space, as dynalite records it
        raise ValidationException(_INVALID_PARAMS + "Input collection [" + ", ".join(members)
                                  + "]of type BS contains duplicates.")
    changed = len(av) != 1 or any(a is not b for a, b in zip(members, v))
    return {"BS": members} if changed else av


def check_serialization(av: Any) -> None:
    """Raise the SerializationException DynamoDB's deserializer would for an attribute value (a
    member of the wrong JSON type, bad base64), ignoring what only validation rejects: the whole
    request is deserialized before any of it is validated, so such an error anywhere in it comes
    first (api/dispatch.py asks when a request failed validation). Iterative: no depth limit."""
    stack = [av]
    while stack:
        cur = stack.pop()
        if cur is None:
            continue
        if type(cur) is not dict:
            value_type(cur)  # the list-member / map-value message
            continue
        for t, v in cur.items():
            if v is None or t not in TYPES:
                continue
            if t in ("S", "N"):
                if type(v) is not str:
                    raise not_a_string(v)
            elif t == "B":
                normalize_binary(v)
            elif t in ("BOOL", "NULL"):
                json_boolean(v)
            elif t == "M":
                if type(v) is not dict:
                    _validate({t: v}, 0)  # its message
                stack.extend(reversed(list(v.values())))
            elif t == "L":
                if type(v) is not list:
                    raise _not_a_list(v)
                stack.extend(reversed(v))
            else:
                if type(v) is not list:
                    raise _not_a_list(v)
                for x in v:
                    if t == "BS":
                        normalize_binary(x)
                    elif type(x) is not str:
                        raise not_a_string(x)


def validate_value(av: dict) -> dict:
    """Validate one attribute value; return it normalised (the same object when already canonical)."""
    return _validate(av, 0)


def _check_name(name: str) -> None:
    if not name:
        raise ValidationException("One or more parameter values were invalid: An attribute name cannot be empty")
    if len(name.encode()) > 65535:
        raise ValidationException("One or more parameter values were invalid: Attribute name is too large, "
                                  "must be less than 65536 bytes")


def validate_item(item: dict, *, what: str = "item") -> dict:
    """Validate every attribute of an item; return a normalised copy (or the item itself if canonical)."""
    if not isinstance(item, dict):
        raise SerializationException("Unexpected value type in payload")
    out = {}
    changed = False
    for name, av in item.items():
        if not name or len(name) > 16383:  # attribute names are 1 byte .. 64 KB
            _check_name(name)
        # fast path for the common canonical scalars ({"S": str}, {"N": canonical str}, {"BOOL": bool})
        if type(av) is dict and len(av) == 1:
            v = av.get("S")
            if type(v) is str:
                out[name] = av
                continue
            v = av.get("N")
            if type(v) is str:
                if normalize_number(v) is v:
                    out[name] = av
                    continue
            elif type(av.get("BOOL")) is bool:
                out[name] = av
                continue
        nav = _validate(av, 0)
        changed = changed or nav is not av
        out[name] = nav
    return out if changed else item


# --- equality and ordering ------------------------------------------------

def _num_eq(a: str, b: str) -> bool:
    return a == b or to_decimal(a) == to_decimal(b)


def values_equal(a: dict, b: dict) -> bool:
    """Equality by value: sets unordered, maps key-order-free, numbers by numeric value."""
    if a == b:
        return True
    if len(a) != 1 or len(b) != 1:
        return False
    ((ta, va),) = a.items()
    ((tb, vb),) = b.items()
    if ta != tb:
        return False
    if ta == "N":
        try:
            return _num_eq(va, vb)
        except decimal.InvalidOperation:
            return False
    if ta == "B":
        return base64.b64decode(va) == base64.b64decode(vb)
    if ta == "SS":
        return len(va) == len(vb) and set(va) == set(vb)
    if ta == "NS":
        return len(va) == len(vb) and {to_decimal(x) for x in va} == {to_decimal(x) for x in vb}
    if ta == "BS":
        return len(va) == len(vb) and {base64.b64decode(x) for x in va} == {base64.b64decode(x) for x in vb}
    if ta == "M":
        if va.keys() != vb.keys():
            return False
        return all(values_equal(va[k], vb[k]) for k in va)
    if ta == "L":
        return len(va) == len(vb) and all(values_equal(x, y) for x, y in zip(va, vb))
    return False


def compare_values(a: dict, b: dict) -> int | None:
    """-1/0/1 comparing two scalars of the same type (S by UTF-8 bytes, N numerically, B by bytes).

    None when the types differ or are not S/N/B: DynamoDB comparisons are then simply false.
    """
    if len(a) != 1 or len(b) != 1:
        return None
    ((ta, va),) = a.items()
    ((tb, vb),) = b.items()
    if ta != tb:
        return None
    if ta == "S":
        # Code-point order of str equals UTF-8 byte order.
        return (va > vb) - (va < vb)
    if ta == "N":
        if va == vb:
            return 0
        da, db = to_decimal(va), to_decimal(vb)
        return (da > db) - (da < db)
    if ta == "B":
        ba, bb = base64.b64decode(va), base64.b64decode(vb)
        return (ba > bb) - (ba < bb)
    return None
