"""Data-plane suite (issue 2): PutItem, GetItem, Query (20 items) and BatchWriteItem (25 items) under
the same closed-loop load on every target.

Tables: `bench` (pk S) holds the GetItem key space (10,000 preloaded items), PutItem and
BatchWriteItem writes (new keys each request, so every write changes data); `bench_q` (pk S, sk S)
holds 500 partitions of 20 items for Query. Items are ~120 bytes (a number, a bool, 64 chars).
"""
from __future__ import annotations

import time

from common import PAYLOAD, Skip, call, create_table, preload
from loadgen import LoadSpec, run_load_procs
from procstat import group_cpu

NAME = "dataplane"
TARGETS = None          # every target
OPS = ["PutItem", "GetItem", "Query", "BatchWriteItem"]
ALIASES = {"put": "PutItem", "get": "GetItem", "query": "Query", "batch": "BatchWriteItem"}

GET_BATCHES = 400       # x 25 items = 10,000 GetItem keys: k<0..399>-<0..24>
QUERY_PARTS = 500       # partitions p<0..499> of 20 items s00..s19

_ITEM_TAIL = '"n":{"N":"%(i)d"},"s":{"S":"' + PAYLOAD + '"},"flag":{"BOOL":true}'

BODIES = {
    "PutItem": ('{"TableName":"bench","Item":{"pk":{"S":"c%(c)d-%(i)d"},' + _ITEM_TAIL + '}}').encode(),
    "GetItem": b'{"TableName":"bench","Key":{"pk":{"S":"k%(k)d-%(j)d"}}}',
    "Query": (b'{"TableName":"bench_q","KeyConditionExpression":"pk = :p",'
              b'"ExpressionAttributeValues":{":p":{"S":"p%(k)d"}}}'),
    "BatchWriteItem": ('{"RequestItems":{"bench":['
                       + ",".join('{"PutRequest":{"Item":{"pk":{"S":"b%(c)d-%(i)d-' + str(j) + '"},'
                                  + _ITEM_TAIL + '}}}' for j in range(25))
                       + ']}}').encode(),
}
NKEYS = {"GetItem": GET_BATCHES, "Query": QUERY_PARTS}
ITEMS_PER_OP = {"BatchWriteItem": 25, "Query": 20}


def _preload_get_body() -> bytes:
    items = ",".join('{"PutRequest":{"Item":{"pk":{"S":"k%(i)d-' + str(j) + '"},' + _ITEM_TAIL + '}}}'
                     for j in range(25))
    return ('{"RequestItems":{"bench":[' + items + ']}}').encode()


def _preload_query_body() -> bytes:
    items = ",".join('{"PutRequest":{"Item":{"pk":{"S":"p%(i)d"},"sk":{"S":"s' + f"{j:02d}" + '"},'
                     + _ITEM_TAIL + '}}}' for j in range(20))
    return ('{"RequestItems":{"bench_q":[' + items + ']}}').encode()


def setup(target) -> dict:
    try:
        create_table(target, "bench")
        create_table(target, "bench_q", sort_key=True)
    except RuntimeError as e:
        raise Skip(f"CreateTable failed: {e}") from e
    t_get = preload(target, _preload_get_body(), GET_BATCHES)
    t_q = preload(target, _preload_query_body(), QUERY_PARTS)
    # sanity: the measured requests return what they should
    got = call(target, "GetItem", {"TableName": "bench", "Key": {"pk": {"S": "k399-24"}}})
    if "Item" not in got:
        raise RuntimeError(f"sanity: preloaded item k399-24 not found: {got}")
    q = call(target, "Query", {"TableName": "bench_q", "KeyConditionExpression": "pk = :p",
                               "ExpressionAttributeValues": {":p": {"S": "p499"}}})
    if q.get("Count") != 20:
        raise RuntimeError(f"sanity: Query returned {q.get('Count')} items, expected 20")
    return {"preload_s": {"get_10k_items": round(t_get, 2), "query_10k_items": round(t_q, 2)}}


def measure(target, op: str, cfg, *, table_body: bytes | None = None, rate: float | None = None,
            connections: int | None = None, duration: float | None = None, warmup: float | None = None) -> dict:
    """One closed-loop (or paced) run of `op`; returns the LoadResult summary plus server CPU."""
    spec = LoadSpec(host=target.host, port=target.port, target=f"DynamoDB_20120810.{op}",
                    body=table_body or BODIES[op], nkeys=NKEYS.get(op, 1 << 62),
                    connections=connections or cfg.connections,
                    warmup=cfg.warmup if warmup is None else warmup,
                    duration=cfg.duration if duration is None else duration,
                    rate=rate, pin_cpus=cfg.client_cpus)
    pgid = target.pid
    cpu0, t0 = group_cpu(pgid), time.perf_counter()
    r = run_load_procs(spec, cfg.client_procs)
    cpu1, t1 = group_cpu(pgid), time.perf_counter()
    out = r.summary()
    # the server's CPU over the whole run (warm-up included), as % of one core
    out["server_cpu_pct"] = round(100 * (cpu1 - cpu0) / (t1 - t0), 1) if pgid else None
    out["items_per_s"] = round(out["throughput"] * ITEMS_PER_OP.get(op, 1), 1)
    if not target.alive():
        raise RuntimeError(f"{target.name} died during {op}:\n{target.log_tail()}")
    return out


def run(target, cfg) -> dict:
    result: dict = {"ops": {}}
    result.update(setup(target))
    for op in cfg.ops:
        if cfg.verbose:
            print(f"  {target.name} {op} ...", flush=True)
        result["ops"][op] = measure(target, op, cfg)
    return result
