"""Push notification of shard growth: a commit listener of the engine's writer turns the shard ids
in `txn.notes["shards"]` into calls of every subscriber, and wakes blocking waiters. Used by
StreamService.subscribe (trigger pollers) and StreamService.wait (embedded/CLI tail)."""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable

__all__ = ["Notifier"]

log = logging.getLogger("eddydb.streams")


class Notifier:
    """Fan-out of 'these shards grew (or closed)' right after each commit."""

    def __init__(self) -> None:
        self._subscribers: list[Callable[[set[str]], None]] = []
        self._lock = threading.Lock()
        self._cond = threading.Condition()
        self._generation = 0
        self._waiters = 0

    def on_commit(self, notes: dict[str, set]) -> None:
        shards = notes.get("shards")
        if not shards:
            return
        self._generation += 1
        if self._waiters:  # (set under the condition before a waiter compares generations)
            with self._cond:
                self._cond.notify_all()
        for cb in self._subscribers:  # a copy-on-write list: safe to iterate without the lock
            try:
                cb(set(shards))
            except Exception:
                log.exception("stream subscriber failed")

    def subscribe(self, callback: Callable[[set[str]], None]) -> Callable[[], None]:
        with self._lock:
            self._subscribers = [*self._subscribers, callback]

        def unsubscribe() -> None:
            with self._lock:
                self._subscribers = [c for c in self._subscribers if c is not callback]

        return unsubscribe

    @property
    def generation(self) -> int:
        return self._generation

    def wait(self, generation: int, timeout: float | None) -> int:
        """Block until a commit appended to some shard after `generation` (or timeout); returns the
        current generation."""
        with self._cond:
            self._waiters += 1
            try:
                if self._generation == generation:
                    self._cond.wait(timeout)
            finally:
                self._waiters -= 1
            return self._generation

    def wake_all(self) -> None:
        with self._cond:
            self._generation += 1
            self._cond.notify_all()
