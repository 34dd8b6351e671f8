"""pytest fixtures for applications that use DynamoDB: a fresh in-memory eddydb per test,
reached through real boto3 clients (the moto replacement, with DynamoDB's real semantics).

Installed as a pytest plugin (entry point `pytest11: eddydb`), so after `pip install eddydb`
a test just asks for a fixture:

    def test_save_order(dynamodb_client):
        dynamodb_client.create_table(...)

Fixtures: `eddydb_db` (the `eddydb.embedded.Database`), `dynamodb_client`,
`dynamodb_resource`, `dynamodbstreams_client`, `lambda_client_embedded`. Pass settings with the
`eddydb_settings` fixture (override it in your conftest.py), e.g. `{"ttl_interval": 0.1}`.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

__all__ = [
    "dynamodb_client",
    "dynamodb_resource",
    "dynamodbstreams_client",
    "eddydb_db",
    "eddydb_settings",
    "lambda_client_embedded",
]


@pytest.fixture
def eddydb_settings() -> dict[str, Any]:
    """Keyword settings for the per-test database (override in conftest.py to change them)."""
    return {}


@pytest.fixture
def eddydb_db(eddydb_settings: dict[str, Any]) -> Iterator[Any]:
    """A fresh in-memory eddydb database, closed after the test."""
    import eddydb

    db = eddydb.open(None, **eddydb_settings)
    try:
        yield db
    finally:
        db.close()


@pytest.fixture
def dynamodb_client(eddydb_db: Any) -> Any:
    """A boto3 DynamoDB client on the test's fresh database."""
    return eddydb_db.client("dynamodb")


@pytest.fixture
def dynamodb_resource(eddydb_db: Any) -> Any:
    """A boto3 DynamoDB resource (`.Table(name)`, ...) on the test's fresh database."""
    return eddydb_db.resource("dynamodb")


@pytest.fixture
def dynamodbstreams_client(eddydb_db: Any) -> Any:
    """A boto3 DynamoDB Streams client on the test's fresh database."""
    return eddydb_db.client("dynamodbstreams")


@pytest.fixture
def lambda_client_embedded(eddydb_db: Any) -> Any:
    """A boto3 Lambda client on the test's fresh database."""
    return eddydb_db.client("lambda")
