"""Fixtures of the table control-plane tests: `ddb`, the `dynamodb` client (server and embedded)
with botocore's client-side parameter validation off, so requests DynamoDB itself would reject
reach eddydb and get its answer."""
from __future__ import annotations

from typing import Any

import pytest
from util import client_config, make_client


@pytest.fixture(scope="session")
def _raw_server_ddb(eddy_server: Any) -> Any:
    return make_client("dynamodb", eddy_server.url, parameter_validation=False)


@pytest.fixture(scope="session")
def _raw_embedded_ddb(eddy_embedded: Any) -> Any:
    return eddy_embedded.client("dynamodb", config=client_config(parameter_validation=False))


@pytest.fixture
def ddb(request: pytest.FixtureRequest, dynamodb: Any) -> Any:
    if request.node.callspec.params.get("dynamodb") == "server":
        return request.getfixturevalue("_raw_server_ddb")
    return request.getfixturevalue("_raw_embedded_ddb")
