"""The engine of one database: the table cache, the group-commit writer and read access.

`Engine(store, settings)` is what `Instance` composes and what `api/` handlers reach as
`inst.engine`. Item semantics live in engine/items.py (writes) and engine/reads.py (reads);
table control-plane semantics in engine/tables.py, which persists metadata with
`save_table`/`drop_table` here. TableMeta objects handed out are shared: treat them as
immutable (copy, change, `save_table` the copy).
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from eddydb.config import Settings
from eddydb.engine.catalog import TableMeta
from eddydb.engine.writer import Writer
from eddydb.model.errors import ResourceNotFoundException
from eddydb.storage.base import ReadTxn, Store, WriteTxn

__all__ = ["NOT_FOUND", "Engine"]

NOT_FOUND = "Requested resource not found"


class Engine:
    """Tables, items and indexes over one store; all writes go through `self.writer`."""

    def __init__(self, store: Store, settings: Settings) -> None:
        self.store = store
        self.settings = settings
        self._lock = threading.Lock()
        self._tables: dict[str, TableMeta] = {}
        self._version = -1
        self._watch: Any = None     # the newest catalog version any sibling process loaded (share_catalog)
        self._publish: Any = None   # the same counter, with its lock, to publish ours
        self.reload_tables()
        try:
            store.find_table = self.find_table  # type: ignore[attr-defined]
        except AttributeError:
            pass
        self.writer = Writer(store)
        self.writer.add_commit_listener(self._refresh_tables, before_resolve=True)
        self.writer.add_begin_hook(self._check_catalog)
        self._closed = False

    # --- tables -------------------------------------------------------------------------------
    def share_catalog(self, counter: Any) -> None:
        """Share the catalog version with sibling server processes through `counter` (a
        `multiprocessing.Value("q")`, server/app.py). Every process publishes each newer version it
        loads, which the writer of a table change does before acknowledging it; every process
        reloads its table cache as soon as the published version is newer than its own, so none
        answers from a dropped or changed table another process changed."""
        self._publish = counter
        self._watch = counter.get_obj()   # an aligned 8-byte read: no lock needed to look
        self._publish_version(self._version)

    def _publish_version(self, version: int) -> None:
        lock = self._publish.get_lock()
        # A sibling killed while holding the lock must not hang this process: after a second, publish
        # without it (racing another publisher then may leave an older version up until the next
        # table change; only after a process died mid-publish).
        locked = lock.acquire(timeout=1.0)
        try:
            self._publish.value = max(self._publish.value, version)
        finally:
            if locked:
                lock.release()

    def table(self, name: str) -> TableMeta:
        """The table's metadata; ResourceNotFoundException ("Requested resource not found") if absent."""
        w = self._watch
        if w is not None and w.value > self._version:
            self.reload_tables()
        t = self._tables.get(name)
        if t is None:
            t = self.find_table(name)
            if t is None:
                raise ResourceNotFoundException(NOT_FOUND)
        return t

    def check_tables(self, r: ReadTxn, tables: Any) -> None:
        """Inside the read snapshot `r` of a multi-item read: ResourceNotFoundException if one of
        `tables` (looked up before `r` began) was dropped or recreated meanwhile, so the read never
        answers an empty result from a table that is gone. One catalog-version read."""
        if r.catalog_version() != self._version:  # another process changed tables: as of `r`
            self._load(r)
        current = self._tables
        for t in tables:
            now = current.get(t.name)
            if now is not t and (now is None or now.table_id != t.table_id):
                raise ResourceNotFoundException(NOT_FOUND)

    def find_table(self, name: str) -> TableMeta | None:
        """The table's metadata or None (a miss re-checks the store: another process may have created it)."""
        w = self._watch
        if w is not None and w.value > self._version:
            self.reload_tables()
        t = self._tables.get(name)
        if t is None and self.reload_if_changed():
            t = self._tables.get(name)
        return t

    def tables(self) -> list[TableMeta]:
        """Every table, sorted by name."""
        return [self._tables[n] for n in sorted(self._tables)]

    def save_table(self, txn: WriteTxn, meta: TableMeta) -> None:
        """Persist (create or replace) a table's metadata in `txn`; the cache follows at commit."""
        txn.save_table(meta.name, meta.table_id, meta.to_json())
        txn.next_id("catalog")
        txn.notes.setdefault("tables", set()).add(meta.name)
        if hasattr(txn, "table_overlay"):
            txn.table_overlay = {**txn.table_overlay, meta.name: meta}

    def drop_table(self, txn: WriteTxn, meta: TableMeta) -> None:
        """Delete a table's metadata, items and index entries in `txn` (stream data is changelog's)."""
        txn.delete_table(meta.name)
        txn.next_id("catalog")
        txn.drop_table_items(meta.table_id)
        for index in meta.indexes.values():
            txn.drop_index(index.index_id)
        txn.notes.setdefault("tables", set()).add(meta.name)
        if hasattr(txn, "table_overlay"):
            txn.table_overlay = {**txn.table_overlay, meta.name: None}

    def cache_table(self, meta: TableMeta) -> None:
        """Put `meta` in the cache now (save_table already does this at commit; harmless to repeat)."""
        with self._lock:
            tables = dict(self._tables)
            tables[meta.name] = meta
            self._tables = tables

    def forget_table(self, name: str) -> None:
        """Drop `name` from the cache now (drop_table already does this at commit)."""
        with self._lock:
            tables = dict(self._tables)
            tables.pop(name, None)
            self._tables = tables

    def reload_tables(self, r: ReadTxn | None = None) -> None:
        """Re-read every table's metadata (from `r`, e.g. the writer's transaction, or a snapshot)."""
        if r is None:
            with self.store.read() as snap:
                self._load(snap)
        else:
            self._load(r)

    def _load(self, r: ReadTxn) -> None:
        version = r.catalog_version()
        fresh = {}
        for d in r.load_tables():
            meta = TableMeta.from_json(d)
            fresh[meta.name] = meta
        with self._lock:
            # Several threads reload (lookups that miss, a newer shared version, the writer after a
            # table change): one that read an older snapshot and finishes last must not put back a
            # dropped or changed table; nothing would reload it again until the next table change.
            if version < self._version:
                return
            self._tables = fresh
            self._version = version
        if self._publish is not None:
            self._publish_version(version)

    def reload_if_changed(self) -> bool:
        """Reload the cache if the store's catalog changed (another process); True if it did."""
        if self.store.read().catalog_version() == self._version:
            return False
        self.reload_tables()
        return True

    def _check_catalog(self, txn: WriteTxn) -> None:
        # Inside the batch's write lock: writes always see the tables as committed by any process.
        # A store that can tell nobody else committed since its last batch (SQLite's `foreign`) skips it.
        if getattr(txn, "foreign", True) and txn.catalog_version() != self._version:
            self._load(txn)

    def _refresh_tables(self, notes: dict[str, set]) -> None:
        if notes.get("tables"):
            self.reload_tables()

    # --- plumbing --------------------------------------------------------------------------------
    def add_commit_listener(self, fn: Callable[[dict[str, set]], None]) -> None:
        """Call `fn(notes)` after every commit that produced notes (from the writer thread; keep it short)."""
        self.writer.add_commit_listener(fn)

    def remove_commit_listener(self, fn: Callable[[dict[str, set]], None]) -> None:
        self.writer.remove_commit_listener(fn)

    def read(self) -> ReadTxn:
        """A read transaction for the calling thread (sees the last commit)."""
        return self.store.read()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.writer.close()

    # --- item operations (embedded convenience; api/items.py is the full AWS surface) ------------
    def put_item(self, table: str, item: dict, **kw: Any) -> Any:
        from eddydb.engine.items import PutOp, execute

        meta = self.table(table)
        op = PutOp(meta, item, **kw)
        return self.writer.run(lambda txn: execute(txn, op))

    def get_item(self, table: str, key: dict) -> dict | None:
        from eddydb.engine.reads import get_item

        return get_item(self.store.read(), self.table(table), key)
