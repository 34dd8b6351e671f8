"""The DynamoDB Streams API (`X-Amz-Target: DynamoDBStreams_20120810.<Op>`): ListStreams,
DescribeStream, GetShardIterator, GetRecords in AWS shape. Validates requests with DynamoDB's
messages and delegates to `inst.streams` (streams/service.py). Registered through `OPERATIONS`
by api/dispatch.py; GetRecords answers raw JSON bytes (stored records are spliced, not re-encoded).
"""
from __future__ import annotations

import math
from typing import Any

import orjson

from eddydb.engine.changelog import seq_to_wire
from eddydb.model.errors import ValidationException
from eddydb.streams.service import ITERATOR_TYPES, MAX_RECORDS

__all__ = ["OPERATIONS"]

_TABLE_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")
_SEQUENCE_TYPES = ("AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER")


class _Errors:
    """Collects constraint violations; raises them as one ValidationException like DynamoDB."""

    def __init__(self) -> None:
        self.msgs: list[str] = []

    def add(self, value: Any, path: str, constraint: str) -> None:
        shown = "null" if value is None else f"'{value}'"
        self.msgs.append(f"Value {shown} at '{path}' failed to satisfy constraint: {constraint}")

    def required(self, value: Any, path: str) -> bool:
        if value is None:
            self.msgs.append(f"Value null at '{path}' failed to satisfy constraint: Member must not be null")
            return False
        return True

    def string(self, value: Any, path: str, lo: int, hi: int) -> None:
        if value is None:
            return
        if not isinstance(value, str):
            raise ValidationException(f"Invalid type for '{path}': expected a string")
        if len(value) < lo:
            self.add(value, path, f"Member must have length greater than or equal to {lo}")
        elif len(value) > hi:
            self.add(value, path, f"Member must have length less than or equal to {hi}")

    def integer(self, value: Any, path: str, lo: int, hi: int | None) -> None:
        if value is None:
            return
        if not isinstance(value, int) or isinstance(value, bool):
            raise ValidationException(f"Invalid type for '{path}': expected an integer")
        if value < lo:
            self.add(value, path, f"Member must have value greater than or equal to {lo}")
        elif hi is not None and value > hi:
            self.add(value, path, f"Member must have value less than or equal to {hi}")

    def enum(self, value: Any, path: str, allowed: tuple[str, ...]) -> None:
        if value is not None and value not in allowed:
            self.add(value, path, f"Member must satisfy enum value set: [{', '.join(allowed)}]")

    def raise_if_any(self) -> None:
        if self.msgs:
            n = len(self.msgs)
            raise ValidationException(f"{n} validation error{'s' if n > 1 else ''} detected: " + "; ".join(self.msgs))


def _check_stream_arn(arn: str) -> None:
    # arn:aws:dynamodb:<region>:<account>:table/<Table>/stream/<label>
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "dynamodb" or "/stream/" not in parts[5] \
            or not parts[5].startswith("table/"):
        raise ValidationException(f"Invalid StreamArn: {arn}")


def list_streams(inst: Any, req: dict) -> dict:
    errs = _Errors()
    table_name = req.get("TableName")
    limit = req.get("Limit")
    start = req.get("ExclusiveStartStreamArn")
    errs.string(table_name, "tableName", 3, 255)
    if isinstance(table_name, str) and 3 <= len(table_name) <= 255 and not set(table_name) <= _TABLE_NAME_CHARS:
        errs.add(table_name, "tableName", "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+")
    errs.integer(limit, "limit", 1, 100)
    errs.string(start, "exclusiveStartStreamArn", 37, 1024)
    errs.raise_if_any()
    streams, last = inst.streams.list_streams(table_name, limit or 100, start)
    out: dict[str, Any] = {
        "Streams": [{"StreamArn": s.arn, "TableName": s.table_name, "StreamLabel": s.label} for s in streams]
    }
    if last is not None:
        out["LastEvaluatedStreamArn"] = last
    return out


def _shard_wire(s: Any) -> dict:
    rng = {"StartingSequenceNumber": seq_to_wire(s.start_seq)}
    if s.end_seq is not None:
        rng["EndingSequenceNumber"] = seq_to_wire(s.end_seq)
    out: dict[str, Any] = {"ShardId": s.shard_id, "SequenceNumberRange": rng}
    if s.parent_shard_id is not None:
        out["ParentShardId"] = s.parent_shard_id
    return out


