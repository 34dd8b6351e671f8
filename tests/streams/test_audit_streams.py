"""Audit of the DynamoDB Streams API against the reference: positions at the edges of a shard
(its StartingSequenceNumber, after its last record, numbers of another stream), hand-made
iterators, iterator expiry and the default 24-hour retention through injected clocks, paging of
ListStreams/DescribeStream past their ends, and the stream records of edge writes."""
from __future__ import annotations

import base64
import json
import time
import tracemalloc
from typing import Any

import pytest
from botocore.exceptions import ClientError
from streamutil import all_shards, read_shard, read_stream, stream_arn
from util import client_config, wait_for

import eddydb
from eddydb.model.errors import ExpiredIteratorException
from eddydb.streams.iterators import ITERATOR_LIFETIME, decode_iterator


def _err(exc: pytest.ExceptionInfo) -> tuple[str, str]:
    e = exc.value.response["Error"]
    return e["Code"], e["Message"]


def _iterator(streams: Any, arn: str, shard_id: str, itype: str = "TRIM_HORIZON", **kw: Any) -> str:
    return streams.get_shard_iterator(StreamArn=arn, ShardId=shard_id, ShardIteratorType=itype, **kw)["ShardIterator"]


def _keys(records: list[dict]) -> list[str]:
    return [r["dynamodb"]["Keys"]["pk"]["S"] for r in records]


def _hand_made(arn: str, payload: Any) -> str:
    """An iterator in eddydb's documented form `<arn>|1|<base64 JSON>` (the form is not signed)."""
    return f"{arn}|1|" + base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


# --- hand-made iterators ----------------------------------------------------------------------------------
@pytest.mark.parametrize("position", [2**64 - 1, 2**63, True], ids=["u64-max", "i64-overflow", "bool"])
def test_a_hand_made_iterator_with_a_position_out_of_range_is_validation(dynamodb, ddbstreams, make_table,
                                                                          position):
    # A position past 64 bits reached the record query and answered 500 (SQLite integer overflow).
    name = make_table(stream=True)
    arn = stream_arn(dynamodb, name)
    dynamodb.put_item(TableName=name, Item={"pk": {"S": "a"}})
    [shard] = all_shards(ddbstreams, arn)
    it = _hand_made(arn, [shard["ShardId"], position, int(time.time() * 1000)])
    with pytest.raises(ClientError) as e:
        ddbstreams.get_records(ShardIterator=it)
    assert _err(e) == ("ValidationException", "Invalid ShardIterator")


def test_a_hand_made_iterator_with_an_issue_time_past_64_bits_is_validation(dynamodb, ddbstreams, make_table):
    name = make_table(stream=True)
    arn = stream_arn(dynamodb, name)
    [shard] = all_shards(ddbstreams, arn)
    with pytest.raises(ClientError) as e:
        ddbstreams.get_records(ShardIterator=_hand_made(arn, [shard["ShardId"], 0, 2**64]))
    assert _err(e) == ("ValidationException", "Invalid ShardIterator")


def test_an_iterator_naming_another_stream_than_its_shard_is_resource_not_found(dynamodb, ddbstreams, make_table):
    a, b = make_table(stream=True), make_table(stream=True)
    arn_a, arn_b = stream_arn(dynamodb, a), stream_arn(dynamodb, b)
    [shard_a] = all_shards(ddbstreams, arn_a)
    it = _iterator(ddbstreams, arn_a, shard_a["ShardId"])
    forged = arn_b + it[len(arn_a):]
    with pytest.raises(ClientError) as e:
        ddbstreams.get_records(ShardIterator=forged)
    code, msg = _err(e)
    assert code == "ResourceNotFoundException" and shard_a["ShardId"] in msg


