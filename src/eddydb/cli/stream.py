"""`eddydb stream ...`: look at a table's DynamoDB Stream from a terminal.

`eddydb stream tail TABLE` prints each change as it happens: a coloured diff of the old and new
image (or one JSON record per line with `--json`). It talks to a running server with boto3's
`dynamodbstreams` client (--endpoint-url / EDDYDB_ENDPOINT), follows shard lineage (a parent is
read to its end before its children) and starts at LATEST unless `--from-start`.
"""
from __future__ import annotations

import base64
import json
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import click

__all__ = ["render_change", "stream", "tail_records"]

_COLOURS = {"INSERT": "green", "MODIFY": "yellow", "REMOVE": "red"}


@click.group("stream")
def stream() -> None:
    """Inspect DynamoDB Streams of a running eddydb server."""


def _clients(endpoint_url: str, region: str) -> tuple[Any, Any]:
    import boto3
    from botocore.config import Config

    session = boto3.session.Session(aws_access_key_id="eddydb", aws_secret_access_key="eddydb", region_name=region)
    cfg = Config(retries={"total_max_attempts": 2, "mode": "standard"}, read_timeout=30)
    return (session.client("dynamodb", endpoint_url=endpoint_url, config=cfg),
            session.client("dynamodbstreams", endpoint_url=endpoint_url, config=cfg))


def _all_shards(streams: Any, arn: str) -> list[dict]:
    shards: list[dict] = []
    kw: dict[str, Any] = {"StreamArn": arn}
    while True:
        d = streams.describe_stream(**kw)["StreamDescription"]
        shards += d["Shards"]
        if "LastEvaluatedShardId" not in d:
            return shards
        kw["ExclusiveStartShardId"] = d["LastEvaluatedShardId"]


def tail_records(streams: Any, arn: str, *, from_start: bool = False, poll: float = 0.2,
                 should_stop: Any = None) -> Iterator[dict]:
    """Yield the stream's records as they arrive, following lineage. Starts at LATEST of the open
    shards (or TRIM_HORIZON of every shard with from_start); shards that appear later are read from
    their start, each only after its parent is finished. The starting positions are taken before
    this returns, so nothing written after the call is missed."""
    iterators: dict[str, str | None] = {}  # shard id -> iterator (None = finished)
    known: dict[str, dict] = {}

    def discover(initial: bool) -> None:
        for s in _all_shards(streams, arn):
            sid = s["ShardId"]
            fresh = sid not in known
            known[sid] = s
            if not fresh:
                continue
            if initial and not from_start:
                if "EndingSequenceNumber" in s["SequenceNumberRange"]:
                    iterators[sid] = None
                    continue
                itype = "LATEST"
            else:
                itype = "TRIM_HORIZON"
            iterators[sid] = streams.get_shard_iterator(StreamArn=arn, ShardId=sid,
                                                        ShardIteratorType=itype)["ShardIterator"]

    discover(True)

    def records() -> Iterator[dict]:
        last_describe = time.monotonic()
        while should_stop is None or not should_stop():
            if time.monotonic() - last_describe >= max(poll, 0.5):
                last_describe = time.monotonic()
                discover(False)
            got = False
            for sid, it in list(iterators.items()):
                if it is None:
                    continue
                parent = known[sid].get("ParentShardId")
                if parent is not None and iterators.get(parent) is not None:
                    continue  # read the parent to its end first
                resp = streams.get_records(ShardIterator=it)
                iterators[sid] = resp.get("NextShardIterator")
                for r in resp["Records"]:
                    got = True
                    yield r
            if not got:
                time.sleep(poll)

    return records()


def _plain(v: Any) -> Any:
    """A boto3-parsed attribute value -> plain JSON-able Python (numbers stay exact text)."""
    (t, x), = v.items()
    if t == "S":
        return x
    if t == "N":
        return _Num(x)
    if t == "B":
        return _b64(x)
    if t in ("SS",):
        return sorted(x)
    if t == "NS":
        return [_Num(n) for n in sorted(x, key=float)]
    if t == "BS":
        return [_b64(b) for b in x]
    if t == "BOOL":
        return bool(x)
    if t == "NULL":
        return None
    if t == "L":
        return [_plain(i) for i in x]
    if t == "M":
        return {k: _plain(i) for k, i in x.items()}
    return x


class _Num(str):
    """A number kept as its text so JSON shows it unquoted and unrounded."""


def _b64(x: Any) -> str:
    return base64.b64encode(x).decode() if isinstance(x, bytes | bytearray) else str(x)


