"""Fixtures of the DynamoDB conformance tests: `ddb`, a boto3 client (server and embedded) with
botocore's client-side parameter validation off, so requests DynamoDB itself would reject reach
eddydb and get its answer; `ddbs`, the same for the server only."""
from __future__ import annotations

from typing import Any

import pytest
from util import client_config, make_client


@pytest.fixture(scope="session")
def _cf_server(eddy_server: Any) -> Any:
    return make_client("dynamodb", eddy_server.url, parameter_validation=False)


@pytest.fixture(scope="session")
def _cf_embedded(eddy_embedded: Any) -> Any:
    return eddy_embedded.client("dynamodb", config=client_config(parameter_validation=False))


@pytest.fixture(params=["server", "embedded"])
def ddb(request: pytest.FixtureRequest) -> Any:
    if request.param == "server":
        request.getfixturevalue("dynamodb_server")
        return request.getfixturevalue("_cf_server")
    return request.getfixturevalue("_cf_embedded")


@pytest.fixture
def ddbs(dynamodb_server: Any, _cf_server: Any) -> Any:
    return _cf_server


@pytest.fixture
def mk(ddb: Any, make_table: Any) -> Any:
    """make_table on the `ddb` client."""
    def factory(*args: Any, **kwargs: Any) -> str:
        return make_table(*args, client=ddb, **kwargs)
    return factory
