"""Summarise py-spy folded stacks (`bench/run.py --profile DIR`): top functions by self and
inclusive samples, per thread. Usage: python bench/hotspots.py DIR/eddydb-PutItem.folded [N]"""
from __future__ import annotations

import re
import sys
from collections import Counter

__all__ = ["summarise"]


def _frame(f: str) -> str:
    # "func (path/to/file.py:123)" -> "func (file.py)"
    m = re.match(r"(.*?) \((.*?):(\d+)\)$", f.strip())
    if not m:
        return f.strip()
    path = m.group(2)
    short = path.split("site-packages/")[-1].split("/src/")[-1]
    return f"{m.group(1)} ({short}:{m.group(3)})"


def _func(f: str) -> str:
    return re.sub(r":\d+\)$", ")", _frame(f))


def summarise(path: str, n: int = 25) -> str:
    self_c: Counter = Counter()
    incl: Counter = Counter()
    threads: Counter = Counter()
    total = 0
    with open(path) as f:
        lines = f.read().splitlines()
    for line in lines:
        line = line.rstrip("\n")
        if not line:
            continue
        stack, _, cnt = line.rpartition(" ")
        cnt = int(cnt)
        frames = stack.split(";")
        total += cnt
        threads[frames[0]] += cnt
        funcs = [_func(f) for f in frames[1:]] or [frames[0]]
        self_c[funcs[-1]] += cnt
        for f in set(funcs):
            incl[f] += cnt
    out = [f"{path}: {total} samples"]
    out.append("threads: " + ", ".join(f"{t} {100 * c / total:.0f}%" for t, c in threads.most_common(6)))
    out.append(f"\ntop {n} self:")
    out += [f"  {100 * c / total:5.1f}%  {f}" for f, c in self_c.most_common(n)]
    out.append(f"\ntop {n} inclusive:")
    out += [f"  {100 * c / total:5.1f}%  {f}" for f, c in incl.most_common(n)]
    return "\n".join(out)


if __name__ == "__main__":
    print(summarise(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 25))
