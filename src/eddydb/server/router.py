"""Transport-free request routing: (method, path, headers, body) -> (status, headers, body).

The HTTP server (server/http.py) and the embedded boto3 clients (embedded.py) both call
`route`; neither knows where an operation lives. POST / with X-Amz-Target goes to
api.dispatch (DynamoDB and DynamoDB Streams, JSON 1.0); the Lambda REST paths go to
control.routes.ROUTES; GET / is the health check. A write answers a `Deferred` (wrapping the
engine's Future) instead of a tuple: the caller waits its own way, then calls `.finish()`.
Headers are a mapping with lower-case names; the response headers exclude the per-response
ones (request id, crc32, length) which the transport adds.
"""
from __future__ import annotations

import gzip
import logging
import re
import zlib
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from typing import Any
from urllib.parse import parse_qsl, unquote

import orjson

from eddydb import __version__
from eddydb.api import dispatch as _dispatch
from eddydb.model.errors import EddyError, MissingAuthenticationTokenException, SerializationException

__all__ = [
    "AMZ_JSON",
    "JSON",
    "MAX_BODY",
    "TEXT",
    "Deferred",
    "Response",
    "route",
    "routes",
]

log = logging.getLogger("eddydb.server")

# Response header dicts are shared constants: the server recognises them by identity and
# writes precomputed bytes for them.
AMZ_JSON: dict[str, str] = {"Content-Type": "application/x-amz-json-1.0"}
JSON: dict[str, str] = {"Content-Type": "application/json"}
TEXT: dict[str, str] = {"Content-Type": "text/plain; charset=utf-8"}

MAX_BODY = 16 << 20  # DynamoDB's request size limit; bodies (also after gunzip) above it are refused

Response = tuple[int, Mapping[str, str], bytes]

_MISSING_AUTH = _dispatch.error_response(MissingAuthenticationTokenException("Request is missing Authentication Token"))
_HEALTH_BODY = orjson.dumps({"status": "ok", "service": "eddydb", "version": __version__})


class Deferred:
    """A response still being computed on another thread (the writer)."""

    __slots__ = ("_finish", "future")

    def __init__(self, future: Future, finish: Callable[[Future], Response]) -> None:
        self.future = future
        self._finish = finish

    def finish(self) -> Response:
        """The response; blocks until the future is done (the server only calls it when it is)."""
        return self._finish(self.future)


def _dynamo_finish(future: Future) -> Response:
    status, body = _dispatch.complete(future)
    return status, AMZ_JSON, body


# --- Lambda REST routes (control/routes.py) ---------------------------------------------------
_ROUTES: list[tuple[str, re.Pattern[str], Callable[..., Any]]] | None = None


def routes() -> list[tuple[str, re.Pattern[str], Callable[..., Any]]]:
    """control.routes.ROUTES with compiled patterns."""
    global _ROUTES
    if _ROUTES is None:
        from eddydb.control.routes import ROUTES

        compiled = []
        for method, pattern, handler in ROUTES:
            rx = pattern if isinstance(pattern, re.Pattern) else re.compile(pattern)
            compiled.append((method.upper(), rx, handler))
        _ROUTES = compiled
    return _ROUTES


def _lambda_error(err: EddyError) -> Response:
    body: dict[str, Any] = {"Type": "User" if err.status < 500 else "Service", "Message": err.message}
    body.update(err.extra)
    return err.status, {"Content-Type": "application/json", "x-amzn-ErrorType": err.code}, orjson.dumps(body)


def _lambda_internal(exc: BaseException, path: str) -> Response:
    log.error("internal error in %s", path, exc_info=exc)
    return 500, {"Content-Type": "application/json", "x-amzn-ErrorType": "ServiceException"}, orjson.dumps(
        {"Type": "Service", "Message": "Internal server error"})


def _control_result(out: Any, path: str) -> Response | Deferred:
    if isinstance(out, Future):
        return Deferred(out, lambda f: _control_finish(f, path))
    status, headers, body = out
    if body is None:
        body = b""
    elif not isinstance(body, bytes):
        body = orjson.dumps(body)
    if not headers:
        headers = JSON
    elif not any(k.lower() == "content-type" for k in headers):
        headers = {"Content-Type": "application/json", **headers}
    return status, headers, body


def _control_finish(future: Future, path: str) -> Response:
    try:
        out = future.result()
    except EddyError as e:
        return _lambda_error(e)
    except Exception as e:  # noqa: BLE001
        return _lambda_internal(e, path)
    res = _control_result(out, path)
    if isinstance(res, Deferred):
        return res.finish()
    return res


