"""Helpers of the PartiQL tests: run a statement with AttributeValue parameters, catch its error."""
from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

__all__ = ["error_of", "run"]


def run(client: Any, statement: str, *params: dict, **kw: Any) -> dict:
    """ExecuteStatement with positional AttributeValue parameters."""
    if params:
        kw["Parameters"] = list(params)
    return client.execute_statement(Statement=statement, **kw)


def error_of(call: Any, *args: Any, **kw: Any) -> dict:
    """The error body (`Code`, `Message`, extra members) of a call that must fail."""
    with pytest.raises(ClientError) as info:
        call(*args, **kw)
    err = dict(info.value.response["Error"])
    for k in ("CancellationReasons", "Item"):
        if k in info.value.response:
            err[k] = info.value.response[k]
    return err
