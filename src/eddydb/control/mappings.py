"""The Lambda REST operations on event source mappings (Create/Get/List/Update/Delete), in AWS's
shapes. Thin: parse the request, call `inst.mappings` (triggers.mappings.MappingManager), answer.
`ROUTES` is concatenated into control/routes.py's table; handlers are
`(inst, params, query, headers, body) -> (status, headers, body)`.
"""
from __future__ import annotations

from typing import Any

import orjson

from eddydb.model.errors import InvalidParameterValueException

__all__ = ["ROUTES"]

_JSON = {"Content-Type": "application/json"}
_BASE = r"/2015-03-31/event-source-mappings"


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
    if len(uuid) != 36:
        raise InvalidParameterValueException(
            f"1 validation error detected: Value '{uuid}' at 'uUID' failed to satisfy constraint: "
            "Member must have length greater than or equal to 36")
    return uuid


def create_event_source_mapping(inst: Any, params: dict, query: dict, headers: dict, body: bytes) -> tuple:
    return 202, _JSON, orjson.dumps(inst.mappings.create(_body(body)))


def get_event_source_mapping(inst: Any, params: dict, query: dict, headers: dict, body: bytes) -> tuple:
    return 200, _JSON, orjson.dumps(inst.mappings.get(_uuid(params)))


def list_event_source_mappings(inst: Any, params: dict, query: dict, headers: dict, body: bytes) -> tuple:
    max_items = query.get("MaxItems")
    if max_items is not None:
        try:
            max_items = int(max_items)
        except ValueError:
            raise InvalidParameterValueException("MaxItems must be an integer.") from None
    out = inst.mappings.list(event_source_arn=query.get("EventSourceArn") or None,
                             function_name=query.get("FunctionName") or None,
                             marker=query.get("Marker") or None, max_items=max_items)
    return 200, _JSON, orjson.dumps(out)


def update_event_source_mapping(inst: Any, params: dict, query: dict, headers: dict, body: bytes) -> tuple:
    return 202, _JSON, orjson.dumps(inst.mappings.update(_uuid(params), _body(body)))


def delete_event_source_mapping(inst: Any, params: dict, query: dict, headers: dict, body: bytes) -> tuple:
    return 202, _JSON, orjson.dumps(inst.mappings.delete(_uuid(params)))


ROUTES: list[tuple[str, str, Any]] = [
    ("POST", _BASE + r"/?", create_event_source_mapping),
    ("GET", _BASE + r"/?", list_event_source_mappings),
    ("GET", _BASE + r"/(?P<UUID>[^/]+)/?", get_event_source_mapping),
    ("PUT", _BASE + r"/(?P<UUID>[^/]+)/?", update_event_source_mapping),
    ("DELETE", _BASE + r"/(?P<UUID>[^/]+)/?", delete_event_source_mapping),
]
