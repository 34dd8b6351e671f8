"""The table control plane through boto3: CreateTable validation and shapes, DescribeTable,
ListTables paging, UpdateTable (billing, throughput, GSIs, streams, deletion protection),
DeleteTable, tags, limits and endpoints."""
from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError


def _name(prefix: str = "tbl") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def _err(exc: pytest.ExceptionInfo) -> tuple[str, str]:
    e = exc.value.response["Error"]
    return e["Code"], e["Message"]


def _create(ddb: Any, name: str, **kw: Any) -> dict:
    params: dict[str, Any] = {
        "TableName": name,
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
        "BillingMode": "PAY_PER_REQUEST",
    }
    params.update(kw)
    return ddb.create_table(**params)


@pytest.fixture
def cleanup(ddb: Any):
    names: list[str] = []
    yield names
    for n in names:
        try:
            ddb.update_table(TableName=n, DeletionProtectionEnabled=False)
        except ClientError:
            pass
        try:
            ddb.delete_table(TableName=n)
        except ClientError:
            pass


# --- CreateTable / DescribeTable -----------------------------------------------------------------------
def test_create_table_returns_creating_description_with_dynamodb_shape(ddb, cleanup, region):
    name = _name()
    cleanup.append(name)
    d = _create(ddb, name, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                                      {"AttributeName": "sk", "KeyType": "RANGE"}],
                AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                      {"AttributeName": "sk", "AttributeType": "N"}])["TableDescription"]
    assert d["TableStatus"] == "CREATING"
    assert d["TableName"] == name
    assert d["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}]
    assert re.fullmatch(rf"arn:aws:dynamodb:{region}:\d{{12}}:table/{name}", d["TableArn"])
    assert re.fullmatch(r"[0-9a-f-]{36}", d["TableId"])
    assert d["ItemCount"] == 0 and d["TableSizeBytes"] == 0
    assert d["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert d["ProvisionedThroughput"] == {"NumberOfDecreasesToday": 0, "ReadCapacityUnits": 0,
                                          "WriteCapacityUnits": 0}
    assert d["DeletionProtectionEnabled"] is False
    t = ddb.describe_table(TableName=name)["Table"]
    assert t["TableStatus"] == "ACTIVE"
    assert t["TableArn"] == d["TableArn"] and t["TableId"] == d["TableId"]
    assert t["CreationDateTime"] == d["CreationDateTime"]


def test_table_is_usable_right_after_create(ddb, cleanup):
    name = _name()
    cleanup.append(name)
    _create(ddb, name)
    ddb.put_item(TableName=name, Item={"pk": {"S": "a"}})
    assert ddb.describe_table(TableName=name)["Table"]["ItemCount"] == 1


def test_provisioned_table_describes_its_throughput(ddb, cleanup):
    name = _name()
    cleanup.append(name)
    d = _create(ddb, name, BillingMode="PROVISIONED",
                ProvisionedThroughput={"ReadCapacityUnits": 3, "WriteCapacityUnits": 4})["TableDescription"]
    assert d["ProvisionedThroughput"]["ReadCapacityUnits"] == 3
    assert d["ProvisionedThroughput"]["WriteCapacityUnits"] == 4
    assert d["ProvisionedThroughput"]["NumberOfDecreasesToday"] == 0


def test_create_existing_table_is_resource_in_use(ddb, cleanup):
    name = _name()
    cleanup.append(name)
    _create(ddb, name)
    with pytest.raises(ClientError) as exc:
        _create(ddb, name)
    assert _err(exc) == ("ResourceInUseException", f"Table already exists: {name}")


@pytest.mark.parametrize("bad", ["ab", "x" * 256])
def test_table_name_length(ddb, bad):
    with pytest.raises(ClientError) as exc:
        _create(ddb, bad)
    assert _err(exc) == ("ValidationException",
                         "TableName must be at least 3 characters long and at most 255 characters long")


def test_table_name_longer_than_the_model_allows(ddb):
    with pytest.raises(ClientError) as exc:
        _create(ddb, "n" * 1025)
    code, msg = _err(exc)
    assert code == "ValidationException"
    assert msg.startswith("1 validation error detected: Value 'nnnnn")
    assert msg.endswith("at 'tableName' failed to satisfy constraint: Member must have length less than or equal to 1024")


def test_table_name_characters(ddb):
    with pytest.raises(ClientError) as exc:
        _create(ddb, "bad name!")
    assert _err(exc) == ("ValidationException",
                         ("1 validation error detected: Value 'bad name!' at 'tableName' failed to satisfy "
                         "constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+"))


def test_key_attribute_not_defined(ddb):
    with pytest.raises(ClientError) as exc:
        _create(ddb, _name(), AttributeDefinitions=[{"AttributeName": "x", "AttributeType": "S"}])
    assert _err(exc) == ("ValidationException",
                         ("One or more parameter values were invalid: Some index key attributes are not defined in "
                         "AttributeDefinitions. Keys: [pk], AttributeDefinitions: [x]"))


def test_extra_attribute_definition_without_indexes(ddb):
    with pytest.raises(ClientError) as exc:
        _create(ddb, _name(), AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                                    {"AttributeName": "x", "AttributeType": "S"}])
    assert _err(exc) == ("ValidationException",
                         ("One or more parameter values were invalid: Number of attributes in KeySchema does not "
                         "exactly match number of attributes defined in AttributeDefinitions"))


