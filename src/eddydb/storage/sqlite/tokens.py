"""SQLite storage for idempotency tokens: TransactWriteItems' ClientRequestToken bound to a
fingerprint of its request until an expiry time (mixins of the read/write transactions composed
by storage/sqlite/__init__.py).

Caller: engine/transactions.py, inside the write transaction of the request itself, so a token is
recorded exactly when its transaction commits: a retry after a crash, or on another process sharing
the store, finds it and changes nothing.
"""
from __future__ import annotations

from typing import Any

__all__ = ["SCHEMA", "TokensRead", "TokensWrite"]

SCHEMA: list[str] = [
    """CREATE TABLE IF NOT EXISTS request_tokens (
        token        TEXT PRIMARY KEY,
        fingerprint  BLOB NOT NULL,
        expires      REAL NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS request_tokens_expires ON request_tokens (expires)",
]


class TokensRead:
    """Read queries; `self.conn` is the connection of the transaction."""

    conn: Any

    def get_request_token(self, token: str) -> tuple[bytes, float] | None:
        """(request fingerprint, expiry time) recorded for `token`, or None."""
        row = self.conn.execute("SELECT fingerprint, expires FROM request_tokens WHERE token = ?",
                                (token,)).fetchone()
        return None if row is None else (bytes(row[0]), float(row[1]))


class TokensWrite:
    """Write statements; only ever mixed into the writer transaction."""

    conn: Any

    def put_request_token(self, token: str, fingerprint: bytes, expires: float, now: float) -> None:
        """Binds `token` to `fingerprint` until `expires`, and forgets tokens expired at `now`."""
        self.conn.execute("DELETE FROM request_tokens WHERE expires < ?", (now,))
        self.conn.execute("INSERT INTO request_tokens (token, fingerprint, expires) VALUES (?, ?, ?)"
                          " ON CONFLICT (token) DO UPDATE SET fingerprint = excluded.fingerprint,"
                          " expires = excluded.expires", (token, fingerprint, expires))
