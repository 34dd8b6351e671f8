"""Time to Live through boto3: UpdateTimeToLive/DescribeTimeToLive shapes and errors; expiry by the
background sweeper within about a second; `sweep(now=...)` for the five-year and wrong-type rules,
sort keys, index cleanup, cancellation by update; the stream REMOVE record with the service
userIdentity; the `eddydb ttl sweep` command."""
from __future__ import annotations

import time

import pytest
from botocore.exceptions import ClientError
from util import table_stream_records, wait_for

FIVE_YEARS = 5 * 365 * 24 * 3600


def _err(exc: pytest.ExceptionInfo) -> tuple[str, str]:
    e = exc.value.response["Error"]
    return e["Code"], e["Message"]


def _enable(ddb, table: str, attr: str = "exp") -> dict:
    return ddb.update_time_to_live(TableName=table, TimeToLiveSpecification={"Enabled": True, "AttributeName": attr})


def _get(ddb, table: str, key: dict) -> dict | None:
    return ddb.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")


# --- the API ------------------------------------------------------------------------------------------
def test_describe_ttl_defaults_to_disabled(ddb, make_table):
    t = make_table()
    assert ddb.describe_time_to_live(TableName=t)["TimeToLiveDescription"] == {"TimeToLiveStatus": "DISABLED"}


def test_enable_then_describe(ddb, make_table):
    t = make_table()
    r = _enable(ddb, t)
    assert r["TimeToLiveSpecification"] == {"Enabled": True, "AttributeName": "exp"}
    assert ddb.describe_time_to_live(TableName=t)["TimeToLiveDescription"] == {
        "TimeToLiveStatus": "ENABLED", "AttributeName": "exp"}


def test_enable_twice_is_an_error(ddb, make_table):
    t = make_table()
    _enable(ddb, t)
    with pytest.raises(ClientError) as exc:
        _enable(ddb, t)
    assert _err(exc) == ("ValidationException", "TimeToLive is already enabled")


def test_changing_the_attribute_while_enabled_is_an_error(ddb, make_table):
    t = make_table()
    _enable(ddb, t)
    with pytest.raises(ClientError) as exc:
        _enable(ddb, t, "other")
    code, msg = _err(exc)
    assert code == "ValidationException" and "exp" in msg
    with pytest.raises(ClientError) as exc:
        ddb.update_time_to_live(TableName=t, TimeToLiveSpecification={"Enabled": False, "AttributeName": "other"})
    assert _err(exc)[0] == "ValidationException"


def test_disable_then_disable_again(ddb, make_table):
    t = make_table()
    _enable(ddb, t)
    r = ddb.update_time_to_live(TableName=t, TimeToLiveSpecification={"Enabled": False, "AttributeName": "exp"})
    assert r["TimeToLiveSpecification"] == {"Enabled": False, "AttributeName": "exp"}
    assert ddb.describe_time_to_live(TableName=t)["TimeToLiveDescription"]["TimeToLiveStatus"] == "DISABLED"
    with pytest.raises(ClientError) as exc:
        ddb.update_time_to_live(TableName=t, TimeToLiveSpecification={"Enabled": False, "AttributeName": "exp"})
    assert _err(exc) == ("ValidationException", "TimeToLive is already disabled")


@pytest.mark.parametrize("spec,missing", [
    (None, "timeToLiveSpecification"),
    ({"AttributeName": "exp"}, "timeToLiveSpecification.enabled"),
    ({"Enabled": True}, "timeToLiveSpecification.attributeName"),
])
def test_missing_parameters(ddb, make_table, spec, missing):
    t = make_table()
    kw = {"TableName": t}
    if spec is not None:
        kw["TimeToLiveSpecification"] = spec
    with pytest.raises(ClientError) as exc:
        ddb.update_time_to_live(**kw)
    assert _err(exc) == ("ValidationException", (f"1 validation error detected: Value null at '{missing}' failed to "
                                                "satisfy constraint: Member must not be null"))


def test_empty_attribute_name(ddb, make_table):
    t = make_table()
    with pytest.raises(ClientError) as exc:
        ddb.update_time_to_live(TableName=t, TimeToLiveSpecification={"Enabled": True, "AttributeName": ""})
    assert _err(exc)[0] == "ValidationException"


def test_ttl_on_missing_table(ddb):
    for call in (lambda: ddb.describe_time_to_live(TableName="no-such-table-ttl"),
                 lambda: _enable(ddb, "no-such-table-ttl")):
        with pytest.raises(ClientError) as exc:
            call()
        assert _err(exc)[0] == "ResourceNotFoundException"


