"""The SQLite backend: one database file in WAL mode, one writer connection (used only by the
engine's group-commit writer thread), one read connection per reading thread.

`SqliteStore` composes its transactions from one mixin per concern (items, streams, triggers,
functions); each concern module carries its own DDL in `SCHEMA`, executed at open.
Opened by `storage.open_store`.
"""
from __future__ import annotations

import logging
import os
import shutil
import sqlite3
import tempfile
import threading
import weakref
from typing import Any, Self

from eddydb.storage.base import ReadTxn, Store, WriteTxn
from eddydb.storage.sqlite import functions as _functions
from eddydb.storage.sqlite import items as _items
from eddydb.storage.sqlite import streams as _streams
from eddydb.storage.sqlite import tokens as _tokens
from eddydb.storage.sqlite import triggers as _triggers
from eddydb.storage.sqlite.functions import FunctionsRead, FunctionsWrite
from eddydb.storage.sqlite.items import ItemsRead, ItemsWrite
from eddydb.storage.sqlite.streams import StreamsRead, StreamsWrite
from eddydb.storage.sqlite.tokens import TokensRead, TokensWrite
from eddydb.storage.sqlite.triggers import TriggersRead, TriggersWrite

__all__ = ["SqliteRead", "SqliteStore", "SqliteWrite"]

_MODULES = (_items, _streams, _triggers, _functions, _tokens)
# Checkpoints (copying the WAL into the database) run on a background thread every _CHECKPOINT_EVERY
# seconds when something committed. Each starts with an fsync of the WAL, and an fsync of a file
# stalls whoever appends to it meanwhile (the writer committing: measured up to ~50 ms on this VM's
# disk, longer the more there is to flush), so small frequent checkpoints beat large rare ones.
_CHECKPOINT_EVERY = 0.25
# WAL restarts. Under sustained writes the WAL never starts over by itself (that needs a complete
# checkpoint with no frame appended meanwhile), so it grows. A RESTART checkpoint run by another
# connection holds the write lock while it copies and syncs, and waits (busy timeout) for readers: it
# stalled writes for up to a second, and the commit after it truncated a WAL grown to 1 GB (another
# ~0.8 s). So the background thread only copies (PASSIVE, repeated while the writer keeps appending)
# and asks the writer to restart the WAL at the start of its next batch: after a quiet interval once it
# passed _WAL_RESTART_PAGES (~16 MB), or under load once it passed _WAL_MAX_PAGES (~256 MB). A restart
# costs the writer two fsyncs: a few ms on a quiet disk, 100-200 ms measured under a bulk load that
# appends ~100 MB/s of WAL (a restart every ~2.5 s there, against a ~1.8 s stall per 1 GB before);
# with a zero busy timeout a reader still on an old snapshot makes it try again later instead of
# waiting. Readers do not slow down with a long WAL: they look up only
# frames not yet copied into the database.
_WAL_RESTART_PAGES = 4096
_WAL_MAX_PAGES = 65536
_WAL_SIZE_LIMIT = 4096 * _WAL_MAX_PAGES + (1 << 20)  # journal_size_limit: no truncation on the write path


class SqliteRead(ItemsRead, StreamsRead, TriggersRead, FunctionsRead, TokensRead, ReadTxn):
    """Reads on one thread's connection. Autocommit: each statement sees the last commit;
    `with` opens a snapshot (BEGIN .. COMMIT) for several consistent statements."""

    def __init__(self, conn: sqlite3.Connection, store: SqliteStore) -> None:
        self.conn = conn
        self.store = store
        self._depth = 0

    def __enter__(self) -> Self:
        if self._depth == 0:
            self.conn.execute("BEGIN")
        self._depth += 1
        return self

    def __exit__(self, *exc: object) -> None:
        self._depth -= 1
        if self._depth == 0:
            self.conn.execute("COMMIT")


