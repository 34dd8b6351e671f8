"""Audit of the table control plane: CreateTable / UpdateTable limits that span indexes, on-demand and
warm throughput bounds, GlobalSecondaryIndexUpdates combinations, atomic UpdateTable, ListTables
paging from a name that is not a table, tags counted across calls, Time to Live switches, and the
answer to the operations of DynamoDB's API that eddydb does not implement."""
from __future__ import annotations

import gzip
import json
import os
import uuid

import botocore
import pytest
from botocore.exceptions import ClientError

from conformance.cfutil import raises

V = "ValidationException"
TP = {"ReadCapacityUnits": 1, "WriteCapacityUnits": 1}
_INVALID = "One or more parameter values were invalid: "


def _name() -> str:
    return "audit-tables-" + uuid.uuid4().hex[:10]


def _gsi(name, h, nka=None, tp=None):
    d = {"IndexName": name, "KeySchema": [{"AttributeName": h, "KeyType": "HASH"}],
         "Projection": {"ProjectionType": "ALL"} if nka is None
         else {"ProjectionType": "INCLUDE", "NonKeyAttributes": list(nka)}}
    if tp is not None:
        d["ProvisionedThroughput"] = tp
    return d


def _defs(*names, t="S"):
    return [{"AttributeName": n, "AttributeType": t} for n in names]


def _create(ddb, name, **kw):
    args = {"TableName": name, "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
            "AttributeDefinitions": _defs("pk"), "BillingMode": "PAY_PER_REQUEST"}
    args.update(kw)
    return ddb.create_table(**args)


def _gone(ddb, name):
    with raises("ResourceNotFoundException"):
        ddb.describe_table(TableName=name)


# --- projected attributes: a limit of the table, summed across its indexes -------------------------------
def _include_gsis(n, per_index, shared=False):
    return [_gsi(f"gsi{i}", f"g{i}", nka=[f"a{j}" if shared else f"a{i}_{j}" for j in range(per_index)])
            for i in range(n)]


def test_create_table_with_100_projected_attributes_across_indexes(ddb, make_table):
    t = make_table(client=ddb, attrs={f"g{i}": "S" for i in range(5)},
                   GlobalSecondaryIndexes=_include_gsis(5, 20))
    gsis = ddb.describe_table(TableName=t)["Table"]["GlobalSecondaryIndexes"]
    assert sum(len(g["Projection"]["NonKeyAttributes"]) for g in gsis) == 100


def test_the_same_attribute_projected_into_two_indexes_counts_twice(ddb):
    n = _name()
    with raises(V, "^" + _INVALID + "Number of projected attributes in all indexes exceeds limit of 100$"):
        _create(ddb, n, AttributeDefinitions=_defs("pk", *[f"g{i}" for i in range(6)]),
                GlobalSecondaryIndexes=_include_gsis(6, 20, shared=True))
    _gone(ddb, n)


def test_update_table_creating_a_gsi_past_100_projected_attributes_is_invalid(ddb, make_table):
    t = make_table(client=ddb, attrs={f"g{i}": "S" for i in range(5)},
                   GlobalSecondaryIndexes=_include_gsis(5, 20))
    with raises(V, "^" + _INVALID + "Number of projected attributes in all indexes exceeds limit of 100$"):
        ddb.update_table(TableName=t, AttributeDefinitions=_defs("h"),
                         GlobalSecondaryIndexUpdates=[{"Create": _gsi("more", "h", nka=["x"])}])
    d = ddb.describe_table(TableName=t)["Table"]
    assert "more" not in [g["IndexName"] for g in d["GlobalSecondaryIndexes"]]
    assert "h" not in [a["AttributeName"] for a in d["AttributeDefinitions"]]
    # a KEYS_ONLY (or ALL) index projects no listed attribute: still allowed
    ddb.update_table(TableName=t, AttributeDefinitions=_defs("h"),
                     GlobalSecondaryIndexUpdates=[{"Create": _gsi("more", "h")}])
    assert "more" in [g["IndexName"] for g in ddb.describe_table(TableName=t)["Table"]["GlobalSecondaryIndexes"]]


def test_deleting_an_index_frees_its_projected_attributes(ddb, make_table):
    t = make_table(client=ddb, attrs={f"g{i}": "S" for i in range(5)},
                   GlobalSecondaryIndexes=_include_gsis(5, 20))
    ddb.update_table(TableName=t, GlobalSecondaryIndexUpdates=[{"Delete": {"IndexName": "gsi0"}}])
    ddb.update_table(TableName=t, AttributeDefinitions=_defs("h"),
                     GlobalSecondaryIndexUpdates=[{"Create": _gsi("more", "h", nka=[f"x{j}" for j in range(20)])}])
    names = [g["IndexName"] for g in ddb.describe_table(TableName=t)["Table"]["GlobalSecondaryIndexes"]]
    assert sorted(names) == ["gsi1", "gsi2", "gsi3", "gsi4", "more"]


