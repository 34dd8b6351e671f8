"""Batching of stream records for a shard processor: the trigger-event form of a record (with
`eventSourceARN` and its payload size), splitting into batches of at most BatchSize records and
6 MB, and splitting into ParallelizationFactor lanes by partition key (so the changes of one
partition key, whatever their sort keys, stay in order).
Pure code, used by `triggers.processor`.
"""
from __future__ import annotations

import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import orjson

from eddydb.triggers.settings import MAX_BATCH_BYTES

__all__ = ["RECORDS_ENVELOPE", "Rec", "chunks", "lanes", "sequence_string", "to_recs"]


def sequence_string(seq: int) -> str:
    """The wire form of an internal sequence number (21 digits, integer-comparable)."""
    return str(10**20 + seq)


@dataclass(slots=True)
class Rec:
    """One stream record as a trigger sees it."""

    seq: int                 # internal sequence number
    created: float           # arrival time, epoch seconds
    event: dict[str, Any]    # the record with eventSourceARN
    size: int                # bytes of its JSON in the payload

    @property
    def sequence_number(self) -> str:
        return self.event.get("dynamodb", {}).get("SequenceNumber") or sequence_string(self.seq)

    def key_hash(self, partition_key: str | None = None) -> int:
        """A stable hash of the record's partition key value (of all its keys when the name is unknown)."""
        keys = self.event.get("dynamodb", {}).get("Keys") or {}
        if partition_key is not None and partition_key in keys:
            keys = keys[partition_key]
        return zlib.crc32(orjson.dumps(keys, option=orjson.OPT_SORT_KEYS))


def to_recs(stream_records: Iterable[Any], stream_arn: str) -> list[Rec]:
    """StreamService records (seq, created, record) -> Recs carrying eventSourceARN."""
    out = []
    for sr in stream_records:
        event = dict(sr.record)
        event["eventSourceARN"] = stream_arn
        out.append(Rec(sr.seq, sr.created, event, len(orjson.dumps(event)) + 1))
    return out


# {"Records":[...]} around the records, whose sizes each count one separating comma (one too many)
RECORDS_ENVELOPE = len(b'{"Records":[]}') - 1


def chunks(recs: list[Rec], batch_size: int,
           max_bytes: int = MAX_BATCH_BYTES - RECORDS_ENVELOPE) -> list[list[Rec]]:
    """Consecutive batches of <= batch_size records and <= max_bytes of records (by default what
    keeps the invocation payload `{"Records": [...]}` within 6 MB; a lone bigger record still makes
    a batch of one)."""
    out: list[list[Rec]] = []
    cur: list[Rec] = []
    size = 0
    for r in recs:
        if cur and (len(cur) >= batch_size or size + r.size > max_bytes):
            out.append(cur)
            cur, size = [], 0
        cur.append(r)
        size += r.size
    if cur:
        out.append(cur)
    return out


def lanes(recs: list[Rec], n: int, partition_key: str | None = None) -> list[list[Rec]]:
    """Split into n lanes by a hash of the partition key (the attribute named `partition_key`), each
    in stream order (empty lanes dropped)."""
    if n <= 1:
        return [recs] if recs else []
    out: list[list[Rec]] = [[] for _ in range(n)]
    for r in recs:
        out[r.key_hash(partition_key) % n].append(r)
    return [lane for lane in out if lane]
