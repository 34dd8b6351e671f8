"""PostgreSQL storage for streams: the stream catalog, shards (lineage, open/closed, trim horizon),
stream records and the global sequence counter. Reads are SQLite's (`storage/sqlite/streams.py`,
standard SQL) but for two; DDL and writes are PostgreSQL's own. Mixed into the PostgreSQL read/write transactions by
`storage/postgres/__init__.py`; called by `engine/changelog.py` (hot path) and `streams/`.

Sequence numbers: one counter row (`stream_sequence`), read once per write batch (the batch holds
the writer lock row, so no other process allocates meanwhile), advanced in memory by
`next_sequence` and written back by the batch's COMMIT. Numbers are therefore unique and strictly
increasing across every process sharing the schema, and batches commit in sequence order: a
reader never sees seq n+1 committed while seq n is still in flight.
"""
from __future__ import annotations

from typing import Any

from eddydb.storage.sqlite.streams import StreamsRead as _SqliteStreamsRead

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


class StreamsRead(_SqliteStreamsRead):
    """Read queries: SQLite's (standard SQL, `?` run as `%s`), except the one below."""

    conn: Any

    def sequence_value(self) -> int:
        cur = self.__dict__.get("_seq_last")   # the writer's batch may be ahead of the counter row
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
