"""PostgreSQL storage for streams: the stream catalog, shards (lineage, open/closed, trim horizon),
stream records and the global sequence counter. The port of `storage/sqlite/streams.py` (same
methods, same meaning), mixed into the PostgreSQL read/write transactions by
`storage/postgres/__init__.py`; called by `engine/changelog.py` (hot path) and `streams/`.

Sequence numbers: one counter row (`stream_sequence`), read once per write batch (the batch holds
the writer lock row, so no other process allocates meanwhile), advanced in memory by
`next_sequence` and written back by the batch's COMMIT. Numbers are therefore unique and strictly
increasing across every process sharing the schema, and batches commit in sequence order: a
reader never sees seq n+1 committed while seq n is still in flight.
"""
from __future__ import annotations

from typing import Any

__all__ = ["SCHEMA", "ShardRow", "StreamRow", "StreamsRead", "StreamsWrite"]

SCHEMA: list[str] = [
    """CREATE TABLE IF NOT EXISTS streams (
        arn TEXT COLLATE "C" PRIMARY KEY,
        table_name TEXT COLLATE "C" NOT NULL,
        label TEXT NOT NULL,
        view_type TEXT NOT NULL,
        key_schema TEXT NOT NULL,
        status TEXT NOT NULL,
        created DOUBLE PRECISION NOT NULL,
        partitions INTEGER NOT NULL,
        disabled DOUBLE PRECISION
    )""",
    "CREATE INDEX IF NOT EXISTS streams_by_table ON streams (table_name, arn)",
    """CREATE TABLE IF NOT EXISTS shards (
        shard_id TEXT COLLATE "C" PRIMARY KEY,
        stream_arn TEXT COLLATE "C" NOT NULL,
        partition INTEGER NOT NULL,
        parent_shard_id TEXT,
        start_seq BIGINT NOT NULL,
        end_seq BIGINT,
        created DOUBLE PRECISION NOT NULL,
        closed DOUBLE PRECISION,
        trim_seq BIGINT
    )""",
    "CREATE INDEX IF NOT EXISTS shards_by_stream ON shards (stream_arn, created, shard_id)",
    "CREATE INDEX IF NOT EXISTS shards_open ON shards (stream_arn, partition) WHERE end_seq IS NULL",
    """CREATE TABLE IF NOT EXISTS stream_records (
        shard_id TEXT COLLATE "C" NOT NULL,
        seq BIGINT NOT NULL,
        created DOUBLE PRECISION NOT NULL,
        record BYTEA NOT NULL,
        PRIMARY KEY (shard_id, seq)
    )""",
    "CREATE TABLE IF NOT EXISTS stream_sequence (id INTEGER PRIMARY KEY CHECK (id = 1), value BIGINT NOT NULL)",
    "INSERT INTO stream_sequence (id, value) VALUES (1, 0) ON CONFLICT (id) DO NOTHING",
]

StreamRow = tuple
ShardRow = tuple

_STREAM_COLS = "arn, table_name, label, view_type, key_schema, status, created, partitions, disabled"
_SHARD_COLS = "shard_id, stream_arn, partition, parent_shard_id, start_seq, end_seq, created, closed, trim_seq"


