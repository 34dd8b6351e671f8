"""SQLite storage for triggers (event source mappings): the mappings themselves, per-shard
checkpoints, per-shard leases (owner + expiry, for several processes on one store) and tumbling
window state. Mixins of the read/write transactions; used by `triggers.mappings`,
`triggers.checkpoints` and `triggers.leases`. Writes run only in the writer thread.
"""
from __future__ import annotations

__all__ = ["SCHEMA", "TriggersRead", "TriggersWrite"]

SCHEMA: list[str] = [
    # doc = orjson bytes of the mapping's full state (settings, State, LastProcessingResult, ...)
    "CREATE TABLE IF NOT EXISTS esm_mappings (uuid TEXT PRIMARY KEY, doc BLOB NOT NULL)",
    # seq = last stream sequence number (internal int) whose processing is finished; NULL = none yet.
    # finished = the (closed) shard was read to its end: its children may start.
    ("CREATE TABLE IF NOT EXISTS esm_checkpoints (uuid TEXT NOT NULL, shard_id TEXT NOT NULL, seq INTEGER,"
     " finished INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (uuid, shard_id)) WITHOUT ROWID"),
    ("CREATE TABLE IF NOT EXISTS esm_leases (uuid TEXT NOT NULL, shard_id TEXT NOT NULL, owner TEXT NOT NULL,"
     " expires REAL NOT NULL, PRIMARY KEY (uuid, shard_id)) WITHOUT ROWID"),
    # doc = orjson bytes of {"start", "end", "state", ...}: the open tumbling window of a shard
    ("CREATE TABLE IF NOT EXISTS esm_windows (uuid TEXT NOT NULL, shard_id TEXT NOT NULL, doc BLOB NOT NULL,"
     " PRIMARY KEY (uuid, shard_id)) WITHOUT ROWID"),
]


class TriggersRead:
    """Read queries; `self.conn` is the sqlite3 connection of the transaction."""

    conn: object

    def load_mappings(self) -> list[bytes]:
        """Every mapping's document, in UUID order."""
        return [r[0] for r in self.conn.execute("SELECT doc FROM esm_mappings ORDER BY uuid")]  # type: ignore[attr-defined]

    def load_mapping(self, uuid: str) -> bytes | None:
        row = self.conn.execute("SELECT doc FROM esm_mappings WHERE uuid = ?", (uuid,)).fetchone()  # type: ignore[attr-defined]
        return row[0] if row else None

    def load_checkpoint(self, uuid: str, shard_id: str) -> tuple[int | None, bool] | None:
        """(seq, finished) of one mapping's shard, or None when it has never been checkpointed."""
        row = self.conn.execute(  # type: ignore[attr-defined]
            "SELECT seq, finished FROM esm_checkpoints WHERE uuid = ? AND shard_id = ?", (uuid, shard_id)
        ).fetchone()
        return (row[0], bool(row[1])) if row else None

    def load_checkpoints(self, uuid: str) -> dict[str, tuple[int | None, bool]]:
        rows = self.conn.execute(  # type: ignore[attr-defined]
            "SELECT shard_id, seq, finished FROM esm_checkpoints WHERE uuid = ?", (uuid,)
        )
        return {r[0]: (r[1], bool(r[2])) for r in rows}

    def load_lease(self, uuid: str, shard_id: str) -> tuple[str, float] | None:
        """(owner, expires) of a shard lease, or None."""
        row = self.conn.execute(  # type: ignore[attr-defined]
            "SELECT owner, expires FROM esm_leases WHERE uuid = ? AND shard_id = ?", (uuid, shard_id)
        ).fetchone()
        return (row[0], row[1]) if row else None

    def load_leases(self, uuid: str) -> dict[str, tuple[str, float]]:
        rows = self.conn.execute("SELECT shard_id, owner, expires FROM esm_leases WHERE uuid = ?", (uuid,))  # type: ignore[attr-defined]
        return {r[0]: (r[1], r[2]) for r in rows}

    def load_window(self, uuid: str, shard_id: str) -> bytes | None:
        row = self.conn.execute(  # type: ignore[attr-defined]
            "SELECT doc FROM esm_windows WHERE uuid = ? AND shard_id = ?", (uuid, shard_id)
        ).fetchone()
        return row[0] if row else None


class TriggersWrite:
    """Write statements; only ever mixed into the writer transaction."""

    conn: object

    def save_mapping(self, uuid: str, doc: bytes) -> None:
        self.conn.execute(  # type: ignore[attr-defined]
            "INSERT INTO esm_mappings (uuid, doc) VALUES (?, ?) ON CONFLICT (uuid) DO UPDATE SET doc = excluded.doc",
            (uuid, doc),
        )

    def delete_mapping(self, uuid: str) -> None:
        """The mapping and everything it owns (checkpoints, leases, windows)."""
        for table in ("esm_mappings", "esm_checkpoints", "esm_leases", "esm_windows"):
            self.conn.execute(f"DELETE FROM {table} WHERE uuid = ?", (uuid,))  # type: ignore[attr-defined]

    def save_checkpoint(self, uuid: str, shard_id: str, seq: int | None, finished: bool = False) -> None:
        self.conn.execute(  # type: ignore[attr-defined]
            "INSERT INTO esm_checkpoints (uuid, shard_id, seq, finished) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (uuid, shard_id) DO UPDATE SET seq = excluded.seq, finished = excluded.finished",
            (uuid, shard_id, seq, 1 if finished else 0),
        )

    def take_lease(self, uuid: str, shard_id: str, owner: str, now: float, expires: float) -> bool:
        """Acquire or renew: succeeds when the lease is free, expired, or already `owner`'s."""
        cur = self.conn.execute(  # type: ignore[attr-defined]
            "INSERT INTO esm_leases (uuid, shard_id, owner, expires) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (uuid, shard_id) DO UPDATE SET owner = excluded.owner, expires = excluded.expires"
            " WHERE esm_leases.owner = excluded.owner OR esm_leases.expires < ?",
            (uuid, shard_id, owner, expires, now),
        )
        return cur.rowcount > 0

    def release_lease(self, uuid: str, shard_id: str, owner: str) -> None:
        self.conn.execute(  # type: ignore[attr-defined]
            "DELETE FROM esm_leases WHERE uuid = ? AND shard_id = ? AND owner = ?", (uuid, shard_id, owner)
        )

    def save_window(self, uuid: str, shard_id: str, doc: bytes | None) -> None:
        if doc is None:
            self.conn.execute("DELETE FROM esm_windows WHERE uuid = ? AND shard_id = ?", (uuid, shard_id))  # type: ignore[attr-defined]
        else:
            self.conn.execute(  # type: ignore[attr-defined]
                "INSERT INTO esm_windows (uuid, shard_id, doc) VALUES (?, ?, ?)"
                " ON CONFLICT (uuid, shard_id) DO UPDATE SET doc = excluded.doc",
                (uuid, shard_id, doc),
            )
