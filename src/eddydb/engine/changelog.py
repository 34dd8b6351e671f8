"""The stream side of the write path: builds the DynamoDB Streams record of one change and appends
it inside the writer's transaction, and creates/closes a table's stream and shards.

Called by engine/writes.apply_change (`record_change`, once per changed item), engine/tables
(`enable_stream`/`disable_stream` for StreamSpecification and DeleteTable) and streams/ (shard
rollover through the writer). Everything here runs on the writer thread inside a WriteTxn.
"""
from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from typing import Any

import orjson

from eddydb.engine.catalog import StreamMeta
from eddydb.model.size import _number_size, value_size

__all__ = [
    "SEQ_BASE",
    "TTL_IDENTITY",
    "close_stream_shards",
    "configure",
    "disable_stream",
    "enable_stream",
    "new_shard_id",
    "record_change",
    "rollover_shard",
    "seq_from_wire",
    "seq_to_wire",
    "stream_label",
]

SEQ_BASE = 10**20                       # wire form str(SEQ_BASE + seq): 21 digits, integer-comparable
TTL_IDENTITY = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}

_EVENT_PREFIX = os.urandom(8).hex()     # eventID = prefix + seq: unique (seq is never reused)
_PARTITIONS: dict[str, int] = {}        # stream arn -> key-hash partitions (immutable per stream)
_DEFAULTS: dict[str, Any] = {"partitions": 1, "rollover": 4 * 3600.0}


def configure(settings: Any) -> None:
    """Fallback settings for write transactions that carry none (set by StreamService)."""
    _DEFAULTS["partitions"] = max(1, int(getattr(settings, "stream_partitions", 1) or 1))
    _DEFAULTS["rollover"] = float(getattr(settings, "shard_rollover", 4 * 3600.0) or 0.0)


def _setting(txn: Any, name: str, key: str) -> Any:
    s = getattr(txn, "settings", None)
    if s is None:
        s = getattr(getattr(txn, "store", None), "settings", None)
    if s is None:
        return _DEFAULTS[key]
    return getattr(s, name)


def seq_to_wire(seq: int) -> str:
    return str(SEQ_BASE + seq)


def seq_from_wire(text: str) -> int:
    return int(text) - SEQ_BASE


def new_shard_id(now: float) -> str:
    """`shardId-<20-digit epoch ms>-<8 hex>` like DynamoDB's."""
    return f"shardId-{int(now * 1000):020d}-{os.urandom(4).hex()}"


def stream_label(now: float) -> str:
    """ISO-8601 with milliseconds, UTC, no zone suffix: 2015-05-11T21:21:33.291."""
    dt = datetime.fromtimestamp(now, tz=UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}"


def _partitions(txn: Any, arn: str) -> int:
    n = _PARTITIONS.get(arn)
    if n is None:
        n = txn.stream_partitions(arn) or 1
        _PARTITIONS[arn] = n
    return n


def _partition_of(key_value: dict, partitions: int) -> int:
    from eddydb.model.keys import encode_key, partition_hash

    return partition_hash(encode_key(key_value)) % partitions


def _item_size(item: dict) -> int:
    """DynamoDB item size (model.size rules) with inline fast paths for S and integer N values:
    this runs up to three times per change on the write path."""
    n = 0
    for name, av in item.items():
        n += len(name) if name.isascii() else len(name.encode("utf-8", "surrogatepass"))
        for t, v in av.items():
            if t == "S":
                n += len(v) if v.isascii() else len(v.encode("utf-8", "surrogatepass"))
            elif t == "N" and v.isdigit():  # normalised non-negative integer: no sign, point or leading 0
                n += (len(v.rstrip("0")) + 1) // 2 + 1
            elif t == "N":
                n += _number_size(v)
            else:
                n += value_size(av)
    return n


