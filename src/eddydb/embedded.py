"""`eddydb.open()`: a database inside the calling process, used through real boto3 clients.

`Database.client("dynamodb")` is an ordinary boto3 client whose requests never reach a socket:
a botocore `before-send` hook hands each prepared request to server/router.py (the same router
the HTTP server uses) and turns the answer into a botocore response, so application code and
its tests use the boto3 API unchanged. Writes wait on the engine's Future in the calling thread.
`on_change` and `ttl_sweep` reach the trigger mappings and the TTL sweeper directly.
"""
from __future__ import annotations

import io
import itertools
import os
import threading
import zlib
from collections.abc import Callable
from typing import Any, Self
from urllib.parse import urlsplit

from eddydb.config import Settings

__all__ = ["ENDPOINT", "Database"]

ENDPOINT = "http://eddydb.embedded"
_SERVICES = {"dynamodb", "dynamodbstreams", "lambda"}

_session_lock = threading.Lock()
_session: Any = None
_rid = itertools.count(1)
_RID_PREFIX = f"{os.urandom(4).hex()}-{os.urandom(2).hex()}-4{os.urandom(2).hex()[1:]}-{os.urandom(2).hex()}-"


def _boto_session() -> Any:
    """One boto3 session per process: loading service models is the slow part of making a client."""
    global _session
    with _session_lock:
        if _session is None:
            import boto3

            _session = boto3.session.Session(aws_access_key_id="eddydb", aws_secret_access_key="eddydb")
        return _session


class _RawBody(io.BytesIO):
    """What botocore reads an HTTP response body from (`.stream()` and `.read()`)."""

    def stream(self, **_kw: Any):
        data = self.read()
        while data:
            yield data
            data = self.read()


class Database:
    """One eddydb database opened in-process (what `eddydb.open(path)` returns).

    path=None keeps everything in memory. Keyword settings are config.Settings fields
    (region, stream_retention, ttl_interval, ...). Use as a context manager or call close().
    """

    def __init__(self, path: str | os.PathLike | None = None, *, background: bool = True, **settings: Any) -> None:
        from eddydb.instance import Instance

        unknown = set(settings) - set(Settings.__dataclass_fields__)
        if unknown:
            raise TypeError(f"unknown eddydb setting(s): {', '.join(sorted(unknown))}")
        self.settings = Settings(**settings)
        self.settings.data = os.fspath(path) if path is not None else None
        if self.settings.store:
            self.settings.data = None
        self.instance = Instance(self.settings)
        self._closed = False
        if background:
            self.instance.start_background()

    # --- boto3 -----------------------------------------------------------------------------
    def client(self, service_name: str = "dynamodb", **kwargs: Any) -> Any:
        """A real boto3 client ("dynamodb", "dynamodbstreams" or "lambda") wired to this database."""
        if service_name not in _SERVICES:
            raise ValueError(f"eddydb serves {sorted(_SERVICES)}, not {service_name!r}")
        kwargs = self._client_kwargs(kwargs)
        session = _boto_session()
        with _session_lock:
            client = session.client(service_name, **kwargs)
        client.meta.events.register_first("before-send", self._before_send)
        return client

    def resource(self, service_name: str = "dynamodb", **kwargs: Any) -> Any:
        """A boto3 resource (`.Table(name)` ...) wired to this database."""
        if service_name != "dynamodb":
            raise ValueError("boto3 only has a resource API for dynamodb")
        kwargs = self._client_kwargs(kwargs)
        session = _boto_session()
        with _session_lock:
            resource = session.resource(service_name, **kwargs)
        resource.meta.client.meta.events.register_first("before-send", self._before_send)
        return resource

    def _client_kwargs(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        from botocore import UNSIGNED
        from botocore.config import Config

        if self._closed:
            raise RuntimeError("this eddydb database is closed")
        kwargs = dict(kwargs)
        kwargs.setdefault("region_name", self.settings.region)
        kwargs["endpoint_url"] = ENDPOINT
        # Nothing verifies signatures in-process: skip SigV4 (and any credential lookup).
        base = Config(signature_version=UNSIGNED)
        user = kwargs.get("config")
        kwargs["config"] = base.merge(user) if user is not None else base
        return kwargs

    def _before_send(self, request: Any, **_kw: Any) -> Any:
        from botocore.awsrequest import AWSResponse

        from eddydb.server.router import Deferred, route

        if self._closed:
            raise RuntimeError("this eddydb database is closed")
        parts = urlsplit(request.url)
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        headers: dict[str, str] = {}
        for k, v in request.headers.items():
            headers[k.lower()] = v.decode("latin-1") if isinstance(v, bytes) else v
        body = request.body
        if body is None:
            body = b""
        elif isinstance(body, str):
            body = body.encode("utf-8")
        elif not isinstance(body, (bytes, bytearray)):
            body = body.read() if hasattr(body, "read") else bytes(body)
            if isinstance(body, str):
                body = body.encode("utf-8")
        res = route(self.instance, request.method, path, headers, bytes(body), trusted=True)
        if isinstance(res, Deferred):
            if not res.future.done() and self.instance.engine.writer.in_writer_thread():
                raise RuntimeError("an eddydb client was called from inside a write (commit listener?): "
                                   "it would wait for itself")
            res = res.finish()
        status, rheaders, rbody = res
        out_headers = dict(rheaders)
        if not out_headers.get("x-amzn-RequestId"):     # a route may name it (Invoke: the invocation's id)
            out_headers["x-amzn-RequestId"] = f"{_RID_PREFIX}{next(_rid):012x}"
        out_headers["x-amz-crc32"] = str(zlib.crc32(rbody))
        out_headers["Content-Length"] = str(len(rbody))
        return AWSResponse(request.url, status, out_headers, _RawBody(rbody))

    # --- triggers and TTL ------------------------------------------------------------------
    def on_change(self, table: str, fn: Callable[..., Any] | None = None, **mapping_params: Any) -> Any:
        """Run `fn(event)` on every batch of stream records of `table` (Lambda event shape,
        event source mapping semantics: batching, retries, filters via mapping_params).

        Also a decorator: `@db.on_change("orders", batch_size=10)`. Returns what the mapping
        manager returns for a registration (the mapping), or the decorated function.
        """
        if fn is None:
            def decorator(f: Callable[..., Any]) -> Callable[..., Any]:
                self.instance.mappings.on_change(table, f, **mapping_params)
                return f

            return decorator
        return self.instance.mappings.on_change(table, fn, **mapping_params)

    def ttl_sweep(self, table: str | None = None, now: float | None = None) -> int:
        """Delete expired items now (of one table or all; `now` overrides the clock); returns how
        many were deleted, once their deletes (and stream records) are committed."""
        from eddydb.engine.ttl import sweep

        return int(sweep(self.instance.engine, table, now) or 0)

    # --- lifecycle --------------------------------------------------------------------------
    def close(self) -> None:
        """Stop background work, flush and close the store. Idempotent."""
        if self._closed:
            return
        self._closed = True
        self.instance.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        where = self.settings.store or self.settings.data or ":memory:"
        return f"<eddydb.Database {where}{' closed' if self._closed else ''}>"
