"""CPU time of a server's whole process group from /proc (Linux), to show how busy each side was."""
from __future__ import annotations

import os

__all__ = ["group_cpu"]

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
