"""The stream side of the write path: builds the DynamoDB Streams record of one change and appends
it inside the writer's transaction. Called by engine/writes.apply_change (records) and by
engine/tables (enable/disable a table's stream). PLACEHOLDER: engineer 5 implements it."""
from __future__ import annotations

from typing import Any


def record_change(txn: Any, table: Any, old: dict | None, new: dict | None, *,
                  user_identity: dict | None = None) -> None:
    """Append the stream record of old -> new (caller guarantees they differ and the stream is enabled)."""
    raise NotImplementedError


def enable_stream(txn: Any, table: Any, view_type: str, now: float) -> Any:
    """Create a new stream (new ARN and label) and its open shards; returns the StreamMeta for the table."""
    raise NotImplementedError


def disable_stream(txn: Any, table: Any, now: float) -> Any:
    """Close the table's stream (open shards get an EndingSequenceNumber); records stay readable."""
    raise NotImplementedError