# --- expiry --------------------------------------------------------------------------------------------
def test_expired_item_is_deleted_by_the_background_sweeper(ddb, make_table):
    t = make_table()
    _enable(ddb, t)
    now = int(time.time())
    ddb.put_item(TableName=t, Item={"pk": {"S": "old"}, "exp": {"N": str(now - 10)}})
    ddb.put_item(TableName=t, Item={"pk": {"S": "future"}, "exp": {"N": str(now + 3600)}})
    ddb.put_item(TableName=t, Item={"pk": {"S": "none"}})
    wait_for(lambda: _get(ddb, t, {"pk": {"S": "old"}}) is None, timeout=5)
    assert _get(ddb, t, {"pk": {"S": "future"}}) is not None
    assert _get(ddb, t, {"pk": {"S": "none"}}) is not None


def test_expiry_with_a_sort_key(ddb, make_table, sweep):
    t = make_table(("pk", "S"), ("sk", "N"))
    _enable(ddb, t)
    now = time.time()
    for i in range(5):
        ddb.put_item(TableName=t, Item={"pk": {"S": "p"}, "sk": {"N": str(i)}, "exp": {"N": str(now + 100 + i)}})
    assert sweep(t, now + 102) == 3
    left = ddb.query(TableName=t, KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "p"}},
                     ConsistentRead=True)["Items"]
    assert [i["sk"]["N"] for i in left] == ["3", "4"]


def test_expiry_at_exactly_now(ddb, make_table, sweep):
    t = make_table()
    _enable(ddb, t)
    now = float(int(time.time()) + 500)
    ddb.put_item(TableName=t, Item={"pk": {"S": "a"}, "exp": {"N": str(int(now))}})
    assert sweep(t, now - 0.5) == 0
    assert sweep(t, now) == 1


def test_expiry_removes_index_entries(ddb, make_table, sweep):
    t = make_table(("pk", "S"), ("sk", "S"), gsi={"byg": ("g:S",)}, lsi={"byl": ("pk", "l:S")})
    _enable(ddb, t)
    now = time.time()
    ddb.put_item(TableName=t, Item={"pk": {"S": "p"}, "sk": {"S": "1"}, "g": {"S": "G"}, "l": {"S": "L"},
                                    "exp": {"N": str(now + 50)}})
    assert sweep(t, now + 60) == 1
    r = ddb.query(TableName=t, IndexName="byg", KeyConditionExpression="g = :g",
                  ExpressionAttributeValues={":g": {"S": "G"}})
    assert r["Items"] == []
    r = ddb.query(TableName=t, IndexName="byl", KeyConditionExpression="pk = :p",
                  ExpressionAttributeValues={":p": {"S": "p"}})
    assert r["Items"] == []


def test_more_than_five_years_in_the_past_is_never_deleted(ddb, make_table, sweep):
    t = make_table()
    _enable(ddb, t)
    now = time.time()
    ddb.put_item(TableName=t, Item={"pk": {"S": "ancient"}, "exp": {"N": str(int(now - FIVE_YEARS - 86400))}})
    ddb.put_item(TableName=t, Item={"pk": {"S": "millis"}, "exp": {"N": str(int(now * 1000) + 10**6)}})
    assert sweep(t, now) == 0
    assert _get(ddb, t, {"pk": {"S": "ancient"}}) is not None
    assert _get(ddb, t, {"pk": {"S": "millis"}}) is not None


@pytest.mark.parametrize("value", [{"S": "1"}, {"NS": ["1"]}, {"L": [{"N": "1"}]}, {"BOOL": True}])
def test_a_ttl_attribute_that_is_not_a_number_is_ignored(ddb, make_table, sweep, value):
    t = make_table()
    _enable(ddb, t)
    ddb.put_item(TableName=t, Item={"pk": {"S": "a"}, "exp": value})
    assert sweep(t, time.time() + 10) == 0
    assert _get(ddb, t, {"pk": {"S": "a"}}) is not None


def test_updating_the_attribute_before_expiry_cancels_it(ddb, make_table, sweep):
    t = make_table()
    _enable(ddb, t)
    now = time.time()
    for pk in ("moved", "removed", "kept"):
        ddb.put_item(TableName=t, Item={"pk": {"S": pk}, "exp": {"N": str(int(now + 100))}})
    ddb.update_item(TableName=t, Key={"pk": {"S": "moved"}}, UpdateExpression="SET #e = :e",
                    ExpressionAttributeNames={"#e": "exp"}, ExpressionAttributeValues={":e": {"N": str(int(now + 900))}})
    ddb.update_item(TableName=t, Key={"pk": {"S": "removed"}}, UpdateExpression="REMOVE #e",
                    ExpressionAttributeNames={"#e": "exp"})
    assert sweep(t, now + 200) == 1
    assert _get(ddb, t, {"pk": {"S": "kept"}}) is None
    assert _get(ddb, t, {"pk": {"S": "moved"}}) is not None
    assert _get(ddb, t, {"pk": {"S": "removed"}}) is not None


