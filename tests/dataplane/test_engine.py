"""Engine-level behaviour of the data plane, embedded (no server): the SQLite store, the
group-commit writer, the write path (items, index entries, TTL expires) and Query/Scan paging."""
from __future__ import annotations

import threading
from concurrent.futures import Future

import orjson
import pytest

from eddydb.config import Settings
from eddydb.engine import reads
from eddydb.engine.catalog import IndexMeta, KeySchema, TableMeta, TtlMeta
from eddydb.engine.database import Engine
from eddydb.engine.items import DeleteOp, PutOp, execute
from eddydb.engine.writes import apply_change, backfill_index, item_key
from eddydb.model.errors import ResourceNotFoundException
from eddydb.storage import open_store


@pytest.fixture(params=["memory", "file"])
def engine(request, tmp_path):
    settings = Settings(data=None if request.param == "memory" else str(tmp_path / "data"))
    store = open_store(settings)
    eng = Engine(store, settings)
    yield eng
    eng.close()
    store.close()


def _create(eng: Engine, name: str = "t", *, range_key: tuple[str, str] | None = None,
            indexes: dict | None = None, ttl: str | None = None) -> TableMeta:
    def fn(txn):
        meta = TableMeta(name=name, table_id=txn.next_id("table"),
                         key=KeySchema("pk", "S", *(range_key or (None, None))),
                         attribute_definitions=[], arn=f"arn:aws:dynamodb:us-east-1:000000000000:table/{name}",
                         created=0.0)
        for iname, (kind, ks, proj) in (indexes or {}).items():
            meta.indexes[iname] = IndexMeta(iname, kind, txn.next_id("index"), ks, proj)
        if ttl:
            meta.ttl = TtlMeta(ttl, "ENABLED")
        eng.save_table(txn, meta)
        return meta
    eng.writer.run(fn)
    return eng.table(name)


def _put(eng: Engine, table: TableMeta, item: dict) -> None:
    op = PutOp(table, item)
    eng.writer.run(lambda txn: execute(txn, op))


def test_table_is_cached_once_the_create_commits(engine):
    _create(engine, "t")
    assert engine.table("t").name == "t"
    assert [t.name for t in engine.tables()] == ["t"]


def test_unknown_table_is_resource_not_found(engine):
    with pytest.raises(ResourceNotFoundException, match="Requested resource not found"):
        engine.table("nope")


def test_put_then_get_returns_the_stored_bytes(engine):
    t = _create(engine)
    item = {"pk": {"S": "a"}, "n": {"N": "1"}}
    _put(engine, t, item)
    assert reads.get_item_raw(engine.read(), t, {"pk": {"S": "a"}}) == orjson.dumps(item)


def test_delete_removes_the_item(engine):
    t = _create(engine)
    _put(engine, t, {"pk": {"S": "a"}})
    op = DeleteOp(t, {"pk": {"S": "a"}})
    old, new = engine.writer.run(lambda txn: execute(txn, op))
    assert old == {"pk": {"S": "a"}} and new is None
    assert reads.get_item(engine.read(), t, {"pk": {"S": "a"}}) is None


def test_a_failing_write_fails_only_its_own_future(engine):
    t = _create(engine)
    futures: list[Future] = []
    for i in range(20):
        if i == 7:
            def boom(txn):
                apply_change(txn, t, {"pk": {"S": "bad"}}, None, {"pk": {"S": "bad"}})
                raise RuntimeError("boom")
            futures.append(engine.writer.submit(boom))
        else:
            op = PutOp(t, {"pk": {"S": f"k{i}"}})
            futures.append(engine.writer.submit(lambda txn, op=op: execute(txn, op)))
    for i, f in enumerate(futures):
        if i == 7:
            with pytest.raises(RuntimeError):
                f.result(5)
        else:
            f.result(5)
    r = engine.read()
    assert reads.get_item(r, t, {"pk": {"S": "bad"}}) is None   # rolled back to its savepoint
    assert r.count_items(t.table_id) == 19


