"""The Lambda event source mapping API through boto3 against the server: defaults, states,
listing with filters and paging, updates, deletion, and InvalidParameterValueException /
ResourceNotFoundException for bad input."""
from __future__ import annotations

import json
import uuid

import pytest
from botocore.exceptions import ClientError
from triggers_support import HANDLER, ROLE, create_handler_function, create_stream_table, make_zip
from util import make_client, wait_for


@pytest.fixture(scope="module")
def shared(eddy_server):
    """One table with a stream and one function for the tests that only get errors back."""
    ddb, lam = make_client("dynamodb", eddy_server.url), make_client("lambda", eddy_server.url)
    name = f"esm-api-{uuid.uuid4().hex[:8]}"
    arn = create_stream_table(ddb, name, "NEW_IMAGE")
    create_handler_function(lam, name)
    yield arn, name
    lam.delete_function(FunctionName=name)
    ddb.delete_table(TableName=name)


def _err(e: pytest.ExceptionInfo) -> tuple[str, str]:
    return e.value.response["Error"]["Code"], e.value.response["Error"]["Message"]


def test_create_returns_defaults_then_becomes_enabled(trigger, lambda_client):
    t = trigger()
    resp = lambda_client.create_event_source_mapping(EventSourceArn=t.stream_arn, FunctionName=t.function,
                                                     StartingPosition="LATEST")
    t.mappings.append(resp["UUID"])
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert resp["State"] == "Creating"
    assert len(resp["UUID"]) == 36
    assert resp["BatchSize"] == 100
    assert resp["MaximumBatchingWindowInSeconds"] == 0
    assert resp["ParallelizationFactor"] == 1
    assert resp["MaximumRetryAttempts"] == -1
    assert resp["MaximumRecordAgeInSeconds"] == -1
    assert resp["BisectBatchOnFunctionError"] is False
    assert resp["TumblingWindowInSeconds"] == 0
    assert resp["FunctionResponseTypes"] == []
    assert resp["StartingPosition"] == "LATEST"
    assert resp["EventSourceArn"] == t.stream_arn
    assert resp["FunctionArn"].endswith(":function:" + t.function)
    assert resp["EventSourceMappingArn"].endswith(":event-source-mapping:" + resp["UUID"])
    assert resp["LastProcessingResult"] == "No records processed"
    assert resp["StateTransitionReason"] == "User action"
    assert "LastModified" in resp
    t.wait_state(resp["UUID"], "Enabled")