def test_enabling_ttl_covers_items_written_before(ddb, make_table, sweep):
    t = make_table()
    now = time.time()
    ddb.put_item(TableName=t, Item={"pk": {"S": "a"}, "exp": {"N": str(int(now + 100))}})
    ddb.put_item(TableName=t, Item={"pk": {"S": "b"}, "ttl2": {"N": str(int(now + 100))}})
    assert sweep(t, now + 200) == 0  # TTL not enabled yet
    _enable(ddb, t)
    assert sweep(t, now + 200) == 1
    assert _get(ddb, t, {"pk": {"S": "a"}}) is None
    assert _get(ddb, t, {"pk": {"S": "b"}}) is not None


def test_disabling_ttl_stops_expiry(ddb, make_table, sweep):
    t = make_table()
    _enable(ddb, t)
    now = time.time()
    ddb.put_item(TableName=t, Item={"pk": {"S": "a"}, "exp": {"N": str(int(now + 100))}})
    ddb.update_time_to_live(TableName=t, TimeToLiveSpecification={"Enabled": False, "AttributeName": "exp"})
    assert sweep(None, now + 200) == 0
    assert _get(ddb, t, {"pk": {"S": "a"}}) is not None


def test_sweep_of_missing_table(sweep):
    with pytest.raises(Exception, match="not found"):
        sweep("no-such-table-ttl", None)


# --- the stream -----------------------------------------------------------------------------------------------



def test_expiry_is_a_service_remove_in_the_stream(dynamodb_server, streams, make_table):
    ddb = dynamodb_server
    t = make_table(("pk", "S"), ("sk", "S"), stream="NEW_AND_OLD_IMAGES")
    _enable(ddb, t)
    item = {"pk": {"S": "a"}, "sk": {"S": "b"}, "exp": {"N": str(int(time.time()) - 5)}, "x": {"S": "y"}}
    ddb.put_item(TableName=t, Item=item)
    ddb.put_item(TableName=t, Item={"pk": {"S": "u"}, "sk": {"S": "v"}})
    ddb.delete_item(TableName=t, Key={"pk": {"S": "u"}, "sk": {"S": "v"}})
    removes = wait_for(lambda: [r for r in table_stream_records(ddb, streams, t) if r["eventName"] == "REMOVE"
                                and r["dynamodb"]["Keys"]["pk"]["S"] == "a"], timeout=5)
    (rec,) = removes
    # the Streams API's Identity shape (Lambda events carry the lower-case {"type", "principalId"})
    assert rec["userIdentity"] == {"Type": "Service", "PrincipalId": "dynamodb.amazonaws.com"}
    assert rec["dynamodb"]["OldImage"] == item
    assert "NewImage" not in rec["dynamodb"]
    user_delete = [r for r in table_stream_records(ddb, streams, t) if r["eventName"] == "REMOVE"
                   and r["dynamodb"]["Keys"]["pk"]["S"] == "u"]
    assert len(user_delete) == 1 and "userIdentity" not in user_delete[0]


# --- the command ---------------------------------------------------------------------------------------------
def test_cli_sweep_against_the_server(dynamodb_server, eddy_server, make_table):
    from click.testing import CliRunner

    from eddydb.cli.ttl import ttl

    ddb = dynamodb_server
    t = make_table()
    _enable(ddb, t)
    now = time.time()
    ddb.put_item(TableName=t, Item={"pk": {"S": "a"}, "exp": {"N": str(int(now + 1000))}})
    result = CliRunner().invoke(ttl, ["sweep", t, "--endpoint", eddy_server.url, "--now", str(now + 2000)])
    assert result.exit_code == 0, result.output
    assert "deleted 1 expired item" in result.output
    assert _get(ddb, t, {"pk": {"S": "a"}}) is None
    result = CliRunner().invoke(ttl, ["sweep", "no-such-table-ttl", "--endpoint", eddy_server.url])
    assert result.exit_code != 0 and "ResourceNotFoundException" in result.output


def test_cli_sweep_on_a_data_directory(tmp_path):
    from click.testing import CliRunner

    import eddydb
    from eddydb.cli.ttl import ttl

    db = eddydb.open(str(tmp_path / "d"), background=False)
    try:
        c = db.client("dynamodb")
        c.create_table(TableName="tasks", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                       AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                       BillingMode="PAY_PER_REQUEST")
        _enable(c, "tasks")
        c.put_item(TableName="tasks", Item={"pk": {"S": "a"}, "exp": {"N": "1000"}})
    finally:
        db.close()
    result = CliRunner().invoke(ttl, ["sweep", "--data", str(tmp_path / "d"), "--now", "2000"])
    assert result.exit_code == 0, result.output
    assert "deleted 1 expired item" in result.output
