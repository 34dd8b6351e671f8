"""TransactWriteItems' ClientRequestToken is idempotent for 10 minutes whatever process answers:
a retry after `kill -9` and restart (botocore retries with the same token when a connection drops
after the commit) and a repeat landing on another worker process change nothing."""
from __future__ import annotations

import pytest
from botocore.exceptions import ClientError
from util import ServerProcess, make_client


def _add(token: str, n: str = "1") -> dict:
    return {"ClientRequestToken": token, "TransactItems": [
        {"Update": {"TableName": "tokens", "Key": {"pk": {"S": "c"}}, "UpdateExpression": "ADD n :d",
                    "ExpressionAttributeValues": {":d": {"N": n}}}}]}


def test_client_request_token_survives_kill9_and_spans_worker_processes(tmp_path):
    server = ServerProcess(tmp_path / "data", args=["--workers", "2"], log_path=tmp_path / "server.log")
    server.start()
    try:
        ddb = make_client("dynamodb", server.url)
        ddb.create_table(TableName="tokens", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                         AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                         BillingMode="PAY_PER_REQUEST")
        for _ in range(6):   # a new connection each time: the repeats reach both worker processes
            make_client("dynamodb", server.url).transact_write_items(**_add("token-1"))
        server.kill9()
        server.start()
        ddb = make_client("dynamodb", server.url)
        ddb.transact_write_items(**_add("token-1"))   # the retry of a request that had committed
        assert ddb.get_item(TableName="tokens", Key={"pk": {"S": "c"}})["Item"]["n"] == {"N": "1"}
        with pytest.raises(ClientError) as e:
            ddb.transact_write_items(**_add("token-1", "5"))
        assert e.value.response["Error"]["Code"] == "IdempotentParameterMismatchException"
        ddb.transact_write_items(**_add("token-2"))
        assert ddb.get_item(TableName="tokens", Key={"pk": {"S": "c"}})["Item"]["n"] == {"N": "2"}
    finally:
        if server.proc is not None:
            server.kill9()
