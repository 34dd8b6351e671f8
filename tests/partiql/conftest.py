"""Fixtures of the PartiQL tests: the helpers module on the path, and a DynamoDB Streams client on the
same database as the parametrised `dynamodb` client (server or embedded)."""
from __future__ import annotations

import os
import sys
from typing import Any

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from util import client_config, make_client


@pytest.fixture
def partiql_streams(request: pytest.FixtureRequest, dynamodb: Any) -> Any:
    if request.node.callspec.params.get("dynamodb", "server") == "embedded":
        return request.getfixturevalue("eddy_embedded").client("dynamodbstreams", config=client_config())
    return make_client("dynamodbstreams", request.getfixturevalue("eddy_server").url)