# --- OnDemandThroughput / WarmThroughput bounds: a ValidationException, never a 500 --------------------------
_HUGE = 10**20  # more than a 64-bit integer holds


@pytest.mark.parametrize("field", ["MaxReadRequestUnits", "MaxWriteRequestUnits"])
def test_create_table_on_demand_throughput_out_of_bounds(ddb, field):
    n = _name()
    with raises(V, f"^Given value {_HUGE} for {field} is out of bounds$"):
        _create(ddb, n, OnDemandThroughput={field: _HUGE})
    _gone(ddb, n)


def test_create_table_gsi_on_demand_throughput_out_of_bounds(ddb):
    n = _name()
    g = {**_gsi("gsi1", "g"), "OnDemandThroughput": {"MaxReadRequestUnits": _HUGE}}
    with raises(V, f"^Given value {_HUGE} for MaxReadRequestUnits is out of bounds$"):
        _create(ddb, n, AttributeDefinitions=_defs("pk", "g"), GlobalSecondaryIndexes=[g])
    _gone(ddb, n)


def test_update_table_on_demand_throughput_out_of_bounds(ddb, make_table):
    t = make_table(client=ddb, gsi={"gsi1": "g:S"})
    with raises(V, f"^Given value {_HUGE} for MaxWriteRequestUnits is out of bounds$"):
        ddb.update_table(TableName=t, OnDemandThroughput={"MaxWriteRequestUnits": _HUGE})
    with raises(V, f"^Given value {_HUGE} for MaxReadRequestUnits is out of bounds$"):
        ddb.update_table(TableName=t, GlobalSecondaryIndexUpdates=[
            {"Update": {"IndexName": "gsi1", "OnDemandThroughput": {"MaxReadRequestUnits": _HUGE}}}])
    with raises(V, f"^Given value {_HUGE} for MaxReadRequestUnits is out of bounds$"):
        ddb.update_table(TableName=t, AttributeDefinitions=_defs("h"), GlobalSecondaryIndexUpdates=[
            {"Create": {**_gsi("gsi2", "h"), "OnDemandThroughput": {"MaxReadRequestUnits": _HUGE}}}])
    d = ddb.describe_table(TableName=t)["Table"]
    assert _HUGE not in d.get("OnDemandThroughput", {}).values()
    assert [g["IndexName"] for g in d["GlobalSecondaryIndexes"]] == ["gsi1"]


@pytest.mark.parametrize("value", [0, -2])
def test_on_demand_throughput_is_minus_one_or_positive(ddb, value):
    n = _name()
    with raises(V, "MaxReadRequestUnits"):
        _create(ddb, n, OnDemandThroughput={"MaxReadRequestUnits": value})
    _gone(ddb, n)


def test_on_demand_throughput_maximum_is_described(ddb, make_table):
    t = make_table(client=ddb, OnDemandThroughput={"MaxReadRequestUnits": 100, "MaxWriteRequestUnits": -1})
    d = ddb.describe_table(TableName=t)["Table"]
    assert d["OnDemandThroughput"] == {"MaxReadRequestUnits": 100, "MaxWriteRequestUnits": -1}


def test_warm_throughput_out_of_bounds(ddb, make_table):
    n = _name()
    with raises(V, f"^Given value {_HUGE} for ReadUnitsPerSecond is out of bounds$"):
        _create(ddb, n, WarmThroughput={"ReadUnitsPerSecond": _HUGE})
    _gone(ddb, n)
    t = make_table(client=ddb)
    with raises(V, f"^Given value {_HUGE} for WriteUnitsPerSecond is out of bounds$"):
        ddb.update_table(TableName=t, WarmThroughput={"WriteUnitsPerSecond": _HUGE})


# --- GlobalSecondaryIndexUpdates ----------------------------------------------------------------------------------
def _provisioned_two_gsis(make_table, ddb):
    return make_table(client=ddb, attrs={"g": "S", "h": "S"}, BillingMode="PROVISIONED", ProvisionedThroughput=TP,
                      GlobalSecondaryIndexes=[_gsi("gsi1", "g", tp=TP), _gsi("gsi2", "h", tp=TP)])


