"""Several server processes on one data directory (`--workers 2`): every change still gets exactly
one record with a unique, per-item increasing sequence number."""
from __future__ import annotations

import threading

from streamutil import read_stream, seq, stream_arn
from util import ServerProcess, make_client


def test_two_workers_share_one_stream(tmp_path):
    with ServerProcess(tmp_path / "data", args=["--workers", "2"], log_path=tmp_path / "srv.log") as srv:
        ddb = make_client("dynamodb", srv.url)
        ddb.create_table(TableName="wrk", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                         AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                         BillingMode="PAY_PER_REQUEST",
                         StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"})
        errors: list[BaseException] = []

        def writer(t: int) -> None:
            client = make_client("dynamodb", srv.url)  # own connections: spread over both workers
            try:
                for i in range(60):
                    client.update_item(TableName="wrk", Key={"pk": {"S": f"k{t}"}}, UpdateExpression="ADD c :one",
                                       ExpressionAttributeValues={":one": {"N": "1"}})
            except BaseException as e:  # noqa: BLE001 - reported below
                errors.append(e)

        threads = [threading.Thread(target=writer, args=(t,)) for t in range(4)]
        for th in threads:
            th.start()
        for th in threads:
            th.join(60)
        assert not errors
        streams = make_client("dynamodbstreams", srv.url)
        records = read_stream(streams, stream_arn(ddb, "wrk"))
        assert len(records) == 240
        assert len({seq(r) for r in records}) == 240
        for t in range(4):
            counts = [int(r["dynamodb"]["NewImage"]["c"]["N"]) for r in records
                      if r["dynamodb"]["Keys"]["pk"]["S"] == f"k{t}"]
            assert counts == list(range(1, 61))
