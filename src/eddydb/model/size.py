"""Item size by DynamoDB's rules: the 400 KB item limit and capacity units depend on it.

Called by the engine write paths (limit check), capacity accounting and
ReturnItemCollectionMetrics.
"""
from __future__ import annotations

from decimal import Decimal

__all__ = ["item_size", "value_size"]


def _utf8_len(s: str) -> int:
    if s.isascii():
        return len(s)
    return len(s.encode("utf-8", "surrogatepass"))


def _number_size(n: str) -> int:
    # DynamoDB stores a number as an exponent byte and base-100 digit pairs aligned at the decimal
    # point ("1.2" is 01|20: two pairs; "12" one), plus a byte for a negative sign (dynalite's figure).
    if "e" in n or "E" in n:
        n = format(Decimal(n), "f")
    neg = n.startswith("-")
    whole, _, frac = n.lstrip("-").partition(".")
    whole = whole.lstrip("0")
    if whole:
        digits = (whole + frac).rstrip("0")
        exponent = len(whole) - 1
    else:
        stripped = frac.lstrip("0")
        digits = stripped.rstrip("0")
        exponent = len(stripped) - len(frac) - 1
    if not digits:
        return 1
    pairs = (len(digits) + 1) // 2
    if len(digits) % 2 == 0 and exponent % 2 == 0:
        pairs += 1
    return 1 + pairs + (1 if neg else 0)


def _binary_size(b: str) -> int:
    # Decoded length from canonical base64 without decoding.
    if not b:
        return 0
    return len(b) * 3 // 4 - b.count("=", len(b) - 2)


def value_size(av: dict) -> int:
    """Size in bytes of one attribute value (without its name)."""
    ((t, v),) = av.items()
    if t == "S":
        return _utf8_len(v)
    if t == "N":
        return _number_size(v)
    if t == "B":
        return _binary_size(v) if isinstance(v, str) else len(v)
    if t in ("BOOL", "NULL"):
        return 1
    if t == "M":
        return 3 + sum(_utf8_len(k) + value_size(sub) + 1 for k, sub in v.items())
    if t == "L":
        return 3 + sum(value_size(sub) + 1 for sub in v)
    if t == "SS":
        return sum(_utf8_len(s) for s in v)
    if t == "NS":
        return sum(_number_size(s) for s in v)
    if t == "BS":
        return sum(_binary_size(s) for s in v)
    return 0


def item_size(item: dict) -> int:
    """DynamoDB item size in bytes: per attribute, UTF-8 name length plus value size."""
    return sum(_utf8_len(name) + value_size(av) for name, av in item.items())
