"""Fixtures every test package uses: one real eddydb server per test session (a subprocess on a
free port with a temporary data directory), boto3 clients for it and for an embedded database,
and `make_table` for uniquely named, cleaned-up tables.

    def test_put_then_get(dynamodb, make_table):        # runs twice: server and embedded
        name = make_table(hash_key=("pk", "S"))
        dynamodb.put_item(TableName=name, Item={"pk": {"S": "a"}})

Helpers (`wait_for`, `make_client`, `ServerProcess`) live in tests/util.py:
`from util import wait_for` (or `from tests.util import wait_for`).
"""
from __future__ import annotations

import itertools
import os
import sys
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from util import REGION, ServerProcess, client_config, make_client, wait_for

__all__ = ["wait_for"]

# With EDDYDB_TEST_STORE=postgresql://... the durable servers and databases below live in
# PostgreSQL (`make test-postgres`); a no-op otherwise.
pytest_plugins = ["postgres.pg_plugin"]


# --- the session server ---------------------------------------------------------------------
@pytest.fixture(scope="session")
def eddy_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """The real server (`python -m eddydb serve`) shared by the session: `.url`, `.data_dir`,
    `.restart()`, `.kill9()`. Tests that kill it must restart it (or use their own ServerProcess)."""
    base = tmp_path_factory.mktemp("eddy-server")
    server = ServerProcess(base / "data", log_path=base / "server.log")
    server.start()
    try:
        yield server
    finally:
        if server.proc is not None:
            try:
                server.stop()
            except AssertionError:
                pass


