"""SQLite storage for streams: the stream catalog, shards (lineage, open/closed, trim horizon),
stream records and the global sequence counter. Mixed into the SQLite read/write transactions by
`storage/sqlite/__init__.py`; called by `engine/changelog.py` (hot path) and `streams/` (reads,
rollover, retention). Every method works on `self.conn`, the transaction's sqlite3 connection.
"""
from __future__ import annotations

from typing import Any

__all__ = ["SCHEMA", "ShardCache", "ShardRow", "StreamRow", "StreamsRead", "StreamsWrite", "shard_cache"]

SCHEMA: list[str] = [
    # One row per stream ever enabled (a re-enable is a new row: new ARN and label).
    """CREATE TABLE IF NOT EXISTS streams (
        arn TEXT PRIMARY KEY,
        table_name TEXT NOT NULL,
        label TEXT NOT NULL,
        view_type TEXT NOT NULL,
        key_schema TEXT NOT NULL,
        status TEXT NOT NULL,
        created REAL NOT NULL,
        partitions INTEGER NOT NULL,
        disabled REAL
    )""",
    "CREATE INDEX IF NOT EXISTS streams_by_table ON streams (table_name, arn)",
    # end_seq NULL = open. trim_seq: every record with seq <= trim_seq is gone (retention).
    """CREATE TABLE IF NOT EXISTS shards (
        shard_id TEXT PRIMARY KEY,
        stream_arn TEXT NOT NULL,
        partition INTEGER NOT NULL,
        parent_shard_id TEXT,
        start_seq INTEGER NOT NULL,
        end_seq INTEGER,
        created REAL NOT NULL,
        closed REAL,
        trim_seq INTEGER
    )""",
    "CREATE INDEX IF NOT EXISTS shards_by_stream ON shards (stream_arn, created, shard_id)",
    "CREATE INDEX IF NOT EXISTS shards_open ON shards (stream_arn, partition) WHERE end_seq IS NULL",
    """CREATE TABLE IF NOT EXISTS stream_records (
        shard_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        created REAL NOT NULL,
        record BLOB NOT NULL,
        PRIMARY KEY (shard_id, seq)
    ) WITHOUT ROWID""",
    # The global sequence counter's persisted floor: raised (in the same transaction) before trims or
    # shard deletions remove numbers, and on every allocation when several processes share the file.
    "CREATE TABLE IF NOT EXISTS stream_sequence (id INTEGER PRIMARY KEY CHECK (id = 1), value INTEGER NOT NULL)",
    "INSERT OR IGNORE INTO stream_sequence (id, value) VALUES (1, 0)",
]

# (arn, table_name, label, view_type, key_schema_json, status, created, partitions, disabled)
StreamRow = tuple
# (shard_id, stream_arn, partition, parent_shard_id, start_seq, end_seq, created, closed, trim_seq)
ShardRow = tuple

_STREAM_COLS = "arn, table_name, label, view_type, key_schema, status, created, partitions, disabled"
_SHARD_COLS = "shard_id, stream_arn, partition, parent_shard_id, start_seq, end_seq, created, closed, trim_seq"


