"""Fixtures of the streams tests: a DynamoDB Streams client that matches the parametrised
`dynamodb` client (server or embedded). Stream-walking helpers are in streamutil.py."""
from __future__ import annotations

import os
import sys
from typing import Any

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from util import client_config, make_client


@pytest.fixture
def ddbstreams(request: pytest.FixtureRequest, dynamodb: Any) -> Any:
    """A boto3 dynamodbstreams client on the same database as `dynamodb` (no client-side validation,
    so the server's own errors show)."""
    kind = request.node.callspec.params.get("dynamodb", "server")
    if kind == "embedded":
        return request.getfixturevalue("eddy_embedded").client("dynamodbstreams",
                                                                    config=client_config(parameter_validation=False))
    return make_client("dynamodbstreams", request.getfixturevalue("eddy_server").url, parameter_validation=False)

