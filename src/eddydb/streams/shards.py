"""Streams and shards as the service sees them (rows -> `StreamInfo`/`ShardInfo`), lineage order,
and scheduled shard rollover (close an open shard that lived `shard_rollover` seconds and open its
child). Rollover runs through the writer: lazily at write time (engine/changelog) and from the
StreamService background thread (`rollover_due`)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from eddydb.engine.changelog import rollover_shard

__all__ = ["ShardInfo", "StreamInfo", "rollover_due", "shard_info", "stream_info"]


@dataclass(frozen=True, slots=True)
class StreamInfo:
    arn: str
    table_name: str
    label: str
    view_type: str
    key_schema: list[dict[str, str]]
    status: str                    # ENABLED | DISABLED
    created: float
    partitions: int
    disabled: float | None


@dataclass(frozen=True, slots=True)
class ShardInfo:
    shard_id: str
    stream_arn: str
    partition: int
    parent_shard_id: str | None
    start_seq: int
    end_seq: int | None            # None = open
    created: float
    closed: float | None
    trim_seq: int | None           # every record with seq <= trim_seq has been trimmed

    @property
    def is_open(self) -> bool:
        return self.end_seq is None

    @property
    def horizon(self) -> int:
        """The oldest readable position (`after_seq` of TRIM_HORIZON)."""
        base = self.start_seq - 1
        return base if self.trim_seq is None else max(base, self.trim_seq)


def stream_info(row: Any) -> StreamInfo:
    return StreamInfo(row[0], row[1], row[2], row[3], orjson.loads(row[4]), row[5], row[6], row[7], row[8])


def shard_info(row: Any) -> ShardInfo:
    return ShardInfo(*row)


def rollover_due(txn: Any, rollover: float, now: float) -> int:
    """Roll over every open shard older than `rollover` seconds; returns how many rolled."""
    if not rollover:
        return 0
    n = 0
    for row in txn.open_shards():
        s = shard_info(row)
        if now - s.created >= rollover:
            stream = txn.get_stream(s.stream_arn)
            if stream is None or stream[5] != "ENABLED":
                continue
            rollover_shard(txn, s.shard_id, s.stream_arn, s.partition, now)
            n += 1
    return n
