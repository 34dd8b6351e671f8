"""eddydb benchmark: eddydb vs moto vs dynalite under the same closed-loop load, plus eddydb-only
suites for streams, triggers and TTL. Entry point of `make bench`.

    python bench/run.py                               # everything (about 6 minutes)
    python bench/run.py --suites dataplane --targets eddydb,dynalite --duration 5
    python bench/run.py --quick                       # 3 s per op after 1 s warm-up

Every target is started here on a free port with a temporary directory and stopped afterwards;
peers are installed on first use (moto via pip, dynalite via npm into bench/node_modules). Results
are printed as tables and written to bench/results/<timestamp>.json. See docs/performance.md.
"""
from __future__ import annotations

import argparse
import datetime as _dt
import os
import platform
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from common import Skip, jdump
from targets import DESCRIPTIONS, TARGETS, TargetUnavailable, start_target

SUITES = ["dataplane", "streams", "triggers", "ttl"]


def _machine() -> dict:
    mem = ""
    try:
        with open("/proc/meminfo") as f:
            mem = f.readline().split(":")[1].strip()
    except OSError:
        pass
    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {"nproc": os.cpu_count(), "cpu": cpu, "memory": mem, "python": platform.python_version(),
            "platform": platform.platform(), "loadavg_at_start": list(os.getloadavg())}


def _git_rev() -> str:
    try:
        import subprocess
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=HERE, capture_output=True, check=False,
                              text=True).stdout.strip()
    except OSError:
        return ""


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--suites", default=",".join(SUITES), help=f"comma list of {SUITES}")
    p.add_argument("--targets", default=",".join(TARGETS),
                   help=f"comma list of {list(DESCRIPTIONS)} (suites other than dataplane run on eddydb only)")
    p.add_argument("--ops", default="put,get,query,batch", help="dataplane ops: put,get,query,batch")
    p.add_argument("--duration", type=float, default=10.0, help="measured seconds per op (default 10)")
    p.add_argument("--warmup", type=float, default=2.0, help="warm-up seconds per op (default 2)")
    p.add_argument("--connections", type=int, default=8, help="keep-alive connections, closed loop (default 8)")
    p.add_argument("--client-procs", type=int, default=1, help="load generator processes (default 1)")
    p.add_argument("--pin", choices=["none", "split"], default="none",
                   help="split: client on the last CPU, servers on the others (default none: OS schedules)")
    p.add_argument("--nice", type=int, default=0,
                   help="run targets and load generator at this nice value (e.g. -5 on a shared machine; "
                        "negative needs root)")
    p.add_argument("--quick", action="store_true",
                   help="--duration 3 --warmup 1 --retries 0, smaller stream/trigger/TTL sizes (a smoke run)")
    p.add_argument("--eddydb-arg", action="append", default=[], help="extra argument to `eddydb serve` (repeatable)")
    p.add_argument("--output", default=None, help="results JSON path (default bench/results/<utc time>.json)")
    p.add_argument("--stream-records", type=int, default=100_000, help="records in the GetRecords drain test")
    p.add_argument("--ttl-items", type=int, default=100_000, help="items expired in the TTL test")
    p.add_argument("--trigger-records", type=int, default=50_000, help="records pushed through each trigger runtime")
    p.add_argument("--retries", type=int, default=2,
                   help="re-run an op when other processes used more than --max-other-cpu (default 2)")
    p.add_argument("--max-other-cpu", type=float, default=15.0,
                   help="%% of one core other processes may use during a run before it counts as disturbed")
    p.add_argument("--quiet-wait", type=float, default=60.0, help="seconds to wait for a quiet machine before a retry")
    p.add_argument("--profile", default=None, metavar="DIR",
                   help="py-spy the eddydb server during each dataplane op: DIR/<target>-<op>.folded (folded stacks)")
    p.add_argument("-v", "--verbose", action="store_true")
    a = p.parse_args(argv)
    if a.quick:
        a.duration, a.warmup, a.retries = 3.0, 1.0, 0
        a.stream_records = min(a.stream_records, 20_000)
        a.ttl_items = min(a.ttl_items, 20_000)
        a.trigger_records = min(a.trigger_records, 10_000)
    from suites.dataplane import ALIASES, OPS
    a.suites = [s.strip() for s in a.suites.split(",") if s.strip()]
    a.targets = [t.strip() for t in a.targets.split(",") if t.strip()]
    a.ops = [ALIASES.get(o.strip().lower(), o.strip()) for o in a.ops.split(",") if o.strip()]
    for s in a.suites:
        if s not in SUITES:
            p.error(f"unknown suite {s!r}")
    for o in a.ops:
        if o not in OPS:
            p.error(f"unknown op {o!r}")
    ncpu = os.cpu_count() or 1
    a.client_cpus = [ncpu - 1] if a.pin == "split" and ncpu > 1 else None
    a.server_cpus = list(range(ncpu - 1)) if a.pin == "split" and ncpu > 1 else None
    return a


