"""Two databases opened independently on one data directory (a CLI beside a server, two servers
without --workers) still hand out each sequence number once and keep each shard in order."""
from __future__ import annotations

from botocore.config import Config
from streamutil import all_shards, read_stream, seq, stream_arn
from util import wait_for

import eddydb

NO_RETRY = Config(retries={"total_max_attempts": 1})


def test_two_opens_of_one_directory_never_reuse_a_sequence_number(tmp_path):
    a = eddydb.open(str(tmp_path))
    b = eddydb.open(str(tmp_path))
    try:
        ca, cb = a.client("dynamodb", config=NO_RETRY), b.client("dynamodb", config=NO_RETRY)
        ca.create_table(
            TableName="shared", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
        )
        for i in range(50):
            (ca if i % 2 == 0 else cb).put_item(TableName="shared", Item={"pk": {"S": f"k{i % 5}"}, "n": {"N": str(i)}})
        records = read_stream(a.client("dynamodbstreams"), stream_arn(ca, "shared"))
        seqs = [seq(r) for r in records]
        assert len(seqs) == 50
        assert len(set(seqs)) == 50
        assert seqs == sorted(seqs)
    finally:
        b.close()
        a.close()


def test_a_commit_by_another_open_of_the_directory_wakes_stream_subscribers(tmp_path):
    a = eddydb.open(str(tmp_path))
    b = eddydb.open(str(tmp_path))
    try:
        ca, cb = a.client("dynamodb", config=NO_RETRY), b.client("dynamodb", config=NO_RETRY)
        ca.create_table(
            TableName="hinted", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"},
        )
        woken: list[set[str]] = []
        a.instance.streams.subscribe(woken.append)
        cb.put_item(TableName="hinted", Item={"pk": {"S": "from-b"}})
        shard = all_shards(a.client("dynamodbstreams"), stream_arn(ca, "hinted"))[0]["ShardId"]
        wait_for(lambda: any(shard in s for s in woken), timeout=10,
                 message="a subscriber of A never heard of B's commit")
    finally:
        b.close()
        a.close()