def describe_stream(inst: Any, req: dict) -> dict:
    errs = _Errors()
    arn = req.get("StreamArn")
    limit = req.get("Limit")
    start = req.get("ExclusiveStartShardId")
    flt = req.get("ShardFilter")
    if errs.required(arn, "streamArn"):
        errs.string(arn, "streamArn", 37, 1024)
    errs.integer(limit, "limit", 1, None)
    errs.string(start, "exclusiveStartShardId", 28, 65)
    child_of = None
    if flt is not None:
        if not isinstance(flt, dict):
            raise ValidationException("Invalid type for 'shardFilter': expected a structure")
        errs.enum(flt.get("Type"), "shardFilter.type", ("CHILD_SHARDS",))
        errs.string(flt.get("ShardId"), "shardFilter.shardId", 28, 65)
    errs.raise_if_any()
    if isinstance(limit, int) and limit > 100:
        raise ValidationException(f"1 validation error detected: Value '{limit}' at 'limit' failed to satisfy "
                                  "constraint: Member must have value less than or equal to 100")
    if flt is not None:
        if flt.get("Type") is None or flt.get("ShardId") is None:
            raise ValidationException("ShardFilter requires both Type (CHILD_SHARDS) and ShardId")
        child_of = flt["ShardId"]
    _check_stream_arn(str(arn))
    stream, shards, last = inst.streams.describe_stream(arn, limit or 100, start, child_of)
    desc: dict[str, Any] = {
        "StreamArn": stream.arn,
        "StreamLabel": stream.label,
        "StreamStatus": stream.status,
        "StreamViewType": stream.view_type,
        "CreationRequestDateTime": stream.created,
        "TableName": stream.table_name,
        "KeySchema": stream.key_schema,
        "Shards": [_shard_wire(s) for s in shards],
    }
    if last is not None:
        desc["LastEvaluatedShardId"] = last
    return {"StreamDescription": desc}


def get_shard_iterator(inst: Any, req: dict) -> dict:
    errs = _Errors()
    arn = req.get("StreamArn")
    shard_id = req.get("ShardId")
    itype = req.get("ShardIteratorType")
    seq = req.get("SequenceNumber")
    if errs.required(arn, "streamArn"):
        errs.string(arn, "streamArn", 37, 1024)
    if errs.required(shard_id, "shardId"):
        errs.string(shard_id, "shardId", 28, 65)
    if errs.required(itype, "shardIteratorType"):
        errs.enum(itype, "shardIteratorType", ITERATOR_TYPES)
    errs.string(seq, "sequenceNumber", 21, 40)
    errs.raise_if_any()
    if itype in _SEQUENCE_TYPES and seq is None:
        raise ValidationException(f"Must provide SequenceNumber for ShardIteratorType {itype}")
    if itype not in _SEQUENCE_TYPES and seq is not None:
        # DynamoDB rejects it rather than ignoring it (Alternator's test_get_shard_iterator pins this)
        raise ValidationException(f"Must not provide SequenceNumber for ShardIteratorType {itype}")
    when = None
    if itype == "AT_TIMESTAMP":
        if req.get("Timestamp") is None:
            raise ValidationException("Must provide Timestamp for ShardIteratorType AT_TIMESTAMP")
        when = _timestamp(req["Timestamp"])
    _check_stream_arn(str(arn))
    return {"ShardIterator": inst.streams.get_shard_iterator(arn, shard_id, itype, seq, when)}


def _timestamp(value: Any) -> float:
    """GetShardIterator's Timestamp (epoch seconds, millisecond precision; boto3 sends a number)."""
    try:
        when = float(value)  # shapes.py lets only numbers and strings through
    except (TypeError, ValueError):
        when = math.nan
    if not math.isfinite(when):
        raise ValidationException(f"Invalid Timestamp: {value}")
    return when


def get_records(inst: Any, req: dict) -> bytes:
    errs = _Errors()
    iterator = req.get("ShardIterator")
    limit = req.get("Limit")
    if errs.required(iterator, "shardIterator"):
        errs.string(iterator, "shardIterator", 1, 2048)
    errs.integer(limit, "limit", 1, None)
    errs.raise_if_any()
    if isinstance(limit, int) and limit > MAX_RECORDS:
        raise ValidationException(f"1 validation error detected: Value '{limit}' at 'limit' failed to satisfy "
                                  f"constraint: Member must have value less than or equal to {MAX_RECORDS}")
    records, nxt = inst.streams.get_records(iterator, limit or MAX_RECORDS)
    body = b'{"Records":[' + b",".join(records) + b"]"
    if nxt is not None:
        body += b',"NextShardIterator":' + orjson.dumps(nxt)
    return body + b"}"


OPERATIONS = {
    "ListStreams": list_streams,
    "DescribeStream": describe_stream,
    "GetShardIterator": get_shard_iterator,
    "GetRecords": get_records,
}
