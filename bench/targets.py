"""The servers bench/run.py measures: eddydb (durable SQLite), moto and dynalite, each started by the
bench on its own free port with its own temporary directory, and stopped (process group) afterwards.

Peers are installed on demand: moto through pip into the running interpreter's environment (the
`bench` extra of pyproject.toml), dynalite through npm into bench/node_modules (pinned in
bench/package.json). A target that cannot be installed or started is reported and skipped.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["BENCH_DIR", "REPO", "TARGETS", "Target", "free_port", "start_target"]

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
TARGETS = ["eddydb", "dynalite", "dynalite-disk", "moto"]

DESCRIPTIONS = {
    "eddydb": "eddydb serve, durable SQLite (WAL, synchronous=NORMAL) in a temp dir, default workers "
              "(2 processes on a 2+ CPU Linux host: one writes, both read)",
    "eddydb-1w": "eddydb serve --workers 1, durable SQLite: one process",
    "eddydb-mem": "eddydb serve --in-memory",
    "eddydb-pg": "eddydb serve --store postgresql://... (PostgreSQL 15 on localhost, 1 process)",
    "eddydb-pg2": "eddydb serve --store postgresql://... --workers 2 (2 processes on one database)",
    "dynalite": "dynalite (Node), in-memory (its default)",
    "dynalite-disk": "dynalite --path DIR (LevelDB on disk)",
    "moto": "moto_server (Python, werkzeug), in-memory",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Target:
    name: str
    host: str
    port: int
    proc: subprocess.Popen | None
    tmpdir: str | None
    description: str
    log_path: str | None = None
    extra: dict = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def alive(self) -> bool:
        return self.proc is None or self.proc.poll() is None

    def log_tail(self, n: int = 30) -> str:
        if not self.log_path or not os.path.exists(self.log_path):
            return ""
        with open(self.log_path, "rb") as f:
            return b"\n".join(f.read().splitlines()[-n:]).decode("utf-8", "replace")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGINT)
                self.proc.wait(timeout=10)
            except (subprocess.TimeoutExpired, ProcessLookupError):
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait(timeout=10)
        self.proc = None
        if self.tmpdir:
            shutil.rmtree(self.tmpdir, ignore_errors=True)
            self.tmpdir = None
        dropdb = self.extra.pop("dropdb", None)
        if dropdb is not None:
            dropdb()

    def pin(self, cpus: list[int]) -> None:
        """Pin the server process (all its threads) to `cpus`."""
        if self.proc is None:
            return
        task_dir = f"/proc/{self.proc.pid}/task"
        for tid in os.listdir(task_dir):
            try:
                os.sched_setaffinity(int(tid), cpus)
            except OSError:
                pass


class TargetUnavailable(Exception):
    pass


def _venv_bin(name: str) -> str:
    cand = Path(sys.executable).parent / name
    return str(cand) if cand.exists() else (shutil.which(name) or name)


def _ensure_moto() -> None:
    try:
        import flask  # noqa: F401
        import moto.server  # noqa: F401
        return
    except ImportError:
        pass
    print("bench: installing moto[server] into", sys.prefix, flush=True)
    r = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "moto[server]>=5"], capture_output=True, text=True,
                       check=False)
    if r.returncode != 0:
        raise TargetUnavailable("pip install moto[server] failed: " + r.stderr[-500:])


def _ensure_dynalite() -> str:
    exe = BENCH_DIR / "node_modules" / ".bin" / "dynalite"
    if exe.exists():
        return str(exe)
    npm = shutil.which("npm")
    if not npm:
        raise TargetUnavailable("npm not found: install Node.js to benchmark dynalite")
    print("bench: npm install (dynalite) into", BENCH_DIR / "node_modules", flush=True)
    r = subprocess.run([npm, "install", "--no-audit", "--no-fund", "--loglevel=error"], cwd=BENCH_DIR, check=False,
                       capture_output=True, text=True)
    if r.returncode != 0 or not exe.exists():
        raise TargetUnavailable("npm install dynalite failed: " + (r.stderr or r.stdout)[-500:])
    return str(exe)


def _wait_ready(t: Target, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        if t.proc is not None and t.proc.poll() is not None:
            raise TargetUnavailable(f"{t.name} exited with {t.proc.returncode}:\n{t.log_tail()}")
        try:
            with socket.create_connection((t.host, t.port), timeout=0.5):
                pass
            # any HTTP answer (even 4xx) means it serves
            req = urllib.request.Request(t.url + "/", method="GET")
            try:
                urllib.request.urlopen(req, timeout=2).read()
            except urllib.error.HTTPError:
                pass
            return
        except OSError as e:
            last = e
            time.sleep(0.1)
    raise TargetUnavailable(f"{t.name} did not answer on {t.url} within {timeout}s ({last}):\n{t.log_tail()}")


NICE = 0   # set by run.py --nice: priority of the targets (and the load generator) vs other processes


def set_priority(nice: int) -> None:
    """Nice value of this process and of its session's autogroup: with kernel.sched_autogroup_enabled
    the scheduler shares CPU between sessions first, so a plain nice would not count against other
    sessions' processes (each target runs in its own session)."""
    if not nice:
        return
    try:
        os.setpriority(os.PRIO_PROCESS, 0, nice)
    except OSError:
        pass
    try:
        with open("/proc/self/autogroup", "w") as f:
            f.write(str(nice))
    except OSError:
        pass


