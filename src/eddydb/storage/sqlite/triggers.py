"""SQLite storage for triggers: DDL and the queries of this concern (mixins of the read/write transactions)."""
from __future__ import annotations

SCHEMA: list[str] = []


class TriggersRead:
    """Read queries; `self.conn` is the sqlite3 connection of the transaction."""


class TriggersWrite:
    """Write statements; only ever mixed into the writer transaction."""
