"""eddydb: a DynamoDB-compatible database whose change stream is part of the engine."""
from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__", "open"]


def open(path=None, **settings):
    """Open a database in-process: `eddydb.open("./data")` (durable) or `eddydb.open()` (in memory).

    Returns an `eddydb.embedded.Database` with `.client(service)`, `.resource("dynamodb")`,
    `.on_change(...)`, `.ttl_sweep()` and `.close()`.
    """
    from eddydb.embedded import Database

    return Database(path, **settings)
