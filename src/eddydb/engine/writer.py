"""The group-commit writer: one thread owns the store's write transaction. Every mutation of every
kind (items, tables, TTL deletes, shard rollover, checkpoints, trims) is a function submitted here.

The thread takes every queued function, runs each inside a savepoint of one transaction (an
exception rolls back to the savepoint and fails only that function's future), commits once,
then resolves the futures and calls the commit listeners with the batch's merged `txn.notes`.
Used by `engine.database.Engine` (as `engine.writer`) and everything that writes.
"""
from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

from eddydb.storage.base import Store, WriteTxn

__all__ = ["Writer", "WriterClosed"]

T = TypeVar("T")
log = logging.getLogger("eddydb.writer")

_MAX_BATCH = 1024
_STOP = object()


class WriterClosed(RuntimeError):
    """Raised for work submitted after (or pending at) shutdown."""


class Writer:
    """The single writer thread of one store."""

    def __init__(self, store: Store, *, name: str = "eddydb-writer") -> None:
        self._store = store
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._listeners: list[Callable[[dict[str, set]], None]] = []
        self._pre_listeners: list[Callable[[dict[str, set]], None]] = []
        self._begin_hooks: list[Callable[[WriteTxn], None]] = []
        self._closed = False
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    # --- public ----------------------------------------------------------------------------
    def submit(self, fn: Callable[[WriteTxn], T]) -> Future[T]:
        """Queue `fn(txn)` for the next batch; the future resolves after its batch committed."""
        fut: Future = Future()
        if self._closed:
            fut.set_exception(WriterClosed("the database is closed"))
            return fut
        self._queue.put((fn, fut))
        return fut

    def run(self, fn: Callable[[WriteTxn], T]) -> T:
        """Submit and wait. Must not be called from the writer thread itself (it would deadlock)."""
        if threading.current_thread() is self._thread:
            raise RuntimeError("Writer.run called from inside a write function")
        return self.submit(fn).result()

    def in_writer_thread(self) -> bool:
        return threading.current_thread() is self._thread

    def add_commit_listener(self, fn: Callable[[dict[str, set]], None], *, before_resolve: bool = False) -> None:
        """Call `fn(notes)` after each commit. `before_resolve` listeners run before the batch's
        futures resolve (the engine's own caches); others after (notifiers)."""
        (self._pre_listeners if before_resolve else self._listeners).append(fn)

    def add_begin_hook(self, fn: Callable[[WriteTxn], None]) -> None:
        """Call `fn(txn)` right after each batch's BEGIN (before any submitted function runs)."""
        self._begin_hooks.append(fn)

    def remove_commit_listener(self, fn: Callable[[dict[str, set]], None]) -> None:
        for lst in (self._pre_listeners, self._listeners):
            if fn in lst:
                lst.remove(fn)

    def close(self, timeout: float | None = 10.0) -> None:
        """Finish queued work, then stop the thread."""
        if self._closed:
            return
        self._closed = True
        self._queue.put(_STOP)
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout)

    # --- the thread -------------------------------------------------------------------------
    def _loop(self) -> None:
        q = self._queue
        stopping = False
        while not stopping:
            first = q.get()
            if first is _STOP:
                break
            batch = [first]
            try:
                while len(batch) < _MAX_BATCH:
                    nxt = q.get_nowait()
                    if nxt is _STOP:
                        stopping = True
                        break
                    batch.append(nxt)
            except queue.Empty:
                pass
            self._run_batch(batch)
        # fail anything submitted after the stop marker
        while True:
            try:
                item = q.get_nowait()
            except queue.Empty:
                break
            if item is not _STOP:
                item[1].set_exception(WriterClosed("the database is closed"))

    def _run_batch(self, batch: list[tuple[Callable[[WriteTxn], Any], Future]]) -> None:
        try:
            txn = self._store.begin_write()
            for hook in self._begin_hooks:
                hook(txn)
        except BaseException as e:
            log.exception("cannot begin write transaction")
            try:
                self._store.write_rollback()  # type: ignore[attr-defined]
            except Exception:  # noqa: BLE001
                pass
            for _fn, fut in batch:
                if fut.set_running_or_notify_cancel():
                    fut.set_exception(e)
            return
        done: list[tuple[Future, bool, Any]] = []
        notes: dict[str, set] = {}
        if len(batch) == 1:
            # A batch of one needs no savepoint: on failure the whole transaction is its own.
            fn, fut = batch[0]
            if not fut.set_running_or_notify_cancel():
                txn.rollback()
                return
            txn.notes = {}
            try:
                result = fn(txn)
            except BaseException as e:  # noqa: BLE001 - fails this future only
                try:
                    txn.rollback()
                except BaseException:
                    log.exception("rollback failed")
                fut.set_exception(e)
                return
            todo: list[tuple[Callable[[WriteTxn], Any], Future]] = []
            done.append((fut, True, result))
            notes = txn.notes
        else:
            todo = batch
        try:
            for fn, fut in todo:
                if not fut.set_running_or_notify_cancel():
                    continue
                txn.notes = {}
                txn.savepoint()
                try:
                    result = fn(txn)
                except BaseException as e:  # noqa: BLE001 - fails this future only
                    txn.rollback_to_savepoint()
                    done.append((fut, False, e))
                    continue
                txn.release_savepoint()
                done.append((fut, True, result))
                if txn.notes:
                    for k, v in txn.notes.items():
                        s = notes.get(k)
                        if s is None:
                            notes[k] = set(v)
                        else:
                            s.update(v)
            txn.commit()
        except BaseException as e:
            log.exception("write batch failed")
            try:
                txn.rollback()
            except BaseException:
                log.exception("rollback failed")
            for fn, fut in batch:
                if not fut.done() and (fut.running() or fut.set_running_or_notify_cancel()):
                    fut.set_exception(e)
            return
        for lf in self._pre_listeners:
            try:
                lf(notes)
            except Exception:
                log.exception("commit listener failed")
        for fut, ok, value in done:
            if ok:
                fut.set_result(value)
            else:
                fut.set_exception(value)
        if notes:
            for lf in self._listeners:
                try:
                    lf(notes)
                except Exception:
                    log.exception("commit listener failed")
