"""The Streams API through boto3: ListStreams, DescribeStream, GetShardIterator, GetRecords,
their errors, and the iterator rules consumers depend on."""
from __future__ import annotations

import time

import pytest
from botocore.exceptions import ClientError
from streamutil import all_shards, read_shard, read_stream, seq, stream_arn

from eddydb.streams.iterators import encode_iterator


def _err(exc: pytest.ExceptionInfo) -> tuple[str, str]:
    e = exc.value.response["Error"]
    return e["Code"], e["Message"]


def _put(dynamodb, table, pk, **attrs):
    item = {"pk": {"S": pk}, **{k: {"N": str(v)} for k, v in attrs.items()}}
    dynamodb.put_item(TableName=table, Item=item)


def test_list_streams_shows_the_table_stream(dynamodb, ddbstreams, make_table):
    name = make_table(stream=True)
    arn = stream_arn(dynamodb, name)
    streams = ddbstreams.list_streams(TableName=name)["Streams"]
    assert streams == [{"StreamArn": arn, "TableName": name, "StreamLabel": arn.rsplit("/", 1)[1]}]
    seen, start = [], None   # without TableName: every stream of the endpoint, page by page
    while True:
        page = ddbstreams.list_streams(**({"ExclusiveStartStreamArn": start} if start else {}))
        seen += [s["StreamArn"] for s in page["Streams"]]
        start = page.get("LastEvaluatedStreamArn")
        if not start:
            break
    assert arn in seen


