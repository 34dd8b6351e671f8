"""The `eddydb` command: `serve`, `version`, and the command groups other rooms contribute
(`stream` from cli/stream.py, `logs` from cli/logs.py, `ttl` from cli/ttl.py) when present.

Every `serve` flag has an EDDYDB_* environment variable; the flags only fill
config.Settings, the server (server/app.py) does the rest.
"""
from __future__ import annotations

import importlib
import sys
from typing import Any

import click

from eddydb import __version__
from eddydb.config import Settings, parse_duration

__all__ = ["cli", "main"]


class _Duration(click.ParamType):
    """'90', '90s', '15m', '24h', '7d' -> seconds; 'unlimited'/'none' -> None where allowed."""

    name = "duration"

    def __init__(self, allow_none: bool = False) -> None:
        self.allow_none = allow_none

    def convert(self, value: Any, param: Any, ctx: Any) -> float | None:
        if value is None or isinstance(value, float):
            return value
        text = str(value).strip().lower()
        if self.allow_none and text in ("none", "unlimited", "off"):
            return None
        try:
            out = parse_duration(text)
        except ValueError:
            self.fail(f"{value!r} is not a duration (examples: 90, 90s, 15m, 24h, 7d)", param, ctx)
        if out < 0:
            self.fail("a duration cannot be negative", param, ctx)
        return out


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "-V", "--version", prog_name="eddydb")
def cli() -> None:
    """eddydb: a DynamoDB-compatible database with streams, triggers and TTL built in."""


@cli.command()
@click.option("--host", envvar="EDDYDB_HOST", default="127.0.0.1", show_default=True,
              help="Interface to listen on (0.0.0.0 for all).")
@click.option("--port", envvar="EDDYDB_PORT", type=click.IntRange(0, 65535), default=8000, show_default=True,
              help="TCP port (0 picks a free one; the URL is printed).")
@click.option("--data", envvar="EDDYDB_DATA", default="./eddydb-data", show_default=True,
              help="Directory of the durable SQLite store.")
@click.option("--in-memory", "in_memory", envvar="EDDYDB_IN_MEMORY", is_flag=True, default=False,
              help="Keep everything in memory (lost on exit).")
@click.option("--store", envvar="EDDYDB_STORE", default=None,
              help="Storage URL instead of --data, e.g. postgresql://user@host/db.")
@click.option("--region", envvar="EDDYDB_REGION", default="us-east-1", show_default=True,
              help="Region used in ARNs.")
@click.option("--sync", envvar="EDDYDB_SYNC", type=click.Choice(["normal", "full"]), default="normal",
              show_default=True, help="normal: survives kill -9; full: also survives power loss (slower).")
@click.option("--stream-retention", envvar="EDDYDB_STREAM_RETENTION", type=_Duration(allow_none=True),
              default="24h", show_default=True, help="How long stream records stay readable ('unlimited' to keep).")
@click.option("--stream-partitions", envvar="EDDYDB_STREAM_PARTITIONS", type=click.IntRange(1, 1024), default=1,
              show_default=True, help="Key-hash partitions (open shards) per stream.")
@click.option("--shard-rollover", envvar="EDDYDB_SHARD_ROLLOVER", type=_Duration(), default="4h",
              show_default=True, help="How long an open shard lives before it closes and gets a child.")
@click.option("--ttl-interval", envvar="EDDYDB_TTL_INTERVAL", type=_Duration(), default="1s", show_default=True,
              help="Seconds between TTL sweeps.")
@click.option("--ttl-hide-expired/--no-ttl-hide-expired", "ttl_hide_expired", envvar="EDDYDB_TTL_HIDE_EXPIRED",
              default=False, show_default=True, help="Hide expired items from reads before the sweeper deletes them.")
@click.option("--workers", envvar="EDDYDB_WORKERS", type=click.IntRange(0, 256), default=0, show_default="auto",
              help="Server processes sharing the port and the store. 0 (auto): 2 on Linux with a durable "
                   "SQLite store and 2+ CPUs (the second answers item reads in parallel and forwards writes "
                   "to the first), else 1.")
def serve(host: str, port: int, data: str, in_memory: bool, store: str | None, region: str, sync: str,
          stream_retention: float | None, stream_partitions: int, shard_rollover: float, ttl_interval: float,
          ttl_hide_expired: bool, workers: int) -> None:
    """Run the server (DynamoDB, DynamoDB Streams and Lambda APIs on one port). Ctrl-C stops it cleanly."""
    import logging

    from eddydb.server.app import serve as run

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = Settings.from_env()
    settings.host = host
    settings.port = port
    settings.data = None if in_memory else data
    settings.store = store
    settings.region = region
    settings.sync = sync
    settings.stream_retention = stream_retention
    settings.stream_partitions = stream_partitions
    settings.shard_rollover = shard_rollover
    settings.ttl_interval = ttl_interval
    settings.ttl_hide_expired = ttl_hide_expired
    settings.workers = workers
    if in_memory and workers > 1:
        raise click.UsageError("--workers > 1 needs a durable store (--data or --store), not --in-memory")
    from eddydb.storage import STORE_URL_SCHEMES

    if store and not store.startswith(STORE_URL_SCHEMES):
        raise click.UsageError(f"--store {store!r}: only postgresql:// URLs are supported (--data DIR for SQLite)")
    try:
        code = run(settings, echo=lambda line: click.echo(line))
    except KeyboardInterrupt:  # a second Ctrl-C during shutdown
        code = 130
    sys.exit(code)


@cli.command()
def version() -> None:
    """Print the eddydb version."""
    click.echo(f"eddydb {__version__}")


def _register_optional(group: click.Group) -> None:
    """Add the command groups other modules provide (cli/stream.py, cli/logs.py, cli/ttl.py)."""
    for modname, cmdname in (("eddydb.cli.stream", "stream"), ("eddydb.cli.logs", "logs"), ("eddydb.cli.ttl", "ttl")):
        try:
            mod = importlib.import_module(modname)
        except ModuleNotFoundError as e:
            if e.name == modname:
                continue
            _add_broken(group, cmdname, e)
            continue
        except Exception as e:  # noqa: BLE001 - one broken plug-in must not take `serve` down
            _add_broken(group, cmdname, e)
            continue
        cmd = None
        for attr in (cmdname, "cli", "group", "main", "command"):
            obj = getattr(mod, attr, None)
            if isinstance(obj, click.Command):
                cmd = obj
                break
        if cmd is None:
            cmds = [v for v in vars(mod).values() if isinstance(v, click.Group)]
            cmd = cmds[0] if len(cmds) == 1 else None
        if cmd is not None:
            group.add_command(cmd, cmdname)


def _add_broken(group: click.Group, name: str, err: BaseException) -> None:
    @click.command(name, context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
                   help=f"(unavailable: {type(err).__name__})")
    def broken() -> None:
        raise click.ClickException(f"`eddydb {name}` is unavailable: {type(err).__name__}: {err}")

    group.add_command(broken, name)


_register_optional(cli)


def main(argv: list[str] | None = None) -> None:
    """Console entry point (`eddydb`, `python -m eddydb`)."""
    cli.main(args=argv, prog_name="eddydb")
