"""Conformance audit of the Lambda event source mapping API on DynamoDB streams: the error
type and message Lambda gives for each kind of bad request (a value outside the model's
constraints is a ValidationException, Lambda's own checks an InvalidParameterValueException,
an invalid filter pattern "Invalid filter pattern definition."), and malformed bodies that must
never become a 500."""
from __future__ import annotations

import contextlib
import json
import urllib.error
import urllib.request
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError
from triggers_support import ROLE, create_handler_function, create_stream_table, make_zip
from util import make_client, wait_for

_BASE = "/2015-03-31/event-source-mappings/"


@pytest.fixture(scope="module")
def shared(eddy_server: Any) -> Any:
    """One table with a stream and one function, for the tests that only get errors back."""
    ddb, lam = make_client("dynamodb", eddy_server.url), make_client("lambda", eddy_server.url)
    name = f"esm-audit-{uuid.uuid4().hex[:8]}"
    arn = create_stream_table(ddb, name, "NEW_IMAGE")
    create_handler_function(lam, name)
    yield arn, name
    for m in lam.list_event_source_mappings(EventSourceArn=arn)["EventSourceMappings"]:
        with contextlib.suppress(ClientError):   # one still Deleting from its test
            lam.delete_event_source_mapping(UUID=m["UUID"])
    lam.delete_function(FunctionName=name)
    ddb.delete_table(TableName=name)


@pytest.fixture(scope="module")
def lam(eddy_server: Any) -> Any:
    """A lambda client without botocore's client-side checks: the server must answer bad values itself."""
    return make_client("lambda", eddy_server.url, parameter_validation=False)


def _err(e: pytest.ExceptionInfo) -> tuple[str, str]:
    return e.value.response["Error"]["Code"], e.value.response["Error"]["Message"]


