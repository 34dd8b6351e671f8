"""The Lambda REST routes: `ROUTES`, every (method, path regex, handler) of the control plane.

server/router.py matches each request that is not DynamoDB's `POST /` against this list
(the HTTP server and the embedded boto3 clients share it). A handler is
`(inst, params, query, headers, body) -> (status, headers, body_bytes) | Future` of that
tuple; the `EddyError`s it raises become Lambda REST-JSON errors in the router. Functions
come from control/functions.py, event source mappings from control/mappings.py.
"""
from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from eddydb.control.functions import ROUTES as _FUNCTION_ROUTES

__all__ = ["ROUTES", "Route"]

Route = tuple[str, "re.Pattern[str] | str", Callable[..., Any]]


def _mapping_routes() -> list[Route]:
    # Event source mappings are built beside the functions; a build without them still serves functions.
    try:
        from eddydb.control.mappings import ROUTES as mapping_routes
    except ImportError as e:
        logging.getLogger("eddydb.control").warning("event source mapping routes unavailable: %s", e)
        return []
    return list(mapping_routes)


ROUTES: list[Route] = [*_FUNCTION_ROUTES, *_mapping_routes()]
