"""SQLite WAL upkeep (storage/sqlite): the background thread only copies the WAL (PASSIVE) and asks the
writer to start it over at its next batch; the writer's restart never waits for a reader."""
from __future__ import annotations

import sqlite3
import time
from typing import Any

import pytest
from util import wait_for

import eddydb.storage.sqlite as sq
from eddydb.config import Settings
from eddydb.storage import open_store


def _wal_frames(store: Any) -> int:
    """Frames in the WAL now (a PASSIVE checkpoint on a private connection reports them)."""
    c = sqlite3.connect(store.path, isolation_level=None)
    try:
        return c.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()[1]
    finally:
        c.close()


def _write(store: Any, n: int, start: int = 0) -> None:
    txn = store.begin_write()
    for i in range(start, start + n):
        txn.put_item(1, i, b"k%d" % i, b"", b"x" * 3000, None)
    txn.commit()


@pytest.fixture
def store(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setattr(sq, "_CHECKPOINT_EVERY", 0.02)
    monkeypatch.setattr(sq, "_WAL_RESTART_PAGES", 50)
    s = open_store(Settings(data=str(tmp_path)))
    yield s
    s.close()


def test_a_quiet_interval_lets_the_next_batch_restart_the_wal(store: Any) -> None:
    _write(store, 200)
    assert _wal_frames(store) > 50
    # no commits for a whole interval: the checkpointer copies the WAL and asks for a restart
    wait_for(lambda: store._restart_wanted, timeout=10)
    _write(store, 1, start=1000)          # this batch starts the WAL over before it writes
    assert not store._restart_wanted
    assert _wal_frames(store) < 10


def test_restart_does_not_wait_for_a_reader_on_an_old_snapshot(store: Any) -> None:
    _write(store, 100)
    reader = sqlite3.connect(store.path, isolation_level=None)
    try:
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM items").fetchone()   # holds its snapshot
        _write(store, 100, start=100)
        t0 = time.monotonic()
        assert store._writer.restart_wal() is False                # busy: returns at once
        assert time.monotonic() - t0 < 1.0
        reader.execute("COMMIT")
        # free now (it may still meet the background checkpointer mid-copy: busy again, try again)
        wait_for(store._writer.restart_wal, timeout=10)
    finally:
        reader.close()
