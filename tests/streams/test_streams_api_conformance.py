"""Streams API behaviours that DynamoDB documents and test_api.py / test_records.py / test_table_side.py
leave open: SizeBytes of the Developer Guide's examples, ApproximateCreationDateTime precision, iterators
that outlive DeleteTable, reused iterators, streams of a recreated table, reading past a closed shard's
end, and the fresh lifetime of every NextShardIterator."""
from __future__ import annotations

import datetime
import time

from streamutil import all_shards, read_shard, stream_arn

from eddydb.streams.iterators import ITERATOR_LIFETIME, decode_iterator, encode_iterator


def _iterator(ddbstreams, arn, shard_id, itype="TRIM_HORIZON", **kw):
    return ddbstreams.get_shard_iterator(StreamArn=arn, ShardId=shard_id, ShardIteratorType=itype,
                                         **kw)["ShardIterator"]


def _keys(records):
    return [r["dynamodb"]["Keys"]["pk"]["S"] for r in records]


def test_size_bytes_matches_the_developer_guide_example(dynamodb, ddbstreams, make_table):
    # DynamoDB Developer Guide, "Tutorial: Process New Items with DynamoDB Streams and Lambda": the
    # INSERT/MODIFY/REMOVE of item Id=101 under NEW_AND_OLD_IMAGES are 26, 59 and 38 bytes.
    name = make_table(("Id", "N"), stream="NEW_AND_OLD_IMAGES")
    arn = stream_arn(dynamodb, name)
    dynamodb.put_item(TableName=name, Item={"Id": {"N": "101"}, "Message": {"S": "New item!"}})
    dynamodb.update_item(TableName=name, Key={"Id": {"N": "101"}}, UpdateExpression="SET Message = :m",
                         ExpressionAttributeValues={":m": {"S": "This item has changed"}})
    dynamodb.delete_item(TableName=name, Key={"Id": {"N": "101"}})
    [shard] = all_shards(ddbstreams, arn)
    records = read_shard(ddbstreams, arn, shard["ShardId"])
    assert [(r["eventName"], r["dynamodb"]["SizeBytes"]) for r in records] == [
        ("INSERT", 26), ("MODIFY", 59), ("REMOVE", 38)]


def test_approximate_creation_date_time_is_rounded_down_to_the_second(dynamodb, ddbstreams, make_table):
    # botocore model, StreamRecord.ApproximateCreationDateTime: "rounded down to the closest second"
    name = make_table(stream=True)
    arn = stream_arn(dynamodb, name)
    before = int(time.time())
    dynamodb.put_item(TableName=name, Item={"pk": {"S": "a"}})
    after = time.time()
    [shard] = all_shards(ddbstreams, arn)
    [r] = read_shard(ddbstreams, arn, shard["ShardId"])
    when = r["dynamodb"]["ApproximateCreationDateTime"]
    assert isinstance(when, datetime.datetime) and when.microsecond == 0
    assert before <= when.timestamp() <= after


def test_an_iterator_issued_before_delete_table_reads_the_remaining_records_then_ends(
        dynamodb, ddbstreams, make_table):
    name = make_table(stream=True)
    arn = stream_arn(dynamodb, name)
    dynamodb.put_item(TableName=name, Item={"pk": {"S": "before"}})
    [shard] = all_shards(ddbstreams, arn)
    it = _iterator(ddbstreams, arn, shard["ShardId"], "LATEST")
    dynamodb.put_item(TableName=name, Item={"pk": {"S": "a"}})
    dynamodb.put_item(TableName=name, Item={"pk": {"S": "b"}})
    dynamodb.delete_table(TableName=name)
    assert ddbstreams.describe_stream(StreamArn=arn)["StreamDescription"]["StreamStatus"] == "DISABLED"
    resp = ddbstreams.get_records(ShardIterator=it)
    assert _keys(resp["Records"]) == ["a", "b"]
    while "NextShardIterator" in resp:  # a closed shard read to its end has no next iterator
        resp = ddbstreams.get_records(ShardIterator=resp["NextShardIterator"])
        assert resp["Records"] == []


