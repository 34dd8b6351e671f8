"""pytest plugin: with EDDYDB_TEST_STORE=postgresql://... every durable server and embedded database
the suite opens lives in PostgreSQL instead of SQLite (a no-op without the variable).

Loaded by tests/conftest.py (`pytest_plugins`). A data directory maps to one schema of this test
process's database (see harness.py), so a test that restarts a server or reopens an embedded
database on the same directory finds its data again, and different directories never share
data. In-memory databases and servers (`--in-memory`, `eddydb.open(None)`) stay on SQLite: that
mode is SQLite's by definition.
"""
from __future__ import annotations

import hashlib
import os
import sys
from typing import Any

sys.path.insert(0, os.path.dirname(__file__))

import harness

__all__ = ["store_for_dir"]

_by_dir: dict[str, str] = {}


def store_for_dir(path: str | os.PathLike) -> str:
    """The store URL standing in for SQLite data directory `path` (one schema per directory)."""
    key = os.path.abspath(os.fspath(path))
    url = _by_dir.get(key)
    if url is None:
        label = "d" + hashlib.sha1(key.encode()).hexdigest()[:8] + "_"
        url = _by_dir[key] = harness.fresh_store_url(label)
    return url


def _patch() -> None:
    import util

    from eddydb import embedded

    server_init = util.ServerProcess.__init__

    def init(self: Any, data_dir: Any, *args: Any, env: dict[str, str] | None = None, **kw: Any) -> None:
        if data_dir is not None and not (env and "EDDYDB_STORE" in env):
            env = {**(env or {}), "EDDYDB_STORE": store_for_dir(data_dir)}
        server_init(self, data_dir, *args, env=env, **kw)

    util.ServerProcess.__init__ = init  # type: ignore[method-assign]

    db_init = embedded.Database.__init__

    def open_db(self: Any, path: Any = None, **kw: Any) -> None:
        if path is not None and not kw.get("store"):
            kw["store"] = store_for_dir(path)
        db_init(self, path, **kw)

    embedded.Database.__init__ = open_db  # type: ignore[method-assign]


# Tests about the SQLite data directory itself (files in it, CLI commands opening it directly):
# meaningless when the data lives in PostgreSQL.
SQLITE_ONLY = {
    "tests/functions/test_control.py::test_code_survives_restart": "removes <data>/functions (SQLite layout)",
    "tests/ttl/test_ttl.py::test_cli_sweep_on_a_data_directory": "the CLI opens the SQLite data directory",
    "tests/ttl/test_audit_ttl.py::test_cli_sweep_counts_in_the_singular_and_plural":
        "the CLI opens the SQLite data directory",
    "tests/dataplane/test_key_order.py::test_a_database_in_partition_hash_order_is_rebuilt_on_open_with_nothing_lost":
        "rewrites the SQLite file's tables",
    # A whole module (every test in it): connections move to worker 0, the one SQLite writer; on
    # PostgreSQL every --workers process writes itself, so no connection moves (server/app.py).
    "tests/server/test_handoff.py": "connection handoff to the SQLite writer process",
    "tests/server/test_handoff_adversarial.py": "connection handoff to the SQLite writer process",
}


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    if not harness.enabled():
        return
    import pytest

    for item in items:
        test = item.nodeid.split("[")[0]
        why = SQLITE_ONLY.get(test) or SQLITE_ONLY.get(test.split("::")[0])
        if why:
            item.add_marker(pytest.mark.skip(reason=f"SQLite-only: {why}"))


def pytest_configure(config: Any) -> None:
    if harness.enabled():
        harness.ensure_running()      # fail loudly at once when PostgreSQL is unreachable
        # Each xdist worker keeps its session server and embedded database open, and a test adds its
        # own (up to five server processes in the multi-process tests), next to the other worker's.
        # Embedded databases read from the test's own threads (up to 16 at once), so with the default
        # pool of 16 the session database alone could hold 18 connections for minutes; with 3 a store
        # needs at most 5 (3 + its writer + its watcher). Measured with -n 2 (docs/postgres.md): peak
        # 96 of max_connections=100 before closed stores released their threads' connections, then
        # 38.
        os.environ.setdefault("EDDYDB_PG_POOL", "3")
        _patch()
