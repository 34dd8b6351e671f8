"""FilterCriteria on a DynamoDB-stream event source mapping, as AWS Lambda documents it ("Lambda
event filtering", "Using event filtering with a DynamoDB event source"): the pattern semantics on
the DynamoDB record shape (unit level, on `triggers.filters`), and through boto3 what filtering
does to delivery, checkpoints, updates and the FilterCriteria echo."""
from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError
from hypothesis import given
from hypothesis import strategies as st
from util import wait_for

from eddydb.model.errors import InvalidParameterValueException, ValidationException
from eddydb.triggers.filters import MAX_PATTERN_LENGTH, matches, validate_filter_criteria


def ddb_record(event_name: str = "INSERT", new: dict | None = None, old: dict | None = None) -> dict:
    """A stream record as delivered to the function (DynamoDB JSON images)."""
    dynamodb: dict[str, Any] = {"Keys": {"pk": {"S": "k"}}, "SequenceNumber": "100", "SizeBytes": 20,
                                "StreamViewType": "NEW_AND_OLD_IMAGES", "ApproximateCreationDateTime": 1700000000}
    if new is not None:
        dynamodb["NewImage"] = {"pk": {"S": "k"}, **new}
    if old is not None:
        dynamodb["OldImage"] = {"pk": {"S": "k"}, **old}
    return {"eventID": "e1", "eventName": event_name, "eventVersion": "1.1", "eventSource": "aws:dynamodb",
            "awsRegion": "us-east-1", "dynamodb": dynamodb,
            "eventSourceARN": "arn:aws:dynamodb:us-east-1:000000000000:table/t/stream/2024-01-01T00:00:00.000"}


def m(pattern: dict, event: dict) -> bool:
    return matches(json.dumps(pattern), event)


# --- exists works on leaf nodes only (the DynamoDB filtering guide's "Organizations" example) -----------
ORGS = {"UserID": {"S": "12345"}, "Name": {"S": "John Doe"},
        "Organizations": {"L": [{"S": "Sales"}, {"S": "Marketing"}, {"S": "Support"}]}}


def test_exists_true_on_an_intermediate_node_never_matches():
    # "this filter pattern would never return a match because Organizations is not a leaf node"
    assert not m({"dynamodb": {"NewImage": {"Organizations": [{"exists": True}]}}}, ddb_record(new=ORGS))


def test_exists_true_down_to_the_leaf_matches():
    p = {"dynamodb": {"NewImage": {"Organizations": {"L": {"S": [{"exists": True}]}}}}}
    assert m(p, ddb_record(new=ORGS))
    assert not m(p, ddb_record(new={"UserID": {"S": "1"}}))


def test_exists_true_on_a_typed_leaf():
    p = {"dynamodb": {"NewImage": {"Name": {"S": [{"exists": True}]}}}}
    assert m(p, ddb_record(new=ORGS))
    assert not m(p, ddb_record(new={"Name": {"N": "5"}}))
    assert not m(p, ddb_record(new={}))


def test_exists_false_on_an_intermediate_node_matches_because_it_is_no_leaf():
    # EventBridge: "Exists matching only works on leaf nodes. It does not work on intermediate nodes."
    assert m({"dynamodb": {"NewImage": {"Organizations": [{"exists": False}]}}}, ddb_record(new=ORGS))


def test_exists_false_on_a_typed_leaf_means_the_attribute_is_absent():
    p = {"dynamodb": {"NewImage": {"done": {"BOOL": [{"exists": False}]}}}}
    assert m(p, ddb_record(new={}))
    assert not m(p, ddb_record(new={"done": {"BOOL": False}}))


def test_exists_false_holds_when_a_parent_is_missing():
    # a REMOVE record has no NewImage, so it has no leaf under it
    p = {"dynamodb": {"NewImage": {"done": {"BOOL": [{"exists": False}]}}}}
    assert m(p, ddb_record("REMOVE", old={"done": {"BOOL": True}}))


def test_exists_on_a_null_value_and_an_empty_list():
    assert m({"f": [{"exists": True}]}, {"f": None})
    assert not m({"f": [{"exists": False}]}, {"f": None})
    # an empty array has no leaf at its path
    assert not m({"f": [{"exists": True}]}, {"f": []})
    assert m({"f": [{"exists": False}]}, {"f": []})


def test_exists_inside_a_list_of_dynamodb_values():
    p = {"dynamodb": {"NewImage": {"Organizations": {"L": {"S": ["Support"]}}}}}
    assert m(p, ddb_record(new=ORGS))
    assert not m({"dynamodb": {"NewImage": {"Organizations": {"L": {"S": ["HR"]}}}}}, ddb_record(new=ORGS))


