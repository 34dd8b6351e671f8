"""Fixtures of the DynamoDB conformance tests: `ddb` (tests/conftest.py) is a boto3 client (server and
embedded) with botocore's client-side parameter validation off; `ddbs` the same for the server only;
`mk` make_table on `ddb`."""
from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture
def ddbs(dynamodb_server: Any, _unvalidated_server_ddb: Any) -> Any:
    return _unvalidated_server_ddb


@pytest.fixture
def mk(ddb: Any, make_table: Any) -> Any:
    """make_table on the `ddb` client."""
    def factory(*args: Any, **kwargs: Any) -> str:
        return make_table(*args, client=ddb, **kwargs)
    return factory
