"""Data-plane suite (issue 2): PutItem, GetItem, Query (20 items) and BatchWriteItem (25 items) under
the same closed-loop load on every target.

Tables: `bench` (pk S) holds the GetItem key space (10,000 preloaded items), PutItem and
BatchWriteItem writes (new keys each request, so every write changes data); `bench_q` (pk S, sk S)
holds 500 partitions of 20 items for Query. Items are ~120 bytes (a number, a bool, 64 chars).
"""
from __future__ import annotations

import time

from common import PAYLOAD, Skip, call, create_table, preload_items
from loadgen import LoadSpec, run_load_procs
from procstat import children_cpu, group_cpu, machine_busy, wait_quiet

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


_GET_ITEM = '{"pk":{"S":"k%(k)d-%(j)d"},"n":{"N":"%(k)d"},"s":{"S":"' + PAYLOAD + '"},"flag":{"BOOL":true}}'
_QUERY_ITEM = ('{"pk":{"S":"p%(k)d"},"sk":{"S":"s%(j)02d"},"n":{"N":"%(k)d"},"s":{"S":"' + PAYLOAD
               + '"},"flag":{"BOOL":true}}')


def setup(target) -> dict:
    try:
        create_table(target, "bench")
        create_table(target, "bench_q", sort_key=True)
    except RuntimeError as e:
        raise Skip(f"CreateTable failed: {e}") from e
    out = {}
    for key, table, item, nkeys, per in (("get_items", "bench", _GET_ITEM, GET_BATCHES, 25),
                                         ("query_items", "bench_q", _QUERY_ITEM, QUERY_PARTS, 20)):
        try:
            out[key] = preload_items(target, table, item, nkeys, per)
        except RuntimeError as e:
            out[key] = {"failed": str(e)[:500]}
    return {"preload": out}


def sanity(target, op: str) -> None:
    """The measured request returns what it should (raises RuntimeError otherwise)."""
    if op == "GetItem":
        got = call(target, "GetItem", {"TableName": "bench", "Key": {"pk": {"S": "k399-24"}}})
        if "Item" not in got:
            raise RuntimeError(f"preloaded item k399-24 not found: {got}")
    elif op == "Query":
        q = call(target, "Query", {"TableName": "bench_q", "KeyConditionExpression": "pk = :p",
                                   "ExpressionAttributeValues": {":p": {"S": "p499"}}})
        if q.get("Count") != 20:
            raise RuntimeError(f"Query returned {q.get('Count')} items, expected 20")
    elif op == "BatchWriteItem":
        body = BODIES[op] % {b"c": 99, b"i": 0, b"k": 0, b"j": 0}
        import orjson
        d = call(target, "BatchWriteItem", orjson.loads(body))
        if d.get("UnprocessedItems"):
            raise RuntimeError(f"BatchWriteItem left UnprocessedItems: {str(d)[:200]}")
    elif op == "PutItem":
        body = BODIES[op] % {b"c": 99, b"i": 0, b"k": 0, b"j": 0}
        import orjson
        call(target, "PutItem", orjson.loads(body))


def measure(target, op: str, cfg, **kw) -> dict:
    """Measure `op` (see _measure_once); when other processes disturbed the run (their CPU use above
    cfg.max_other_cpu % of one core), wait for a quiet machine and retry up to cfg.retries times,
    keeping the least disturbed run."""
    runs = []
    for attempt in range(1 + max(0, getattr(cfg, "retries", 0))):
        if not attempt:
            if getattr(cfg, "retries", 0):
                wait_quiet(min(10.0, getattr(cfg, "quiet_wait", 60.0)))
        else:
            busy = wait_quiet(getattr(cfg, "quiet_wait", 60.0))
            if cfg.verbose:
                print(f"    retry {attempt} of {op} (machine busy {busy:.0f}% before it)", flush=True)
        r = _measure_once(target, op, cfg, **kw)
        runs.append(r)
        if r["other_cpu_pct"] <= getattr(cfg, "max_other_cpu", 15.0):
            break
    best = min(runs, key=lambda r: r["other_cpu_pct"])
    if len(runs) > 1:
        best["attempts"] = [{"throughput": r["throughput"], "other_cpu_pct": r["other_cpu_pct"]} for r in runs]
    return best


