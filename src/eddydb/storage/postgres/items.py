"""PostgreSQL storage for items: the tables catalog, id counters, items (with their TTL `expires`
column) and secondary-index entries; DDL and every query the engine needs.

Mixed into the read/write transactions of `storage.postgres.PgStore` (the port of
`storage/sqlite/items.py`, method for method); `self.conn` is the transaction's psycopg
connection. Keys are `model.keys.encode_key` bytes in `bytea` columns: PostgreSQL compares bytea
with memcmp semantics (shorter prefix first), exactly the order the key encoding is built for.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson

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

_GET = "SELECT item FROM items WHERE table_id=%s AND phash=%s AND pk=%s AND sk=%s"
_PUT = ("INSERT INTO items (table_id, phash, pk, sk, item, expires) VALUES (%s,%s,%s,%s,%s,%s)"
        " ON CONFLICT (table_id, phash, pk, sk) DO UPDATE SET item = EXCLUDED.item, expires = EXCLUDED.expires")
_DEL = "DELETE FROM items WHERE table_id=%s AND phash=%s AND pk=%s AND sk=%s"
_SQL_CACHE: dict[tuple, str] = {}


def _range_sql(base: str, col: str, lo: bool, lo_incl: bool, hi: bool, hi_incl: bool,
               after: str | None, order: str, limit: bool) -> str:
    parts = [base]
    if lo:
        parts.append(f" AND {col} >{'=' if lo_incl else ''} %s")
    if hi:
        parts.append(f" AND {col} <{'=' if hi_incl else ''} %s")
    if after:
        parts.append(after)
    parts.append(order)
    if limit:
        parts.append(" LIMIT %s")
    return "".join(parts)


class ItemsRead:
    """Read queries; `self.conn` is the psycopg connection of the transaction."""

    conn: Any

    # --- catalog ---------------------------------------------------------------------
    def load_tables(self) -> list[dict]:
        return [orjson.loads(m) for (m,) in self.conn.execute("SELECT meta FROM tables ORDER BY name")]

    def catalog_version(self) -> int:
        """Bumped (`next_id("catalog")`) by every table metadata change: lets the processes sharing
        the database notice that their table cache is stale."""
        row = self.conn.execute("SELECT value FROM counters WHERE kind='catalog'").fetchone()
        return 0 if row is None else row[0]

    def load_table(self, name: str) -> dict | None:
        row = self.conn.execute("SELECT meta FROM tables WHERE name=%s", (name,)).fetchone()
        return None if row is None else orjson.loads(row[0])

    # --- items -----------------------------------------------------------------------
    def get_item(self, table_id: int, phash: int, pk: bytes, sk: bytes) -> bytes | None:
        row = self.conn.execute(_GET, (table_id, phash, pk, sk)).fetchone()
        return None if row is None else row[0]

    def query_items(self, table_id: int, phash: int, pk: bytes, lo: bytes | None, lo_incl: bool,
                    hi: bytes | None, hi_incl: bool, forward: bool, limit: int | None) -> Iterator[tuple]:
        shape = ("q", lo is not None, lo_incl, hi is not None, hi_incl, forward, limit is not None)
        sql = _SQL_CACHE.get(shape)
        if sql is None:
            sql = _SQL_CACHE[shape] = _range_sql(
                "SELECT phash, pk, sk, item FROM items WHERE table_id=%s AND phash=%s AND pk=%s", "sk",
                shape[1], lo_incl, shape[3], hi_incl, None,
                " ORDER BY sk" if forward else " ORDER BY sk DESC", shape[6])
        args: list = [table_id, phash, pk]
        if lo is not None:
            args.append(lo)
        if hi is not None:
            args.append(hi)
        if limit is not None:
            args.append(limit)
        return iter(self.conn.execute(sql, args).fetchall())

    def scan_items(self, table_id: int, after: tuple | None, phash_lo: int, phash_hi: int,
                   limit: int | None) -> Iterator[tuple]:
        args: list = [table_id]
        if after is None:
            sql = "SELECT phash, pk, sk, item FROM items WHERE table_id=%s AND phash>=%s AND phash<%s"
            args += [phash_lo, phash_hi]
        else:
            sql = ("SELECT phash, pk, sk, item FROM items WHERE table_id=%s AND phash>=%s AND phash<%s"
                   " AND (phash, pk, sk) > (%s, %s, %s)")
            args += [max(phash_lo, after[0]), phash_hi, after[0], after[1], after[2]]
        sql += " ORDER BY phash, pk, sk"
        if limit is not None:
            sql += " LIMIT %s"
            args.append(limit)
        return iter(self.conn.execute(sql, args).fetchall())

    def count_items(self, table_id: int) -> int:
        return self.conn.execute("SELECT count(*) FROM items WHERE table_id=%s", (table_id,)).fetchone()[0]

    def table_size(self, table_id: int) -> int:
        row = self.conn.execute("SELECT sum(octet_length(item)) FROM items WHERE table_id=%s",
                                (table_id,)).fetchone()
        return int(row[0] or 0)

    def expired_items(self, table_id: int, lo: float, hi: float, limit: int) -> list[tuple]:
        return self.conn.execute(
            "SELECT phash, pk, sk, item FROM items WHERE table_id=%s AND expires IS NOT NULL"
            " AND expires>=%s AND expires<%s ORDER BY expires LIMIT %s", (table_id, lo, hi, limit)).fetchall()

    # --- index entries -------------------------------------------------------------------
    def query_index(self, index_id: int, phash: int, ipk: bytes, lo: bytes | None, lo_incl: bool,
                    hi: bytes | None, hi_incl: bool, forward: bool, after: tuple | None,
                    limit: int | None) -> Iterator[tuple]:
        shape = ("i", lo is not None, lo_incl, hi is not None, hi_incl, forward, after is not None,
                 limit is not None)
        sql = _SQL_CACHE.get(shape)
        if sql is None:
            cmp = ">" if forward else "<"
            sql = _SQL_CACHE[shape] = _range_sql(
                "SELECT phash, ipk, isk, pk, sk, item FROM index_entries"
                " WHERE index_id=%s AND phash=%s AND ipk=%s",
                "isk", shape[1], lo_incl, shape[3], hi_incl,
                f" AND (isk, pk, sk) {cmp} (%s, %s, %s)" if after is not None else None,
                " ORDER BY isk, pk, sk" if forward else " ORDER BY isk DESC, pk DESC, sk DESC", shape[7])
        args: list = [index_id, phash, ipk]
        if lo is not None:
            args.append(lo)
        if hi is not None:
            args.append(hi)
        if after is not None:
            args += after
        if limit is not None:
            args.append(limit)
        return iter(self.conn.execute(sql, args).fetchall())

    def scan_index(self, index_id: int, after: tuple | None, phash_lo: int, phash_hi: int,
                   limit: int | None) -> Iterator[tuple]:
        args: list = [index_id]
        sql = ("SELECT phash, ipk, isk, pk, sk, item FROM index_entries"
               " WHERE index_id=%s AND phash>=%s AND phash<%s")
        if after is None:
            args += [phash_lo, phash_hi]
        else:
            sql += " AND (phash, ipk, isk, pk, sk) > (%s, %s, %s, %s, %s)"
            args += [max(phash_lo, after[0]), phash_hi, *after]
        sql += " ORDER BY phash, ipk, isk, pk, sk"
        if limit is not None:
            sql += " LIMIT %s"
            args.append(limit)
        return iter(self.conn.execute(sql, args).fetchall())

    def count_index(self, index_id: int) -> int:
        return self.conn.execute("SELECT count(*) FROM index_entries WHERE index_id=%s",
                                 (index_id,)).fetchone()[0]

    def index_size(self, index_id: int) -> int:
        row = self.conn.execute("SELECT sum(octet_length(item)) FROM index_entries WHERE index_id=%s",
                                (index_id,)).fetchone()
        return int(row[0] or 0)


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