def test_commit_listeners_get_the_notes_of_successful_writes_only(engine):
    got: list[dict] = []
    engine.add_commit_listener(lambda notes: got.append(notes))

    def ok(txn):
        txn.notes.setdefault("x", set()).add("ok")

    def bad(txn):
        txn.notes.setdefault("x", set()).add("bad")
        raise ValueError

    f1, f2 = engine.writer.submit(ok), engine.writer.submit(bad)
    f1.result(5)
    with pytest.raises(ValueError):
        f2.result(5)
    assert any("ok" in n.get("x", ()) for n in got)
    assert not any("bad" in n.get("x", ()) for n in got)


def test_concurrent_read_modify_write_through_the_writer_loses_no_update(engine):
    t = _create(engine)
    _put(engine, t, {"pk": {"S": "c"}, "n": {"N": "0"}})
    key = {"pk": {"S": "c"}}

    def incr(txn):
        sk = item_key(t, key)
        old = orjson.loads(txn.get_item(t.table_id, *sk))
        new = dict(old, n={"N": str(int(old["n"]["N"]) + 1)})
        apply_change(txn, t, key, old, new, storage_key=sk)

    def worker():
        futs = [engine.writer.submit(incr) for _ in range(200)]
        for f in futs:
            f.result(10)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert reads.get_item(engine.read(), t, key)["n"] == {"N": "1600"}


def test_index_entries_follow_the_item_and_are_sparse(engine):
    t = _create(engine, indexes={
        "g": ("GSI", KeySchema("g", "S"), "ALL"),
        "k": ("GSI", KeySchema("g", "S", "n", "N"), "KEYS_ONLY"),
    })
    g, k = t.indexes["g"], t.indexes["k"]
    r = engine.read()
    _put(engine, t, {"pk": {"S": "a"}, "g": {"S": "x"}, "n": {"N": "1"}, "other": {"S": "o"}})
    b = {"pk": {"S": "b"}, "g": {"N": "5"}}                              # wrong type: not indexed
    engine.writer.run(lambda txn: apply_change(txn, t, b, None, b))    # (the API rejects it earlier)
    _put(engine, t, {"pk": {"S": "c"}})                                  # missing: not indexed
    assert r.count_index(g.index_id) == 1
    page = reads.query(r, t, k, {"S": "x"})
    assert page.items == [{"g": {"S": "x"}, "n": {"N": "1"}, "pk": {"S": "a"}}]
    _put(engine, t, {"pk": {"S": "a"}, "g": {"S": "y"}})                 # index key moves
    assert reads.query(r, t, g, {"S": "x"}).items == []
    assert reads.query(r, t, g, {"S": "y"}).items == [{"pk": {"S": "a"}, "g": {"S": "y"}}]
    assert r.count_index(k.index_id) == 0                                # n gone: out of "k"


def test_backfill_indexes_existing_items(engine):
    t = _create(engine)
    for i in range(5):
        _put(engine, t, {"pk": {"S": f"p{i}"}, "g": {"S": "same"}})
    index = IndexMeta("late", "GSI", 99, KeySchema("g", "S"))
    assert engine.writer.run(lambda txn: backfill_index(txn, t, index)) == 5
    assert engine.read().count_index(99) == 5


def test_ttl_attribute_sets_expires(engine):
    t = _create(engine, ttl="exp")
    _put(engine, t, {"pk": {"S": "a"}, "exp": {"N": "100"}})
    _put(engine, t, {"pk": {"S": "b"}, "exp": {"S": "100"}})   # not a number: never expires
    _put(engine, t, {"pk": {"S": "c"}, "exp": {"N": "300"}})
    rows = engine.read().expired_items(t.table_id, 0, 200, 10)
    assert [orjson.loads(row[3])["pk"] for row in rows] == [{"S": "a"}]


def test_query_walks_sort_key_range_both_ways_with_paging(engine):
    t = _create(engine, range_key=("sk", "N"))
    for i in range(10):
        _put(engine, t, {"pk": {"S": "p"}, "sk": {"N": str(i)}})
    _put(engine, t, {"pk": {"S": "q"}, "sk": {"N": "1"}})
    r = engine.read()
    page = reads.query(r, t, None, {"S": "p"}, "BETWEEN", [{"N": "2"}, {"N": "7"}], limit=3)
    assert [i["sk"]["N"] for i in page.items] == ["2", "3", "4"]
    assert page.last_key == {"pk": {"S": "p"}, "sk": {"N": "4"}}
    page = reads.query(r, t, None, {"S": "p"}, "BETWEEN", [{"N": "2"}, {"N": "7"}], start_key=page.last_key)
    assert [i["sk"]["N"] for i in page.items] == ["5", "6", "7"] and page.last_key is None
    page = reads.query(r, t, None, {"S": "p"}, "<", [{"N": "3"}], forward=False)
    assert [i["sk"]["N"] for i in page.items] == ["2", "1", "0"]