def test_unused_attribute_definition_with_index(ddb):
    with pytest.raises(ClientError) as exc:
        _create(ddb, _name(),
                AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                      {"AttributeName": "g", "AttributeType": "S"},
                                      {"AttributeName": "x", "AttributeType": "S"}],
                GlobalSecondaryIndexes=[{"IndexName": "gidx", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                                         "Projection": {"ProjectionType": "ALL"}}])
    code, msg = _err(exc)
    assert code == "ValidationException"
    assert msg.startswith("One or more parameter values were invalid: Some AttributeDefinitions are not used.")


def test_index_key_not_defined(ddb):
    with pytest.raises(ClientError) as exc:
        _create(ddb, _name(),
                GlobalSecondaryIndexes=[{"IndexName": "gidx", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                                         "Projection": {"ProjectionType": "ALL"}}])
    assert _err(exc) == ("ValidationException",
                         ("One or more parameter values were invalid: Some index key attributes are not defined in "
                         "AttributeDefinitions. Keys: [g], AttributeDefinitions: [pk]"))


def test_first_key_must_be_hash(ddb):
    with pytest.raises(ClientError) as exc:
        _create(ddb, _name(), KeySchema=[{"AttributeName": "pk", "KeyType": "RANGE"}])
    assert _err(exc) == ("ValidationException", "Invalid KeySchema: The first KeySchemaElement is not a HASH key type")


def test_bad_key_type_enum(ddb):
    with pytest.raises(ClientError) as exc:
        _create(ddb, _name(), KeySchema=[{"AttributeName": "pk", "KeyType": "PRIMARY"}])
    code, msg = _err(exc)
    assert code == "ValidationException"
    assert "keySchema.1.member.keyType" in msg and "[HASH, RANGE]" in msg


def test_bad_attribute_type_enum(ddb):
    with pytest.raises(ClientError) as exc:
        _create(ddb, _name(), AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "Q"}])
    assert _err(exc) == ("ValidationException",
                         ("1 validation error detected: Value 'Q' at 'attributeDefinitions.1.member.attributeType' "
                         "failed to satisfy constraint: Member must satisfy enum value set: [S, N, B]"))


def test_provisioned_needs_throughput(ddb):
    with pytest.raises(ClientError) as exc:
        _create(ddb, _name(), BillingMode="PROVISIONED")
    assert _err(exc) == ("ValidationException",
                         ("One or more parameter values were invalid: ReadCapacityUnits and WriteCapacityUnits must "
                         "both be specified when BillingMode is PROVISIONED"))


def test_pay_per_request_forbids_throughput(ddb):
    with pytest.raises(ClientError) as exc:
        _create(ddb, _name(), ProvisionedThroughput={"ReadCapacityUnits": 1, "WriteCapacityUnits": 1})
    code, msg = _err(exc)
    assert code == "ValidationException" and "PAY_PER_REQUEST" in msg


def test_throughput_must_be_positive(ddb):
    with pytest.raises(ClientError) as exc:
        _create(ddb, _name(), BillingMode="PROVISIONED",
                ProvisionedThroughput={"ReadCapacityUnits": 0, "WriteCapacityUnits": 1})
    assert _err(exc) == ("ValidationException",
                         ("1 validation error detected: Value '0' at 'provisionedThroughput.readCapacityUnits' failed "
                         "to satisfy constraint: Member must have value greater than or equal to 1"))


