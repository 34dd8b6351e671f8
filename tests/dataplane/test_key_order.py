"""SQLite stores items and index entries in key order (storage/sqlite/items.py): what a client can
observe of it, and the one-off rebuild of a database written in the earlier partition-hash order."""
from __future__ import annotations

import sqlite3

import eddydb
from eddydb.model.keys import encode_key, partition_hash
from eddydb.storage.sqlite import items as sqlite_items

_OLD_ITEMS = ("CREATE TABLE items (table_id INTEGER NOT NULL, phash INTEGER NOT NULL, pk BLOB NOT NULL,"
              " sk BLOB NOT NULL, item BLOB NOT NULL, expires REAL, PRIMARY KEY (table_id, phash, pk, sk))"
              " WITHOUT ROWID")
_OLD_ENTRIES = ("CREATE TABLE index_entries (index_id INTEGER NOT NULL, phash INTEGER NOT NULL,"
                " ipk BLOB NOT NULL, isk BLOB NOT NULL, pk BLOB NOT NULL, sk BLOB NOT NULL, item BLOB NOT NULL,"
                " PRIMARY KEY (index_id, phash, ipk, isk, pk, sk)) WITHOUT ROWID")


def _create(client):
    client.create_table(
        TableName="tab", BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for a in ("pk", "sk", "g")],
        GlobalSecondaryIndexes=[{"IndexName": "byg", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                                 "Projection": {"ProjectionType": "ALL"}}])


def _load(client, n=60):
    for i in range(n):
        client.put_item(TableName="tab", Item={"pk": {"S": f"p{i % 7}"}, "sk": {"S": f"s{i:03d}"},
                                             "g": {"S": f"g{i % 3}"}, "n": {"N": str(i)}})


def _scan_all(client, **kw):
    items, start = [], None
    while True:
        page = client.scan(TableName="tab", Limit=7, **kw, **({"ExclusiveStartKey": start} if start else {}))
        items += page["Items"]
        start = page.get("LastEvaluatedKey")
        if not start:
            return items


def _snapshot(client):
    return {
        "scan": sorted(str(i) for i in _scan_all(client)),
        "segments": [sorted(str(i) for i in _scan_all(client, Segment=s, TotalSegments=3)) for s in range(3)],
        "index_scan": sorted(str(i) for i in _scan_all(client, IndexName="byg")),
        "query": [client.query(TableName="tab", KeyConditionExpression="pk = :p",
                               ExpressionAttributeValues={":p": {"S": f"p{k}"}})["Items"] for k in range(7)],
        "gsi": [client.query(TableName="tab", IndexName="byg", KeyConditionExpression="g = :g",
                             ExpressionAttributeValues={":g": {"S": f"g{k}"}})["Items"] for k in range(3)],
    }


def test_a_scan_without_segments_returns_items_in_key_order_across_pages():
    with eddydb.open() as db:
        client = db.client("dynamodb")
        _create(client)
        _load(client)
        keys = [(encode_key(i["pk"]), encode_key(i["sk"])) for i in _scan_all(client)]
        assert keys == sorted(keys) and len(keys) == 60


def test_parallel_scan_segments_split_by_partition_hash_and_cover_every_item_once():
    with eddydb.open() as db:
        client = db.client("dynamodb")
        _create(client)
        _load(client)
        seen = []
        for s in range(4):
            for item in _scan_all(client, Segment=s, TotalSegments=4):
                h = partition_hash(encode_key(item["pk"]))
                assert s * (1 << 32) // 4 <= h < (s + 1) * (1 << 32) // 4
                seen.append((item["pk"]["S"], item["sk"]["S"]))
        assert sorted(seen) == sorted({(f"p{i % 7}", f"s{i:03d}") for i in range(60)})


def _to_hash_order(path):
    """Rewrite a database as an earlier eddydb left it: items and index entries in hash order."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN")
    for table, ddl in (("items", _OLD_ITEMS), ("index_entries", _OLD_ENTRIES)):
        conn.execute(f"ALTER TABLE {table} RENAME TO {table}_new")
        conn.execute(ddl)
        conn.execute(f"INSERT INTO {table} SELECT * FROM {table}_new")
        conn.execute(f"DROP TABLE {table}_new")
    conn.execute(sqlite_items._ITEMS_EXPIRES)
    conn.execute("COMMIT")
    conn.close()


def test_a_database_in_partition_hash_order_is_rebuilt_on_open_with_nothing_lost(tmp_path):
    data = tmp_path / "data"
    with eddydb.open(str(data)) as db:
        client = db.client("dynamodb")
        _create(client)
        _load(client)
        client.update_time_to_live(TableName="tab", TimeToLiveSpecification={"Enabled": True, "AttributeName": "exp"})
        client.put_item(TableName="tab", Item={"pk": {"S": "ttl"}, "sk": {"S": "x"}, "g": {"S": "g0"},
                                             "exp": {"N": "4102444800"}})
        before = _snapshot(client)
    path = str(data / "eddydb.sqlite3")
    _to_hash_order(path)
    with eddydb.open(str(data)) as db:
        client = db.client("dynamodb")
        assert _snapshot(client) == before
        client.put_item(TableName="tab", Item={"pk": {"S": "p1"}, "sk": {"S": "new"}, "g": {"S": "g1"}})
        assert client.get_item(TableName="tab", Key={"pk": {"S": "p1"}, "sk": {"S": "new"}})["Item"]["g"] == {"S": "g1"}
    conn = sqlite3.connect(path)
    sql = dict(conn.execute("SELECT name, sql FROM sqlite_master WHERE type IN ('table', 'index')").fetchall())
    assert "PRIMARY KEY (table_id, pk, sk)" in sql["items"]
    assert "PRIMARY KEY (index_id, ipk, isk, pk, sk)" in sql["index_entries"]
    assert "items_expires" in sql and "items_keyed" not in sql and "index_entries_keyed" not in sql
    # the TTL column and its index survived: the expiring item is still found by expiry time
    assert conn.execute("SELECT count(*) FROM items WHERE expires IS NOT NULL").fetchone()[0] == 1
    assert not sqlite_items.migrate(conn)  # nothing left to do
    conn.close()