class StreamsRead:
    """Read queries; `self.conn` is the psycopg connection of the transaction."""

    conn: Any

    # --- streams ------------------------------------------------------------------------------
    def get_stream(self, arn: str) -> StreamRow | None:
        return self.conn.execute(f"SELECT {_STREAM_COLS} FROM streams WHERE arn = %s", (arn,)).fetchone()

    def list_streams(self, table_name: str | None = None, after_arn: str | None = None,
                     limit: int | None = None) -> list[StreamRow]:
        """Streams in ARN order (optionally of one table), strictly after `after_arn`."""
        sql = f"SELECT {_STREAM_COLS} FROM streams WHERE true"
        args: list[Any] = []
        if table_name is not None:
            sql += " AND table_name = %s"
            args.append(table_name)
        if after_arn is not None:
            sql += " AND arn > %s"
            args.append(after_arn)
        sql += " ORDER BY arn"
        if limit is not None:
            sql += " LIMIT %s"
            args.append(limit)
        return self.conn.execute(sql, args).fetchall()

    def stream_partitions(self, arn: str) -> int | None:
        row = self.conn.execute("SELECT partitions FROM streams WHERE arn = %s", (arn,)).fetchone()
        return None if row is None else row[0]

    # --- shards -------------------------------------------------------------------------------
    def list_shards(self, stream_arn: str) -> list[ShardRow]:
        """A stream's shards, parents before children (creation order)."""
        return self.conn.execute(
            f"SELECT {_SHARD_COLS} FROM shards WHERE stream_arn = %s ORDER BY created, shard_id",
            (stream_arn,)).fetchall()

    def get_shard(self, shard_id: str) -> ShardRow | None:
        return self.conn.execute(f"SELECT {_SHARD_COLS} FROM shards WHERE shard_id = %s", (shard_id,)).fetchone()

    def open_shard(self, stream_arn: str, partition: int) -> tuple[str, float] | None:
        """(shard_id, created) of the open shard of one partition of a stream (hot path)."""
        return self.conn.execute(
            "SELECT shard_id, created FROM shards WHERE stream_arn = %s AND partition = %s AND end_seq IS NULL",
            (stream_arn, partition)).fetchone()

    def open_shards(self) -> list[ShardRow]:
        """Every open shard of every stream (rollover checks)."""
        return self.conn.execute(f"SELECT {_SHARD_COLS} FROM shards WHERE end_seq IS NULL").fetchall()

    def all_shards(self) -> list[ShardRow]:
        return self.conn.execute(f"SELECT {_SHARD_COLS} FROM shards").fetchall()

    # --- records ------------------------------------------------------------------------------
    def read_stream_records(self, shard_id: str, after_seq: int, limit: int) -> list[tuple[int, float, bytes]]:
        """(seq, created, record bytes) of one shard with seq > after_seq, in order."""
        return self.conn.execute(
            "SELECT seq, created, record FROM stream_records WHERE shard_id = %s AND seq > %s ORDER BY seq LIMIT %s",
            (shard_id, after_seq, limit)).fetchall()

    def last_stream_seq(self, shard_id: str) -> int | None:
        return self.conn.execute("SELECT max(seq) FROM stream_records WHERE shard_id = %s", (shard_id,)).fetchone()[0]

    def first_stream_seq(self, shard_id: str) -> int | None:
        return self.conn.execute("SELECT min(seq) FROM stream_records WHERE shard_id = %s", (shard_id,)).fetchone()[0]

    def count_stream_records(self, shard_id: str) -> int:
        return self.conn.execute("SELECT count(*) FROM stream_records WHERE shard_id = %s",
                                 (shard_id,)).fetchone()[0]

    def first_seq_at_or_after(self, shard_id: str, created: float) -> int | None:
        """Seq of the first record of a shard created at or after `created` (retention horizon)."""
        row = self.conn.execute(
            "SELECT seq FROM stream_records WHERE shard_id = %s AND created >= %s ORDER BY seq LIMIT 1",
            (shard_id, created)).fetchone()
        return None if row is None else row[0]

    def nth_stream_seq(self, shard_id: str, n: int) -> int | None:
        """Seq of the n-th (1-based) record of a shard, or None if it has fewer."""
        row = self.conn.execute(
            "SELECT seq FROM stream_records WHERE shard_id = %s ORDER BY seq LIMIT 1 OFFSET %s",
            (shard_id, max(0, n - 1))).fetchone()
        return None if row is None else row[0]

    def sequence_value(self) -> int:
        cur = self.__dict__.get("_seq_last")
        if cur is not None:
            return cur
        return self.conn.execute("SELECT value FROM stream_sequence WHERE id = 1").fetchone()[0]


