"""PostgreSQL storage for triggers (event source mappings): the mappings, per-shard checkpoints,
per-shard leases (owner + expiry: how the processes sharing one database spread shards and fail
over) and tumbling window state. Reads are `storage/sqlite/triggers.py`'s; DDL and writes are
PostgreSQL's own. Mixins of the
read/write transactions; used by `triggers.mappings`, `triggers.checkpoints`, `triggers.leases`.
Lease takes are conditional upserts inside the writer's batch (which holds the writer lock row),
so two processes can never both win one lease.
"""
from __future__ import annotations

from typing import Any

from eddydb.storage.sqlite.triggers import TriggersRead as _SqliteTriggersRead

__all__ = ["SCHEMA", "TriggersRead", "TriggersWrite"]

SCHEMA: list[str] = [
    'CREATE TABLE IF NOT EXISTS esm_mappings (uuid TEXT COLLATE "C" PRIMARY KEY, doc BYTEA NOT NULL)',
    ('CREATE TABLE IF NOT EXISTS esm_checkpoints (uuid TEXT COLLATE "C" NOT NULL, shard_id TEXT COLLATE "C" NOT NULL,'
     " seq BIGINT, finished INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (uuid, shard_id))"),
    ('CREATE TABLE IF NOT EXISTS esm_leases (uuid TEXT COLLATE "C" NOT NULL, shard_id TEXT COLLATE "C" NOT NULL,'
     " owner TEXT NOT NULL, expires DOUBLE PRECISION NOT NULL, PRIMARY KEY (uuid, shard_id))"),
    ('CREATE TABLE IF NOT EXISTS esm_windows (uuid TEXT COLLATE "C" NOT NULL, shard_id TEXT COLLATE "C" NOT NULL,'
     " doc BYTEA NOT NULL, PRIMARY KEY (uuid, shard_id))"),
]


class TriggersRead(_SqliteTriggersRead):
    """Read queries: SQLite's (standard SQL; `?` placeholders are run as `%s`)."""


class TriggersWrite:
    """Write statements; only ever mixed into the writer transaction."""

    conn: Any
    _w: Any

    def save_mapping(self, uuid: str, doc: bytes) -> None:
        self._w("INSERT INTO esm_mappings (uuid, doc) VALUES (%s, %s) ON CONFLICT (uuid) DO UPDATE SET doc = EXCLUDED.doc",
                (uuid, doc))

    def delete_mapping(self, uuid: str) -> None:
        """The mapping and everything it owns (checkpoints, leases, windows)."""
        for table in ("esm_mappings", "esm_checkpoints", "esm_leases", "esm_windows"):
            self._w(f"DELETE FROM {table} WHERE uuid = %s", (uuid,))

    def save_checkpoint(self, uuid: str, shard_id: str, seq: int | None, finished: bool = False) -> None:
        self._w("INSERT INTO esm_checkpoints (uuid, shard_id, seq, finished) VALUES (%s, %s, %s, %s)"
                " ON CONFLICT (uuid, shard_id) DO UPDATE SET seq = EXCLUDED.seq, finished = EXCLUDED.finished",
                (uuid, shard_id, seq, 1 if finished else 0))

    def take_lease(self, uuid: str, shard_id: str, owner: str, now: float, expires: float) -> bool:
        """Acquire or renew: succeeds when the lease is free, expired, or already `owner`'s."""
        cur = self._w(
            "INSERT INTO esm_leases (uuid, shard_id, owner, expires) VALUES (%s, %s, %s, %s)"
            " ON CONFLICT (uuid, shard_id) DO UPDATE SET owner = EXCLUDED.owner, expires = EXCLUDED.expires"
            " WHERE esm_leases.owner = EXCLUDED.owner OR esm_leases.expires < %s",
            (uuid, shard_id, owner, expires, now))
        return cur.rowcount > 0

    def release_lease(self, uuid: str, shard_id: str, owner: str) -> None:
        self._w("DELETE FROM esm_leases WHERE uuid = %s AND shard_id = %s AND owner = %s", (uuid, shard_id, owner))

    def save_window(self, uuid: str, shard_id: str, doc: bytes | None) -> None:
        if doc is None:
            self._w("DELETE FROM esm_windows WHERE uuid = %s AND shard_id = %s", (uuid, shard_id))
        else:
            self._w("INSERT INTO esm_windows (uuid, shard_id, doc) VALUES (%s, %s, %s)"
                    " ON CONFLICT (uuid, shard_id) DO UPDATE SET doc = EXCLUDED.doc", (uuid, shard_id, doc))
