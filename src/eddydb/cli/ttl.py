"""`eddydb ttl`: Time to Live commands. `eddydb ttl sweep [TABLE]` deletes every expired item now
(instead of waiting for the next background sweep), either on a running server (`--endpoint`,
through the `EddydbTtlSweep` extension operation) or on a database directory no server holds
(`--data`). Registered by cli/main.py as the `ttl` group.
"""
from __future__ import annotations

import json
import math
import os
import time
import urllib.error
import urllib.request

import click

__all__ = ["ttl"]


@click.group("ttl")
def ttl() -> None:
    """Time to Live: expire items now."""


@ttl.command("sweep")
@click.argument("table", required=False)
@click.option("--endpoint", envvar="EDDYDB_ENDPOINT", default=None,
              help="URL of a running eddydb server (default http://127.0.0.1:8000 unless --data is given).")
@click.option("--data", default=None, help="Database directory to sweep in-process (no server may hold it).")
@click.option("--now", type=float, default=None, help="Pretend the current time is this epoch second.")
def sweep_cmd(table: str | None, endpoint: str | None, data: str | None, now: float | None) -> None:
    """Delete the expired items of TABLE (or of every table with TTL enabled) right now."""
    if data is not None and endpoint is not None:
        raise click.UsageError("give either --endpoint or --data, not both")
    if now is not None and not math.isfinite(now):
        raise click.BadParameter(f"{now} is not a number of epoch seconds", param_hint="'--now'")
    if data is not None:
        n = _sweep_local(data, table, now)
    else:
        n = _sweep_remote(endpoint or "http://127.0.0.1:8000", table, now)
    where = f"table {table}" if table else "all tables"
    click.echo(f"deleted {n} expired item{'s' if n != 1 else ''} ({where})")


def _sweep_local(data: str, table: str | None, now: float | None) -> int:
    from eddydb.config import Settings
    from eddydb.engine.ttl import sweep
    from eddydb.instance import Instance
    from eddydb.model.errors import EddyError

    settings = Settings.from_env(data=data)
    # Opening a directory creates a database: a mistyped path would sweep a new, empty one.
    if settings.store is None and not os.path.isfile(os.path.join(data, "eddydb.sqlite3")):
        raise click.ClickException(f"no eddydb database in {data}")
    inst = Instance(settings)
    try:
        return sweep(inst.engine, table, now)
    except EddyError as e:
        raise click.ClickException(f"{e.code}: {e.message}") from None
    finally:
        inst.close()


def _sweep_remote(endpoint: str, table: str | None, now: float | None) -> int:
    body: dict = {}
    if table:
        body["TableName"] = table
    if now is not None:
        body["Now"] = now
    amz_date = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    req = urllib.request.Request(endpoint.rstrip("/") + "/", data=json.dumps(body).encode(), method="POST", headers={
        "Content-Type": "application/x-amz-json-1.0",
        "X-Amz-Target": "DynamoDB_20120810.EddydbTtlSweep",
        "X-Amz-Date": amz_date,
        "Authorization": "AWS4-HMAC-SHA256 Credential=eddydb/20000101/us-east-1/dynamodb/aws4_request, "
                         "SignedHeaders=host;x-amz-date;x-amz-target, Signature=0",
    })
    try:
        with urllib.request.urlopen(req, timeout=300) as resp:
            return int(json.loads(resp.read())["Deleted"])
    except urllib.error.HTTPError as e:
        try:
            err = json.loads(e.read())
            msg = f"{err.get('__type', '').split('#')[-1]}: {err.get('message') or err.get('Message')}"
        except ValueError:
            msg = str(e)
        raise click.ClickException(msg) from None
    except urllib.error.URLError as e:
        raise click.ClickException(f"cannot reach {endpoint}: {e.reason}") from None
