"""Test helpers shared by every test package: polling with a deadline, real server processes,
and boto3 clients configured so errors surface at once (no retries, short timeouts).

Used by tests/conftest.py (the session server and client fixtures) and by tests that need a
server of their own (crash tests, CLI flag tests).
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Self, TypeVar

import boto3
from botocore.config import Config

__all__ = [
    "REGION",
    "ServerProcess",
    "WaitTimeout",
    "client_config",
    "free_port",
    "make_client",
    "wait_for",
]

T = TypeVar("T")
REGION = "us-east-1"


class WaitTimeout(AssertionError):
    """A polled condition did not become true before its deadline."""


def wait_for(pred: Callable[[], T], timeout: float = 10.0, interval: float = 0.01,
             message: str | Callable[[], str] | None = None) -> T:
    """Poll `pred()` until it returns a truthy value and return that value.

    Exceptions raised by `pred` count as "not yet" (the last one is reported). On timeout raises
    WaitTimeout naming the condition, the last value seen and the last exception.
    """
    deadline = time.monotonic() + timeout
    last: Any = None
    last_exc: BaseException | None = None
    while True:
        try:
            last = pred()
            last_exc = None
            if last:
                return last
        except Exception as e:  # noqa: BLE001 - a failing probe is "not yet"
            last_exc = e
        if time.monotonic() >= deadline:
            what = message() if callable(message) else message
            name = what or getattr(pred, "__qualname__", repr(pred))
            detail = f"last value: {last!r}"
            if last_exc is not None:
                detail += f"; last exception: {type(last_exc).__name__}: {last_exc}"
            raise WaitTimeout(f"timed out after {timeout}s waiting for {name} ({detail})") from last_exc
        time.sleep(interval)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def client_config(**overrides: Any) -> Config:
    """No retries (errors show up as they are) and short timeouts (a hang fails fast)."""
    kw: dict[str, Any] = {
        "retries": {"total_max_attempts": 1, "mode": "standard"},
        "connect_timeout": 5,
        "read_timeout": 30,
        "max_pool_connections": 50,
    }
    kw.update(overrides)
    return Config(**kw)


def make_client(service: str, url: str, **config: Any) -> Any:
    """A real boto3 client for `service` ("dynamodb", "dynamodbstreams", "lambda") talking HTTP to `url`."""
    return boto3.session.Session().client(
        service,
        endpoint_url=url,
        region_name=REGION,
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="secret",
        config=client_config(**config),
    )


class ServerProcess:
    """An `eddydb serve` subprocess on its own port and data directory.

    `start()` waits until GET / answers. `kill9()` simulates a crash, `restart()` starts it again on
    the same port and data directory (clients created earlier keep working). Output goes to
    `<log_path>` and its tail is shown when the server fails to come up.
    """

    def __init__(self, data_dir: str | os.PathLike | None, *, args: Sequence[str] = (),
                 env: dict[str, str] | None = None, host: str = "127.0.0.1", port: int | None = None,
                 log_path: str | os.PathLike | None = None) -> None:
        self.data_dir = Path(data_dir) if data_dir is not None else None
        self.host = host
        self.port = port or free_port(host)
        self.args = list(args)
        self.env = env
        base = self.data_dir.parent if self.data_dir is not None else Path(os.environ.get("TMPDIR", "/tmp"))
        self.log_path = Path(log_path) if log_path else base / f"eddydb-server-{self.port}.log"
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def command(self) -> list[str]:
        cmd = [sys.executable, "-m", "eddydb", "serve", "--host", self.host, "--port", str(self.port)]
        if self.data_dir is not None:
            cmd += ["--data", str(self.data_dir)]
        else:
            cmd += ["--in-memory"]
        return cmd + self.args

    def start(self, timeout: float = 30.0) -> ServerProcess:
        env = dict(os.environ)
        env.pop("EDDYDB_PORT", None)
        if self.env:
            env.update(self.env)
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - lives as long as the process
        self._log_start = self._log.tell()   # this start's "listening" line comes after here
        self.proc = subprocess.Popen(self.command(), stdout=self._log, stderr=subprocess.STDOUT, env=env,
                                     start_new_session=True)
        try:
            wait_for(self._healthy, timeout=timeout, interval=0.02,
                     message=lambda: f"eddydb server on {self.url} to answer GET / (log tail:\n{self.log_tail()})")
        except BaseException:
            self.kill9()
            raise
        return self

    def _healthy(self) -> bool:
        """Answering GET / and announced: with several workers one may answer before the others
        listen (and have their signal handlers); `eddydb serve` prints its line once all do."""
        if self.proc is not None and self.proc.poll() is not None:
            raise RuntimeError(f"server exited with code {self.proc.returncode}")
        try:
            with urllib.request.urlopen(self.url + "/", timeout=1) as r:
                if r.status != 200:
                    return False
        except OSError:
            return False
        with open(self.log_path, "rb") as f:
            f.seek(self._log_start)
            return b"listening on" in f.read()

    def log_tail(self, n: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return "(no log)"

    def kill9(self) -> None:
        """SIGKILL the server (and its worker processes) without any chance to clean up."""
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()
        self.proc = None
        self._log.close()

    def stop(self, timeout: float = 60.0) -> int | None:
        """SIGTERM (graceful shutdown) and wait; returns the exit code."""
        if self.proc is None:
            return None
        proc = self.proc
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill9()
            raise AssertionError(f"server did not stop within {timeout}s after SIGTERM:\n{self.log_tail()}")
        self.proc = None
        self._log.close()
        return code

    def restart(self, timeout: float = 30.0) -> ServerProcess:
        if self.proc is not None:
            self.stop()
        return self.start(timeout)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            try:
                self.stop()
            except AssertionError:
                pass


def table_stream_records(ddb: Any, streams: Any, table: str) -> list[dict]:
    """Every record of `table`'s latest stream, shard by shard from TRIM_HORIZON (pages followed
    until an empty one)."""
    arn = ddb.describe_table(TableName=table)["Table"]["LatestStreamArn"]
    out: list[dict] = []
    for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
        it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"],
                                        ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        while it:
            resp = streams.get_records(ShardIterator=it)
            out += resp["Records"]
            if not resp["Records"]:
                break
            it = resp.get("NextShardIterator")
    return out
