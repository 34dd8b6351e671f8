"""Assertions on AWS error shapes for the conformance tests."""
from __future__ import annotations

import re
from types import TracebackType
from typing import Any, Self

from botocore.exceptions import ClientError

__all__ = ["RAW_AUTH", "raises", "raw_error", "raw_poster"]


class _Raises:
    def __init__(self, code: str, match: str | None) -> None:
        self.code, self.match = code, match
        self.error: ClientError | None = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> bool:
        if ev is None:
            raise AssertionError(f"expected {self.code}, nothing raised")
        if not isinstance(ev, ClientError):
            return False
        err = ev.response["Error"]
        assert err["Code"] == self.code, (err, self.code)
        if self.match is not None:
            assert re.search(self.match, err.get("Message", "")), (err.get("Message"), self.match)
        self.error = ev
        return True


def raises(code: str, match: str | None = None) -> _Raises:
    """`with raises("ValidationException", "regex"):` checks the AWS error code and message."""
    return _Raises(code, match)


# --- UpdateItem helpers on the one-item table key K (test_update_expr, test_update_semantics) ---
K = {"pk": {"S": "a"}}


def upd(ddb, t, expr, values=None, names=None, **kw):
    """UpdateItem on K with `expr` (and its values/names when given)."""
    args = {"TableName": t, "Key": K, "UpdateExpression": expr, **kw}
    if values:
        args["ExpressionAttributeValues"] = values
    if names:
        args["ExpressionAttributeNames"] = names
    return ddb.update_item(**args)


def get(ddb, t):
    """The item at K, strongly consistent (None if absent)."""
    return ddb.get_item(TableName=t, Key=K, ConsistentRead=True).get("Item")


def n(x):
    return {"N": str(x)}


def nl(*xs):
    """A list of numbers."""
    return {"L": [n(x) for x in xs]}

# --- raw JSON 1.0 requests (what an SDK will not send: JSON nulls, wrong JSON types) ----------------
RAW_AUTH = ("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/dynamodb/aws4_request, "
            "SignedHeaders=host;x-amz-date;x-amz-target, Signature=" + "0" * 64)


def raw_poster(url: str) -> Any:
    """`send(op, body, prefix="DynamoDB_20120810") -> (status, decoded body)` over plain HTTP."""
    import http.client
    import json
    from urllib.parse import urlsplit

    u = urlsplit(url)

    def send(op: str, body: dict, prefix: str = "DynamoDB_20120810") -> tuple[int, dict]:
        c = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
        c.request("POST", "/", body=json.dumps(body), headers={
            "Content-Type": "application/x-amz-json-1.0", "Authorization": RAW_AUTH, "X-Amz-Target": f"{prefix}.{op}"})
        r = c.getresponse()
        data = json.loads(r.read() or b"{}")
        c.close()
        return r.status, data
    return send


def raw_error(resp: tuple[int, dict]) -> tuple[str, str]:
    """(__type without its namespace, message) of a 400 answer."""
    status, body = resp
    assert status == 400, body
    return body["__type"].rsplit("#", 1)[-1], body.get("message", body.get("Message", ""))
