"""PostgreSQL storage for Lambda functions: DDL and the queries of this concern (the port of
`storage/sqlite/functions.py`; mixins of the read/write transactions composed by
`storage/postgres/__init__.py`). Callers: control/functions.py and triggers/runtime.py. A row
holds the configuration (orjson of the AWS FunctionConfiguration plus eddydb's private "_" keys)
and, for zip-packaged code, the zip bytes.
"""
from __future__ import annotations

from typing import Any

import orjson

__all__ = ["SCHEMA", "FunctionsRead", "FunctionsWrite"]

SCHEMA: list[str] = [
    """CREATE TABLE IF NOT EXISTS functions (
        name     TEXT COLLATE "C" PRIMARY KEY,
        config   BYTEA NOT NULL,
        code     BYTEA,
        created  DOUBLE PRECISION NOT NULL
    )""",
]


class FunctionsRead:
    """Read queries; `self.conn` is the psycopg connection of the transaction."""

    conn: Any

    def get_function(self, name: str) -> dict[str, Any] | None:
        """The stored configuration of function `name`, or None."""
        row = self.conn.execute("SELECT config FROM functions WHERE name = %s", (name,)).fetchone()
        return None if row is None else orjson.loads(row[0])

    def get_function_code(self, name: str) -> bytes | None:
        """The zip bytes of function `name` (None when absent or when its code is a local directory)."""
        row = self.conn.execute("SELECT code FROM functions WHERE name = %s", (name,)).fetchone()
        return None if row is None or row[0] is None else bytes(row[0])

    def list_functions(self, after: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
        """Configurations in name order, strictly after `after`, at most `limit`."""
        if after is None:
            cur = self.conn.execute("SELECT config FROM functions ORDER BY name LIMIT %s", (limit,))
        else:
            cur = self.conn.execute("SELECT config FROM functions WHERE name > %s ORDER BY name LIMIT %s",
                                    (after, limit))
        return [orjson.loads(r[0]) for r in cur.fetchall()]


class FunctionsWrite:
    """Write statements; only ever mixed into the writer transaction."""

    conn: Any
    _w: Any

    def insert_function(self, name: str, config: dict[str, Any], code: bytes | None, created: float) -> bool:
        """Adds a function; False (and no change) when one of that name exists."""
        cur = self._w("INSERT INTO functions (name, config, code, created) VALUES (%s, %s, %s, %s)"
                      " ON CONFLICT (name) DO NOTHING", (name, orjson.dumps(config), code, created))
        return cur.rowcount == 1

    def update_function(self, name: str, config: dict[str, Any], code: bytes | None = None,
                        *, replace_code: bool = False) -> bool:
        """Replaces the configuration (and the code when `replace_code`); False when absent."""
        if replace_code:
            cur = self._w("UPDATE functions SET config = %s, code = %s WHERE name = %s",
                          (orjson.dumps(config), code, name))
        else:
            cur = self._w("UPDATE functions SET config = %s WHERE name = %s", (orjson.dumps(config), name))
        return cur.rowcount == 1

    def delete_function(self, name: str) -> bool:
        """Removes a function; False when absent."""
        return self._w("DELETE FROM functions WHERE name = %s", (name,)).rowcount == 1