def _lsi(name: str, hash_key: str = "pk", range_key: str = "l", projection: dict | None = None) -> dict:
    return {"IndexName": name, "KeySchema": [{"AttributeName": hash_key, "KeyType": "HASH"},
                                             {"AttributeName": range_key, "KeyType": "RANGE"}],
            "Projection": projection or {"ProjectionType": "ALL"}}


def _defs(*names: str) -> list[dict]:
    return [{"AttributeName": n, "AttributeType": "S"} for n in names]


_HASH_RANGE = [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}]


def test_lsi_needs_table_range_key(ddb):
    with pytest.raises(ClientError) as exc:
        _create(ddb, _name(), AttributeDefinitions=_defs("pk", "l"), LocalSecondaryIndexes=[_lsi("lidx")])
    code, msg = _err(exc)
    assert code == "ValidationException" and "range key" in msg


def test_lsi_must_share_the_hash_key(ddb):
    with pytest.raises(ClientError) as exc:
        _create(ddb, _name(), KeySchema=_HASH_RANGE, AttributeDefinitions=_defs("pk", "sk", "l", "h"),
                LocalSecondaryIndexes=[_lsi("lidx", hash_key="h")])
    code, msg = _err(exc)
    assert code == "ValidationException" and "same leading hash key" in msg


def test_at_most_five_lsis(ddb):
    names = [f"l{i}" for i in range(6)]
    with pytest.raises(ClientError) as exc:
        _create(ddb, _name(), KeySchema=_HASH_RANGE, AttributeDefinitions=_defs("pk", "sk", *names),
                LocalSecondaryIndexes=[_lsi(f"lidx{i}", range_key=n) for i, n in enumerate(names)])
    code, msg = _err(exc)
    assert code == "ValidationException" and "5" in msg


def test_at_most_twenty_gsis(ddb):
    names = [f"g{i}" for i in range(21)]
    gsis = [{"IndexName": f"gidx{i}", "KeySchema": [{"AttributeName": n, "KeyType": "HASH"}],
             "Projection": {"ProjectionType": "KEYS_ONLY"}} for i, n in enumerate(names)]
    with pytest.raises(ClientError) as exc:
        _create(ddb, _name(), AttributeDefinitions=_defs("pk", *names), GlobalSecondaryIndexes=gsis)
    code, msg = _err(exc)
    assert code in ("ValidationException", "LimitExceededException") and "20" in msg


def test_projection_all_with_non_key_attributes_is_invalid(ddb):
    with pytest.raises(ClientError) as exc:
        _create(ddb, _name(), KeySchema=_HASH_RANGE, AttributeDefinitions=_defs("pk", "sk", "l"),
                LocalSecondaryIndexes=[_lsi("lidx", projection={"ProjectionType": "ALL", "NonKeyAttributes": ["a"]})])
    assert _err(exc) == ("ValidationException", ("One or more parameter values were invalid: ProjectionType is ALL, "
                                                "but NonKeyAttributes is specified"))


def test_indexes_are_described_with_projection_and_arn(ddb, cleanup):
    name = _name()
    cleanup.append(name)
    _create(ddb, name, KeySchema=_HASH_RANGE, AttributeDefinitions=_defs("pk", "sk", "l", "g"),
            LocalSecondaryIndexes=[_lsi("lidx", projection={"ProjectionType": "INCLUDE", "NonKeyAttributes": ["a"]})],
            GlobalSecondaryIndexes=[{"IndexName": "gidx", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                                     "Projection": {"ProjectionType": "KEYS_ONLY"}}])
    t = ddb.describe_table(TableName=name)["Table"]
    (lsi,) = t["LocalSecondaryIndexes"]
    (gsi,) = t["GlobalSecondaryIndexes"]
    assert lsi["Projection"] == {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["a"]}
    assert lsi["IndexArn"] == t["TableArn"] + "/index/lidx"
    assert gsi["IndexStatus"] == "ACTIVE" and gsi["IndexArn"] == t["TableArn"] + "/index/gidx"
    assert gsi["Projection"] == {"ProjectionType": "KEYS_ONLY"}
    assert "ProvisionedThroughput" in gsi and "ItemCount" in gsi and "IndexSizeBytes" in gsi


