"""The PostgreSQL backend (psycopg 3): `eddydb serve --store postgresql://user@host/db[?schema=name]`.

Opened by `storage.open_store` through `open_postgres(settings)`. Composes its transactions from
one mixin per concern (items, streams, triggers, functions: the ports of `storage/sqlite/*`),
each module carrying its DDL in `SCHEMA`; the schema (default "eddydb") is created or migrated at
open and its version recorded in `schema_version`. Several eddydb clusters can share a database
under separate schemas.

Connections: a reader's statement borrows a connection of a `psycopg_pool.ConnectionPool` for its
duration (autocommit: it sees the last commit); `with store.read()` pins one for a REPEATABLE READ
snapshot. The engine's group-commit writer thread owns one more connection, the change watcher
(when something subscribes) one more. `close()` closes every one of them, including those reading
threads still hold. Each connection names its purpose and schema in `application_name`
("eddydb-read:<schema>", "eddydb-write:...", "eddydb-watch:...", "eddydb-schema:...") unless the URL
sets its own, so `pg_stat_activity` tells them apart.

Several processes on one schema (`--workers N`, several hosts): every write batch begins with
`SELECT ... FROM writer_lock WHERE id = 1 FOR UPDATE` at READ COMMITTED. That row lock orders the
batches of all processes exactly as SQLite's BEGIN IMMEDIATE orders them in one file: every
statement after it sees every earlier batch's commit, so conditional writes, transactions, lease
takes and the catalog-version check are serialised with no lost update, and the stream sequence
counter (read once per batch, written back by its COMMIT) hands out unique numbers that commit
in increasing order. Only plain SQL is relied on (row locks, ON CONFLICT, row comparisons); no
advisory locks. Serialization failures and deadlocks (SQLSTATE 40001/40P01, which distributed
engines raise) are reported through `retryable(exc)` so the writer can re-run the whole batch.

Wake-ups: the COMMIT of a batch that appended stream records also runs `pg_notify` (a hint only);
`watch_changes(callback)` delivers other processes' hints, and falls back to polling the sequence
counter (every `POLL_INTERVAL` s) when hints are lost or LISTEN/NOTIFY is unavailable.
"""
from __future__ import annotations

import logging
import os
import re
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Iterator
from typing import Any, Self
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg import errors as pg_errors
from psycopg import pq
from psycopg import sql as pg_sql

from eddydb.storage.base import ReadTxn, Store, WriteTxn
from eddydb.storage.postgres import functions as _functions
from eddydb.storage.postgres import items as _items
from eddydb.storage.postgres import streams as _streams
from eddydb.storage.postgres import tokens as _tokens
from eddydb.storage.postgres import triggers as _triggers
from eddydb.storage.postgres.functions import FunctionsRead, FunctionsWrite
from eddydb.storage.postgres.items import ItemsRead, ItemsWrite
from eddydb.storage.postgres.streams import StreamsRead, StreamsWrite
from eddydb.storage.postgres.tokens import TokensRead, TokensWrite
from eddydb.storage.postgres.triggers import TriggersRead, TriggersWrite

__all__ = ["SCHEMA_VERSION", "PgRead", "PgStore", "PgWrite", "open_postgres", "parse_store_url", "retryable"]

log = logging.getLogger("eddydb.storage.postgres")

SCHEMA_VERSION = 2
DEFAULT_SCHEMA = "eddydb"
POLL_INTERVAL = 0.2          # fallback polling of the sequence counter when a hint is lost
STICKY_THREADS = 2           # reading threads that keep a connection of their own (see _Borrowing)
_MODULES = (_items, _streams, _triggers, _functions, _tokens)
_CORE_SCHEMA: list[str] = [
    # The one row every write batch locks (FOR UPDATE): orders the batches of all processes.
    "CREATE TABLE IF NOT EXISTS writer_lock (id INTEGER PRIMARY KEY CHECK (id = 1), holder TEXT)",
    "INSERT INTO writer_lock (id, holder) VALUES (1, NULL) ON CONFLICT (id) DO NOTHING",
]
# Upgrades from version n-1 to n (index n-1); version 1 is the initial layout.
_MIGRATIONS: list[list[str]] = [
    _tokens.SCHEMA,   # 2: request_tokens (durable ClientRequestToken idempotency)
]
_SCHEMA_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
_RETRYABLE = ("40001", "40P01")


