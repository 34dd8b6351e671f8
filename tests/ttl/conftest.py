"""Fixtures of the TTL tests: `sweep` (expire now, on the server or embedded database behind the
`dynamodb` client) and `ddb` (that client with botocore's parameter validation off)."""
from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture
def sweep(request: pytest.FixtureRequest, dynamodb: Any) -> Any:
    """sweep(table=None, now=None) -> deleted count, on the database behind `dynamodb`."""
    if request.node.callspec.params.get("dynamodb") == "server":
        from eddydb.cli.ttl import _sweep_remote

        url = request.getfixturevalue("eddy_server").url
        return lambda table=None, now=None: _sweep_remote(url, table, now)
    db = request.getfixturevalue("eddy_embedded")
    return lambda table=None, now=None: db.ttl_sweep(table, now)
