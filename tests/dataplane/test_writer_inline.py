"""The writer's inline batches (engine/writer.py) and its lean WriteFuture (engine/futures.py).

A thread running an event loop attaches itself; writes it submits with inline=True run on that
thread, one batch per loop iteration, under the mutex the writer thread also holds."""
from __future__ import annotations

import asyncio
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eddydb.config import Settings
from eddydb.engine.database import Engine
from eddydb.engine.futures import WriteFuture, waiting_on
from eddydb.storage import open_store
from tests.util import wait_for


@pytest.fixture
def engine(tmp_path):
    settings_ = Settings(data=str(tmp_path / "data"))
    store = open_store(settings_)
    eng = Engine(store, settings_)
    yield eng
    eng.close()
    store.close()


class _LoopThread:
    """An asyncio loop on its own thread, attached to the writer for inline batches."""

    def __init__(self, writer) -> None:
        self.loop = asyncio.new_event_loop()
        self.writer = writer
        ready = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(self.loop)
            writer.attach_inline(self.loop.call_soon)
            self.ident = threading.get_ident()
            ready.set()
            self.loop.run_forever()

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        assert ready.wait(5)

    def call(self, fn):
        """Run fn() on the loop thread and return its result."""
        return asyncio.run_coroutine_threadsafe(self._wrap(fn), self.loop).result(10)

    async def _wrap(self, fn):
        return fn()

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


@pytest.fixture
def looped(engine):
    lt = _LoopThread(engine.writer)
    yield engine, lt
    lt.stop()


def _counting_begins(engine) -> list[int]:
    begins: list[int] = []
    engine.writer.add_begin_hook(lambda txn: begins.append(threading.get_ident()))
    return begins


def test_inline_writes_of_one_iteration_run_as_one_batch_on_the_loop_thread(looped):
    engine, lt = looped
    begins = _counting_begins(engine)
    ran_on: list[int] = []

    def submit_many():
        return [engine.writer.submit(lambda txn, i=i: ran_on.append(threading.get_ident()) or i, inline=True)
                for i in range(10)]

    futures = lt.call(submit_many)
    assert [f.result(5) for f in futures] == list(range(10))
    assert set(ran_on) == {lt.ident}
    assert begins == [lt.ident]            # one transaction for the ten


def test_inline_flag_from_another_thread_uses_the_writer_thread(looped):
    engine, lt = looped
    ran_on: list[int] = []
    f = engine.writer.submit(lambda txn: ran_on.append(threading.get_ident()), inline=True)
    f.result(5)
    assert ran_on and ran_on[0] not in (lt.ident, threading.get_ident())


def test_result_on_the_loop_thread_runs_the_pending_batch_instead_of_deadlocking(looped):
    engine, lt = looped

    def submit_and_wait():
        f = engine.writer.submit(lambda txn: threading.get_ident(), inline=True)
        return f.result(5)

    assert lt.call(submit_and_wait) == lt.ident


def test_a_chained_future_waits_for_its_inline_source(looped):
    engine, lt = looped

    def chain_and_wait():
        inner = engine.writer.submit(lambda txn: 20, inline=True)
        out = WriteFuture(waiting_on(inner))
        inner.add_done_callback(lambda f: out.set_result(f.result() + 1))
        return out.result(5)

    assert lt.call(chain_and_wait) == 21


def test_writer_thread_busy_sends_the_inline_batch_to_its_queue(looped):
    engine, lt = looped
    release = threading.Event()
    started = threading.Event()

    def slow(txn):
        started.set()
        assert release.wait(10)
        return "slow"

    blocker = engine.writer.submit(slow)      # holds the mutex on the writer thread
    assert started.wait(5)
    ran_on: list[int] = []
    fut = lt.call(lambda: engine.writer.submit(lambda txn: ran_on.append(threading.get_ident()) or "x",
                                               inline=True))
    # the loop did not wait for the mutex: it is still serving
    assert lt.call(lambda: "alive") == "alive"
    assert not fut.done()
    release.set()
    assert blocker.result(5) == "slow"
    assert fut.result(5) == "x"
    assert ran_on[0] != lt.ident


def test_failures_in_an_inline_batch_fail_only_their_own_future(looped):
    engine, lt = looped

    def boom(txn):
        raise ValueError("boom")

    futures = lt.call(lambda: [engine.writer.submit(fn, inline=True)
                               for fn in (lambda txn: 1, boom, lambda txn: 3)])
    assert futures[0].result(5) == 1
    with pytest.raises(ValueError):
        futures[1].result(5)
    assert futures[2].result(5) == 3


def test_in_writer_thread_is_true_inside_an_inline_batch(looped):
    engine, lt = looped
    seen = lt.call(lambda: engine.writer.submit(lambda txn: engine.writer.in_writer_thread(), inline=True))
    assert seen.result(5) is True
    assert lt.call(engine.writer.in_writer_thread) is False