def _query(query: str) -> dict[str, Any]:
    """Query string -> dict; a repeated key (UntagResource's tagKeys=a&tagKeys=b) gives a list."""
    out: dict[str, Any] = {}
    for k, v in parse_qsl(query, keep_blank_values=True):
        if k in out:
            prev = out[k]
            out[k] = [*prev, v] if isinstance(prev, list) else [prev, v]
        else:
            out[k] = v
    return out


def _not_found(method: str, path: str) -> Response:
    return 404, {"Content-Type": "application/json", "x-amzn-ErrorType": "UnknownOperationException"}, orjson.dumps(
        {"message": f"No route for {method} {path}"})


def _route_control(inst: Any, method: str, path: str, query: str, headers: Mapping[str, str],
                   body: bytes) -> Response | Deferred:
    matched_path = False
    for m, rx, handler in routes():
        match = rx.fullmatch(path)
        if match is None:
            continue
        matched_path = True
        if m != method:
            continue
        params = {k: unquote(v) for k, v in match.groupdict().items() if v is not None}
        q = _query(query) if query else {}
        try:
            out = handler(inst, params, q, headers, body)
        except EddyError as e:
            return _lambda_error(e)
        except Exception as e:  # noqa: BLE001
            return _lambda_internal(e, path)
        return _control_result(out, path)
    if matched_path:
        return 405, {"Content-Type": "application/json", "x-amzn-ErrorType": "MethodNotAllowedException"}, \
            orjson.dumps({"message": f"Method {method} not allowed on {path}"})
    return _not_found(method, path)


# --- request bodies ---------------------------------------------------------------------------
def decode_body(headers: Mapping[str, str], body: bytes) -> bytes:
    """Undo Content-Encoding (gzip/deflate); SerializationException if it does not decode."""
    enc = headers.get("content-encoding")
    if not enc or enc == "identity":
        return body
    out = body
    for e in reversed([x.strip().lower() for x in enc.split(",") if x.strip()]):
        try:
            if e in ("gzip", "x-gzip"):
                d = zlib.decompressobj(16 + zlib.MAX_WBITS)
                out = d.decompress(out, MAX_BODY + 1)
            elif e == "deflate":
                d = zlib.decompressobj()
                out = d.decompress(out, MAX_BODY + 1)
            elif e in ("identity", "aws-chunked"):
                continue
            else:
                raise SerializationException(f"Unsupported Content-Encoding: {e}")
        except (zlib.error, gzip.BadGzipFile, EOFError) as exc:
            raise SerializationException(f"Could not decode the {e} request body: {exc}") from None
        if len(out) > MAX_BODY:
            raise SerializationException("Request body too large")
    return out


# --- the router -------------------------------------------------------------------------------
def _health(headers: Mapping[str, str]) -> Response:
    """DynamoDB answers GET / with `healthy: <host>`; ask for JSON to get status and version."""
    if "application/json" in headers.get("accept", ""):
        return 200, JSON, _HEALTH_BODY
    return 200, TEXT, b"healthy: " + headers.get("host", "localhost").encode("latin-1")


def route(inst: Any, method: str, path: str, headers: Mapping[str, str], body: bytes, *,
          trusted: bool = False) -> Response | Deferred:
    """Route one request. `path` may carry a query string; `headers` have lower-case names.

    Like DynamoDB, a JSON 1.0 request must carry a signature (any credentials are accepted, none
    is verified) unless `trusted` (the embedded client, which does not sign).
    """
    if path == "/" or path.startswith("/?"):
        if method == "POST":
            if not trusted and "authorization" not in headers and "X-Amz-Signature=" not in path:
                return _MISSING_AUTH[0], AMZ_JSON, _MISSING_AUTH[1]
            target = headers.get("x-amz-target")
            if "content-encoding" in headers:
                try:
                    body = decode_body(headers, body)
                except EddyError as e:
                    status, ebody = _dispatch.error_response(e)
                    return status, AMZ_JSON, ebody
            out = _dispatch.dispatch(inst, target, body)
            if isinstance(out, tuple):
                return out[0], AMZ_JSON, out[1]
            return Deferred(out, _dynamo_finish)
        if method in ("GET", "HEAD"):
            return _health(headers)
        return _not_found(method, path)
    path, _, query = path.partition("?")
    if "content-encoding" in headers:
        try:
            body = decode_body(headers, body)
        except EddyError as e:
            return _lambda_error(e)
    return _route_control(inst, method, path, query, headers, body)
