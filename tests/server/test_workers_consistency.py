"""`eddydb serve --workers 2` (the default on Linux with SQLite) answers like one process: worker 1
reads items from the shared file itself and forwards everything else to worker 0, so a table change
or a write acknowledged by worker 0 must be what worker 1 reads right after, and a read must get the
same answer (capacity, errors) whichever worker serves it.

Connections are pinned to a worker by only reading on them (a write would move the connection to
worker 0, server/handoff.py); the answering process is told by its request-id prefix.
"""
from __future__ import annotations

import concurrent.futures
import json
import socket
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from util import ServerProcess, make_client

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="SO_REUSEPORT workers are Linux-only")

_AUTH = "AWS4-HMAC-SHA256 Credential=k/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0"
_HASH = {"KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
         "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}], "BillingMode": "PAY_PER_REQUEST"}
_COMPOSITE = {
    "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
    "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "S"},
                             {"AttributeName": "g", "AttributeType": "S"}],
    "GlobalSecondaryIndexes": [{"IndexName": "by-g", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                                "Projection": {"ProjectionType": "KEYS_ONLY"}}],
    "LocalSecondaryIndexes": [{"IndexName": "by-pk-g", "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"},
                                                                     {"AttributeName": "g", "KeyType": "RANGE"}],
                               "Projection": {"ProjectionType": "KEYS_ONLY"}}],
    "BillingMode": "PAY_PER_REQUEST"}
_PROBE = "consistency-probe"


