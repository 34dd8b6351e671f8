"""The PostgreSQL store directly: URL parsing, schema creation and version, isolation of schemas,
the writer lock ordering two stores (two 'processes'), key order, and cross-process wake-ups
(NOTIFY hints and the polling fallback)."""
from __future__ import annotations

import threading
from typing import Any

import psycopg
import pytest
from util import wait_for

from eddydb.config import Settings
from eddydb.model.keys import encode_key
from eddydb.storage import open_store
from eddydb.storage.postgres import SCHEMA_VERSION, PgStore, parse_store_url


def test_parse_store_url() -> None:
    assert parse_store_url("postgresql://u@h/db") == ("postgresql://u@h/db", "eddydb")
    assert parse_store_url("postgres://u@h:5433/db?schema=blue&sslmode=disable") == (
        "postgresql://u@h:5433/db?sslmode=disable", "blue")
    with pytest.raises(ValueError):
        parse_store_url("postgresql://u@h/db?schema=bad;name")


def test_schema_created_with_version(pg_url: str, pg_store: PgStore) -> None:
    conninfo, schema = parse_store_url(pg_url)
    with psycopg.connect(conninfo) as c:
        (v,) = c.execute(f"SELECT version FROM {schema}.schema_version").fetchone()
    assert v == SCHEMA_VERSION
    # opening again (a second process) finds it migrated and changes nothing
    open_store(Settings(data=None, store=pg_url)).close()


def _put(store: Any, table_id: int, key: bytes, value: bytes) -> None:
    txn = store.begin_write()
    txn.put_item(table_id, 1, key, b"", value, None)
    txn.commit()


def test_schemas_are_isolated(pg_store: PgStore) -> None:
    from harness import fresh_store_url

    other = open_store(Settings(data=None, store=fresh_store_url("iso")))
    try:
        _put(pg_store, 1, b"k", b"{}")
        assert pg_store.read().get_item(1, 1, b"k", b"") == b"{}"
        assert other.read().get_item(1, 1, b"k", b"") is None
    finally:
        other.close()


def test_bytea_keys_in_memcmp_order(pg_store: PgStore) -> None:
    values = [{"S": s} for s in ["", "a", "a\x00", "ab", "b", "\u00e9", "\U0001f600", "z" * 40]]
    values += [{"N": n} for n in ["-1e10", "-2", "-1.5", "0", "1e-5", "1", "1.5", "2", "1e10"]]
    keys = [encode_key(v) for v in values]
    txn = pg_store.begin_write()
    for i, k in enumerate(keys):
        txn.put_item(7, 1, b"p", k, b"%d" % i, None)
    txn.commit()
    got = [row[2] for row in pg_store.read().query_items(7, 1, b"p", None, True, None, True, True, None)]
    assert got == sorted(keys)
    back = [row[2] for row in pg_store.read().query_items(7, 1, b"p", None, True, None, True, False, 3)]
    assert back == sorted(keys, reverse=True)[:3]


def test_writer_lock_orders_two_stores(pg_url: str, pg_store: PgStore) -> None:
    """Two stores on one schema (as two processes): a batch of one waits for the other's lock,
    then sees its commit (no lost update on a read-modify-write)."""
    other = open_store(Settings(data=None, store=pg_url))
    try:
        _put(pg_store, 1, b"c", b"0")
        a = pg_store.begin_write()
        v = int(a.get_item(1, 1, b"c", b""))
        done = threading.Event()

        def second() -> None:
            b = other.begin_write()           # blocks on the writer lock row until `a` commits
            w = int(b.get_item(1, 1, b"c", b""))
            b.put_item(1, 1, b"c", b"", str(w + 1).encode(), None)
            b.commit()
            done.set()

        t = threading.Thread(target=second)
        t.start()
        assert not done.wait(0.3)
        a.put_item(1, 1, b"c", b"", str(v + 1).encode(), None)
        a.commit()
        t.join(10)
        assert done.is_set()
        assert pg_store.read().get_item(1, 1, b"c", b"") == b"2"
    finally:
        other.close()


def test_sequence_unique_and_increasing_across_stores(pg_url: str, pg_store: PgStore) -> None:
    other = open_store(Settings(data=None, store=pg_url))
    try:
        seen: list[int] = []
        for i in range(6):
            store = pg_store if i % 2 else other
            txn = store.begin_write()
            seen += [txn.next_sequence(), txn.next_sequence()]
            txn.commit()
        assert seen == sorted(seen) and len(set(seen)) == len(seen)
        # a rolled-back batch may skip numbers, never reuse them
        txn = pg_store.begin_write()
        n = txn.next_sequence()
        txn.rollback()
        txn = other.begin_write()
        assert txn.next_sequence() > seen[-1]
        txn.commit()
        assert n > seen[-1]
    finally:
        other.close()


def test_savepoint_rolls_back_only_one_function(pg_store: PgStore) -> None:
    txn = pg_store.begin_write()
    txn.savepoint()
    txn.put_item(1, 1, b"a", b"", b"1", None)
    txn.release_savepoint()
    txn.savepoint()
    txn.put_item(1, 1, b"b", b"", b"2", None)
    txn.rollback_to_savepoint()
    txn.savepoint()            # a function that writes nothing
    txn.rollback_to_savepoint()
    txn.savepoint()
    txn.put_item(1, 1, b"c", b"", b"3", None)
    txn.release_savepoint()
    txn.commit()
    r = pg_store.read()
    assert [r.get_item(1, 1, k, b"") for k in (b"a", b"b", b"c")] == [b"1", None, b"3"]


def _append(store: Any, shard: str) -> None:
    txn = store.begin_write()
    txn.append_stream_record(shard, txn.next_sequence(), 1.0, b"{}")
    txn.commit()