def test_two_index_throughput_updates_in_one_call(ddb, make_table):
    t = _provisioned_two_gsis(make_table, ddb)
    r = ddb.update_table(TableName=t, GlobalSecondaryIndexUpdates=[
        {"Update": {"IndexName": "gsi1", "ProvisionedThroughput": {"ReadCapacityUnits": 2, "WriteCapacityUnits": 3}}},
        {"Update": {"IndexName": "gsi2", "ProvisionedThroughput": {"ReadCapacityUnits": 4, "WriteCapacityUnits": 5}}}])
    assert {g["IndexName"]: g["IndexStatus"] for g in r["TableDescription"]["GlobalSecondaryIndexes"]} == \
        {"gsi1": "UPDATING", "gsi2": "UPDATING"}
    got = {g["IndexName"]: (g["ProvisionedThroughput"]["ReadCapacityUnits"],
                            g["ProvisionedThroughput"]["WriteCapacityUnits"])
           for g in ddb.describe_table(TableName=t)["Table"]["GlobalSecondaryIndexes"]}
    assert got == {"gsi1": (2, 3), "gsi2": (4, 5)}


def test_creating_one_index_and_deleting_another_in_one_call_is_limit_exceeded(ddb, make_table):
    t = _provisioned_two_gsis(make_table, ddb)
    with raises("LimitExceededException"):
        ddb.update_table(TableName=t, AttributeDefinitions=_defs("k"), GlobalSecondaryIndexUpdates=[
            {"Create": _gsi("gsi3", "k", tp=TP)}, {"Delete": {"IndexName": "gsi1"}}])
    with raises("LimitExceededException"):
        ddb.update_table(TableName=t, GlobalSecondaryIndexUpdates=[
            {"Delete": {"IndexName": "gsi1"}}, {"Delete": {"IndexName": "gsi2"}}])
    names = [g["IndexName"] for g in ddb.describe_table(TableName=t)["Table"]["GlobalSecondaryIndexes"]]
    assert names == ["gsi1", "gsi2"]


def test_deleting_or_updating_an_index_that_does_not_exist_is_not_found(ddb, make_table):
    t = _provisioned_two_gsis(make_table, ddb)
    with raises("ResourceNotFoundException"):
        ddb.update_table(TableName=t, GlobalSecondaryIndexUpdates=[{"Delete": {"IndexName": "nosuch"}}])
    with raises("ResourceNotFoundException"):
        ddb.update_table(TableName=t, GlobalSecondaryIndexUpdates=[
            {"Update": {"IndexName": "nosuch", "ProvisionedThroughput": TP}}])


