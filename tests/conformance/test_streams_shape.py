"""DynamoDB Streams records as real DynamoDB writes them: shapes, view types, no record for a no-op write."""
from __future__ import annotations

from util import wait_for


def _records(streams, arn):
    desc = streams.describe_stream(StreamArn=arn)["StreamDescription"]
    out = []
    for shard in desc["Shards"]:
        it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"],
                                        ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        for _ in range(5):
            r = streams.get_records(ShardIterator=it)
            out += r["Records"]
            it = r.get("NextShardIterator")
            if not it or not r["Records"]:
                break
    return out


def test_stream_records(dynamodb_server, streams, make_table):
    ddb = dynamodb_server
    t = make_table(stream="NEW_AND_OLD_IMAGES")
    arn = ddb.describe_table(TableName=t)["Table"]["LatestStreamArn"]
    k = {"pk": {"S": "a"}}
    ddb.put_item(TableName=t, Item={**k, "x": {"N": "1"}})
    ddb.put_item(TableName=t, Item={**k, "x": {"N": "1"}})                 # identical: no record
    ddb.update_item(TableName=t, Key=k, UpdateExpression="SET x = :v", ExpressionAttributeValues={":v": {"N": "2"}})
    ddb.delete_item(TableName=t, Key={"pk": {"S": "missing"}})            # nothing deleted: no record
    ddb.delete_item(TableName=t, Key=k)
    def three():
        r = _records(streams, arn)
        return r if len(r) >= 3 else None
    recs = wait_for(three, timeout=10)
    assert [r["eventName"] for r in recs] == ["INSERT", "MODIFY", "REMOVE"]
    for r in recs:
        assert r["eventSource"] == "aws:dynamodb" and r["eventVersion"] == "1.1" and r["awsRegion"]
        d = r["dynamodb"]
        assert d["Keys"] == k and d["StreamViewType"] == "NEW_AND_OLD_IMAGES" and d["SizeBytes"] > 0
    assert "OldImage" not in recs[0]["dynamodb"] and recs[0]["dynamodb"]["NewImage"] == {**k, "x": {"N": "1"}}
    assert recs[1]["dynamodb"]["OldImage"]["x"] == {"N": "1"} and recs[1]["dynamodb"]["NewImage"]["x"] == {"N": "2"}
    assert "NewImage" not in recs[2]["dynamodb"] and recs[2]["dynamodb"]["OldImage"]["x"] == {"N": "2"}
    seqs = [int(r["dynamodb"]["SequenceNumber"]) for r in recs]
    assert seqs == sorted(seqs)


def test_stream_keys_only(dynamodb_server, streams, make_table):
    ddb = dynamodb_server
    t = make_table(stream="KEYS_ONLY")
    arn = ddb.describe_table(TableName=t)["Table"]["LatestStreamArn"]
    ddb.put_item(TableName=t, Item={"pk": {"S": "a"}, "x": {"N": "1"}})
    recs = wait_for(lambda: _records(streams, arn), timeout=10)
    d = recs[0]["dynamodb"]
    assert d["Keys"] == {"pk": {"S": "a"}} and "NewImage" not in d and "OldImage" not in d
