"""Conformance audit of Time to Live as AWS documents it, through boto3: UpdateTimeToLive /
DescribeTimeToLive shapes and errors; which values expire (a Number of epoch seconds, not more than
five years old; other types, nested attributes, negative or huge numbers never); every write path
feeding the sweeper; the stream REMOVE per view type with the service userIdentity; expired but
not yet deleted items still seen by reads and conditions; the `eddydb ttl sweep` command.

Expiry is forced with the `sweep(table, now)` fixture at a `now` far in the future, so the session
databases' background sweeper (which uses the real clock) cannot race the assertions."""
from __future__ import annotations

import time

import pytest
from botocore.exceptions import ClientError
from util import make_client, table_stream_records

FIVE_YEARS = 5 * 365 * 24 * 3600
SERVICE = {"Type": "Service", "PrincipalId": "dynamodb.amazonaws.com"}


def _err(exc: pytest.ExceptionInfo) -> tuple[str, str]:
    e = exc.value.response["Error"]
    return e["Code"], e["Message"]


def _ttl(ddb, table: str, enabled: bool = True, attr: str = "exp") -> dict:
    return ddb.update_time_to_live(TableName=table, TimeToLiveSpecification={"Enabled": enabled, "AttributeName": attr})


def _describe(ddb, table: str) -> dict:
    return ddb.describe_time_to_live(TableName=table)["TimeToLiveDescription"]


def _get(ddb, table: str, pk: str) -> dict | None:
    return ddb.get_item(TableName=table, Key={"pk": {"S": pk}}, ConsistentRead=True).get("Item")


def _keys(ddb, table: str) -> set[str]:
    return {i["pk"]["S"] for i in ddb.scan(TableName=table, ConsistentRead=True)["Items"]}


def _later() -> float:
    """A sweep time a day ahead: what is due then is not due for the background sweeper now."""
    return float(int(time.time()) + 86400)


# --- UpdateTimeToLive / DescribeTimeToLive --------------------------------------------------------------
def test_disabling_a_table_that_never_had_ttl_is_already_disabled(ddb, make_table):
    t = make_table()
    with pytest.raises(ClientError) as exc:
        _ttl(ddb, t, enabled=False)
    assert _err(exc) == ("ValidationException", "TimeToLive is already disabled")
    assert _describe(ddb, t) == {"TimeToLiveStatus": "DISABLED"}


def test_describe_after_disabling_shows_disabled_without_attribute_name(ddb, make_table):
    t = make_table()
    _ttl(ddb, t)
    _ttl(ddb, t, enabled=False)
    assert _describe(ddb, t) == {"TimeToLiveStatus": "DISABLED"}


def test_the_changing_attribute_message_names_the_current_attribute(ddb, make_table):
    t = make_table()
    _ttl(ddb, t, attr="expiresAt")
    with pytest.raises(ClientError) as exc:
        _ttl(ddb, t, attr="other")
    assert _err(exc) == ("ValidationException",
                         "TimeToLive is active on a different AttributeName: current AttributeName is expiresAt")
    assert _describe(ddb, t) == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expiresAt"}


def test_a_rejected_update_changes_nothing(ddb, make_table, sweep):
    t = make_table()
    _ttl(ddb, t)
    ddb.put_item(TableName=t, Item={"pk": {"S": "a"}, "exp": {"N": str(_later() - 10)}})
    with pytest.raises(ClientError):
        _ttl(ddb, t, attr="other")
    with pytest.raises(ClientError):
        _ttl(ddb, t, enabled=False, attr="other")
    assert _describe(ddb, t) == {"TimeToLiveStatus": "ENABLED", "AttributeName": "exp"}
    assert sweep(t, _later()) == 1


def test_reenabling_on_another_attribute_after_disabling(ddb, make_table, sweep):
    t = make_table()
    _ttl(ddb, t)
    later = _later()
    ddb.put_item(TableName=t, Item={"pk": {"S": "old-attr"}, "exp": {"N": str(later - 10)}})
    ddb.put_item(TableName=t, Item={"pk": {"S": "new-attr"}, "gone": {"N": str(later - 10)}})
    _ttl(ddb, t, enabled=False)
    r = _ttl(ddb, t, attr="gone")
    assert r["TimeToLiveSpecification"] == {"Enabled": True, "AttributeName": "gone"}
    assert _describe(ddb, t) == {"TimeToLiveStatus": "ENABLED", "AttributeName": "gone"}
    assert sweep(t, later) == 1
    assert _keys(ddb, t) == {"old-attr"}