def test_an_iterator_used_twice_returns_the_same_records(dynamodb, ddbstreams, make_table):
    name = make_table(stream=True)
    arn = stream_arn(dynamodb, name)
    for pk in "abc":
        dynamodb.put_item(TableName=name, Item={"pk": {"S": pk}})
    [shard] = all_shards(ddbstreams, arn)
    it = _iterator(ddbstreams, arn, shard["ShardId"])
    first = ddbstreams.get_records(ShardIterator=it, Limit=2)["Records"]
    second = ddbstreams.get_records(ShardIterator=it, Limit=2)["Records"]
    assert _keys(first) == ["a", "b"] and second == first


def test_a_recreated_table_lists_both_streams_and_the_old_one_stays_disabled(dynamodb, ddbstreams, make_table):
    name = make_table(stream=True)
    old = stream_arn(dynamodb, name)
    dynamodb.put_item(TableName=name, Item={"pk": {"S": "old"}})
    dynamodb.delete_table(TableName=name)
    dynamodb.create_table(TableName=name, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                          AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                          BillingMode="PAY_PER_REQUEST",
                          StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"})
    new = stream_arn(dynamodb, name)
    assert new != old
    listed = ddbstreams.list_streams(TableName=name)["Streams"]
    assert sorted(s["StreamArn"] for s in listed) == sorted([old, new])
    assert {s["TableName"] for s in listed} == {name}
    statuses = {a: ddbstreams.describe_stream(StreamArn=a)["StreamDescription"]["StreamStatus"] for a in (old, new)}
    assert statuses == {old: "DISABLED", new: "ENABLED"}
    [shard] = all_shards(ddbstreams, old)
    assert _keys(read_shard(ddbstreams, old, shard["ShardId"])) == ["old"]


def test_after_the_ending_sequence_number_a_closed_shard_reads_nothing_and_ends(dynamodb, ddbstreams, make_table):
    name = make_table(stream=True)
    arn = stream_arn(dynamodb, name)
    dynamodb.put_item(TableName=name, Item={"pk": {"S": "a"}})
    dynamodb.update_table(TableName=name, StreamSpecification={"StreamEnabled": False})
    [shard] = all_shards(ddbstreams, arn)
    end = shard["SequenceNumberRange"]["EndingSequenceNumber"]
    resp = ddbstreams.get_records(ShardIterator=_iterator(ddbstreams, arn, shard["ShardId"],
                                                          "AFTER_SEQUENCE_NUMBER", SequenceNumber=end))
    assert resp["Records"] == [] and "NextShardIterator" not in resp


def test_a_closed_shard_read_one_record_at_a_time_returns_each_once_and_ends(dynamodb, ddbstreams, make_table):
    name = make_table(stream=True)
    arn = stream_arn(dynamodb, name)
    for pk in "abcd":
        dynamodb.put_item(TableName=name, Item={"pk": {"S": pk}})
    dynamodb.update_table(TableName=name, StreamSpecification={"StreamEnabled": False})
    [shard] = all_shards(ddbstreams, arn)
    it: str | None = _iterator(ddbstreams, arn, shard["ShardId"])
    seen: list[str] = []
    for _ in range(10):
        if it is None:
            break
        resp = ddbstreams.get_records(ShardIterator=it, Limit=1)
        assert len(resp["Records"]) <= 1
        seen += _keys(resp["Records"])
        it = resp.get("NextShardIterator")
    assert it is None and seen == ["a", "b", "c", "d"]


def test_next_shard_iterator_has_its_own_15_minutes(dynamodb, ddbstreams, make_table):
    # "A shard iterator expires 15 minutes after it is returned to the requester": a consumer that keeps
    # following NextShardIterator never sees ExpiredIteratorException.
    name = make_table(stream=True)
    arn = stream_arn(dynamodb, name)
    [shard] = all_shards(ddbstreams, arn)
    old = encode_iterator(arn, shard["ShardId"], 0, issued=time.time() - ITERATOR_LIFETIME + 30)
    issued_before = time.time()
    nxt = ddbstreams.get_records(ShardIterator=old)["NextShardIterator"]
    assert decode_iterator(nxt).issued >= int(issued_before)
    decode_iterator(nxt, now=issued_before + ITERATOR_LIFETIME - 5)  # not expired