def test_notify_hint_reaches_other_store(pg_url: str, pg_store: PgStore) -> None:
    other = open_store(Settings(data=None, store=pg_url))
    try:
        got: list[set[str]] = []
        unsubscribe = other.watch_changes(got.append)
        wait_for(lambda: other._watch_thread is not None, 5)
        # the watcher must be listening before the hint is sent: retry the append until heard
        wait_for(lambda: (_append(pg_store, "shardA"), any("shardA" in s for s in got))[1], 10, interval=0.3)
        # its own commits are not echoed back
        got.clear()
        _append(other, "shardB")
        _append(pg_store, "shardC")
        wait_for(lambda: any("shardC" in s for s in got), 5)
        assert not any("shardB" in s for s in got)
        unsubscribe()
    finally:
        other.close()


def test_polling_fallback_without_notify(pg_url: str, pg_store: PgStore) -> None:
    other = open_store(Settings(data=None, store=pg_url))
    try:
        pg_store.notify = False          # as on engines without LISTEN/NOTIFY, or a lost hint
        txn = pg_store.begin_write()
        txn.insert_shard("shardP", "arn:s", 0, None, 0, 1.0)
        txn.commit()
        got: list[set[str]] = []
        other.watch_changes(got.append)
        wait_for(lambda: (_append(pg_store, "shardP"), any("shardP" in s for s in got))[1], 10, interval=0.3)
    finally:
        other.close()


def test_newer_schema_version_refuses_to_open(pg_url: str, pg_store: PgStore) -> None:
    conninfo, schema = parse_store_url(pg_url)
    with psycopg.connect(conninfo, autocommit=True) as c:
        c.execute(f"UPDATE {schema}.schema_version SET version = {SCHEMA_VERSION + 1}")
    with pytest.raises(RuntimeError, match="newer than this"):
        open_store(Settings(data=None, store=pg_url))


def test_many_threads_read_with_a_small_pool(pg_url: str) -> None:
    """More reading threads than pool connections: the extra threads borrow per statement."""
    store = PgStore(pg_url, settings=None, pool_size=4)
    try:
        _put(store, 1, b"k", b"{}")
        results: list[bytes | None] = []

        def reader() -> None:
            for _ in range(20):
                results.append(store.read().get_item(1, 1, b"k", b""))
            with store.read() as r:
                results.append(r.get_item(1, 1, b"k", b""))

        threads = [threading.Thread(target=reader) for _ in range(12)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert results == [b"{}"] * (12 * 21)
    finally:
        store.close()


def test_insert_item_if_absent(pg_store: PgStore) -> None:
    txn = pg_store.begin_write()
    try:
        assert txn.insert_item_if_absent(1, 7, b"k", b"", b"first", None) is True
        assert txn.insert_item_if_absent(1, 7, b"k", b"", b"second", None) is False
        assert txn.get_item(1, 7, b"k", b"") == b"first"
    finally:
        txn.rollback()


def _connections(url: str) -> dict[str, int]:
    """This store's sessions in pg_stat_activity, by application_name (purpose:schema)."""
    conninfo, schema = parse_store_url(url)
    with psycopg.connect(conninfo, autocommit=True) as c:
        rows = c.execute("SELECT application_name, count(*) FROM pg_stat_activity"
                         " WHERE application_name LIKE %s GROUP BY 1", (f"%:{schema}",)).fetchall()
    return dict(rows)


def test_connections_name_their_purpose_and_schema(pg_url: str, pg_store: PgStore) -> None:
    schema = parse_store_url(pg_url)[1]
    pg_store.read().get_item(1, 1, b"k", b"")
    pg_store.watch_changes(lambda shards: None)
    names = wait_for(lambda: (n := _connections(pg_url)) and f"eddydb-watch:{schema}" in n and n, 10)
    assert {f"eddydb-read:{schema}", f"eddydb-write:{schema}"} <= set(names)


def test_close_releases_connections_of_reading_threads_that_live_on(pg_url: str) -> None:
    """Reading threads keep a connection of their own; threads that outlive the store (the embedding
    program's main thread, shared executors) must not keep it open after close()."""
    store = PgStore(pg_url, settings=None, pool_size=8)
    release = threading.Event()
    read = threading.Barrier(4)

    def reader() -> None:
        store.read().get_item(1, 1, b"k", b"")
        read.wait(10)
        release.wait(30)

    threads = [threading.Thread(target=reader) for _ in range(3)]
    try:
        store.read().get_item(1, 1, b"k", b"")       # this (long-lived) thread keeps one
        for t in threads:
            t.start()
        store.watch_changes(lambda shards: None)
        read.wait(10)
        # two reading threads' own connections, the writer, the watcher
        wait_for(lambda: sum(_connections(pg_url).values()) >= 4, 10)
        store.close()
        wait_for(lambda: not _connections(pg_url), 10,
                 message=lambda: f"every connection closed (left: {_connections(pg_url)})")
    finally:
        release.set()
        for t in threads:
            t.join(10)
        store.close()


def test_the_change_watcher_connects_only_once_something_listens_for_stream_growth(pg_url: str) -> None:
    """A process with no trigger coordinator (a `--workers` sibling, an embedded database without
    background work) holds no LISTEN connection and does not poll."""
    import eddydb

    schema = parse_store_url(pg_url)[1]
    with eddydb.open(store=pg_url, background=False) as db:
        db.client("dynamodb").list_tables()
        assert f"eddydb-watch:{schema}" not in _connections(pg_url)
        db.instance.streams.subscribe(lambda shards: None)
        wait_for(lambda: f"eddydb-watch:{schema}" in _connections(pg_url), 10)
    wait_for(lambda: not _connections(pg_url), 10)
