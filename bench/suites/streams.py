"""Streams suite (issue 3), eddydb only (dynalite and moto have no or incomplete Streams):

1. PutItem throughput on a table with a NEW_AND_OLD_IMAGES stream vs the same table without a
   stream, same closed loop (target: within 15%). Runs plain, stream, plain, stream and uses the
   best of each, so the order (growing database, WAL checkpoints) does not favour either side.
2. GetRecords drain rate: N records written with BatchWriteItem, then every shard read from
   TRIM_HORIZON with Limit 1000 over keep-alive connections (one per shard, concurrent) until all
   N are seen (target: >= 50,000 records/s). The client parses every response with orjson.
3. Write-acknowledged-to-record-readable latency: a writer sends one PutItem every 2 ms (light
   load) and notes when each acknowledgement arrives; a reader polls GetRecords on LATEST
   iterators of every shard back-to-back (no sleep) and notes when each record first appears.
   latency = seen - acknowledged, counted as 0 when the record was seen before the ack arrived
   (it was readable at acknowledgement). It is an upper bound: it includes up to one poll round
   trip (reported). Target: p99 < 5 ms.
"""
from __future__ import annotations

import asyncio
import time

import orjson
from common import PAYLOAD, Skip, call, create_table, preload
from loadgen import AsyncClient, new_loop, percentile
from procstat import Others, wait_quiet

NAME = "streams"
TARGETS = ["eddydb", "eddydb-1w", "eddydb-mem"]
ST = "DynamoDBStreams_20120810"

_TAIL = '"n":{"N":"%(i)d"},"s":{"S":"' + PAYLOAD + '"},"flag":{"BOOL":true}'


def _put_body(table: str, run: int = 0) -> bytes:
    return ('{"TableName":"' + table + '","Item":{"pk":{"S":"r' + str(run) + 'c%(c)d-%(i)d"},' + _TAIL
            + '}}').encode()


def _batch_body(table: str) -> bytes:
    items = ",".join('{"PutRequest":{"Item":{"pk":{"S":"d%(i)d-' + str(j) + '"},' + _TAIL + '}}}' for j in range(25))
    return ('{"RequestItems":{"' + table + '":[' + items + ']}}').encode()


def stream_arn(target, table: str) -> str:
    d = call(target, "DescribeTable", {"TableName": table})["Table"]
    arn = d.get("LatestStreamArn")
    if not arn:
        raise Skip("DescribeTable shows no LatestStreamArn: streams not implemented yet")
    return arn


def shard_ids(target, arn: str) -> list[str]:
    try:
        out = []
        start = None
        while True:
            req = {"StreamArn": arn}
            if start:
                req["ExclusiveStartShardId"] = start
            d = call(target, "DescribeStream", req, service=ST)["StreamDescription"]
            out += [s["ShardId"] for s in d["Shards"]]
            start = d.get("LastEvaluatedShardId")
            if not start:
                return out
    except RuntimeError as e:
        raise Skip(f"DescribeStream failed (Streams API not served yet?): {e}") from e


def _iterator(target, arn: str, shard: str, kind: str) -> str:
    return call(target, "GetShardIterator", {"StreamArn": arn, "ShardId": shard, "ShardIteratorType": kind},
                service=ST)["ShardIterator"]


def setup_stream_table(target, name: str, view: str = "NEW_AND_OLD_IMAGES") -> str:
    try:
        create_table(target, name, stream=view)
    except RuntimeError as e:
        raise Skip(f"CreateTable with StreamSpecification failed: {e}") from e
    return stream_arn(target, name)


# -- 1. put throughput with and without a stream

def put_overhead(target, cfg) -> dict:
    from suites.dataplane import measure

    create_table(target, "s_plain")
    setup_stream_table(target, "s_stream")
    runs: dict[str, list] = {"no_stream": [], "stream": []}
    for run in range(2):
        # new keys in every run: a run repeating the last one's keys (and values) rewrites identical
        # items, which write no stream record at all, and so would flatter the stream's cost
        runs["no_stream"].append(measure(target, "PutItem", cfg, table_body=_put_body("s_plain", run),
                                         tag=f"PutItem-nostream-{run}"))
        runs["stream"].append(measure(target, "PutItem", cfg, table_body=_put_body("s_stream", run),
                                      tag=f"PutItem-stream-{run}"))
    best = {k: max(v, key=lambda r: r["throughput"]) for k, v in runs.items()}
    ratio = best["stream"]["throughput"] / best["no_stream"]["throughput"] if best["no_stream"]["throughput"] else 0
    return {
        "put_no_stream": best["no_stream"], "put_new_and_old_images": best["stream"],
        "all_runs_throughput": {k: [r["throughput"] for r in v] for k, v in runs.items()},
        "stream_vs_plain": round(ratio, 3),
        "errors": sum(r["errors"] for v in runs.values() for r in v),
    }


