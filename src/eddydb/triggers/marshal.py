"""A Python handler's return value as the response bytes, marshalled as AWS's Python runtime does
(awslambdaric's LambdaMarshaller: simplejson with allow_nan and Decimal written exactly).

Used by worker.py (loaded there by file path: standard library and orjson only) and by runtime.py
for in-process callables. orjson does the common case; the rare values it writes differently
(NaN and infinities, integers beyond 64 bits) are rewritten as raw JSON fragments.
"""
from __future__ import annotations

import decimal
import math
from typing import Any

import orjson

__all__ = ["MarshalError", "marshal_response"]

# datetimes and dataclasses reach _default, which refuses them as simplejson does
_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
_NAN, _INF, _NINF = orjson.Fragment(b"NaN"), orjson.Fragment(b"Infinity"), orjson.Fragment(b"-Infinity")


class MarshalError(Exception):
    """The result is not JSON-serialisable: the runtime's Runtime.MarshalError, with its message."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _default(o: Any) -> Any:
    if isinstance(o, decimal.Decimal):
        # AWS: RawJSON(str(d)), so 1.10 stays 1.10 and 38 digits stay exact; a NaN Decimal is NaN
        return _NAN if o.is_nan() else orjson.Fragment(str(o).encode())
    if isinstance(o, bytes):
        return o.decode("utf-8")        # simplejson's encoding="utf-8" (a nested bytes value)
    if isinstance(o, tuple) and hasattr(o, "_asdict"):
        return o._asdict()              # simplejson's namedtuple_as_object
    raise TypeError(f"Object of type {type(o).__name__} is not JSON serializable")


def _exact(o: Any) -> Any:
    """`o` with what orjson cannot write as simplejson does replaced by raw fragments."""
    t = type(o)
    if t is float:
        if math.isfinite(o):
            return o
        return _NAN if math.isnan(o) else (_INF if o > 0 else _NINF)
    if t is int:
        return o if -(1 << 63) <= o < (1 << 64) else orjson.Fragment(str(o).encode())
    if isinstance(o, dict):
        return {k: _exact(v) for k, v in o.items()}
    if isinstance(o, tuple) and hasattr(o, "_asdict"):
        return {k: _exact(v) for k, v in o._asdict().items()}
    if isinstance(o, (list, tuple)):
        return [_exact(v) for v in o]
    return o


def _encode(obj: Any) -> bytes:
    try:
        return orjson.dumps(obj, default=_default, option=_OPTIONS)
    except orjson.JSONEncodeError as e:
        # the exception _default raised carries the runtime's own message
        raise MarshalError(f"Unable to marshal response: {e.__cause__ or e}") from None


def marshal_response(result: Any) -> bytes:
    """The response body for `result`: bytes as they are (AWS sends them as application/unknown),
    anything else as JSON, with NaN/Infinity/-Infinity written out (simplejson's allow_nan).
    MarshalError (`Unable to marshal response: Object of type X is not JSON serializable`) otherwise."""
    if isinstance(result, bytes):
        return result
    try:
        out = orjson.dumps(result, default=_default, option=_OPTIONS)
    except orjson.JSONEncodeError as e:
        if e.__cause__ is not None or "64-bit" not in str(e):
            raise MarshalError(f"Unable to marshal response: {e.__cause__ or e}") from None
        return _encode(_exact(result))
    # orjson writes a non-finite float as null: only a result whose JSON has a null can hold one
    return _encode(_exact(result)) if b"null" in out else out
