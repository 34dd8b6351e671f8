"""`WriteFuture`: the writer's result handle, a `concurrent.futures.Future` without its Condition.

Every write makes one, so its cost is on the hot path: the standard Future builds a
`threading.Condition` (an RLock and Python-level bookkeeping) per instance and takes it on every
state change. This one guards its state with one plain lock and allocates a waiter lock only when
somebody actually blocks in `result()`. It is an instance of `Future` (so `isinstance` checks and
type hints hold) and implements the methods eddydb uses: `done`, `running`, `cancelled`, `cancel`,
`result`, `exception`, `add_done_callback`, `set_running_or_notify_cancel`, `set_result`,
`set_exception`. `concurrent.futures.wait()`/`as_completed()` need the standard Future's
internals and are not supported on it.

A future of a write queued for inline execution (engine/writer.py) flushes that queue when its
owner thread asks for the result, so a synchronous caller on the event-loop thread cannot wait
for work only it would run.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import CancelledError, Future, InvalidStateError
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

__all__ = ["WriteFuture"]

log = logging.getLogger("eddydb.writer")

_PENDING, _RUNNING, _CANCELLED, _FINISHED = "PENDING", "RUNNING", "CANCELLED", "FINISHED"
_allocate_lock = threading.Lock


class WriteFuture(Future):
    """A lean Future (see the module docstring). `flush` is called before blocking in `result()`
    when the caller is the thread that must run the pending work itself."""

    def __init__(self, flush: Callable[[WriteFuture], None] | None = None) -> None:  # no super().__init__: no Condition
        self._state = _PENDING
        self._result: Any = None
        self._exception: BaseException | None = None
        self._callbacks: list[Callable[[Future], Any]] | None = None
        self._blocked: list[Any] | None = None
        self._lock = _allocate_lock()
        self._flush = flush

    def __repr__(self) -> str:
        return f"<WriteFuture at {id(self):#x} state={self._state}>"

    # --- state -----------------------------------------------------------------------------
    def done(self) -> bool:
        return self._state is _FINISHED or self._state is _CANCELLED

    def running(self) -> bool:
        return self._state is _RUNNING

    def cancelled(self) -> bool:
        return self._state is _CANCELLED

    def cancel(self) -> bool:
        with self._lock:
            if self._state is _RUNNING or self._state is _FINISHED:
                return False
            if self._state is _CANCELLED:
                return True
            self._state = _CANCELLED
        self._settled()
        return True

    def set_running_or_notify_cancel(self) -> bool:
        with self._lock:
            if self._state is _CANCELLED:
                return False
            if self._state is not _PENDING:
                raise RuntimeError(f"Future in unexpected state: {self._state}")
            self._state = _RUNNING
            return True

    def set_result(self, result: Any) -> None:
        with self._lock:
            if self._state is _FINISHED or self._state is _CANCELLED:
                raise InvalidStateError(f"{self._state}: {self!r}")
            self._result = result
            self._state = _FINISHED
        self._settled()

    def set_exception(self, exception: BaseException | None) -> None:
        with self._lock:
            if self._state is _FINISHED or self._state is _CANCELLED:
                raise InvalidStateError(f"{self._state}: {self!r}")
            self._exception = exception
            self._state = _FINISHED
        self._settled()

    def _settled(self) -> None:
        # State changes happen under the lock; after that only this thread touches the lists
        # (add_done_callback/_wait see the final state under the lock and do not append).
        waiters, self._blocked = self._blocked, None
        if waiters:
            for w in waiters:
                w.release()
        callbacks, self._callbacks = self._callbacks, None
        if callbacks:
            for cb in callbacks:
                try:
                    cb(self)
                except Exception:
                    log.exception("exception calling callback for %r", self)

    # --- consumers ---------------------------------------------------------------------------
    def add_done_callback(self, fn: Callable[[Future], Any]) -> None:
        with self._lock:
            if not (self._state is _FINISHED or self._state is _CANCELLED):
                if self._callbacks is None:
                    self._callbacks = [fn]
                else:
                    self._callbacks.append(fn)
                return
        try:
            fn(self)
        except Exception:
            log.exception("exception calling callback for %r", self)

    def _wait(self, timeout: float | None) -> None:
        if self._state is _FINISHED or self._state is _CANCELLED:
            return
        if self._flush is not None:
            self._flush(self)
        with self._lock:
            if self._state is _FINISHED or self._state is _CANCELLED:
                return
            w = _allocate_lock()
            w.acquire()
            if self._blocked is None:
                self._blocked = [w]
            else:
                self._blocked.append(w)
        if not w.acquire(True, -1 if timeout is None else timeout):
            raise FutureTimeout()

    def result(self, timeout: float | None = None) -> Any:
        self._wait(timeout)
        if self._state is _CANCELLED:
            raise CancelledError()
        if self._exception is not None:
            try:
                raise self._exception
            finally:
                self = None  # type: ignore[assignment]  # noqa: PLW0642 - breaks the traceback cycle, as Future does
        return self._result

    def exception(self, timeout: float | None = None) -> BaseException | None:
        self._wait(timeout)
        if self._state is _CANCELLED:
            raise CancelledError()
        return self._exception


def waiting_on(inner: Future) -> Callable[[WriteFuture], None]:
    """The `flush` of a future that `inner`'s done-callback settles: blocking on it first waits
    for `inner` (which runs inner's inline write if this is the thread that must)."""

    def flush(_outer: WriteFuture) -> None:
        try:
            inner.exception()
        except CancelledError:
            pass

    return flush