def test_table_class_tags_and_sse_at_create(ddb, cleanup):
    name = _name()
    cleanup.append(name)
    _create(ddb, name, TableClass="STANDARD_INFREQUENT_ACCESS", Tags=[{"Key": "team", "Value": "a"}],
            SSESpecification={"Enabled": True})
    t = ddb.describe_table(TableName=name)["Table"]
    assert t["TableClassSummary"]["TableClass"] == "STANDARD_INFREQUENT_ACCESS"
    assert t["SSEDescription"]["Status"] == "ENABLED"
    assert ddb.list_tags_of_resource(ResourceArn=t["TableArn"])["Tags"] == [{"Key": "team", "Value": "a"}]


def test_describe_missing_table(ddb):
    name = _name("missing")
    with pytest.raises(ClientError) as exc:
        ddb.describe_table(TableName=name)
    assert _err(exc) == ("ResourceNotFoundException", f"Requested resource not found: Table: {name} not found")


def test_describe_by_table_arn(ddb, cleanup):
    name = _name()
    cleanup.append(name)
    arn = _create(ddb, name)["TableDescription"]["TableArn"]
    assert ddb.describe_table(TableName=arn)["Table"]["TableName"] == name


# --- ListTables ------------------------------------------------------------------------------------------
def test_list_tables_pages_with_limit(ddb, cleanup):
    prefix = _name("lst")
    names = [f"{prefix}-{i}" for i in range(5)]
    for n in names:
        cleanup.append(n)
        _create(ddb, n)
    seen: list[str] = []
    kw: dict[str, Any] = {"Limit": 2, "ExclusiveStartTableName": prefix}
    while True:
        r = ddb.list_tables(**kw)
        assert len(r["TableNames"]) <= 2
        seen += r["TableNames"]
        if "LastEvaluatedTableName" not in r:
            break
        kw["ExclusiveStartTableName"] = r["LastEvaluatedTableName"]
    assert [n for n in seen if n.startswith(prefix)] == names
    assert seen == sorted(seen)


@pytest.mark.parametrize("limit,constraint", [(0, "greater than or equal to 1"), (101, "less than or equal to 100")])
def test_list_tables_limit_bounds(ddb, limit, constraint):
    with pytest.raises(ClientError) as exc:
        ddb.list_tables(Limit=limit)
    assert _err(exc) == ("ValidationException", (f"1 validation error detected: Value '{limit}' at 'limit' failed to "
                                                f"satisfy constraint: Member must have value {constraint}"))


# --- DeleteTable -------------------------------------------------------------------------------------------
def test_delete_table_returns_deleting_then_it_is_gone(ddb):
    name = _name()
    _create(ddb, name)
    d = ddb.delete_table(TableName=name)["TableDescription"]
    assert d["TableStatus"] == "DELETING" and d["TableName"] == name
    with pytest.raises(ClientError) as exc:
        ddb.describe_table(TableName=name)
    assert _err(exc)[0] == "ResourceNotFoundException"
    _create(ddb, name)  # the name is free again, and the new table is empty
    assert ddb.scan(TableName=name)["Items"] == []
    ddb.delete_table(TableName=name)


def test_delete_drops_items(ddb):
    name = _name()
    _create(ddb, name)
    ddb.put_item(TableName=name, Item={"pk": {"S": "a"}})
    ddb.delete_table(TableName=name)
    _create(ddb, name)
    try:
        assert ddb.get_item(TableName=name, Key={"pk": {"S": "a"}}).get("Item") is None
    finally:
        ddb.delete_table(TableName=name)


def test_delete_missing_table(ddb):
    with pytest.raises(ClientError) as exc:
        ddb.delete_table(TableName=_name("missing"))
    assert _err(exc)[0] == "ResourceNotFoundException"


def test_deletion_protection_blocks_delete(ddb, cleanup):
    name = _name()
    cleanup.append(name)
    _create(ddb, name, DeletionProtectionEnabled=True)
    assert ddb.describe_table(TableName=name)["Table"]["DeletionProtectionEnabled"] is True
    with pytest.raises(ClientError) as exc:
        ddb.delete_table(TableName=name)
    code, msg = _err(exc)
    assert code == "ValidationException"
    assert msg == "Resource cannot be deleted as it is currently protected against deletion. Disable deletion protection first."
    ddb.update_table(TableName=name, DeletionProtectionEnabled=False)
    ddb.delete_table(TableName=name)


