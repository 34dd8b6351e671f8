"""Helpers of the streams tests: walk a stream's shards and read them through boto3."""
from __future__ import annotations

from typing import Any

__all__ = ["all_shards", "read_shard", "read_stream", "seq", "stream_arn"]


def stream_arn(dynamodb: Any, table: str) -> str:
    return dynamodb.describe_table(TableName=table)["Table"]["LatestStreamArn"]


def all_shards(streams: Any, arn: str) -> list[dict]:
    shards: list[dict] = []
    kw: dict[str, Any] = {"StreamArn": arn}
    while True:
        d = streams.describe_stream(**kw)["StreamDescription"]
        shards += d["Shards"]
        if "LastEvaluatedShardId" not in d:
            return shards
        kw["ExclusiveStartShardId"] = d["LastEvaluatedShardId"]


def read_shard(streams: Any, arn: str, shard_id: str, limit: int | None = None,
               iterator_type: str = "TRIM_HORIZON", **kw: Any) -> list[dict]:
    """Every record of a shard from the position, until a closed shard ends or an open one is drained."""
    it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard_id, ShardIteratorType=iterator_type,
                                    **kw)["ShardIterator"]
    out: list[dict] = []
    while it is not None:
        resp = streams.get_records(ShardIterator=it, **({"Limit": limit} if limit else {}))
        out += resp["Records"]
        nxt = resp.get("NextShardIterator")
        if not resp["Records"] and nxt is not None:
            break  # open shard drained
        it = nxt
    return out


def read_stream(streams: Any, arn: str) -> list[dict]:
    """All records of a stream, parents before children (lineage order), from TRIM_HORIZON."""
    out: list[dict] = []
    for s in all_shards(streams, arn):
        out += read_shard(streams, arn, s["ShardId"])
    return out


def seq(record: dict) -> int:
    return int(record["dynamodb"]["SequenceNumber"])