# -- 2. drain rate

async def _drain(target, arn: str, shards: list[str], expected: int, timeout: float) -> tuple[int, float, int]:
    total = 0
    calls = 0
    t0 = time.perf_counter()
    deadline = t0 + timeout

    async def one(shard: str) -> None:
        nonlocal total, calls
        c = await AsyncClient(target.host, target.port).connect()
        st, body, _ = await c.call(f"{ST}.GetShardIterator", orjson.dumps(
            {"StreamArn": arn, "ShardId": shard, "ShardIteratorType": "TRIM_HORIZON"}))
        if st != 200:
            raise RuntimeError(f"GetShardIterator {st}: {body[:300]!r}")
        it = orjson.loads(body)["ShardIterator"]
        while it and total < expected and time.perf_counter() < deadline:
            st, body, _ = await c.call(f"{ST}.GetRecords", b'{"ShardIterator":' + orjson.dumps(it) + b',"Limit":1000}')
            calls += 1
            if st != 200:
                raise RuntimeError(f"GetRecords {st}: {body[:300]!r}")
            d = orjson.loads(body)
            total += len(d.get("Records", ()))
            it = d.get("NextShardIterator")
        await c.close()

    await asyncio.gather(*(one(s) for s in shards))
    return total, time.perf_counter() - t0, calls