def _die_with_parent() -> None:
    """preexec: the target gets SIGTERM when the bench process dies (even by SIGKILL), so a killed or
    timed-out bench never leaves servers behind (Linux prctl PR_SET_PDEATHSIG); applies --nice."""
    set_priority(NICE)
    try:
        import ctypes
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)
    except Exception:  # noqa: BLE001, S110 - best effort (non-Linux)
        pass


def _fresh_pg_database() -> tuple[str, Any]:
    """A throw-away database on the local PostgreSQL (EDDYDB_BENCH_PG: server URL) and its dropper."""
    import uuid

    try:
        import psycopg
    except ImportError as e:
        raise TargetUnavailable(f"psycopg is not installed: {e}") from e
    base = os.environ.get("EDDYDB_BENCH_PG", "postgresql://root@localhost/postgres")
    name = "eddybench_" + uuid.uuid4().hex[:10]
    try:
        with psycopg.connect(base, autocommit=True) as c:
            c.execute(f'CREATE DATABASE "{name}"')
    except psycopg.Error as e:
        raise TargetUnavailable(f"PostgreSQL at {base} unavailable: {e}") from e

    def drop() -> None:
        try:
            with psycopg.connect(base, autocommit=True) as c:
                c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        except psycopg.Error:
            pass

    return base.rsplit("/", 1)[0] + "/" + name, drop


def start_target(name: str, *, eddydb_args: list[str] | None = None, host: str = "127.0.0.1") -> Target:
    """Start `name` on a free port and wait until it answers HTTP. Raises TargetUnavailable."""
    port = free_port()
    tmp = tempfile.mkdtemp(prefix=f"eddybench-{name}-")
    log_path = os.path.join(tmp, "server.log")
    env = dict(os.environ)
    env.setdefault("AWS_ACCESS_KEY_ID", "bench")
    env.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    extra: dict = {}
    if name.startswith("eddydb"):
        # EDDYDB_BENCH_SRC: measure another source tree (e.g. a patched copy) with the same harness
        src = os.environ.get("EDDYDB_BENCH_SRC") or str(REPO / "src")
        env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
        cmd = [sys.executable, "-m", "eddydb", "serve", "--host", host, "--port", str(port)]
        if name in ("eddydb", "eddydb-1w"):
            cmd += ["--data", os.path.join(tmp, "data")] + (["--workers", "1"] if name == "eddydb-1w" else [])
        elif name == "eddydb-mem":
            cmd += ["--in-memory"]
        elif name in ("eddydb-pg", "eddydb-pg2"):
            url, extra["dropdb"] = _fresh_pg_database()
            cmd += ["--store", url] + (["--workers", "2"] if name == "eddydb-pg2" else [])
        else:
            raise TargetUnavailable(f"unknown target {name!r} (known: {', '.join(DESCRIPTIONS)})")
        cmd += list(eddydb_args or [])
    elif name == "moto":
        _ensure_moto()
        cmd = [sys.executable, "-m", "moto.server", "-H", host, "-p", str(port)]
    elif name in ("dynalite", "dynalite-disk"):
        exe = _ensure_dynalite()
        cmd = [exe, "--host", host, "--port", str(port), "--createTableMs", "0", "--deleteTableMs", "0",
               "--updateTableMs", "0"]
        if name == "dynalite-disk":
            cmd += ["--path", os.path.join(tmp, "leveldb")]
    else:
        raise TargetUnavailable(f"unknown target {name!r} (known: {', '.join(DESCRIPTIONS)})")
    logf = open(log_path, "wb")  # noqa: SIM115 - handed to the child, closed below
    try:
        proc = subprocess.Popen(cmd, stdout=logf, stderr=subprocess.STDOUT, env=env, cwd=tmp,
                                start_new_session=True, preexec_fn=_die_with_parent)  # noqa: PLW1509
    except OSError as e:
        shutil.rmtree(tmp, ignore_errors=True)
        raise TargetUnavailable(f"cannot start {name}: {e}") from e
    finally:
        logf.close()
    t = Target(name, host, port, proc, tmp, DESCRIPTIONS[name], log_path, {"cmd": cmd, **extra})
    try:
        _wait_ready(t)
    except TargetUnavailable:
        t.stop()
        raise
    return t