@pytest.mark.parametrize("name", ["a.b", "with space", "#x", ":v", "é" * 10, "x" * 255])
def test_any_attribute_name_of_1_to_255_characters_is_accepted(ddb, make_table, sweep, name):
    """The name is a top-level attribute name, taken literally (no document path)."""
    t = make_table()
    r = _ttl(ddb, t, attr=name)
    assert r["TimeToLiveSpecification"] == {"Enabled": True, "AttributeName": name}
    assert _describe(ddb, t) == {"TimeToLiveStatus": "ENABLED", "AttributeName": name}
    ddb.put_item(TableName=t, Item={"pk": {"S": "a"}, name: {"N": str(_later() - 1)}})
    assert sweep(t, _later()) == 1


def test_an_attribute_name_longer_than_255_is_a_validation_error(ddb, make_table):
    t = make_table()
    name = "x" * 256
    with pytest.raises(ClientError) as exc:
        _ttl(ddb, t, attr=name)
    assert _err(exc) == ("ValidationException", (
        f"1 validation error detected: Value '{name}' at 'timeToLiveSpecification.attributeName' failed to "
        "satisfy constraint: Member must have length less than or equal to 255"))
    assert _describe(ddb, t) == {"TimeToLiveStatus": "DISABLED"}


def test_both_members_missing_are_reported_together(ddb, make_table):
    t = make_table()
    with pytest.raises(ClientError) as exc:
        ddb.update_time_to_live(TableName=t, TimeToLiveSpecification={})
    assert _err(exc) == ("ValidationException", (
        "2 validation errors detected: Value null at 'timeToLiveSpecification.enabled' failed to satisfy "
        "constraint: Member must not be null; Value null at 'timeToLiveSpecification.attributeName' failed "
        "to satisfy constraint: Member must not be null"))


@pytest.mark.parametrize("spec", [{"Enabled": 1, "AttributeName": "exp"}, {"Enabled": True, "AttributeName": 5}])
def test_wrong_json_types_are_serialization_errors(ddb, make_table, spec):
    t = make_table()
    with pytest.raises(ClientError) as exc:
        ddb.update_time_to_live(TableName=t, TimeToLiveSpecification=spec)
    assert _err(exc)[0] == "SerializationException"
    assert _describe(ddb, t) == {"TimeToLiveStatus": "DISABLED"}


def test_missing_table_messages(ddb):
    for call in (lambda: ddb.describe_time_to_live(TableName="no-such-table-audit-ttl"),
                 lambda: _ttl(ddb, "no-such-table-audit-ttl")):
        with pytest.raises(ClientError) as exc:
            call()
        assert _err(exc) == ("ResourceNotFoundException",
                             "Requested resource not found: Table: no-such-table-audit-ttl not found")


def test_the_table_arn_names_the_table(ddb, make_table):
    t = make_table()
    arn = ddb.describe_table(TableName=t)["Table"]["TableArn"]
    assert _ttl(ddb, arn)["TimeToLiveSpecification"] == {"Enabled": True, "AttributeName": "exp"}
    assert _describe(ddb, arn) == {"TimeToLiveStatus": "ENABLED", "AttributeName": "exp"}
    assert _describe(ddb, t) == {"TimeToLiveStatus": "ENABLED", "AttributeName": "exp"}


# --- which items expire -------------------------------------------------------------------------------
def test_only_numbers_within_five_years_before_now_expire(ddb, make_table, sweep):
    t = make_table()
    _ttl(ddb, t)
    now = _later()
    values = {
        "due-half-second-ago": str(now - 0.5),
        "due-exactly-now": str(int(now)),
        "due-almost-five-years-ago": str(int(now - FIVE_YEARS + 60)),
        "due-exponent": f"0.{int(now) - 7}E10",
        "half-second-ahead": str(now + 0.5),
        # more than five years before the sweep time AND before the real clock: the background sweeper of a
        # shared server (real clock, a day behind `now`) would otherwise find it within five years and due
        "more-than-five-years-ago": str(int(now - FIVE_YEARS - 2 * 86400)),
        "zero": "0",
        "negative": "-5",
        "negative-now": str(-int(now)),
        "milliseconds": str(int(now * 1000)),
        "huge": "9.9999999999999999999999999999999999999E+125",
        "tiny": "1E-130",
    }
    for pk, v in values.items():
        ddb.put_item(TableName=t, Item={"pk": {"S": pk}, "exp": {"N": v}})
    sweep(t, now)  # (the background sweeper may already have taken the one due on the real clock)
    assert _keys(ddb, t) == {k for k in values if not k.startswith("due-")}