# --- positions at a shard's edges ---------------------------------------------------------------------------
def test_at_the_starting_sequence_number_reads_the_shard_from_its_first_record(dynamodb, ddbstreams, make_table):
    # Consumers that do not use TRIM_HORIZON start AT_SEQUENCE_NUMBER = SequenceNumberRange.StartingSequenceNumber.
    name = make_table(stream=True)
    arn = stream_arn(dynamodb, name)
    for pk in "abc":
        dynamodb.put_item(TableName=name, Item={"pk": {"S": pk}})
    [shard] = all_shards(ddbstreams, arn)
    start = shard["SequenceNumberRange"]["StartingSequenceNumber"]
    records = read_shard(ddbstreams, arn, shard["ShardId"], iterator_type="AT_SEQUENCE_NUMBER", SequenceNumber=start)
    assert _keys(records) == ["a", "b", "c"]
    assert all(int(r["dynamodb"]["SequenceNumber"]) >= int(start) for r in records)


def test_after_the_last_record_of_an_open_shard_reads_nothing_then_the_next_write(dynamodb, ddbstreams, make_table):
    name = make_table(stream=True)
    arn = stream_arn(dynamodb, name)
    dynamodb.put_item(TableName=name, Item={"pk": {"S": "a"}})
    dynamodb.put_item(TableName=name, Item={"pk": {"S": "b"}})
    [shard] = all_shards(ddbstreams, arn)
    last = read_shard(ddbstreams, arn, shard["ShardId"])[-1]["dynamodb"]["SequenceNumber"]
    it = _iterator(ddbstreams, arn, shard["ShardId"], "AFTER_SEQUENCE_NUMBER", SequenceNumber=last)
    resp = ddbstreams.get_records(ShardIterator=it)
    assert resp["Records"] == [] and resp["NextShardIterator"]
    dynamodb.put_item(TableName=name, Item={"pk": {"S": "c"}})
    resp = ddbstreams.get_records(ShardIterator=resp["NextShardIterator"])
    assert _keys(resp["Records"]) == ["c"]
    assert int(resp["Records"][0]["dynamodb"]["SequenceNumber"]) > int(last)


@pytest.mark.parametrize("itype", ["AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER"])
def test_a_sequence_number_of_an_older_stream_is_outside_the_shard(dynamodb, ddbstreams, make_table, itype):
    old = make_table(stream=True)
    dynamodb.put_item(TableName=old, Item={"pk": {"S": "a"}})
    [record] = read_stream(ddbstreams, stream_arn(dynamodb, old))
    new = make_table(stream=True)
    arn = stream_arn(dynamodb, new)
    dynamodb.put_item(TableName=new, Item={"pk": {"S": "b"}})
    [shard] = all_shards(ddbstreams, arn)
    foreign = record["dynamodb"]["SequenceNumber"]
    assert int(foreign) < int(shard["SequenceNumberRange"]["StartingSequenceNumber"])
    with pytest.raises(ClientError) as e:
        _iterator(ddbstreams, arn, shard["ShardId"], itype, SequenceNumber=foreign)
    assert _err(e)[0] == "ValidationException"


def test_get_records_limit_one_and_one_thousand_are_accepted(dynamodb, ddbstreams, make_table):
    name = make_table(stream=True)
    arn = stream_arn(dynamodb, name)
    for pk in "abc":
        dynamodb.put_item(TableName=name, Item={"pk": {"S": pk}})
    [shard] = all_shards(ddbstreams, arn)
    one = ddbstreams.get_records(ShardIterator=_iterator(ddbstreams, arn, shard["ShardId"]), Limit=1)
    assert _keys(one["Records"]) == ["a"] and one["NextShardIterator"]
    rest = ddbstreams.get_records(ShardIterator=one["NextShardIterator"], Limit=1000)
    assert _keys(rest["Records"]) == ["b", "c"] and rest["NextShardIterator"]


def test_a_shard_of_another_stream_is_resource_not_found(dynamodb, ddbstreams, make_table):
    a, b = make_table(stream=True), make_table(stream=True)
    [shard_a] = all_shards(ddbstreams, stream_arn(dynamodb, a))
    arn_b = stream_arn(dynamodb, b)
    with pytest.raises(ClientError) as e:
        _iterator(ddbstreams, arn_b, shard_a["ShardId"], "TRIM_HORIZON")
    code, msg = _err(e)
    assert code == "ResourceNotFoundException" and shard_a["ShardId"] in msg


