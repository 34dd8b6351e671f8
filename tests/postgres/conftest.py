"""Fixtures of the PostgreSQL-only tests: they run when EDDYDB_TEST_STORE is set (`make
test-postgres`, CI) and then fail loudly when PostgreSQL is unreachable (never skip)."""
from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from typing import Any

import pytest

sys.path.insert(0, os.path.dirname(__file__))

import harness


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if harness.enabled():
        return
    skip = pytest.mark.skip(reason="PostgreSQL tests run with EDDYDB_TEST_STORE=postgresql://... (make test-postgres)")
    here = os.path.dirname(__file__)
    for item in items:
        if str(item.fspath).startswith(here):
            item.add_marker(skip)


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh store URL (new schema in this process's test database)."""
    harness.ensure_running()
    yield harness.fresh_store_url("t")


@pytest.fixture
def pg_store(pg_url: str) -> Iterator[Any]:
    from eddydb.config import Settings
    from eddydb.storage import open_store

    store = open_store(Settings(data=None, store=pg_url))
    try:
        yield store
    finally:
        store.close()