@pytest.mark.parametrize("value", [
    {"S": "1000"}, {"SS": ["1000"]}, {"NS": ["1000"]}, {"BS": [b"1"]}, {"B": b"1000"}, {"NULL": True},
    {"BOOL": False}, {"L": [{"N": "1000"}]}, {"M": {"exp": {"N": "1000"}}},
])
def test_a_ttl_attribute_of_another_type_never_expires(ddb, make_table, sweep, value):
    t = make_table()
    _ttl(ddb, t)
    ddb.put_item(TableName=t, Item={"pk": {"S": "a"}, "exp": value})
    assert sweep(t, 2000.0) == 0
    assert _get(ddb, t, "a") is not None


def test_a_nested_attribute_of_that_name_does_not_count(ddb, make_table, sweep):
    t = make_table()
    _ttl(ddb, t)
    later = _later()
    ddb.put_item(TableName=t, Item={"pk": {"S": "nested"}, "doc": {"M": {"exp": {"N": str(later - 5)}}}})
    ddb.put_item(TableName=t, Item={"pk": {"S": "in-list"}, "doc": {"L": [{"M": {"exp": {"N": str(later - 5)}}}]}})
    assert sweep(t, later) == 0
    assert _keys(ddb, t) == {"nested", "in-list"}


def test_the_sort_key_can_be_the_ttl_attribute(ddb, make_table, sweep):
    t = make_table(("pk", "S"), ("exp", "N"))
    _ttl(ddb, t)
    later = _later()
    for sk in (later - 20, later - 10, later + 10):
        ddb.put_item(TableName=t, Item={"pk": {"S": "p"}, "exp": {"N": str(int(sk))}})
    assert sweep(t, later) == 2
    r = ddb.query(TableName=t, KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "p"}},
                  ConsistentRead=True)
    assert [i["exp"]["N"] for i in r["Items"]] == [str(int(later + 10))]


def test_an_index_keyed_on_the_ttl_attribute_loses_the_entry(ddb, make_table, sweep):
    t = make_table(gsi={"byexp": ("kind:S", "exp:N", "KEYS_ONLY")})
    _ttl(ddb, t)
    later = _later()
    ddb.put_item(TableName=t, Item={"pk": {"S": "a"}, "kind": {"S": "k"}, "exp": {"N": str(int(later - 1))}})
    ddb.put_item(TableName=t, Item={"pk": {"S": "b"}, "kind": {"S": "k"}, "exp": {"N": str(int(later + 1))}})
    assert sweep(t, later) == 1
    r = ddb.query(TableName=t, IndexName="byexp", KeyConditionExpression="kind = :k",
                  ExpressionAttributeValues={":k": {"S": "k"}})
    assert [i["pk"]["S"] for i in r["Items"]] == ["b"]


def test_every_write_path_is_seen_by_the_sweeper(ddb, make_table, sweep):
    t = make_table()
    _ttl(ddb, t)
    later = _later()
    due = {"N": str(int(later - 1))}
    ddb.put_item(TableName=t, Item={"pk": {"S": "put"}, "exp": due})
    ddb.update_item(TableName=t, Key={"pk": {"S": "update"}}, UpdateExpression="SET #e = :e",
                    ExpressionAttributeNames={"#e": "exp"}, ExpressionAttributeValues={":e": due})
    ddb.update_item(TableName=t, Key={"pk": {"S": "legacy-update"}},
                    AttributeUpdates={"exp": {"Value": due, "Action": "PUT"}})
    ddb.update_item(TableName=t, Key={"pk": {"S": "add"}}, UpdateExpression="ADD #e :e",
                    ExpressionAttributeNames={"#e": "exp"}, ExpressionAttributeValues={":e": due})
    ddb.batch_write_item(RequestItems={t: [{"PutRequest": {"Item": {"pk": {"S": "batch"}, "exp": due}}}]})
    ddb.transact_write_items(TransactItems=[
        {"Put": {"TableName": t, "Item": {"pk": {"S": "transact-put"}, "exp": due}}},
        {"Update": {"TableName": t, "Key": {"pk": {"S": "transact-update"}}, "UpdateExpression": "SET #e = :e",
                    "ExpressionAttributeNames": {"#e": "exp"}, "ExpressionAttributeValues": {":e": due}}}])
    ddb.execute_statement(Statement=f"INSERT INTO \"{t}\" VALUE {{'pk': 'partiql', 'exp': {due['N']}}}")
    ddb.put_item(TableName=t, Item={"pk": {"S": "keep"}, "exp": {"N": str(int(later + 100))}})
    assert sweep(t, later) == 8
    assert _keys(ddb, t) == {"keep"}