def test_value_matches_never_see_objects():
    # a value pattern on an intermediate node (the attribute, not its "S") matches nothing
    assert not m({"dynamodb": {"NewImage": {"Name": ["John Doe"]}}}, ddb_record(new=ORGS))
    assert not m({"dynamodb": {"NewImage": {"Name": [{"anything-but": "x"}]}}}, ddb_record(new=ORGS))


_scalars = st.one_of(st.text(max_size=3), st.integers(-5, 5), st.booleans(), st.none())
_arrays = st.recursive(_scalars, lambda c: st.lists(c, max_size=3), max_leaves=6)


# (arrays of objects are left out: a pattern matches inside one element of them, so absence is per element)
@given(st.recursive(_arrays, lambda c: st.dictionaries(st.sampled_from(["b", "c", "S"]), c, max_size=3),
                    max_leaves=8))
def test_exists_true_and_false_are_complements_at_any_depth(value):
    for event in ({"a": {"b": value}}, {"a": value}, {"a": [value]}):
        p_true = {"a": {"b": [{"exists": True}]}}
        p_false = {"a": {"b": [{"exists": False}]}}
        assert m(p_true, event) != m(p_false, event)


# --- the operators of the filter rule syntax table on DynamoDB records --------------------------------

def test_documented_operators_on_dynamodb_images():
    rec = ddb_record(new={"Region": {"S": "us-east-1"}, "File": {"S": "a.PNG"}, "Price": {"N": "15"},
                          "Weather": {"S": "Sunny"}, "Name": {"S": "Alice"}, "Active": {"BOOL": True},
                          "Nothing": {"NULL": True}, "Empty": {"S": ""}})
    img = rec["dynamodb"]["NewImage"]

    def on(attr: str, typ: str, rule: list) -> bool:
        return m({"dynamodb": {"NewImage": {attr: {typ: rule}}}}, rec)

    assert img["Nothing"] == {"NULL": True}
    assert on("Name", "S", ["Alice"]) and not on("Name", "S", ["alice"])
    assert on("Name", "S", [{"equals-ignore-case": "ALICE"}])
    assert on("Empty", "S", [""])
    assert on("Region", "S", [{"prefix": "us-"}]) and not on("Region", "S", [{"prefix": "eu-"}])
    assert on("File", "S", [{"suffix": ".PNG"}]) and not on("File", "S", [{"suffix": ".png"}])
    assert on("Weather", "S", [{"anything-but": ["Raining"]}]) and not on("Weather", "S", [{"anything-but": "Sunny"}])
    assert on("Active", "BOOL", [True]) and not on("Active", "BOOL", [False])
    assert on("Nothing", "NULL", [True])
    assert on("Price", "N", [{"numeric": [">", 10, "<=", 20]}]) and not on("Price", "N", [{"numeric": ["<", 10]}])
    assert on("Name", "S", ["Bob", "Alice"])


def test_and_across_fields_or_with_dollar_or():
    rec = ddb_record("MODIFY", new={"Location": {"S": "New York"}, "Day": {"S": "Tuesday"}})
    both = {"dynamodb": {"NewImage": {"Location": {"S": ["New York"]}, "Day": {"S": ["Monday"]}}}}
    either = {"dynamodb": {"NewImage": {"$or": [{"Location": {"S": ["New York"]}}, {"Day": {"S": ["Monday"]}}]}}}
    assert not m(both, rec)
    assert m(either, rec)
    assert m({"$or": [{"eventName": ["INSERT"]}, {"dynamodb": {"NewImage": {"Day": {"S": ["Tuesday"]}}}}]}, rec)


def test_patterns_see_top_level_metadata():
    rec = ddb_record("REMOVE", old={"x": {"S": "1"}})
    assert m({"eventSource": ["aws:dynamodb"], "eventName": ["REMOVE"], "awsRegion": [{"prefix": "us-"}]}, rec)
    assert m({"dynamodb": {"Keys": {"pk": {"S": ["k"]}}}}, rec)
    assert m({"dynamodb": {"OldImage": {"x": {"S": ["1"]}}}}, rec)


def test_a_number_literal_beyond_the_numeric_range_is_an_exact_match():
    # only numeric bounds are limited to +-5.0e9; a literal such as an account number stays a valid exact match
    p = {"dynamodb": {"ApproximateCreationDateTime": [123456789012]}}
    validate_filter_criteria(_pattern(p))
    rec = ddb_record()
    assert not m(p, rec)
    rec["dynamodb"]["ApproximateCreationDateTime"] = 123456789012
    assert m(p, rec)
    with pytest.raises(InvalidParameterValueException):
        validate_filter_criteria(_pattern({"n": [{"numeric": [">", 123456789012]}]}))


