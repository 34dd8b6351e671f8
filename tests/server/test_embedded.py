"""`eddydb.open()`: real boto3 clients and resources wired to an in-process database (no
socket), durability of an embedded data directory, and the pytest fixtures of eddydb.testing."""
from __future__ import annotations

import socket
import threading

import boto3
import pytest
from botocore.exceptions import ClientError

import eddydb
from eddydb.embedded import Database


def _create(client, name="tab1"):
    client.create_table(TableName=name, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                        BillingMode="PAY_PER_REQUEST")
    return name


@pytest.fixture
def no_sockets(monkeypatch):
    """Fail any attempt to open a network connection."""
    def refuse(*a, **k):
        raise AssertionError("the embedded client opened a socket")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)


def test_open_returns_a_database_with_real_boto3_clients(no_sockets):
    with eddydb.open() as db:
        assert isinstance(db, Database)
        client = db.client("dynamodb")
        assert type(client).__module__ == "botocore.client"
        _create(client)
        client.put_item(TableName="tab1", Item={"pk": {"S": "a"}, "v": {"N": "1.50"}})
        assert client.get_item(TableName="tab1", Key={"pk": {"S": "a"}})["Item"] == {"pk": {"S": "a"}, "v": {"N": "1.5"}}


def test_responses_carry_request_id_and_crc32():
    with eddydb.open() as db:
        meta = db.client("dynamodb").list_tables()["ResponseMetadata"]
        assert len(meta["RequestId"]) == 36
        assert "x-amz-crc32" in meta["HTTPHeaders"]


def test_errors_are_boto3_client_errors_with_dynamodb_codes():
    with eddydb.open() as db:
        client = db.client("dynamodb")
        with pytest.raises(client.exceptions.ResourceNotFoundException):
            client.get_item(TableName="nope", Key={"pk": {"S": "a"}})
        _create(client)
        client.put_item(TableName="tab1", Item={"pk": {"S": "a"}})
        with pytest.raises(ClientError) as e:
            client.put_item(TableName="tab1", Item={"pk": {"S": "a"}}, ConditionExpression="attribute_not_exists(pk)")
        assert e.value.response["Error"]["Code"] == "ConditionalCheckFailedException"


def test_resource_api_works():
    with eddydb.open() as db:
        ddb = db.resource("dynamodb")
        table = ddb.create_table(TableName="users", KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                                 AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                                 BillingMode="PAY_PER_REQUEST")
        table.put_item(Item={"id": "u1", "name": "Ada", "age": 36})
        assert table.get_item(Key={"id": "u1"})["Item"] == {"id": "u1", "name": "Ada", "age": 36}
        assert [t.name for t in ddb.tables.all()] == ["users"]


def test_streams_client_is_wired_too():
    with eddydb.open() as db:
        assert db.client("dynamodbstreams").list_streams()["Streams"] == []


def test_user_config_and_region_are_respected():
    from botocore.config import Config

    with eddydb.open(region="eu-west-1") as db:
        client = db.client("dynamodb", config=Config(read_timeout=3))
        assert client.meta.region_name == "eu-west-1"
        assert db.client("dynamodb", region_name="ap-south-1").meta.region_name == "ap-south-1"
        assert client.list_tables()["TableNames"] == []


def test_clients_of_two_databases_are_independent():
    with eddydb.open() as a, eddydb.open() as b:
        _create(a.client("dynamodb"), "only-in-a")
        assert b.client("dynamodb").list_tables()["TableNames"] == []
        assert a.client("dynamodb").list_tables()["TableNames"] == ["only-in-a"]


def test_plain_boto3_clients_are_not_affected():
    from botocore.config import Config
    from botocore.exceptions import EndpointConnectionError

    with eddydb.open() as db:
        db.client("dynamodb")
        plain = boto3.client("dynamodb", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x",
                             endpoint_url="http://127.0.0.1:9", config=Config(retries={"total_max_attempts": 1}))
        with pytest.raises(EndpointConnectionError):
            plain.list_tables()


def test_data_directory_is_durable_across_open_and_close(tmp_path):
    with eddydb.open(tmp_path / "db") as db:
        client = db.client("dynamodb")
        _create(client)
        client.put_item(TableName="tab1", Item={"pk": {"S": "kept"}})
    with eddydb.open(str(tmp_path / "db")) as db:
        item = db.client("dynamodb").get_item(TableName="tab1", Key={"pk": {"S": "kept"}})["Item"]
        assert item == {"pk": {"S": "kept"}}


def test_closed_database_refuses_requests():
    db = eddydb.open()
    client = db.client("dynamodb")
    db.close()
    db.close()  # idempotent
    with pytest.raises(Exception, match="closed"):
        client.list_tables()
    with pytest.raises(RuntimeError):
        db.client("dynamodb")


def test_unknown_service_and_setting_are_rejected():
    with eddydb.open() as db, pytest.raises(ValueError):
        db.client("s3")
    with pytest.raises(TypeError, match="no_such_setting"):
        eddydb.open(no_such_setting=1)


def test_embedded_client_is_usable_from_many_threads():
    with eddydb.open() as db:
        client = db.client("dynamodb")
        _create(client)
        errors: list[BaseException] = []

        def work(t: int) -> None:
            try:
                for i in range(20):
                    client.put_item(TableName="tab1", Item={"pk": {"S": f"{t}-{i}"}})
                    assert client.get_item(TableName="tab1", Key={"pk": {"S": f"{t}-{i}"}}, ConsistentRead=True)["Item"]
            except BaseException as e:  # noqa: BLE001
                errors.append(e)

        threads = [threading.Thread(target=work, args=(t,)) for t in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert not errors, errors[:3]
        assert client.scan(TableName="tab1", Select="COUNT")["Count"] == 120


# --- the pytest plugin (eddydb.testing, registered through the pytest11 entry point) ----------
def test_plugin_client_fixture_gives_a_fresh_database(dynamodb_client):
    assert dynamodb_client.list_tables()["TableNames"] == []
    _create(dynamodb_client, "fresh")


def test_plugin_client_fixture_is_fresh_again(dynamodb_client):
    assert dynamodb_client.list_tables()["TableNames"] == []


def test_plugin_resource_and_db_fixtures(dynamodb_resource, eddydb_db):
    assert isinstance(eddydb_db, Database)
    assert list(dynamodb_resource.tables.all()) == []