class _Conn:
    """One raw keep-alive connection; `call` returns (status, answering worker's prefix, body)."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.stream = self.sock.makefile("rb")

    def call(self, op: str, body: dict) -> tuple[int, str, dict]:
        data = json.dumps(body).encode()
        self.sock.sendall(
            f"POST / HTTP/1.1\r\nHost: localhost\r\nX-Amz-Target: DynamoDB_20120810.{op}\r\n"
            f"Content-Type: application/x-amz-json-1.0\r\nAuthorization: {_AUTH}\r\n"
            f"Content-Length: {len(data)}\r\n\r\n".encode() + data)
        status = self.stream.readline()
        headers = {}
        while (line := self.stream.readline()) not in (b"\r\n", b""):
            name, value = line.decode("latin-1").split(":", 1)
            headers[name.strip().lower()] = value.strip()
        out = json.loads(self.stream.read(int(headers["content-length"])))
        return int(status.split()[1]), headers["x-amzn-requestid"][:23], out

    def close(self) -> None:
        self.stream.close()
        self.sock.close()


class _Server:
    def __init__(self, srv: ServerProcess) -> None:
        self.srv = srv
        self.client = make_client("dynamodb", srv.url)
        self.client.create_table(TableName=_PROBE, **_HASH)
        conn = _Conn(srv.port)
        conn.call("PutItem", {"TableName": _PROBE, "Item": {"pk": {"S": "p"}}})
        self.worker_0 = conn.call("GetItem", {"TableName": _PROBE, "Key": {"pk": {"S": "p"}}})[1]  # moved there
        conn.close()
        self._open: list[_Conn] = []

    def on_worker(self, reader: bool) -> _Conn:
        """A new connection the kernel gave to worker 1 (`reader`) or worker 0, kept there by reading only."""
        for _ in range(200):
            conn = _Conn(self.srv.port)
            if (conn.call("GetItem", {"TableName": _PROBE, "Key": {"pk": {"S": "p"}}})[1] != self.worker_0) == reader:
                self._open.append(conn)
                return conn
            conn.close()
        raise AssertionError("200 connections all landed on the same worker")

    def read(self, conn: _Conn, op: str, body: dict) -> tuple[int, dict]:
        status, worker, out = conn.call(op, body)
        assert worker != self.worker_0, "the reading connection moved to worker 0"
        return status, out

    def close(self) -> None:
        for c in self._open:
            c.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_Server]:
    base = tmp_path_factory.mktemp("workers-consistency")
    with ServerProcess(base / "data", args=["--workers", "2"], log_path=base / "server.log") as srv:
        s = _Server(srv)
        yield s
        s.close()


def _key(pk: str, sk: str = "s") -> dict:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def _reads(table: str, key: dict) -> list[tuple[str, dict]]:
    """One request of each kind a reading worker answers itself, all for `key`."""
    kc = {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": key["pk"]}}
    return [("GetItem", {"TableName": table, "Key": key}),
            ("Query", {"TableName": table, **kc}),
            ("Scan", {"TableName": table}),
            ("BatchGetItem", {"RequestItems": {table: {"Keys": [key]}}}),
            ("TransactGetItems", {"TransactItems": [{"Get": {"TableName": table, "Key": key}}]})]


# --- table lifecycle ----------------------------------------------------------------------------------

def test_a_created_table_takes_reads_and_writes_at_once_from_fresh_connections(server):
    def use(args: tuple[str, int]) -> None:
        table, i = args
        client = make_client("dynamodb", server.srv.url)
        assert "Item" not in client.get_item(TableName=table, Key={"pk": {"S": f"k{i}"}})
        client.put_item(TableName=table, Item={"pk": {"S": f"k{i}"}})
        assert "Item" in make_client("dynamodb", server.srv.url).get_item(
            TableName=table, Key={"pk": {"S": f"k{i}"}}, ConsistentRead=True)
        assert make_client("dynamodb", server.srv.url).query(
            TableName=table, KeyConditionExpression="pk = :p",
            ExpressionAttributeValues={":p": {"S": f"k{i}"}})["Count"] == 1

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        for t in range(3):
            server.client.create_table(TableName=f"created-{t}", **_HASH)   # no waiter
            list(pool.map(use, [(f"created-{t}", i) for i in range(6)]))


def test_a_deleted_table_is_not_found_on_the_reading_worker(server):
    reader = server.on_worker(reader=True)
    for t in range(3):
        table = f"deleted-{t}"
        server.client.create_table(TableName=table, **_HASH)
        server.client.put_item(TableName=table, Item={"pk": {"S": "a"}})
        assert "Item" in server.read(reader, "GetItem", {"TableName": table, "Key": {"pk": {"S": "a"}}})[1]
        server.client.delete_table(TableName=table)
        for op, body in _reads(table, {"pk": {"S": "a"}}):
            status, out = server.read(reader, op, body)
            assert (status, out["__type"]) == (400, "com.amazonaws.dynamodb.v20120810#ResourceNotFoundException"), op


def test_a_table_recreated_with_another_key_schema_reads_with_the_new_one_on_the_reading_worker(server):
    reader = server.on_worker(reader=True)
    table = "recreated"
    server.client.create_table(TableName=table, **_HASH)
    server.client.put_item(TableName=table, Item={"pk": {"S": "old"}})
    assert server.read(reader, "Scan", {"TableName": table})[1]["Count"] == 1
    server.client.delete_table(TableName=table)
    server.client.create_table(TableName=table, **_COMPOSITE)
    assert server.read(reader, "Scan", {"TableName": table})[1]["Count"] == 0
    status, out = server.read(reader, "GetItem", {"TableName": table, "Key": {"pk": {"S": "old"}}})
    assert (status, out["message"]) == (400, "The provided key element does not match the schema")
    assert "Item" not in server.read(reader, "GetItem", {"TableName": table, "Key": _key("old")})[1]
    server.client.put_item(TableName=table, Item={**_key("new"), "g": {"S": "x"}})
    assert server.read(reader, "Query", {"TableName": table, "IndexName": "by-g", "KeyConditionExpression": "g = :g",
                                         "ExpressionAttributeValues": {":g": {"S": "x"}}})[1]["Count"] == 1


def test_a_gsi_added_then_deleted_is_queryable_only_in_between_on_the_reading_worker(server):
    reader = server.on_worker(reader=True)
    table = "gsi-lifecycle"
    server.client.create_table(TableName=table, **_HASH)
    server.client.batch_write_item(RequestItems={table: [
        {"PutRequest": {"Item": {"pk": {"S": f"k{i}"}, "g": {"S": f"g{i % 3}"}}}} for i in range(24)]})
    query = {"TableName": table, "IndexName": "added", "KeyConditionExpression": "g = :g",
             "ExpressionAttributeValues": {":g": {"S": "g1"}}, "Select": "COUNT"}
    status, out = server.read(reader, "Query", query)
    assert (status, out["message"]) == (400, "The table does not have the specified index: added")
    server.client.update_table(
        TableName=table, AttributeDefinitions=[{"AttributeName": "g", "AttributeType": "S"}],
        GlobalSecondaryIndexUpdates=[{"Create": {"IndexName": "added", "KeySchema": [
            {"AttributeName": "g", "KeyType": "HASH"}], "Projection": {"ProjectionType": "ALL"}}}])
    # eddydb backfills within UpdateTable: once it is answered the index is ACTIVE and complete
    status, out = server.read(reader, "Query", query)
    assert (status, out["Count"]) == (200, 8)
    server.client.update_table(TableName=table, GlobalSecondaryIndexUpdates=[{"Delete": {"IndexName": "added"}}])
    status, out = server.read(reader, "Query", query)
    assert (status, out["message"]) == (400, "The table does not have the specified index: added")


def test_ttl_stream_and_tag_changes_leave_the_reading_worker_reading_the_same_table(server):
    reader = server.on_worker(reader=True)
    table = "table-settings"
    server.client.create_table(TableName=table, **_HASH)
    arn = server.client.describe_table(TableName=table)["Table"]["TableArn"]
    get = {"TableName": table, "Key": {"pk": {"S": "a"}}, "ConsistentRead": True}
    changes = [
        lambda: server.client.update_time_to_live(
            TableName=table, TimeToLiveSpecification={"Enabled": True, "AttributeName": "exp"}),
        lambda: server.client.update_table(
            TableName=table, StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}),
        lambda: server.client.tag_resource(ResourceArn=arn, Tags=[{"Key": "team", "Value": "a"}]),
        lambda: server.client.update_table(TableName=table, StreamSpecification={"StreamEnabled": False}),
        lambda: server.client.update_time_to_live(
            TableName=table, TimeToLiveSpecification={"Enabled": False, "AttributeName": "exp"}),
    ]
    for n, change in enumerate(changes):
        change()
        server.client.put_item(TableName=table, Item={"pk": {"S": "a"}, "n": {"N": str(n)}})
        assert server.read(reader, "GetItem", get)[1]["Item"]["n"] == {"N": str(n)}
    for _ in range(4):   # fresh connections: either worker (ListTagsOfResource is worker 0's)
        assert make_client("dynamodb", server.srv.url).list_tags_of_resource(
            ResourceArn=arn)["Tags"] == [{"Key": "team", "Value": "a"}]


# --- read-your-writes ----------------------------------------------------------------------------------

def test_an_acknowledged_write_is_what_every_read_on_the_reading_worker_sees_next(server):
    reader = server.on_worker(reader=True)
    table = "read-your-writes"
    server.client.create_table(TableName=table, **_COMPOSITE)
    writers = [make_client("dynamodb", server.srv.url) for _ in range(3)]
    for n in range(12):
        key = _key(f"p{n % 3}")
        writers[n % 3].put_item(TableName=table, Item={**key, "n": {"N": str(n)}, "g": {"S": f"g{n}"}})
        for consistent in (True, False):
            item = server.read(reader, "GetItem", {"TableName": table, "Key": key, "ConsistentRead": consistent})[1]
            assert item["Item"]["n"] == {"N": str(n)}
        query = server.read(reader, "Query", {"TableName": table, "KeyConditionExpression": "pk = :p",
                                              "ExpressionAttributeValues": {":p": key["pk"]}, "ConsistentRead": True})
        assert [i["n"] for i in query[1]["Items"]] == [{"N": str(n)}]
        assert server.read(reader, "Query", {"TableName": table, "IndexName": "by-g", "KeyConditionExpression": "g = :g",
                                             "ExpressionAttributeValues": {":g": {"S": f"g{n}"}}})[1]["Count"] == 1
        batch = server.read(reader, "BatchGetItem", {"RequestItems": {table: {"Keys": [key], "ConsistentRead": True}}})
        assert batch[1]["Responses"][table][0]["n"] == {"N": str(n)}
        txn = server.read(reader, "TransactGetItems", {"TransactItems": [{"Get": {"TableName": table, "Key": key}}]})
        assert txn[1]["Responses"][0]["Item"]["n"] == {"N": str(n)}


def test_a_partial_page_leaves_no_old_snapshot_behind_on_the_reading_worker(server):
    # A Query or Scan that stops at Limit leaves its SQLite statement unfinished; a statement left
    # open would hold the connection's read snapshot and hide every later write from that process.
    reader = server.on_worker(reader=True)
    table = "partial-pages"
    server.client.create_table(TableName=table, **_COMPOSITE)
    server.client.batch_write_item(RequestItems={table: [
        {"PutRequest": {"Item": {**_key("a", f"{i:02}"), "g": {"S": "g"}}}} for i in range(20)]})
    partial = [("Query", {"TableName": table, "KeyConditionExpression": "pk = :p",
                          "ExpressionAttributeValues": {":p": {"S": "a"}}, "Limit": 2}),
               ("Query", {"TableName": table, "IndexName": "by-pk-g", "KeyConditionExpression": "pk = :p",
                          "ExpressionAttributeValues": {":p": {"S": "a"}}, "Limit": 2}),
               ("Scan", {"TableName": table, "Limit": 2})]
    for n, (op, body) in enumerate(partial):
        assert "LastEvaluatedKey" in server.read(reader, op, body)[1]
        server.client.put_item(TableName=table, Item={**_key("new"), "n": {"N": str(n)}})
        assert server.read(reader, "GetItem", {"TableName": table, "Key": _key("new")})[1]["Item"]["n"] == {"N": str(n)}


# --- isolation -----------------------------------------------------------------------------------------

def test_transact_get_and_batch_get_on_the_reading_worker_never_see_half_a_transaction(server):
    table = "isolation"
    server.client.create_table(TableName=table, **_COMPOSITE)
    keys = [_key("tx", f"s{i}") for i in range(4)]
    stop = threading.Event()
    torn: list[Any] = []

    def write() -> int:
        client = make_client("dynamodb", server.srv.url)
        n = 0
        while not stop.is_set():
            n += 1
            client.transact_write_items(TransactItems=[
                {"Put": {"TableName": table, "Item": {**k, "v": {"N": str(n)}}}} for k in keys])
        return n

    def read(conn: _Conn) -> int:
        reads = 0
        while not stop.is_set():
            out = server.read(conn, "TransactGetItems", {"TransactItems": [
                {"Get": {"TableName": table, "Key": k}} for k in keys]})[1]
            seen = {r.get("Item", {}).get("v", {}).get("N") for r in out["Responses"]}
            if len(seen) != 1:
                torn.append(("TransactGetItems", seen))
            out = server.read(conn, "BatchGetItem", {"RequestItems": {table: {"Keys": keys, "ConsistentRead": True}}})[1]
            seen = {i["v"]["N"] for i in out["Responses"][table]}
            if seen and (len(seen) != 1 or len(out["Responses"][table]) != len(keys)):
                torn.append(("BatchGetItem", seen))
            reads += 1
        return reads

    readers = [server.on_worker(reader=True) for _ in range(2)]
    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        futures = [pool.submit(write)] + [pool.submit(read, c) for c in readers]
        time.sleep(3)
        stop.set()
        written, *reads = [f.result() for f in futures]
    assert written > 10 and min(reads) > 10
    assert torn == []


# --- same answer on either worker ------------------------------------------------------------------------

def test_reads_get_the_same_answer_and_consumed_capacity_from_either_worker(server):
    table = "same-answer"
    server.client.create_table(TableName=table, **_COMPOSITE)
    for i in range(12):
        server.client.put_item(TableName=table, Item={**_key("a", f"{i:02}"), "g": {"S": f"g{i % 2}"},
                                                      "pad": {"S": "x" * 3000}})
    key = _key("a", "01")
    kc = {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "a"}}}
    requests: list[tuple[str, dict]] = []
    for rcc in ("TOTAL", "INDEXES"):
        requests += [
            ("GetItem", {"TableName": table, "Key": key, "ReturnConsumedCapacity": rcc, "ConsistentRead": True}),
            ("Query", {"TableName": table, **kc, "ReturnConsumedCapacity": rcc, "Limit": 5}),
            ("Query", {"TableName": table, "IndexName": "by-pk-g", **kc, "Select": "ALL_ATTRIBUTES",
                       "ReturnConsumedCapacity": rcc}),
            ("Scan", {"TableName": table, "IndexName": "by-g", "ReturnConsumedCapacity": rcc}),
            ("BatchGetItem", {"RequestItems": {table: {"Keys": [key, _key("none")]}}, "ReturnConsumedCapacity": rcc}),
            ("TransactGetItems", {"TransactItems": [{"Get": {"TableName": table, "Key": key}}],
                                  "ReturnConsumedCapacity": rcc})]
    requests += [
        ("GetItem", {"TableName": "no-such-table", "Key": key}),
        ("GetItem", {"TableName": table, "Key": {"pk": {"S": "a"}}}),
        ("Query", {"TableName": table, "IndexName": "by-g", "ConsistentRead": True, "KeyConditionExpression": "g = :g",
                   "ExpressionAttributeValues": {":g": {"S": "g0"}}}),
        ("Scan", {"TableName": table, "Segment": 1}),
        ("BatchGetItem", {"RequestItems": {table: {"Keys": [key, key]}}}),
        ("TransactGetItems", {"TransactItems": [{"Get": {"TableName": table, "Key": key}}] * 2}),
    ]
    reader, writer = server.on_worker(reader=True), server.on_worker(reader=False)
    for op, body in requests:
        a, b = reader.call(op, body), writer.call(op, body)
        assert (a[1] != server.worker_0, b[1] == server.worker_0) == (True, True)
        assert (a[0], a[2]) == (b[0], b[2]), op


# --- the table cache ------------------------------------------------------------------------------------

def test_a_table_cache_reload_from_an_older_snapshot_never_brings_back_a_dropped_table(tmp_path):
    # Any thread may reload the cache (a lookup that misses, a newer shared catalog version) while
    # another installs a newer catalog: the slower one, reading an older snapshot, must not win.
    from eddydb.config import Settings
    from eddydb.instance import Instance
    from eddydb.server import router

    inst = Instance(Settings(data=str(tmp_path / "data")))

    def call(op: str, body: dict) -> tuple[int, dict]:
        res = router.route(inst, "POST", "/", {"x-amz-target": f"DynamoDB_20120810.{op}"}, json.dumps(body).encode(),
                           trusted=True)
        status, _headers, out = res.finish() if isinstance(res, router.Deferred) else res
        return status, json.loads(out)

    try:
        assert call("CreateTable", {"TableName": "dropped", **_HASH})[0] == 200
        pinned, dropped, reloaded = threading.Event(), threading.Event(), threading.Event()

        def slow_reload() -> None:
            with inst.engine.store.read() as old:
                old.catalog_version()   # the snapshot starts: the table still exists in it
                pinned.set()
                dropped.wait(10)
                inst.engine.reload_tables(old)
            reloaded.set()

        thread = threading.Thread(target=slow_reload)
        thread.start()
        assert pinned.wait(10)
        assert call("DeleteTable", {"TableName": "dropped"})[0] == 200
        dropped.set()
        assert reloaded.wait(10)
        thread.join()
        for op, body in [*_reads("dropped", {"pk": {"S": "a"}}),
                         ("PutItem", {"TableName": "dropped", "Item": {"pk": {"S": "a"}}})]:
            status, out = call(op, body)
            assert (status, out["__type"]) == (400, "com.amazonaws.dynamodb.v20120810#ResourceNotFoundException"), op
    finally:
        inst.close()