# --- ListStreams / DescribeStream paging ------------------------------------------------------------------
def test_list_streams_without_a_table_name_pages_to_every_stream_once(dynamodb, ddbstreams, make_table):
    names = [make_table(stream=True) for _ in range(3)]
    arns = {stream_arn(dynamodb, n) for n in names}
    seen: list[str] = []
    kw: dict[str, Any] = {"Limit": 2}
    for _ in range(10_000):
        resp = ddbstreams.list_streams(**kw)
        assert len(resp["Streams"]) <= 2
        for s in resp["Streams"]:
            assert set(s) == {"StreamArn", "TableName", "StreamLabel"}
            assert s["StreamArn"].endswith("/stream/" + s["StreamLabel"])
            assert f":table/{s['TableName']}/stream/" in s["StreamArn"]
        seen += [s["StreamArn"] for s in resp["Streams"]]
        if "LastEvaluatedStreamArn" not in resp:
            break
        assert resp["LastEvaluatedStreamArn"] == resp["Streams"][-1]["StreamArn"]
        kw["ExclusiveStartStreamArn"] = resp["LastEvaluatedStreamArn"]
    assert len(seen) == len(set(seen))
    assert arns <= set(seen)


def test_describe_stream_from_the_last_or_an_unknown_shard_lists_no_shards(dynamodb, ddbstreams, make_table):
    arn = stream_arn(dynamodb, make_table(stream=True))
    [shard] = all_shards(ddbstreams, arn)
    for start in (shard["ShardId"], "z" * 56):
        d = ddbstreams.describe_stream(StreamArn=arn, ExclusiveStartShardId=start)["StreamDescription"]
        assert d["Shards"] == [] and "LastEvaluatedShardId" not in d
        assert d["StreamStatus"] == "ENABLED"


@pytest.fixture
def partitioned(tmp_path):
    db = eddydb.open(str(tmp_path / "data"), background=False, stream_partitions=5)
    yield db, db.client("dynamodb", config=client_config()), db.client("dynamodbstreams", config=client_config())
    db.close()


def _create(ddb: Any, name: str, view: str = "KEYS_ONLY") -> str:
    ddb.create_table(TableName=name, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                     BillingMode="PAY_PER_REQUEST", StreamSpecification={"StreamEnabled": True, "StreamViewType": view})
    return stream_arn(ddb, name)


def test_describe_stream_limit_pages_through_every_shard_once(partitioned):
    _db, ddb, streams = partitioned
    arn = _create(ddb, "paged")
    for i in range(40):
        ddb.put_item(TableName="paged", Item={"pk": {"S": f"k{i}"}})
    everything = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]
    assert len(everything) == 5
    pages: list[list[str]] = []
    kw: dict[str, Any] = {"StreamArn": arn, "Limit": 2}
    while True:
        d = streams.describe_stream(**kw)["StreamDescription"]
        pages.append([s["ShardId"] for s in d["Shards"]])
        if "LastEvaluatedShardId" not in d:
            break
        assert d["LastEvaluatedShardId"] == d["Shards"][-1]["ShardId"]
        kw["ExclusiveStartShardId"] = d["LastEvaluatedShardId"]
    assert [len(p) for p in pages] == [2, 2, 1]
    assert [s for p in pages for s in p] == [s["ShardId"] for s in everything]
    # every change is in exactly one shard
    records = [r for s in everything for r in read_shard(streams, arn, s["ShardId"])]
    assert sorted(_keys(records)) == sorted(f"k{i}" for i in range(40))


# --- expiry and retention through injected clocks ---------------------------------------------------------
def test_an_iterator_from_the_api_lives_exactly_fifteen_minutes(dynamodb, ddbstreams, make_table):
    arn = stream_arn(dynamodb, make_table(stream=True))
    [shard] = all_shards(ddbstreams, arn)
    it = _iterator(ddbstreams, arn, shard["ShardId"], "LATEST")
    issued = decode_iterator(it).issued
    assert issued == pytest.approx(time.time(), abs=60)
    assert ITERATOR_LIFETIME == 15 * 60
    decode_iterator(it, now=issued + ITERATOR_LIFETIME)  # still valid at 15:00
    with pytest.raises(ExpiredIteratorException) as e:
        decode_iterator(it, now=issued + ITERATOR_LIFETIME + 1)
    assert "tolerated delay of 900000 milliseconds" in str(e.value)


