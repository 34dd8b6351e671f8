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
        for d in store.read().load_tables():
            meta = TableMeta.from_json(d)
            self._tables[meta.name] = meta
        try:
            store.find_table = self.find_table  # type: ignore[attr-defined]
        except AttributeError:
            pass
        self.writer = Writer(store)
        self.writer.add_commit_listener(self._refresh_tables, before_resolve=True)
        self._closed = False

    # --- tables -------------------------------------------------------------------------------
    def table(self, name: str) -> TableMeta:
        """The table's metadata; ResourceNotFoundException ("Requested resource not found") if absent."""
        t = self._tables.get(name)
        if t is None:
            raise ResourceNotFoundException(NOT_FOUND)
        return t

    def find_table(self, name: str) -> TableMeta | None:
        return self._tables.get(name)

    def tables(self) -> list[TableMeta]:
        """Every table, sorted by name."""
        return [self._tables[n] for n in sorted(self._tables)]

    def save_table(self, txn: WriteTxn, meta: TableMeta) -> None:
        """Persist (create or replace) a table's metadata in `txn`; the cache follows at commit."""
        txn.save_table(meta.name, meta.table_id, meta.to_json())
        txn.notes.setdefault("tables", set()).add(meta.name)
        if hasattr(txn, "table_overlay"):
            txn.table_overlay = {**txn.table_overlay, meta.name: meta}

    def drop_table(self, txn: WriteTxn, meta: TableMeta) -> None:
        """Delete a table's metadata, items and index entries in `txn` (stream data is changelog's)."""
        txn.delete_table(meta.name)
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

    def reload_tables(self) -> None:
        """Re-read every table's metadata from the store (e.g. after another process changed it)."""
        fresh = {}
        for d in self.store.read().load_tables():
            meta = TableMeta.from_json(d)
            fresh[meta.name] = meta
        with self._lock:
            self._tables = fresh

    def _refresh_tables(self, notes: dict[str, set]) -> None:
        names = notes.get("tables")
        if not names:
            return
        r = self.store.read()
        with self._lock:
            tables = dict(self._tables)
            for name in names:
                d = r.load_table(name)
                if d is None:
                    tables.pop(name, None)
                else:
                    tables[name] = TableMeta.from_json(d)
            self._tables = tables

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
