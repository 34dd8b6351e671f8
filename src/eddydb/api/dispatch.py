"""The JSON 1.0 dispatch table: `X-Amz-Target` ("DynamoDB_20120810.PutItem",
"DynamoDBStreams_20120810.GetRecords") -> the operation handler of api/items, api/tables,
api/batch, api/partiql or api/streams, and every outcome -> (HTTP status, JSON body bytes).

Called by server/router.py (so by the HTTP server and the embedded boto3 clients alike). This is
the one place where errors become wire bodies: `EddyError` -> its status and
`{"__type", "message", **extra}`; anything else -> 500 InternalServerError with the traceback
logged. Handlers return a dict, raw JSON bytes, or a `concurrent.futures.Future` of either
(writes); `dispatch` hands such a future back untouched and `complete(future)` turns it into
(status, body) once it is done, so the caller decides how to wait.
"""
from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

import orjson

from eddydb.model.errors import (
    EddyError,
    InternalServerError,
    SerializationException,
    UnknownOperationException,
)

__all__ = ["DYNAMODB_PREFIX", "STREAMS_PREFIX", "Handler", "complete", "dispatch", "error_response", "handlers",
           "prepare"]

log = logging.getLogger("eddydb.api")

DYNAMODB_PREFIX = "DynamoDB_20120810"
STREAMS_PREFIX = "DynamoDBStreams_20120810"
_STREAMS_OP = STREAMS_PREFIX + "."
_DDB_NAMESPACE = "com.amazonaws.dynamodb.v20120810#"

Handler = Callable[[Any, dict], "dict | bytes | Future"]

# (target prefix, module) pairs whose OPERATIONS make up the table.
_MODULES: tuple[tuple[str, str], ...] = (
    (DYNAMODB_PREFIX, "eddydb.api.tables"),
    (DYNAMODB_PREFIX, "eddydb.api.items"),
    (DYNAMODB_PREFIX, "eddydb.api.batch"),
    (DYNAMODB_PREFIX, "eddydb.api.partiql"),
    (STREAMS_PREFIX, "eddydb.api.streams"),
)

_TARGETS: dict[str, Handler] | None = None
_CHECKS: dict[str, Callable[[dict], None]] = {}   # target -> request-shape check (api/shapes.py), built on first use
_FutureType = Future


def handlers() -> dict[str, Handler]:
    """The full target -> handler table, built on first use."""
    global _TARGETS
    if _TARGETS is None:
        table: dict[str, Handler] = {}
        for prefix, modname in _MODULES:
            mod = importlib.import_module(modname)
            for op, fn in mod.OPERATIONS.items():
                table[f"{prefix}.{op}"] = fn
        _TARGETS = table
    return _TARGETS


def error_response(err: EddyError, target: str | None = None) -> tuple[int, bytes]:
    """(status, JSON body) of an error; `target` is the X-Amz-Target it answers, if known."""
    body = err.body()
    if target is not None and target.startswith(_STREAMS_OP):
        # The Streams API names every error, validation ones included, in the DynamoDB namespace
        # (shared/reference/streams-and-triggers.md, "Protocol"); the data plane keeps coral's.
        body["__type"] = _DDB_NAMESPACE + err.code
    return err.status, orjson.dumps(body)


def _internal(exc: BaseException, target: str) -> tuple[int, bytes]:
    log.error("internal error in %s", target, exc_info=exc)
    return error_response(InternalServerError("Internal server error"))


def _encode(out: Any) -> tuple[int, bytes]:
    if type(out) is bytes:
        return 200, out
    return 200, orjson.dumps(out)


def dispatch(inst: Any, target: str | None, body: bytes) -> tuple[int, bytes] | Future:
    """Run the operation named by `target` on the JSON request `body`.

    Returns (status, body bytes), or the handler's Future (pass it to `complete` once done).
    """
    table = _TARGETS if _TARGETS is not None else handlers()
    handler = table.get(target) if target else None
    if handler is None:
        return error_response(_unknown(target))
    try:
        request = orjson.loads(body) if body else None
    except orjson.JSONDecodeError:
        return error_response(SerializationException("Could not parse the request body as JSON"), target)
    if type(request) is not dict:
        if request is None and not body:
            request = {}
        else:
            return error_response(SerializationException("Start of structure or map found where not expected."),
                                  target)
    try:
        check = _CHECKS.get(target)  # type: ignore[arg-type]  # a handler was found: target is a str
        if check is None:
            check = _CHECKS[target] = _shape_check(target)  # type: ignore[index,arg-type]
        check(request)
        out = handler(inst, request)
    except EddyError as e:
        if type(e) is not SerializationException:
            e = _serialization_first(target, request, e)  # type: ignore[arg-type]  # target found a handler
        return error_response(e, target)
    except Exception as e:  # noqa: BLE001 - a bug must answer 500, not kill the connection
        return _internal(e, target or "")
    if type(out) is bytes:
        return 200, out
    if type(out) is dict:
        return 200, orjson.dumps(out)
    if isinstance(out, _FutureType):
        return out
    return _encode(out)


def _serialization_first(target: str, request: dict, err: EddyError) -> EddyError:
    """A request DynamoDB cannot deserialize (an attribute value's member of the wrong JSON type, bad
    base64) fails with that SerializationException, whatever else is wrong with it or its table:
    the handlers validate one value at a time, so ask about all of them before answering `err`."""
    from eddydb.api.shapes import check_attribute_values

    try:
        check_attribute_values(target, request)
    except SerializationException as e:
        return e
    return err


def prepare() -> None:
    """Build every operation's handler and request check now (loading botocore's service models
    takes ~150 ms): a server calls this at start, so no client's first request pays for it."""
    for target in handlers():
        if target not in _CHECKS:
            _CHECKS[target] = _shape_check(target)


def _shape_check(target: str) -> Callable[[dict], None]:
    from eddydb.api.shapes import validator

    return validator(target)


def complete(future: Future, target: str = "") -> tuple[int, bytes]:
    """(status, body) of a finished handler Future (its exception becomes the error body)."""
    try:
        out = future.result()
        while isinstance(out, _FutureType):  # tolerate a handler that chained one more step
            out = out.result()
    except EddyError as e:
        return error_response(e)
    except Exception as e:  # noqa: BLE001
        return _internal(e, target)
    return _encode(out)


def _unknown(target: str | None) -> UnknownOperationException:
    # DynamoDB answers a missing, blank or unknown X-Amz-Target alike.
    return UnknownOperationException("An unknown operation was requested.")
