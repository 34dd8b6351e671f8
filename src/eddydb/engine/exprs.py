"""The expression functions the data plane calls, resolved once from `eddydb.expressions`
(its package exports, or its submodules while the package `__init__` does not export them yet).

Used by engine/items.py, engine/reads.py and api/items.py so they do not care where each
function lives inside the expressions package.
"""
from __future__ import annotations

import importlib
from typing import Any

__all__ = ["fn"]

_WHERE = {
    "parse_condition": "parser",
    "parse_update": "parser",
    "parse_projection": "parser",
    "parse_key_condition": "parser",
    "evaluate": "evaluate",
    "project": "evaluate",
    "apply_update": "update",
    "compile_request": "request",
}
_CACHE: dict[str, Any] = {}


def fn(name: str) -> Any:
    """The expressions function `name` (ImportError naming it when the package lacks it)."""
    f = _CACHE.get(name)
    if f is not None:
        return f
    pkg = importlib.import_module("eddydb.expressions")
    f = getattr(pkg, name, None)
    if f is None:
        for modname in (_WHERE.get(name), "legacy"):
            if modname is None:
                continue
            try:
                mod = importlib.import_module(f"eddydb.expressions.{modname}")
            except ImportError:
                continue
            f = getattr(mod, name, None)
            if f is not None:
                break
    if f is None:
        raise ImportError(f"eddydb.expressions has no {name}")
    _CACHE[name] = f
    return f
