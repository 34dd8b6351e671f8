"""CPU time of a server's whole process group from /proc (Linux), to show how busy each side was."""
from __future__ import annotations

import os

__all__ = ["group_cpu", "machine_busy", "children_cpu"]

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