def test_a_failing_update_table_changes_nothing(ddb, make_table):
    t = make_table(client=ddb, stream="KEYS_ONLY")
    ddb.put_item(TableName=t, Item={"pk": {"S": "a"}, "h": {"S": "x"}})
    with raises(V, "already has an enabled stream"):
        ddb.update_table(TableName=t, AttributeDefinitions=_defs("h"), BillingMode="PROVISIONED",
                         ProvisionedThroughput=TP, GlobalSecondaryIndexUpdates=[{"Create": _gsi("byh", "h", tp=TP)}],
                         StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"})
    d = ddb.describe_table(TableName=t)["Table"]
    assert "GlobalSecondaryIndexes" not in d
    assert d["AttributeDefinitions"] == _defs("pk")
    assert d["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    with raises(V, "does not have the specified index: byh"):
        ddb.query(TableName=t, IndexName="byh", KeyConditionExpression="h = :h",
                  ExpressionAttributeValues={":h": {"S": "x"}})


# --- ListTables ---------------------------------------------------------------------------------------------------------
def test_list_tables_starts_after_a_name_that_is_not_a_table(ddb, make_table):
    prefix = "audit-lt-" + uuid.uuid4().hex[:8]
    for suffix in ("b", "d", "f"):
        make_table(client=ddb, name=f"{prefix}-{suffix}")
    names, start = [], f"{prefix}-c"
    while True:
        r = ddb.list_tables(ExclusiveStartTableName=start, Limit=1)
        names += r["TableNames"]
        if "LastEvaluatedTableName" not in r:
            break
        assert r["LastEvaluatedTableName"] == r["TableNames"][-1]
        start = r["LastEvaluatedTableName"]
    mine = [n for n in names if n.startswith(prefix)]
    assert mine == [f"{prefix}-d", f"{prefix}-f"]


def test_list_tables_limit_zero_is_invalid(ddb):
    with raises(V, "^1 validation error detected: Value '0' at 'limit' failed to satisfy constraint: "
                   "Member must have value greater than or equal to 1$"):
        ddb.list_tables(Limit=0)


# --- tags ---------------------------------------------------------------------------------------------------------------------
def test_the_tag_limit_counts_the_tags_already_on_the_table(ddb, make_table):
    t = make_table(client=ddb)
    arn = ddb.describe_table(TableName=t)["Table"]["TableArn"]
    ddb.tag_resource(ResourceArn=arn, Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(50)])
    ddb.tag_resource(ResourceArn=arn, Tags=[{"Key": "k0", "Value": "new"}])  # a new value, not a new tag
    with raises(V, "The number of tags exceeds the limit of 50"):
        ddb.tag_resource(ResourceArn=arn, Tags=[{"Key": "one-more", "Value": "v"}])
    tags = {x["Key"]: x["Value"] for x in ddb.list_tags_of_resource(ResourceArn=arn)["Tags"]}
    assert len(tags) == 50 and tags["k0"] == "new" and "one-more" not in tags


def test_tag_keys_with_the_aws_prefix_are_reserved(ddb, make_table):
    t = make_table(client=ddb)
    arn = ddb.describe_table(TableName=t)["Table"]["TableArn"]
    with raises(V, "aws:"):
        ddb.tag_resource(ResourceArn=arn, Tags=[{"Key": "ok", "Value": "v"}, {"Key": "aws:cloudformation", "Value": "v"}])
    assert ddb.list_tags_of_resource(ResourceArn=arn)["Tags"] == []


def test_tag_key_and_value_lengths(ddb, make_table):
    t = make_table(client=ddb)
    arn = ddb.describe_table(TableName=t)["Table"]["TableArn"]
    ddb.tag_resource(ResourceArn=arn, Tags=[{"Key": "k" * 128, "Value": "v" * 256}, {"Key": "empty", "Value": ""}])
    with raises(V, "at 'tags.1.member.key' failed to satisfy constraint: Member must have length less than or equal "
                   "to 128"):
        ddb.tag_resource(ResourceArn=arn, Tags=[{"Key": "k" * 129, "Value": "v"}])
    with raises(V, "at 'tags.1.member.value' failed to satisfy constraint: Member must have length less than or "
                   "equal to 256"):
        ddb.tag_resource(ResourceArn=arn, Tags=[{"Key": "k", "Value": "v" * 257}])
    assert len(ddb.list_tags_of_resource(ResourceArn=arn)["Tags"]) == 2


def test_tagging_a_table_that_does_not_exist_is_not_found(ddb, make_table):
    t = make_table(client=ddb)
    arn = ddb.describe_table(TableName=t)["Table"]["TableArn"]
    missing = arn.rsplit("/", 1)[0] + "/no-such-table-" + uuid.uuid4().hex[:6]
    with raises("ResourceNotFoundException", "not found"):
        ddb.tag_resource(ResourceArn=missing, Tags=[{"Key": "a", "Value": "b"}])
    with raises("ResourceNotFoundException", "not found"):
        ddb.untag_resource(ResourceArn=missing, TagKeys=["a"])


# --- Time to Live ----------------------------------------------------------------------------------------------------------
def test_ttl_enabling_twice_and_changing_the_attribute_while_enabled(ddb, make_table):
    t = make_table(client=ddb)
    ddb.update_time_to_live(TableName=t, TimeToLiveSpecification={"Enabled": True, "AttributeName": "exp"})
    with raises(V, "^TimeToLive is already enabled$"):
        ddb.update_time_to_live(TableName=t, TimeToLiveSpecification={"Enabled": True, "AttributeName": "exp"})
    with raises(V, "^TimeToLive is active on a different AttributeName: current AttributeName is exp$"):
        ddb.update_time_to_live(TableName=t, TimeToLiveSpecification={"Enabled": True, "AttributeName": "other"})
    assert ddb.describe_time_to_live(TableName=t)["TimeToLiveDescription"] == \
        {"TimeToLiveStatus": "ENABLED", "AttributeName": "exp"}


def test_ttl_disabling_when_disabled_is_invalid(ddb, make_table):
    t = make_table(client=ddb)
    with raises(V, "^TimeToLive is already disabled$"):
        ddb.update_time_to_live(TableName=t, TimeToLiveSpecification={"Enabled": False, "AttributeName": "exp"})


def test_ttl_on_a_missing_table_is_not_found(ddb):
    with raises("ResourceNotFoundException"):
        ddb.update_time_to_live(TableName=_name(), TimeToLiveSpecification={"Enabled": True, "AttributeName": "e"})


# --- operations of the API that eddydb does not implement ----------------------------------------------------------
def _model_operations() -> list[str]:
    path = os.path.join(os.path.dirname(botocore.__file__), "data", "dynamodb", "2012-08-10", "service-2.json.gz")
    with gzip.open(path) as f:
        return sorted(json.load(f)["operations"])


def _unimplemented() -> list[str]:
    from eddydb.api.dispatch import handlers

    have = {target.split(".", 1)[1] for target in handlers()}
    return [op for op in _model_operations() if op not in have]


@pytest.mark.parametrize("op", _unimplemented())
def test_an_operation_eddydb_does_not_implement_answers_unknown_operation(ddb, op):
    with pytest.raises(ClientError) as e:
        getattr(ddb, botocore.xform_name(op))()
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert e.value.response["Error"]["Code"] == "UnknownOperationException"


def test_describe_limits_are_dynamodbs_defaults(ddb):
    r = ddb.describe_limits()
    r.pop("ResponseMetadata")
    assert r == {"AccountMaxReadCapacityUnits": 80000, "AccountMaxWriteCapacityUnits": 80000,
                 "TableMaxReadCapacityUnits": 40000, "TableMaxWriteCapacityUnits": 40000}


# --- DescribeTable's shape, and a name reused after DeleteTable ----------------------------------------------
def test_describe_table_shape_with_every_kind_of_index_and_a_stream(ddb, make_table):
    t = make_table(("pk", "S"), ("sk", "N"), client=ddb, gsi={"byg": ("g:S", None, ["x"])},
                   lsi={"byl": ("pk", "l:S", "KEYS_ONLY")}, stream="NEW_IMAGE",
                   TableClass="STANDARD_INFREQUENT_ACCESS", DeletionProtectionEnabled=True)
    try:
        d = ddb.describe_table(TableName=t)["Table"]
        arn = d["TableArn"]
        assert arn.startswith("arn:aws:dynamodb:") and arn.endswith(f":table/{t}")
        assert uuid.UUID(d["TableId"]) and d["TableStatus"] == "ACTIVE"
        assert d["CreationDateTime"].year >= 2024
        assert (d["ItemCount"], d["TableSizeBytes"]) == (0, 0)
        assert d["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
        assert d["ProvisionedThroughput"] == {"NumberOfDecreasesToday": 0, "ReadCapacityUnits": 0,
                                              "WriteCapacityUnits": 0}
        [g] = d["GlobalSecondaryIndexes"]
        assert g["IndexArn"] == f"{arn}/index/byg" and g["IndexStatus"] == "ACTIVE"
        assert g["Projection"] == {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["x"]}
        assert (g["ItemCount"], g["IndexSizeBytes"]) == (0, 0)
        assert g["ProvisionedThroughput"]["NumberOfDecreasesToday"] == 0
        [ls] = d["LocalSecondaryIndexes"]
        assert ls["IndexArn"] == f"{arn}/index/byl" and ls["Projection"] == {"ProjectionType": "KEYS_ONLY"}
        assert "IndexStatus" not in ls and "ProvisionedThroughput" not in ls  # an LSI shares the table's
        assert d["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}
        assert d["LatestStreamArn"] == f"{arn}/stream/{d['LatestStreamLabel']}"
        assert d["TableClassSummary"]["TableClass"] == "STANDARD_INFREQUENT_ACCESS"
        assert d["DeletionProtectionEnabled"] is True
    finally:
        ddb.update_table(TableName=t, DeletionProtectionEnabled=False)


def test_a_table_created_again_under_a_deleted_name_starts_afresh(ddb):
    n = _name()
    first = _create(ddb, n, Tags=[{"Key": "a", "Value": "b"}])["TableDescription"]
    ddb.update_time_to_live(TableName=n, TimeToLiveSpecification={"Enabled": True, "AttributeName": "e"})
    ddb.put_item(TableName=n, Item={"pk": {"S": "x"}})
    ddb.tag_resource(ResourceArn=first["TableArn"], Tags=[{"Key": "c", "Value": "d"}])
    ddb.delete_table(TableName=n)
    second = _create(ddb, n)["TableDescription"]
    try:
        assert second["TableId"] != first["TableId"]
        assert ddb.list_tags_of_resource(ResourceArn=second["TableArn"])["Tags"] == []
        assert ddb.describe_time_to_live(TableName=n)["TimeToLiveDescription"] == {"TimeToLiveStatus": "DISABLED"}
        assert ddb.scan(TableName=n)["Count"] == 0
    finally:
        ddb.delete_table(TableName=n)
