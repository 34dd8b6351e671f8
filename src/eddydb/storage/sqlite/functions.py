"""SQLite storage for functions: DDL and the queries of this concern (mixins of the read/write transactions)."""
from __future__ import annotations

SCHEMA: list[str] = []


class FunctionsRead:
    """Read queries; `self.conn` is the sqlite3 connection of the transaction."""


class FunctionsWrite:
    """Write statements; only ever mixed into the writer transaction."""
