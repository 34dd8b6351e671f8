"""Triggers suite (issue 4), eddydb only (dynalite has no Lambda; moto's event source mappings run
nothing in-process that could be compared).

1. Subprocess runtime throughput: N items are written first (BatchWriteItem), then a trivial Python
   function (CreateFunction, Code.ZipFile) gets an event source mapping with BatchSize 100 and
   StartingPosition TRIM_HORIZON; records/s = N / (time from CreateEventSourceMapping until the
   handler has seen all N records). The handler only appends one line per batch to a file.
   Target: >= 5,000 records/s. Cold start of the worker is included.
2. Subprocess write-to-handler latency at light load: mapping with StartingPosition LATEST, one
   PutItem every 20 ms; the handler writes time.time() at entry for each record key; latency =
   handler entry - PutItem acknowledged (wall clock, same machine; reported also from send).
   Target: p99 < 20 ms.
3. In-process callable: the same N-record drain through `eddydb.open(dir).on_change(table, fn,
   batch_size=100)` in a separate Python process (bench/inproc_trigger.py). Target: >= 20,000/s.
"""
from __future__ import annotations

import asyncio
import io
import json
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from common import PAYLOAD, Skip, call, client, create_table, preload
from loadgen import AsyncClient, new_loop, percentile
from procstat import Others, wait_quiet

NAME = "triggers"
TARGETS = ["eddydb", "eddydb-1w", "eddydb-mem"]
HERE = Path(__file__).resolve().parent.parent

HANDLER = '''
import os, time
OUT = os.environ["BENCH_OUT"]
def handler(event, context):
    t = time.time()
    recs = event["Records"]
    keys = " ".join(r["dynamodb"]["Keys"]["pk"]["S"] for r in recs) if os.environ.get("BENCH_KEYS") else ""
    with open(OUT, "a") as f:
        f.write("%.6f %d %s\\n" % (t, len(recs), keys))
    return None
'''