def _raw(url: str, method: str, path: str, body: Any = None) -> tuple[int, str, dict[str, Any]]:
    """A request boto3 would refuse to serialise: (status, x-amzn-ErrorType, JSON body)."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url + path, data=data, method=method, headers={
        "Content-Type": "application/json",
        "Authorization": "AWS4-HMAC-SHA256 Credential=x/20200101/us-east-1/lambda/aws4_request, "
                         "SignedHeaders=host, Signature=x"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, "", json.loads(r.read() or b"{}")
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("x-amzn-ErrorType", ""), json.loads(e.read() or b"{}")


def _create(lam: Any, shared: Any, **params: Any) -> Any:
    arn, function = shared
    kw = {"EventSourceArn": arn, "FunctionName": function, "StartingPosition": "LATEST", **params}
    return lam.create_event_source_mapping(**kw)


def _no_mappings(lam: Any, shared: Any) -> bool:
    """No mapping on the shared stream: those other tests deleted may still be Deleting for a moment
    (a mapping goes once its processors have stopped), one a refused request made would never go."""
    wait_for(lambda: lam.list_event_source_mappings(EventSourceArn=shared[0])["EventSourceMappings"] == [],
             timeout=15, message="mappings left on the shared stream")
    return True


# --- malformed structures: an error, never a 500 ---------------------------------------------------

@pytest.mark.parametrize("params, message", [
    ({"DestinationConfig": {"OnFailure": "x"}}, "DestinationConfig.OnFailure must be an object."),
    ({"DestinationConfig": {"OnSuccess": ["x"]}}, "DestinationConfig.OnSuccess must be an object."),
    ({"FunctionName": 5}, "FunctionName must be a string."),
    ({"FunctionName": ["f"]}, "FunctionName must be a string."),
    ({"EventSourceArn": {"a": 1}}, "EventSourceArn must be a string."),
])
def test_malformed_members_at_create_are_invalid_parameters_not_server_errors(eddy_server, lam, shared,
                                                                              params, message):
    arn, function = shared
    status, code, body = _raw(eddy_server.url, "POST", _BASE, {
        "EventSourceArn": arn, "FunctionName": function, "StartingPosition": "LATEST", **params})
    assert (status, code, body.get("Message")) == (400, "InvalidParameterValueException", message)
    assert _no_mappings(lam, shared)


@pytest.mark.parametrize("params, message", [
    ({"DestinationConfig": {"OnFailure": "x"}}, "DestinationConfig.OnFailure must be an object."),
    ({"FunctionName": 5}, "FunctionName must be a string."),
])
def test_malformed_members_at_update_are_invalid_parameters_and_change_nothing(eddy_server, lam, shared,
                                                                               params, message):
    u = _create(lam, shared, BatchSize=7)["UUID"]
    try:
        status, code, body = _raw(eddy_server.url, "PUT", _BASE + u, {"BatchSize": 8, **params})
        assert (status, code, body.get("Message")) == (400, "InvalidParameterValueException", message)
        got = lam.get_event_source_mapping(UUID=u)
        assert got["BatchSize"] == 7
        assert got["FunctionArn"].endswith(":function:" + shared[1])
    finally:
        lam.delete_event_source_mapping(UUID=u)


# --- the model's constraints: ValidationException --------------------------------------------------

@pytest.mark.parametrize("params, member, constraint", [
    ({"BatchSize": 0}, "batchSize", "Member must have value greater than or equal to 1"),
    ({"BatchSize": 10001}, "batchSize", "Member must have value less than or equal to 10000"),
    ({"MaximumBatchingWindowInSeconds": -1}, "maximumBatchingWindowInSeconds",
     "Member must have value greater than or equal to 0"),
    ({"MaximumBatchingWindowInSeconds": 301}, "maximumBatchingWindowInSeconds",
     "Member must have value less than or equal to 300"),
    ({"ParallelizationFactor": 0}, "parallelizationFactor", "Member must have value greater than or equal to 1"),
    ({"MaximumRetryAttempts": -2}, "maximumRetryAttempts", "Member must have value greater than or equal to -1"),
    ({"MaximumRecordAgeInSeconds": -2}, "maximumRecordAgeInSeconds",
     "Member must have value greater than or equal to -1"),
    ({"TumblingWindowInSeconds": -1}, "tumblingWindowInSeconds", "Member must have value greater than or equal to 0"),
    ({"TumblingWindowInSeconds": 901}, "tumblingWindowInSeconds", "Member must have value less than or equal to 900"),
])
def test_numbers_outside_the_model_range_are_validation_exceptions(lam, shared, params, member,
                                                                   constraint):
    with pytest.raises(ClientError) as e:
        _create(lam, shared, **params)
    value = next(iter(params.values()))
    assert _err(e) == ("ValidationException", (f"1 validation error detected: Value '{value}' at '{member}' "
                                              f"failed to satisfy constraint: {constraint}"))
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert _no_mappings(lam, shared)


def test_update_outside_the_model_range_is_a_validation_exception(lam, shared):
    u = _create(lam, shared)["UUID"]
    try:
        with pytest.raises(ClientError) as e:
            lam.update_event_source_mapping(UUID=u, BatchSize=0)
        assert _err(e) == ("ValidationException", ("1 validation error detected: Value '0' at 'batchSize' failed to "
                                                  "satisfy constraint: Member must have value greater than or equal to 1"))
        assert lam.get_event_source_mapping(UUID=u)["BatchSize"] == 100
    finally:
        lam.delete_event_source_mapping(UUID=u)


def test_the_range_bounds_themselves_are_accepted_and_echoed(lam, shared):
    top = {"BatchSize": 10000, "MaximumBatchingWindowInSeconds": 300, "ParallelizationFactor": 10,
           "MaximumRetryAttempts": 10000, "MaximumRecordAgeInSeconds": 604800, "TumblingWindowInSeconds": 900}
    u = _create(lam, shared, **top)["UUID"]
    try:
        got = lam.get_event_source_mapping(UUID=u)
        assert {k: got[k] for k in top} == top
        bottom = {"BatchSize": 1, "MaximumBatchingWindowInSeconds": 0, "ParallelizationFactor": 1,
                  "MaximumRetryAttempts": -1, "MaximumRecordAgeInSeconds": 60, "TumblingWindowInSeconds": 0}
        resp = lam.update_event_source_mapping(UUID=u, **bottom)
        assert {k: resp[k] for k in bottom} == bottom
        resp = lam.update_event_source_mapping(UUID=u, MaximumRecordAgeInSeconds=-1, MaximumRetryAttempts=0)
        assert (resp["MaximumRecordAgeInSeconds"], resp["MaximumRetryAttempts"]) == (-1, 0)
    finally:
        lam.delete_event_source_mapping(UUID=u)


@pytest.mark.parametrize("name, constraint", [
    ("bad name!", "Member must satisfy regular expression pattern: "),
    ("f" * 257, "Member must have length less than or equal to 256"),
    ("", "Member must have length greater than or equal to 1"),
])
def test_a_function_name_outside_the_model_is_a_validation_exception(lam, shared, name, constraint):
    with pytest.raises(ClientError) as e:
        _create(lam, shared, FunctionName=name)
    code, message = _err(e)
    assert code == "ValidationException"
    assert message.startswith(f"1 validation error detected: Value '{name}' at 'functionName' failed to satisfy "
                              f"constraint: {constraint}")
    assert _no_mappings(lam, shared)


def test_a_missing_function_name_is_a_validation_exception(eddy_server, lam, shared):
    status, code, body = _raw(eddy_server.url, "POST", _BASE,
                              {"EventSourceArn": shared[0], "StartingPosition": "LATEST"})
    assert (status, code) == (400, "ValidationException")
    assert body["Message"] == ("1 validation error detected: Value null at 'functionName' failed to satisfy "
                               "constraint: Member must not be null")


def test_update_to_a_function_name_outside_the_model_is_a_validation_exception(lam, shared):
    u = _create(lam, shared)["UUID"]
    try:
        for bad in ("", "bad name!"):
            with pytest.raises(ClientError) as e:
                lam.update_event_source_mapping(UUID=u, FunctionName=bad)
            assert _err(e)[0] == "ValidationException"
            assert "at 'functionName' failed to satisfy constraint" in _err(e)[1]
    finally:
        lam.delete_event_source_mapping(UUID=u)


def test_an_event_source_arn_that_is_no_arn_is_a_validation_exception(lam, shared):
    with pytest.raises(ClientError) as e:
        _create(lam, shared, EventSourceArn="my-table-stream")
    code, message = _err(e)
    assert code == "ValidationException"
    assert message.startswith("1 validation error detected: Value 'my-table-stream' at 'eventSourceArn' failed to "
                              "satisfy constraint: Member must satisfy regular expression pattern: arn:")


def test_list_filters_outside_the_model_are_validation_exceptions(lam):
    for kw, member in (({"MaxItems": 0}, "maxItems"), ({"MaxItems": 10001}, "maxItems"),
                       ({"FunctionName": "bad name!"}, "functionName"), ({"EventSourceArn": "nope"}, "eventSourceArn")):
        with pytest.raises(ClientError) as e:
            lam.list_event_source_mappings(**kw)
        assert _err(e)[0] == "ValidationException", kw
        assert f"at '{member}' failed to satisfy constraint" in _err(e)[1]


@pytest.mark.parametrize("call", ["get_event_source_mapping", "update_event_source_mapping",
                                  "delete_event_source_mapping"])
def test_a_uuid_shorter_than_36_characters_is_a_validation_exception(lam, call):
    with pytest.raises(ClientError) as e:
        getattr(lam, call)(UUID="abc")
    assert _err(e) == ("ValidationException", ("1 validation error detected: Value 'abc' at 'uUID' failed to satisfy "
                                              "constraint: Member must have length greater than or equal to 36"))
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_function_response_types_hold_one_known_value(lam, shared):
    with pytest.raises(ClientError) as e:
        _create(lam, shared, FunctionResponseTypes=["ReportItemFailures"])
    assert _err(e) == ("ValidationException",
                       ("1 validation error detected: Value '[ReportItemFailures]' at 'functionResponseTypes' failed to "
                       "satisfy constraint: Member must satisfy constraint: [Member must satisfy enum value set: "
                       "[ReportBatchItemFailures]]"))
    with pytest.raises(ClientError) as e:
        _create(lam, shared, FunctionResponseTypes=["ReportBatchItemFailures"] * 2)
    assert _err(e)[0] == "ValidationException"
    assert "Member must have length less than or equal to 1" in _err(e)[1]
    assert _no_mappings(lam, shared)


# --- StartingPosition on a DynamoDB stream ---------------------------------------------------------

def test_a_missing_starting_position_is_lambdas_not_null_error(lam, shared):
    arn, function = shared
    with pytest.raises(ClientError) as e:
        lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=function)
    assert _err(e) == ("InvalidParameterValueException",
                       ("1 validation error detected: Value null at 'startingPosition' failed to satisfy constraint: "
                       "Member must not be null."))


def test_a_starting_position_outside_the_enum_is_a_validation_exception(lam, shared):
    with pytest.raises(ClientError) as e:
        _create(lam, shared, StartingPosition="EARLIEST")
    code, message = _err(e)
    assert code == "ValidationException"
    assert message.startswith("1 validation error detected: Value 'EARLIEST' at 'startingPosition' failed to satisfy "
                              "constraint: Member must satisfy enum value set: [")


def test_at_timestamp_is_unsupported_for_a_dynamodb_stream(lam, shared):
    with pytest.raises(ClientError) as e:
        _create(lam, shared, StartingPosition="AT_TIMESTAMP", StartingPositionTimestamp=1_600_000_000)
    assert _err(e) == ("InvalidParameterValueException", f"Unsupported starting position for arn type: {shared[0]}")
    assert _no_mappings(lam, shared)


# --- filter patterns ---------------------------------------------------------------------------------

@pytest.mark.parametrize("filters", [
    [{"Pattern": "{not json"}],
    [{"Pattern": '{"eventName": "INSERT"}'}],
    [{"Pattern": '{"eventName": [{"numeric": [">", "ten"]}]}'}],
    [{"Pattern": '{"eventName": [{"wrong-operator": "x"}]}'}],
    [{"Pattern": '["INSERT"]'}],
    [{}],
])
def test_an_invalid_pattern_answers_exactly_invalid_filter_pattern_definition(lam, shared, filters):
    with pytest.raises(ClientError) as e:
        _create(lam, shared, FilterCriteria={"Filters": filters})
    assert _err(e) == ("InvalidParameterValueException", "Invalid filter pattern definition.")
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert _no_mappings(lam, shared)


def test_an_invalid_pattern_at_update_answers_the_same_message(lam, shared):
    u = _create(lam, shared)["UUID"]
    try:
        with pytest.raises(ClientError) as e:
            lam.update_event_source_mapping(UUID=u, FilterCriteria={"Filters": [{"Pattern": '{"a": 1}'}]})
        assert _err(e) == ("InvalidParameterValueException", "Invalid filter pattern definition.")
        assert "FilterCriteria" not in lam.get_event_source_mapping(UUID=u)
    finally:
        lam.delete_event_source_mapping(UUID=u)


# --- filtering end to end ------------------------------------------------------------------------------

def test_documented_operators_select_records_end_to_end_and_the_rest_is_dropped(trigger, lambda_client):
    t = trigger()
    image = {"dynamodb": {"NewImage": {
        "v": {"N": [{"numeric": [">=", 10, "<", 20]}]},
        "tag": {"S": [{"anything-but": {"prefix": "skip"}}]},
        "gone": {"S": [{"exists": False}]},
    }}}
    suffix = {"dynamodb": {"Keys": {"pk": {"S": [{"suffix": ".png"}]}}}, "eventName": [{"anything-but": ["REMOVE"]}]}
    u = t.map(FilterCriteria={"Filters": [{"Pattern": json.dumps({"$or": [image, suffix]})}]}, BatchSize=10)
    t.put("in-range", v=10, tag="keep")
    t.put("too-big", v=20, tag="keep")
    t.put("skipped-tag", v=15, tag="skip-me")
    t.put("has-gone", v=15, tag="keep", gone="x")
    t.put("no-tag", v=15)                        # every named field must be present
    t.put("pic.PNG", v=1)                        # suffix is case-sensitive
    t.put("pic.png", v=1)
    t.put("last", v=19, tag="keep")
    t.wait_delivered(["in-range", "pic.png", "last"])
    assert t.delivered() == ["in-range", "pic.png", "last"]
    assert lambda_client.get_event_source_mapping(UUID=u)["LastProcessingResult"] == "OK"


def test_a_pattern_longer_than_the_model_allows_is_a_validation_exception(lam, shared):
    long = json.dumps({"eventName": ["x" * 4100]})
    filters = [{"Pattern": '{"eventName": ["INSERT"]}'}, {"Pattern": long}]
    with pytest.raises(ClientError) as e:
        _create(lam, shared, FilterCriteria={"Filters": filters})
    code, message = _err(e)
    assert code == "ValidationException"
    assert "at 'filterCriteria.filters.2.member.pattern' failed to satisfy constraint: Member must have length less " \
           "than or equal to 4096" in message
    assert _no_mappings(lam, shared)


def test_metrics_outside_the_model_enum_are_a_validation_exception(lam, shared):
    with pytest.raises(ClientError) as e:
        _create(lam, shared, MetricsConfig={"Metrics": ["Latency"]})
    assert _err(e) == ("ValidationException", (
        "1 validation error detected: Value '[Latency]' at 'metricsConfig.metrics' failed to satisfy constraint: "
        "Member must satisfy constraint: [Member must satisfy enum value set: [EventCount, ErrorCount, KafkaMetrics]]"))
    assert _no_mappings(lam, shared)


# --- concurrency -----------------------------------------------------------------------------------------

def test_concurrent_creates_for_one_stream_and_function_make_one_mapping():
    """The duplicate check runs in the write transaction: racing creates get ResourceConflictException."""
    import threading

    import eddydb

    with eddydb.open() as db:
        ddb, lam = db.client("dynamodb"), db.client("lambda")
        ddb.create_table(TableName="race", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                         AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                         BillingMode="PAY_PER_REQUEST",
                         StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"})
        arn = ddb.describe_table(TableName="race")["Table"]["LatestStreamArn"]
        lam.create_function(FunctionName="racer", Runtime="python3.12", Role=ROLE, Handler="app.handler",
                            Code={"ZipFile": make_zip({"app.py": "def handler(e, c):\n    return None\n"})})
        clients = [db.client("lambda") for _ in range(12)]
        for _ in range(3):
            outcomes: list[str] = []
            barrier = threading.Barrier(len(clients))

            def create(client: Any, barrier: threading.Barrier = barrier, outcomes: list[str] = outcomes) -> None:
                barrier.wait()
                try:
                    client.create_event_source_mapping(EventSourceArn=arn, FunctionName="racer",
                                                       StartingPosition="LATEST")
                    outcomes.append("created")
                except ClientError as e:
                    outcomes.append(e.response["Error"]["Code"])

            threads = [threading.Thread(target=create, args=(c,)) for c in clients]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            made = lam.list_event_source_mappings(EventSourceArn=arn)["EventSourceMappings"]
            assert len(made) == 1
            assert sorted(outcomes) == ["ResourceConflictException"] * (len(clients) - 1) + ["created"]
            for m in made:
                lam.delete_event_source_mapping(UUID=m["UUID"])
            # a deleted mapping disappears once its processors stopped
            wait_for(lambda: lam.list_event_source_mappings(EventSourceArn=arn)["EventSourceMappings"] == [], 20)


def test_repeated_list_query_parameters_are_no_server_error(eddy_server, lam, shared):
    u = _create(lam, shared)["UUID"]
    try:
        for query in ("MaxItems=1&MaxItems=2", "Marker=a&Marker=b", f"EventSourceArn={shared[0]}&EventSourceArn=x"):
            status, code, body = _raw(eddy_server.url, "GET", _BASE + "?" + query)
            assert status == 200, (query, code, body)
            assert isinstance(body["EventSourceMappings"], list)
    finally:
        lam.delete_event_source_mapping(UUID=u)