def _show(v: Any) -> str:
    def enc(o: Any) -> str:
        if isinstance(o, _Num):
            return str(o)
        if isinstance(o, list):
            return "[" + ", ".join(enc(i) for i in o) + "]"
        if isinstance(o, dict):
            return "{" + ", ".join(f"{json.dumps(k)}: {enc(i)}" for k, i in o.items()) + "}"
        return json.dumps(o)

    return enc(_plain(v))


def render_change(record: dict) -> list[tuple[str, str]]:
    """(style, text) lines of one record: a header, then the attribute diff."""
    d = record["dynamodb"]
    name = record["eventName"]
    keys = d.get("Keys", {})
    ts = d.get("ApproximateCreationDateTime")
    when = ts.strftime("%H:%M:%S") if isinstance(ts, datetime) else time.strftime("%H:%M:%S")
    key_text = " ".join(f"{k}={_show(v)}" for k, v in keys.items())
    seqno = d.get("SequenceNumber", "")
    lines = [(f"bold {_COLOURS.get(name, 'white')}", f"{when} {name:<6} {key_text}  [dim]#{seqno[-8:]}[/dim]")]
    old = {k: v for k, v in (d.get("OldImage") or {}).items() if k not in keys}
    new = {k: v for k, v in (d.get("NewImage") or {}).items() if k not in keys}
    for attr in sorted(set(old) | set(new)):
        if attr in old and attr in new:
            a, b = _show(old[attr]), _show(new[attr])
            if a != b:
                lines.append(("yellow", f"    ~ {attr}: {a} -> {b}"))
        elif attr in new:
            lines.append(("green", f"    + {attr}: {_show(new[attr])}"))
        else:
            lines.append(("red", f"    - {attr}: {_show(old[attr])}"))
    return lines


def _json_record(record: dict) -> str:
    def default(o: Any) -> Any:
        if isinstance(o, datetime):
            return int(o.timestamp())
        if isinstance(o, bytes | bytearray):
            return base64.b64encode(o).decode()
        if isinstance(o, set):
            return sorted(o)
        raise TypeError(type(o).__name__)

    return json.dumps(record, default=default, separators=(",", ":"))


@stream.command("tail")
@click.argument("table")
@click.option("--endpoint-url", envvar="EDDYDB_ENDPOINT", default="http://localhost:8000", show_default=True,
              help="The eddydb server to talk to.")
@click.option("--region", envvar="EDDYDB_REGION", default="us-east-1", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON record per line (GetRecords' shape).")
@click.option("--from-start", is_flag=True, help="Start at the oldest retained record instead of LATEST.")
@click.option("--max-records", type=click.IntRange(1), default=None, help="Exit after this many records.")
@click.option("--poll", type=float, default=0.2, show_default=True, help="Seconds between polls when idle.")
def tail(table: str, endpoint_url: str, region: str, as_json: bool, from_start: bool, max_records: int | None,
         poll: float) -> None:
    """Print the changes of TABLE live as they happen."""
    from botocore.exceptions import BotoCoreError, ClientError
    from rich.console import Console

    ddb, streams = _clients(endpoint_url, region)
    err = Console(stderr=True, highlight=False)
    try:
        desc = ddb.describe_table(TableName=table)["Table"]
    except ClientError as e:
        raise click.ClickException(e.response["Error"].get("Message") or str(e)) from None
    except BotoCoreError as e:
        raise click.ClickException(f"cannot reach {endpoint_url}: {e}") from None
    arn = desc.get("LatestStreamArn")
    if not arn or not desc.get("StreamSpecification", {}).get("StreamEnabled"):
        raise click.ClickException(f"table {table} has no enabled stream (UpdateTable StreamSpecification)")
    records = tail_records(streams, arn, from_start=from_start, poll=poll)
    err.print(f"[dim]tailing {arn} ({'from the start' if from_start else 'new changes'}); Ctrl-C to stop[/dim]")
    sys.stderr.flush()
    out = Console(highlight=False, soft_wrap=True)
    n = 0
    try:
        for record in records:
            if as_json:
                click.echo(_json_record(record))
            else:
                for style, text in render_change(record):
                    out.print(f"[{style}]{_escape_keep_dim(text)}[/{style}]")
            sys.stdout.flush()
            n += 1
            if max_records is not None and n >= max_records:
                return
    except KeyboardInterrupt:
        return
    except ClientError as e:
        raise click.ClickException(e.response["Error"].get("Message") or str(e)) from None


def _escape_keep_dim(text: str) -> str:
    from rich.markup import escape

    head, sep, tail = text.partition("  [dim]")
    return escape(head) + (sep + tail if sep else "")
