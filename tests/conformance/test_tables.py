"""CreateTable / DescribeTable / UpdateTable / DeleteTable / ListTables / tags / TTL / DescribeEndpoints."""
from __future__ import annotations

import uuid

from conformance.cfutil import raises

V = "ValidationException"


def _name():
    return "cf-" + uuid.uuid4().hex[:10]


def _create(ddb, name, **kw):
    args = {"TableName": name, "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}], "BillingMode": "PAY_PER_REQUEST"}
    args.update(kw)
    return ddb.create_table(**args)


def test_describe_pay_per_request(ddb, mk):
    t = mk()
    d = ddb.describe_table(TableName=t)["Table"]
    assert d["TableName"] == t and d["TableStatus"] == "ACTIVE"
    assert d["ProvisionedThroughput"] == {"NumberOfDecreasesToday": 0, "ReadCapacityUnits": 0, "WriteCapacityUnits": 0}
    assert d["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert d["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}]
    assert d["AttributeDefinitions"] == [{"AttributeName": "pk", "AttributeType": "S"}]
    assert d["ItemCount"] == 0 and d["TableSizeBytes"] == 0
    assert d["TableArn"].startswith("arn:aws:dynamodb:") and d["TableArn"].endswith(":table/" + t)
    assert "TableId" in d and "CreationDateTime" in d
    assert d.get("DeletionProtectionEnabled") is False


def test_describe_provisioned(ddb, mk):
    t = mk(ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 7})
    d = ddb.describe_table(TableName=t)["Table"]
    assert d["ProvisionedThroughput"]["ReadCapacityUnits"] == 5
    assert d["ProvisionedThroughput"]["WriteCapacityUnits"] == 7
    assert d.get("BillingModeSummary", {}).get("BillingMode", "PROVISIONED") == "PROVISIONED"


def test_describe_gsi_shape(ddb, mk):
    t = mk(gsi={"gsi1": ("g:S", None, "KEYS_ONLY")}, lsi={"lsi1": ("pk", "l:N")}, range_key="sk")
    d = ddb.describe_table(TableName=t)["Table"]
    g = d["GlobalSecondaryIndexes"][0]
    assert g["IndexName"] == "gsi1" and g["IndexStatus"] == "ACTIVE"
    assert g["Projection"] == {"ProjectionType": "KEYS_ONLY"}
    assert g["IndexArn"].endswith(f"table/{t}/index/gsi1")
    assert g["ProvisionedThroughput"]["ReadCapacityUnits"] == 0
    assert "ItemCount" in g and "IndexSizeBytes" in g
    lsi = d["LocalSecondaryIndexes"][0]
    assert lsi["IndexName"] == "lsi1" and "IndexStatus" not in lsi and "ProvisionedThroughput" not in lsi
    assert lsi["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "l", "KeyType": "RANGE"}]


def test_create_table_answers_creating_and_describe_answers_active(ddb):
    n = _name()
    d = _create(ddb, n, AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                              {"AttributeName": "g", "AttributeType": "S"}],
                GlobalSecondaryIndexes=[_gsi("gsi1", "g")])["TableDescription"]
    try:
        assert d["TableStatus"] == "CREATING"
        assert d["GlobalSecondaryIndexes"][0]["IndexStatus"] == "CREATING"
        t = ddb.describe_table(TableName=n)["Table"]
        assert t["TableStatus"] == "ACTIVE" and t["GlobalSecondaryIndexes"][0]["IndexStatus"] == "ACTIVE"
    finally:
        ddb.delete_table(TableName=n)