def test_writes_that_change_the_attribute_before_the_sweep(ddb, make_table, sweep):
    """Removing the attribute, moving it later or making it a String saves the item; a write that
    leaves it alone (or moves it earlier) does not."""
    t = make_table()
    _ttl(ddb, t)
    later = _later()
    for pk in ("removed", "later", "string", "other-attr", "earlier", "replaced-without"):
        ddb.put_item(TableName=t, Item={"pk": {"S": pk}, "exp": {"N": str(int(later + 100))}, "v": {"N": "0"}})

    def update(pk: str, expr: str, values: dict | None = None) -> None:
        kw: dict = {"ExpressionAttributeNames": {"#e": "exp"}} if "#e" in expr else {}
        if values:
            kw["ExpressionAttributeValues"] = values
        ddb.update_item(TableName=t, Key={"pk": {"S": pk}}, UpdateExpression=expr, **kw)

    update("removed", "REMOVE #e")
    update("later", "SET #e = :e", {":e": {"N": str(int(later + 10**6))}})
    update("string", "SET #e = :e", {":e": {"S": str(int(later - 100))}})
    update("other-attr", "SET v = :v", {":v": {"N": "1"}})
    update("earlier", "SET #e = :e", {":e": {"N": str(int(later - 100))}})
    ddb.put_item(TableName=t, Item={"pk": {"S": "replaced-without"}})
    assert sweep(t, later + 200) == 2
    assert _keys(ddb, t) == {"removed", "later", "string", "replaced-without"}


def test_disabling_stops_deletion_and_reenabling_resumes_it(ddb, make_table, sweep):
    t = make_table()
    _ttl(ddb, t)
    later = _later()
    ddb.put_item(TableName=t, Item={"pk": {"S": "before"}, "exp": {"N": str(int(later - 5))}})
    _ttl(ddb, t, enabled=False)
    ddb.put_item(TableName=t, Item={"pk": {"S": "while-off"}, "exp": {"N": str(int(later - 5))}})
    assert sweep(t, later) == 0
    assert _keys(ddb, t) == {"before", "while-off"}
    _ttl(ddb, t)
    assert sweep(t, later) == 2
    assert _keys(ddb, t) == set()


def test_a_sweep_of_one_table_leaves_the_others(ddb, make_table, sweep):
    t1, t2 = make_table(), make_table()
    _ttl(ddb, t1)
    _ttl(ddb, t2)
    later = _later()
    for t in (t1, t2):
        ddb.put_item(TableName=t, Item={"pk": {"S": "a"}, "exp": {"N": str(int(later - 5))}})
    assert sweep(t1, later) == 1
    assert _get(ddb, t1, "a") is None
    assert _get(ddb, t2, "a") is not None


# --- expired but not yet deleted --------------------------------------------------------------------------
@pytest.fixture(params=["server", "embedded"])
def idle(request, tmp_path, server_factory):
    """(client, sweep) on a database whose background sweeper does not run during the test, so an
    item expired on the real clock stays until the explicit sweep."""
    if request.param == "server":
        from eddydb.cli.ttl import _sweep_remote

        srv = server_factory(args=["--ttl-interval", "24h"])
        yield make_client("dynamodb", srv.url), (lambda table, now=None: _sweep_remote(srv.url, table, now))
        return
    import eddydb

    db = eddydb.open(str(tmp_path / "idle"), background=False)
    try:
        yield db.client("dynamodb"), db.ttl_sweep
    finally:
        db.close()


def _idle_table(client) -> str:
    client.create_table(TableName="tasks", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                        BillingMode="PAY_PER_REQUEST")
    _ttl(client, "tasks")
    return "tasks"