def _zip(code: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("bench_handler.py", code)
    return buf.getvalue()


def _batch_body(table: str) -> bytes:
    tail = '"n":{"N":"%(i)d"},"s":{"S":"' + PAYLOAD + '"}'
    items = ",".join('{"PutRequest":{"Item":{"pk":{"S":"t%(i)d-' + str(j) + '"},' + tail + '}}}' for j in range(25))
    return ('{"RequestItems":{"' + table + '":[' + items + ']}}').encode()


def _read_lines(path: str) -> list[list[str]]:
    try:
        with open(path) as f:
            return [line.split(" ", 2) for line in f.read().splitlines() if line]
    except FileNotFoundError:
        return []


def _count(path: str) -> int:
    return sum(int(p[1]) for p in _read_lines(path))


def _create_function(lam, name: str, out: str, keys: bool) -> None:
    env = {"BENCH_OUT": out}
    if keys:
        env["BENCH_KEYS"] = "1"
    lam.create_function(FunctionName=name, Runtime="python3.11", Role="arn:aws:iam::000000000000:role/bench",
                        Handler="bench_handler.handler", Code={"ZipFile": _zip(HANDLER)}, Timeout=60,
                        Environment={"Variables": env})


def _stream_arn(target, table: str) -> str:
    arn = call(target, "DescribeTable", {"TableName": table})["Table"].get("LatestStreamArn")
    if not arn:
        raise Skip("no LatestStreamArn: streams not implemented yet")
    return arn


def subprocess_throughput(target, cfg, lam, tmp: str) -> dict:
    n = (cfg.trigger_records // 25) * 25
    create_table(target, "tr_tp", stream="NEW_IMAGE")
    arn = _stream_arn(target, "tr_tp")
    preload(target, _batch_body("tr_tp"), n // 25)
    out = os.path.join(tmp, "tp.out")
    _create_function(lam, "bench_tp", out, keys=False)
    wait_quiet(10.0 if cfg.retries else 0)
    others = Others(target.pid).__enter__()
    t0 = time.time()
    m = lam.create_event_source_mapping(EventSourceArn=arn, FunctionName="bench_tp", BatchSize=100,
                                        StartingPosition="TRIM_HORIZON")
    deadline = time.monotonic() + max(120, n / 1000)
    seen = 0
    while time.monotonic() < deadline:
        seen = _count(out)
        if seen >= n:
            break
        time.sleep(0.05)
    others.__exit__(None, None, None)
    lines = _read_lines(out)
    last = max((float(p[0]) for p in lines), default=t0)
    first = min((float(p[0]) for p in lines), default=t0)
    secs = last - t0
    try:
        lam.delete_event_source_mapping(UUID=m["UUID"])
    except Exception:  # noqa: BLE001, S110 - cleanup only
        pass
    return {"records": n, "delivered": seen, "batches": len(lines),
            "avg_batch": round(seen / len(lines), 1) if lines else 0,
            "seconds": round(secs, 3), "records_per_s": round(seen / secs, 1) if secs > 0 else 0,
            "first_batch_after_s": round(first - t0, 3), "other_cpu_pct": others.pct,
            "steady_records_per_s": round((seen - int(lines[0][1])) / (last - first), 1) if last > first else None}


async def _light_writes(target, table: str, writes: int, interval: float) -> tuple[dict, dict, int]:
    sent: dict[str, float] = {}
    acked: dict[str, float] = {}
    errors = 0
    w = await AsyncClient(target.host, target.port).connect()
    head = '{"TableName":"' + table + '","Item":{"pk":{"S":"%s"},"s":{"S":"' + PAYLOAD + '"}}}'
    t_next = time.perf_counter()
    for i in range(writes):
        now = time.perf_counter()
        if now < t_next:
            await asyncio.sleep(t_next - now)
        t_next += interval
        pk = f"L{i}"
        sent[pk] = time.time()
        st, _, _ = await w.call("DynamoDB_20120810.PutItem", (head % pk).encode())
        acked[pk] = time.time()
        if st != 200:
            errors += 1
    await w.close()
    return sent, acked, errors


def subprocess_latency(target, cfg, lam, tmp: str) -> dict:
    create_table(target, "tr_lat", stream="NEW_IMAGE")
    arn = _stream_arn(target, "tr_lat")
    out = os.path.join(tmp, "lat.out")
    _create_function(lam, "bench_lat", out, keys=True)
    m = lam.create_event_source_mapping(EventSourceArn=arn, FunctionName="bench_lat", BatchSize=100,
                                        StartingPosition="LATEST")
    # warm up: write until the handler has seen a record (mapping started, worker warm)
    deadline = time.monotonic() + 60
    i = 0
    while time.monotonic() < deadline:
        call(target, "PutItem", {"TableName": "tr_lat", "Item": {"pk": {"S": f"W{i}"}}})
        i += 1
        t_end = time.monotonic() + 1.0
        while time.monotonic() < t_end and not _read_lines(out):
            time.sleep(0.01)
        if _read_lines(out):
            break
    else:
        raise RuntimeError("the mapping delivered nothing within 60 s")
    for _ in range(20):          # a few more warm invocations
        call(target, "PutItem", {"TableName": "tr_lat", "Item": {"pk": {"S": f"W{i}"}}})
        i += 1
        time.sleep(0.02)
    writes = int(max(200, cfg.duration * 50))
    wait_quiet(10.0 if cfg.retries else 0)
    loop = new_loop()
    try:
        with Others(target.pid) as o:
            sent, acked, errors = loop.run_until_complete(_light_writes(target, "tr_lat", writes, 0.02))
    finally:
        loop.close()
    deadline = time.monotonic() + 10
    handled: dict[str, float] = {}
    while time.monotonic() < deadline:
        handled = {}
        for p in _read_lines(out):
            if len(p) > 2:
                for k in p[2].split():
                    handled.setdefault(k, float(p[0]))
        if all(k in handled for k in acked):
            break
        time.sleep(0.05)
    lat = [max(0.0, handled[k] - acked[k]) * 1e9 for k in acked if k in handled]
    lat_send = [(handled[k] - sent[k]) * 1e9 for k in acked if k in handled]
    try:
        lam.delete_event_source_mapping(UUID=m["UUID"])
    except Exception:  # noqa: BLE001, S110 - cleanup only
        pass
    return {"writes": writes, "write_interval_ms": 20, "handled": len(lat), "missing": len(acked) - len(lat),
            "errors": errors, "handler_before_ack": sum(1 for k in acked if k in handled and handled[k] < acked[k]),
            "ack_to_handler_p50_ms": round(percentile(lat, 50) / 1e6, 3),
            "ack_to_handler_p99_ms": round(percentile(lat, 99) / 1e6, 3),
            "ack_to_handler_max_ms": round(percentile(lat, 100) / 1e6, 3),
            "send_to_handler_p50_ms": round(percentile(lat_send, 50) / 1e6, 3),
            "send_to_handler_p99_ms": round(percentile(lat_send, 99) / 1e6, 3), "other_cpu_pct": o.pct}


def inprocess_throughput(target, cfg, tmp: str) -> dict:
    n = (cfg.trigger_records // 25) * 25
    env = dict(os.environ)
    env["PYTHONPATH"] = str(HERE.parent / "src") + os.pathsep + env.get("PYTHONPATH", "")
    r = subprocess.run([sys.executable, str(HERE / "inproc_trigger.py"), str(n), os.path.join(tmp, "inproc")], check=False,
                       capture_output=True, text=True, env=env, timeout=600)
    lines = [line for line in r.stdout.splitlines() if line.startswith("{")]
    if r.returncode != 0 or not lines:
        raise RuntimeError(f"inproc_trigger.py exit {r.returncode}: {(r.stderr or r.stdout)[-800:]}")
    out = json.loads(lines[-1])
    if out.get("skipped"):
        raise Skip(out["skipped"])
    return out


def run(target, cfg) -> dict:
    try:
        lam = client(target, "lambda")
        lam.list_functions()
    except Exception as e:
        raise Skip(f"Lambda API not served yet: {str(e)[:200]}") from e
    res: dict = {}
    with tempfile.TemporaryDirectory(prefix="eddybench-trig-") as tmp:
        for name, fn in [("subprocess_throughput", lambda: subprocess_throughput(target, cfg, lam, tmp)),
                         ("subprocess_latency", lambda: subprocess_latency(target, cfg, lam, tmp)),
                         ("inprocess_throughput", lambda: inprocess_throughput(target, cfg, tmp))]:
            if cfg.verbose:
                print(f"  {target.name} triggers.{name} ...", flush=True)
            try:
                res[name] = fn()
            except Skip as e:
                res[name] = {"skipped": str(e)}
            except Exception as e:  # noqa: BLE001 - report the step, keep the others
                res[name] = {"failed": repr(e)[:1000]}
    checks = []
    st, sl, ip = res["subprocess_throughput"], res["subprocess_latency"], res["inprocess_throughput"]
    if "records_per_s" in st:
        checks.append({"what": "subprocess function >= 5,000 records/s (BatchSize 100)",
                       "ok": st["records_per_s"] >= 5000 and st["delivered"] >= st["records"],
                       "measured": f"{st['records_per_s']:,.0f} records/s ({st['delivered']}/{st['records']})"})
    if "ack_to_handler_p99_ms" in sl:
        checks.append({"what": "subprocess write-to-handler p99 < 20 ms (light load)",
                       "ok": sl["ack_to_handler_p99_ms"] < 20 and not sl["missing"],
                       "measured": f"p50 {sl['ack_to_handler_p50_ms']} ms, p99 {sl['ack_to_handler_p99_ms']} ms"})
    if "records_per_s" in ip:
        checks.append({"what": "in-process callable >= 20,000 records/s (BatchSize 100)",
                       "ok": ip["records_per_s"] >= 20000 and ip["delivered"] >= ip["records"],
                       "measured": f"{ip['records_per_s']:,.0f} records/s ({ip['delivered']}/{ip['records']})"})
    res["checks"] = checks
    return res