def test_update_table_answers_updating_and_a_new_index_creating(ddb, mk):
    t = mk(gsi={"gsi1": ("g:S",)})
    d = ddb.update_table(TableName=t, AttributeDefinitions=[{"AttributeName": "h", "AttributeType": "S"}],
                         GlobalSecondaryIndexUpdates=[{"Create": _gsi("gsi2", "h")}])["TableDescription"]
    assert d["TableStatus"] == "UPDATING"
    assert {g["IndexName"]: g["IndexStatus"] for g in d["GlobalSecondaryIndexes"]} == {"gsi1": "ACTIVE",
                                                                                        "gsi2": "CREATING"}
    d = ddb.update_table(TableName=t, StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"})
    assert d["TableDescription"]["TableStatus"] == "UPDATING"
    assert ddb.describe_table(TableName=t)["Table"]["TableStatus"] == "ACTIVE"


def test_update_table_deleting_an_index_answers_it_deleting(ddb, mk):
    t = mk(gsi={"gsi1": ("g:S",), "gsi2": ("h:S",)})
    d = ddb.update_table(TableName=t, GlobalSecondaryIndexUpdates=[{"Delete": {"IndexName": "gsi1"}}])
    assert {g["IndexName"]: g["IndexStatus"] for g in d["TableDescription"]["GlobalSecondaryIndexes"]} == {
        "gsi1": "DELETING", "gsi2": "ACTIVE"}
    assert [g["IndexName"] for g in ddb.describe_table(TableName=t)["Table"]["GlobalSecondaryIndexes"]] == ["gsi2"]


def test_item_count(ddb, mk):
    t = mk()
    for i in range(3):
        ddb.put_item(TableName=t, Item={"pk": {"S": str(i)}})
    assert ddb.describe_table(TableName=t)["Table"]["ItemCount"] in (0, 3)  # DynamoDB updates it ~every 6 hours


def test_create_existing_and_missing(ddb, mk):
    t = mk()
    with raises("ResourceInUseException", f"Table already exists: {t}"):
        _create(ddb, t)
    with raises("ResourceNotFoundException", "Requested resource not found: Table: nosuchtable-x not found"):
        ddb.describe_table(TableName="nosuchtable-x")
    with raises("ResourceNotFoundException", "Requested resource not found: Table: nosuchtable-x not found"):
        ddb.delete_table(TableName="nosuchtable-x")


def test_table_name_validation(ddb):
    with raises(V, "TableName must be at least 3 characters long and at most 255 characters long"):
        _create(ddb, "ab")
    with raises(V, "at 'tableName' failed to satisfy constraint: Member must satisfy regular expression pattern: "
                   r"\[a-zA-Z0-9_.-\]\+"):
        _create(ddb, "bad name!")
    with raises(V, "TableName must be at least 3 characters long and at most 255 characters long"):
        _create(ddb, "x" * 256)
    with raises(V):
        ddb.describe_table(TableName="x" * 256)


def test_create_validation(ddb):
    n = _name()
    with raises(V, "One or more parameter values were invalid: Number of attributes in KeySchema does not exactly "
                   "match number of attributes defined in AttributeDefinitions"):
        _create(ddb, n, AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                              {"AttributeName": "x", "AttributeType": "S"}])
    with raises(V, r"One or more parameter values were invalid: Some index key attributes are not defined in "
                   r"AttributeDefinitions. Keys: \[pk\], AttributeDefinitions: \[x\]"):
        _create(ddb, n, AttributeDefinitions=[{"AttributeName": "x", "AttributeType": "S"}])
    with raises(V, "One or more parameter values were invalid: ReadCapacityUnits and WriteCapacityUnits must both "
                   "be specified when BillingMode is PROVISIONED"):
        _create(ddb, n, BillingMode="PROVISIONED")
    with raises(V, "No provisioned throughput specified for the table|ReadCapacityUnits and WriteCapacityUnits "
                   "must both be specified"):
        ddb.create_table(TableName=n, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                         AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}])
    with raises(V, "One or more parameter values were invalid: Neither ReadCapacityUnits nor WriteCapacityUnits can "
                   "be specified when BillingMode is PAY_PER_REQUEST"):
        _create(ddb, n, ProvisionedThroughput={"ReadCapacityUnits": 1, "WriteCapacityUnits": 1})
    with raises(V):
        _create(ddb, n, KeySchema=[{"AttributeName": "pk", "KeyType": "RANGE"}])
    with raises(V, "Member must satisfy enum value set"):
        _create(ddb, n, AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "BOOL"}])
    with raises(V, "1 validation error detected: Value null at 'keySchema' failed to satisfy constraint: "
                   "Member must not be null"):
        ddb.create_table(TableName=n, AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                         BillingMode="PAY_PER_REQUEST")
    with raises(V, "Duplicate index name: idx1"):
        _create(ddb, n, AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                              {"AttributeName": "g", "AttributeType": "S"}],
                GlobalSecondaryIndexes=[{"IndexName": "idx1", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                                         "Projection": {"ProjectionType": "ALL"}}] * 2)
    with raises("ResourceNotFoundException"):
        ddb.describe_table(TableName=n)


