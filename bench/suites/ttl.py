"""TTL suite (issue 5), eddydb only (dynalite and moto never expire items on their own).

Items are written with `exp` = an integer epoch second T in the near future (TTL enabled on `exp`
before the load), so nothing expires while loading and all N expire at once when T passes.

Phase A, sweep speed: after T, poll Scan(Select=COUNT) every 0.5 s until the table is empty;
sweep time = first empty poll - T (resolution 0.5 s, the default sweep interval of 1 s included).
Target: 100,000 items within 10 s.

Phase B, foreground impact (a second table, same N, no polling): a paced foreground PutItem load
(default 1,000 req/s over 8 connections, latency measured from each request's intended start, so
stalls are not hidden) runs from T for as long as phase A's sweep took (during the sweep), then
again for a few seconds once the sweep is over (baseline: same database, no sweep). Target: p99 during the sweep <= 2x baseline p99. The
closed-loop PutItem throughput during a sweep is also reported, as information.
"""
from __future__ import annotations

import time

from common import PAYLOAD, Skip, call, create_table, preload
from loadgen import LoadSpec, run_load_procs
from procstat import Others, wait_quiet

NAME = "ttl"
TARGETS = ["eddydb", "eddydb-1w", "eddydb-mem"]
FG_RATE = 1000.0


def _batch_body(table: str, exp: int) -> bytes:
    tail = '"exp":{"N":"' + str(exp) + '"},"s":{"S":"' + PAYLOAD + '"}'
    items = ",".join('{"PutRequest":{"Item":{"pk":{"S":"e%(i)d-' + str(j) + '"},' + tail + '}}}' for j in range(25))
    return ('{"RequestItems":{"' + table + '":[' + items + ']}}').encode()


def _count(target, table: str) -> int:
    total, start = 0, None
    while True:
        req = {"TableName": table, "Select": "COUNT"}
        if start:
            req["ExclusiveStartKey"] = start
        d = call(target, "Scan", req)
        total += d.get("Count", 0)
        start = d.get("LastEvaluatedKey")
        if not start:
            return total


def _ttl_table(target, name: str) -> None:
    create_table(target, name)
    try:
        call(target, "UpdateTimeToLive", {"TableName": name,
                                          "TimeToLiveSpecification": {"Enabled": True, "AttributeName": "exp"}})
    except RuntimeError as e:
        raise Skip(f"UpdateTimeToLive failed (TTL not implemented yet?): {e}") from e


