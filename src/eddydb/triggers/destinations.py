"""OnFailure destinations of event source mappings: the invocation record of a discarded batch
(Lambda's exact shape) and its delivery to one of our tables (stored as an item: the partition key
gets a unique id, the record's top-level fields become attributes) or to a `file:///dir`
directory (one JSON file per record). Used by `triggers.processor` when retries end.
"""
from __future__ import annotations

import logging
import os
import secrets as _secrets
import time
import uuid as _uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import orjson

from eddydb.triggers.batching import Rec
from eddydb.triggers.settings import parse_destination

__all__ = ["failure_record", "iso_seconds", "iso_time", "send", "to_attribute_value"]

log = logging.getLogger("eddydb.triggers")


def iso_time(epoch: float) -> str:
    """2019-11-14T00:13:49.717Z"""
    dt = datetime.fromtimestamp(epoch, tz=UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def iso_seconds(epoch: float) -> str:
    """2019-11-14T00:13:19Z: whole seconds, as DynamoDB stream arrival times (and window bounds) read."""
    return datetime.fromtimestamp(int(epoch // 1), tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def failure_record(*, function_arn: str, stream_arn: str, shard_id: str, batch: list[Rec], condition: str,
                   invoke_count: int, function_error: str | None, request_id: str | None = None,
                   now: float | None = None) -> dict[str, Any]:
    """The invocation record Lambda sends to an OnFailure destination for a discarded batch;
    `request_id` is the last invocation's (a new id when the batch was never invoked)."""
    return {
        "requestContext": {
            "requestId": request_id or str(_uuid.uuid4()),
            "functionArn": function_arn,
            "condition": condition,
            "approximateInvokeCount": invoke_count,
        },
        "responseContext": {
            "statusCode": 200,
            "executedVersion": "$LATEST",
            "functionError": function_error or "Unhandled",
        },
        "version": "1.0",
        "timestamp": iso_time(time.time() if now is None else now),
        "DDBStreamBatchInfo": {
            "shardId": shard_id,
            "startSequenceNumber": batch[0].sequence_number,
            "endSequenceNumber": batch[-1].sequence_number,
            # stream records arrive with whole-second times (ApproximateCreationDateTime), and
            # Lambda writes these two without milliseconds: "2019-11-14T00:13:19Z"
            "approximateArrivalOfFirstRecord": iso_seconds(batch[0].created),
            "approximateArrivalOfLastRecord": iso_seconds(batch[-1].created),
            "batchSize": len(batch),
            "streamArn": stream_arn,
        },
    }


def send(inst: Any, destination: str, record: dict[str, Any]) -> None:
    """Deliver one invocation record; raises on failure (the caller logs and retries)."""
    kind, where = parse_destination(destination)
    if kind == "file":
        _to_file(where, record)
    else:
        _to_table(inst, where, record)


def _to_file(directory: str, record: dict[str, Any]) -> None:
    os.makedirs(directory, exist_ok=True)
    info = record.get("DDBStreamBatchInfo", {})
    name = f"{int(time.time() * 1000):015d}-{info.get('startSequenceNumber', '0')}-{_uuid.uuid4().hex[:8]}.json"
    tmp = os.path.join(directory, "." + name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(orjson.dumps(record, option=orjson.OPT_INDENT_2))
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, os.path.join(directory, name))


def _to_table(inst: Any, table_name: str, record: dict[str, Any]) -> None:
    meta = inst.engine.table(table_name)
    item: dict[str, Any] = {k: to_attribute_value(v) for k, v in record.items()}
    item[meta.key.hash_name] = _key_value(meta.key.hash_type, str(_uuid.uuid4()))
    if meta.key.range_name is not None:
        item[meta.key.range_name] = _key_value(meta.key.range_type or "S", record.get("timestamp") or iso_time(time.time()))
    inst.engine.put_item(table_name, item)


def _key_value(typ: str, text: str) -> dict[str, Any]:
    if typ == "N":
        # unique like the UUID of a string key (milliseconds alone let two records written in the
        # same millisecond overwrite each other): nanoseconds and 6 random digits, 25 digits in all
        return {"N": str(time.time_ns() * 1_000_000 + _secrets.randbelow(1_000_000))}
    if typ == "B":
        import base64

        return {"B": base64.b64encode(text.encode()).decode()}
    return {"S": text}


def to_attribute_value(v: Any) -> dict[str, Any]:
    """A JSON value as a DynamoDB attribute value (objects -> M, arrays -> L)."""
    if v is None:
        return {"NULL": True}
    if isinstance(v, bool):
        return {"BOOL": v}
    if isinstance(v, (int, float, Decimal)):
        return {"N": str(v)}
    if isinstance(v, str):
        return {"S": v}
    if isinstance(v, dict):
        return {"M": {str(k): to_attribute_value(x) for k, x in v.items()}}
    if isinstance(v, (list, tuple)):
        return {"L": [to_attribute_value(x) for x in v]}
    return {"S": str(v)}
