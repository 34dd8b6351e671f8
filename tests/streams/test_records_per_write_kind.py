"""Which stream records each kind of write produces, read through boto3 right after the write: PutItem,
UpdateItem, DeleteItem, conditional writes, BatchWriteItem, TransactWriteItems, PartiQL and TTL expiry,
on tables with and without indexes, for every StreamViewType; plus the TTL API's states and errors
and the reads of an item that expired but was not yet deleted.

Every record is checked whole: eventName, Keys, the images the view type shows, SizeBytes (keys plus
the images shown: the Developer Guide's example sizes), ApproximateCreationDateTime, eventVersion
1.1, eventSource, awsRegion (the stream ARN's), userIdentity on TTL deletes only, and sequence
numbers increasing in write order."""
from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError
from streamutil import all_shards, seq, stream_arn
from util import client_config, make_client

VIEW_TYPES = ["KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES"]
TTL_IDENTITY = {"Type": "Service", "PrincipalId": "dynamodb.amazonaws.com"}
FIVE_YEARS = 5 * 365 * 24 * 3600


# --- helpers ------------------------------------------------------------------------------------------
def _size(item: dict) -> int:
    """DynamoDB item size of an item of S and SS attributes (all these tests use)."""
    n = 0
    for name, av in item.items():
        ((t, v),) = av.items()
        n += len(name.encode()) + (len(v.encode()) if t == "S" else sum(len(s.encode()) for s in v))
    return n


