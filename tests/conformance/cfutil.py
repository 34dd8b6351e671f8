"""Assertions on AWS error shapes for the conformance tests."""
from __future__ import annotations

import re
from types import TracebackType
from typing import Self

from botocore.exceptions import ClientError

__all__ = ["raises"]


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