class SqliteWrite(ItemsWrite, StreamsWrite, TriggersWrite, FunctionsWrite, TokensWrite, SqliteRead, WriteTxn):
    """The writer transaction: BEGIN IMMEDIATE .. COMMIT around one group-commit batch."""

    def __init__(self, conn: sqlite3.Connection, store: SqliteStore) -> None:
        super().__init__(conn, store)
        self.settings = store.settings      # changelog reads stream_partitions / shard_rollover here
        self.notes: dict[str, set] = {}
        self.active = False
        # table name -> TableMeta (None = dropped) changed earlier in this batch; copy-on-write so a
        # savepoint rollback restores the previous dict (engine.save_table/drop_table maintain it)
        self.table_overlay: dict[str, Any] = {}
        self._overlay_saved: dict[str, Any] = {}

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def begin(self) -> SqliteWrite:
        if self.store._restart_wanted:
            self.store._restart_wanted = False
            self.restart_wal()
        self.conn.execute("BEGIN IMMEDIATE")
        # Another connection (a `--workers` sibling, a CLI on the same directory) committed since our
        # last batch: caches of committed state (sequence counter, open shards) must be re-read.
        version = self.conn.execute("PRAGMA data_version").fetchone()[0]
        # data_version changes only with other connections' commits: when it did not, the catalog
        # (table metadata) is as this process last committed it (`foreign` spares the engine a query)
        self.foreign = version != self.__dict__.get("_data_version")
        if self.foreign:
            self.__dict__["_data_version"] = version
            self.foreign_commit()
        self.notes = {}
        self.table_overlay = {}
        self.active = True
        return self

    def restart_wal(self) -> bool:
        """Copy what is left of the WAL and start it over (outside a transaction, between batches).
        Never waits: False if a reader still uses an old snapshot (the checkpointer asks again)."""
        c = self.conn
        c.execute("PRAGMA busy_timeout=0")
        try:
            busy, _log, _copied = c.execute("PRAGMA wal_checkpoint(RESTART)").fetchone()
        except sqlite3.Error:
            busy = 1
        finally:
            c.execute("PRAGMA busy_timeout=30000")
        return not busy

    def mark(self) -> tuple[int, dict[str, Any]]:
        # total_changes: rows inserted, updated or deleted by this connection's completed statements
        return self.conn.total_changes, self.table_overlay

    def unwind(self, mark: tuple[int, dict[str, Any]]) -> bool:
        if self.conn.total_changes != mark[0]:
            return False
        self.table_overlay = mark[1]
        return True

    def savepoint(self) -> None:
        self._overlay_saved = self.table_overlay
        self.conn.execute("SAVEPOINT s")

    def rollback_to_savepoint(self) -> None:
        self.table_overlay = self._overlay_saved
        self.conn.execute("ROLLBACK TO s")
        self.conn.execute("RELEASE s")

    def release_savepoint(self) -> None:
        self.conn.execute("RELEASE s")

    def commit(self) -> None:
        self.active = False
        self.conn.execute("COMMIT")
        self.store._commits += 1

    def rollback(self) -> None:
        self.active = False
        if self.conn.in_transaction:
            self.conn.execute("ROLLBACK")


_log = logging.getLogger("eddydb.storage")
_WATCH_EVERY = 0.05  # seconds between cross-process change checks


