"""SQLite storage for streams: DDL and the queries of this concern (mixins of the read/write transactions)."""
from __future__ import annotations

SCHEMA: list[str] = []


class StreamsRead:
    """Read queries; `self.conn` is the sqlite3 connection of the transaction."""


class StreamsWrite:
    """Write statements; only ever mixed into the writer transaction."""