def drain_rate(target, cfg) -> dict:
    n = (cfg.stream_records // 25) * 25
    arn = setup_stream_table(target, "s_drain")
    t_load = preload(target, _batch_body("s_drain"), n // 25)
    shards = shard_ids(target, arn)
    wait_quiet(10.0 if cfg.retries else 0)
    loop = new_loop()
    try:
        with Others(target.pid) as o:
            got, secs, calls = loop.run_until_complete(_drain(target, arn, shards, n, timeout=120))
    finally:
        loop.close()
    return {"records": n, "read": got, "shards": len(shards), "getrecords_calls": calls,
            "seconds": round(secs, 3), "records_per_s": round(got / secs, 1) if secs else 0,
            "load_items_per_s": round(n / t_load, 1), "other_cpu_pct": o.pct}


# -- 3. ack-to-readable latency

async def _latency(target, arn: str, shards: list[str], writes: int, interval: float) -> dict:
    acked: dict[str, int] = {}
    sent: dict[str, int] = {}
    seen: dict[str, int] = {}
    polls = []
    done = asyncio.Event()

    async def reader(shard: str) -> None:
        c = await AsyncClient(target.host, target.port).connect()
        st, body, _ = await c.call(f"{ST}.GetShardIterator", orjson.dumps(
            {"StreamArn": arn, "ShardId": shard, "ShardIteratorType": "LATEST"}))
        it = orjson.loads(body)["ShardIterator"]
        ready_n[0] += 1
        if ready_n[0] == len(shards):
            ready.set()
        while not done.is_set() and it:
            t0 = time.perf_counter_ns()
            st, body, t1 = await c.call(f"{ST}.GetRecords", b'{"ShardIterator":' + orjson.dumps(it) + b'}')
            if st != 200:
                raise RuntimeError(f"GetRecords {st}: {body[:300]!r}")
            polls.append(t1 - t0)
            d = orjson.loads(body)
            for r in d.get("Records", ()):
                pk = r["dynamodb"]["Keys"]["pk"]["S"]
                seen.setdefault(pk, t1)
            it = d.get("NextShardIterator")
        await c.close()

    ready = asyncio.Event()
    ready_n = [0]
    tasks = [asyncio.ensure_future(reader(s)) for s in shards]
    await ready.wait()
    w = await AsyncClient(target.host, target.port).connect()
    head = '{"TableName":"s_lat","Item":{"pk":{"S":"L%d"},"s":{"S":"' + PAYLOAD + '"}}}'
    t_next = time.perf_counter()
    errors = 0
    for i in range(writes):
        now = time.perf_counter()
        if now < t_next:
            await asyncio.sleep(t_next - now)
        t_next += interval
        pk = f"L{i}"
        sent[pk] = time.perf_counter_ns()
        st, _, t1 = await w.call("DynamoDB_20120810.PutItem", (head % i).encode())
        if st != 200:
            errors += 1
        acked[pk] = t1
    deadline = time.perf_counter() + 5
    while len(seen) < len(acked) and time.perf_counter() < deadline:
        await asyncio.sleep(0.01)
    done.set()
    await asyncio.gather(*tasks)
    await w.close()
    lat = [max(0, seen[k] - acked[k]) for k in acked if k in seen]
    lat_send = [seen[k] - sent[k] for k in acked if k in seen]
    before_ack = sum(1 for k in acked if k in seen and seen[k] < acked[k])
    return {
        "writes": writes, "write_interval_ms": interval * 1000, "records_seen": len(lat), "missing": len(acked) - len(lat),
        "errors": errors, "seen_before_ack": before_ack,
        "ack_to_readable_p50_ms": round(percentile(lat, 50) / 1e6, 3),
        "ack_to_readable_p99_ms": round(percentile(lat, 99) / 1e6, 3),
        "ack_to_readable_max_ms": round(percentile(lat, 100) / 1e6, 3),
        "send_to_readable_p50_ms": round(percentile(lat_send, 50) / 1e6, 3),
        "send_to_readable_p99_ms": round(percentile(lat_send, 99) / 1e6, 3),
        "poll_roundtrip_p50_ms": round(percentile(polls, 50) / 1e6, 3),
        "poll_roundtrip_p99_ms": round(percentile(polls, 99) / 1e6, 3),
    }


def readable_latency(target, cfg) -> dict:
    arn = setup_stream_table(target, "s_lat", view="NEW_IMAGE")
    shards = shard_ids(target, arn)
    writes = int(max(500, cfg.duration * 250))
    wait_quiet(10.0 if cfg.retries else 0)
    loop = new_loop()
    try:
        with Others(target.pid) as o:
            out = loop.run_until_complete(_latency(target, arn, shards, writes, 0.002))
    finally:
        loop.close()
    out["other_cpu_pct"] = o.pct
    return out


def run(target, cfg) -> dict:
    # probe first so a missing feature skips before minutes of load
    setup_stream_table(target, "s_probe", view="KEYS_ONLY")
    arn = stream_arn(target, "s_probe")
    shards = shard_ids(target, arn)
    if not shards:
        raise Skip("stream has no shards")
    try:
        _iterator(target, arn, shards[0], "TRIM_HORIZON")
    except RuntimeError as e:
        raise Skip(f"GetShardIterator failed: {e}") from e
    res: dict = {}
    steps = [("put_overhead", put_overhead), ("drain", drain_rate), ("latency", readable_latency)]
    for name, fn in steps:
        if cfg.verbose:
            print(f"  {target.name} streams.{name} ...", flush=True)
        try:
            res[name] = fn(target, cfg)
        except Skip:
            raise
        except Exception as e:  # noqa: BLE001 - report the step, keep the others
            res[name] = {"failed": repr(e)[:1000]}
    checks = []
    po, dr, la = res.get("put_overhead", {}), res.get("drain", {}), res.get("latency", {})
    if "stream_vs_plain" in po:
        checks.append({"what": "PutItem with NEW_AND_OLD_IMAGES stream within 15% of no stream",
                       "ok": po["stream_vs_plain"] >= 0.85 and not po["errors"],
                       "measured": f"{po['stream_vs_plain'] * 100:.0f}% of no-stream throughput"})
    if "records_per_s" in dr:
        checks.append({"what": "GetRecords drain >= 50,000 records/s",
                       "ok": dr["records_per_s"] >= 50_000 and dr["read"] >= dr["records"],
                       "measured": f"{dr['records_per_s']:,.0f} records/s ({dr['read']}/{dr['records']})"})
    if "ack_to_readable_p99_ms" in la:
        checks.append({"what": "write acknowledged -> record readable p99 < 5 ms",
                       "ok": la["ack_to_readable_p99_ms"] < 5 and not la["missing"],
                       "measured": f"p50 {la['ack_to_readable_p50_ms']} ms, p99 {la['ack_to_readable_p99_ms']} ms"})
    res["checks"] = checks
    return res
