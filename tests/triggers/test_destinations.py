"""The OnFailure invocation record of a discarded stream batch (triggers.destinations), in the
shape of Lambda's documented example for a DynamoDB stream source."""
from __future__ import annotations

from eddydb.triggers.batching import Rec
from eddydb.triggers.destinations import failure_record

STREAM = "arn:aws:dynamodb:us-east-2:123456789012:table/mytable/stream/2019-11-14T00:04:06.388"
FUNCTION = "arn:aws:lambda:us-east-2:123456789012:function:myfunction"


def _rec(seq: int, created: float) -> Rec:
    event = {"eventName": "INSERT", "dynamodb": {"SequenceNumber": str(800000000003126276000 + seq)}}
    return Rec(seq, created, event, 100)


def test_failure_record_has_lambdas_shape_with_arrival_times_in_whole_seconds():
    # 1573690399.835 is 2019-11-14T00:13:19.835Z: Lambda writes the arrival times without milliseconds
    batch = [_rec(362, 1573690399.835), _rec(363, 1573690401.2)]
    rec = failure_record(function_arn=FUNCTION, stream_arn=STREAM, shard_id="shardId-00000001573689847184-864758bb",
                         batch=batch, condition="RetryAttemptsExhausted", invoke_count=1, function_error="Unhandled",
                         now=1573690429.717)
    assert rec["timestamp"] == "2019-11-14T00:13:49.717Z"
    assert rec["DDBStreamBatchInfo"] == {
        "shardId": "shardId-00000001573689847184-864758bb",
        "startSequenceNumber": "800000000003126276362",
        "endSequenceNumber": "800000000003126276363",
        "approximateArrivalOfFirstRecord": "2019-11-14T00:13:19Z",
        "approximateArrivalOfLastRecord": "2019-11-14T00:13:21Z",
        "batchSize": 2,
        "streamArn": STREAM,
    }
    assert rec["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert rec["requestContext"]["approximateInvokeCount"] == 1
    assert rec["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"}
    assert rec["version"] == "1.0"
