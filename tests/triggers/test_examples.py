"""The runnable examples in examples/ work end to end (each starts its own server)."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.mark.parametrize("example", ["todo_counts", "invoices", "todo_ttl_archive"])
def test_example_runs(example):
    env = dict(os.environ)
    env.pop("EDDYDB_ENDPOINT", None)
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "examples", example, "run.py")],
                          capture_output=True, text=True, timeout=120, env=env, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "OK:" in proc.stdout