def test_list_streams_pages_with_limit_and_exclusive_start(dynamodb, ddbstreams, make_table):
    name = make_table(stream=True)
    first = stream_arn(dynamodb, name)
    dynamodb.update_table(TableName=name, StreamSpecification={"StreamEnabled": False})
    dynamodb.update_table(TableName=name, StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"})
    second = stream_arn(dynamodb, name)
    assert first != second
    seen = []
    kw = {"TableName": name, "Limit": 1}
    while True:
        resp = ddbstreams.list_streams(**kw)
        assert len(resp["Streams"]) <= 1
        seen += [s["StreamArn"] for s in resp["Streams"]]
        if "LastEvaluatedStreamArn" not in resp:
            break
        kw["ExclusiveStartStreamArn"] = resp["LastEvaluatedStreamArn"]
    assert sorted(seen) == sorted([first, second])


def test_list_streams_of_a_table_without_stream_is_empty(dynamodb, ddbstreams, make_table):
    name = make_table()
    assert ddbstreams.list_streams(TableName=name)["Streams"] == []


def test_describe_stream_shape(dynamodb, ddbstreams, make_table):
    name = make_table(("pk", "S"), ("sk", "N"), stream="NEW_IMAGE")
    arn = stream_arn(dynamodb, name)
    d = ddbstreams.describe_stream(StreamArn=arn)["StreamDescription"]
    assert d["StreamArn"] == arn
    assert d["StreamLabel"] == arn.rsplit("/", 1)[1]
    assert d["StreamStatus"] == "ENABLED"
    assert d["StreamViewType"] == "NEW_IMAGE"
    assert d["TableName"] == name
    assert d["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}]
    assert d["CreationRequestDateTime"].timestamp() == pytest.approx(time.time(), abs=120)
    [shard] = d["Shards"]
    assert shard["ShardId"].startswith("shardId-") and 28 <= len(shard["ShardId"]) <= 65
    assert "ParentShardId" not in shard
    start = shard["SequenceNumberRange"]["StartingSequenceNumber"]
    assert start.isdigit() and 21 <= len(start) <= 40
    assert "EndingSequenceNumber" not in shard["SequenceNumberRange"]
    assert "LastEvaluatedShardId" not in d


def test_stream_arn_and_label_format(dynamodb, make_table):
    name = make_table(stream=True)
    t = dynamodb.describe_table(TableName=name)["Table"]
    label = t["LatestStreamLabel"]
    assert t["LatestStreamArn"] == f"{t['TableArn']}/stream/{label}"
    time.strptime(label.split(".")[0], "%Y-%m-%dT%H:%M:%S")
    assert len(label.split(".")[1]) == 3


def test_describe_stream_unknown_arn_is_resource_not_found(dynamodb, ddbstreams, make_table):
    name = make_table(stream=True)
    arn = stream_arn(dynamodb, name) + "0"
    with pytest.raises(ClientError) as e:
        ddbstreams.describe_stream(StreamArn=arn)
    code, msg = _err(e)
    assert code == "ResourceNotFoundException"
    assert arn in msg


def test_describe_stream_limit_over_100_is_validation(dynamodb, ddbstreams, make_table):
    arn = stream_arn(dynamodb, make_table(stream=True))
    with pytest.raises(ClientError) as e:
        ddbstreams.describe_stream(StreamArn=arn, Limit=101)
    assert _err(e)[0] == "ValidationException"


def test_describe_stream_bad_arn_is_validation(ddbstreams):
    with pytest.raises(ClientError) as e:
        ddbstreams.describe_stream(StreamArn="arn:aws:dynamodb:us-east-1:000000000000:table/nostream")
    assert _err(e)[0] == "ValidationException"


@pytest.mark.parametrize("limit", [0, 1001])
def test_get_records_limit_out_of_range_is_validation(dynamodb, ddbstreams, make_table, limit):
    name = make_table(stream=True)
    arn = stream_arn(dynamodb, name)
    [shard] = all_shards(ddbstreams, arn)
    it = ddbstreams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"],
                                       ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    with pytest.raises(ClientError) as e:
        ddbstreams.get_records(ShardIterator=it, Limit=limit)
    assert _err(e)[0] == "ValidationException"


def test_get_shard_iterator_unknown_shard_is_resource_not_found(dynamodb, ddbstreams, make_table):
    arn = stream_arn(dynamodb, make_table(stream=True))
    with pytest.raises(ClientError) as e:
        ddbstreams.get_shard_iterator(StreamArn=arn, ShardId="shardId-00000001414562045508-2bac9cd2",
                                      ShardIteratorType="LATEST")
    assert _err(e)[0] == "ResourceNotFoundException"


def test_get_shard_iterator_unknown_stream_is_resource_not_found(dynamodb, ddbstreams, make_table):
    arn = stream_arn(dynamodb, make_table(stream=True))
    [shard] = all_shards(ddbstreams, arn)
    with pytest.raises(ClientError) as e:
        ddbstreams.get_shard_iterator(StreamArn=arn.rsplit("/", 1)[0] + "/2000-01-01T00:00:00.000", ShardId=shard["ShardId"],
                                      ShardIteratorType="LATEST")
    assert _err(e)[0] == "ResourceNotFoundException"


@pytest.mark.parametrize("itype", ["AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER"])
def test_sequence_iterator_without_sequence_number_is_validation(dynamodb, ddbstreams, make_table, itype):
    arn = stream_arn(dynamodb, make_table(stream=True))
    [shard] = all_shards(ddbstreams, arn)
    with pytest.raises(ClientError) as e:
        ddbstreams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType=itype)
    assert _err(e)[0] == "ValidationException"


@pytest.mark.parametrize("itype", ["TRIM_HORIZON", "LATEST", "AT_TIMESTAMP"])
def test_positional_iterator_with_sequence_number_is_validation(dynamodb, ddbstreams, make_table, itype):
    arn = stream_arn(dynamodb, make_table(stream=True))
    [shard] = all_shards(ddbstreams, arn)
    start = shard["SequenceNumberRange"]["StartingSequenceNumber"]
    when = {"Timestamp": time.time() - 60} if itype == "AT_TIMESTAMP" else {}
    with pytest.raises(ClientError) as e:
        ddbstreams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType=itype,
                                      SequenceNumber=start, **when)
    assert _err(e) == ("ValidationException", f"Must not provide SequenceNumber for ShardIteratorType {itype}")


def test_sequence_number_outside_the_shard_is_validation(dynamodb, ddbstreams, make_table):
    arn = stream_arn(dynamodb, make_table(stream=True))
    [shard] = all_shards(ddbstreams, arn)
    with pytest.raises(ClientError) as e:
        ddbstreams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="AT_SEQUENCE_NUMBER",
                                      SequenceNumber="9" * 30)
    assert _err(e)[0] == "ValidationException"


def test_sequence_number_with_non_ascii_digits_is_validation(dynamodb, ddbstreams, make_table):
    # "²" passes str.isdigit() but not int(): it must be a ValidationException, not a 500
    arn = stream_arn(dynamodb, make_table(stream=True))
    [shard] = all_shards(ddbstreams, arn)
    with pytest.raises(ClientError) as e:
        ddbstreams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="AT_SEQUENCE_NUMBER",
                                      SequenceNumber="1" * 20 + "\u00b2")
    assert _err(e) == ("ValidationException", "Invalid SequenceNumber: " + "1" * 20 + "\u00b2")


