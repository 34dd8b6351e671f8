"""Error responses found different from dynalite's (whose validation messages were taken from
DynamoDB) by a differential probe of malformed requests, where today's DynamoDB agrees with
dynalite. Raw HTTP requests, since an SDK drops JSON nulls and will not send wrong JSON types."""
from __future__ import annotations

import http.client
import json
from typing import Any
from urllib.parse import urlsplit

import pytest

V = "ValidationException"
S = "SerializationException"
_AUTH = ("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/dynamodb/aws4_request, "
         "SignedHeaders=host;x-amz-date;x-amz-target, Signature=" + "0" * 64)
_EMPTY_AV = "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes"


@pytest.fixture
def post(eddy_server: Any) -> Any:
    u = urlsplit(eddy_server.url)

    def send(op: str, body: dict) -> tuple[int, dict]:
        c = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
        c.request("POST", "/", body=json.dumps(body), headers={
            "Content-Type": "application/x-amz-json-1.0", "Authorization": _AUTH,
            "X-Amz-Target": f"DynamoDB_20120810.{op}"})
        r = c.getresponse()
        data = json.loads(r.read() or b"{}")
        c.close()
        return r.status, data
    return send


def _err(resp: tuple[int, dict]) -> tuple[str, str]:
    status, body = resp
    assert status == 400, body
    return body["__type"].rsplit("#", 1)[-1], body.get("message", body.get("Message", ""))


@pytest.fixture
def table(ddbs: Any, make_table: Any) -> str:
    t = make_table(client=ddbs)
    ddbs.put_item(TableName=t, Item={"pk": {"S": "a"}})
    return t


# --- a JSON null member is an absent member ---------------------------------------------------------

def test_null_scan_index_forward_is_the_default_order(post, table):
    status, body = post("Query", {"TableName": table, "KeyConditionExpression": "pk = :p",
                                  "ExpressionAttributeValues": {":p": {"S": "a"}}, "ScanIndexForward": None})
    assert status == 200 and body["Count"] == 1


def test_null_batch_get_consistent_read_is_eventually_consistent(post, table):
    status, body = post("BatchGetItem", {"RequestItems": {table: {"Keys": [{"pk": {"S": "a"}}],
                                                                  "ConsistentRead": None}}})
    assert status == 200 and body["Responses"][table] == [{"pk": {"S": "a"}}]