def _suite(name):
    import importlib
    return importlib.import_module(f"suites.{name}")


def _sigterm(signum, frame):
    raise SystemExit(128 + signum)      # unwinds through `finally: target.stop()`


def main(argv=None) -> int:
    import signal
    signal.signal(signal.SIGTERM, _sigterm)
    cfg = parse_args(argv)
    started = _dt.datetime.now(_dt.UTC)
    results: dict = {
        "started": started.isoformat(timespec="seconds"),
        "git": _git_rev(),
        "machine": _machine(),
        "config": {k: getattr(cfg, k) for k in ("suites", "targets", "ops", "duration", "warmup", "connections",
                                                 "client_procs", "pin", "nice", "retries", "max_other_cpu", "stream_records", "ttl_items",
                                                 "trigger_records", "eddydb_arg")},
        "targets": {},
        "suites": {s: {} for s in cfg.suites},
    }
    import targets as _targets
    _targets.NICE = cfg.nice
    _targets.set_priority(cfg.nice)   # the orchestrator (latency probes) and its load processes
    from report import print_config, print_results
    print_config(results)
    out_path = Path(cfg.output) if cfg.output else HERE / "results" / (started.strftime("%Y%m%dT%H%M%SZ") + ".json")
    out_path.parent.mkdir(parents=True, exist_ok=True)

    for tname in cfg.targets:
        suites_here = [s for s in cfg.suites if _suite(s).TARGETS is None or tname in _suite(s).TARGETS]
        for s in cfg.suites:
            if s not in suites_here:
                results["suites"][s][tname] = {"skipped": f"{s} runs on eddydb only ({tname} lacks the feature)"}
        if not suites_here:
            continue
        print(f"\n== {tname}: starting ({DESCRIPTIONS.get(tname, '')})", flush=True)
        try:
            target = start_target(tname, eddydb_args=cfg.eddydb_arg)
        except TargetUnavailable as e:
            msg = str(e).strip()
            print(f"   skipped: {msg.splitlines()[0] if msg else 'unavailable'}", flush=True)
            if cfg.verbose:
                print(msg)
            results["targets"][tname] = {"skipped": msg[:2000]}
            for s in suites_here:
                results["suites"][s][tname] = {"skipped": f"{tname} unavailable: {msg.splitlines()[0] if msg else ''}"}
            continue
        results["targets"][tname] = {"description": target.description, "cmd": " ".join(target.extra["cmd"])}
        try:
            if cfg.server_cpus:
                target.pin(cfg.server_cpus)
            for s in suites_here:
                t0 = time.perf_counter()
                print(f"-- {tname}: {s}", flush=True)
                try:
                    res = _suite(s).run(target, cfg)
                    res["wall_s"] = round(time.perf_counter() - t0, 1)
                except Skip as e:
                    print(f"   skipped: {e}", flush=True)
                    res = {"skipped": str(e)}
                except Exception as e:  # noqa: BLE001 - one failing suite must not lose the others
                    print(f"   FAILED: {e!r}", flush=True)
                    if cfg.verbose:
                        traceback.print_exc()
                    res = {"failed": repr(e)[:2000], "server_log_tail": target.log_tail(20)}
                results["suites"][s][tname] = res
                out_path.write_bytes(jdump(results))
                if not target.alive():
                    print(f"   {tname} died:\n{target.log_tail()}", flush=True)
                    break
        finally:
            target.stop()
    results["finished"] = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
    out_path.write_bytes(jdump(results))
    print_results(results)
    print(f"\nresults: {out_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
