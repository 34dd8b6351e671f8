"""The Lambda REST operations on event source mappings (Create/Get/List/Update/Delete), in AWS's
shapes. Thin: parse the request, call `inst.mappings` (triggers.mappings.MappingManager), answer.
`ROUTES` is concatenated into control/routes.py's table; handlers are
`(inst, params, query, headers, body) -> (status, headers, body)`.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import orjson

from eddydb.model.errors import InvalidParameterValueException
from eddydb.triggers.settings import constraint_error

__all__ = ["ROUTES"]

_JSON = {"Content-Type": "application/json"}
_BASE = r"/2015-03-31/event-source-mappings"


_executor: ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()


def _off_loop(fn: Callable[[], tuple]) -> Future[tuple]:
    """Run a handler's work (it waits for a commit) off the server's event loop; the router awaits the future."""
    global _executor
    if _executor is None:
        with _executor_lock:
            if _executor is None:
                _executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="eddydb-esm-api")
    return _executor.submit(fn)


def _body(body: bytes) -> dict[str, Any]:
    if not body or not body.strip():
        return {}
    try:
        out = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise InvalidParameterValueException("Could not parse request body into json.") from None
    if not isinstance(out, dict):
        raise InvalidParameterValueException("The request body must be a JSON object.")
    return out


def _uuid(params: dict[str, str]) -> str:
    uuid = params.get("UUID", "")
    if len(uuid) != 36:   # the model's UUIDString: a request validation error, as for every model constraint
        bound = "greater than or equal to 36" if len(uuid) < 36 else "less than or equal to 36"
        raise constraint_error(uuid, "uUID", f"Member must have length {bound}")
    return uuid


def create_event_source_mapping(inst: Any, params: dict, query: dict, headers: dict, body: bytes) -> Future:
    request = _body(body)
    return _off_loop(lambda: (202, _JSON, orjson.dumps(inst.mappings.create(request))))


def get_event_source_mapping(inst: Any, params: dict, query: dict, headers: dict, body: bytes) -> tuple:
    return 200, _JSON, orjson.dumps(inst.mappings.get(_uuid(params)))


def _q(query: dict, key: str) -> str | None:
    """A query parameter's value; a repeated parameter counts once (its first value)."""
    v = query.get(key)
    if isinstance(v, list):
        v = v[0] if v else None
    return v


def list_event_source_mappings(inst: Any, params: dict, query: dict, headers: dict, body: bytes) -> tuple:
    max_items: Any = _q(query, "MaxItems")
    if max_items is not None:
        try:
            max_items = int(max_items)
        except ValueError:
            raise InvalidParameterValueException("MaxItems must be an integer.") from None
    out = inst.mappings.list(event_source_arn=_q(query, "EventSourceArn") or None,
                             function_name=_q(query, "FunctionName") or None,
                             marker=_q(query, "Marker") or None, max_items=max_items)
    return 200, _JSON, orjson.dumps(out)


def update_event_source_mapping(inst: Any, params: dict, query: dict, headers: dict, body: bytes) -> Future:
    uuid, request = _uuid(params), _body(body)
    return _off_loop(lambda: (202, _JSON, orjson.dumps(inst.mappings.update(uuid, request))))


def delete_event_source_mapping(inst: Any, params: dict, query: dict, headers: dict, body: bytes) -> Future:
    uuid = _uuid(params)
    return _off_loop(lambda: (202, _JSON, orjson.dumps(inst.mappings.delete(uuid))))


ROUTES: list[tuple[str, str, Any]] = [
    ("POST", _BASE + r"/?", create_event_source_mapping),
    ("GET", _BASE + r"/?", list_event_source_mappings),
    ("GET", _BASE + r"/(?P<UUID>[^/]+)/?", get_event_source_mapping),
    ("PUT", _BASE + r"/(?P<UUID>[^/]+)/?", update_event_source_mapping),
    ("DELETE", _BASE + r"/(?P<UUID>[^/]+)/?", delete_event_source_mapping),
]