@pytest.fixture
def clocked(tmp_path):
    """A database with the default retention (24 h) and no background thread: upkeep runs only when a
    test calls `maintain(now=...)`."""
    db = eddydb.open(str(tmp_path / "data"), background=False)
    yield db, db.client("dynamodb", config=client_config()), db.client("dynamodbstreams", config=client_config())
    db.close()


def test_default_retention_trims_records_older_than_24_hours(clocked):
    db, ddb, streams = clocked
    assert db.instance.settings.stream_retention == 24 * 3600
    arn = _create(ddb, "retained")
    ddb.put_item(TableName="retained", Item={"pk": {"S": "old"}})
    [shard] = all_shards(streams, arn)
    sid = shard["ShardId"]
    [old] = db.instance.streams.read(sid, None, 10)
    wait_for(lambda: time.time() > old.created + 0.05, timeout=5)   # the next record is clearly younger
    ddb.put_item(TableName="retained", Item={"pk": {"S": "young"}})
    [_, young] = db.instance.streams.read(sid, None, 10)
    assert young.created > old.created + 0.05
    th = _iterator(streams, arn, sid)
    old_seq = str(10**20 + old.seq)

    db.instance.streams.maintain(now=old.created + 24 * 3600 - 1, full=True)  # nothing is 24 h old yet
    assert _keys(read_shard(streams, arn, sid)) == ["old", "young"]

    between = (old.created + young.created) / 2
    db.instance.streams.maintain(now=between + 24 * 3600, full=True)  # "old" is past 24 h, "young" is not
    assert _keys(read_shard(streams, arn, sid)) == ["young"]
    with pytest.raises(ClientError) as e:
        streams.get_records(ShardIterator=th)
    assert _err(e)[0] == "TrimmedDataAccessException"
    with pytest.raises(ClientError) as e:
        _iterator(streams, arn, sid, "AT_SEQUENCE_NUMBER", SequenceNumber=old_seq)
    assert _err(e)[0] == "TrimmedDataAccessException"
    # just after the trimmed record is the horizon itself: readable
    after = read_shard(streams, arn, sid, iterator_type="AFTER_SEQUENCE_NUMBER", SequenceNumber=old_seq)
    assert _keys(after) == ["young"]
    # the shard itself (closed by the rollover a day brings) keeps its place and its start
    first = all_shards(streams, arn)[0]
    assert first["ShardId"] == sid
    assert first["SequenceNumberRange"]["StartingSequenceNumber"] == shard["SequenceNumberRange"]["StartingSequenceNumber"]


def test_a_deleted_tables_stream_is_readable_for_24_hours_then_gone(clocked):
    db, ddb, streams = clocked
    arn = _create(ddb, "dropped", "NEW_IMAGE")
    ddb.put_item(TableName="dropped", Item={"pk": {"S": "a"}})
    ddb.delete_table(TableName="dropped")
    t0 = time.time()
    db.instance.streams.maintain(now=t0 + 23 * 3600, full=True)
    assert streams.describe_stream(StreamArn=arn)["StreamDescription"]["StreamStatus"] == "DISABLED"
    assert [s["StreamArn"] for s in streams.list_streams(TableName="dropped")["Streams"]] == [arn]
    assert _keys(read_stream(streams, arn)) == ["a"]
    db.instance.streams.maintain(now=t0 + 25 * 3600, full=True)
    assert streams.list_streams(TableName="dropped")["Streams"] == []
    with pytest.raises(ClientError) as e:
        streams.describe_stream(StreamArn=arn)
    assert _err(e)[0] == "ResourceNotFoundException"