# --- UpdateTable --------------------------------------------------------------------------------------------
def test_update_table_with_nothing_to_update(ddb, cleanup):
    name = _name()
    cleanup.append(name)
    _create(ddb, name)
    with pytest.raises(ClientError) as exc:
        ddb.update_table(TableName=name)
    code, msg = _err(exc)
    assert code == "ValidationException" and msg.startswith("At least one of ProvisionedThroughput")


def test_update_throughput_to_the_same_value(ddb, cleanup):
    name = _name()
    cleanup.append(name)
    tp = {"ReadCapacityUnits": 2, "WriteCapacityUnits": 2}
    _create(ddb, name, BillingMode="PROVISIONED", ProvisionedThroughput=tp)
    with pytest.raises(ClientError) as exc:
        ddb.update_table(TableName=name, ProvisionedThroughput=tp)
    code, msg = _err(exc)
    assert code == "ValidationException" and msg.startswith("The provisioned throughput for the table will not change")


def test_update_throughput_and_billing_mode(ddb, cleanup):
    name = _name()
    cleanup.append(name)
    _create(ddb, name, BillingMode="PROVISIONED", ProvisionedThroughput={"ReadCapacityUnits": 2,
                                                                          "WriteCapacityUnits": 2})
    d = ddb.update_table(TableName=name, ProvisionedThroughput={"ReadCapacityUnits": 5,
                                                                "WriteCapacityUnits": 1})["TableDescription"]
    assert d["ProvisionedThroughput"]["ReadCapacityUnits"] == 5
    assert d["ProvisionedThroughput"]["NumberOfDecreasesToday"] == 1
    d = ddb.update_table(TableName=name, BillingMode="PAY_PER_REQUEST")["TableDescription"]
    assert d["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    with pytest.raises(ClientError):
        ddb.update_table(TableName=name, BillingMode="PROVISIONED")


def test_create_gsi_backfills_existing_items(ddb, cleanup):
    name = _name()
    cleanup.append(name)
    _create(ddb, name)
    for i in range(30):
        ddb.put_item(TableName=name, Item={"pk": {"S": f"k{i}"}, "g": {"S": "even" if i % 2 == 0 else "odd"},
                                           "n": {"N": str(i)}})
    ddb.put_item(TableName=name, Item={"pk": {"S": "nog"}})
    d = ddb.update_table(TableName=name, AttributeDefinitions=_defs("pk", "g"), GlobalSecondaryIndexUpdates=[
        {"Create": {"IndexName": "byg", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                    "Projection": {"ProjectionType": "ALL"}}}])["TableDescription"]
    assert [g["IndexName"] for g in d["GlobalSecondaryIndexes"]] == ["byg"]
    assert {"AttributeName": "g", "AttributeType": "S"} in d["AttributeDefinitions"]
    r = ddb.query(TableName=name, IndexName="byg", KeyConditionExpression="g = :g",
                  ExpressionAttributeValues={":g": {"S": "even"}})
    assert r["Count"] == 15
    assert ddb.describe_table(TableName=name)["Table"]["GlobalSecondaryIndexes"][0]["ItemCount"] == 30
    # and the new index follows later writes
    ddb.put_item(TableName=name, Item={"pk": {"S": "k0"}, "g": {"S": "odd"}})
    r = ddb.query(TableName=name, IndexName="byg", KeyConditionExpression="g = :g",
                  ExpressionAttributeValues={":g": {"S": "even"}})
    assert r["Count"] == 14


def test_create_existing_gsi_and_delete_gsi(ddb, cleanup):
    name = _name()
    cleanup.append(name)
    gsi = {"IndexName": "gidx", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
           "Projection": {"ProjectionType": "ALL"}}
    _create(ddb, name, AttributeDefinitions=_defs("pk", "g"), GlobalSecondaryIndexes=[gsi])
    with pytest.raises(ClientError) as exc:
        ddb.update_table(TableName=name, AttributeDefinitions=_defs("pk", "g"),
                         GlobalSecondaryIndexUpdates=[{"Create": gsi}])
    code, msg = _err(exc)
    assert code == "ValidationException" and "already exists" in msg
    ddb.put_item(TableName=name, Item={"pk": {"S": "a"}, "g": {"S": "x"}})
    d = ddb.update_table(TableName=name, GlobalSecondaryIndexUpdates=[{"Delete": {"IndexName": "gidx"}}])
    assert [(g["IndexName"], g["IndexStatus"]) for g in d["TableDescription"]["GlobalSecondaryIndexes"]] == [
        ("gidx", "DELETING")]
    assert "GlobalSecondaryIndexes" not in ddb.describe_table(TableName=name)["Table"]
    with pytest.raises(ClientError) as exc:
        ddb.query(TableName=name, IndexName="gidx", KeyConditionExpression="g = :g",
                  ExpressionAttributeValues={":g": {"S": "x"}})
    assert _err(exc)[0] == "ValidationException"
    with pytest.raises(ClientError) as exc:
        ddb.update_table(TableName=name, GlobalSecondaryIndexUpdates=[{"Delete": {"IndexName": "gidx"}}])
    assert _err(exc)[0] == "ResourceNotFoundException"


def test_create_gsi_needs_attribute_definitions(ddb, cleanup):
    name = _name()
    cleanup.append(name)
    _create(ddb, name)
    with pytest.raises(ClientError) as exc:
        ddb.update_table(TableName=name, GlobalSecondaryIndexUpdates=[
            {"Create": {"IndexName": "gidx", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                        "Projection": {"ProjectionType": "ALL"}}}])
    code, msg = _err(exc)
    assert code == "ValidationException" and "Some index key attributes are not defined" in msg


def test_stream_enable_twice_and_disable_when_none(ddb, cleanup):
    name = _name()
    cleanup.append(name)
    _create(ddb, name)
    with pytest.raises(ClientError) as exc:
        ddb.update_table(TableName=name, StreamSpecification={"StreamEnabled": False})
    code, msg = _err(exc)
    assert code == "ValidationException" and "stream" in msg.lower()
    d = ddb.update_table(TableName=name, StreamSpecification={"StreamEnabled": True,
                                                              "StreamViewType": "NEW_IMAGE"})["TableDescription"]
    assert d["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}
    assert d["LatestStreamArn"].startswith(d["TableArn"] + "/stream/")
    assert d["LatestStreamLabel"]
    with pytest.raises(ClientError) as exc:
        ddb.update_table(TableName=name, StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"})
    code, msg = _err(exc)
    assert code == "ValidationException" and "already has an enabled stream" in msg
    d = ddb.update_table(TableName=name, StreamSpecification={"StreamEnabled": False})["TableDescription"]
    assert "StreamSpecification" not in d or not d["StreamSpecification"].get("StreamEnabled")


def test_update_missing_table(ddb):
    with pytest.raises(ClientError) as exc:
        ddb.update_table(TableName=_name("missing"), BillingMode="PAY_PER_REQUEST")
    assert _err(exc)[0] == "ResourceNotFoundException"


# --- tags ------------------------------------------------------------------------------------------------------
def test_tag_list_untag(ddb, cleanup):
    name = _name()
    cleanup.append(name)
    arn = _create(ddb, name)["TableDescription"]["TableArn"]
    assert ddb.list_tags_of_resource(ResourceArn=arn)["Tags"] == []
    ddb.tag_resource(ResourceArn=arn, Tags=[{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}])
    ddb.tag_resource(ResourceArn=arn, Tags=[{"Key": "a", "Value": "3"}])
    tags = {t["Key"]: t["Value"] for t in ddb.list_tags_of_resource(ResourceArn=arn)["Tags"]}
    assert tags == {"a": "3", "b": "2"}
    ddb.untag_resource(ResourceArn=arn, TagKeys=["a", "zzz"])
    assert ddb.list_tags_of_resource(ResourceArn=arn)["Tags"] == [{"Key": "b", "Value": "2"}]


def test_tags_of_missing_table(ddb, region):
    arn = f"arn:aws:dynamodb:{region}:000000000000:table/{_name('missing')}"
    with pytest.raises(ClientError) as exc:
        ddb.list_tags_of_resource(ResourceArn=arn)
    assert _err(exc)[0] in ("ResourceNotFoundException", "AccessDeniedException")


def test_tag_invalid_arn(ddb):
    with pytest.raises(ClientError) as exc:
        ddb.tag_resource(ResourceArn="not-an-arn", Tags=[{"Key": "a", "Value": "1"}])
    assert _err(exc)[0] == "ValidationException"


def test_too_many_tags(ddb, cleanup):
    name = _name()
    cleanup.append(name)
    arn = _create(ddb, name)["TableDescription"]["TableArn"]
    with pytest.raises(ClientError) as exc:
        ddb.tag_resource(ResourceArn=arn, Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(51)])
    assert _err(exc)[0] == "ValidationException"


def test_ttl_setting_is_not_a_tag(ddb, cleanup):
    name = _name()
    cleanup.append(name)
    arn = _create(ddb, name)["TableDescription"]["TableArn"]
    ddb.update_time_to_live(TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": "exp"})
    assert ddb.list_tags_of_resource(ResourceArn=arn)["Tags"] == []


# --- account-level -------------------------------------------------------------------------------------------------
def test_describe_limits(ddb):
    r = ddb.describe_limits()
    for k in ("AccountMaxReadCapacityUnits", "AccountMaxWriteCapacityUnits", "TableMaxReadCapacityUnits",
              "TableMaxWriteCapacityUnits"):
        assert isinstance(r[k], int) and r[k] > 0


def test_describe_endpoints(ddb):
    (ep,) = ddb.describe_endpoints()["Endpoints"]
    assert ep["Address"] and ep["CachePeriodInMinutes"] > 0


def test_endpoint_discovery_keeps_talking_to_eddydb(dynamodb_server, eddy_server, cleanup):
    from util import make_client

    client = make_client("dynamodb", eddy_server.url, endpoint_discovery_enabled=True)
    assert client.describe_endpoints()["Endpoints"][0]["Address"].startswith("http")
    client.list_tables(Limit=1)


def test_deleted_table_keeps_its_stream_readable(dynamodb_server, streams):
    ddb = dynamodb_server
    name = _name()
    d = _create(ddb, name, StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"})
    arn = d["TableDescription"]["LatestStreamArn"]
    ddb.put_item(TableName=name, Item={"pk": {"S": "a"}})
    ddb.delete_table(TableName=name)
    desc = streams.describe_stream(StreamArn=arn)["StreamDescription"]
    records = []
    for shard in desc["Shards"]:
        it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"],
                                        ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        records += streams.get_records(ShardIterator=it)["Records"]
    assert [r["eventName"] for r in records] == ["INSERT"]
    assert all("EndingSequenceNumber" in s["SequenceNumberRange"] for s in desc["Shards"])


def test_create_gsi_on_an_existing_number_attribute_without_definitions(ddb, cleanup):
    name = _name()
    cleanup.append(name)
    _create(ddb, name, KeySchema=_HASH_RANGE, AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                                                    {"AttributeName": "sk", "AttributeType": "N"}])
    ddb.put_item(TableName=name, Item={"pk": {"S": "a"}, "sk": {"N": "7"}})
    ddb.update_table(TableName=name, GlobalSecondaryIndexUpdates=[
        {"Create": {"IndexName": "bysk", "KeySchema": [{"AttributeName": "sk", "KeyType": "HASH"}],
                    "Projection": {"ProjectionType": "KEYS_ONLY"}}}])
    r = ddb.query(TableName=name, IndexName="bysk", KeyConditionExpression="sk = :v",
                  ExpressionAttributeValues={":v": {"N": "7"}})
    assert r["Items"] == [{"pk": {"S": "a"}, "sk": {"N": "7"}}]


def test_reenabling_a_stream_creates_a_new_one(ddb, cleanup):
    name = _name()
    cleanup.append(name)
    _create(ddb, name)
    spec = {"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"}
    first = ddb.update_table(TableName=name, StreamSpecification=spec)["TableDescription"]["LatestStreamArn"]
    off = ddb.update_table(TableName=name, StreamSpecification={"StreamEnabled": False})["TableDescription"]
    assert off["LatestStreamArn"] == first
    second = ddb.update_table(TableName=name, StreamSpecification=spec)["TableDescription"]["LatestStreamArn"]
    assert second != first
    assert ddb.describe_table(TableName=name)["Table"]["LatestStreamArn"] == second