def test_throughput_beyond_any_limit_is_out_of_bounds(ddb, mk):
    huge = 1000000000001
    with raises(V, f"^Given value {huge} for ReadCapacityUnits is out of bounds$"):
        ddb.create_table(TableName=_name(), KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                         AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                         ProvisionedThroughput={"ReadCapacityUnits": huge, "WriteCapacityUnits": huge})
    t = mk(ProvisionedThroughput={"ReadCapacityUnits": 1, "WriteCapacityUnits": 1})
    with raises(V, f"^Given value {huge} for WriteCapacityUnits is out of bounds$"):
        ddb.update_table(TableName=t, ProvisionedThroughput={"ReadCapacityUnits": 2, "WriteCapacityUnits": huge})
    with raises("LimitExceededException"):
        ddb.update_table(TableName=t, ProvisionedThroughput={"ReadCapacityUnits": 2, "WriteCapacityUnits": 40001})


def test_list_tables_paging(ddb, mk):
    names = sorted(mk() for _ in range(3))
    got: list[str] = []
    kw: dict = {"Limit": 2}
    while True:
        r = ddb.list_tables(**kw)
        assert len(r["TableNames"]) <= 2
        got += r["TableNames"]
        if "LastEvaluatedTableName" not in r:
            break
        kw["ExclusiveStartTableName"] = r["LastEvaluatedTableName"]
    assert set(names) <= set(got)
    assert got == sorted(got)
    with raises(V, "Member must have value less than or equal to 100"):
        ddb.list_tables(Limit=101)


def test_tags(ddb, mk):
    t = mk()
    arn = ddb.describe_table(TableName=t)["Table"]["TableArn"]
    assert ddb.list_tags_of_resource(ResourceArn=arn)["Tags"] == []
    ddb.tag_resource(ResourceArn=arn, Tags=[{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}])
    ddb.tag_resource(ResourceArn=arn, Tags=[{"Key": "a", "Value": "3"}])
    tags = {x["Key"]: x["Value"] for x in ddb.list_tags_of_resource(ResourceArn=arn)["Tags"]}
    assert tags == {"a": "3", "b": "2"}
    ddb.untag_resource(ResourceArn=arn, TagKeys=["a", "zz"])
    assert ddb.list_tags_of_resource(ResourceArn=arn)["Tags"] == [{"Key": "b", "Value": "2"}]
    try:  # DynamoDB answers AccessDeniedException (IAM) or ResourceNotFoundException
        ddb.list_tags_of_resource(ResourceArn="arn:aws:dynamodb:us-east-1:000000000000:table/nosuch-xx")
        raise AssertionError("no error")
    except ddb.exceptions.ClientError as e:
        assert e.response["Error"]["Code"] in ("AccessDeniedException", "ResourceNotFoundException")
    with raises(V, "Invalid TableArn"):
        ddb.list_tags_of_resource(ResourceArn="garbage")


def test_tags_on_create(ddb, mk):
    t = mk(Tags=[{"Key": "k", "Value": "v"}])
    arn = ddb.describe_table(TableName=t)["Table"]["TableArn"]
    assert ddb.list_tags_of_resource(ResourceArn=arn)["Tags"] == [{"Key": "k", "Value": "v"}]


def test_ttl_api(ddb, mk):
    t = mk()
    assert ddb.describe_time_to_live(TableName=t)["TimeToLiveDescription"] == {"TimeToLiveStatus": "DISABLED"}
    r = ddb.update_time_to_live(TableName=t, TimeToLiveSpecification={"Enabled": True, "AttributeName": "exp"})
    assert r["TimeToLiveSpecification"] == {"Enabled": True, "AttributeName": "exp"}
    d = ddb.describe_time_to_live(TableName=t)["TimeToLiveDescription"]
    assert d["AttributeName"] == "exp" and d["TimeToLiveStatus"] in ("ENABLED", "ENABLING")
    with raises(V, "TimeToLive is already enabled"):
        ddb.update_time_to_live(TableName=t, TimeToLiveSpecification={"Enabled": True, "AttributeName": "exp"})
    with raises(V):
        ddb.update_time_to_live(TableName=t, TimeToLiveSpecification={"Enabled": False, "AttributeName": "other"})
    ddb.update_time_to_live(TableName=t, TimeToLiveSpecification={"Enabled": False, "AttributeName": "exp"})
    assert ddb.describe_time_to_live(TableName=t)["TimeToLiveDescription"]["TimeToLiveStatus"] in ("DISABLED", "DISABLING")
    with raises("ResourceNotFoundException"):
        ddb.describe_time_to_live(TableName="nosuch-table-x")


def test_describe_endpoints(ddb):
    r = ddb.describe_endpoints()
    assert len(r["Endpoints"]) == 1
    assert r["Endpoints"][0]["CachePeriodInMinutes"] == 1440
    assert isinstance(r["Endpoints"][0]["Address"], str)