def test_malformed_iterator_is_validation(ddbstreams):
    with pytest.raises(ClientError) as e:
        ddbstreams.get_records(ShardIterator="not-an-iterator")
    assert _err(e)[0] == "ValidationException"


def test_iterator_expires_after_15_minutes(dynamodb, ddbstreams, make_table):
    arn = stream_arn(dynamodb, make_table(stream=True))
    [shard] = all_shards(ddbstreams, arn)
    old = encode_iterator(arn, shard["ShardId"], 0, issued=time.time() - 15 * 60 - 5)
    with pytest.raises(ClientError) as e:
        ddbstreams.get_records(ShardIterator=old)
    assert _err(e)[0] == "ExpiredIteratorException"
    fresh = encode_iterator(arn, shard["ShardId"], 0, issued=time.time() - 14 * 60)
    assert ddbstreams.get_records(ShardIterator=fresh)["Records"] == []


def test_latest_iterator_on_fresh_table_then_writes_returns_them(dynamodb, ddbstreams, make_table):
    name = make_table(stream=True)
    arn = stream_arn(dynamodb, name)
    [shard] = all_shards(ddbstreams, arn)
    it = ddbstreams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"],
                                       ShardIteratorType="LATEST")["ShardIterator"]
    for i in range(3):
        _put(dynamodb, name, f"k{i}", v=i)
    resp = ddbstreams.get_records(ShardIterator=it)
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in resp["Records"]] == ["k0", "k1", "k2"]
    assert resp["NextShardIterator"]


def test_latest_skips_existing_records(dynamodb, ddbstreams, make_table):
    name = make_table(stream=True)
    arn = stream_arn(dynamodb, name)
    _put(dynamodb, name, "old", v=1)
    [shard] = all_shards(ddbstreams, arn)
    it = ddbstreams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"],
                                       ShardIteratorType="LATEST")["ShardIterator"]
    assert ddbstreams.get_records(ShardIterator=it)["Records"] == []
    _put(dynamodb, name, "new", v=1)
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in ddbstreams.get_records(ShardIterator=it)["Records"]] == ["new"]


def test_open_shard_always_returns_next_iterator(dynamodb, ddbstreams, make_table):
    arn = stream_arn(dynamodb, make_table(stream=True))
    [shard] = all_shards(ddbstreams, arn)
    it = ddbstreams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"],
                                       ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    for _ in range(3):
        resp = ddbstreams.get_records(ShardIterator=it)
        assert resp["Records"] == []
        it = resp["NextShardIterator"]


def test_trim_horizon_returns_all_records_in_order(dynamodb, ddbstreams, make_table):
    name = make_table(stream=True)
    for i in range(10):
        _put(dynamodb, name, "k", v=i)
    records = read_stream(ddbstreams, stream_arn(dynamodb, name))
    assert [r["dynamodb"]["NewImage"]["v"]["N"] for r in records] == [str(i) for i in range(10)]
    seqs = [seq(r) for r in records]
    assert seqs == sorted(seqs) and len(set(seqs)) == 10
    assert [r["eventName"] for r in records] == ["INSERT"] + ["MODIFY"] * 9


def test_at_and_after_sequence_number_on_every_record(dynamodb, ddbstreams, make_table):
    name = make_table(stream=True)
    for i in range(8):
        _put(dynamodb, name, f"k{i}", v=i)
    arn = stream_arn(dynamodb, name)
    [shard] = all_shards(ddbstreams, arn)
    records = read_shard(ddbstreams, arn, shard["ShardId"])
    assert len(records) == 8
    for i, r in enumerate(records):
        sn = r["dynamodb"]["SequenceNumber"]
        at = read_shard(ddbstreams, arn, shard["ShardId"], iterator_type="AT_SEQUENCE_NUMBER", SequenceNumber=sn)
        assert [x["eventID"] for x in at] == [x["eventID"] for x in records[i:]]
        after = read_shard(ddbstreams, arn, shard["ShardId"], iterator_type="AFTER_SEQUENCE_NUMBER",
                           SequenceNumber=sn)
        assert [x["eventID"] for x in after] == [x["eventID"] for x in records[i + 1:]]


def _keys(records):
    return [r["dynamodb"]["Keys"]["pk"]["S"] for r in records]