def test_a_disabled_stream_is_readable_for_24_hours_while_the_new_one_lives_on(clocked):
    db, ddb, streams = clocked
    old = _create(ddb, "toggled", "NEW_IMAGE")
    ddb.put_item(TableName="toggled", Item={"pk": {"S": "a"}})
    ddb.update_table(TableName="toggled", StreamSpecification={"StreamEnabled": False})
    ddb.update_table(TableName="toggled", StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"})
    new = stream_arn(ddb, "toggled")
    t0 = time.time()
    db.instance.streams.maintain(now=t0 + 23 * 3600, full=True)
    assert _keys(read_stream(streams, old)) == ["a"]
    assert {s["StreamArn"] for s in streams.list_streams(TableName="toggled")["Streams"]} == {old, new}
    db.instance.streams.maintain(now=t0 + 25 * 3600, full=True)
    assert [s["StreamArn"] for s in streams.list_streams(TableName="toggled")["Streams"]] == [new]
    with pytest.raises(ClientError) as e:
        streams.describe_stream(StreamArn=old)
    assert _err(e)[0] == "ResourceNotFoundException"
    assert streams.describe_stream(StreamArn=new)["StreamDescription"]["StreamStatus"] == "ENABLED"
    ddb.put_item(TableName="toggled", Item={"pk": {"S": "b"}})
    assert _keys(read_stream(streams, new)) == ["b"]
    assert ddb.describe_table(TableName="toggled")["Table"]["LatestStreamArn"] == new


def test_rollover_of_an_idle_shard_keeps_a_reader_on_the_parent_then_ends_it(clocked):
    db, ddb, streams = clocked
    arn = _create(ddb, "rolled")
    ddb.put_item(TableName="rolled", Item={"pk": {"S": "a"}})
    [parent] = all_shards(streams, arn)
    latest = _iterator(streams, arn, parent["ShardId"], "LATEST")
    ddb.put_item(TableName="rolled", Item={"pk": {"S": "b"}})
    db.instance.streams.maintain(now=time.time() + 5 * 3600)  # past the 4 h shard rollover
    closed, child = all_shards(streams, arn)
    assert closed["ShardId"] == parent["ShardId"] and child["ParentShardId"] == parent["ShardId"]
    assert "EndingSequenceNumber" in closed["SequenceNumberRange"]
    ddb.put_item(TableName="rolled", Item={"pk": {"S": "c"}})
    resp = streams.get_records(ShardIterator=latest)
    assert _keys(resp["Records"]) == ["b"] and "NextShardIterator" not in resp
    assert _keys(read_shard(streams, arn, child["ShardId"])) == ["c"]


# --- records of edge writes -------------------------------------------------------------------------------
def test_update_item_without_updates_on_a_missing_item_inserts_the_key(dynamodb, ddbstreams, make_table):
    # UpdateItem with no update creates an item holding only its key: an INSERT; again on it changes nothing.
    name = make_table(("pk", "S"), ("sk", "N"), stream="NEW_AND_OLD_IMAGES")
    arn = stream_arn(dynamodb, name)
    key = {"pk": {"S": "a"}, "sk": {"N": "1"}}
    dynamodb.update_item(TableName=name, Key=key)
    dynamodb.update_item(TableName=name, Key=key)
    [r] = read_stream(ddbstreams, arn)
    assert r["eventName"] == "INSERT"
    assert r["dynamodb"]["Keys"] == key and r["dynamodb"]["NewImage"] == key and "OldImage" not in r["dynamodb"]
    # Keys + NewImage, each "pk" + 1-byte string + "sk" + the number 1 (1 byte per 2 digits + 1)
    assert r["dynamodb"]["SizeBytes"] == 2 * ((len("pk") + 1) + (len("sk") + 2))


def test_event_ids_stay_unique_across_tables_and_a_reenabled_stream(dynamodb, ddbstreams, make_table):
    a, b = make_table(stream=True), make_table(stream="KEYS_ONLY")
    first = stream_arn(dynamodb, a)
    for pk in "xyz":
        dynamodb.put_item(TableName=a, Item={"pk": {"S": pk}})
        dynamodb.put_item(TableName=b, Item={"pk": {"S": pk}})
    dynamodb.update_table(TableName=a, StreamSpecification={"StreamEnabled": False})
    dynamodb.update_table(TableName=a, StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"})
    second = stream_arn(dynamodb, a)
    for pk in "xyz":
        dynamodb.delete_item(TableName=a, Key={"pk": {"S": pk}})
    records = read_stream(ddbstreams, first) + read_stream(ddbstreams, second) + \
        read_stream(ddbstreams, stream_arn(dynamodb, b))
    assert len(records) == 9
    ids = [r["eventID"] for r in records]
    assert len(set(ids)) == 9 and all(isinstance(i, str) and i for i in ids)
    seqs = [r["dynamodb"]["SequenceNumber"] for r in records]
    assert len(set(seqs)) == 9


def test_a_disabled_streams_shards_are_all_closed_and_the_new_stream_starts_after_them(dynamodb, ddbstreams,
                                                                                      make_table):
    name = make_table(stream=True)
    first = stream_arn(dynamodb, name)
    dynamodb.put_item(TableName=name, Item={"pk": {"S": "a"}})
    dynamodb.update_table(TableName=name, StreamSpecification={"StreamEnabled": False})
    dynamodb.update_table(TableName=name, StreamSpecification={"StreamEnabled": True, "StreamViewType": "OLD_IMAGE"})
    t = dynamodb.describe_table(TableName=name)["Table"]
    second = t["LatestStreamArn"]
    assert t["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "OLD_IMAGE"}
    assert second == f"{t['TableArn']}/stream/{t['LatestStreamLabel']}" and second != first
    old = ddbstreams.describe_stream(StreamArn=first)["StreamDescription"]
    new = ddbstreams.describe_stream(StreamArn=second)["StreamDescription"]
    assert (old["StreamStatus"], old["StreamViewType"]) == ("DISABLED", "NEW_AND_OLD_IMAGES")
    assert (new["StreamStatus"], new["StreamViewType"]) == ("ENABLED", "OLD_IMAGE")
    assert all("EndingSequenceNumber" in s["SequenceNumberRange"] for s in old["Shards"])
    assert all("EndingSequenceNumber" not in s["SequenceNumberRange"] for s in new["Shards"])
    old_end = max(int(s["SequenceNumberRange"]["EndingSequenceNumber"]) for s in old["Shards"])
    assert all(int(s["SequenceNumberRange"]["StartingSequenceNumber"]) > old_end for s in new["Shards"])
    assert {s["ShardId"] for s in old["Shards"]}.isdisjoint(s["ShardId"] for s in new["Shards"])


def test_get_records_over_large_records_reads_about_1_mb_not_the_whole_page(clocked):
    # GetRecords answers at most 1 MB: it must not load Limit (up to 1000) records of 400 KB items first
    # (that loaded the whole page, hundreds of MB, to return two records).
    _db, ddb, streams = clocked
    arn = _create(ddb, "large", "NEW_IMAGE")
    blob = "x" * 380_000
    for i in range(30):  # 11.4 MB of records
        ddb.put_item(TableName="large", Item={"pk": {"S": f"k{i:02d}"}, "blob": {"S": blob}})
    [shard] = all_shards(streams, arn)
    it = _iterator(streams, arn, shard["ShardId"])
    tracemalloc.start()
    try:
        resp = streams.get_records(ShardIterator=it, Limit=1000)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert _keys(resp["Records"]) == ["k00", "k01"]  # 2 x 380 KB fit in 1 MB, a third does not
    assert peak < 6_000_000, f"peak {peak} bytes for a 1 MB page"
    seen = _keys(resp["Records"]) + _keys(read_shard(streams, arn, shard["ShardId"], iterator_type="AFTER_SEQUENCE_NUMBER",
                                                     SequenceNumber=resp["Records"][-1]["dynamodb"]["SequenceNumber"]))
    assert seen == [f"k{i:02d}" for i in range(30)]
