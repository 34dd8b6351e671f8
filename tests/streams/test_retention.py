"""Retention: records older than `stream_retention` are trimmed in the background; positions older
than the horizon answer TrimmedDataAccessException; a fresh table's LATEST never does; unlimited
retention keeps everything."""
from __future__ import annotations

import pytest
from botocore.exceptions import ClientError
from streamutil import all_shards, read_shard, read_stream, stream_arn
from util import client_config, wait_for

import eddydb


def _open(tmp_path, **settings):
    db = eddydb.open(str(tmp_path / "data"), **settings)
    return db, db.client("dynamodb", config=client_config()), db.client("dynamodbstreams", config=client_config())


def _table(ddb, name="retained"):
    ddb.create_table(TableName=name, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                     BillingMode="PAY_PER_REQUEST",
                     StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"})
    return stream_arn(ddb, name)


def test_old_records_are_trimmed_and_old_positions_fail(tmp_path):
    db, ddb, streams = _open(tmp_path, stream_retention=1.0)
    try:
        arn = _table(ddb)
        ddb.put_item(TableName="retained", Item={"pk": {"S": "a"}})
        [shard] = all_shards(streams, arn)
        sid = shard["ShardId"]
        [old] = read_shard(streams, arn, sid)
        it = streams.get_shard_iterator(StreamArn=arn, ShardId=sid, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        wait_for(lambda: read_shard(streams, arn, sid) == [], timeout=10)
        with pytest.raises(ClientError) as e:
            streams.get_records(ShardIterator=it)
        assert e.value.response["Error"]["Code"] == "TrimmedDataAccessException"
        with pytest.raises(ClientError) as e:
            streams.get_shard_iterator(StreamArn=arn, ShardId=sid, ShardIteratorType="AT_SEQUENCE_NUMBER",
                                       SequenceNumber=old["dynamodb"]["SequenceNumber"])
        assert e.value.response["Error"]["Code"] == "TrimmedDataAccessException"
        # TRIM_HORIZON and LATEST stay valid, and new writes are readable through them.
        th = streams.get_shard_iterator(StreamArn=arn, ShardId=sid, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        latest = streams.get_shard_iterator(StreamArn=arn, ShardId=sid, ShardIteratorType="LATEST")["ShardIterator"]
        ddb.put_item(TableName="retained", Item={"pk": {"S": "b"}})
        for i in (th, latest):
            assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in streams.get_records(ShardIterator=i)["Records"]] == ["b"]
    finally:
        db.close()


def test_fresh_table_latest_is_never_trimmed(tmp_path):
    db, ddb, streams = _open(tmp_path, stream_retention=1.0)
    try:
        arn = _table(ddb)
        [shard] = all_shards(streams, arn)
        it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"],
                                        ShardIteratorType="LATEST")["ShardIterator"]
        ddb.put_item(TableName="retained", Item={"pk": {"S": "a"}})
        resp = streams.get_records(ShardIterator=it)
        assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in resp["Records"]] == ["a"]
    finally:
        db.close()


def test_disabled_stream_disappears_after_retention(tmp_path):
    db, ddb, streams = _open(tmp_path, stream_retention=0.3)
    try:
        arn = _table(ddb)
        ddb.put_item(TableName="retained", Item={"pk": {"S": "a"}})
        ddb.update_table(TableName="retained", StreamSpecification={"StreamEnabled": False})
        wait_for(lambda: streams.list_streams(TableName="retained")["Streams"] == [], timeout=10)
        with pytest.raises(ClientError) as e:
            streams.describe_stream(StreamArn=arn)
        assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"
    finally:
        db.close()


def test_unlimited_retention_keeps_records(tmp_path):
    db, ddb, streams = _open(tmp_path, stream_retention=None, shard_rollover=0.05)
    try:
        arn = _table(ddb)
        ddb.put_item(TableName="retained", Item={"pk": {"S": "a"}})
        wait_for(lambda: len(all_shards(streams, arn)) >= 4, timeout=10)
        db.instance.streams.maintain()
        assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in read_stream(streams, arn)] == ["a"]
    finally:
        db.close()
