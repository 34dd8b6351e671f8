"""PostgreSQL storage for idempotency tokens (TransactWriteItems' ClientRequestToken): DDL and the
writes of this concern (the reads are `storage/sqlite/tokens.py`'s; mixins composed by
`storage/postgres/__init__.py`). Caller: engine/transactions.py, inside the request's own write
transaction, so every process sharing the store sees a token exactly when its transaction committed.
"""
from __future__ import annotations

from typing import Any

from eddydb.storage.sqlite.tokens import TokensRead as _SqliteTokensRead

__all__ = ["SCHEMA", "TokensRead", "TokensWrite"]

SCHEMA: list[str] = [
    """CREATE TABLE IF NOT EXISTS request_tokens (
        token        TEXT COLLATE "C" PRIMARY KEY,
        fingerprint  BYTEA NOT NULL,
        expires      DOUBLE PRECISION NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS request_tokens_expires ON request_tokens (expires)",
]


class TokensRead(_SqliteTokensRead):
    """Read queries: SQLite's (standard SQL; `?` placeholders are run as `%s`)."""


class TokensWrite:
    """Write statements; only ever mixed into the writer transaction."""

    conn: Any
    _w: Any

    def put_request_token(self, token: str, fingerprint: bytes, expires: float, now: float) -> None:
        """Binds `token` to `fingerprint` until `expires`, and forgets tokens expired at `now`."""
        self._w("DELETE FROM request_tokens WHERE expires < %s", (now,))
        self._w("INSERT INTO request_tokens (token, fingerprint, expires) VALUES (%s, %s, %s)"
                " ON CONFLICT (token) DO UPDATE SET fingerprint = EXCLUDED.fingerprint,"
                " expires = EXCLUDED.expires", (token, fingerprint, expires))
