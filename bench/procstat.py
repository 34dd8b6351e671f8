"""CPU time of a server's whole process group from /proc (Linux), to show how busy each side was."""
from __future__ import annotations

import os

__all__ = ["group_cpu", "machine_busy", "children_cpu", "wait_quiet"]

_TICK = os.sysconf("SC_CLK_TCK")


def group_cpu(pgid: int | None) -> float:
    """user+sys CPU seconds of every live process in process group `pgid` (0.0 if unknown)."""
    if not pgid:
        return 0.0
    total = 0
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
        if int(rest[2]) == pgid:
            total += int(rest[11]) + int(rest[12])
    return total / _TICK


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
