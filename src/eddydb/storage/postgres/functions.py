"""PostgreSQL storage for Lambda functions: DDL and the writes of this concern (the reads are
`storage/sqlite/functions.py`'s; mixins of the read/write transactions composed by
`storage/postgres/__init__.py`). Callers: control/functions.py and triggers/runtime.py. A row
holds the configuration (orjson of the AWS FunctionConfiguration plus eddydb's private "_" keys)
and, for zip-packaged code, the zip bytes.
"""
from __future__ import annotations

from typing import Any

import orjson

from eddydb.storage.sqlite.functions import FunctionsRead as _SqliteFunctionsRead

__all__ = ["SCHEMA", "FunctionsRead", "FunctionsWrite"]

SCHEMA: list[str] = [
    """CREATE TABLE IF NOT EXISTS functions (
        name     TEXT COLLATE "C" PRIMARY KEY,
        config   BYTEA NOT NULL,
        code     BYTEA,
        created  DOUBLE PRECISION NOT NULL
    )""",
]


class FunctionsRead(_SqliteFunctionsRead):
    """Read queries: SQLite's (standard SQL; `?` placeholders are run as `%s`)."""


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