class StreamsRead:
    """Read queries; `self.conn` is the sqlite3 connection of the transaction."""

    conn: Any

    # --- streams ------------------------------------------------------------------------------
    def get_stream(self, arn: str) -> StreamRow | None:
        return self.conn.execute(f"SELECT {_STREAM_COLS} FROM streams WHERE arn = ?", (arn,)).fetchone()

    def list_streams(self, table_name: str | None = None, after_arn: str | None = None,
                     limit: int | None = None) -> list[StreamRow]:
        """Streams in ARN order (optionally of one table), strictly after `after_arn`."""
        sql = f"SELECT {_STREAM_COLS} FROM streams WHERE true"  # standard SQL: PostgreSQL runs it too
        args: list[Any] = []
        if table_name is not None:
            sql += " AND table_name = ?"
            args.append(table_name)
        if after_arn is not None:
            sql += " AND arn > ?"
            args.append(after_arn)
        sql += " ORDER BY arn"
        if limit is not None:
            sql += " LIMIT ?"
            args.append(limit)
        return self.conn.execute(sql, args).fetchall()

    def stream_partitions(self, arn: str) -> int | None:
        row = self.conn.execute("SELECT partitions FROM streams WHERE arn = ?", (arn,)).fetchone()
        return None if row is None else row[0]

    # --- shards -------------------------------------------------------------------------------
    def list_shards(self, stream_arn: str) -> list[ShardRow]:
        """A stream's shards, parents before children (creation order)."""
        return self.conn.execute(
            f"SELECT {_SHARD_COLS} FROM shards WHERE stream_arn = ? ORDER BY created, shard_id", (stream_arn,)
        ).fetchall()

    def get_shard(self, shard_id: str) -> ShardRow | None:
        return self.conn.execute(f"SELECT {_SHARD_COLS} FROM shards WHERE shard_id = ?", (shard_id,)).fetchone()

    def open_shard(self, stream_arn: str, partition: int) -> tuple[str, float] | None:
        """(shard_id, created) of the open shard of one partition of a stream (hot path)."""
        return self.conn.execute(
            "SELECT shard_id, created FROM shards WHERE stream_arn = ? AND partition = ? AND end_seq IS NULL",
            (stream_arn, partition),
        ).fetchone()

    def open_shards(self) -> list[ShardRow]:
        """Every open shard of every stream (rollover checks)."""
        return self.conn.execute(f"SELECT {_SHARD_COLS} FROM shards WHERE end_seq IS NULL").fetchall()

    def all_shards(self) -> list[ShardRow]:
        return self.conn.execute(f"SELECT {_SHARD_COLS} FROM shards").fetchall()

    # --- records ------------------------------------------------------------------------------
    def read_stream_records(self, shard_id: str, after_seq: int, limit: int) -> list[tuple[int, float, bytes]]:
        """(seq, created, record bytes) of one shard with seq > after_seq, in order."""
        return self.conn.execute(
            "SELECT seq, created, record FROM stream_records WHERE shard_id = ? AND seq > ? ORDER BY seq LIMIT ?",
            (shard_id, after_seq, limit),
        ).fetchall()

    def last_stream_seq(self, shard_id: str) -> int | None:
        row = self.conn.execute("SELECT max(seq) FROM stream_records WHERE shard_id = ?", (shard_id,)).fetchone()
        return row[0]

    def first_stream_seq(self, shard_id: str) -> int | None:
        row = self.conn.execute("SELECT min(seq) FROM stream_records WHERE shard_id = ?", (shard_id,)).fetchone()
        return row[0]

    def count_stream_records(self, shard_id: str) -> int:
        return self.conn.execute("SELECT count(*) FROM stream_records WHERE shard_id = ?", (shard_id,)).fetchone()[0]

    def first_seq_at_or_after(self, shard_id: str, created: float) -> int | None:
        """Seq of the first record of a shard created at or after `created` (retention horizon)."""
        row = self.conn.execute(
            "SELECT seq FROM stream_records WHERE shard_id = ? AND created >= ? ORDER BY seq LIMIT 1",
            (shard_id, created),
        ).fetchone()
        return None if row is None else row[0]

    def nth_stream_seq(self, shard_id: str, n: int) -> int | None:
        """Seq of the n-th (1-based) record of a shard, or None if it has fewer."""
        row = self.conn.execute(
            "SELECT seq FROM stream_records WHERE shard_id = ? ORDER BY seq LIMIT 1 OFFSET ?", (shard_id, max(0, n - 1))
        ).fetchone()
        return None if row is None else row[0]

    def sequence_value(self) -> int:
        return self.conn.execute("SELECT value FROM stream_sequence WHERE id = 1").fetchone()[0]


