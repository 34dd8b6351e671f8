"""`eddydb logs FUNCTION [-f]`: show (and follow) a function's log: its handler's stdout,
stderr and logging, between Lambda's START / END / REPORT lines.

Reads `<data>/logs/FUNCTION.log` directly when the log is on this machine (`--data`,
default ./eddydb-data), otherwise asks a running server (`--endpoint`) through its
`GET /eddydb/logs/FUNCTION?offset=N` route. Registered by cli/main.py as `logs`.
"""
from __future__ import annotations

import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import click

__all__ = ["logs"]

_POLL = 0.2


def _last_lines(data: bytes, n: int | None) -> bytes:
    if n is None:
        return data
    if n <= 0:
        return b""
    lines = data.splitlines(keepends=True)
    return b"".join(lines[-n:])


def _out(data: bytes) -> None:
    if data:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()


def _from_file(path: str, lines: int | None, follow: bool) -> None:
    offset = 0
    try:
        with open(path, "rb") as f:
            data = f.read()
            offset = len(data)
        _out(_last_lines(data, lines))
    except FileNotFoundError:
        if not follow:
            raise click.ClickException(f"no log at {path} (has the function been invoked?)") from None
    while follow:
        time.sleep(_POLL)
        try:
            size = os.path.getsize(path)
        except OSError:
            continue
        if size < offset:          # truncated or replaced: start over
            offset = 0
        if size > offset:
            with open(path, "rb") as f:
                f.seek(offset)
                chunk = f.read(size - offset)
            offset += len(chunk)
            _out(chunk)


def _fetch(endpoint: str, name: str, offset: int) -> tuple[bytes, int]:
    url = f"{endpoint.rstrip('/')}/eddydb/logs/{urllib.parse.quote(name, safe='')}?offset={offset}"
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.read(), int(r.headers.get("X-Eddydb-Log-Size") or 0)
    except urllib.error.HTTPError as e:
        try:
            msg = json.loads(e.read()).get("Message") or e.reason
        except ValueError:
            msg = e.reason
        raise click.ClickException(f"{msg}") from None
    except OSError as e:
        raise click.ClickException(f"cannot reach eddydb at {endpoint}: {e}") from None


def _from_server(endpoint: str, name: str, lines: int | None, follow: bool) -> None:
    data, size = _fetch(endpoint, name, 0)
    _out(_last_lines(data, lines))
    offset = size
    while follow:
        time.sleep(_POLL)
        chunk, size = _fetch(endpoint, name, offset)
        if size < offset:
            chunk, size = _fetch(endpoint, name, 0)
        offset = size
        _out(chunk)


@click.command("logs")
@click.argument("function")
@click.option("-f", "--follow", is_flag=True, help="Keep printing new log lines as they are written.")
@click.option("-n", "--lines", type=int, default=None, help="Only the last N lines (default: the whole log).")
@click.option("--data", envvar="EDDYDB_DATA", default=None,
              help="Data directory of the database (its logs/ are read directly). [default: ./eddydb-data]")
@click.option("--endpoint", envvar="EDDYDB_ENDPOINT", default=None,
              help="URL of a running eddydb server to ask instead (e.g. for an --in-memory server).")
def logs(function: str, follow: bool, lines: int | None, data: str | None, endpoint: str | None) -> None:
    """Show the log of FUNCTION (stdout, stderr, logging, START/END/REPORT lines); -f follows it."""
    from eddydb.triggers.runtime import parse_function_ref

    name = parse_function_ref(function)[0]
    if data is not None and endpoint is not None:
        raise click.UsageError("give either --data or --endpoint, not both")
    try:
        if endpoint is None:
            path = os.path.join(data or "./eddydb-data", "logs", f"{name}.log")
            if data is not None or os.path.exists(path):
                _from_file(path, lines, follow)
                return
            endpoint = "http://127.0.0.1:8000"
        _from_server(endpoint, name, lines, follow)
    except KeyboardInterrupt:
        pass
