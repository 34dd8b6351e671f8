"""Shard iterators: opaque strings that carry (stream ARN, shard id, position, issue time).
A position is `after_seq`: the iterator reads records with seq > after_seq. Iterators expire
15 minutes after they were issued. Used by streams/service.py."""
from __future__ import annotations

import base64
import time
from dataclasses import dataclass

import orjson

from eddydb.model.errors import ExpiredIteratorException, ValidationException

__all__ = ["ITERATOR_LIFETIME", "ShardIterator", "decode_iterator", "encode_iterator"]

ITERATOR_LIFETIME = 15 * 60.0
_VERSION = "1"


@dataclass(frozen=True, slots=True)
class ShardIterator:
    stream_arn: str
    shard_id: str
    after_seq: int
    issued: float


def encode_iterator(stream_arn: str, shard_id: str, after_seq: int, issued: float | None = None) -> str:
    """`<stream arn>|1|<base64 payload>`: the shape DynamoDB's iterators have."""
    ms = int((time.time() if issued is None else issued) * 1000)
    payload = base64.urlsafe_b64encode(orjson.dumps([shard_id, after_seq, ms])).decode().rstrip("=")
    return f"{stream_arn}|{_VERSION}|{payload}"


def decode_iterator(text: str, now: float | None = None) -> ShardIterator:
    """Parse an iterator; ValidationException if it is not one of ours, ExpiredIteratorException if old."""
    try:
        arn, version, payload = text.rsplit("|", 2)
        if version != _VERSION:
            raise ValueError(version)
        shard_id, after_seq, ms = orjson.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        if not (isinstance(shard_id, str) and _is_int64(after_seq) and _is_int64(ms)):
            raise TypeError(payload)
    except (ValueError, TypeError, orjson.JSONDecodeError):
        raise ValidationException("Invalid ShardIterator") from None
    issued = ms / 1000.0
    now = time.time() if now is None else now
    if now - issued > ITERATOR_LIFETIME:
        raise ExpiredIteratorException(
            "Iterator expired. The iterator was created at time "
            f"{_fmt(issued)} while right now it is {_fmt(now)} which is further in the future than the "
            f"tolerated delay of {int(ITERATOR_LIFETIME * 1000)} milliseconds."
        )
    return ShardIterator(arn, shard_id, after_seq, issued)


def _is_int64(v: object) -> bool:
    # A hand-made iterator may carry any JSON number: one past SQLite's 64-bit integers made the
    # record query overflow (a 500), and a bool is not a position.
    return isinstance(v, int) and not isinstance(v, bool) and -(1 << 63) <= v < (1 << 63)


def _fmt(ts: float) -> str:
    return time.strftime("%a %b %d %H:%M:%S UTC %Y", time.gmtime(ts))