def test_update_table_billing_and_gsi(ddb, mk):
    t = mk()
    ddb.put_item(TableName=t, Item={"pk": {"S": "a"}, "g": {"S": "x"}})
    ddb.update_table(TableName=t, AttributeDefinitions=[{"AttributeName": "g", "AttributeType": "S"}],
                     GlobalSecondaryIndexUpdates=[{"Create": {"IndexName": "gsi2",
                                                              "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                                                              "Projection": {"ProjectionType": "ALL"}}}])
    import time
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        g = ddb.describe_table(TableName=t)["Table"]["GlobalSecondaryIndexes"][0]
        if g["IndexStatus"] == "ACTIVE":
            break
        time.sleep(0.05)
    r = ddb.query(TableName=t, IndexName="gsi2", KeyConditionExpression="g = :g",
                  ExpressionAttributeValues={":g": {"S": "x"}})
    assert r["Items"] == [{"pk": {"S": "a"}, "g": {"S": "x"}}]
    with raises(V):
        ddb.update_table(TableName=t)


def test_delete_table_response(ddb):
    n = _name()
    _create(ddb, n)
    d = ddb.delete_table(TableName=n)["TableDescription"]
    assert d["TableName"] == n and d["TableStatus"] in ("DELETING", "ACTIVE")
    with raises("ResourceNotFoundException"):
        ddb.describe_table(TableName=n)


def test_deletion_protection_blocks_delete_table(ddb):
    n = _name()
    _create(ddb, n, DeletionProtectionEnabled=True)
    with raises(V, "^Resource cannot be deleted as it is currently protected against deletion. "
                   "Disable deletion protection first.$"):
        ddb.delete_table(TableName=n)
    assert ddb.describe_table(TableName=n)["Table"]["DeletionProtectionEnabled"] is True
    ddb.update_table(TableName=n, DeletionProtectionEnabled=False)
    assert ddb.delete_table(TableName=n)["TableDescription"]["TableStatus"] == "DELETING"


def test_describe_continuous_backups(ddb, mk):
    t = mk()
    d = ddb.describe_continuous_backups(TableName=t)["ContinuousBackupsDescription"]
    assert d["ContinuousBackupsStatus"] == "ENABLED"
    assert d["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "DISABLED"
    with raises("TableNotFoundException"):
        ddb.describe_continuous_backups(TableName="nosuch-table-x")


def _lsi(name, h, r):
    return {"IndexName": name, "KeySchema": [{"AttributeName": h, "KeyType": "HASH"}, {"AttributeName": r, "KeyType": "RANGE"}],
            "Projection": {"ProjectionType": "ALL"}}


def _gsi(name, h):
    return {"IndexName": name, "KeySchema": [{"AttributeName": h, "KeyType": "HASH"}], "Projection": {"ProjectionType": "ALL"}}


def test_index_validation(ddb):
    n = _name()
    ks = [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}]

    def ad(*names):
        return [{"AttributeName": x, "AttributeType": "S"} for x in ("pk", "sk", *names)]
    with raises(V, "Number of LocalSecondaryIndexes exceeds per-table limit of 5"):
        _create(ddb, n, KeySchema=ks, AttributeDefinitions=ad(*[f"l{i}" for i in range(6)]),
                LocalSecondaryIndexes=[_lsi(f"lsi{i}", "pk", f"l{i}") for i in range(6)])
    with raises(V, "GlobalSecondaryIndex count exceeds the per-table limit of 20"):
        _create(ddb, n, KeySchema=ks, AttributeDefinitions=ad(*[f"g{i}" for i in range(21)]),
                GlobalSecondaryIndexes=[_gsi(f"gsi{i}", f"g{i}") for i in range(21)])
    with raises(V, "Index KeySchema does not have the same leading hash key as table KeySchema for index: lsi"):
        _create(ddb, n, KeySchema=ks, AttributeDefinitions=ad("l"), LocalSecondaryIndexes=[_lsi("lsi", "l", "sk")])
    with raises(V, "Duplicate index name: idx"):
        _create(ddb, n, KeySchema=ks, AttributeDefinitions=ad("l", "g"), LocalSecondaryIndexes=[_lsi("idx", "pk", "l")],
                GlobalSecondaryIndexes=[_gsi("idx", "g")])
    with raises("ResourceNotFoundException"):
        ddb.describe_table(TableName=n)
