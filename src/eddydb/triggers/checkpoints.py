"""Checkpoints of a mapping's shards: the last sequence number whose processing finished (and,
for tumbling windows, the open window's state), written durably through the writer and only by
the holder of the shard's lease. Used by `triggers.processor`.
"""
from __future__ import annotations

from typing import Any

import orjson

from eddydb.triggers.leases import LeaseLost

__all__ = ["KEEP", "Checkpoints"]

KEEP = object()   # "leave the window state as it is"


class Checkpoints:
    """One mapping's checkpoint access for the process identified by `owner`."""

    def __init__(self, inst: Any, mapping_uuid: str, owner: str) -> None:
        self.inst = inst
        self.uuid = mapping_uuid
        self.owner = owner

    def load(self, shard_id: str) -> tuple[int | None, bool] | None:
        """(seq, finished) or None when the shard was never checkpointed."""
        return self.inst.store.read().load_checkpoint(self.uuid, shard_id)

    def load_window(self, shard_id: str) -> dict | None:
        doc = self.inst.store.read().load_window(self.uuid, shard_id)
        return orjson.loads(doc) if doc else None

    def save(self, shard_id: str, seq: int | None, *, finished: bool = False, window: Any = KEEP) -> None:
        """Durably move the checkpoint (and window state); LeaseLost when another process holds the shard."""
        uuid, owner = self.uuid, self.owner
        window_doc = None if window is KEEP or window is None else orjson.dumps(window)

        def write(txn: Any) -> None:
            lease = txn.load_lease(uuid, shard_id)
            if lease is None or lease[0] != owner or txn.load_mapping(uuid) is None:
                raise LeaseLost(f"{uuid}/{shard_id}")
            txn.save_checkpoint(uuid, shard_id, seq, finished)
            if window is not KEEP:
                txn.save_window(uuid, shard_id, window_doc)

        self.inst.engine.writer.run(write)
