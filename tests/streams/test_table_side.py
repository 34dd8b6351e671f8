"""A table's stream through the table API: StreamSpecification on CreateTable/UpdateTable,
DescribeTable's LatestStreamArn/Label, disable closes shards, re-enable makes a new stream, and a
deleted table's or disabled stream's records stay readable."""
from __future__ import annotations

import pytest
from botocore.exceptions import ClientError
from streamutil import all_shards, read_shard, read_stream, stream_arn


def test_describe_table_shows_stream_specification(dynamodb, make_table):
    name = make_table(stream="NEW_IMAGE")
    t = dynamodb.describe_table(TableName=name)["Table"]
    assert t["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}
    assert t["LatestStreamArn"].endswith("/stream/" + t["LatestStreamLabel"])


def test_update_table_enables_a_stream(dynamodb, ddbstreams, make_table):
    name = make_table()
    assert "LatestStreamArn" not in dynamodb.describe_table(TableName=name)["Table"]
    dynamodb.update_table(TableName=name, StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"})
    dynamodb.put_item(TableName=name, Item={"pk": {"S": "a"}, "v": {"N": "1"}})
    [r] = read_stream(ddbstreams, stream_arn(dynamodb, name))
    assert r["dynamodb"]["StreamViewType"] == "KEYS_ONLY" and "NewImage" not in r["dynamodb"]


def test_disable_closes_shards_and_keeps_records_readable(dynamodb, ddbstreams, make_table):
    name = make_table(stream=True)
    arn = stream_arn(dynamodb, name)
    dynamodb.put_item(TableName=name, Item={"pk": {"S": "a"}})
    [shard] = all_shards(ddbstreams, arn)
    it = ddbstreams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"],
                                       ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    dynamodb.update_table(TableName=name, StreamSpecification={"StreamEnabled": False})
    dynamodb.put_item(TableName=name, Item={"pk": {"S": "after-disable"}})
    d = ddbstreams.describe_stream(StreamArn=arn)["StreamDescription"]
    assert d["StreamStatus"] == "DISABLED"
    [closed] = d["Shards"]
    assert "EndingSequenceNumber" in closed["SequenceNumberRange"]
    resp = ddbstreams.get_records(ShardIterator=it)
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in resp["Records"]] == ["a"]
    assert "NextShardIterator" not in resp  # a closed shard read to its end
    t = dynamodb.describe_table(TableName=name)["Table"]
    assert t.get("StreamSpecification", {}).get("StreamEnabled", False) is False
    assert t["LatestStreamArn"] == arn


def test_closed_shard_latest_iterator_has_no_next(dynamodb, ddbstreams, make_table):
    name = make_table(stream=True)
    arn = stream_arn(dynamodb, name)
    dynamodb.put_item(TableName=name, Item={"pk": {"S": "a"}})
    dynamodb.update_table(TableName=name, StreamSpecification={"StreamEnabled": False})
    [shard] = all_shards(ddbstreams, arn)
    it = ddbstreams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"],
                                       ShardIteratorType="LATEST")["ShardIterator"]
    resp = ddbstreams.get_records(ShardIterator=it)
    assert resp["Records"] == [] and "NextShardIterator" not in resp
    end = shard["SequenceNumberRange"]["EndingSequenceNumber"]
    records = read_shard(ddbstreams, arn, shard["ShardId"], iterator_type="AT_SEQUENCE_NUMBER", SequenceNumber=end)
    assert [r["dynamodb"]["SequenceNumber"] for r in records] == [end]


def test_empty_closed_shard_ends_at_once(dynamodb, ddbstreams, make_table):
    name = make_table(stream=True)
    arn = stream_arn(dynamodb, name)
    dynamodb.update_table(TableName=name, StreamSpecification={"StreamEnabled": False})
    [shard] = all_shards(ddbstreams, arn)
    it = ddbstreams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"],
                                       ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    resp = ddbstreams.get_records(ShardIterator=it)
    assert resp["Records"] == [] and "NextShardIterator" not in resp


def test_reenable_creates_a_new_stream(dynamodb, ddbstreams, make_table):
    name = make_table(stream=True)
    first = stream_arn(dynamodb, name)
    dynamodb.put_item(TableName=name, Item={"pk": {"S": "one"}})
    dynamodb.update_table(TableName=name, StreamSpecification={"StreamEnabled": False})
    dynamodb.update_table(TableName=name, StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"})
    t = dynamodb.describe_table(TableName=name)["Table"]
    second = t["LatestStreamArn"]
    assert second != first and t["LatestStreamLabel"] != first.rsplit("/", 1)[1]
    dynamodb.put_item(TableName=name, Item={"pk": {"S": "two"}})
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in read_stream(ddbstreams, first)] == ["one"]
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in read_stream(ddbstreams, second)] == ["two"]
    assert ddbstreams.describe_stream(StreamArn=second)["StreamDescription"]["StreamViewType"] == "NEW_IMAGE"
    assert {s["StreamArn"] for s in ddbstreams.list_streams(TableName=name)["Streams"]} == {first, second}


def test_enabling_an_enabled_stream_is_validation(dynamodb, make_table):
    name = make_table(stream=True)
    with pytest.raises(ClientError) as e:
        dynamodb.update_table(TableName=name, StreamSpecification={"StreamEnabled": True,
                                                                   "StreamViewType": "KEYS_ONLY"})
    assert e.value.response["Error"]["Code"] == "ValidationException"


def test_disabling_without_a_stream_is_validation(dynamodb, make_table):
    name = make_table()
    with pytest.raises(ClientError) as e:
        dynamodb.update_table(TableName=name, StreamSpecification={"StreamEnabled": False})
    assert e.value.response["Error"]["Code"] == "ValidationException"


def test_deleted_table_stream_stays_readable(dynamodb, ddbstreams, make_table):
    name = make_table(stream=True)
    arn = stream_arn(dynamodb, name)
    dynamodb.put_item(TableName=name, Item={"pk": {"S": "a"}})
    dynamodb.delete_table(TableName=name)
    d = ddbstreams.describe_stream(StreamArn=arn)["StreamDescription"]
    assert d["StreamStatus"] == "DISABLED"
    assert all("EndingSequenceNumber" in s["SequenceNumberRange"] for s in d["Shards"])
    assert [r["eventName"] for r in read_stream(ddbstreams, arn)] == ["INSERT"]