def test_pattern_length_limit_is_4096_characters():
    base = '{"eventName": ["INSERT"], "x": ["'
    exact = base + "a" * (MAX_PATTERN_LENGTH - len(base) - 3) + '"]}'
    assert len(exact) == 4096
    validate_filter_criteria({"Filters": [{"Pattern": exact}]})
    too_long = exact.replace('"a', '"aa', 1)
    with pytest.raises(ValidationException):   # the model's constraint on Pattern
        validate_filter_criteria({"Filters": [{"Pattern": too_long}]})


# --- through the Lambda API ---------------------------------------------------------------------------

def _pattern(p: dict) -> dict:
    return {"Filters": [{"Pattern": json.dumps(p)}]}


def test_exists_on_an_attribute_node_filters_everything_out_end_to_end(trigger):
    t = trigger()
    t.map(FilterCriteria={"Filters": [
        {"Pattern": json.dumps({"dynamodb": {"NewImage": {"Organizations": [{"exists": True}]}}})},
        {"Pattern": json.dumps({"dynamodb": {"NewImage": {"marker": {"S": [{"exists": True}]}}}})},
    ]}, BatchSize=1)
    t.ddb.put_item(TableName=t.table, Item={"pk": {"S": "orgs"}, **ORGS})
    t.put("sentinel", marker="yes")
    t.wait_delivered(["sentinel"])
    assert t.delivered() == ["sentinel"]


def test_batches_whose_records_are_all_filtered_out_invoke_nothing(trigger, lambda_client):
    t = trigger()
    for k in ("x1", "x2", "x3"):
        t.put(k, kind="skip")
    t.put("m1", kind="keep")
    u = t.map(FilterCriteria=_pattern({"dynamodb": {"NewImage": {"kind": {"S": ["keep"]}}}}), BatchSize=1)
    t.wait_delivered(["m1"])
    assert [c["keys"] for c in t.calls()] == [["m1"]]
    assert lambda_client.get_event_source_mapping(UUID=u)["State"] == "Enabled"


def test_filtered_out_records_are_dropped_not_kept_for_later(trigger, lambda_client):
    t = trigger()
    t.put("m1", kind="keep")
    t.put("x1", kind="skip")
    t.put("x2", kind="skip")
    t.put("m2", kind="keep")
    u = t.map(FilterCriteria=_pattern({"dynamodb": {"NewImage": {"kind": {"S": ["keep"]}}}}), BatchSize=10)
    t.wait_delivered(["m1", "m2"])
    # removing the filter later does not bring the dropped records back: the position moved past them
    lambda_client.update_event_source_mapping(UUID=u, FilterCriteria={})
    t.wait_state(u, "Enabled")
    t.put("m3", kind="skip")
    t.wait_delivered(["m3"])
    delivered = t.delivered()
    assert "x1" not in delivered and "x2" not in delivered
    assert delivered[-1] == "m3"


def test_filter_update_applies_to_new_records(trigger, lambda_client):
    t = trigger()
    u = t.map(FilterCriteria=_pattern({"eventName": ["INSERT"]}), StartingPosition="LATEST")
    t.wait_state(u, "Enabled")
    t.put("a", v=1)
    t.wait_delivered(["a"])
    resp = lambda_client.update_event_source_mapping(UUID=u, FilterCriteria=_pattern({"eventName": ["MODIFY"]}))
    assert resp["FilterCriteria"] == _pattern({"eventName": ["MODIFY"]})
    t.wait_state(u, "Enabled")
    t.put("b", v=1)          # INSERT: no longer passes
    t.put("a", v=2)          # MODIFY: passes now
    wait_for(lambda: "MODIFY" in [n for c in t.calls() for n in c["names"]], 30)
    names = [n for c in t.calls() if not c.get("failed") for n in c["names"]]
    assert names[-1] == "MODIFY"
    assert "b" not in t.delivered()


@pytest.mark.parametrize("removal", [{}, {"Filters": []}])
def test_update_with_empty_filter_criteria_removes_filtering(trigger, lambda_client, removal):
    t = trigger()
    u = t.map(FilterCriteria=_pattern({"eventName": ["REMOVE"]}), StartingPosition="LATEST")
    t.wait_state(u, "Enabled")
    resp = lambda_client.update_event_source_mapping(UUID=u, FilterCriteria=removal)
    assert "FilterCriteria" not in resp
    assert "FilterCriteria" not in lambda_client.get_event_source_mapping(UUID=u)
    t.wait_state(u, "Enabled")
    t.put("now-passes")
    t.wait_delivered(["now-passes"])