def test_begins_with_is_a_byte_prefix_range(engine):
    t = _create(engine, range_key=("sk", "S"))
    for s in ["a", "ab", "abc", "abd", "ac", "b"]:
        _put(engine, t, {"pk": {"S": "p"}, "sk": {"S": s}})
    page = reads.query(engine.read(), t, None, {"S": "p"}, "begins_with", [{"S": "ab"}])
    assert [i["sk"]["S"] for i in page.items] == ["ab", "abc", "abd"]


def test_parallel_scan_segments_partition_the_table(engine):
    t = _create(engine)
    for i in range(100):
        _put(engine, t, {"pk": {"S": f"k{i}"}})
    r = engine.read()
    seen: list[str] = []
    for seg in range(4):
        start = None
        while True:
            page = reads.scan(r, t, None, segment=seg, total_segments=4, limit=7, start_key=start)
            seen += [i["pk"]["S"] for i in page.items]
            start = page.last_key
            if start is None:
                break
    assert sorted(seen) == sorted(f"k{i}" for i in range(100))


def test_a_page_stops_after_one_megabyte(engine):
    t = _create(engine)
    blob = "x" * 100_000
    for i in range(15):
        _put(engine, t, {"pk": {"S": f"k{i}"}, "v": {"S": blob}})
    page = reads.scan(engine.read(), t, None)
    assert 10 <= page.scanned < 15 and page.last_key is not None


def test_reads_see_the_last_commit_from_another_thread(engine):
    t = _create(engine)
    out = []
    _put(engine, t, {"pk": {"S": "a"}, "v": {"N": "1"}})
    th = threading.Thread(target=lambda: out.append(reads.get_item(engine.read(), t, {"pk": {"S": "a"}})))
    th.start()
    th.join()
    assert out == [{"pk": {"S": "a"}, "v": {"N": "1"}}]


def test_dropping_a_table_removes_it_and_its_items(engine):
    t = _create(engine)
    _put(engine, t, {"pk": {"S": "a"}})
    engine.writer.run(lambda txn: engine.drop_table(txn, t))
    assert engine.find_table("t") is None
    assert engine.read().count_items(t.table_id) == 0
    op = PutOp(t, {"pk": {"S": "late"}})          # built against the old table
    with pytest.raises(ResourceNotFoundException):
        engine.writer.run(lambda txn: execute(txn, op))


def test_multi_item_reads_of_a_table_dropped_after_its_lookup_are_resource_not_found(engine):
    from eddydb.engine.batch import GetRequest, batch_get
    from eddydb.engine.transactions import transact_get

    t = _create(engine)
    _put(engine, t, {"pk": {"S": "a"}})
    key = {"pk": {"S": "a"}}
    assert transact_get(engine, [(t, key, None, None)])["Responses"] == [{"Item": key}]
    engine.writer.run(lambda txn: engine.drop_table(txn, t))   # between the lookup and the read
    with pytest.raises(ResourceNotFoundException):
        transact_get(engine, [(t, key, None, None)])
    with pytest.raises(ResourceNotFoundException):
        batch_get(engine, [GetRequest(t, [key])])
    t2 = _create(engine)   # the same name again: still not the table the request looked up
    with pytest.raises(ResourceNotFoundException):
        batch_get(engine, [GetRequest(t, [key])])
    assert batch_get(engine, [GetRequest(t2, [key])])["Responses"] == {"t": []}


