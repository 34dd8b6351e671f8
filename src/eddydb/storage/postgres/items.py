"""PostgreSQL storage for items: the tables catalog, id counters, items (with their TTL `expires`
column) and secondary-index entries; DDL and every query the engine needs.

Mixed into the read/write transactions of `storage.postgres.PgStore`. The reads are SQLite's
(`storage/sqlite/items.py`: the same Python and the same standard SQL); the DDL and the writes
(ON CONFLICT upserts, savepoint-aware `_w`) are PostgreSQL's own. Keys are `model.keys.encode_key` bytes in `bytea` columns: PostgreSQL compares bytea
with memcmp semantics (shorter prefix first), exactly the order the key encoding is built for.
"""
from __future__ import annotations

from typing import Any

import orjson

from eddydb.storage.sqlite.items import ItemsRead as _SqliteItemsRead

__all__ = ["SCHEMA", "ItemsRead", "ItemsWrite"]

SCHEMA: list[str] = [
    "CREATE TABLE IF NOT EXISTS tables (name TEXT COLLATE \"C\" PRIMARY KEY, table_id BIGINT NOT NULL, meta BYTEA NOT NULL)",
    "CREATE TABLE IF NOT EXISTS counters (kind TEXT COLLATE \"C\" PRIMARY KEY, value BIGINT NOT NULL)",
    ("CREATE TABLE IF NOT EXISTS items (table_id BIGINT NOT NULL, phash BIGINT NOT NULL, pk BYTEA NOT NULL,"
     " sk BYTEA NOT NULL, item BYTEA NOT NULL, expires DOUBLE PRECISION, PRIMARY KEY (table_id, phash, pk, sk))"),
    "CREATE INDEX IF NOT EXISTS items_expires ON items (table_id, expires) WHERE expires IS NOT NULL",
    ("CREATE TABLE IF NOT EXISTS index_entries (index_id BIGINT NOT NULL, phash BIGINT NOT NULL,"
     " ipk BYTEA NOT NULL, isk BYTEA NOT NULL, pk BYTEA NOT NULL, sk BYTEA NOT NULL, item BYTEA NOT NULL,"
     " PRIMARY KEY (index_id, phash, ipk, isk, pk, sk))"),
]

_PUT = ("INSERT INTO items (table_id, phash, pk, sk, item, expires) VALUES (%s,%s,%s,%s,%s,%s)"
        " ON CONFLICT (table_id, phash, pk, sk) DO UPDATE SET item = EXCLUDED.item, expires = EXCLUDED.expires")
_INSERT = ("INSERT INTO items (table_id, phash, pk, sk, item, expires) VALUES (%s,%s,%s,%s,%s,%s)"
           " ON CONFLICT (table_id, phash, pk, sk) DO NOTHING")
_DEL = "DELETE FROM items WHERE table_id=%s AND phash=%s AND pk=%s AND sk=%s"


class ItemsRead(_SqliteItemsRead):
    """Read queries: SQLite's, unchanged (standard SQL; `?` placeholders are run as `%s` by the
    PostgreSQL connections). Kept as its own class so a query can be specialised here."""


class ItemsWrite:
    """Write statements; only ever mixed into the writer transaction. `self._w(sql, args)` runs a
    writing statement (opening the function's savepoint first when one is pending)."""

    conn: Any
    _w: Any

    def next_id(self, kind: str) -> int:
        value = self._w(
            "INSERT INTO counters (kind, value) VALUES (%s, 1) ON CONFLICT (kind) DO UPDATE"
            " SET value = counters.value + 1 RETURNING value", (kind,)).fetchone()[0]
        if kind == "catalog":
            self._catalog = value  # type: ignore[attr-defined]
        return value

    def save_table(self, name: str, table_id: int, meta: dict) -> None:
        self._w("INSERT INTO tables (name, table_id, meta) VALUES (%s,%s,%s) ON CONFLICT (name)"
                " DO UPDATE SET table_id = EXCLUDED.table_id, meta = EXCLUDED.meta",
                (name, table_id, orjson.dumps(meta)))

    def delete_table(self, name: str) -> None:
        self._w("DELETE FROM tables WHERE name=%s", (name,))

    def put_item(self, table_id: int, phash: int, pk: bytes, sk: bytes, item: bytes,
                 expires: float | None) -> None:
        self._w(_PUT, (table_id, phash, pk, sk, item, expires))

    def insert_item_if_absent(self, table_id: int, phash: int, pk: bytes, sk: bytes, item: bytes,
                              expires: float | None) -> bool:
        return self._w(_INSERT, (table_id, phash, pk, sk, item, expires)).rowcount == 1

    def delete_item(self, table_id: int, phash: int, pk: bytes, sk: bytes) -> None:
        self._w(_DEL, (table_id, phash, pk, sk))

    def set_expires(self, table_id: int, phash: int, pk: bytes, sk: bytes, expires: float | None) -> None:
        self._w("UPDATE items SET expires=%s WHERE table_id=%s AND phash=%s AND pk=%s AND sk=%s",
                (expires, table_id, phash, pk, sk))

    def drop_table_items(self, table_id: int) -> None:
        self._w("DELETE FROM items WHERE table_id=%s", (table_id,))

    def put_index_entry(self, index_id: int, phash: int, ipk: bytes, isk: bytes, pk: bytes, sk: bytes,
                        item: bytes) -> None:
        self._w("INSERT INTO index_entries (index_id, phash, ipk, isk, pk, sk, item) VALUES (%s,%s,%s,%s,%s,%s,%s)"
                " ON CONFLICT (index_id, phash, ipk, isk, pk, sk) DO UPDATE SET item = EXCLUDED.item",
                (index_id, phash, ipk, isk, pk, sk, item))

    def delete_index_entry(self, index_id: int, phash: int, ipk: bytes, isk: bytes, pk: bytes,
                           sk: bytes) -> None:
        self._w("DELETE FROM index_entries WHERE index_id=%s AND phash=%s AND ipk=%s AND isk=%s"
                " AND pk=%s AND sk=%s", (index_id, phash, ipk, isk, pk, sk))

    def drop_index(self, index_id: int) -> None:
        self._w("DELETE FROM index_entries WHERE index_id=%s", (index_id,))