def retryable(exc: BaseException) -> bool:
    """True for errors after which the whole write batch may simply run again (serialization
    failure, deadlock): the writer's functions only touch the transaction."""
    return getattr(exc, "sqlstate", None) in _RETRYABLE


def parse_store_url(url: str) -> tuple[str, str]:
    """`postgresql://user@host/db?schema=name&...` -> (libpq URL without `schema`, schema name)."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    schema = DEFAULT_SCHEMA
    rest = []
    for k, v in query:
        if k == "schema":
            schema = v
        else:
            rest.append((k, v))
    if not _SCHEMA_RE.match(schema):
        raise ValueError(f"invalid schema name {schema!r} in the store URL (letters, digits, _; at most 63)")
    scheme = "postgresql" if parts.scheme in ("postgres", "postgresql") else parts.scheme
    return urlunsplit((scheme, parts.netloc, parts.path, urlencode(rest), parts.fragment)), schema


def open_postgres(settings: Any) -> PgStore:
    """The store `settings.store` (a postgresql:// URL) describes; creates/migrates its schema."""
    return PgStore(settings.store, settings=settings)


def _unstick(store_ref: weakref.ref[PgStore], conn: psycopg.Connection) -> None:
    """A reading thread's own connection, once the thread is gone: back to its store's pool, or
    closed when the store is gone (the finalizer holds the store weakly so it can be collected)."""
    store = store_ref()
    if store is not None:
        store._unstick(conn)
        return
    try:
        conn.close()
    except Exception:  # noqa: BLE001, S110 - closing a broken connection may fail too
        pass


def _last(cur: psycopg.Cursor) -> psycopg.Cursor:
    """Move a multi-statement cursor to its last result."""
    while cur.nextset():
        pass
    return cur


_DIALECT: dict[str, str] = {}


def _pg(query: Any) -> Any:
    """SQLite's `?` placeholders as psycopg's `%s` (the read mixins share SQLite's SQL); cached."""
    if type(query) is not str or "?" not in query:
        return query
    q = _DIALECT.get(query)
    if q is None:
        q = _DIALECT[query] = query.replace("?", "%s")
    return q


class _Translating:
    """The writer's connection as its transaction sees it: `execute` accepts either placeholder."""

    __slots__ = ("raw",)

    def __init__(self, raw: psycopg.Connection) -> None:
        self.raw = raw

    def execute(self, query: Any, args: Any = None) -> psycopg.Cursor:
        return self.raw.execute(_pg(query), args)

    @property
    def info(self) -> Any:
        return self.raw.info


class _Rows:
    """The fetched result of one statement run on a borrowed connection."""

    __slots__ = ("rowcount", "rows")

    def __init__(self, rows: list[tuple], rowcount: int) -> None:
        self.rows = rows
        self.rowcount = rowcount

    def fetchone(self) -> tuple | None:
        return self.rows[0] if self.rows else None

    def fetchall(self) -> list[tuple]:
        return self.rows

    def __iter__(self) -> Iterator[tuple]:
        return iter(self.rows)


class _Borrowing:
    """What a reader's `self.conn` is: the thread's own connection when it got one (the first
    STICKY_THREADS reading threads do, at most half the pool: the server's event loop, which opens
    the store and so reads first, and an embedding program's main thread), else a pool connection
    borrowed for the one statement; autocommit either way (each statement sees the last commit).
    Inside a snapshot one connection stays pinned."""

    __slots__ = ("__weakref__", "own", "pinned", "pool")

    def __init__(self, pool: Any, own: psycopg.Connection | None = None) -> None:
        self.pool = pool
        self.own = own
        self.pinned: psycopg.Connection | None = None

    def execute(self, query: Any, args: Any = None) -> Any:
        query = _pg(query)
        c = self.pinned or self.own
        if c is not None:
            try:
                return c.execute(query, args)
            except psycopg.OperationalError:
                if c is self.own and c.broken:
                    self.own = None        # the pool drops it; later statements borrow
                raise
        with self.pool.connection() as c:
            cur = c.execute(query, args)
            return _Rows(cur.fetchall() if cur.description is not None else [], cur.rowcount)


class PgRead(ItemsRead, StreamsRead, TriggersRead, FunctionsRead, TokensRead, ReadTxn):
    """Reads of one thread. Outside `with`, each statement runs on a connection borrowed from the
    pool (autocommit: it sees the last commit); `with` pins one connection for a REPEATABLE READ
    snapshot of several consistent statements."""

    def __init__(self, conn: Any, store: PgStore) -> None:
        self.conn = conn
        self.store = store
        self._depth = 0

    def __enter__(self) -> Self:
        if self._depth == 0:
            b = self.conn
            b.pinned = b.own or self.store._pool.getconn()
            try:
                b.pinned.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            except BaseException:
                if b.pinned is not b.own:
                    self.store._pool.putconn(b.pinned)
                b.pinned = None
                raise
        self._depth += 1
        return self

    def __exit__(self, *exc: object) -> None:
        self._depth -= 1
        if self._depth == 0:
            b = self.conn
            c, b.pinned = b.pinned, None
            try:
                if c.info.transaction_status == pq.TransactionStatus.INERROR:
                    c.execute("ROLLBACK")
                else:
                    c.execute("COMMIT")
            except psycopg.Error:
                if exc[0] is None:
                    raise
            finally:
                if c is not b.own:
                    self.store._pool.putconn(c)


class PgWrite(ItemsWrite, StreamsWrite, TriggersWrite, FunctionsWrite, TokensWrite, PgRead, WriteTxn):
    """The writer transaction: BEGIN + writer-lock row .. COMMIT around one group-commit batch.

    Savepoints are lazy: `savepoint()` only marks one as wanted and the first writing statement
    of the function opens it (a function that fails before writing needs no rollback), and a
    release is deferred to the next savepoint or the COMMIT, saving round trips."""

    def __init__(self, conn: psycopg.Connection, store: PgStore) -> None:
        super().__init__(_Translating(conn), store)
        self.settings = store.settings
        self.notes: dict[str, set] = {}
        self.active = False
        self.table_overlay: dict[str, Any] = {}
        self._overlay_saved: dict[str, Any] = {}
        self._seq_last: int | None = None
        self._grown: set[str] = set()
        self._catalog: int | None = None
        self._catalog_saved: int | None = None
        self._sp_want = False
        self._sp_open = False
        self._sp_release = False

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def begin(self) -> PgWrite:
        self.notes = {}
        self.table_overlay = {}
        self._seq_last = None
        self._grown = set()
        self._sp_want = self._sp_open = self._sp_release = False
        self.active = True
        cur = _last(self.conn.execute(
            "BEGIN ISOLATION LEVEL READ COMMITTED; SELECT id FROM writer_lock WHERE id = 1 FOR UPDATE;"
            " SELECT value FROM counters WHERE kind = 'catalog'"))
        row = cur.fetchone()
        self._catalog = 0 if row is None else row[0]
        return self

    def catalog_version(self) -> int:
        if self._catalog is not None:
            return self._catalog
        return super().catalog_version()

    def _w(self, sql: str, args: Any = None) -> psycopg.Cursor:
        """Run a writing statement, first opening the pending savepoint of this function."""
        if self._sp_want and not self._sp_open:
            self.conn.execute("RELEASE SAVEPOINT s; SAVEPOINT s" if self._sp_release else "SAVEPOINT s")
            self._sp_release = False
            self._sp_open = True
        return self.conn.execute(sql, args)

    def savepoint(self) -> None:
        self._overlay_saved = self.table_overlay
        self._catalog_saved = self._catalog
        self._sp_want = True
        self._sp_open = False

    def rollback_to_savepoint(self) -> None:
        self.table_overlay = self._overlay_saved
        if self._sp_open:
            self.conn.execute("ROLLBACK TO SAVEPOINT s; RELEASE SAVEPOINT s")
        elif self.conn.info.transaction_status == pq.TransactionStatus.INERROR:
            raise RuntimeError("a statement failed outside a savepoint; the batch must be retried")
        self._sp_want = self._sp_open = False
        self._catalog = self._catalog_saved

    def release_savepoint(self) -> None:
        if self._sp_open:
            self._sp_release = True
        self._sp_want = self._sp_open = False

    def commit(self) -> None:
        self.active = False
        parts = []
        if self._seq_last is not None:
            parts.append(f"UPDATE stream_sequence SET value = greatest(value, {int(self._seq_last)}) WHERE id = 1")
        if self._grown and self.store.notify:
            parts.append(self.store.notify_sql(self._seq_last, self._grown))
        parts.append("COMMIT")
        _last(self.conn.execute("; ".join(parts)))
        if self._seq_last is not None:
            self.store.committed_seq(self._seq_last)

    def rollback(self) -> None:
        self.active = False
        self._seq_last = None
        try:
            if self.conn.info.transaction_status != pq.TransactionStatus.IDLE:
                self.conn.execute("ROLLBACK")
        except psycopg.Error:
            self.store.reset_writer()


class PgStore(Store):
    """One eddydb schema in a PostgreSQL database."""

    kind = "postgresql"

    def __init__(self, url: str, *, settings: Any = None, pool_size: int | None = None) -> None:
        from psycopg_pool import ConnectionPool

        self.settings = settings
        self.url = url
        self.find_table: Any = None    # set by the engine (like SqliteStore)
        self.conninfo, self.schema = parse_store_url(url)
        self.options = f"-c search_path={self.schema}"
        self.token = uuid.uuid4().hex[:12]      # tells this process's own hints apart
        self.channel = f"eddydb_{self.schema}".lower()[:63]
        self.notify = True
        self._closed = False
        self._lock = threading.Lock()
        self._local = threading.local()
        self._seen_seq = 0
        self._watchers: list[Callable[[set[str]], None]] = []
        self._watch_thread: threading.Thread | None = None
        self._migrate()
        size = pool_size or int(os.environ.get("EDDYDB_PG_POOL", "16"))
        # Connections reading threads keep as their own (checked out of the pool until the thread
        # ends or the store closes). Few: a connection kept by a thread that reads now and then
        # (background work, executors living as long as the process) would never go back to the
        # pool, which closes idle connections after a minute; borrowing costs a lock, not a round trip.
        self._owned: set[psycopg.Connection] = set()
        self._sticky = 0
        self._sticky_max = min(STICKY_THREADS, size // 2)
        self._pool = ConnectionPool(self.conninfo, min_size=1, max_size=size, timeout=60.0, max_idle=60.0, open=True,
                                    kwargs={"autocommit": True, "options": self.options,
                                            "fallback_application_name": self._app("read")},
                                    name=f"eddydb-{self.schema}")
        try:
            self._wconn = self._connect_writer()
        except BaseException:
            self._pool.close(timeout=2.0)   # a store that failed to open keeps no connection
            raise
        self._writer = PgWrite(self._wconn, self)
        self.notify = self._probe_notify()

    # --- connections -----------------------------------------------------------------------
    def _app(self, purpose: str) -> str:
        """`application_name` of this store's `purpose` connections (a URL's own name wins)."""
        return f"eddydb-{purpose}:{self.schema}"[:63]

    def _connect(self) -> psycopg.Connection:
        return psycopg.connect(self.conninfo, autocommit=True, options=self.options,
                               fallback_application_name=self._app("watch"))

    def _probe_notify(self) -> bool:
        """Whether this engine runs pg_notify (the COMMIT of a batch must never fail for a hint)."""
        try:
            self._wconn.execute("BEGIN; SELECT pg_notify('eddydb_probe', ''); ROLLBACK")
            return True
        except psycopg.Error:
            try:
                self._wconn.execute("ROLLBACK")
            except psycopg.Error:
                pass
            log.info("pg_notify unavailable: other processes' stream readers rely on polling")
            return False

    def _connect_writer(self) -> psycopg.Connection:
        # A writer that vanishes (host down, network cut) must not hold the writer lock for long:
        # its session ends after 60 s idle inside a transaction, and keepalives detect dead peers.
        return psycopg.connect(self.conninfo, autocommit=True, fallback_application_name=self._app("write"),
                               options=f"{self.options} -c idle_in_transaction_session_timeout=60000",
                               keepalives=1, keepalives_idle=10, keepalives_interval=5, keepalives_count=3)

    def _migrate(self) -> None:
        """Create the schema and tables, or upgrade them, recording the version. Several processes
        may start at once: conflicts on the catalog are retried."""
        for attempt in range(20):
            try:
                with psycopg.connect(self.conninfo, autocommit=True,
                                     fallback_application_name=self._app("schema")) as c:
                    c.execute(pg_sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(pg_sql.Identifier(self.schema)))
                    c.execute(pg_sql.SQL("SET search_path = {}").format(pg_sql.Identifier(self.schema)))
                    with c.transaction():
                        c.execute("CREATE TABLE IF NOT EXISTS schema_version (id INTEGER PRIMARY KEY"
                                  " CHECK (id = 1), version INTEGER NOT NULL, updated DOUBLE PRECISION NOT NULL)")
                        c.execute("INSERT INTO schema_version (id, version, updated) VALUES (1, 0, %s)"
                                  " ON CONFLICT (id) DO NOTHING", (time.time(),))
                        (version,) = c.execute(
                            "SELECT version FROM schema_version WHERE id = 1 FOR UPDATE").fetchone()  # type: ignore[misc]
                        if version > SCHEMA_VERSION:
                            raise RuntimeError(f"schema {self.schema!r} has version {version}, newer than this"
                                               f" eddydb ({SCHEMA_VERSION}): upgrade eddydb")
                        if version < SCHEMA_VERSION:
                            if version == 0:
                                for ddl in _CORE_SCHEMA:
                                    c.execute(ddl)
                                for mod in _MODULES:
                                    for ddl in mod.SCHEMA:
                                        c.execute(ddl)
                                version = 1
                            while version < SCHEMA_VERSION:
                                for ddl in _MIGRATIONS[version - 1]:
                                    c.execute(ddl)
                                version += 1
                            c.execute("UPDATE schema_version SET version = %s, updated = %s WHERE id = 1",
                                      (version, time.time()))
                return
            except (pg_errors.UniqueViolation, pg_errors.DuplicateTable, pg_errors.DuplicateObject,
                    pg_errors.DuplicateSchema, pg_errors.SerializationFailure, pg_errors.DeadlockDetected):
                time.sleep(0.05 * (attempt + 1))
        raise RuntimeError(f"could not create the eddydb schema {self.schema!r}")

    def read(self) -> PgRead:
        r = getattr(self._local, "r", None)
        if r is None:
            if self._closed:
                raise RuntimeError("store is closed")
            own = None
            with self._lock:
                take = self._sticky < self._sticky_max
                if take:
                    self._sticky += 1
            if take:
                try:
                    own = self._pool.getconn()
                except Exception:
                    with self._lock:
                        self._sticky -= 1
                    raise
                with self._lock:
                    self._owned.add(own)
            b = _Borrowing(self._pool, own)
            r = self._local.r = PgRead(b, self)
            if own is not None:
                # the thread's own connection goes back to the pool when the thread is gone
                weakref.finalize(b, _unstick, weakref.ref(self), own)
        return r

    def _unstick(self, conn: psycopg.Connection) -> None:
        with self._lock:
            if conn not in self._owned:
                return                 # close() already took it
            self._owned.discard(conn)
            self._sticky -= 1
        try:
            self._pool.putconn(conn)   # closes it when the pool is closed
        except Exception:  # noqa: BLE001, S110 - a connection the pool no longer knows: dropped
            pass

    def begin_write(self) -> PgWrite:
        if self._wconn.closed or self._wconn.broken:
            self.reset_writer()
        return self._writer.begin()

    def write_rollback(self) -> None:
        """Abandon the writer transaction if one is open (the writer's recovery path)."""
        self._writer.rollback()

    def reset_writer(self) -> None:
        """Replace the writer's connection (after it broke)."""
        try:
            self._wconn.close()
        except Exception:  # noqa: BLE001, S110 - closing a broken connection may fail too
            pass
        self._wconn = self._connect_writer()
        self._writer.conn = _Translating(self._wconn)

    @property
    def write_connection(self) -> psycopg.Connection:
        return self._wconn

    retryable = staticmethod(retryable)

    # --- wake-up hints across processes ---------------------------------------------------------
    def notify_sql(self, seq: int | None, shards: set[str]) -> str:
        payload = f"{self.token} {seq or 0} {','.join(sorted(shards))}"
        if len(payload) > 7000:
            payload = f"{self.token} {seq or 0} *"
        return pg_sql.SQL("SELECT pg_notify({}, {})").format(
            pg_sql.Literal(self.channel), pg_sql.Literal(payload)).as_string(self._wconn)

    def committed_seq(self, seq: int) -> None:
        self._seen_seq = max(self._seen_seq, seq)

    def watch_changes(self, callback: Callable[[set[str]], None]) -> Callable[[], None]:
        """Call `callback(shard_ids)` (from a background thread) when another process committed
        stream records to those shards. A wake-up hint only: LISTEN/NOTIFY when it works, else
        (or when a hint is lost) polling of the sequence counter every POLL_INTERVAL seconds, which
        reports every open shard. Returns an unsubscribe function."""
        with self._lock:
            self._watchers = [*self._watchers, callback]
            if self._watch_thread is None and not self._closed:
                self._watch_thread = threading.Thread(target=self._watch_loop, name="eddydb-pg-watch", daemon=True)
                self._watch_thread.start()

        def unsubscribe() -> None:
            with self._lock:
                self._watchers = [c for c in self._watchers if c is not callback]

        return unsubscribe

    def _fire(self, shards: set[str]) -> None:
        for cb in self._watchers:
            try:
                cb(set(shards))
            except Exception:
                log.exception("change watcher failed")

    def _watch_loop(self) -> None:
        suspect: int | None = None
        while not self._closed:
            try:
                conn = self._connect()
            except psycopg.Error:
                time.sleep(1.0)
                continue
            try:
                listening = False
                try:
                    conn.execute(pg_sql.SQL("LISTEN {}").format(pg_sql.Identifier(self.channel)))
                    listening = True
                except psycopg.Error:
                    log.info("LISTEN unavailable: polling the sequence counter for stream wake-ups")
                first = conn.execute("SELECT value FROM stream_sequence WHERE id = 1").fetchone()[0]  # type: ignore[index]
                self._seen_seq = max(self._seen_seq, first)
                while not self._closed:
                    if listening:
                        for n in conn.notifies(timeout=POLL_INTERVAL):
                            self._on_hint(n.payload)
                            if self._closed:
                                break
                    else:
                        time.sleep(POLL_INTERVAL)
                    if self._closed:
                        break
                    # Fallback: the counter moved past every hint we heard, twice in a row.
                    value = conn.execute("SELECT value FROM stream_sequence WHERE id = 1").fetchone()[0]  # type: ignore[index]
                    if value > self._seen_seq:
                        if suspect is not None and suspect > self._seen_seq:
                            self._seen_seq = max(self._seen_seq, suspect)
                            rows = conn.execute("SELECT shard_id FROM shards WHERE end_seq IS NULL"
                                                " OR end_seq > %s", (self._seen_seq - 1,)).fetchall()
                            if rows:
                                self._fire({r[0] for r in rows})
                            suspect = None
                        else:
                            suspect = value
                    else:
                        suspect = None
            except Exception:
                if not self._closed:
                    log.debug("change watcher reconnecting", exc_info=True)
                    time.sleep(0.5)
            finally:
                try:
                    conn.close()
                except Exception:  # noqa: BLE001, S110 - closing a broken connection may fail too
                    pass

    def _on_hint(self, payload: str) -> None:
        token, _, rest = payload.partition(" ")
        seq_text, _, shards = rest.partition(" ")
        try:
            seq = int(seq_text)
        except ValueError:
            seq = 0
        self._seen_seq = max(self._seen_seq, seq)
        if token == self.token or not shards:
            return
        if shards == "*":
            with self.read() as r:
                ids = {row[0] for row in r.open_shards()}
            self._fire(ids)
        else:
            self._fire(set(shards.split(",")))

    # --- lifecycle ---------------------------------------------------------------------------
    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        t = self._watch_thread
        if t is not None:
            t.join(timeout=2 * POLL_INTERVAL + 1)
        try:
            if self._wconn.info.transaction_status != pq.TransactionStatus.IDLE:
                self._wconn.execute("ROLLBACK")
            self._wconn.close()
        except Exception:  # noqa: BLE001, S110 - closing a broken connection may fail too
            pass
        # Threads that read keep their own connection until they end; the embedding process's
        # threads (its main thread, shared executors) may outlive this store by far.
        with self._lock:
            owned, self._owned = self._owned, set()
        for c in owned:
            try:
                self._pool.putconn(c)
            except Exception:  # noqa: BLE001 - a connection the pool no longer knows: dropped
                try:
                    c.close()
                except Exception:  # noqa: BLE001, S110 - closing a broken connection may fail too
                    pass
        try:
            self._pool.close(timeout=2.0)
        except Exception:  # noqa: BLE001, S110 - closing a broken connection may fail too
            pass
