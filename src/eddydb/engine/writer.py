"""The group-commit writer: one thread owns the store's write transaction. Every mutation of every
kind (items, tables, TTL deletes, shard rollover, checkpoints, trims) is a function submitted here.

The thread takes every queued function, runs them all in one transaction, commits once, then
resolves the futures and calls the commit listeners with the batch's merged `txn.notes`. A
function that raises fails only its own future: it is undone alone, by a savepoint around it or,
on a store that can tell nothing was written since it started (SQLite), with no statement at all;
a function that raised after writing there makes the batch start over with savepoints (`_apply`).
Used by `engine.database.Engine` (as `engine.writer`) and everything that writes.

Inline batches. Handing every write to this thread and back costs two GIL hand-offs and wake-ups
per request, which on a small machine is more than the write itself. So a thread that runs an
event loop (the HTTP server's) can `attach_inline(loop.call_soon)`: writes it submits with
`inline=True` are collected and, once per loop iteration, run as one batch right there, through
the same `_run_batch`, under the mutex that the writer thread also holds for each of its batches.
If the writer thread is busy at that moment the batch goes to its queue instead (the loop never
waits for a lock). Either way a batch is one transaction and the listeners see it the same way.
"""
from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

from eddydb.engine.futures import WriteFuture
from eddydb.storage.base import Store, WriteTxn

__all__ = ["Writer", "WriterClosed"]