def test_data_survives_reopening_the_file_store(tmp_path):
    settings = Settings(data=str(tmp_path / "d"))
    store = open_store(settings)
    eng = Engine(store, settings)
    t = _create(eng)
    _put(eng, t, {"pk": {"S": "a"}})
    eng.close()
    store.close()
    store = open_store(settings)
    eng = Engine(store, settings)
    try:
        assert reads.get_item(eng.read(), eng.table("t"), {"pk": {"S": "a"}}) == {"pk": {"S": "a"}}
    finally:
        eng.close()
        store.close()


def test_two_engines_on_one_file_see_each_others_tables_and_indexes(tmp_path):
    settings = Settings(data=str(tmp_path / "shared"))
    s1, s2 = open_store(settings), open_store(settings)
    e1, e2 = Engine(s1, settings), Engine(s2, settings)
    try:
        t = _create(e1, "shared")
        assert e2.table("shared").table_id == t.table_id          # a cache miss re-reads the catalog
        stale = e2.table("shared")

        def add_index(txn):
            import copy

            meta = copy.deepcopy(e1.table("shared"))
            meta.indexes["g"] = IndexMeta("g", "GSI", txn.next_id("index"), KeySchema("g", "S"))
            e1.save_table(txn, meta)
        e1.writer.run(add_index)
        op = PutOp(stale, {"pk": {"S": "a"}, "g": {"S": "x"}})   # built against e2's stale cache
        e2.writer.run(lambda txn: execute(txn, op))
        assert e1.read().count_index(e1.table("shared").indexes["g"].index_id) == 1
    finally:
        e1.close()
        e2.close()
        s1.close()
        s2.close()


def test_a_failed_commit_fails_every_future_of_the_batch(engine):
    t = _create(engine)
    store = engine.store
    real_commit = type(store._writer).commit

    def failing_commit(self):
        type(store._writer).commit = real_commit
        self.rollback()
        raise RuntimeError("disk on fire")

    type(store._writer).commit = failing_commit
    try:
        op = PutOp(t, {"pk": {"S": "lost"}})
        with pytest.raises(RuntimeError, match="disk on fire"):
            engine.writer.run(lambda txn: execute(txn, op))
    finally:
        type(store._writer).commit = real_commit
    assert reads.get_item(engine.read(), t, {"pk": {"S": "lost"}}) is None
    _put(engine, t, {"pk": {"S": "after"}})                       # the writer lives on
    assert reads.get_item(engine.read(), t, {"pk": {"S": "after"}}) is not None


def test_closing_finishes_queued_work_and_refuses_more(tmp_path):
    settings = Settings(data=str(tmp_path / "c"))
    store = open_store(settings)
    eng = Engine(store, settings)
    t = _create(eng)
    futs = [eng.writer.submit(lambda txn, i=i: execute(txn, PutOp(t, {"pk": {"S": f"k{i}"}}))) for i in range(50)]
    eng.close()
    assert all(f.done() and f.exception() is None for f in futs)
    late = eng.writer.submit(lambda txn: None)
    with pytest.raises(Exception, match="closed"):
        late.result(1)
    store.close()


def test_scan_pages_through_large_partitions(engine):
    t = _create(engine, range_key=("sk", "N"))
    for p in range(3):
        for i in range(30):
            _put(engine, t, {"pk": {"S": f"p{p}"}, "sk": {"N": str(i)}})
    r = engine.read()
    seen, start = [], None
    while True:
        page = reads.scan(r, t, None, limit=7, start_key=start)
        seen += [(i["pk"]["S"], i["sk"]["N"]) for i in page.items]
        start = page.last_key
        if start is None:
            break
    assert len(seen) == 90 and len(set(seen)) == 90


def test_index_scan_pages_through_shared_index_keys(engine):
    t = _create(engine, range_key=("sk", "N"), indexes={"g": ("GSI", KeySchema("g", "S"), "ALL")})
    for i in range(40):
        _put(engine, t, {"pk": {"S": f"p{i % 4}"}, "sk": {"N": str(i)}, "g": {"S": f"G{i % 3}"}})
    r = engine.read()
    seen, start = [], None
    while True:
        page = reads.scan(r, t, t.indexes["g"], limit=6, start_key=start)
        seen += [i["sk"]["N"] for i in page.items]
        start = page.last_key
        if start is None:
            break
    assert sorted(seen, key=int) == [str(i) for i in range(40)]
