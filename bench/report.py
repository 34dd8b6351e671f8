"""Tables for bench/run.py's results (rich if installed, plain text otherwise)."""
from __future__ import annotations

__all__ = ["dataplane_rows", "print_config", "print_results"]

try:
    import shutil as _sh

    from rich.console import Console
    from rich.table import Table
    _console = Console(width=max(_sh.get_terminal_size((160, 40)).columns, 160))
except ImportError:  # pragma: no cover
    _console = None
    Table = None


def _fmt(v, nd=0):
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:,.{nd}f}"
    return f"{v:,}" if isinstance(v, int) else str(v)


def _print_table(title: str, headers: list[str], rows: list[list[str]], notes: list[str] | None = None) -> None:
    if _console is not None:
        t = Table(title=title, title_justify="left")
        for i, h in enumerate(headers):
            t.add_column(h, justify="left" if i == 0 else "right")
        for r in rows:
            t.add_row(*r)
        _console.print(t)
        for n in notes or []:
            _console.print(f"  {n}", highlight=False, markup=False)
        return
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    print(f"\n{title}")
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths)))
    for r in rows:
        print("  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths))))
    for n in notes or []:
        print(f"  {n}")


def print_config(results: dict) -> None:
    c, m = results["config"], results["machine"]
    print(f"eddydb bench {results['started']} git {results['git']}: {m['nproc']} CPUs ({m['cpu']}), {m['memory']}, "
          f"Python {m['python']}, load average at start {m.get('loadavg_at_start', ['?'])[0]}")
    print(f"closed loop, {c['connections']} keep-alive connections, {c['client_procs']} client process(es), "
          f"{c['warmup']:g}s warm-up + {c['duration']:g}s per op, pinning: {c['pin']}")


_GOALS = {"dynalite": 2.0, "dynalite-disk": 2.0, "moto": 20.0}   # issue 2: eddydb >= 2x dynalite, >= 20x moto
_OP_ORDER = ["PutItem", "GetItem", "Query", "BatchWriteItem"]
_TARGET_ORDER = ["eddydb", "eddydb-1w", "eddydb-mem", "dynalite", "dynalite-disk", "moto"]


def _ordered(keys, order):
    return sorted(keys, key=lambda k: (order.index(k) if k in order else len(order), k))


def dataplane_rows(dp: dict) -> tuple[list[str], list[list[str]], list[str]]:
    """One row per (op, target): throughput, items/s, p50, p99, and eddydb's throughput / this target's."""
    targets = _ordered([t for t, r in dp.items() if "ops" in r], _TARGET_ORDER)
    ops = _ordered({op for t in targets for op in dp[t]["ops"]}, _OP_ORDER)
    headers = ["op", "target", "requests/s", "items/s", "p50 ms", "p99 ms", "errors", "eddydb / target"]
    rows: list[list[str]] = []
    notes: list[str] = []
    for op in ops:
        e = dp.get("eddydb", {}).get("ops", {}).get(op)
        first = True
        for t in targets:
            r = dp[t]["ops"].get(op)
            if r is None:
                continue
            ratio = ""
            if e is not None and t != "eddydb":
                goal = _GOALS.get(t)
                if r["throughput"]:
                    x = e["throughput"] / r["throughput"]
                    ratio = f"{x:.1f}x" + (f" ({'ok' if x >= goal else 'below'} {goal:g}x)" if goal else "")
                elif e["throughput"]:
                    ratio = f"> {e['throughput'] * r['elapsed_s']:.0f}x (0 done)"
            if r["errors"]:
                notes.append(f"{t} {op}: {r['errors']} ERRORS, e.g. {r['error_samples'][:1]}")
            tp = r["throughput"]
            rows.append([op if first else "", t, _fmt(tp, 1 if tp < 10 else 0), _fmt(r.get("items_per_s", r["throughput"])),
                         _fmt(r["p50_ms"], 2), _fmt(r["p99_ms"], 2), str(r["errors"]) if r["errors"] else "0", ratio])
            first = False
    for t in targets:
        cpu = [(op, dp[t]["ops"][op].get("client_cpu_pct"), dp[t]["ops"][op].get("server_cpu_pct"),
                dp[t]["ops"][op].get("other_cpu_pct")) for op in _ordered(dp[t]["ops"], _OP_ORDER)]
        notes.append(f"{t}: CPU % of one core, client/server/other processes: "
                     + ", ".join(f"{op} {c}/{s}/{o}" for op, c, s, o in cpu))
        for op, _c, _s, o in cpu:
            if o is not None and o > 15:
                notes.append(f"WARNING {t} {op}: other processes used {o}% of a core during the run: figures disturbed")
    for t, r in dp.items():
        if "ops" not in r:
            notes.append(f"{t}: {r.get('skipped') or r.get('failed')}")
        for op, why in (r.get("op_failures") or {}).items():
            notes.append(f"{t} {op}: not measured: {why[:200]}")
    return headers, rows, notes


def _kv_rows(d: dict, prefix: str = "") -> list[list[str]]:
    rows = []
    for k, v in d.items():
        if k in ("wall_s",):
            continue
        if isinstance(v, dict) and not {"throughput", "p99_ms"} <= set(v):
            rows += _kv_rows(v, prefix + k + ".")
        elif isinstance(v, dict):
            rows.append([prefix + k, f"{_fmt(v['throughput'])} ops/s, p50 {_fmt(v['p50_ms'], 2)} ms, "
                                     f"p99 {_fmt(v['p99_ms'], 2)} ms" + (f", {v['errors']} ERRORS" if v["errors"] else "")])
        elif isinstance(v, list):
            rows.append([prefix + k, ", ".join(str(x) for x in v)[:200]])
        else:
            rows.append([prefix + k, _fmt(v, 2) if isinstance(v, float) else str(v)])
    return rows


def print_results(results: dict) -> None:
    suites = results["suites"]
    if suites.get("dataplane"):
        h, rows, notes = dataplane_rows(suites["dataplane"])
        if rows:
            _print_table("Data plane (throughput = requests/s; BatchWriteItem = 25 items, Query = 20 items)", h, rows,
                         notes)
        else:
            for n in notes:
                print(n)
    for s in ("streams", "triggers", "ttl"):
        if s not in suites:
            continue
        only = [t for t, r in suites[s].items() if "skipped" in r and "eddydb only" in r["skipped"]]
        if only:
            print(f"{s}: runs on eddydb only ({', '.join(only)}: no such feature to compare)")
        for t, r in suites[s].items():
            if t in only:
                continue
            if "skipped" in r:
                print(f"{s} [{t}]: skipped: {r['skipped']}")
                continue
            if "failed" in r:
                print(f"{s} [{t}]: FAILED: {r['failed']}")
                continue
            checks = r.pop("checks", None)
            rows = _kv_rows(r)
            if checks:
                rows += [[f"target: {c['what']}", f"{'PASS' if c['ok'] else 'MISS'} ({c['measured']})"] for c in checks]
                r["checks"] = checks
            _print_table(f"{s} [{t}]", ["measure", "value"], rows)



def markdown(results: dict) -> str:
    """The results as Markdown tables (for docs/performance.md)."""
    out = []
    m, c = results["machine"], results["config"]
    out.append(f"Run {results['started']} (git {results['git']}), {m['nproc']} CPUs ({m['cpu']}), {m['memory']}, "
               f"Python {m['python']}; {c['connections']} connections, {c['warmup']:g} s warm-up + {c['duration']:g} s "
               f"per op, nice {c.get('nice', 0)}, load average at start {m.get('loadavg_at_start', ['?'])[0]:.1f}.")
    dp = results["suites"].get("dataplane")
    if dp:
        h, rows, notes = dataplane_rows(dp)
        h = [*h, "other CPU %"]
        cur = None
        out.append("")
        out.append("| " + " | ".join(h) + " |")
        out.append("|" + "---|" * len(h))
        for r in rows:
            cur = r[0] or cur
            other = dp[r[1]]["ops"][cur].get("other_cpu_pct")
            out.append("| " + " | ".join([*r, str(other)]) + " |")
        out.append("")
        out += [f"- {n}" for n in notes if not n.startswith("WARNING")]
    for s in ("streams", "triggers", "ttl"):
        r = results["suites"].get(s, {}).get("eddydb")
        if not r:
            continue
        out.append("")
        if "checks" not in r:
            out.append(f"**{s}**: {r.get('skipped') or r.get('failed')}")
            continue
        out.append(f"**{s}** (eddydb)")
        out.append("")
        out.append("| target | result | measured |")
        out.append("|---|---|---|")
        for chk in r["checks"]:
            out.append(f"| {chk['what']} | {'PASS' if chk['ok'] else 'MISS'} | {chk['measured']} |")
    return "\n".join(out)


if __name__ == "__main__":
    import json
    import sys

    args = sys.argv[1:]
    md = "--markdown" in args
    for path in [a for a in args if a != "--markdown"]:
        with open(path) as f:
            res = json.load(f)
        if md:
            print(markdown(res))
        else:
            print_config(res)
            print_results(res)