def test_update_without_filter_criteria_keeps_the_filters(trigger, lambda_client):
    t = trigger()
    criteria = _pattern({"eventName": ["INSERT"]})
    u = t.map(FilterCriteria=criteria)
    t.wait_state(u, "Enabled")
    resp = lambda_client.update_event_source_mapping(UUID=u, BatchSize=7)
    assert resp["FilterCriteria"] == criteria
    assert lambda_client.get_event_source_mapping(UUID=u)["FilterCriteria"] == criteria


def test_filter_criteria_echo_in_create_get_list(trigger, lambda_client):
    t = trigger()
    raw = '{ "eventName" : [ "INSERT" ],\n  "dynamodb": {"NewImage": {"n": {"N": [{"numeric": [">", 1.50]}]}}} }'
    criteria = {"Filters": [{"Pattern": raw}, {"Pattern": '{"eventName": ["REMOVE"]}'}]}
    created = lambda_client.create_event_source_mapping(EventSourceArn=t.stream_arn, FunctionName=t.function,
                                                        StartingPosition="LATEST", FilterCriteria=criteria)
    t.mappings.append(created["UUID"])
    assert created["FilterCriteria"] == criteria   # the pattern text as given, not re-serialised
    assert lambda_client.get_event_source_mapping(UUID=created["UUID"])["FilterCriteria"] == criteria
    listed = lambda_client.list_event_source_mappings(EventSourceArn=t.stream_arn)["EventSourceMappings"]
    assert [x["FilterCriteria"] for x in listed if x["UUID"] == created["UUID"]] == [criteria]


def test_no_filter_criteria_is_absent_from_the_mapping(trigger, lambda_client):
    t = trigger()
    created = lambda_client.create_event_source_mapping(EventSourceArn=t.stream_arn, FunctionName=t.function,
                                                        StartingPosition="LATEST")
    t.mappings.append(created["UUID"])
    assert "FilterCriteria" not in created


@pytest.mark.parametrize("pattern", [
    "{not json",
    '["eventName"]',
    '{"eventName": "INSERT"}',
    '{"eventName": []}',
    '{"eventName": [{"prefix": "a", "suffix": "b"}]}',
    '{"eventName": [{"numeric": ["!=", 1]}]}',
    '{"eventName": [{"unknown-operator": 1}]}',
])
def test_invalid_pattern_is_rejected_at_create_and_nothing_is_made(trigger, lambda_client, pattern):
    t = trigger()
    with pytest.raises(ClientError) as e:
        t.map(FilterCriteria={"Filters": [{"Pattern": pattern}]})
    assert e.value.response["Error"]["Code"] == "InvalidParameterValueException"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert "Invalid filter pattern definition" in e.value.response["Error"]["Message"]
    assert lambda_client.list_event_source_mappings(EventSourceArn=t.stream_arn)["EventSourceMappings"] == []


def test_invalid_pattern_at_update_leaves_the_filters_unchanged(trigger, lambda_client):
    t = trigger()
    criteria = _pattern({"eventName": ["INSERT"]})
    u = t.map(FilterCriteria=criteria)
    t.wait_state(u, "Enabled")
    with pytest.raises(ClientError) as e:
        lambda_client.update_event_source_mapping(UUID=u, FilterCriteria={"Filters": [{"Pattern": '{"a": "b"}'}]})
    assert e.value.response["Error"]["Code"] == "InvalidParameterValueException"
    assert lambda_client.get_event_source_mapping(UUID=u)["FilterCriteria"] == criteria


def test_five_filters_are_allowed_six_are_not(trigger, lambda_client):
    t = trigger()
    five = {"Filters": [{"Pattern": json.dumps({"eventName": [n]})} for n in ("A", "B", "C", "D", "INSERT")]}
    u = t.map(FilterCriteria=five)
    assert lambda_client.get_event_source_mapping(UUID=u)["FilterCriteria"] == five
    with pytest.raises(ClientError) as e:
        lambda_client.update_event_source_mapping(
            UUID=u, FilterCriteria={"Filters": five["Filters"] + [{"Pattern": '{"eventName": ["F"]}'}]})
    assert e.value.response["Error"]["Code"] == "InvalidParameterValueException"


def test_filters_are_ored_end_to_end(trigger):
    t = trigger()
    t.map(FilterCriteria={"Filters": [
        {"Pattern": json.dumps({"dynamodb": {"NewImage": {"v": {"N": [{"numeric": [">", 100]}]}}}})},
        {"Pattern": json.dumps({"dynamodb": {"Keys": {"pk": {"S": [{"prefix": "vip-"}]}}}})},
    ]}, BatchSize=3)
    t.put("big", v=500)
    t.put("small", v=5)
    t.put("vip-small", v=5)
    t.put("other", v=50)
    t.put("last", v=101)
    t.wait_delivered(["big", "vip-small", "last"])
    assert t.delivered() == ["big", "vip-small", "last"]
