"""Storage: the only code that knows SQL. `open_store(settings)` picks the backend from the settings
(SQLite file `<data>/eddydb.sqlite3`, a private temporary database when `data` is None).
Called by `Instance`; the engine, streams and triggers use the returned `Store`."""
from __future__ import annotations

import os

from eddydb.config import Settings
from eddydb.storage.base import ReadTxn, Store, WriteTxn

__all__ = ["STORE_URL_SCHEMES", "ReadTxn", "Store", "WriteTxn", "open_store"]

STORE_URL_SCHEMES = ("postgresql://", "postgres://")   # what --store / EDDYDB_STORE may name


def open_store(settings: Settings) -> Store:
    """Open (creating if needed) the store the settings describe."""
    if settings.store and not settings.store.startswith(STORE_URL_SCHEMES):
        raise ValueError(f"unsupported store URL {settings.store!r}: use postgresql://..., or --data DIR for SQLite")
    if settings.store:
        try:
            from eddydb.storage.postgres import open_postgres
        except ImportError as e:  # pragma: no cover - backend not built yet
            raise RuntimeError("the PostgreSQL backend is not available in this build") from e
        return open_postgres(settings)
    from eddydb.storage.sqlite import SqliteStore

    if settings.data is None:
        return SqliteStore(None, settings=settings)
    os.makedirs(settings.data, exist_ok=True)
    return SqliteStore(os.path.join(settings.data, "eddydb.sqlite3"), sync=settings.sync or "normal",
                       settings=settings)
