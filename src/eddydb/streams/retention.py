"""Retention: trims stream records older than `settings.stream_retention`, then drops closed shards
that are empty and older than the horizon, then disabled streams left with no shard. Runs in the
writer (`engine.writer.run`) from the StreamService background thread, a bounded amount per call
so that a large trim never stalls the writers for long."""
from __future__ import annotations

from typing import Any

__all__ = ["trim"]


def trim(txn: Any, retention: float | None, now: float, budget: int = 20_000) -> int:
    """Trim what retention says is gone; returns the number of records deleted (at most ~budget;
    call again while it returns >= budget)."""
    if retention is None:
        return 0
    cutoff = now - retention
    deleted = 0
    for row in txn.all_shards():
        shard_id, _arn, _p, _parent, _start, end_seq, _created, closed, _trim_seq = row
        if deleted >= budget:
            break
        first_kept = txn.first_seq_at_or_after(shard_id, cutoff)
        upto = txn.last_stream_seq(shard_id) if first_kept is None else first_kept - 1
        oldest = txn.first_stream_seq(shard_id)
        if upto is not None and oldest is not None and oldest <= upto:
            limit_seq = txn.nth_stream_seq(shard_id, budget - deleted)
            if limit_seq is not None and limit_seq < upto:
                upto = limit_seq
            deleted += txn.trim_stream_records(shard_id, upto)
        if first_kept is None and end_seq is not None and closed is not None and closed < cutoff \
                and txn.first_stream_seq(shard_id) is None:
            txn.delete_shard(shard_id)
            txn.notes.setdefault("shards", set()).add(shard_id)
    for srow in txn.list_streams():
        if srow[5] == "DISABLED" and srow[8] is not None and srow[8] < cutoff and not txn.list_shards(srow[0]):
            txn.delete_stream(srow[0])
    return deleted
