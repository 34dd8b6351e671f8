"""Fixtures of the functions tests: an embedded database (`eddydb.open`) whose boto3 lambda
client goes through the same router as the server, deployment packages built in memory, and
`make_function` for uniquely named functions that are deleted after each test."""
from __future__ import annotations

import contextlib
import itertools
import os
import sys
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from fn_support import APP, ROLE, make_zip
from util import client_config

_counter = itertools.count()


@pytest.fixture(scope="module")
def fdb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    import eddydb

    db = eddydb.open(str(tmp_path_factory.mktemp("functions") / "data"), background=False, function_workers=2)
    try:
        yield db
    finally:
        db.close()


@pytest.fixture(scope="module")
def lam(fdb: Any) -> Any:
    """A boto3 lambda client on the embedded database (no socket, same router as the server)."""
    return fdb.client("lambda", config=client_config())


@pytest.fixture(scope="module")
def runtime(fdb: Any) -> Any:
    return fdb.instance.functions


@pytest.fixture
def fname(request: pytest.FixtureRequest) -> str:
    """A unique function name for this test."""
    test = request.node.name.split("[")[0].replace("test_", "")[:40]
    return f"{test}-{next(_counter)}-{uuid.uuid4().hex[:6]}"


@pytest.fixture
def make_function(lam: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """Factory: `make_function(files=None, handler="app.handler", **create_kwargs) -> name`."""
    created: list[tuple[Any, str]] = []

    def factory(files: dict[str, str | bytes] | None = None, *, handler: str = "app.handler",
                client: Any = None, name: str | None = None, code: dict[str, Any] | None = None,
                **kwargs: Any) -> str:
        client = client or lam
        if name is None:
            test = request.node.name.split("[")[0].replace("test_", "")[:40]
            name = f"{test}-{next(_counter)}-{uuid.uuid4().hex[:6]}"
        if code is None:
            code = {"ZipFile": make_zip(files if files is not None else {"app.py": APP})}
        params: dict[str, Any] = {"FunctionName": name, "Runtime": "python3.12", "Role": ROLE,
                                  "Handler": handler, "Code": code}
        params.update(kwargs)
        client.create_function(**params)
        created.append((client, name))
        return name

    yield factory
    for client, name in created:
        with contextlib.suppress(Exception):   # deleted by the test itself
            client.delete_function(FunctionName=name)
