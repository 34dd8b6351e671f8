"""One eddydb database: the store, the engine, the streams, the function runtime and the
trigger mappings, composed. The server and the embedded API each hold one Instance."""
from __future__ import annotations

import logging
import threading
from typing import Any

from eddydb.config import Settings

__all__ = ["Instance"]

log = logging.getLogger("eddydb")


class Instance:
    """Composes the layers for one database; components that cost processes start lazily."""

    def __init__(self, settings: Settings | None = None) -> None:
        from eddydb.engine.database import Engine
        from eddydb.storage import open_store
        from eddydb.streams.service import StreamService

        self.settings = settings or Settings()
        self.store = open_store(self.settings)
        self.engine = Engine(self.store, self.settings)
        self.streams = StreamService(self.engine, self.store, self.settings)
        self._lock = threading.Lock()
        self._functions: Any = None
        self._mappings: Any = None
        self._background: list[Any] = []
        self._closed = False

    @property
    def functions(self):
        """The function runtime (worker processes, in-process callables); created on first use."""
        with self._lock:
            if self._functions is None:
                from eddydb.triggers.runtime import FunctionRuntime

                self._functions = FunctionRuntime(self)
            return self._functions

    @property
    def mappings(self):
        """Event source mappings (stream triggers); created on first use."""
        with self._lock:
            if self._mappings is None:
                from eddydb.triggers.mappings import MappingManager

                self._mappings = MappingManager(self)
            return self._mappings

    def start_background(self) -> None:
        """TTL sweeper, shard rollover and retention, and the mapping processors."""
        from eddydb.engine.ttl import TtlSweeper

        sweeper = TtlSweeper(self.engine, self.settings)
        sweeper.start()
        self._background.append(sweeper)
        self.streams.start_background()
        self.mappings.start()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for b in reversed(self._background):
            b.stop()
        if self._mappings is not None:
            self._mappings.stop()
        if self._functions is not None:
            self._functions.close()
        self.streams.close()
        self.engine.close()
        self.store.close()
