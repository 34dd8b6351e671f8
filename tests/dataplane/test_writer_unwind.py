"""A group-commit batch without savepoints (engine/writer.py `_apply`): on SQLite a function that
raises before writing is undone in memory only; one that raises after writing makes the batch start
over with a savepoint around each function, so either way only the failing function is lost."""
from __future__ import annotations

import pytest

from tests.dataplane.test_writer_inline import _counting_begins, engine, looped  # noqa: F401 - fixtures

TABLE_ID = 999_999  # an id no table uses: the items rows written straight through the transaction


def _put(txn, key: bytes) -> None:
    txn.put_item(TABLE_ID, 1, key, b"", b'{"k":1}', None)


def _stored(engine, key: bytes) -> bool:
    return engine.store.read().get_item(TABLE_ID, 1, key, b"") is not None


def _batch(lt, engine, fns):
    return lt.call(lambda: [engine.writer.submit(fn, inline=True) for fn in fns])


def test_a_function_failing_before_it_writes_costs_the_batch_nothing(looped):
    engine, lt = looped
    begins = _counting_begins(engine)
    runs: list[str] = []

    def ok(name):
        def fn(txn):
            runs.append(name)
            _put(txn, name.encode())
            return name
        return fn

    def refuse(txn):
        runs.append("refuse")
        raise ValueError("condition failed")

    futures = _batch(lt, engine, [ok("a"), refuse, ok("b")])
    assert futures[0].result(5) == "a" and futures[2].result(5) == "b"
    with pytest.raises(ValueError, match="condition failed"):
        futures[1].result(5)
    assert runs == ["a", "refuse", "b"] and len(begins) == 1   # one pass, one transaction
    assert _stored(engine, b"a") and _stored(engine, b"b")


def test_a_function_failing_after_it_wrote_is_undone_alone_by_starting_over(looped):
    engine, lt = looped
    begins = _counting_begins(engine)
    runs: list[str] = []

    def ok(name):
        def fn(txn):
            runs.append(name)
            _put(txn, name.encode())
            return name
        return fn

    def half(txn):
        runs.append("half")
        _put(txn, b"half")
        raise RuntimeError("failed after writing")

    futures = _batch(lt, engine, [ok("a"), half, ok("b")])
    assert futures[0].result(5) == "a" and futures[2].result(5) == "b"
    with pytest.raises(RuntimeError, match="failed after writing"):
        futures[1].result(5)
    # the first pass stopped at `half`; the second ran every function with savepoints
    assert runs == ["a", "half", "a", "half", "b"] and len(begins) == 2
    assert _stored(engine, b"a") and _stored(engine, b"b") and not _stored(engine, b"half")


def test_the_table_overlay_of_a_function_that_failed_before_writing_is_restored(looped):
    engine, lt = looped
    seen: list[dict] = []

    def change_then_fail(txn):
        txn.table_overlay = {**txn.table_overlay, "ghost": None}
        raise ValueError("no")

    def look(txn):
        seen.append(dict(txn.table_overlay))
        return True

    futures = _batch(lt, engine, [change_then_fail, look])
    assert futures[1].result(5) is True
    with pytest.raises(ValueError):
        futures[0].result(5)
    assert seen == [{}]


def test_a_cancelled_write_is_skipped_in_both_passes(looped):
    engine, lt = looped
    runs: list[str] = []

    def half(txn):
        runs.append("half")
        _put(txn, b"h2")
        raise RuntimeError("x")

    def named(name):
        def fn(txn):
            runs.append(name)
            return name
        return fn

    def submit_and_cancel():
        fs = [engine.writer.submit(fn, inline=True) for fn in (named("a"), named("gone"), half)]
        assert fs[1].cancel()
        return fs

    futures = lt.call(submit_and_cancel)
    assert futures[0].result(5) == "a" and futures[1].cancelled()
    with pytest.raises(RuntimeError):
        futures[2].result(5)
    assert "gone" not in runs and not _stored(engine, b"h2")