def test_an_expired_item_not_yet_deleted_is_still_read_and_seen_by_conditions(idle):
    """DynamoDB: items that have expired but have not been deleted yet still appear in reads, queries
    and scans, and a condition expression still sees them."""
    c, sweep = idle
    t = _idle_table(c)
    c.put_item(TableName=t, Item={"pk": {"S": "a"}, "exp": {"N": str(int(time.time()) - 60)}, "v": {"N": "1"}})
    assert _get(c, t, "a") is not None
    assert _keys(c, t) == {"a"}
    r = c.query(TableName=t, KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "a"}})
    assert r["Count"] == 1
    with pytest.raises(ClientError) as exc:
        c.put_item(TableName=t, Item={"pk": {"S": "a"}}, ConditionExpression="attribute_not_exists(pk)")
    assert _err(exc)[0] == "ConditionalCheckFailedException"
    r = c.update_item(TableName=t, Key={"pk": {"S": "a"}}, UpdateExpression="SET v = v + :one",
                      ConditionExpression="attribute_exists(pk)", ExpressionAttributeValues={":one": {"N": "1"}},
                      ReturnValues="ALL_NEW")
    assert r["Attributes"]["v"] == {"N": "2"}  # still expired: the update did not touch `exp`
    with pytest.raises(ClientError) as exc:
        c.transact_write_items(TransactItems=[{"ConditionCheck": {
            "TableName": t, "Key": {"pk": {"S": "a"}}, "ConditionExpression": "attribute_not_exists(pk)"}}])
    assert _err(exc)[0] == "TransactionCanceledException"
    assert sweep(t) == 1
    c.put_item(TableName=t, Item={"pk": {"S": "a"}}, ConditionExpression="attribute_not_exists(pk)")
    assert _get(c, t, "a") == {"pk": {"S": "a"}}


def _fill(c, t: str, n: int, item) -> None:
    for start in range(0, n, 25):
        c.batch_write_item(RequestItems={t: [{"PutRequest": {"Item": item(i)}} for i in range(start, min(n, start + 25))]})


def test_one_sweep_deletes_more_than_one_probe_of_candidates(idle):
    """Every due item goes in one sweep, however many (the sweeper reads candidates 512 at a time)."""
    c, sweep = idle
    t = _idle_table(c)
    now = 2_000_000_000
    _fill(c, t, 1500, lambda i: {"pk": {"S": f"k{i}"}, "exp": {"N": str(now - i % 7)}})
    c.put_item(TableName=t, Item={"pk": {"S": "keep"}, "exp": {"N": str(now + 1)}})
    assert sweep(t, now) == 1500
    assert c.scan(TableName=t, Select="COUNT", ConsistentRead=True)["Count"] == 1


def test_switching_the_attribute_on_many_items_forgets_the_old_one(idle):
    """Disabling clears what the old attribute scheduled for every item (past one backfill page),
    so after enabling on another attribute only that attribute's due items expire."""
    c, sweep = idle
    t = _idle_table(c)
    now = 2_000_000_000
    _fill(c, t, 2100, lambda i: {"pk": {"S": f"k{i}"}, "exp": {"N": str(now - 10)},
                                 **({"other": {"N": str(now - 10)}} if i % 1000 == 999 else {})})
    _ttl(c, t, enabled=False)
    _ttl(c, t, attr="other")
    assert sweep(t, now) == 2
    assert c.scan(TableName=t, Select="COUNT", ConsistentRead=True)["Count"] == 2098


# --- the stream -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("view", ["KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES"])
def test_the_expiry_remove_record_per_view_type(dynamodb_server, streams, make_table, sweep_server, view):
    ddb = dynamodb_server
    t = make_table(("pk", "S"), ("sk", "N"), stream=view)
    _ttl(ddb, t)
    later = _later()
    item = {"pk": {"S": "a"}, "sk": {"N": "1"}, "exp": {"N": str(int(later - 5))}, "x": {"SS": ["p", "q"]}}
    ddb.put_item(TableName=t, Item=item)
    assert sweep_server(t, later) == 1
    records = table_stream_records(ddb, streams, t)
    assert [r["eventName"] for r in records] == ["INSERT", "REMOVE"]
    rec = records[1]
    assert rec["userIdentity"] == SERVICE
    assert rec["eventSource"] == "aws:dynamodb"
    d = rec["dynamodb"]
    assert d["Keys"] == {"pk": {"S": "a"}, "sk": {"N": "1"}}
    assert d["StreamViewType"] == view
    assert "NewImage" not in d
    if view in ("OLD_IMAGE", "NEW_AND_OLD_IMAGES"):
        assert d["OldImage"] == item
    else:
        assert "OldImage" not in d
    assert "userIdentity" not in records[0]