class SqliteStore(Store):
    """One SQLite database (a file under `data`, or a private temporary file when `path` is None)."""

    kind = "sqlite"
    inline_writes = True

    def __init__(self, path: str | None, *, sync: str = "normal", settings: Any = None) -> None:
        self.settings = settings
        # set by the engine: name -> committed TableMeta | None (lets write fns see the current table)
        self.find_table: Any = None
        self._tmpdir: str | None = None
        if path is None:
            # A private temp file rather than a shared-cache memory db: shared cache has table-level
            # locks (readers would block on the open group-commit transaction); WAL on a file does not.
            self._tmpdir = tempfile.mkdtemp(prefix="eddydb-")
            path = os.path.join(self._tmpdir, "eddydb.sqlite3")
            sync = "off"
        self.path = path
        self.sync = sync
        self._local = threading.local()
        # weak: a thread's reader (and its connection) goes away with the thread's locals
        self._readers: weakref.WeakSet[SqliteRead] = weakref.WeakSet()
        self._lock = threading.Lock()
        self._closed = False
        self._wconn = self._connect(cache_kb=65536)
        self._wconn.execute("PRAGMA journal_mode=WAL")
        # Checkpoints run on their own thread (below): inside COMMIT their fsync would stall the writer
        # and every write queued behind it.
        self._wconn.execute("PRAGMA wal_autocheckpoint=0")
        self._wconn.execute(f"PRAGMA journal_size_limit={_WAL_SIZE_LIMIT}")
        for mod in _MODULES:
            for ddl in mod.SCHEMA:
                self._wconn.execute(ddl)
        if _items.migrate(self._wconn):
            _log.warning("rebuilt %s in key order (a one-off for data written by an earlier eddydb)", path)
        self._writer = SqliteWrite(self._wconn, self)
        self._restart_wanted = False  # set by the checkpointer, done by the writer (SqliteWrite.restart_wal)
        self._commits = 0
        self._stop = threading.Event()
        self._checkpointer = threading.Thread(target=self._checkpoint_loop, name="eddydb-checkpoint", daemon=True)
        self._checkpointer.start()

    def watch_changes(self, callback: Any) -> Any:
        """Call `callback(shard_ids)` from a background thread when stream records were committed to
        those shards by any connection (other processes included: `--workers`, a CLI on the same
        directory). A wake-up hint only, found by polling `PRAGMA data_version` every
        _WATCH_EVERY seconds; this process's own commits may be reported again. Returns an
        unsubscribe function."""
        with self._lock:
            self._watchers = [*getattr(self, "_watchers", []), callback]
            if getattr(self, "_watch_thread", None) is None and not self._closed:
                # the baseline is taken before returning: nothing committed after this call is missed
                self._watch_conn = self._connect(cache_kb=1024)
                self._watch_base = self._open_shard_tops(self._watch_conn)
                self._watch_thread = threading.Thread(target=self._watch_loop, name="eddydb-watch", daemon=True)
                self._watch_thread.start()

        def unsubscribe() -> None:
            with self._lock:
                self._watchers = [c for c in self._watchers if c is not callback]

        return unsubscribe

    def _watch_loop(self) -> None:
        conn = self._watch_conn
        version, last = None, self._watch_base
        try:
            while True:
                now = conn.execute("PRAGMA data_version").fetchone()[0]
                if now != version:
                    version = now
                    tops = self._open_shard_tops(conn)
                    grown = {sid for sid, top in tops.items() if last.get(sid) != top}
                    last = tops
                    for cb in list(self._watchers) if grown else ():
                        try:
                            cb(set(grown))
                        except Exception:  # noqa: BLE001 - a watcher's bug must not stop the hints
                            _log.exception("change watcher failed")
                if self._stop.wait(_WATCH_EVERY):
                    break
        except sqlite3.Error:
            pass  # the store is closing
        finally:
            conn.close()

    @staticmethod
    def _open_shard_tops(conn: sqlite3.Connection) -> dict[str, int]:
        """Highest committed sequence number of every open shard that has records."""
        # one max() seek per open shard (a GROUP BY over the join read every record of open shards,
        # which under load was a fifth of the server's CPU at a 50 ms cadence)
        return {sid: top for sid, top in conn.execute(
            "SELECT s.shard_id, (SELECT max(r.seq) FROM stream_records r WHERE r.shard_id = s.shard_id)"
            " FROM shards s WHERE s.end_seq IS NULL"
        ).fetchall() if top is not None}

    def _checkpoint_loop(self) -> None:
        """Copy the WAL into the database (PASSIVE: never blocks the writer or readers) when commits
        happened, and ask the writer to restart a WAL that grew past _WAL_RESTART_PAGES."""
        conn = self._connect(cache_kb=2048)
        done = 0   # not self._commits: this thread may start after the first commits
        log_pages = 0
        try:
            while not self._stop.wait(_CHECKPOINT_EVERY):
                commits = self._commits
                if commits == done:
                    # quiet for a whole interval (and the WAL copied): the next batch starts it over
                    if log_pages > _WAL_RESTART_PAGES:
                        self._restart_wanted = True
                        log_pages = 0
                    continue
                try:
                    for _ in range(4):  # each pass copies what the writer appended during the last
                        _busy, log, copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                        if log < 0:  # another connection is checkpointing (-1, -1): again next round
                            break
                        log_pages = log
                        if log - copied < 256:
                            break
                    if log < 0:
                        continue
                    done = commits
                    if log_pages > _WAL_MAX_PAGES:
                        self._restart_wanted = True  # writes never pause: the next batch restarts it
                except sqlite3.Error:  # busy with another process's checkpoint: next round
                    pass
        finally:
            conn.close()

    def _connect(self, cache_kb: int = 16384) -> sqlite3.Connection:
        # readers also share the OS page cache through mmap, so their private caches stay smaller
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False,
                               cached_statements=512, timeout=30.0)
        conn.execute(f"PRAGMA synchronous={self.sync.upper()}")
        conn.execute("PRAGMA busy_timeout=30000")
        conn.execute(f"PRAGMA cache_size=-{cache_kb}")
        conn.execute("PRAGMA temp_store=MEMORY")
        conn.execute("PRAGMA mmap_size=268435456")
        return conn

    def read(self) -> SqliteRead:
        r = getattr(self._local, "r", None)
        if r is None:
            if self._closed:
                raise RuntimeError("store is closed")
            r = self._local.r = SqliteRead(self._connect(), self)
            with self._lock:
                self._readers.add(r)
        return r

    def begin_write(self) -> SqliteWrite:
        return self._writer.begin()

    def write_rollback(self) -> None:
        """Abandon the writer transaction if one is open (the writer's recovery path)."""
        self._writer.rollback()

    @property
    def write_connection(self) -> sqlite3.Connection:
        """The writer's connection (for maintenance run through the writer thread only)."""
        return self._wconn

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._stop.set()
        if self._checkpointer is not threading.current_thread():
            self._checkpointer.join(10)
        with self._lock:
            readers = list(self._readers)
            self._readers = weakref.WeakSet()
        for r in readers:
            try:
                r.conn.close()
            except sqlite3.Error:
                pass
        try:
            if self._wconn.in_transaction:
                self._wconn.execute("ROLLBACK")
            if self._tmpdir is None:
                # a tidy WAL for the next start, if nobody else (a sibling worker still serving)
                # holds it: never worth more than a moment of the shutdown
                self._wconn.execute("PRAGMA busy_timeout=1000")
                self._wconn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self._wconn.close()
        except sqlite3.Error:
            pass
        if self._tmpdir is not None:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
