"""Helpers shared by the bench suites: boto3 clients for setup, table creation, preloading through the
load generator, JSON helpers, and the `Skip` exception a suite raises when a feature is missing.

Setup (CreateTable, sanity reads) goes through boto3 because it is not measured; measured traffic
always goes through bench/loadgen.py.
"""
from __future__ import annotations

import time
from typing import Any

import orjson
from loadgen import LoadSpec, http_call, run_load

__all__ = ["PAYLOAD", "Skip", "call", "client", "create_table", "preload", "preload_items", "wait_for"]

# 64 bytes of payload in every benchmark item, so items are ~120 bytes like a small real record
PAYLOAD = "x" * 64


class Skip(Exception):
    """A suite or step cannot run on this target (feature missing); the message says why."""


def client(target, service: str = "dynamodb"):
    import boto3
    from botocore.config import Config

    return boto3.client(
        service, endpoint_url=target.url, region_name="us-east-1", aws_access_key_id="bench",
        aws_secret_access_key="bench",
        config=Config(retries={"max_attempts": 1}, read_timeout=120, connect_timeout=10),
    )


def call(target, op: str, payload: dict, *, service: str = "DynamoDB_20120810", timeout: float = 60) -> dict:
    """One raw JSON call (no boto3 parsing cost); raises RuntimeError on non-200."""
    status, body = http_call(target.host, target.port, f"{service}.{op}", orjson.dumps(payload), timeout=timeout)
    if status != 200:
        raise RuntimeError(f"{op} -> {status}: {body[:500]!r}")
    return orjson.loads(body) if body else {}


def wait_for(pred, timeout: float, interval: float = 0.05, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def create_table(target, name: str, *, sort_key: bool = False, stream: str | None = None, **extra: Any) -> dict:
    """Create an on-demand table (pk S [, sk S]) and wait until ACTIVE."""
    ks = [{"AttributeName": "pk", "KeyType": "HASH"}]
    ad = [{"AttributeName": "pk", "AttributeType": "S"}]
    if sort_key:
        ks.append({"AttributeName": "sk", "KeyType": "RANGE"})
        ad.append({"AttributeName": "sk", "AttributeType": "S"})
    req: dict[str, Any] = {"TableName": name, "KeySchema": ks, "AttributeDefinitions": ad,
                           "BillingMode": "PAY_PER_REQUEST", **extra}
    if stream:
        req["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": stream}
    out = call(target, "CreateTable", req)
    wait_for(lambda: call(target, "DescribeTable", {"TableName": name})["Table"]["TableStatus"] == "ACTIVE",
             30, what=f"table {name} ACTIVE")
    return out["TableDescription"]


def preload(target, body: bytes, count: int, *, op: str = "BatchWriteItem", connections: int = 8,
            nkeys: int = 1 << 62) -> float:
    """Send `count` requests (counter i = 0..count-1) through the load generator; return seconds taken.

    Runs in this process (no spawn cost); raises RuntimeError if any request failed.
    """
    spec = LoadSpec(host=target.host, port=target.port, target=f"DynamoDB_20120810.{op}", body=body,
                    connections=connections, count=count, nkeys=nkeys)
    t0 = time.perf_counter()
    r = run_load(spec)
    if r.errors:
        raise RuntimeError(f"preload {op}: {r.errors} errors, e.g. {r.error_samples[:2]}")
    return time.perf_counter() - t0


def preload_items(target, table: str, item: str, nkeys: int, per_key: int = 25, connections: int = 8) -> dict:
    """Write nkeys * per_key items from a JSON item template using %(k)d (0..nkeys-1) and %(j)d / %(j)02d
    (0..per_key-1): with BatchWriteItem (one request per k), or with PutItem if the target has no
    BatchWriteItem yet. Returns {"op", "items", "seconds"}."""
    assert per_key <= 25
    batch_items = []
    for j in range(per_key):
        it = item.replace("%(k)d", "%(i)d").replace("%(j)02d", f"{j:02d}").replace("%(j)d", str(j))
        batch_items.append('{"PutRequest":{"Item":' + it + '}}')
    batch = ('{"RequestItems":{"' + table + '":[' + ",".join(batch_items) + ']}}').encode()
    try:
        secs = preload(target, batch, nkeys, connections=connections)
        return {"op": "BatchWriteItem", "items": nkeys * per_key, "seconds": round(secs, 3)}
    except RuntimeError as e:
        if "UnknownOperation" not in str(e):
            raise
    put = ('{"TableName":"' + table + '","Item":' + item + '}').encode()
    secs = preload(target, put, nkeys * per_key, op="PutItem", nkeys=nkeys, connections=connections)
    return {"op": "PutItem", "items": nkeys * per_key, "seconds": round(secs, 3)}


def jdump(obj) -> bytes:
    return orjson.dumps(obj, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)