def record_change(txn: Any, table: Any, old: dict | None, new: dict | None, *,
                  user_identity: dict | None = None) -> None:
    """Append the stream record of old -> new (caller guarantees they differ and the stream is enabled)."""
    stream = table.stream
    arn = stream.arn
    view = stream.view_type
    item = new if new is not None else old
    assert item is not None
    key = table.key
    if key.range_name is None:
        keys = {key.hash_name: item[key.hash_name]}
    else:
        keys = {key.hash_name: item[key.hash_name], key.range_name: item[key.range_name]}
    partitions = _partitions(txn, arn)
    partition = 0 if partitions == 1 else _partition_of(keys[key.hash_name], partitions)
    now = time.time()
    row = txn.open_shard(arn, partition)
    if row is None:  # a stream whose shard vanished (should not happen): give the partition one
        shard_id = _open_shard(txn, arn, partition, None, now)
    else:
        shard_id, created = row
        rollover = txn.__dict__.get("_rollover_setting")
        if rollover is None:  # settings do not change while a store is open: look them up once
            rollover = txn.__dict__["_rollover_setting"] = _setting(txn, "shard_rollover", "rollover") or 0.0
        if rollover and now - created >= rollover:
            shard_id = rollover_shard(txn, shard_id, arn, partition, now)
    seq = txn.next_sequence()

    dyn: dict[str, Any] = {"ApproximateCreationDateTime": int(now), "Keys": keys}
    size = _item_size(keys)
    if new is not None and (view == "NEW_IMAGE" or view == "NEW_AND_OLD_IMAGES"):
        dyn["NewImage"] = new
        size += _item_size(new)
    if old is not None and (view == "OLD_IMAGE" or view == "NEW_AND_OLD_IMAGES"):
        dyn["OldImage"] = old
        size += _item_size(old)
    dyn["SequenceNumber"] = str(SEQ_BASE + seq)
    dyn["SizeBytes"] = max(1, size)
    dyn["StreamViewType"] = view
    record: dict[str, Any] = {
        "eventID": f"{_EVENT_PREFIX}{seq:016x}",
        "eventName": "INSERT" if old is None else ("REMOVE" if new is None else "MODIFY"),
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": _region(arn),
        "dynamodb": dyn,
    }
    if user_identity is not None:
        record["userIdentity"] = user_identity
    txn.append_stream_record(shard_id, seq, now, orjson.dumps(record))
    notes = txn.notes
    shards = notes.get("shards")
    if shards is None:
        notes["shards"] = {shard_id}
    else:
        shards.add(shard_id)


def _region(arn: str, _cache: dict[str, str] = {}) -> str:  # noqa: B006 - a deliberate memo
    r = _cache.get(arn)
    if r is None:
        r = _cache[arn] = arn.split(":", 4)[3]
    return r


def _open_shard(txn: Any, arn: str, partition: int, parent: str | None, now: float) -> str:
    shard_id = new_shard_id(now)
    while txn.get_shard(shard_id) is not None:
        shard_id = new_shard_id(now)
    txn.insert_shard(shard_id, arn, partition, parent, txn.next_sequence(), now)
    return shard_id


def _close_shard(txn: Any, shard_id: str, now: float) -> None:
    last = txn.last_stream_seq(shard_id)
    if last is None:
        row = txn.get_shard(shard_id)
        last = row[4] if row[8] is None else max(row[4], row[8])
    txn.close_shard(shard_id, last, now)
    notes = txn.notes
    notes.setdefault("shards", set()).add(shard_id)  # readers waiting on it learn that it closed


def rollover_shard(txn: Any, shard_id: str, arn: str, partition: int, now: float) -> str:
    """Close an open shard (EndingSequenceNumber = its last record's) and open its child; returns the child."""
    _close_shard(txn, shard_id, now)
    return _open_shard(txn, arn, partition, shard_id, now)


def close_stream_shards(txn: Any, arn: str, now: float) -> None:
    """Close every open shard of a stream and mark it DISABLED."""
    for row in txn.list_shards(arn):
        if row[5] is None:
            _close_shard(txn, row[0], now)
    txn.set_stream_disabled(arn, now)


def enable_stream(txn: Any, table: Any, view_type: str, now: float) -> StreamMeta:
    """Create a new stream (new ARN and label) and its open shards; returns the StreamMeta for the table."""
    label = stream_label(now)
    arn = f"{table.arn}/stream/{label}"
    bump = now
    while txn.get_stream(arn) is not None:  # two enables in one millisecond: labels stay unique
        bump += 0.001
        label = stream_label(bump)
        arn = f"{table.arn}/stream/{label}"
    partitions = max(1, int(_setting(txn, "stream_partitions", "partitions") or 1))
    txn.insert_stream(arn, table.name, label, view_type, orjson.dumps(table.key.to_aws()).decode(), now, partitions)
    _PARTITIONS[arn] = partitions
    for p in range(partitions):
        _open_shard(txn, arn, p, None, now)
    return StreamMeta(enabled=True, view_type=view_type, arn=arn, label=label)


def disable_stream(txn: Any, table: Any, now: float) -> StreamMeta:
    """Close the table's stream (open shards get an EndingSequenceNumber); records stay readable."""
    stream = table.stream
    if stream is None or stream.arn is None:
        return StreamMeta(enabled=False)
    close_stream_shards(txn, stream.arn, now)
    return StreamMeta(enabled=False, view_type=stream.view_type, arn=stream.arn, label=stream.label)
