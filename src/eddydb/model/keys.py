"""Order-preserving key encoding and the partition-key hash.

Storage orders items by `encode_key` bytes under memcmp, so a Query's sort-key range
is a byte range; `partition_hash` spreads partitions over scan segments and stream
shards. Called by storage/engine (keys), changelog (shard choice) and scans.
"""
from __future__ import annotations

import base64
import hashlib

from eddydb.model.values import _split_number

__all__ = ["encode_key", "encode_number", "partition_hash"]

# Number encoding: a tag byte orders negatives < zero < positives; then the adjusted
# exponent (one byte, range -130..125 shifted to 0..255) and the significant digits.
# Negatives invert every byte and end with a terminator above any inverted digit, so
# that a longer (larger magnitude) mantissa sorts first.
_NEG, _ZERO, _POS = b"\x01", b"\x02", b"\x03"
_EXP_BIAS = 130
_INVERT = bytes.maketrans(b"0123456789", b"9876543210")


def encode_number(text: str) -> bytes:
    """Order-preserving bytes of (valid) DynamoDB number text."""
    negative, digits, exponent = _split_number(text)
    if not digits:
        return _ZERO
    adjusted = exponent + len(digits) - 1 + _EXP_BIAS
    if not 0 <= adjusted <= 255:  # outside DynamoDB's range; clamp to keep the encoding total
        adjusted = min(max(adjusted, 0), 255)
    d = digits.encode("ascii")
    if negative:
        return _NEG + bytes((255 - adjusted,)) + d.translate(_INVERT) + b"\xff"
    return _POS + bytes((adjusted,)) + d


def encode_key(av: dict) -> bytes:
    """Order-preserving bytes of one S/N/B key value (memcmp order == DynamoDB order)."""
    if "S" in av:
        return av["S"].encode("utf-8", "surrogatepass")
    if "N" in av:
        return encode_number(av["N"])
    if "B" in av:
        return base64.b64decode(av["B"])
    raise ValueError(f"not a key value: {av!r}")


def partition_hash(pk_bytes: bytes) -> int:
    """Stable 32-bit hash of an encoded partition key (same on every run and platform)."""
    return int.from_bytes(hashlib.blake2b(pk_bytes, digest_size=4).digest(), "big")