class _Tail:
    """The records a table's stream got since the last `new()` call (one open shard, read from the
    start): a write's records are readable as soon as the write is acknowledged."""

    def __init__(self, dynamodb: Any, ddbstreams: Any, table: str) -> None:
        self.streams = ddbstreams
        self.arn = stream_arn(dynamodb, table)
        self.region = self.arn.split(":")[3]
        [shard] = all_shards(ddbstreams, self.arn)
        self.it = ddbstreams.get_shard_iterator(StreamArn=self.arn, ShardId=shard["ShardId"],
                                                ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        self.last_seq = 0
        self.started = int(time.time())

    def new(self) -> list[dict]:
        out: list[dict] = []
        while True:
            resp = self.streams.get_records(ShardIterator=self.it)
            self.it = resp["NextShardIterator"]  # an open shard always has one
            if not resp["Records"]:
                break
            out += resp["Records"]
        for r in out:
            assert seq(r) > self.last_seq, "sequence numbers increase in write order"
            self.last_seq = seq(r)
        return out


def _check(tail: _Tail, r: dict, view: str, keys: dict, old: dict | None, new: dict | None) -> None:
    """`r` is the record of a user's write old -> new (None = absent) under `view`, as DynamoDB writes it."""
    assert r["eventName"] == ("INSERT" if old is None else "REMOVE" if new is None else "MODIFY")
    assert r["eventVersion"] == "1.1"
    assert r["eventSource"] == "aws:dynamodb"
    assert r["awsRegion"] == tail.region
    assert len(r["eventID"]) > 0
    # no userIdentity: only TTL deletes carry one
    assert set(r) == {"eventID", "eventName", "eventVersion", "eventSource", "awsRegion", "dynamodb"}
    d = r["dynamodb"]
    assert d["Keys"] == keys
    assert d["StreamViewType"] == view
    shows_new = new is not None and view in ("NEW_IMAGE", "NEW_AND_OLD_IMAGES")
    shows_old = old is not None and view in ("OLD_IMAGE", "NEW_AND_OLD_IMAGES")
    assert d.get("NewImage") == (new if shows_new else None)
    assert d.get("OldImage") == (old if shows_old else None)
    expected = {"ApproximateCreationDateTime", "Keys", "SequenceNumber", "SizeBytes", "StreamViewType"}
    assert set(d) == expected | ({"NewImage"} if shows_new else set()) | ({"OldImage"} if shows_old else set())
    assert d["SizeBytes"] == _size(keys) + (_size(new) if shows_new else 0) + (_size(old) if shows_old else 0)
    assert tail.started <= d["ApproximateCreationDateTime"].timestamp() <= time.time()
    assert d["SequenceNumber"].isdigit() and 21 <= len(d["SequenceNumber"]) <= 40


def _by_key(records: list[dict]) -> dict[str, dict]:
    out = {r["dynamodb"]["Keys"]["pk"]["S"]: r for r in records}
    assert len(out) == len(records), "one record per changed item"
    return out


def _fails(code: str, call: Any, *args: Any, **kw: Any) -> None:
    with pytest.raises(ClientError) as exc:
        call(*args, **kw)
    assert exc.value.response["Error"]["Code"] == code


def _item(pk: str, **attrs: Any) -> dict:
    out: dict = {"pk": {"S": pk}}
    for k, v in attrs.items():
        out[k] = {"SS": v} if isinstance(v, list) else {"S": v}
    return out


def _key(pk: str) -> dict:
    return {"pk": {"S": pk}}


@pytest.fixture(scope="module")
def _stream_clients() -> dict[str, Any]:
    return {}


@pytest.fixture
def ddbstreams(request: pytest.FixtureRequest, dynamodb: Any, _stream_clients: dict[str, Any]) -> Any:
    """conftest's `ddbstreams`, made once per backend for this module (a boto3 client is slow to build)."""
    kind = request.node.callspec.params.get("dynamodb", "server")
    if kind not in _stream_clients:
        if kind == "embedded":
            client = request.getfixturevalue("eddy_embedded").client(
                "dynamodbstreams", config=client_config(parameter_validation=False))
        else:
            client = make_client("dynamodbstreams", request.getfixturevalue("eddy_server").url,
                                 parameter_validation=False)
        _stream_clients[kind] = client
    return _stream_clients[kind]


@pytest.fixture
def sweep(request: pytest.FixtureRequest, dynamodb: Any) -> Any:
    """sweep(table, now) -> deleted count, on the database behind `dynamodb`."""
    if request.node.callspec.params.get("dynamodb") == "server":
        from eddydb.cli.ttl import _sweep_remote

        url = request.getfixturevalue("eddy_server").url
        return lambda table, now: _sweep_remote(url, table, now)
    db = request.getfixturevalue("eddy_embedded")
    return lambda table, now: db.ttl_sweep(table, now)


# --- PutItem / UpdateItem / DeleteItem -------------------------------------------------------------------
@pytest.mark.parametrize("view", VIEW_TYPES)
def test_put_update_delete_records_per_view_type(dynamodb, ddbstreams, make_table, view):
    t = make_table(stream=view)
    tail = _Tail(dynamodb, ddbstreams, t)
    a1, a2 = _item("a", v="1"), _item("a", w="2")

    dynamodb.put_item(TableName=t, Item=a1)                                        # new item
    [r] = tail.new()
    _check(tail, r, view, _key("a"), None, a1)
    dynamodb.put_item(TableName=t, Item=a1)                                        # same content
    assert tail.new() == []
    dynamodb.put_item(TableName=t, Item=a2)                                        # different content
    [r] = tail.new()
    _check(tail, r, view, _key("a"), a1, a2)

    dynamodb.update_item(TableName=t, Key=_key("b"), UpdateExpression="SET v = :v",  # creates the item
                         ExpressionAttributeValues={":v": {"S": "x"}})
    [r] = tail.new()
    _check(tail, r, view, _key("b"), None, _item("b", v="x"))
    dynamodb.update_item(TableName=t, Key=_key("b"), UpdateExpression="SET v = :v",  # changes nothing
                         ExpressionAttributeValues={":v": {"S": "x"}})
    dynamodb.update_item(TableName=t, Key=_key("b"), UpdateExpression="REMOVE absent")
    dynamodb.update_item(TableName=t, Key=_key("b"), UpdateExpression="SET v = if_not_exists(v, :w)",
                         ExpressionAttributeValues={":w": {"S": "other"}})
    dynamodb.update_item(TableName=t, Key=_key("b"), UpdateExpression="DELETE s :s",  # from a missing set
                         ExpressionAttributeValues={":s": {"SS": ["p"]}})
    assert tail.new() == []
    dynamodb.update_item(TableName=t, Key=_key("b"), UpdateExpression="ADD s :s",  # to a missing set
                         ExpressionAttributeValues={":s": {"SS": ["p"]}})
    [r] = tail.new()
    _check(tail, r, view, _key("b"), _item("b", v="x"), _item("b", v="x", s=["p"]))
    dynamodb.update_item(TableName=t, Key=_key("b"), UpdateExpression="ADD s :s",  # members already there
                         ExpressionAttributeValues={":s": {"SS": ["p"]}})
    dynamodb.update_item(TableName=t, Key=_key("b"), UpdateExpression="DELETE s :s",  # members not there
                         ExpressionAttributeValues={":s": {"SS": ["q"]}})
    assert tail.new() == []
    dynamodb.update_item(TableName=t, Key=_key("c"), UpdateExpression="ADD s :s",  # ADD creates the item
                         ExpressionAttributeValues={":s": {"SS": ["p", "q"]}})
    [r] = tail.new()
    _check(tail, r, view, _key("c"), None, _item("c", s=["p", "q"]))
    dynamodb.update_item(TableName=t, Key=_key("gone"), UpdateExpression="REMOVE v")  # creates nothing
    assert tail.new() == []
    dynamodb.update_item(TableName=t, Key=_key("c"), UpdateExpression="DELETE s :s",  # last members: removed
                         ExpressionAttributeValues={":s": {"SS": ["p", "q"]}})
    [r] = tail.new()
    _check(tail, r, view, _key("c"), _item("c", s=["p", "q"]), _key("c"))

    dynamodb.delete_item(TableName=t, Key=_key("missing"))                          # nothing to delete
    assert tail.new() == []
    dynamodb.delete_item(TableName=t, Key=_key("a"))
    [r] = tail.new()
    _check(tail, r, view, _key("a"), a2, None)


def test_failed_conditions_write_no_record(dynamodb, ddbstreams, make_table):
    t = make_table(stream=True)
    tail = _Tail(dynamodb, ddbstreams, t)
    dynamodb.put_item(TableName=t, Item=_item("a", v="1"))
    assert len(tail.new()) == 1
    cond = {"ConditionExpression": "v = :x", "ExpressionAttributeValues": {":x": {"S": "9"}},
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}
    _fails("ConditionalCheckFailedException", dynamodb.put_item, TableName=t, Item=_item("a", v="2"), **cond)
    _fails("ConditionalCheckFailedException", dynamodb.update_item, TableName=t, Key=_key("a"),
           UpdateExpression="SET w = :x", **cond)
    _fails("ConditionalCheckFailedException", dynamodb.update_item, TableName=t, Key=_key("new"),
           UpdateExpression="SET w = :x", **cond)                       # would have created an item
    _fails("ConditionalCheckFailedException", dynamodb.delete_item, TableName=t, Key=_key("a"), **cond)
    _fails("ConditionalCheckFailedException", dynamodb.update_item, TableName=t, Key=_key("a"),
           AttributeUpdates={"w": {"Action": "PUT", "Value": {"S": "2"}}}, Expected={"v": {"Value": {"S": "9"}}})
    assert tail.new() == []
    dynamodb.delete_item(TableName=t, Key=_key("a"), ConditionExpression="v = :x",  # a condition that holds
                         ExpressionAttributeValues={":x": {"S": "1"}})
    [r] = tail.new()
    _check(tail, r, "NEW_AND_OLD_IMAGES", _key("a"), _item("a", v="1"), None)


# --- BatchWriteItem / TransactWriteItems -----------------------------------------------------------------
@pytest.mark.parametrize("view", ["KEYS_ONLY", "NEW_AND_OLD_IMAGES"])
def test_batch_write_records_each_changed_item(dynamodb, ddbstreams, make_table, view):
    t, other = make_table(stream=view), make_table()
    tail = _Tail(dynamodb, ddbstreams, t)
    for pk in ("same", "over", "gone"):
        dynamodb.put_item(TableName=t, Item=_item(pk, v="1"))
    assert len(tail.new()) == 3
    dynamodb.batch_write_item(RequestItems={
        t: [{"PutRequest": {"Item": _item("new", v="1")}},
            {"PutRequest": {"Item": _item("same", v="1")}},         # no change: no record
            {"PutRequest": {"Item": _item("over", v="2")}},
            {"DeleteRequest": {"Key": _key("gone")}},
            {"DeleteRequest": {"Key": _key("never")}}],             # missing: no record
        other: [{"PutRequest": {"Item": _item("elsewhere")}}]})     # a table without a stream
    got = _by_key(tail.new())
    assert sorted(got) == ["gone", "new", "over"]
    _check(tail, got["new"], view, _key("new"), None, _item("new", v="1"))
    _check(tail, got["over"], view, _key("over"), _item("over", v="1"), _item("over", v="2"))
    _check(tail, got["gone"], view, _key("gone"), _item("gone", v="1"), None)


def test_rejected_batch_write_records_nothing(dynamodb, ddbstreams, make_table):
    t = make_table(stream=True)
    tail = _Tail(dynamodb, ddbstreams, t)
    _fails("ValidationException", dynamodb.batch_write_item, RequestItems={t: [   # duplicate keys
        {"PutRequest": {"Item": _item("a")}}, {"DeleteRequest": {"Key": _key("a")}}]})
    _fails("ResourceNotFoundException", dynamodb.batch_write_item, RequestItems={
        t: [{"PutRequest": {"Item": _item("a")}}], "no-such-table-records": [{"PutRequest": {"Item": _item("a")}}]})
    assert tail.new() == []


@pytest.mark.parametrize("view", ["OLD_IMAGE", "NEW_IMAGE"])
def test_transact_write_records_each_changed_item(dynamodb, ddbstreams, make_table, view):
    t, other = make_table(stream=view), make_table(stream="KEYS_ONLY")
    tail, other_tail = _Tail(dynamodb, ddbstreams, t), _Tail(dynamodb, ddbstreams, other)
    for pk in ("upd", "del", "chk", "same"):
        dynamodb.put_item(TableName=t, Item=_item(pk, v="1"))
    assert len(tail.new()) == 4
    dynamodb.transact_write_items(TransactItems=[
        {"Put": {"TableName": t, "Item": _item("put", v="1")}},
        {"Update": {"TableName": t, "Key": _key("upd"), "UpdateExpression": "SET v = :v",
                    "ExpressionAttributeValues": {":v": {"S": "2"}}}},
        {"Delete": {"TableName": t, "Key": _key("del")}},
        {"ConditionCheck": {"TableName": t, "Key": _key("chk"), "ConditionExpression": "attribute_exists(pk)"}},
        {"Update": {"TableName": t, "Key": _key("same"), "UpdateExpression": "SET v = :v",   # no change
                    "ExpressionAttributeValues": {":v": {"S": "1"}}}},
        {"Delete": {"TableName": t, "Key": _key("never")}},                                   # missing
        {"Put": {"TableName": other, "Item": _item("x")}},
    ])
    got = _by_key(tail.new())
    assert sorted(got) == ["del", "put", "upd"]
    _check(tail, got["put"], view, _key("put"), None, _item("put", v="1"))
    _check(tail, got["upd"], view, _key("upd"), _item("upd", v="1"), _item("upd", v="2"))
    _check(tail, got["del"], view, _key("del"), _item("del", v="1"), None)
    [r] = other_tail.new()
    _check(other_tail, r, "KEYS_ONLY", _key("x"), None, _item("x"))


def test_cancelled_or_replayed_transaction_records_nothing(dynamodb, ddbstreams, make_table):
    t = make_table(stream=True)
    tail = _Tail(dynamodb, ddbstreams, t)
    dynamodb.put_item(TableName=t, Item=_item("a", v="1"))
    assert len(tail.new()) == 1
    _fails("TransactionCanceledException", dynamodb.transact_write_items, TransactItems=[
        {"Put": {"TableName": t, "Item": _item("b")}},
        {"Delete": {"TableName": t, "Key": _key("a")}},
        {"ConditionCheck": {"TableName": t, "Key": _key("c"), "ConditionExpression": "attribute_exists(pk)"}}])
    _fails("TransactionCanceledException", dynamodb.transact_write_items, TransactItems=[
        {"Update": {"TableName": t, "Key": _key("a"), "UpdateExpression": "SET v = :v",
                    "ConditionExpression": "v = :old", "ExpressionAttributeValues": {":v": {"S": "2"}, ":old": {"S": "0"}}}}])
    assert tail.new() == []
    add = [{"Update": {"TableName": t, "Key": _key("a"), "UpdateExpression": "ADD s :s",
                       "ExpressionAttributeValues": {":s": {"SS": ["p"]}}}},
           {"Put": {"TableName": t, "Item": _item("b")}}]
    token = uuid.uuid4().hex
    dynamodb.transact_write_items(TransactItems=add, ClientRequestToken=token)
    assert sorted(_by_key(tail.new())) == ["a", "b"]
    dynamodb.delete_item(TableName=t, Key=_key("b"))
    assert len(tail.new()) == 1
    # the same ClientRequestToken within 10 minutes: an idempotent replay, not a second write
    dynamodb.transact_write_items(TransactItems=add, ClientRequestToken=token)
    _fails("IdempotentParameterMismatchException", dynamodb.transact_write_items,
           TransactItems=[{"Put": {"TableName": t, "Item": _item("c")}}], ClientRequestToken=token)
    assert tail.new() == []


def test_a_stream_enabled_later_sees_earlier_items_as_modified_and_removed(dynamodb, ddbstreams, make_table):
    t = make_table()
    dynamodb.put_item(TableName=t, Item=_item("a", v="1"))
    dynamodb.put_item(TableName=t, Item=_item("b", v="1"))
    dynamodb.update_table(TableName=t, StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
    tail = _Tail(dynamodb, ddbstreams, t)
    assert tail.new() == []                                   # enabling records nothing of the table's content
    dynamodb.put_item(TableName=t, Item=_item("a", v="2"))
    dynamodb.delete_item(TableName=t, Key=_key("b"))
    mod, rem = tail.new()
    _check(tail, mod, "NEW_AND_OLD_IMAGES", _key("a"), _item("a", v="1"), _item("a", v="2"))
    _check(tail, rem, "NEW_AND_OLD_IMAGES", _key("b"), _item("b", v="1"), None)


# --- PartiQL ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("view", ["KEYS_ONLY", "NEW_AND_OLD_IMAGES"])
def test_partiql_writes_record_like_the_item_api(dynamodb, ddbstreams, make_table, view):
    t = make_table(stream=view)
    tail = _Tail(dynamodb, ddbstreams, t)

    def run(statement: str) -> None:
        dynamodb.execute_statement(Statement=statement)

    run(f"INSERT INTO \"{t}\" VALUE {{'pk': 'a', 'v': '1'}}")
    [r] = tail.new()
    _check(tail, r, view, _key("a"), None, _item("a", v="1"))
    _fails("DuplicateItemException", run, f"INSERT INTO \"{t}\" VALUE {{'pk': 'a', 'v': '2'}}")
    _fails("ConditionalCheckFailedException", run, f"UPDATE \"{t}\" SET v = '3' WHERE pk = 'a' AND v = '0'")
    _fails("ConditionalCheckFailedException", run, f"UPDATE \"{t}\" SET v = '3' WHERE pk = 'missing'")
    _fails("ConditionalCheckFailedException", run, f"DELETE FROM \"{t}\" WHERE pk = 'a' AND v = '0'")
    run(f"UPDATE \"{t}\" SET v = '1' WHERE pk = 'a'")                       # same value
    run(f"UPDATE \"{t}\" REMOVE absent WHERE pk = 'a'")                    # absent attribute
    run(f"DELETE FROM \"{t}\" WHERE pk = 'missing'")                         # absent item
    assert tail.new() == []
    run(f"UPDATE \"{t}\" SET s = <<'p'>> WHERE pk = 'a'")
    [r] = tail.new()
    _check(tail, r, view, _key("a"), _item("a", v="1"), _item("a", v="1", s=["p"]))
    run(f"UPDATE \"{t}\" SET s = set_add(s, <<'p'>>) WHERE pk = 'a'")       # already a member
    assert tail.new() == []

    dynamodb.execute_transaction(TransactStatements=[
        {"Statement": f"INSERT INTO \"{t}\" VALUE {{'pk': 'b'}}"},
        {"Statement": f"UPDATE \"{t}\" REMOVE s WHERE pk = 'a'"}])
    got = _by_key(tail.new())
    _check(tail, got["b"], view, _key("b"), None, _key("b"))
    _check(tail, got["a"], view, _key("a"), _item("a", v="1", s=["p"]), _item("a", v="1"))
    _fails("TransactionCanceledException", dynamodb.execute_transaction, TransactStatements=[
        {"Statement": f"DELETE FROM \"{t}\" WHERE pk = 'b'"},
        {"Statement": f"INSERT INTO \"{t}\" VALUE {{'pk': 'a'}}"}])        # duplicate: all cancelled
    assert tail.new() == []

    resp = dynamodb.batch_execute_statement(Statements=[
        {"Statement": f"DELETE FROM \"{t}\" WHERE pk = 'b'"},
        {"Statement": f"INSERT INTO \"{t}\" VALUE {{'pk': 'a'}}"},            # duplicate: this one fails
        {"Statement": f"UPDATE \"{t}\" SET v = '2' WHERE pk = 'a'"},
        {"Statement": f"DELETE FROM \"{t}\" WHERE pk = 'never'"}])
    assert ["Error" in r for r in resp["Responses"]] == [False, True, False, False]
    got = _by_key(tail.new())
    assert sorted(got) == ["a", "b"]
    _check(tail, got["b"], view, _key("b"), _key("b"), None)
    _check(tail, got["a"], view, _key("a"), _item("a", v="1"), _item("a", v="2"))


# --- tables with indexes -----------------------------------------------------------------------------------
def test_writes_to_a_table_with_indexes_record_the_base_item_once(dynamodb, ddbstreams, make_table):
    t = make_table(("pk", "S"), ("sk", "S"), gsi={"by-g": ("g:S", None, "KEYS_ONLY")},
                   lsi={"by-l": ("pk", "l:S", ["v"])}, stream="NEW_AND_OLD_IMAGES")
    tail = _Tail(dynamodb, ddbstreams, t)
    key = {"pk": {"S": "p"}, "sk": {"S": "s"}}
    one = {**key, "g": {"S": "G1"}, "l": {"S": "L1"}, "v": {"S": "1"}, "w": {"S": "1"}}
    dynamodb.put_item(TableName=t, Item=one)
    [r] = tail.new()
    _check(tail, r, "NEW_AND_OLD_IMAGES", key, None, one)                   # the whole item, not a projection
    two = {**one, "g": {"S": "G2"}}
    dynamodb.update_item(TableName=t, Key=key, UpdateExpression="SET g = :g",   # moves the GSI entry
                         ExpressionAttributeValues={":g": {"S": "G2"}})
    [r] = tail.new()
    _check(tail, r, "NEW_AND_OLD_IMAGES", key, one, two)
    three = {k: v for k, v in two.items() if k != "l"}
    dynamodb.update_item(TableName=t, Key=key, UpdateExpression="REMOVE l")    # leaves the LSI
    [r] = tail.new()
    _check(tail, r, "NEW_AND_OLD_IMAGES", key, two, three)
    dynamodb.put_item(TableName=t, Item=three)
    assert tail.new() == []
    _fails("ValidationException", dynamodb.put_item, TableName=t, Item={**three, "g": {"N": "1"}})  # wrong GSI key type
    assert tail.new() == []
    dynamodb.delete_item(TableName=t, Key=key)
    [r] = tail.new()
    _check(tail, r, "NEW_AND_OLD_IMAGES", key, three, None)


# --- TTL expiry ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("view", VIEW_TYPES)
def test_ttl_expiry_is_a_service_remove_per_view_type(dynamodb, ddbstreams, make_table, sweep, view):
    t = make_table(("pk", "S"), ("sk", "S"), gsi={"by-g": ("g:S",)}, stream=view)
    dynamodb.update_time_to_live(TableName=t, TimeToLiveSpecification={"Enabled": True, "AttributeName": "exp"})
    tail = _Tail(dynamodb, ddbstreams, t)
    now = int(time.time())
    key = {"pk": {"S": "a"}, "sk": {"S": "1"}}
    item = {**key, "g": {"S": "G"}, "exp": {"N": str(now + 1000)}}     # expires in the future: the sweep's `now`
    dynamodb.put_item(TableName=t, Item=item)
    assert len(tail.new()) == 1
    assert sweep(t, now + 2000) == 1
    [r] = tail.new()
    assert r["eventName"] == "REMOVE" and r["userIdentity"] == TTL_IDENTITY
    assert r["dynamodb"]["Keys"] == key and "NewImage" not in r["dynamodb"]
    assert r["dynamodb"].get("OldImage") == (item if view in ("OLD_IMAGE", "NEW_AND_OLD_IMAGES") else None)
    assert (r["eventVersion"], r["eventSource"], r["awsRegion"]) == ("1.1", "aws:dynamodb", tail.region)
    if view in ("KEYS_ONLY", "NEW_IMAGE"):
        assert set(r["dynamodb"]) == {"ApproximateCreationDateTime", "Keys", "SequenceNumber", "SizeBytes",
                                      "StreamViewType"}
        assert r["dynamodb"]["SizeBytes"] == _size(key)
    assert tail.started <= r["dynamodb"]["ApproximateCreationDateTime"].timestamp() <= time.time()
    assert sweep(t, now + 2000) == 0                                     # once only
    assert tail.new() == []


def test_ttl_ignores_items_it_must_not_delete_and_records_nothing_for_them(dynamodb, ddbstreams, make_table, sweep):
    t = make_table(stream=True)
    dynamodb.update_time_to_live(TableName=t, TimeToLiveSpecification={"Enabled": True, "AttributeName": "exp"})
    tail = _Tail(dynamodb, ddbstreams, t)
    now = int(time.time())
    kept = {
        "string": {"S": str(now - 60)},
        "list": {"L": [{"N": str(now - 60)}]},
        "set": {"NS": [str(now - 60)]},
        "map": {"M": {"at": {"N": str(now - 60)}}},
        "ancient": {"N": str(now - FIVE_YEARS - 86400)},   # more than five years in the past
        "future": {"N": str(now + 3600)},
        "none": None,
    }
    for pk, exp in kept.items():
        dynamodb.put_item(TableName=t, Item={"pk": {"S": pk}, **({"exp": exp} if exp else {})})
    dynamodb.put_item(TableName=t, Item={"pk": {"S": "moved"}, "exp": {"N": str(now + 100)}})
    dynamodb.put_item(TableName=t, Item={"pk": {"S": "user"}, "exp": {"N": str(now + 100)}})
    assert len(tail.new()) == len(kept) + 2
    dynamodb.update_item(TableName=t, Key=_key("moved"), UpdateExpression="SET #e = :e",   # cancels the expiry
                         ExpressionAttributeNames={"#e": "exp"}, ExpressionAttributeValues={":e": {"N": str(now + 9000)}})
    dynamodb.delete_item(TableName=t, Key=_key("user"))                                   # deleted by a user first
    moved, user_delete = tail.new()
    assert moved["eventName"] == "MODIFY" and "userIdentity" not in moved
    assert user_delete["eventName"] == "REMOVE" and "userIdentity" not in user_delete
    assert sweep(t, now + 200) == 0
    assert tail.new() == []
    for pk in kept:
        assert "Item" in dynamodb.get_item(TableName=t, Key=_key(pk), ConsistentRead=True)


def test_switching_ttl_on_and_off_writes_no_records(dynamodb, ddbstreams, make_table):
    t = make_table(stream=True)
    tail = _Tail(dynamodb, ddbstreams, t)
    dynamodb.put_item(TableName=t, Item={"pk": {"S": "a"}, "exp": {"N": str(int(time.time()) + 3600)}})
    assert len(tail.new()) == 1
    spec = {"Enabled": True, "AttributeName": "exp"}
    dynamodb.update_time_to_live(TableName=t, TimeToLiveSpecification=spec)
    dynamodb.update_time_to_live(TableName=t, TimeToLiveSpecification={**spec, "Enabled": False})
    assert tail.new() == []


# --- the TTL API ----------------------------------------------------------------------------------------------
def _ttl_error(ddb: Any, table: str, enabled: bool, attr: str) -> tuple[str, str]:
    with pytest.raises(ClientError) as exc:
        ddb.update_time_to_live(TableName=table, TimeToLiveSpecification={"Enabled": enabled, "AttributeName": attr})
    e = exc.value.response["Error"]
    return e["Code"], e["Message"]


def test_ttl_api_states_and_errors(ddb, make_table):
    t = make_table()

    def status() -> dict:
        return ddb.describe_time_to_live(TableName=t)["TimeToLiveDescription"]

    assert status() == {"TimeToLiveStatus": "DISABLED"}
    assert _ttl_error(ddb, t, False, "exp") == ("ValidationException", "TimeToLive is already disabled")
    r = ddb.update_time_to_live(TableName=t, TimeToLiveSpecification={"Enabled": True, "AttributeName": "exp"})
    assert r["TimeToLiveSpecification"] == {"Enabled": True, "AttributeName": "exp"}
    assert status() == {"TimeToLiveStatus": "ENABLED", "AttributeName": "exp"}
    assert _ttl_error(ddb, t, True, "exp") == ("ValidationException", "TimeToLive is already enabled")
    different = ("ValidationException", "TimeToLive is active on a different AttributeName: current AttributeName is exp")
    assert _ttl_error(ddb, t, True, "other") == different
    assert _ttl_error(ddb, t, False, "other") == different
    assert status() == {"TimeToLiveStatus": "ENABLED", "AttributeName": "exp"}
    r = ddb.update_time_to_live(TableName=t, TimeToLiveSpecification={"Enabled": False, "AttributeName": "exp"})
    assert r["TimeToLiveSpecification"] == {"Enabled": False, "AttributeName": "exp"}
    assert status() == {"TimeToLiveStatus": "DISABLED"}
    ddb.update_time_to_live(TableName=t, TimeToLiveSpecification={"Enabled": True, "AttributeName": "other"})
    assert status() == {"TimeToLiveStatus": "ENABLED", "AttributeName": "other"}
    code, msg = _ttl_error(ddb, t, True, "x" * 256)
    assert code == "ValidationException"
    assert msg.endswith("at 'timeToLiveSpecification.attributeName' failed to satisfy constraint: "
                        "Member must have length less than or equal to 255")
    assert status() == {"TimeToLiveStatus": "ENABLED", "AttributeName": "other"}


def test_an_expired_item_stays_readable_until_ttl_deletes_it(server_factory):
    # DynamoDB: "Items that have expired, but haven't yet been deleted by TTL, still appear in reads,
    # queries, and scans." A server that sweeps once an hour shows the window; a sweep then deletes it.
    from eddydb.cli.ttl import _sweep_remote

    srv = server_factory(args=["--ttl-interval", "3600"], in_memory=True)
    ddb, streams = make_client("dynamodb", srv.url), make_client("dynamodbstreams", srv.url)
    ddb.create_table(TableName="expiring", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                     BillingMode="PAY_PER_REQUEST",
                     StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
    ddb.update_time_to_live(TableName="expiring", TimeToLiveSpecification={"Enabled": True, "AttributeName": "exp"})
    tail = _Tail(ddb, streams, "expiring")
    item = {"pk": {"S": "a"}, "exp": {"N": str(int(time.time()) - 60)}}
    ddb.put_item(TableName="expiring", Item=item)
    assert len(tail.new()) == 1

    assert ddb.get_item(TableName="expiring", Key=_key("a"), ConsistentRead=True)["Item"] == item
    assert ddb.query(TableName="expiring", KeyConditionExpression="pk = :p",
                     ExpressionAttributeValues={":p": {"S": "a"}})["Items"] == [item]
    assert ddb.scan(TableName="expiring")["Items"] == [item]
    assert ddb.batch_get_item(RequestItems={"expiring": {"Keys": [_key("a")]}})["Responses"]["expiring"] == [item]
    assert ddb.transact_get_items(TransactItems=[{"Get": {"TableName": "expiring", "Key": _key("a")}}])[
        "Responses"] == [{"Item": item}]
    assert ddb.execute_statement(Statement="SELECT * FROM \"expiring\" WHERE pk = 'a'")["Items"] == [item]
    assert tail.new() == []

    assert _sweep_remote(srv.url, "expiring", None) == 1
    assert "Item" not in ddb.get_item(TableName="expiring", Key=_key("a"), ConsistentRead=True)
    [r] = tail.new()
    assert r["eventName"] == "REMOVE" and r["userIdentity"] == TTL_IDENTITY
    assert r["dynamodb"]["OldImage"] == item and "NewImage" not in r["dynamodb"]