def test_detach_hands_pending_inline_writes_to_the_writer_thread(engine):
    loop = asyncio.new_event_loop()  # never run: its call_soon callbacks never fire
    try:
        engine.writer.attach_inline(loop.call_soon)
        fut = engine.writer.submit(lambda txn: "later", inline=True)
        assert not fut.done()
        engine.writer.detach_inline()
        assert fut.result(5) == "later"
    finally:
        loop.close()


# --- WriteFuture -----------------------------------------------------------------------------
def test_future_callbacks_run_once_whether_added_before_or_after_completion():
    f = WriteFuture()
    got: list[int] = []
    f.add_done_callback(lambda fut: got.append(fut.result()))
    assert f.set_running_or_notify_cancel()
    f.set_result(7)
    f.add_done_callback(lambda fut: got.append(fut.result() * 2))
    assert got == [7, 14]
    assert f.done() and not f.running() and f.exception() is None


def test_future_cancel_before_running_and_invalid_second_result():
    f = WriteFuture()
    assert f.cancel() and f.cancelled()
    assert not f.set_running_or_notify_cancel()
    g = WriteFuture()
    g.set_exception(KeyError("k"))
    with pytest.raises(KeyError):
        g.result()
    from concurrent.futures import InvalidStateError

    with pytest.raises(InvalidStateError):
        g.set_result(1)


def test_future_result_times_out_when_nobody_completes_it():
    from concurrent.futures import TimeoutError as FutureTimeout

    with pytest.raises(FutureTimeout):
        WriteFuture().result(0.01)


@settings(max_examples=25, deadline=None)
@given(st.integers(min_value=1, max_value=6))
def test_future_wakes_every_waiting_thread(n):
    f = WriteFuture()
    results: list[object] = []
    waiting = threading.Barrier(n + 1)

    def wait() -> None:
        waiting.wait(5)
        results.append(f.result(10))

    threads = [threading.Thread(target=wait) for _ in range(n)]
    for t in threads:
        t.start()
    waiting.wait(5)
    f.set_result("v")
    for t in threads:
        t.join(10)
    assert results == ["v"] * n


def test_submitted_inline_writes_all_commit_under_concurrent_writer_thread_work(looped):
    engine, lt = looped
    from eddydb.engine.catalog import KeySchema, TableMeta
    from eddydb.engine.items import PutOp, execute

    def create(txn):
        meta = TableMeta(name="t", table_id=txn.next_id("table"), key=KeySchema("pk", "S", None, None),
                         attribute_definitions=[], arn="arn:aws:dynamodb:us-east-1:000000000000:table/t",
                         created=0.0)
        engine.save_table(txn, meta)

    engine.writer.run(create)
    t = engine.table("t")
    futures = []
    for i in range(200):
        op = PutOp(t, {"pk": {"S": f"k{i}"}})
        if i % 2:
            futures.append(engine.writer.submit(lambda txn, op=op: execute(txn, op)))
        else:
            futures.append(lt.call(lambda op=op: engine.writer.submit(lambda txn: execute(txn, op), inline=True)))
    for f in futures:
        f.result(10)
    wait_for(lambda: engine.read().count_items(t.table_id) == 200, timeout=10)


# --- a batch without savepoints (`Writer._apply`): on SQLite a function that raises before writing is
# undone in memory only; one that raises after writing makes the batch start over with a savepoint
# around each function, so either way only the failing function is lost.
TABLE_ID = 999_999  # an id no table uses: the items rows written straight through the transaction


def _put(txn, key: bytes) -> None:
    txn.put_item(TABLE_ID, 1, key, b"", b'{"k":1}', None)


def _stored(engine, key: bytes) -> bool:
    return engine.store.read().get_item(TABLE_ID, 1, key, b"") is not None


def _writer(runs: list[str], name: str):
    """A write function that records its run and writes the key `name`."""
    def fn(txn):
        runs.append(name)
        _put(txn, name.encode())
        return name
    return fn


def _batch(lt, engine, fns):
    return lt.call(lambda: [engine.writer.submit(fn, inline=True) for fn in fns])


def test_a_function_failing_before_it_writes_costs_the_batch_nothing(looped):
    engine, lt = looped
    begins = _counting_begins(engine)
    runs: list[str] = []

    def refuse(txn):
        runs.append("refuse")
        raise ValueError("condition failed")

    futures = _batch(lt, engine, [_writer(runs, "a"), refuse, _writer(runs, "b")])
    assert futures[0].result(5) == "a" and futures[2].result(5) == "b"
    with pytest.raises(ValueError, match="condition failed"):
        futures[1].result(5)
    assert runs == ["a", "refuse", "b"] and len(begins) == 1   # one pass, one transaction
    assert _stored(engine, b"a") and _stored(engine, b"b")


def test_a_function_failing_after_it_wrote_is_undone_alone_by_starting_over(looped):
    engine, lt = looped
    begins = _counting_begins(engine)
    runs: list[str] = []

    def half(txn):
        runs.append("half")
        _put(txn, b"half")
        raise RuntimeError("failed after writing")

    futures = _batch(lt, engine, [_writer(runs, "a"), half, _writer(runs, "b")])
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