@pytest.fixture
def server_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Start servers of your own (flags, env, a crash to simulate); all are stopped after the test.

        srv = server_factory(args=["--ttl-interval", "0.1"])      # durable, temp data dir
        srv = server_factory(in_memory=True)
        client = make_client("dynamodb", srv.url)
    """
    started: list[ServerProcess] = []

    def factory(args: Any = (), env: dict[str, str] | None = None, in_memory: bool = False) -> ServerProcess:
        base = tmp_path_factory.mktemp("eddy-own-server")
        srv = ServerProcess(None if in_memory else base / "data", args=list(args), env=env,
                            log_path=base / "server.log")
        started.append(srv)
        return srv.start()

    yield factory
    for srv in started:
        if srv.proc is not None:
            try:
                srv.stop()
            except AssertionError:
                srv.kill9()


def _ensure_running(server: ServerProcess) -> None:
    if server.proc is None or server.proc.poll() is not None:
        server.proc = None
        server.start()


@pytest.fixture(scope="session")
def _server_ddb(eddy_server: ServerProcess) -> Any:
    return make_client("dynamodb", eddy_server.url)


@pytest.fixture(scope="session")
def eddy_embedded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """An embedded database (`eddydb.open(<temp dir>)`) shared by the session."""
    import eddydb

    db = eddydb.open(str(tmp_path_factory.mktemp("eddy-embedded") / "data"))
    try:
        yield db
    finally:
        db.close()


@pytest.fixture(scope="session")
def _embedded_ddb(eddy_embedded: Any) -> Any:
    return eddy_embedded.client("dynamodb", config=client_config())


# --- clients --------------------------------------------------------------------------------
@pytest.fixture(params=["server", "embedded"])
def dynamodb(request: pytest.FixtureRequest) -> Any:
    """A boto3 DynamoDB client; every test using it runs against the HTTP server and embedded."""
    if request.param == "server":
        _ensure_running(request.getfixturevalue("eddy_server"))
        return request.getfixturevalue("_server_ddb")
    return request.getfixturevalue("_embedded_ddb")


@pytest.fixture(scope="session")
def _unvalidated_server_ddb(eddy_server: ServerProcess) -> Any:
    return make_client("dynamodb", eddy_server.url, parameter_validation=False)


@pytest.fixture(scope="session")
def _unvalidated_embedded_ddb(eddy_embedded: Any) -> Any:
    return eddy_embedded.client("dynamodb", config=client_config(parameter_validation=False))


@pytest.fixture
def ddb(request: pytest.FixtureRequest, dynamodb: Any) -> Any:
    """The `dynamodb` client's twin (same database, same parametrisation) with botocore's client-side
    parameter validation off, so requests DynamoDB itself would reject reach eddydb and get its answer."""
    if request.node.callspec.params.get("dynamodb") == "server":
        return request.getfixturevalue("_unvalidated_server_ddb")
    return request.getfixturevalue("_unvalidated_embedded_ddb")


@pytest.fixture
def dynamodb_server(eddy_server: ServerProcess, _server_ddb: Any) -> Any:
    """A boto3 DynamoDB client talking HTTP to the session server only."""
    _ensure_running(eddy_server)
    return _server_ddb


@pytest.fixture
def streams(eddy_server: ServerProcess) -> Any:
    """A boto3 DynamoDB Streams client on the session server."""
    _ensure_running(eddy_server)
    return make_client("dynamodbstreams", eddy_server.url)


@pytest.fixture
def lambda_client(eddy_server: ServerProcess) -> Any:
    """A boto3 Lambda client on the session server."""
    _ensure_running(eddy_server)
    return make_client("lambda", eddy_server.url)


# --- tables ---------------------------------------------------------------------------------
_counter = itertools.count()


def _key(spec: Any) -> tuple[str, str]:
    """("pk", "S") or "pk:S" or "pk" (= S) -> (name, type)."""
    if isinstance(spec, str):
        name, _, typ = spec.partition(":")
        return name, (typ or "S")
    name, typ = spec
    return name, typ


def _projection(spec: Any) -> dict[str, Any]:
    if spec is None or spec == "ALL":
        return {"ProjectionType": "ALL"}
    if spec == "KEYS_ONLY":
        return {"ProjectionType": "KEYS_ONLY"}
    if isinstance(spec, dict):
        return spec
    return {"ProjectionType": "INCLUDE", "NonKeyAttributes": list(spec)}


def _index(name: str, spec: Any, attrs: dict[str, str], *, gsi: bool) -> dict[str, Any]:
    """spec: ("gk:S",) / ("gk:S", "gs:N") / ("gk:S", None, "KEYS_ONLY") / (..., ["a", "b"]) or a raw AWS dict."""
    if isinstance(spec, dict):
        return {"IndexName": name, **spec}
    if isinstance(spec, str):
        spec = (spec,)
    hk = _key(spec[0])
    rk = _key(spec[1]) if len(spec) > 1 and spec[1] is not None else None
    proj = spec[2] if len(spec) > 2 else None
    schema = [{"AttributeName": hk[0], "KeyType": "HASH"}]
    attrs[hk[0]] = hk[1]
    if rk is not None:
        schema.append({"AttributeName": rk[0], "KeyType": "RANGE"})
        attrs[rk[0]] = rk[1]
    out: dict[str, Any] = {"IndexName": name, "KeySchema": schema, "Projection": _projection(proj)}
    return out


@pytest.fixture
def make_table(request: pytest.FixtureRequest) -> Iterator[Any]:
    """Factory creating uniquely named tables, deleted after the test.

        name = make_table()                                   # pk:S hash key
        name = make_table(("pk", "S"), ("sk", "N"))           # hash + range
        name = make_table("pk", gsi={"byg": ("g:S", "s:N", "KEYS_ONLY")}, lsi={"byl": ("pk", "l:S")},
                          stream="NEW_AND_OLD_IMAGES")        # stream=True means NEW_AND_OLD_IMAGES
        name = make_table(client=other_client, name="fixed-name", **create_table_kwargs)

    Uses the test's own `dynamodb` (or `dynamodb_server`) client unless `client=` is given.
    Returns the table name.
    """
    created: list[tuple[Any, str]] = []

    def default_client() -> Any:
        for fx in ("dynamodb", "dynamodb_server"):
            if fx in request.fixturenames:
                return request.getfixturevalue(fx)
        return request.getfixturevalue("dynamodb_server")

    def factory(hash_key: Any = ("pk", "S"), range_key: Any = None, *, client: Any = None,
                name: str | None = None, gsi: dict[str, Any] | None = None, lsi: dict[str, Any] | None = None,
                stream: Any = None, attrs: dict[str, str] | None = None, **kwargs: Any) -> str:
        client = client or default_client()
        if name is None:
            test = request.node.name.split("[")[0][:40].replace("_", "-")
            name = f"{test}-{next(_counter)}-{uuid.uuid4().hex[:6]}"
        attributes: dict[str, str] = dict(attrs or {})
        hk = _key(hash_key)
        schema = [{"AttributeName": hk[0], "KeyType": "HASH"}]
        attributes[hk[0]] = hk[1]
        if range_key is not None:
            rk = _key(range_key)
            schema.append({"AttributeName": rk[0], "KeyType": "RANGE"})
            attributes[rk[0]] = rk[1]
        params: dict[str, Any] = {"TableName": name, "KeySchema": schema}
        if gsi:
            params["GlobalSecondaryIndexes"] = [_index(n, s, attributes, gsi=True) for n, s in gsi.items()]
        if lsi:
            params["LocalSecondaryIndexes"] = [_index(n, s, attributes, gsi=False) for n, s in lsi.items()]
        if stream:
            view = "NEW_AND_OLD_IMAGES" if stream is True else stream
            params["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": view}
        if "ProvisionedThroughput" not in kwargs and "BillingMode" not in kwargs:
            params["BillingMode"] = "PAY_PER_REQUEST"
        params.update(kwargs)
        if "AttributeDefinitions" not in params:
            params["AttributeDefinitions"] = [{"AttributeName": k, "AttributeType": v} for k, v in attributes.items()]
        client.create_table(**params)
        created.append((client, name))
        return name

    yield factory
    for client, name in reversed(created):
        try:
            client.delete_table(TableName=name)
        except Exception:  # noqa: BLE001, S110 - already deleted by the test, or the server was killed
            pass


@pytest.fixture
def region() -> str:
    return REGION