def test_at_timestamp_starts_at_the_first_record_written_at_or_after_it(dynamodb, ddbstreams, make_table):
    name = make_table(stream=True)
    arn = stream_arn(dynamodb, name)
    _put(dynamodb, name, "before", v=1)
    when = time.time()
    _put(dynamodb, name, "after", v=1)
    _put(dynamodb, name, "later", v=1)
    [shard] = all_shards(ddbstreams, arn)
    got = read_shard(ddbstreams, arn, shard["ShardId"], iterator_type="AT_TIMESTAMP", Timestamp=when)
    assert _keys(got) == ["after", "later"]


def test_at_timestamp_older_than_the_trim_horizon_reads_from_the_oldest_record(dynamodb, ddbstreams, make_table):
    name = make_table(stream=True)
    arn = stream_arn(dynamodb, name)
    _put(dynamodb, name, "a", v=1)
    _put(dynamodb, name, "b", v=1)
    [shard] = all_shards(ddbstreams, arn)
    got = read_shard(ddbstreams, arn, shard["ShardId"], iterator_type="AT_TIMESTAMP", Timestamp=1.0)
    assert _keys(got) == ["a", "b"]


def test_at_timestamp_after_the_newest_record_reads_what_comes_next(dynamodb, ddbstreams, make_table):
    name = make_table(stream=True)
    arn = stream_arn(dynamodb, name)
    _put(dynamodb, name, "old", v=1)
    when = time.time()
    [shard] = all_shards(ddbstreams, arn)
    it = ddbstreams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="AT_TIMESTAMP",
                                       Timestamp=when)["ShardIterator"]
    _put(dynamodb, name, "new", v=1)
    assert _keys(ddbstreams.get_records(ShardIterator=it)["Records"]) == ["new"]


def test_at_timestamp_in_the_future_or_missing_is_validation(dynamodb, ddbstreams, make_table):
    arn = stream_arn(dynamodb, make_table(stream=True))
    [shard] = all_shards(ddbstreams, arn)
    with pytest.raises(ClientError) as e:
        ddbstreams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="AT_TIMESTAMP",
                                      Timestamp=time.time() + 3600)
    assert _err(e)[0] == "ValidationException"
    with pytest.raises(ClientError) as e:
        ddbstreams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="AT_TIMESTAMP")
    assert _err(e) == ("ValidationException", "Must provide Timestamp for ShardIteratorType AT_TIMESTAMP")


def test_get_records_limit_is_respected(dynamodb, ddbstreams, make_table):
    name = make_table(stream=True)
    for i in range(7):
        _put(dynamodb, name, f"k{i}", v=i)
    arn = stream_arn(dynamodb, name)
    [shard] = all_shards(ddbstreams, arn)
    it = ddbstreams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"],
                                       ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    sizes = []
    while True:
        resp = ddbstreams.get_records(ShardIterator=it, Limit=3)
        if not resp["Records"]:
            break
        sizes.append(len(resp["Records"]))
        it = resp["NextShardIterator"]
    assert sizes == [3, 3, 1]


def test_get_records_caps_a_response_at_1_mb(dynamodb, ddbstreams, make_table):
    name = make_table(stream="NEW_AND_OLD_IMAGES")
    big = "x" * 150_000
    for i in range(8):
        dynamodb.put_item(TableName=name, Item={"pk": {"S": f"k{i}"}, "blob": {"S": big}})
    arn = stream_arn(dynamodb, name)
    [shard] = all_shards(ddbstreams, arn)
    it = ddbstreams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"],
                                       ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    first = ddbstreams.get_records(ShardIterator=it)
    assert 1 <= len(first["Records"]) < 8
    rest = ddbstreams.get_records(ShardIterator=first["NextShardIterator"])
    assert len(first["Records"]) + len(rest["Records"]) == 8


def test_paging_a_shard_of_5000_records_returns_each_once(dynamodb, ddbstreams, make_table):
    name = make_table(stream="KEYS_ONLY")
    for start in range(0, 5000, 25):
        dynamodb.batch_write_item(RequestItems={name: [
            {"PutRequest": {"Item": {"pk": {"S": f"k{i:05d}"}}}} for i in range(start, start + 25)]})
    arn = stream_arn(dynamodb, name)
    [shard] = all_shards(ddbstreams, arn)
    for limit in (1000, 777):
        records = read_shard(ddbstreams, arn, shard["ShardId"], limit=limit)
        keys = [r["dynamodb"]["Keys"]["pk"]["S"] for r in records]
        assert len(keys) == 5000
        assert set(keys) == {f"k{i:05d}" for i in range(5000)}
        seqs = [seq(r) for r in records]
        assert seqs == sorted(seqs) and len(set(seqs)) == 5000