def test_get_list_update_delete(trigger, lambda_client):
    t = trigger()
    u = t.map(BatchSize=10)
    t.wait_state(u, "Enabled")
    got = lambda_client.get_event_source_mapping(UUID=u)
    assert got["BatchSize"] == 10 and got["State"] == "Enabled"

    by_arn = lambda_client.list_event_source_mappings(EventSourceArn=t.stream_arn)["EventSourceMappings"]
    assert [m["UUID"] for m in by_arn] == [u]
    by_fn = lambda_client.list_event_source_mappings(FunctionName=t.function)["EventSourceMappings"]
    assert [m["UUID"] for m in by_fn] == [u]
    assert lambda_client.list_event_source_mappings(FunctionName="no-such-function")["EventSourceMappings"] == []

    upd = lambda_client.update_event_source_mapping(UUID=u, BatchSize=7, MaximumRetryAttempts=3,
                                                    BisectBatchOnFunctionError=True)
    assert upd["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert upd["State"] == "Updating"
    assert upd["BatchSize"] == 7 and upd["MaximumRetryAttempts"] == 3 and upd["BisectBatchOnFunctionError"]
    t.wait_state(u, "Enabled")

    d = lambda_client.delete_event_source_mapping(UUID=u)
    assert d["State"] == "Deleting"

    def gone() -> bool:
        try:
            lambda_client.get_event_source_mapping(UUID=u)
        except ClientError as e:
            return e.response["Error"]["Code"] == "ResourceNotFoundException"
        return False

    wait_for(gone, 20)
    t.mappings.remove(u)


def test_list_pages_with_marker_and_max_items(trigger, make_function, lambda_client):
    t = trigger()
    uuids = {t.map(make_function()[0]) for _ in range(3)}
    seen = []
    marker = None
    while True:
        kw = {"EventSourceArn": t.stream_arn, "MaxItems": 2}
        if marker:
            kw["Marker"] = marker
        page = lambda_client.list_event_source_mappings(**kw)
        assert len(page["EventSourceMappings"]) <= 2
        seen += [m["UUID"] for m in page["EventSourceMappings"]]
        marker = page.get("NextMarker")
        if not marker:
            break
    assert set(seen) == uuids and len(seen) == 3


def test_disable_and_enable_states(trigger, lambda_client):
    t = trigger()
    u = t.map(Enabled=False)
    t.wait_state(u, "Disabled")
    r = lambda_client.update_event_source_mapping(UUID=u, Enabled=True)
    assert r["State"] == "Enabling"
    t.wait_state(u, "Enabled")
    r = lambda_client.update_event_source_mapping(UUID=u, Enabled=False)
    assert r["State"] == "Disabling"
    t.wait_state(u, "Disabled")


def test_last_modified_moves_when_the_state_changes(trigger, lambda_client):
    t = trigger()
    created = lambda_client.create_event_source_mapping(EventSourceArn=t.stream_arn, FunctionName=t.function,
                                                        StartingPosition="LATEST")
    u = created["UUID"]
    t.mappings.append(u)
    t.wait_state(u, "Enabled")
    enabled = lambda_client.get_event_source_mapping(UUID=u)["LastModified"]
    assert enabled > created["LastModified"]
    disabling = lambda_client.update_event_source_mapping(UUID=u, Enabled=False)["LastModified"]
    assert disabling > enabled
    t.wait_state(u, "Disabled")
    disabled = lambda_client.get_event_source_mapping(UUID=u)["LastModified"]
    assert disabled > disabling
    assert lambda_client.delete_event_source_mapping(UUID=u)["LastModified"] > disabled


# values outside the model's constraints are request validation errors (ValidationException)
@pytest.mark.parametrize("params, needle", [
    ({"BatchSize": 10001}, "batchSize"),
    ({"MaximumBatchingWindowInSeconds": 301}, "maximumBatchingWindowInSeconds"),
    ({"ParallelizationFactor": 11}, "parallelizationFactor"),
    ({"MaximumRetryAttempts": 10001}, "maximumRetryAttempts"),
    ({"MaximumRecordAgeInSeconds": 604801}, "maximumRecordAgeInSeconds"),
    ({"TumblingWindowInSeconds": 901}, "tumblingWindowInSeconds"),
    ({"FunctionResponseTypes": ["Nope"]}, "functionResponseTypes"),
])
def test_values_outside_the_model_are_validation_errors(shared, lambda_client, params, needle):
    arn, function = shared
    kw = {"EventSourceArn": arn, "FunctionName": function, "StartingPosition": "LATEST", **params}
    with pytest.raises(ClientError) as e:
        lambda_client.create_event_source_mapping(**kw)
    code, message = _err(e)
    assert code == "ValidationException"
    assert f"at '{needle}' failed to satisfy constraint" in message
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


@pytest.mark.parametrize("params, needle", [
    ({"MaximumRecordAgeInSeconds": 30}, "MaximumRecordAgeInSeconds"),
    ({"FilterCriteria": {"Filters": [{"Pattern": "{not json"}]}}, "Invalid filter pattern definition"),
    ({"FilterCriteria": {"Filters": [{"Pattern": json.dumps({"a": "b"})}]}}, "Invalid filter pattern definition"),
    ({"FilterCriteria": {"Filters": [{"Pattern": json.dumps({"a": ["x"]})}] * 6}}, "maximum of 5"),
    ({"DestinationConfig": {"OnFailure": {"Destination": "arn:aws:sqs:us-east-1:000000000000:q"}}}, "destination"),
    ({"DestinationConfig": {"OnSuccess": {"Destination": "file:///tmp/x"}}}, "OnSuccess"),
    ({"DestinationConfig": {"OnFailure": {"Destination": "file://relative/dir"}}}, "file:///"),
    ({"DestinationConfig": {"OnFailure": {"Destination": "arn:aws:dynamodb:us-east-1:000000000000:table/nope"}}},
     "does not exist"),
    ({"StartingPosition": "AT_TIMESTAMP"}, "starting position"),
])
def test_invalid_parameters_are_rejected(shared, lambda_client, params, needle):
    arn, function = shared
    kw = {"EventSourceArn": arn, "FunctionName": function, "StartingPosition": "LATEST", **params}
    with pytest.raises(ClientError) as e:
        lambda_client.create_event_source_mapping(**kw)
    code, message = _err(e)
    assert code == "InvalidParameterValueException"
    assert needle.lower() in message.lower()
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_starting_position_is_required_for_a_dynamodb_stream(shared, lambda_client):
    arn, function = shared
    with pytest.raises(ClientError) as e:
        lambda_client.create_event_source_mapping(EventSourceArn=arn, FunctionName=function)
    assert _err(e)[0] == "InvalidParameterValueException"
    assert "startingPosition" in _err(e)[1]
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_update_validates_too(trigger, lambda_client):
    t = trigger()
    u = t.map()
    with pytest.raises(ClientError) as e:
        lambda_client.update_event_source_mapping(UUID=u, BatchSize=20000)
    assert _err(e)[0] == "ValidationException"
    with pytest.raises(ClientError) as e:
        lambda_client.update_event_source_mapping(
            UUID=u, FilterCriteria={"Filters": [{"Pattern": '{"eventName": [{"numeric": ["<", "x"]}]}'}]})
    assert _err(e)[0] == "InvalidParameterValueException"


def test_unknown_function_is_not_found_and_unknown_stream_is_an_invalid_parameter(shared, lambda_client):
    arn, function = shared
    with pytest.raises(ClientError) as e:
        lambda_client.create_event_source_mapping(EventSourceArn=arn, FunctionName="no-such-fn",
                                                  StartingPosition="LATEST")
    assert _err(e)[0] == "ResourceNotFoundException"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    bogus = arn.rsplit("/", 1)[0] + "/2000-01-01T00:00:00.000"
    with pytest.raises(ClientError) as e:
        lambda_client.create_event_source_mapping(EventSourceArn=bogus, FunctionName=function,
                                                  StartingPosition="LATEST")
    assert _err(e) == ("InvalidParameterValueException", f"Stream not found: {bogus}")
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_a_function_version_or_alias_that_does_not_exist_is_not_found(shared, lambda_client):
    arn, function = shared
    for ref in (f"{function}:prod", f"{function}:1"):
        with pytest.raises(ClientError) as e:
            lambda_client.create_event_source_mapping(EventSourceArn=arn, FunctionName=ref, StartingPosition="LATEST")
        code, message = _err(e)
        assert code == "ResourceNotFoundException"
        assert message.endswith(f":function:{ref}")
        assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert lambda_client.list_event_source_mappings(EventSourceArn=arn)["EventSourceMappings"] == []


def test_the_latest_qualifier_names_the_function(trigger, lambda_client):
    t = trigger()
    u = t.map(f"{t.function}:$LATEST")
    assert lambda_client.get_event_source_mapping(UUID=u)["FunctionArn"].endswith(":function:" + t.function)
    with pytest.raises(ClientError) as e:
        lambda_client.update_event_source_mapping(UUID=u, FunctionName=f"{t.function}:live")
    assert _err(e)[0] == "ResourceNotFoundException"


def test_unknown_uuid_is_not_found(lambda_client):
    missing = "00000000-0000-0000-0000-000000000000"
    for call in (lambda_client.get_event_source_mapping, lambda_client.delete_event_source_mapping):
        with pytest.raises(ClientError) as e:
            call(UUID=missing)
        assert _err(e) == ("ResourceNotFoundException", "The resource you requested does not exist.")
        assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    with pytest.raises(ClientError) as e:
        lambda_client.update_event_source_mapping(UUID=missing, BatchSize=5)
    assert _err(e) == ("ResourceNotFoundException", "The resource you requested does not exist.")


def test_a_uuid_longer_than_36_characters_is_rejected_with_the_length_constraint(lambda_client):
    with pytest.raises(ClientError) as e:
        lambda_client.get_event_source_mapping(UUID="0" * 37)
    code, message = _err(e)
    assert code == "ValidationException"
    assert message.endswith("at 'uUID' failed to satisfy constraint: Member must have length less than or equal to 36")


def test_duplicate_mapping_is_a_conflict(trigger, lambda_client):
    t = trigger()
    t.map()
    with pytest.raises(ClientError) as e:
        t.map()
    assert _err(e)[0] == "ResourceConflictException"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409


def test_function_may_be_named_by_arn_or_partial_arn_and_list_filters_by_either(trigger, make_function,
                                                                              lambda_client):
    t = trigger()
    other, _ = make_function()
    arn = lambda_client.get_function(FunctionName=t.function)["Configuration"]["FunctionArn"]
    partial = ":".join(lambda_client.get_function(FunctionName=other)["Configuration"]["FunctionArn"].split(":")[4:])
    by_arn = t.map(arn)
    by_partial = t.map(partial)
    assert partial.startswith("000000000000:function:")
    assert lambda_client.get_event_source_mapping(UUID=by_arn)["FunctionArn"] == arn
    listed = lambda_client.list_event_source_mappings(FunctionName=arn)["EventSourceMappings"]
    assert [m["UUID"] for m in listed] == [by_arn]
    listed = lambda_client.list_event_source_mappings(FunctionName=other)["EventSourceMappings"]
    assert [m["UUID"] for m in listed] == [by_partial]


def test_updating_a_mapping_onto_a_function_already_mapped_to_the_stream_is_a_conflict(trigger, make_function,
                                                                                    lambda_client):
    t = trigger()
    other, _ = make_function()
    t.map()
    u = t.map(other)
    with pytest.raises(ClientError) as e:
        lambda_client.update_event_source_mapping(UUID=u, FunctionName=t.function)
    assert _err(e)[0] == "ResourceConflictException"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409
    assert lambda_client.get_event_source_mapping(UUID=u)["FunctionArn"].endswith(":function:" + other)


def test_filter_criteria_round_trips(trigger, lambda_client):
    t = trigger()
    pattern = json.dumps({"eventName": ["INSERT"]})
    u = t.map(FilterCriteria={"Filters": [{"Pattern": pattern}]},
              DestinationConfig={"OnFailure": {"Destination": "file:///tmp/eddydb-dlq"}},
              FunctionResponseTypes=["ReportBatchItemFailures"], TumblingWindowInSeconds=60)
    got = lambda_client.get_event_source_mapping(UUID=u)
    assert got["FilterCriteria"] == {"Filters": [{"Pattern": pattern}]}
    assert got["DestinationConfig"] == {"OnFailure": {"Destination": "file:///tmp/eddydb-dlq"}}
    assert got["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert got["TumblingWindowInSeconds"] == 60


def test_update_removes_filters_and_destination(trigger, lambda_client):
    t = trigger()
    u = t.map(FilterCriteria={"Filters": [{"Pattern": '{"eventName": ["REMOVE"]}'}]},
              DestinationConfig={"OnFailure": {"Destination": "file:///tmp/eddydb-dlq"}})
    t.wait_state(u, "Enabled")
    lambda_client.update_event_source_mapping(UUID=u, FilterCriteria={"Filters": []},
                                              DestinationConfig={"OnFailure": {}})
    got = lambda_client.get_event_source_mapping(UUID=u)
    assert "FilterCriteria" not in got
    assert got["DestinationConfig"] == {"OnFailure": {}}
    t.wait_state(u, "Enabled")
    t.put("b")
    t.wait_delivered(["b"])


def test_list_returns_at_most_100_mappings_per_page_even_with_a_higher_max_items(tmp_path):
    """ListEventSourceMappings: "returns a maximum of 100 items in each response, even if you set
    the number higher" (botocore's MaxItems documentation)."""
    import eddydb

    with eddydb.open(str(tmp_path / "data")) as db:
        ddb, lam = db.client("dynamodb"), db.client("lambda")
        arn = create_stream_table(ddb, "many", "KEYS_ONLY")
        code = make_zip({"app.py": HANDLER})
        made = set()
        for i in range(101):
            lam.create_function(FunctionName=f"fn{i}", Runtime="python3.12", Role=ROLE, Handler="app.handler",
                                Code={"ZipFile": code})
            made.add(lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=f"fn{i}",
                                                     StartingPosition="LATEST", Enabled=False)["UUID"])
        first = lam.list_event_source_mappings(MaxItems=1000)
        assert len(first["EventSourceMappings"]) == 100
        second = lam.list_event_source_mappings(MaxItems=1000, Marker=first["NextMarker"])
        assert len(second["EventSourceMappings"]) == 1 and "NextMarker" not in second
        assert {m["UUID"] for m in first["EventSourceMappings"] + second["EventSourceMappings"]} == made


def test_updating_a_mapping_that_is_being_deleted_is_resource_in_use(tmp_path):
    """UpdateEventSourceMapping on a mapping in the Deleting state: ResourceInUseException, HTTP 400
    (the Lambda model: "you tried to update an event source mapping in the CREATING state, or you
    tried to delete an event source mapping currently UPDATING")."""
    import threading

    import eddydb

    with eddydb.open(str(tmp_path / "data")) as db:
        ddb, lam = db.client("dynamodb"), db.client("lambda")
        create_stream_table(ddb, "busy", "KEYS_ONLY")
        entered, release = threading.Event(), threading.Event()

        def handler(event, context):
            entered.set()
            release.wait(30)

        u = db.on_change("busy", handler, starting_position="TRIM_HORIZON")
        ddb.put_item(TableName="busy", Item={"pk": {"S": "a"}})
        assert entered.wait(20)
        try:
            assert lam.delete_event_source_mapping(UUID=u)["State"] == "Deleting"
            # the processor is inside an invocation: the mapping stays Deleting until it returns
            with pytest.raises(ClientError) as e:
                lam.update_event_source_mapping(UUID=u, BatchSize=5)
            assert _err(e)[0] == "ResourceInUseException"
            assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
        finally:
            release.set()