T = TypeVar("T")
_get_ident = threading.get_ident
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
        self._mutex = threading.Lock()           # held while a batch runs, on whichever thread
        self._runner: int | None = None          # ident of the thread running a batch right now
        self._inline_ident: int | None = None
        self._inline_schedule: Callable[[Callable[[], None]], Any] | None = None
        self._inline_pending: list[tuple[Callable[[WriteTxn], Any], Future]] = []
        self._inline_scheduled = False
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    # --- public ----------------------------------------------------------------------------
    def submit(self, fn: Callable[[WriteTxn], T], *, inline: bool = False) -> Future[T]:
        """Queue `fn(txn)` for the next batch; the future resolves after its batch committed.

        `inline=True` (short item writes) lets the attached loop thread run it itself at the end
        of the current loop iteration, when that is the calling thread (see the module docstring).
        """
        if inline and self._inline_ident == _get_ident():
            fut = WriteFuture(self._flush_for)
            if self._closed:
                fut.set_exception(WriterClosed("the database is closed"))
                return fut
            self._inline_pending.append((fn, fut))
            if not self._inline_scheduled:
                self._inline_scheduled = True
                self._inline_schedule(self.flush_inline)  # type: ignore[misc]
            return fut
        fut = WriteFuture()
        if self._closed:
            fut.set_exception(WriterClosed("the database is closed"))
            return fut
        self._queue.put((fn, fut))
        return fut

    def run(self, fn: Callable[[WriteTxn], T]) -> T:
        """Submit and wait. Must not be called from inside a write function (it would deadlock)."""
        if self.in_writer_thread():
            raise RuntimeError("Writer.run called from inside a write function")
        return self.submit(fn).result()

    def in_writer_thread(self) -> bool:
        """True on the writer thread and on a thread running an inline batch right now."""
        return threading.current_thread() is self._thread or self._runner == _get_ident()

    def attach_inline(self, schedule: Callable[[Callable[[], None]], Any]) -> None:
        """Let the calling thread (an event loop's) run its `inline=True` writes itself:
        `schedule(cb)` must call `cb` on this thread soon, after the callbacks now running
        (`loop.call_soon`)."""
        self._inline_ident = _get_ident()
        self._inline_schedule = schedule

    def detach_inline(self) -> None:
        """Stop inline execution; anything still collected goes to the writer thread."""
        self._inline_ident = None
        pending, self._inline_pending = self._inline_pending, []
        for item in pending:
            self._queue.put(item)

    def flush_inline(self) -> None:
        """Run the collected inline writes as one batch on this thread now (or, if the writer
        thread holds the mutex, hand them to it)."""
        self._inline_scheduled = False
        batch = self._inline_pending
        if not batch:
            return
        self._inline_pending = []
        if not self._mutex.acquire(False):
            for item in batch:
                self._queue.put(item)
            return
        try:
            self._run_holding_mutex(batch)
        finally:
            self._mutex.release()

    def _flush_for(self, fut: WriteFuture) -> None:
        """`WriteFuture.result()` on the loop thread: run the collected writes before blocking
        (nobody else would). Elsewhere a no-op."""
        if self._inline_ident == _get_ident() and self._runner is None:
            pending = self._inline_pending
            if any(f is fut for _fn, f in pending):
                self._inline_pending = []
                with self._mutex:
                    self._run_holding_mutex(pending)

    def _run_holding_mutex(self, batch: list[tuple[Callable[[WriteTxn], Any], Future]]) -> None:
        self._runner = _get_ident()
        try:
            self._run_batch(batch)
        finally:
            self._runner = None

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
        self.detach_inline()
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
            with self._mutex:
                self._run_holding_mutex(batch)
        # fail anything submitted after the stop marker
        while True:
            try:
                item = q.get_nowait()
            except queue.Empty:
                break
            if item is not _STOP:
                item[1].set_exception(WriterClosed("the database is closed"))

    @staticmethod
    def _apply(txn: WriteTxn, todo: list[tuple[Callable[[WriteTxn], Any], Future]],
               savepoints: bool) -> tuple[list[tuple[Future, bool, Any]], dict[str, set]] | None:
        """Run the functions of a batch in `txn`; a function that raises is undone alone.

        Without `savepoints` a store that can `mark` its state takes none: a function that raised
        before writing anything (a failed condition, a validation error) has only in-memory state to
        undo (`unwind`). One that raised after writing makes this return None (start over with
        savepoints). Saves the SAVEPOINT and RELEASE statements of every write that succeeds."""
        done: list[tuple[Future, bool, Any]] = []
        notes: dict[str, set] = {}
        mark: Any = None
        for fn, fut in todo:
            if not fut.running() and not fut.set_running_or_notify_cancel():
                continue  # cancelled (a second pass finds the others running already)
            txn.notes = {}
            if savepoints:
                txn.savepoint()
            else:
                mark = txn.mark()
            try:
                result = fn(txn)
            except BaseException as e:  # noqa: BLE001 - fails this future only
                if savepoints:
                    txn.rollback_to_savepoint()
                elif not txn.unwind(mark):
                    return None
                done.append((fut, False, e))
                continue
            if savepoints:
                txn.release_savepoint()
            done.append((fut, True, result))
            if txn.notes:
                for k, v in txn.notes.items():
                    s = notes.get(k)
                    if s is None:
                        notes[k] = set(v)
                    else:
                        s.update(v)
        return done, notes

    def _run_batch(self, batch: list[tuple[Callable[[WriteTxn], Any], Future]]) -> None:
        try:
            txn = self._store.begin_write()
            for hook in self._begin_hooks:
                hook(txn)
        except BaseException as e:
            log.exception("cannot begin write transaction")
            try:
                self._store.write_rollback()  # type: ignore[attr-defined]
            except Exception:
                log.debug("rollback after a failed begin failed too", exc_info=True)
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
            if todo:
                applied = self._apply(txn, todo, savepoints=txn.mark() is None)
                if applied is None:
                    # A function raised after it had written, which only a savepoint around it could
                    # undo alone: the batch starts over, this time with a savepoint around each.
                    txn.rollback()
                    txn = self._store.begin_write()
                    for hook in self._begin_hooks:
                        hook(txn)
                    applied = self._apply(txn, todo, savepoints=True)
                done, notes = applied  # type: ignore[misc]
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
