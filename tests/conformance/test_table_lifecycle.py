"""The table lifecycle's control-plane shapes: UpdateTable's GlobalSecondaryIndexUpdates, billing mode
switches and throughput checks, and TagResource / UntagResource request rules."""
from __future__ import annotations

from conformance.cfutil import raises

V = "ValidationException"
TP = {"ReadCapacityUnits": 1, "WriteCapacityUnits": 1}


def _gsi(name, h, tp=None):
    d = {"IndexName": name, "KeySchema": [{"AttributeName": h, "KeyType": "HASH"}],
         "Projection": {"ProjectionType": "ALL"}}
    if tp is not None:
        d["ProvisionedThroughput"] = tp
    return d


def _provisioned_with_gsi(mk):
    return mk(gsi={"gsi1": {"KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                            "Projection": {"ProjectionType": "ALL"}, "ProvisionedThroughput": TP}},
              attrs={"g": "S"}, BillingMode="PROVISIONED", ProvisionedThroughput=TP)


# --- billing mode ------------------------------------------------------------------------------------------
def test_switching_to_provisioned_keeps_the_last_pay_per_request_time(ddb, mk):
    t = mk()
    since = ddb.describe_table(TableName=t)["Table"]["BillingModeSummary"]["LastUpdateToPayPerRequestDateTime"]
    d = ddb.update_table(TableName=t, BillingMode="PROVISIONED", ProvisionedThroughput=TP)["TableDescription"]
    assert d["BillingModeSummary"] == {"BillingMode": "PROVISIONED", "LastUpdateToPayPerRequestDateTime": since}
    summary = ddb.describe_table(TableName=t)["Table"]["BillingModeSummary"]
    assert summary == {"BillingMode": "PROVISIONED", "LastUpdateToPayPerRequestDateTime": since}


def test_billing_mode_provisioned_needs_throughput_even_on_a_provisioned_table(ddb, mk):
    t = mk(BillingMode="PROVISIONED", ProvisionedThroughput=TP)
    with raises(V, "^One or more parameter values were invalid: ProvisionedThroughput must be specified when "
                   "BillingMode is PROVISIONED$"):
        ddb.update_table(TableName=t, BillingMode="PROVISIONED",
                         StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"})
    assert "StreamSpecification" not in ddb.describe_table(TableName=t)["Table"]


# --- GlobalSecondaryIndexUpdates ---------------------------------------------------------------------------
def test_an_update_with_no_action_is_invalid(ddb, mk):
    t = mk()
    with raises(V, "^One or more parameter values were invalid: One of GlobalSecondaryIndexUpdate.Update, "
                   "GlobalSecondaryIndexUpdate.Create, GlobalSecondaryIndexUpdate.Delete must not be null$"):
        ddb.update_table(TableName=t, GlobalSecondaryIndexUpdates=[{}])


def test_only_one_update_per_index_in_a_request(ddb, mk):
    t = _provisioned_with_gsi(mk)
    with raises(V, "^One or more parameter values were invalid: Only one global secondary index update per index "
                   "is allowed simultaneously. Index: gsi1$"):
        ddb.update_table(TableName=t, GlobalSecondaryIndexUpdates=[
            {"Update": {"IndexName": "gsi1", "ProvisionedThroughput": {"ReadCapacityUnits": 2,
                                                                       "WriteCapacityUnits": 2}}},
            {"Update": {"IndexName": "gsi1", "ProvisionedThroughput": {"ReadCapacityUnits": 3,
                                                                       "WriteCapacityUnits": 3}}}])
    with raises(V, "Only one global secondary index update per index is allowed simultaneously. Index: gsi1$"):
        ddb.update_table(TableName=t, GlobalSecondaryIndexUpdates=[{"Delete": {"IndexName": "gsi1"}},
                                                                   {"Delete": {"IndexName": "gsi1"}}])
    gsis = ddb.describe_table(TableName=t)["Table"]["GlobalSecondaryIndexes"]
    assert [(g["IndexName"], g["ProvisionedThroughput"]["ReadCapacityUnits"]) for g in gsis] == [("gsi1", 1)]


def test_updating_an_index_to_its_current_throughput_will_not_change(ddb, mk):
    t = _provisioned_with_gsi(mk)
    with raises(V, "^The provisioned throughput for the (index gsi1|table) will not change. The requested value "
                   "equals the current value. Current ReadCapacityUnits provisioned for the (index|table): 1. "
                   "Requested ReadCapacityUnits: 1. Current WriteCapacityUnits provisioned for the (index|table): 1. "
                   "Requested WriteCapacityUnits: 1. Refer to the Amazon DynamoDB Developer Guide for current "
                   "limits and how to request higher limits.$"):
        ddb.update_table(TableName=t, GlobalSecondaryIndexUpdates=[
            {"Update": {"IndexName": "gsi1", "ProvisionedThroughput": TP}}])


def test_index_throughput_update_beyond_any_limit(ddb, mk):
    t = _provisioned_with_gsi(mk)
    with raises(V, "^This operation cannot be performed with given input values. Please contact DynamoDB service "
                   "team for more info: Action Blocked: IndexUpdate$"):
        ddb.update_table(TableName=t, GlobalSecondaryIndexUpdates=[
            {"Update": {"IndexName": "gsi1", "ProvisionedThroughput": {"ReadCapacityUnits": 1000000000001,
                                                                       "WriteCapacityUnits": 1}}}])
    with raises("LimitExceededException", "Provisioned throughput for the index exceeds the maximum allowed"):
        ddb.update_table(TableName=t, GlobalSecondaryIndexUpdates=[
            {"Update": {"IndexName": "gsi1", "ProvisionedThroughput": {"ReadCapacityUnits": 40001,
                                                                       "WriteCapacityUnits": 1}}}])
    g = ddb.describe_table(TableName=t)["Table"]["GlobalSecondaryIndexes"][0]
    assert g["ProvisionedThroughput"]["ReadCapacityUnits"] == 1


# --- tags --------------------------------------------------------------------------------------------------
def test_tag_resource_needs_at_least_one_tag(ddb, mk):
    arn = ddb.describe_table(TableName=mk())["Table"]["TableArn"]
    with raises(V, "^Atleast one Tag needs to be provided as Input.$"):
        ddb.tag_resource(ResourceArn=arn, Tags=[])


def test_untag_resource_needs_at_least_one_key(ddb, mk):
    arn = ddb.describe_table(TableName=mk())["Table"]["TableArn"]
    with raises(V, "^Atleast one Tag Key needs to be provided as Input.$"):
        ddb.untag_resource(ResourceArn=arn, TagKeys=[])


def test_an_index_or_stream_arn_is_not_a_taggable_table_arn(ddb, mk):
    arn = ddb.describe_table(TableName=mk())["Table"]["TableArn"]
    for bad in (arn + "/index/gsi1", arn + "/stream/2020-01-01T00:00:00.000"):
        with raises(V, f"^Invalid TableArn: Invalid ResourceArn provided as input {bad}$"):
            ddb.list_tags_of_resource(ResourceArn=bad)
        with raises(V, f"^Invalid TableArn: Invalid ResourceArn provided as input {bad}$"):
            ddb.tag_resource(ResourceArn=bad, Tags=[{"Key": "k", "Value": "v"}])
        with raises(V, f"^Invalid TableArn: Invalid ResourceArn provided as input {bad}$"):
            ddb.untag_resource(ResourceArn=bad, TagKeys=["k"])


def test_a_well_formed_arn_of_a_table_elsewhere_is_not_found(ddb, mk):
    arn = ddb.describe_table(TableName=mk())["Table"]["TableArn"]
    other = arn.replace(":us-east-1:", ":eu-west-1:")
    with raises("ResourceNotFoundException", f"^Requested resource not found: ResourcArn: {other} not found$"):
        ddb.list_tags_of_resource(ResourceArn=other)


def test_update_table_attribute_defined_twice_is_invalid(ddb, mk):
    t = mk()
    with raises(V, "Duplicate AttributeName in AttributeDefinitions: g|Cannot have two attributes with the same name"):
        ddb.update_table(TableName=t, AttributeDefinitions=[{"AttributeName": "g", "AttributeType": "S"},
                                                            {"AttributeName": "g", "AttributeType": "N"}],
                         GlobalSecondaryIndexUpdates=[{"Create": _gsi("gsi1", "g")}])
    assert "GlobalSecondaryIndexes" not in ddb.describe_table(TableName=t)["Table"]


# --- DescribeTable shapes ------------------------------------------------------------------------------------
def test_describe_identifiers_and_stream_label_formats(ddb, mk):
    import datetime
    import re
    import uuid

    t = mk("pk", "sk:N", stream="KEYS_ONLY")
    d = ddb.describe_table(TableName=t)["Table"]
    assert str(uuid.UUID(d["TableId"])) == d["TableId"]
    assert isinstance(d["CreationDateTime"], datetime.datetime)
    assert re.fullmatch(r"arn:aws:dynamodb:[a-z0-9-]+:\d{12}:table/" + re.escape(t), d["TableArn"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}", d["LatestStreamLabel"])
    assert d["LatestStreamArn"] == f"{d['TableArn']}/stream/{d['LatestStreamLabel']}"
    assert [k["KeyType"] for k in d["KeySchema"]] == ["HASH", "RANGE"]


def test_switching_to_pay_per_request_zeroes_every_index_throughput(ddb, mk):
    t = _provisioned_with_gsi(mk)
    d = ddb.update_table(TableName=t, BillingMode="PAY_PER_REQUEST")["TableDescription"]
    assert d["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert "LastUpdateToPayPerRequestDateTime" in d["BillingModeSummary"]
    d = ddb.describe_table(TableName=t)["Table"]
    assert d["ProvisionedThroughput"]["ReadCapacityUnits"] == d["ProvisionedThroughput"]["WriteCapacityUnits"] == 0
    g = d["GlobalSecondaryIndexes"][0]["ProvisionedThroughput"]
    assert g["ReadCapacityUnits"] == g["WriteCapacityUnits"] == 0
    with raises(V, "^One or more parameter values were invalid: Neither ReadCapacityUnits nor WriteCapacityUnits can "
                   "be specified when BillingMode is PAY_PER_REQUEST$"):
        ddb.update_table(TableName=t, GlobalSecondaryIndexUpdates=[
            {"Update": {"IndexName": "gsi1", "ProvisionedThroughput": {"ReadCapacityUnits": 2,
                                                                       "WriteCapacityUnits": 2}}}])


def test_switching_to_pay_per_request_keeps_todays_decrease_count(ddb, mk):
    t = mk(BillingMode="PROVISIONED", ProvisionedThroughput={"ReadCapacityUnits": 2, "WriteCapacityUnits": 2})
    ddb.update_table(TableName=t, ProvisionedThroughput=TP)
    ddb.update_table(TableName=t, BillingMode="PAY_PER_REQUEST")
    tp = ddb.describe_table(TableName=t)["Table"]["ProvisionedThroughput"]
    assert (tp["NumberOfDecreasesToday"], tp["ReadCapacityUnits"], tp["WriteCapacityUnits"]) == (1, 0, 0)


# --- warm throughput ---------------------------------------------------------------------------------------
def test_describe_table_reports_the_default_warm_throughput_of_table_and_gsis(ddb, mk):
    t = mk(gsi={"gsi1": {"KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                       "Projection": {"ProjectionType": "ALL"}}}, attrs={"g": "S"})
    d = ddb.describe_table(TableName=t)["Table"]
    assert d["WarmThroughput"] == {"ReadUnitsPerSecond": 12000, "WriteUnitsPerSecond": 4000, "Status": "ACTIVE"}
    assert d["GlobalSecondaryIndexes"][0]["WarmThroughput"] == {
        "ReadUnitsPerSecond": 12000, "WriteUnitsPerSecond": 4000, "Status": "ACTIVE"}


def test_warm_throughput_requested_on_create_and_update_is_reported(ddb, mk):
    t = mk(WarmThroughput={"ReadUnitsPerSecond": 15000})
    assert ddb.describe_table(TableName=t)["Table"]["WarmThroughput"]["ReadUnitsPerSecond"] == 15000
    d = ddb.update_table(TableName=t, WarmThroughput={"WriteUnitsPerSecond": 5000})["TableDescription"]
    assert (d["WarmThroughput"]["ReadUnitsPerSecond"], d["WarmThroughput"]["WriteUnitsPerSecond"]) == (15000, 5000)


def test_warm_throughput_must_name_positive_units(ddb, mk):
    t = mk()
    with raises(V, "WarmThroughput must specify ReadUnitsPerSecond or WriteUnitsPerSecond"):
        ddb.update_table(TableName=t, WarmThroughput={})
    with raises(V, "WarmThroughput ReadUnitsPerSecond must be a positive number"):
        ddb.update_table(TableName=t, WarmThroughput={"ReadUnitsPerSecond": 0})
