"""CPU time of a server's whole process group from /proc (Linux), to show how busy each side was."""
from __future__ import annotations

import os

__all__ = ["Others", "children_cpu", "group_cpu", "machine_busy", "wait_quiet"]

_TICK = os.sysconf("SC_CLK_TCK")


def group_cpu(pgid: int | None) -> float:
    """user+sys CPU seconds of every live process in process group `pgid` or descended from the
    process `pgid` (a server's function workers may start their own sessions); 0.0 if unknown."""
    if not pgid:
        return 0.0
    procs: dict[int, tuple[int, int, int]] = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat", "rb") as f:
                raw = f.read()
        except OSError:
            continue
        rest = raw[raw.rfind(b")") + 2:].split()
        # fields after comm: state(0) ppid(1) pgrp(2) ... utime(11) stime(12)
        procs[int(d)] = (int(rest[1]), int(rest[2]), int(rest[11]) + int(rest[12]))
    children: dict[int, list[int]] = {}
    for pid, (ppid, _g, _c) in procs.items():
        children.setdefault(ppid, []).append(pid)
    members = {pid for pid, (_p, g, _c) in procs.items() if g == pgid}
    stack = [pgid]
    while stack:
        p = stack.pop()
        for c in children.get(p, ()):
            if c not in members:
                members.add(c)
                stack.append(c)
        members.add(p)
    return sum(procs[p][2] for p in members if p in procs) / _TICK


def machine_busy() -> float:
    """CPU seconds all CPUs spent busy since boot (from /proc/stat; idle and iowait excluded)."""
    with open("/proc/stat") as f:
        parts = [int(x) for x in f.readline().split()[1:]]
    total = sum(parts[:8])
    return (total - parts[3] - parts[4]) / _TICK


def children_cpu() -> float:
    """user+sys CPU seconds of this process's waited-for children (the load generator processes)."""
    import resource
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def wait_quiet(max_wait: float = 60.0, threshold_pct: float = 10.0, window: float = 0.5) -> float:
    """Wait until the machine is idle (busy < threshold_pct of one core for two windows in a row),
    at most max_wait seconds; returns the busy % of the last window."""
    import time

    if max_wait <= 0:
        return 0.0
    deadline = time.monotonic() + max_wait
    quiet = 0
    pct = 0.0
    while True:
        b0 = machine_busy()
        time.sleep(window)
        pct = 100 * (machine_busy() - b0) / window
        quiet = quiet + 1 if pct < threshold_pct else 0
        if quiet >= 2 or time.monotonic() > deadline:
            return pct


class Others:
    """Context manager: CPU % (of one core) used by processes other than the server group `pgid` and
    this process's children/self while the block ran. `with Others(pid) as o: ...; o.pct`"""

    def __init__(self, pgid: int | None) -> None:
        self.pgid = pgid
        self.pct = 0.0

    def __enter__(self) -> Others:  # noqa: PYI034
        import resource
        import time
        ru = resource.getrusage(resource.RUSAGE_SELF)
        self._s = (machine_busy(), group_cpu(self.pgid), children_cpu() + ru.ru_utime + ru.ru_stime, time.perf_counter())
        return self

    def __exit__(self, *exc) -> None:
        import resource
        import time
        ru = resource.getrusage(resource.RUSAGE_SELF)
        m0, g0, c0, t0 = self._s
        m1, g1, c1, t1 = machine_busy(), group_cpu(self.pgid), children_cpu() + ru.ru_utime + ru.ru_stime, time.perf_counter()
        self.pct = round(100 * max(0.0, (m1 - m0) - (g1 - g0) - (c1 - c0)) / max(t1 - t0, 1e-9), 1)
