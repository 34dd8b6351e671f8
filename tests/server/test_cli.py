"""The `eddydb` command: flags and EDDYDB_* variables reach the settings, `serve` prints its
URL, shuts down cleanly on SIGTERM/SIGINT, keeps data in --data and none with --in-memory."""
from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest
from click.testing import CliRunner
from util import ServerProcess, free_port, make_client, wait_for

from eddydb import __version__
from eddydb.cli import main as cli_main
from eddydb.config import Settings


@pytest.fixture
def captured(monkeypatch):
    """Run `serve` without serving: capture the Settings it would serve with."""
    from eddydb.server import app

    seen: list[Settings] = []

    def fake_serve(settings, echo=print):
        seen.append(settings)
        return 0

    monkeypatch.setattr(app, "serve", fake_serve)
    for k in list(os.environ):
        if k.startswith("EDDYDB_"):
            monkeypatch.delenv(k)
    return seen


def _invoke(args, env=None):
    result = CliRunner().invoke(cli_main.cli, args, env=env or {}, catch_exceptions=False)
    return result


def test_version_command_prints_the_version():
    result = _invoke(["version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"eddydb {__version__}"


def test_serve_defaults(captured):
    assert _invoke(["serve"]).exit_code == 0
    s = captured[0]
    assert (s.host, s.port, s.data, s.region, s.workers) == ("127.0.0.1", 8000, "./eddydb-data", "us-east-1", 0)
    assert s.stream_retention == 24 * 3600 and s.ttl_interval == 1.0 and s.sync == "normal"


def test_serve_flags_reach_the_settings(captured):
    args = ["serve", "--host", "0.0.0.0", "--port", "9123", "--data", "/tmp/x", "--region", "eu-west-1",
            "--sync", "full", "--stream-retention", "7d", "--stream-partitions", "4", "--shard-rollover", "15m",
            "--ttl-interval", "250", "--ttl-hide-expired", "--workers", "3"]
    assert _invoke(args).exit_code == 0
    s = captured[0]
    assert (s.host, s.port, s.data, s.region, s.sync) == ("0.0.0.0", 9123, "/tmp/x", "eu-west-1", "full")
    assert (s.stream_retention, s.stream_partitions, s.shard_rollover) == (7 * 86400, 4, 900)
    assert (s.ttl_interval, s.ttl_hide_expired, s.workers) == (250, True, 3)


def test_serve_environment_variables_reach_the_settings(captured):
    env = {"EDDYDB_HOST": "0.0.0.0", "EDDYDB_PORT": "9124", "EDDYDB_DATA": "/tmp/y", "EDDYDB_REGION": "ap-south-1",
           "EDDYDB_STREAM_RETENTION": "unlimited", "EDDYDB_TTL_INTERVAL": "2m", "EDDYDB_TTL_HIDE_EXPIRED": "1",
           "EDDYDB_STREAM_PARTITIONS": "2", "EDDYDB_SHARD_ROLLOVER": "1h", "EDDYDB_SYNC": "full"}
    assert _invoke(["serve"], env).exit_code == 0
    s = captured[0]
    assert (s.host, s.port, s.data, s.region, s.sync) == ("0.0.0.0", 9124, "/tmp/y", "ap-south-1", "full")
    assert (s.stream_retention, s.ttl_interval, s.ttl_hide_expired) == (None, 120, True)
    assert (s.stream_partitions, s.shard_rollover) == (2, 3600)


def test_flag_beats_environment_variable(captured):
    assert _invoke(["serve", "--port", "9125"], {"EDDYDB_PORT": "9126"}).exit_code == 0
    assert captured[0].port == 9125


def test_in_memory_and_store_flags(captured):
    assert _invoke(["serve", "--in-memory"]).exit_code == 0
    assert captured[0].data is None and captured[0].in_memory
    assert _invoke(["serve", "--store", "postgresql://u@h/db"]).exit_code == 0
    assert captured[1].store == "postgresql://u@h/db"


def test_store_urls_other_than_postgresql_are_refused(captured, tmp_path):
    r = _invoke(["serve", "--store", "mysql://u@h/db"])
    assert r.exit_code == 2 and "only postgresql:// URLs are supported" in r.output
    assert not captured
    from eddydb.storage import open_store
    with pytest.raises(ValueError, match="unsupported store URL 'sqlite:///x'"):
        open_store(Settings(store="sqlite:///x", data=str(tmp_path)))


def test_automatic_workers_are_two_only_for_durable_sqlite_on_linux_with_two_cpus(monkeypatch):
    from eddydb.server import app

    monkeypatch.setattr(app.sys, "platform", "linux")
    monkeypatch.setattr(app.os, "sched_getaffinity", lambda _pid: {0, 1}, raising=False)
    assert app.default_workers(Settings(data="./d")) == 2
    assert app.default_workers(Settings(data=None)) == 1                        # in memory
    assert app.default_workers(Settings(store="postgresql://x/y")) == 1         # every worker writes there
    monkeypatch.setattr(app.os, "sched_getaffinity", lambda _pid: {0}, raising=False)
    assert app.default_workers(Settings(data="./d")) == 1                       # one CPU: nothing to gain
    monkeypatch.setattr(app.os, "sched_getaffinity", lambda _pid: {0, 1}, raising=False)
    monkeypatch.setattr(app, "_process_locks_work", lambda: False)
    assert app.default_workers(Settings(data="./d")) == 1                       # no POSIX semaphores here
    monkeypatch.setattr(app, "_process_locks_work", lambda: True)
    monkeypatch.setattr(app.sys, "platform", "darwin")
    assert app.default_workers(Settings(data="./d")) == 1                       # SO_REUSEPORT does not balance


def test_in_memory_with_several_workers_is_refused(captured):
    result = CliRunner().invoke(cli_main.cli, ["serve", "--in-memory", "--workers", "2"])
    assert result.exit_code != 0
    assert "--workers" in result.output


@pytest.mark.parametrize("bad", [["--port", "70000"], ["--ttl-interval", "soon"], ["--sync", "sometimes"]])
def test_bad_flag_values_are_usage_errors(captured, bad):
    result = CliRunner().invoke(cli_main.cli, ["serve", *bad])
    assert result.exit_code == 2
    assert not captured


# --- real processes -------------------------------------------------------------------------
def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDDYDB_")}
    env.update(extra)
    return env


def test_serve_prints_url_and_sigterm_exits_zero(tmp_path):
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "eddydb", "serve", "--port", str(port), "--data",
                             str(tmp_path / "d")], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=_env())
    try:
        line = proc.stdout.readline().decode()
        while "listening" not in line and line:
            line = proc.stdout.readline().decode()
        assert f"http://127.0.0.1:{port}" in line
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_serve_with_port_zero_prints_the_port_it_got(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "eddydb", "serve", "--port", "0", "--in-memory"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=_env())
    try:
        line = ""
        while "listening" not in line:
            line = proc.stdout.readline().decode()
            assert line, "server exited before printing its URL"
        url = line.split()[3]
        assert not url.endswith(":0")
        assert make_client("dynamodb", url).list_tables()["TableNames"] == []
        proc.send_signal(signal.SIGINT)  # Ctrl-C
        assert proc.wait(20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_environment_selects_port_and_data_dir(tmp_path):
    port = free_port()
    data = tmp_path / "envdata"
    proc = subprocess.Popen([sys.executable, "-m", "eddydb", "serve"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=_env(EDDYDB_PORT=str(port), EDDYDB_DATA=str(data)))
    try:
        client = make_client("dynamodb", f"http://127.0.0.1:{port}")
        wait_for(lambda: client.list_tables(), timeout=30)
        assert data.is_dir() and any(data.iterdir())
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _create(client, name):
    client.create_table(TableName=name, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                        BillingMode="PAY_PER_REQUEST")


def test_tables_survive_a_clean_restart(tmp_path):
    with ServerProcess(tmp_path / "d") as srv:
        _create(make_client("dynamodb", srv.url), "kept-table")
        assert srv.stop() == 0
        srv.start()
        assert "kept-table" in make_client("dynamodb", srv.url).list_tables()["TableNames"]


def test_in_memory_server_forgets_everything_on_restart(tmp_path):
    with ServerProcess(None) as srv:
        _create(make_client("dynamodb", srv.url), "gone-table")
        srv.restart()
        assert make_client("dynamodb", srv.url).list_tables()["TableNames"] == []


def _raw_call(url: str, op: str, payload: dict) -> tuple[int, dict]:
    """One request on a fresh connection (so it lands on whichever worker accepts it)."""
    import http.client
    import json
    from urllib.parse import urlsplit

    u = urlsplit(url)
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    c.request("POST", "/", body=json.dumps(payload), headers={
        "X-Amz-Target": "DynamoDB_20120810." + op, "Content-Type": "application/x-amz-json-1.0",
        "Authorization": "AWS4-HMAC-SHA256 Credential=x/20260101/us-east-1/dynamodb/aws4_request"})
    r = c.getresponse()
    out = (r.status, json.loads(r.read()))
    c.close()
    return out


def test_several_workers_serve_one_store(tmp_path):
    with ServerProcess(tmp_path / "d", args=["--workers", "2"]) as srv:
        _create(make_client("dynamodb", srv.url), "shared-table")
        # every request on a new connection, which either worker may accept: all must see the table
        # and each other's writes
        for i in range(40):
            status, body = _raw_call(srv.url, "PutItem", {"TableName": "shared-table", "Item": {"pk": {"S": f"k{i}"}}})
            assert status == 200, body
            for j in (i, i // 2):
                status, body = _raw_call(srv.url, "GetItem", {"TableName": "shared-table", "Key": {"pk": {"S": f"k{j}"}},
                                                              "ConsistentRead": True})
                assert status == 200 and body.get("Item") == {"pk": {"S": f"k{j}"}}, body
        assert srv.stop() == 0


def test_command_groups_of_other_modules_are_registered():
    import importlib.util

    for module, name in (("eddydb.cli.stream", "stream"), ("eddydb.cli.logs", "logs"), ("eddydb.cli.ttl", "ttl")):
        if importlib.util.find_spec(module) is not None:
            assert name in cli_main.cli.commands, name
            assert _invoke([name, "--help"]).exit_code == 0


def test_a_broken_command_module_does_not_take_serve_down(monkeypatch):
    import click

    class Boom(Exception):
        pass

    real_import = cli_main.importlib.import_module

    def fake_import(name, *a, **k):
        if name == "eddydb.cli.logs":
            raise Boom("syntax error somewhere")
        return real_import(name, *a, **k)

    monkeypatch.setattr(cli_main.importlib, "import_module", fake_import)
    group = click.Group("eddydb")
    cli_main._register_optional(group)
    result = CliRunner().invoke(group, ["logs", "fn"])
    assert result.exit_code == 1
    assert "unavailable" in result.output and "syntax error somewhere" in result.output


def test_server_factory_fixture_passes_flags(server_factory):
    srv = server_factory(args=["--region", "eu-north-1"])
    client = make_client("dynamodb", srv.url)
    _create(client, "regional")
    arn = client.describe_table(TableName="regional")["Table"]["TableArn"]
    assert arn.startswith("arn:aws:dynamodb:eu-north-1:")