def test_no_record_when_the_sweep_finds_nothing(dynamodb_server, streams, make_table, sweep_server):
    ddb = dynamodb_server
    t = make_table(stream="NEW_AND_OLD_IMAGES")
    _ttl(ddb, t)
    ddb.put_item(TableName=t, Item={"pk": {"S": "a"}, "exp": {"N": str(int(_later() + 100))}})
    assert sweep_server(t, _later()) == 0
    assert [r["eventName"] for r in table_stream_records(ddb, streams, t)] == ["INSERT"]


@pytest.fixture
def sweep_server(eddy_server):
    from eddydb.cli.ttl import _sweep_remote

    return lambda table=None, now=None: _sweep_remote(eddy_server.url, table, now)


def test_the_attribute_name_length_counts_utf16_code_units(ddb, make_table):
    """Coral's length constraint is Java's String.length(): a character outside the BMP counts 2."""
    t = make_table()
    ok = "\U0001F600" * 127 + "x"  # 255 UTF-16 code units
    assert _ttl(ddb, t, attr=ok)["TimeToLiveSpecification"]["AttributeName"] == ok
    t2 = make_table()
    too_long = "\U0001F600" * 128  # 128 characters, 256 code units
    with pytest.raises(ClientError) as exc:
        _ttl(ddb, t2, attr=too_long)
    code, msg = _err(exc)
    assert code == "ValidationException"
    assert msg.endswith("at 'timeToLiveSpecification.attributeName' failed to satisfy constraint: "
                        "Member must have length less than or equal to 255")
    assert _describe(ddb, t2) == {"TimeToLiveStatus": "DISABLED"}


# --- the command ----------------------------------------------------------------------------------------------
def test_cli_sweep_refuses_a_directory_without_a_database(tmp_path):
    from click.testing import CliRunner

    from eddydb.cli.ttl import ttl

    missing = tmp_path / "typo"
    result = CliRunner().invoke(ttl, ["sweep", "--data", str(missing)])
    assert result.exit_code == 1
    assert "no eddydb database in" in result.output
    assert not missing.exists()  # nothing was created there


@pytest.mark.parametrize("now", ["nan", "inf", "-inf"])
def test_cli_sweep_refuses_a_now_that_is_not_a_time(tmp_path, now):
    from click.testing import CliRunner

    from eddydb.cli.ttl import ttl

    result = CliRunner().invoke(ttl, ["sweep", "--endpoint", "http://127.0.0.1:9", "--now", now])
    assert result.exit_code == 2
    assert "is not a number of epoch seconds" in result.output


def test_cli_sweep_needs_one_of_endpoint_or_data(tmp_path):
    from click.testing import CliRunner

    from eddydb.cli.ttl import ttl

    result = CliRunner().invoke(ttl, ["sweep", "--endpoint", "http://127.0.0.1:9", "--data", str(tmp_path)])
    assert result.exit_code == 2 and "not both" in result.output


def test_cli_sweep_counts_in_the_singular_and_plural(tmp_path):
    from click.testing import CliRunner

    import eddydb
    from eddydb.cli.ttl import ttl

    db = eddydb.open(str(tmp_path / "d"), background=False)
    try:
        c = db.client("dynamodb")
        _idle_table(c)
        for pk in ("a", "b"):
            c.put_item(TableName="tasks", Item={"pk": {"S": pk}, "exp": {"N": "1000"}})
    finally:
        db.close()
    result = CliRunner().invoke(ttl, ["sweep", "tasks", "--data", str(tmp_path / "d"), "--now", "2000"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "deleted 2 expired items (table tasks)"
    result = CliRunner().invoke(ttl, ["sweep", "--data", str(tmp_path / "d"), "--now", "2000"])
    assert result.output.strip() == "deleted 0 expired items (all tables)"
    result = CliRunner().invoke(ttl, ["sweep", "nope", "--data", str(tmp_path / "d")])
    assert result.exit_code == 1 and "ResourceNotFoundException" in result.output
