"""eddydb: a DynamoDB-compatible database whose change stream is part of the engine.

`eddydb.open()` opens a database in-process (embedded.py); `eddydb serve` runs the server
(cli/main.py, server/). Everything else lives in the packages described in docs/architecture.md.
"""
from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from eddydb.embedded import Database

__version__ = "0.1.0"

__all__ = ["__version__", "open"]


def open(path: str | os.PathLike[str] | None = None, **settings: Any) -> Database:
    """Open a database in-process: `eddydb.open("./data")` (durable) or `eddydb.open()` (in memory).

    Keyword settings are config.Settings fields (region, ttl_interval, stream_retention, ...).
    Returns an `eddydb.embedded.Database` with `.client(service)`, `.resource("dynamodb")`,
    `.on_change(...)`, `.ttl_sweep()` and `.close()`; it is also a context manager.
    """
    from eddydb.embedded import Database

    return Database(path, **settings)