def _load_expiring(target, table: str, n: int, lead: float) -> tuple[int, float]:
    """Load n items expiring at T = now + lead (rounded up); returns (T, load seconds)."""
    exp = int(time.time() + lead) + 1
    secs = preload(target, _batch_body(table, exp), n // 25)
    if time.time() >= exp:
        raise RuntimeError(f"loading {n} items took {secs:.1f}s, longer than the {lead:.1f}s lead: items expired "
                           "during the load (use a smaller --ttl-items)")
    return exp, secs


def _sleep_until(t: float) -> None:
    while True:
        d = t - time.time()
        if d <= 0:
            return
        time.sleep(min(d, 0.2))


def _fg(target, cfg, table_body: bytes, duration: float, rate: float | None, warmup: float = 0.5) -> dict:
    spec = LoadSpec(host=target.host, port=target.port, target="DynamoDB_20120810.PutItem", body=table_body,
                    connections=cfg.connections, warmup=warmup, duration=duration, rate=rate,
                    pin_cpus=cfg.client_cpus, nice=cfg.nice)
    with Others(target.pid) as o:
        out = run_load_procs(spec, cfg.client_procs).summary()
    out["other_cpu_pct"] = o.pct
    return out


def run(target, cfg) -> dict:
    n = max(25, (cfg.ttl_items // 25) * 25)
    _ttl_table(target, "ttl_probe")
    d = call(target, "DescribeTimeToLive", {"TableName": "ttl_probe"})
    if d.get("TimeToLiveDescription", {}).get("TimeToLiveStatus") not in ("ENABLED", "ENABLING"):
        raise Skip(f"DescribeTimeToLive does not show TTL enabled: {d}")
    # probe the load rate to choose how far in the future the items expire
    t_probe = preload(target, _batch_body("ttl_probe", int(time.time()) + 3600), max(1, n // 25 // 20))
    est_load = t_probe * 20
    wait_quiet(10.0 if cfg.retries else 0)
    res: dict = {"items": n}

    # -- phase A: sweep time
    if cfg.verbose:
        print(f"  {target.name} ttl.sweep ...", flush=True)
    _ttl_table(target, "ttl_a")
    exp_a, load_a = _load_expiring(target, "ttl_a", n, lead=est_load * 3 + 5)
    res["load_items_per_s"] = round(n / load_a, 1)
    _sleep_until(exp_a)
    others_a = Others(target.pid).__enter__()
    t_exp = time.time()
    deadline = t_exp + 120
    remaining = n
    polls = []
    while time.time() < deadline:
        remaining = _count(target, "ttl_a")
        polls.append((round(time.time() - t_exp, 2), remaining))
        if remaining == 0:
            break
        time.sleep(0.5)
    sweep_s = time.time() - t_exp
    others_a.__exit__(None, None, None)
    res["sweep"] = {"seconds": round(sweep_s, 2), "remaining": remaining,
                    "items_per_s": round(n / sweep_s, 1) if remaining == 0 else None,
                    "polls": polls[:40], "other_cpu_pct": others_a.pct}

    # -- phase B: foreground PutItem p99 with and without the sweep
    if cfg.verbose:
        print(f"  {target.name} ttl.foreground ...", flush=True)
    create_table(target, "ttl_fg")
    fg_body = ('{"TableName":"ttl_fg","Item":{"pk":{"S":"f%(c)d-%(i)d"},"s":{"S":"' + PAYLOAD + '"}}}').encode()
    _ttl_table(target, "ttl_b")
    sweep_dur = max(3.0, min(sweep_s + 1.0, 30.0))
    base_dur = max(3.0, min(cfg.duration, 5.0))
    # load (expiring at T, with room for phase A's load time again), wait for T, measure during the
    # sweep; the baseline runs right after the sweep finished (same database size, no race with T)
    exp_b, _ = _load_expiring(target, "ttl_b", n, lead=load_a * 1.5 + 3)
    _sleep_until(exp_b - 1.0)        # spawn + 0.5 s warm-up: measurement starts ~T
    during = _fg(target, cfg, fg_body, sweep_dur, FG_RATE)
    left_b = _count(target, "ttl_b")
    deadline = time.time() + 60
    while _count(target, "ttl_b") and time.time() < deadline:   # the baseline must not overlap the sweep
        time.sleep(0.5)
    wait_quiet(10.0 if cfg.retries else 0)
    baseline = _fg(target, cfg, fg_body, base_dur, FG_RATE)
    res["foreground"] = {"rate": FG_RATE, "baseline_after_sweep": baseline, "during_sweep": during,
                         "p99_ratio": round(during["p99_ms"] / baseline["p99_ms"], 2) if baseline["p99_ms"] else None,
                         "items_left_after_window": left_b}

    # -- information: closed-loop PutItem throughput during a sweep vs not
    if cfg.verbose:
        print(f"  {target.name} ttl.closed_loop ...", flush=True)
    _ttl_table(target, "ttl_c")
    exp_c, _ = _load_expiring(target, "ttl_c", n, lead=load_a * 1.5 + 3)
    _sleep_until(exp_c - 1.0)
    cl_during = _fg(target, cfg, fg_body, sweep_dur, None)
    deadline = time.time() + 60
    while _count(target, "ttl_c") and time.time() < deadline:
        time.sleep(0.5)
    wait_quiet(10.0 if cfg.retries else 0)
    cl_base = _fg(target, cfg, fg_body, base_dur, None)
    res["closed_loop_put"] = {"baseline_after_sweep": cl_base, "during_sweep": cl_during,
                              "throughput_ratio": round(cl_during["throughput"] / cl_base["throughput"], 2)
                              if cl_base["throughput"] else None}
    sw, fg = res["sweep"], res["foreground"]
    res["checks"] = [
        {"what": f"expire {n:,} items within 10 s", "ok": sw["remaining"] == 0 and sw["seconds"] <= 10,
         "measured": f"{sw['seconds']} s ({sw['remaining']} left)"},
        {"what": "foreground PutItem p99 during sweep <= 2x without", "ok": bool(fg["p99_ratio"]) and fg["p99_ratio"] <= 2
         and not baseline["errors"] and not during["errors"],
         "measured": f"{baseline['p99_ms']} ms -> {during['p99_ms']} ms ({fg['p99_ratio']}x)"},
    ]
    return res
