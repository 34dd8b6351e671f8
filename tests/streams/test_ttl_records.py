"""A TTL expiry is a REMOVE record carrying the service userIdentity (and only TTL deletes do):
`Type`/`PrincipalId` on the Streams API wire, `type`/`principalId` in the records the trigger
layer reads."""
from __future__ import annotations

import time

from streamutil import read_stream, stream_arn
from util import client_config

import eddydb


def test_ttl_delete_record_has_service_user_identity(tmp_path):
    db = eddydb.open(str(tmp_path / "data"), background=False)
    try:
        ddb = db.client("dynamodb", config=client_config())
        streams = db.client("dynamodbstreams", config=client_config())
        ddb.create_table(TableName="ttl", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                         AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                         BillingMode="PAY_PER_REQUEST",
                         StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
        ddb.update_time_to_live(TableName="ttl", TimeToLiveSpecification={"Enabled": True, "AttributeName": "exp"})
        past = str(int(time.time()) - 10)
        ddb.put_item(TableName="ttl", Item={"pk": {"S": "old"}, "exp": {"N": past}})
        ddb.put_item(TableName="ttl", Item={"pk": {"S": "user"}})
        ddb.delete_item(TableName="ttl", Key={"pk": {"S": "user"}})
        assert db.ttl_sweep("ttl") == 1
        records = read_stream(streams, stream_arn(ddb, "ttl"))
        assert [r["eventName"] for r in records] == ["INSERT", "INSERT", "REMOVE", "REMOVE"]
        user_delete, ttl_delete = records[2], records[3]
        assert "userIdentity" not in user_delete
        assert ttl_delete["userIdentity"] == {"Type": "Service", "PrincipalId": "dynamodb.amazonaws.com"}
        assert ttl_delete["dynamodb"]["OldImage"] == {"pk": {"S": "old"}, "exp": {"N": past}}
        svc = db.instance.streams
        [shard] = svc.shards(stream_arn(ddb, "ttl"))
        last = svc.read(shard.shard_id, None, 10)[-1].record
        assert last["userIdentity"] == {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
    finally:
        db.close()
