"""Helpers shared by the examples: run an eddydb server on a free local port (or use
EDDYDB_ENDPOINT), make boto3 clients for it, deploy a handler file as a Lambda function, and wait
for a condition with a deadline. Nothing here is eddydb-specific API: the examples talk to eddydb
exactly as they would talk to AWS."""
from __future__ import annotations

import contextlib
import io
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import zipfile
from collections.abc import Callable, Iterator
from typing import Any

import boto3

REGION = "us-east-1"
ROLE = "arn:aws:iam::000000000000:role/example"


@contextlib.contextmanager
def local_server() -> Iterator[str]:
    """Yield the endpoint URL of a running eddydb: $EDDYDB_ENDPOINT, or a fresh `eddydb serve`."""
    if os.environ.get("EDDYDB_ENDPOINT"):
        yield os.environ["EDDYDB_ENDPOINT"]
        return
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    data = tempfile.mkdtemp(prefix="eddydb-example-")
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen([sys.executable, "-m", "eddydb", "serve", "--port", str(port), "--data", data],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: _healthy(url), 30, "the eddydb server to start")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(data, ignore_errors=True)


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/", timeout=1) as r:
            return r.status == 200
    except OSError:
        return False


def client(service: str, url: str) -> Any:
    return boto3.client(service, endpoint_url=url, region_name=REGION,
                        aws_access_key_id="example", aws_secret_access_key="example")


def deploy(lam: Any, name: str, handler_file: str, handler: str = "handler.handler",
           env: dict[str, str] | None = None) -> str:
    """Create a python3.12 function from one handler file (zipped as handler.py); returns its ARN."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.write(handler_file, "handler.py")
    resp = lam.create_function(FunctionName=name, Runtime="python3.12", Role=ROLE, Handler=handler,
                               Code={"ZipFile": buf.getvalue()}, Timeout=30,
                               Environment={"Variables": env or {}})
    return resp["FunctionArn"]


def wait_until(pred: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = pred()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.05)


def wait_enabled(lam: Any, uuid: str) -> None:
    wait_until(lambda: lam.get_event_source_mapping(UUID=uuid)["State"] == "Enabled", 10, "the trigger to be enabled")
