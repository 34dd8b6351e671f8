"""SQLite storage for items: the tables catalog, id counters, items (with their TTL `expires`
column) and secondary-index entries; DDL and every query the engine needs.

Mixed into the read/write transactions of `storage.sqlite.SqliteStore`; `self.conn` is the
transaction's sqlite3 connection. Keys are `model.keys.encode_key` bytes (sk = b"" without a
sort key); rows are yielded as plain tuples (phash, pk, sk, item) / (phash, ipk, isk, pk, sk, item).

Rows are stored in key order, (table_id, pk, sk) and (index_id, ipk, isk, pk, sk), not in
partition-hash order: every write dirties the B-tree pages its key lands on, and each dirty page
is a WAL frame (two write system calls) at commit. Keys written together are often near each other
(counters, timestamps, ULIDs, one partition's sort keys, a bulk load), and in key order they share
pages: a BatchWriteItem of 25 consecutive keys commits ~2 pages instead of ~50. The partition hash
stays a column, so a parallel Scan segment (a hash range) filters it; a Scan without segments, which
DynamoDB returns in no documented order, comes back in key order. Databases written in the earlier
hash order are rebuilt once on open (`migrate`).
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson

_ITEMS = ("CREATE TABLE IF NOT EXISTS {name} (table_id INTEGER NOT NULL, phash INTEGER NOT NULL, pk BLOB NOT NULL,"
          " sk BLOB NOT NULL, item BLOB NOT NULL, expires REAL, PRIMARY KEY (table_id, pk, sk)) WITHOUT ROWID")
_ITEMS_EXPIRES = "CREATE INDEX IF NOT EXISTS items_expires ON items (table_id, expires) WHERE expires IS NOT NULL"
_ENTRIES = ("CREATE TABLE IF NOT EXISTS {name} (index_id INTEGER NOT NULL, phash INTEGER NOT NULL,"
            " ipk BLOB NOT NULL, isk BLOB NOT NULL, pk BLOB NOT NULL, sk BLOB NOT NULL, item BLOB NOT NULL,"
            " PRIMARY KEY (index_id, ipk, isk, pk, sk)) WITHOUT ROWID")

SCHEMA: list[str] = [
    "CREATE TABLE IF NOT EXISTS tables (name TEXT PRIMARY KEY, table_id INTEGER NOT NULL, meta BLOB NOT NULL)",
    "CREATE TABLE IF NOT EXISTS counters (kind TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID",
    _ITEMS.format(name="items"),
    _ITEMS_EXPIRES,
    _ENTRIES.format(name="index_entries"),
]

_HASH_SPACE = 1 << 32   # partition hashes are 32-bit (model.keys.partition_hash)
_GET = "SELECT item FROM items WHERE table_id=? AND pk=? AND sk=?"
_PUT = "INSERT OR REPLACE INTO items (table_id, phash, pk, sk, item, expires) VALUES (?,?,?,?,?,?)"
_INSERT = ("INSERT INTO items (table_id, phash, pk, sk, item, expires) VALUES (?,?,?,?,?,?)"
           " ON CONFLICT DO NOTHING")
_DEL = "DELETE FROM items WHERE table_id=? AND pk=? AND sk=?"


def migrate(conn: Any) -> bool:
    """Rebuild tables written in the earlier partition-hash order into key order (once, in one
    transaction; a sibling process that started at the same time finds it done). True if it did."""
    def hash_ordered(table: str) -> bool:
        row = conn.execute("SELECT sql FROM sqlite_master WHERE type='table' AND name=?", (table,)).fetchone()
        return row is not None and "_id, phash, " in row[0].split("PRIMARY KEY", 1)[-1]

    if not (hash_ordered("items") or hash_ordered("index_entries")):
        return False
    conn.execute("BEGIN IMMEDIATE")
    try:
        done = False
        if hash_ordered("items"):
            conn.execute("DROP INDEX IF EXISTS items_expires")
            conn.execute(_ITEMS.format(name="items_keyed"))
            conn.execute("INSERT INTO items_keyed (table_id, phash, pk, sk, item, expires)"
                         " SELECT table_id, phash, pk, sk, item, expires FROM items")
            conn.execute("DROP TABLE items")
            conn.execute("ALTER TABLE items_keyed RENAME TO items")
            conn.execute(_ITEMS_EXPIRES)
            done = True
        if hash_ordered("index_entries"):
            conn.execute(_ENTRIES.format(name="index_entries_keyed"))
            conn.execute("INSERT INTO index_entries_keyed (index_id, phash, ipk, isk, pk, sk, item)"
                         " SELECT index_id, phash, ipk, isk, pk, sk, item FROM index_entries")
            conn.execute("DROP TABLE index_entries")
            conn.execute("ALTER TABLE index_entries_keyed RENAME TO index_entries")
            done = True
        conn.execute("COMMIT")
        return done
    except BaseException:
        conn.execute("ROLLBACK")
        raise


_SQL_CACHE: dict[tuple, str] = {}


def _range_sql(base: str, col: str, lo: bool, lo_incl: bool, hi: bool, hi_incl: bool,
               after: str | None, order: str, limit: bool) -> str:
    parts = [base]
    if lo:
        parts.append(f" AND {col} >{'=' if lo_incl else ''} ?")
    if hi:
        parts.append(f" AND {col} <{'=' if hi_incl else ''} ?")
    if after:
        parts.append(after)
    parts.append(order)
    if limit:
        parts.append(" LIMIT ?")
    return "".join(parts)


def _scan_sql(base: str, key: str, args: list, after: tuple | None, phash_lo: int, phash_hi: int,
              limit: int | None) -> tuple[str, list]:
    parts = [base]
    if phash_lo > 0 or phash_hi < _HASH_SPACE:
        # a parallel-scan segment: its hash range is spread over the whole key order
        parts.append(" AND phash>=? AND phash<?")
        args += (phash_lo, phash_hi)
    if after:
        parts.append(f" AND {key} > ({', '.join('?' * len(after))})")
        args += after
    if limit is not None:
        args.append(limit)
    return "".join(parts), args


def _limit(limit: int | None) -> str:
    return "" if limit is None else " LIMIT ?"


class ItemsRead:
    """Read queries; `self.conn` is the sqlite3 connection of the transaction."""

    conn: Any  # sqlite3.Connection (Any: the other concern mixins declare it loosely)

    # --- catalog ---------------------------------------------------------------------
    def load_tables(self) -> list[dict]:
        return [orjson.loads(m) for (m,) in self.conn.execute("SELECT meta FROM tables ORDER BY name")]

    def catalog_version(self) -> int:
        """Bumped (`next_id("catalog")`) by every table metadata change: lets several processes
        sharing one database notice that their table cache is stale."""
        row = self.conn.execute("SELECT value FROM counters WHERE kind='catalog'").fetchone()
        return 0 if row is None else row[0]

    def load_table(self, name: str) -> dict | None:
        row = self.conn.execute("SELECT meta FROM tables WHERE name=?", (name,)).fetchone()
        return None if row is None else orjson.loads(row[0])

    # --- items -----------------------------------------------------------------------
    def get_item(self, table_id: int, phash: int, pk: bytes, sk: bytes) -> bytes | None:
        row = self.conn.execute(_GET, (table_id, pk, sk)).fetchone()
        return None if row is None else row[0]

    def query_items(self, table_id: int, phash: int, pk: bytes, lo: bytes | None, lo_incl: bool,
                    hi: bytes | None, hi_incl: bool, forward: bool, limit: int | None) -> Iterator[tuple]:
        shape = ("q", lo is not None, lo_incl, hi is not None, hi_incl, forward, limit is not None)
        sql = _SQL_CACHE.get(shape)
        if sql is None:
            sql = _SQL_CACHE[shape] = _range_sql(
                "SELECT phash, pk, sk, item FROM items WHERE table_id=? AND pk=?", "sk",
                shape[1], lo_incl, shape[3], hi_incl, None,
                " ORDER BY sk" if forward else " ORDER BY sk DESC", shape[6])
        args: list = [table_id, pk]
        if lo is not None:
            args.append(lo)
        if hi is not None:
            args.append(hi)
        if limit is not None:
            args.append(limit)
        return self.conn.execute(sql, args)

    def scan_items(self, table_id: int, after: tuple | None, phash_lo: int, phash_hi: int,
                   limit: int | None) -> Iterator[tuple]:
        """Rows in key order after `after` (phash, pk, sk), of one partition-hash range (a segment)."""
        sql, args = _scan_sql("SELECT phash, pk, sk, item FROM items WHERE table_id=?", "(pk, sk)",
                              [table_id], after and after[1:], phash_lo, phash_hi, limit)
        return self.conn.execute(sql + " ORDER BY pk, sk" + _limit(limit), args)

    def count_items(self, table_id: int) -> int:
        return self.conn.execute("SELECT count(*) FROM items WHERE table_id=?", (table_id,)).fetchone()[0]

    def table_size(self, table_id: int) -> int:
        row = self.conn.execute("SELECT sum(length(item)) FROM items WHERE table_id=?", (table_id,)).fetchone()
        return row[0] or 0

    def expired_items(self, table_id: int, lo: float, hi: float, limit: int) -> list[tuple]:
        return self.conn.execute(
            "SELECT phash, pk, sk, item FROM items WHERE table_id=? AND expires IS NOT NULL"
            " AND expires>=? AND expires<? ORDER BY expires LIMIT ?", (table_id, lo, hi, limit)).fetchall()

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
                "SELECT phash, ipk, isk, pk, sk, item FROM index_entries WHERE index_id=? AND ipk=?",
                "isk", shape[1], lo_incl, shape[3], hi_incl,
                f" AND (isk, pk, sk) {cmp} (?, ?, ?)" if after is not None else None,
                " ORDER BY isk, pk, sk" if forward else " ORDER BY isk DESC, pk DESC, sk DESC", shape[7])
        args: list = [index_id, ipk]
        if lo is not None:
            args.append(lo)
        if hi is not None:
            args.append(hi)
        if after is not None:
            args += after
        if limit is not None:
            args.append(limit)
        return self.conn.execute(sql, args)

    def scan_index(self, index_id: int, after: tuple | None, phash_lo: int, phash_hi: int,
                   limit: int | None) -> Iterator[tuple]:
        """Entries in key order after `after` (phash, ipk, isk, pk, sk), of one partition-hash range."""
        sql, args = _scan_sql("SELECT phash, ipk, isk, pk, sk, item FROM index_entries WHERE index_id=?",
                              "(ipk, isk, pk, sk)", [index_id], after and after[1:], phash_lo, phash_hi, limit)
        return self.conn.execute(sql + " ORDER BY ipk, isk, pk, sk" + _limit(limit), args)

    def count_index(self, index_id: int) -> int:
        return self.conn.execute("SELECT count(*) FROM index_entries WHERE index_id=?", (index_id,)).fetchone()[0]

    def index_size(self, index_id: int) -> int:
        row = self.conn.execute("SELECT sum(length(item)) FROM index_entries WHERE index_id=?",
                                (index_id,)).fetchone()
        return row[0] or 0


class ItemsWrite:
    """Write statements; only ever mixed into the writer transaction."""

    conn: Any  # sqlite3.Connection (Any: the other concern mixins declare it loosely)

    def next_id(self, kind: str) -> int:
        return self.conn.execute(
            "INSERT INTO counters (kind, value) VALUES (?, 1) ON CONFLICT (kind) DO UPDATE SET value = value + 1"
            " RETURNING value", (kind,)).fetchone()[0]

    def save_table(self, name: str, table_id: int, meta: dict) -> None:
        self.conn.execute("INSERT OR REPLACE INTO tables (name, table_id, meta) VALUES (?,?,?)",
                          (name, table_id, orjson.dumps(meta)))

    def delete_table(self, name: str) -> None:
        self.conn.execute("DELETE FROM tables WHERE name=?", (name,))

    def put_item(self, table_id: int, phash: int, pk: bytes, sk: bytes, item: bytes,
                 expires: float | None) -> None:
        self.conn.execute(_PUT, (table_id, phash, pk, sk, item, expires))

    def insert_item_if_absent(self, table_id: int, phash: int, pk: bytes, sk: bytes, item: bytes,
                              expires: float | None) -> bool:
        return self.conn.execute(_INSERT, (table_id, phash, pk, sk, item, expires)).rowcount == 1

    def delete_item(self, table_id: int, phash: int, pk: bytes, sk: bytes) -> None:
        self.conn.execute(_DEL, (table_id, pk, sk))

    def set_expires(self, table_id: int, phash: int, pk: bytes, sk: bytes, expires: float | None) -> None:
        self.conn.execute("UPDATE items SET expires=? WHERE table_id=? AND pk=? AND sk=?",
                          (expires, table_id, pk, sk))

    def drop_table_items(self, table_id: int) -> None:
        self.conn.execute("DELETE FROM items WHERE table_id=?", (table_id,))

    def put_index_entry(self, index_id: int, phash: int, ipk: bytes, isk: bytes, pk: bytes, sk: bytes,
                        item: bytes) -> None:
        self.conn.execute("INSERT OR REPLACE INTO index_entries (index_id, phash, ipk, isk, pk, sk, item)"
                          " VALUES (?,?,?,?,?,?,?)", (index_id, phash, ipk, isk, pk, sk, item))

    def delete_index_entry(self, index_id: int, phash: int, ipk: bytes, isk: bytes, pk: bytes,
                           sk: bytes) -> None:
        self.conn.execute("DELETE FROM index_entries WHERE index_id=? AND ipk=? AND isk=? AND pk=? AND sk=?",
                          (index_id, ipk, isk, pk, sk))

    def drop_index(self, index_id: int) -> None:
        self.conn.execute("DELETE FROM index_entries WHERE index_id=?", (index_id,))