def _measure_once(target, op: str, cfg, *, table_body: bytes | None = None, rate: float | None = None,
                  connections: int | None = None, duration: float | None = None,
                  warmup: float | None = None, tag: str | None = None) -> dict:
    """One closed-loop (or paced) run of `op`; returns the LoadResult summary plus server CPU."""
    spec = LoadSpec(host=target.host, port=target.port, target=f"DynamoDB_20120810.{op}",
                    body=table_body or BODIES[op], nkeys=NKEYS.get(op, 1 << 62),
                    connections=connections or cfg.connections,
                    warmup=cfg.warmup if warmup is None else warmup,
                    duration=cfg.duration if duration is None else duration,
                    rate=rate, pin_cpus=cfg.client_cpus, nice=cfg.nice)
    pgid = target.pid
    prof = _start_profile(target, cfg, tag or op, spec)
    cpu0, m0, c0, t0 = group_cpu(pgid), machine_busy(), children_cpu(), time.perf_counter()
    r = run_load_procs(spec, cfg.client_procs)
    cpu1, m1, c1, t1 = group_cpu(pgid), machine_busy(), children_cpu(), time.perf_counter()
    out = r.summary()
    # CPU used by anything else on the machine meanwhile (other processes disturb the figures)
    out["other_cpu_pct"] = round(100 * max(0.0, (m1 - m0) - (cpu1 - cpu0) - (c1 - c0)) / (t1 - t0), 1)
    if prof is not None:
        out["profile"] = _finish_profile(prof)
    # the server's CPU over warm-up + measurement (process spawn excluded), as % of one core
    out["server_cpu_pct"] = round(100 * (cpu1 - cpu0) / min(t1 - t0, spec.warmup + spec.duration), 1) if pgid else None
    out["items_per_s"] = round(out["throughput"] * ITEMS_PER_OP.get(op, 1), 1)
    if not target.alive():
        raise RuntimeError(f"{target.name} died during {op}:\n{target.log_tail()}")
    return out


def _start_profile(target, cfg, op: str, spec):
    """py-spy the server (eddydb only) over the measured window: a flame graph and folded stacks."""
    if not getattr(cfg, "profile", None) or not target.name.startswith("eddydb") or target.pid is None:
        return None
    import os
    import shutil
    import subprocess
    import sys

    pyspy = os.path.join(os.path.dirname(sys.executable), "py-spy")
    if not os.path.exists(pyspy):
        pyspy = shutil.which("py-spy") or "py-spy"
    os.makedirs(cfg.profile, exist_ok=True)
    base = os.path.join(cfg.profile, f"{target.name}-{op}")
    cmd = [pyspy, "record", "--pid", str(target.pid), "--rate", "200", "--nonblocking", "--threads", "--gil", "--subprocesses",
           "--duration", str(int(spec.warmup + spec.duration)), "--format", "raw", "-o", base + ".folded"]
    return base, subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _finish_profile(prof) -> str:
    base, p = prof
    try:
        p.wait(timeout=30)
    except Exception:  # noqa: BLE001
        p.kill()
    return base + ".folded"


def run(target, cfg) -> dict:
    result: dict = {"ops": {}}
    result.update(setup(target))
    for op in cfg.ops:
        if cfg.verbose:
            print(f"  {target.name} {op} ...", flush=True)
        try:
            sanity(target, op)
        except RuntimeError as e:
            print(f"   {op} skipped: {str(e)[:300]}", flush=True)
            result.setdefault("op_failures", {})[op] = str(e)[:1000]
            continue
        result["ops"][op] = measure(target, op, cfg)
    return result