class ShardCache:
    """The writer's cache of open shards, {(stream arn, partition): (shard_id, created)}.

    Only committed state is cached: a shard-structure change (open, close, delete) empties it and
    marks it `dirty`, and while dirty every lookup goes to SQL (the transaction's own view). The
    store's commit listener (`committed`, registered by StreamService) clears `dirty` after each
    commit, so a rolled-back change can never leave a stale entry behind."""

    __slots__ = ("dirty", "open")

    def __init__(self) -> None:
        self.open: dict[tuple[str, int], tuple[str, float]] = {}
        self.dirty = True       # until the first commit listener call proves the listener exists

    def changed(self) -> None:
        self.open.clear()
        self.dirty = True

    def committed(self, _notes: Any = None) -> None:
        self.dirty = False


def shard_cache(store: Any) -> ShardCache:
    """The store's ShardCache (created on first use)."""
    cache = store.__dict__.get("_stream_shard_cache")
    if cache is None:
        cache = store.__dict__["_stream_shard_cache"] = ShardCache()
    return cache


class StreamsWrite:
    """Write statements; only ever mixed into the writer transaction."""

    conn: Any
    notes: dict[str, set]

    def open_shard(self, stream_arn: str, partition: int) -> tuple[str, float] | None:
        """(shard_id, created) of the open shard of one partition (hot path: cached, see ShardCache)."""
        cache = self.__dict__.get("_shard_cache")
        if cache is None:
            store = getattr(self, "store", None)
            cache = self.__dict__["_shard_cache"] = shard_cache(store) if store is not None else ShardCache()
        if cache.dirty:
            return StreamsRead.open_shard(self, stream_arn, partition)  # type: ignore[arg-type]
        key = (stream_arn, partition)
        hit = cache.open.get(key)
        if hit is None:
            hit = StreamsRead.open_shard(self, stream_arn, partition)  # type: ignore[arg-type]
            if hit is not None:
                cache.open[key] = hit
        return hit

    def _shards_changed(self) -> None:
        cache = self.__dict__.get("_shard_cache")
        if cache is None:
            store = getattr(self, "store", None)
            if store is None:
                return
            cache = self.__dict__["_shard_cache"] = shard_cache(store)
        cache.changed()

    def next_sequence(self) -> int:
        """The next global sequence number: strictly increasing, never reused, across restarts too
        (a number of a rolled-back write may be skipped, never handed out twice).

        The counter lives in memory; it is recovered from what is committed (records, shard ranges,
        and the persisted floor that trims and shard deletions raise before they remove numbers) on
        first use and whenever another connection committed to the file (`foreign_commit`, checked
        by the store at each batch under the write lock), so the hot path writes nothing extra."""
        d = self.__dict__
        cur = d.get("_seq_last")
        if cur is None:
            cur = self._recover_sequence()
        cur += 1
        d["_seq_last"] = cur
        return cur

    def foreign_commit(self) -> None:
        """Another process committed: forget the cached sequence counter and open shards."""
        self.__dict__.pop("_seq_last", None)
        self._shards_changed()

    def _recover_sequence(self) -> int:
        """The highest sequence number any commit may have used."""
        c = self.conn
        floor = c.execute("SELECT value FROM stream_sequence WHERE id = 1").fetchone()[0]
        lo, hi = c.execute("SELECT max(start_seq), max(end_seq) FROM shards").fetchone()
        best = max(floor, lo or 0, hi or 0)
        for (sid,) in c.execute("SELECT shard_id FROM shards WHERE end_seq IS NULL").fetchall():
            last = c.execute("SELECT max(seq) FROM stream_records WHERE shard_id = ?", (sid,)).fetchone()[0]
            if last is not None and last > best:
                best = last
        return best

    def _raise_sequence_floor(self, value: int | None) -> None:
        if value is not None:
            self.conn.execute("UPDATE stream_sequence SET value = ? WHERE id = 1 AND value < ?", (value, value))

    def insert_stream(self, arn: str, table_name: str, label: str, view_type: str, key_schema_json: str,
                      created: float, partitions: int) -> None:
        self.conn.execute(
            f"INSERT INTO streams ({_STREAM_COLS}) VALUES (?, ?, ?, ?, ?, 'ENABLED', ?, ?, NULL)",
            (arn, table_name, label, view_type, key_schema_json, created, partitions),
        )

    def set_stream_disabled(self, arn: str, when: float) -> None:
        self._shards_changed()
        self.conn.execute("UPDATE streams SET status = 'DISABLED', disabled = ? WHERE arn = ?", (when, arn))

    def delete_stream(self, arn: str) -> None:
        self._shards_changed()
        row = self.conn.execute("SELECT max(start_seq), max(end_seq) FROM shards WHERE stream_arn = ?", (arn,)).fetchone()
        self._raise_sequence_floor(max(row[0] or 0, row[1] or 0) or None)
        for (sid,) in self.conn.execute("SELECT shard_id FROM shards WHERE stream_arn = ?", (arn,)).fetchall():
            self._raise_sequence_floor(StreamsRead.last_stream_seq(self, sid))  # type: ignore[arg-type]
        self.conn.execute("DELETE FROM stream_records WHERE shard_id IN (SELECT shard_id FROM shards WHERE stream_arn = ?)",
                          (arn,))
        self.conn.execute("DELETE FROM shards WHERE stream_arn = ?", (arn,))
        self.conn.execute("DELETE FROM streams WHERE arn = ?", (arn,))

    def insert_shard(self, shard_id: str, stream_arn: str, partition: int, parent_shard_id: str | None,
                     start_seq: int, created: float) -> None:
        self._shards_changed()
        self.conn.execute(
            "INSERT INTO shards (shard_id, stream_arn, partition, parent_shard_id, start_seq, end_seq, created,"
            " closed, trim_seq) VALUES (?, ?, ?, ?, ?, NULL, ?, NULL, NULL)",
            (shard_id, stream_arn, partition, parent_shard_id, start_seq, created),
        )

    def close_shard(self, shard_id: str, end_seq: int, when: float) -> None:
        self._shards_changed()
        self.conn.execute("UPDATE shards SET end_seq = ?, closed = ? WHERE shard_id = ? AND end_seq IS NULL",
                          (end_seq, when, shard_id))

    def delete_shard(self, shard_id: str) -> None:
        self._shards_changed()
        row = self.conn.execute("SELECT start_seq, end_seq FROM shards WHERE shard_id = ?", (shard_id,)).fetchone()
        if row is not None:
            self._raise_sequence_floor(max(row[0], row[1] or 0))
        self._raise_sequence_floor(StreamsRead.last_stream_seq(self, shard_id))  # type: ignore[arg-type]
        self.conn.execute("DELETE FROM stream_records WHERE shard_id = ?", (shard_id,))
        self.conn.execute("DELETE FROM shards WHERE shard_id = ?", (shard_id,))

    def append_stream_record(self, shard_id: str, seq: int, created: float, record: bytes) -> None:
        self.conn.execute("INSERT INTO stream_records (shard_id, seq, created, record) VALUES (?, ?, ?, ?)",
                          (shard_id, seq, created, record))

    def trim_stream_records(self, shard_id: str, upto_seq: int) -> int:
        """Delete a shard's records with seq <= upto_seq and move its trim horizon; returns rows deleted."""
        self._raise_sequence_floor(upto_seq)
        n = self.conn.execute("DELETE FROM stream_records WHERE shard_id = ? AND seq <= ?",
                              (shard_id, upto_seq)).rowcount
        self.conn.execute("UPDATE shards SET trim_seq = max(coalesce(trim_seq, 0), ?) WHERE shard_id = ?",
                          (upto_seq, shard_id))
        return n
