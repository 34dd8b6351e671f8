"""Stream records as readers see them: `StreamRecord` (what StreamService.read returns to the
trigger layer) and the conversion of stored record bytes to the Streams API wire form.
Used by streams/service.py and api/streams.py."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

__all__ = ["StreamRecord", "wire_record", "wire_record_bytes"]


@dataclass(frozen=True, slots=True)
class StreamRecord:
    """One record of a shard: its sequence number (int, wire form str(10**20 + seq)), the commit
    time (epoch seconds) and the record dict in the reference's format, without eventSourceARN."""

    seq: int
    created: float
    record: dict[str, Any]


_IDENTITY_KEY = b'"userIdentity":'


def wire_record_bytes(raw: bytes) -> bytes:
    """Stored record bytes -> the GetRecords member bytes. The stored form is the reference's (Lambda
    event) shape; the Streams API names userIdentity's members `Type`/`PrincipalId` (botocore model)."""
    if _IDENTITY_KEY not in raw:
        return raw
    return orjson.dumps(wire_record(orjson.loads(raw)))


def wire_record(record: dict[str, Any]) -> dict[str, Any]:
    ident = record.get("userIdentity")
    if ident is None:
        return record
    out = dict(record)
    out["userIdentity"] = {"PrincipalId": ident.get("principalId"), "Type": ident.get("type")}
    return out