class StreamsWrite:
    """Write statements; only ever mixed into the writer transaction."""

    conn: Any
    notes: dict[str, set]
    _w: Any
    _seq_last: int | None
    _grown: set

    def next_sequence(self) -> int:
        """The next global sequence number: strictly increasing, never reused, across processes and
        restarts (a number of a rolled-back write may be skipped, never handed out twice). The
        counter row is read once per batch (under the writer lock) and written back at COMMIT."""
        cur = self._seq_last
        if cur is None:
            cur = self.conn.execute("SELECT value FROM stream_sequence WHERE id = 1").fetchone()[0]
        cur += 1
        self._seq_last = cur
        return cur

    def _raise_sequence_floor(self, value: int | None) -> None:
        # The counter row is only ever raised, so numbers below it are never handed out again.
        if value is not None and (self._seq_last is None or self._seq_last < value):
            cur = self._seq_last
            if cur is None:
                cur = self.conn.execute("SELECT value FROM stream_sequence WHERE id = 1").fetchone()[0]
            self._seq_last = max(cur, value)

    def insert_stream(self, arn: str, table_name: str, label: str, view_type: str, key_schema_json: str,
                      created: float, partitions: int) -> None:
        self._w(f"INSERT INTO streams ({_STREAM_COLS}) VALUES (%s, %s, %s, %s, %s, 'ENABLED', %s, %s, NULL)",
                (arn, table_name, label, view_type, key_schema_json, created, partitions))

    def set_stream_disabled(self, arn: str, when: float) -> None:
        self._w("UPDATE streams SET status = 'DISABLED', disabled = %s WHERE arn = %s", (when, arn))

    def delete_stream(self, arn: str) -> None:
        self._w("DELETE FROM stream_records WHERE shard_id IN (SELECT shard_id FROM shards WHERE stream_arn = %s)",
                (arn,))
        self._w("DELETE FROM shards WHERE stream_arn = %s", (arn,))
        self._w("DELETE FROM streams WHERE arn = %s", (arn,))

    def insert_shard(self, shard_id: str, stream_arn: str, partition: int, parent_shard_id: str | None,
                     start_seq: int, created: float) -> None:
        self._w("INSERT INTO shards (shard_id, stream_arn, partition, parent_shard_id, start_seq, end_seq, created,"
                " closed, trim_seq) VALUES (%s, %s, %s, %s, %s, NULL, %s, NULL, NULL)",
                (shard_id, stream_arn, partition, parent_shard_id, start_seq, created))
        self._raise_sequence_floor(start_seq)

    def close_shard(self, shard_id: str, end_seq: int, when: float) -> None:
        self._w("UPDATE shards SET end_seq = %s, closed = %s WHERE shard_id = %s AND end_seq IS NULL",
                (end_seq, when, shard_id))
        self._raise_sequence_floor(end_seq)

    def delete_shard(self, shard_id: str) -> None:
        self._w("DELETE FROM stream_records WHERE shard_id = %s", (shard_id,))
        self._w("DELETE FROM shards WHERE shard_id = %s", (shard_id,))

    def append_stream_record(self, shard_id: str, seq: int, created: float, record: bytes) -> None:
        self._w("INSERT INTO stream_records (shard_id, seq, created, record) VALUES (%s, %s, %s, %s)",
                (shard_id, seq, created, record))
        self._grown.add(shard_id)

    def trim_stream_records(self, shard_id: str, upto_seq: int) -> int:
        """Delete a shard's records with seq <= upto_seq and move its trim horizon; returns rows deleted."""
        n = self._w("DELETE FROM stream_records WHERE shard_id = %s AND seq <= %s", (shard_id, upto_seq)).rowcount
        self._w("UPDATE shards SET trim_seq = greatest(coalesce(trim_seq, 0), %s) WHERE shard_id = %s",
                (upto_seq, shard_id))
        return n
