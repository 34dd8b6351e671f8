"""Reference scenarios (shared/reference/streams-and-triggers.md, parts A "Record format" and B)
that the other trigger tests leave open, end to end through boto3 (lambda, dynamodb,
dynamodbstreams) against the session server: the exact Lambda event of a DynamoDB stream batch
for each view type and event name, `userIdentity` on TTL deletes only, the context a triggered
handler gets, BatchSize and MaximumBatchingWindowInSeconds, the 6 MB batch cap, a mapping created
disabled, ParallelizationFactor running batches concurrently, partial failures of the first record
and malformed responses, UpdateEventSourceMapping moving processing to another function or batch
size from the checkpoint, a deleted mapping invoking nothing more, and the
EventSourceMappingConfiguration fields of Create/Get/List/Update/Delete.
"""
from __future__ import annotations

import itertools
import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from botocore.exceptions import ClientError
from triggers_support import make_zip
from util import REGION, wait_for

# Logs every invocation as one JSON line: the whole event (or, with BRIEF=1, its keys and size),
# what the context said, and the outcome. Items drive it: `raise: true` raises ValueError,
# `sleep: seconds` sleeps. RESPONSE=<json> is returned as is ("@i" -> the i-th SequenceNumber);
# STATE_PAD=n returns a tumbling-window state of about n bytes.
HANDLER = r'''
import json, os, time

OUT = os.environ["OUT"]


def handler(event, context):
    t0 = time.time()
    recs = event.get("Records", [])
    images = [r["dynamodb"].get("NewImage") or {} for r in recs]
    for img in images:
        if "sleep" in img:
            time.sleep(float(img["sleep"]["N"]))
    raising = any(img.get("raise", {}).get("BOOL") for img in images)
    entry = {
        "keys": [next(iter(next(iter(r["dynamodb"]["Keys"].values())).values())) for r in recs],
        "seqs": [r["dynamodb"]["SequenceNumber"] for r in recs],
        "size": len(json.dumps(event, separators=(",", ":"))),
        "t0": t0, "t1": time.time(), "outcome": "raise" if raising else "ok",
        "ctx": {"function_name": context.function_name, "function_version": context.function_version,
                "invoked_function_arn": context.invoked_function_arn,
                "memory_limit_in_mb": context.memory_limit_in_mb, "aws_request_id": context.aws_request_id,
                "log_group_name": context.log_group_name, "log_stream_name": context.log_stream_name,
                "remaining": context.get_remaining_time_in_millis(),
                "has": [hasattr(context, a) for a in ("identity", "client_context")]},
    }
    if not os.environ.get("BRIEF"):
        entry["event"] = event
    with open(OUT, "a") as f:
        f.write("\n" + json.dumps(entry) + "\n")
    if raising:
        raise ValueError("raising on purpose")
    if os.environ.get("STATE_PAD"):
        return {"state": {"pad": "x" * int(os.environ["STATE_PAD"])}, "batchItemFailures": []}
    if os.environ.get("RESPONSE"):
        text = os.environ["RESPONSE"]
        for i in reversed(range(len(recs))):
            text = text.replace("@" + str(i), entry["seqs"][i])
        return json.loads(text)
    return None
'''

RECORD_KEYS = {"eventID", "eventName", "eventVersion", "eventSource", "awsRegion", "dynamodb", "eventSourceARN"}
TTL_IDENTITY = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}


def _code() -> dict[str, bytes]:
    return {"ZipFile": make_zip({"app.py": HANDLER})}


def _keys(t: Any) -> list[list[str]]:
    return [c["keys"] for c in t.calls()]


def _records(t: Any) -> list[dict[str, Any]]:
    return [r for c in t.calls() for r in c["event"]["Records"]]


def _wait_keys(t: Any, keys: list[str], timeout: float = 30.0) -> list[dict[str, Any]]:
    """Until every key was in a successful invocation; returns the calls."""
    want = set(keys)
    wait_for(lambda: want <= {k for c in t.calls() if c["outcome"] == "ok" for k in c["keys"]}, timeout,
             message=lambda: f"keys {sorted(want)} delivered; calls {[c['keys'] for c in t.calls()]}")
    return t.calls()


def _gone(lam: Any, u: str) -> bool:
    try:
        lam.get_event_source_mapping(UUID=u)
    except ClientError as e:
        return e.response["Error"]["Code"] == "ResourceNotFoundException"
    return False


class _Probe:
    """The trigger fixture's essentials on a table of the test's own key schema: the handler above as
    the function, mappings made on the table's stream (deleted by `close`), and its logged calls."""

    def __init__(self, ddb: Any, lam: Any, table: str, make_function: Any) -> None:
        self.ddb, self.lam, self.table = ddb, lam, table
        self.function, self.out = make_function(Code=_code())
        self.stream_arn = ddb.describe_table(TableName=table)["Table"]["LatestStreamArn"]
        self.mappings: list[str] = []

    def map(self, **params: Any) -> str:
        params.setdefault("StartingPosition", "TRIM_HORIZON")
        u = self.lam.create_event_source_mapping(EventSourceArn=self.stream_arn, FunctionName=self.function,
                                                 **params)["UUID"]
        self.mappings.append(u)
        wait_for(lambda: self.lam.get_event_source_mapping(UUID=u)["State"] == "Enabled", 20)
        return u

    def calls(self) -> list[dict[str, Any]]:
        if not os.path.exists(self.out):
            return []
        with open(self.out) as f:
            return [json.loads(line) for line in f if line.strip()]

    def close(self) -> None:
        for u in self.mappings:
            self.lam.delete_event_source_mapping(UUID=u)


def _write_insert_modify_remove(t: Any) -> None:
    t.ddb.put_item(TableName=t.table, Item={"pk": {"S": "a"}, "v": {"N": "1"}, "tags": {"SS": ["x", "y"]}})
    t.ddb.update_item(TableName=t.table, Key={"pk": {"S": "a"}}, UpdateExpression="SET v = :v, m = :m",
                      ExpressionAttributeValues={":v": {"N": "2"}, ":m": {"M": {"deep": {"L": [{"NULL": True}]}}}})
    t.ddb.delete_item(TableName=t.table, Key={"pk": {"S": "a"}})


# --- the event ------------------------------------------------------------------------------------
def test_a_batch_event_is_records_only_in_the_lambda_dynamodb_shape(trigger, streams):
    t = trigger(Code=_code())
    u = t.map(BatchSize=10)
    t.wait_state(u, "Enabled")
    _write_insert_modify_remove(t)
    wait_for(lambda: len(_records(t)) >= 3, 30, message=lambda: f"calls {t.calls()}")
    for c in t.calls():
        assert set(c["event"]) == {"Records"}, "no window fields without TumblingWindowInSeconds"
    recs = _records(t)
    assert [r["eventName"] for r in recs] == ["INSERT", "MODIFY", "REMOVE"]
    v1 = {"pk": {"S": "a"}, "v": {"N": "1"}, "tags": {"SS": ["x", "y"]}}
    v2 = {**v1, "v": {"N": "2"}, "m": {"M": {"deep": {"L": [{"NULL": True}]}}}}
    images = [(r["dynamodb"].get("OldImage"), r["dynamodb"].get("NewImage")) for r in recs]
    assert images == [(None, v1), (v1, v2), (v2, None)]
    for r in recs:
        assert set(r) == RECORD_KEYS, "userIdentity only on TTL deletes"
        assert (r["eventVersion"], r["eventSource"], r["awsRegion"]) == ("1.1", "aws:dynamodb", REGION)
        assert r["eventSourceARN"] == t.stream_arn
        d = r["dynamodb"]
        assert d["Keys"] == {"pk": {"S": "a"}}
        assert d["StreamViewType"] == "NEW_AND_OLD_IMAGES"
        assert isinstance(d["ApproximateCreationDateTime"], (int, float))
        assert abs(d["ApproximateCreationDateTime"] - time.time()) < 120
        assert isinstance(d["SizeBytes"], int) and d["SizeBytes"] > 0
        assert d["SequenceNumber"].isdigit() and 21 <= len(d["SequenceNumber"]) <= 40
    assert len({r["eventID"] for r in recs}) == 3
    assert [int(r["dynamodb"]["SequenceNumber"]) for r in recs] == sorted(int(r["dynamodb"]["SequenceNumber"])
                                                                          for r in recs)
    # the same records as GetRecords serves, plus eventSourceARN
    shard = streams.describe_stream(StreamArn=t.stream_arn)["StreamDescription"]["Shards"][0]["ShardId"]
    it = streams.get_shard_iterator(StreamArn=t.stream_arn, ShardId=shard,
                                    ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    wire = streams.get_records(ShardIterator=it)["Records"]
    assert len(wire) == 3
    for got, w in zip(recs, wire):
        w = dict(w, dynamodb=dict(w["dynamodb"]))
        created = w["dynamodb"].pop("ApproximateCreationDateTime")
        assert abs(created.timestamp() - got["dynamodb"]["ApproximateCreationDateTime"]) < 1
        assert {k: v for k, v in got.items() if k != "eventSourceARN"} == {
            **w, "dynamodb": {**w["dynamodb"], "ApproximateCreationDateTime": got["dynamodb"]["ApproximateCreationDateTime"]}}


@pytest.mark.parametrize("view, old, new", [
    ("KEYS_ONLY", (), ()),
    ("NEW_IMAGE", (), ("INSERT", "MODIFY")),
    ("OLD_IMAGE", ("MODIFY", "REMOVE"), ()),
])
def test_the_view_type_decides_the_images_of_each_event(trigger, view, old, new):
    t = trigger(view=view, Code=_code())
    u = t.map(BatchSize=10)
    t.wait_state(u, "Enabled")
    _write_insert_modify_remove(t)
    wait_for(lambda: len(_records(t)) >= 3, 30, message=lambda: f"calls {t.calls()}")
    recs = _records(t)
    assert [r["eventName"] for r in recs] == ["INSERT", "MODIFY", "REMOVE"]
    for r in recs:
        d = r["dynamodb"]
        assert d["StreamViewType"] == view
        assert d["Keys"] == {"pk": {"S": "a"}}
        assert ("OldImage" in d) == (r["eventName"] in old), (view, r["eventName"], d)
        assert ("NewImage" in d) == (r["eventName"] in new), (view, r["eventName"], d)


def test_size_bytes_and_images_match_the_aws_documentation_example(dynamodb_server, lambda_client, make_table,
                                                                   make_function):
    """The three records of the DynamoDB Streams documentation's example (table keyed by Id N):
    SizeBytes 26 (INSERT), 59 (MODIFY) and 38 (REMOVE)."""
    table = make_table(("Id", "N"), stream="NEW_AND_OLD_IMAGES", client=dynamodb_server)
    t = _Probe(dynamodb_server, lambda_client, table, make_function)
    t.map()
    key = {"Id": {"N": "101"}}
    dynamodb_server.put_item(TableName=table, Item={**key, "Message": {"S": "New item!"}})
    dynamodb_server.update_item(TableName=table, Key=key, UpdateExpression="SET Message = :m",
                                ExpressionAttributeValues={":m": {"S": "This item has changed"}})
    dynamodb_server.delete_item(TableName=table, Key=key)
    wait_for(lambda: len(_records(t)) >= 3, 30, message=lambda: f"calls {t.calls()}")
    assert [(r["eventName"], r["dynamodb"]["SizeBytes"]) for r in _records(t)] == [
        ("INSERT", 26), ("MODIFY", 59), ("REMOVE", 38)]
    assert all(r["dynamodb"]["Keys"] == key for r in _records(t))
    t.close()


def test_a_ttl_delete_carries_user_identity_and_a_user_delete_does_not(trigger, dynamodb_server):
    t = trigger(Code=_code())
    dynamodb_server.update_time_to_live(TableName=t.table,
                                        TimeToLiveSpecification={"Enabled": True, "AttributeName": "exp"})
    u = t.map(BatchSize=10)
    t.wait_state(u, "Enabled")
    t.put("by-user")
    dynamodb_server.delete_item(TableName=t.table, Key={"pk": {"S": "by-user"}})
    t.put("by-ttl", exp=int(time.time()) - 10)
    removes = wait_for(lambda: [r for r in _records(t) if r["eventName"] == "REMOVE"][1:] and
                       [r for r in _records(t) if r["eventName"] == "REMOVE"], 30,
                       message=lambda: f"records {_records(t)}")
    by_key = {r["dynamodb"]["Keys"]["pk"]["S"]: r for r in removes}
    assert "userIdentity" not in by_key["by-user"]
    ttl = by_key["by-ttl"]
    assert ttl["userIdentity"] == TTL_IDENTITY
    assert set(ttl) == RECORD_KEYS | {"userIdentity"}
    assert ttl["dynamodb"]["OldImage"]["pk"] == {"S": "by-ttl"} and "NewImage" not in ttl["dynamodb"]


def test_a_ttl_delete_on_a_table_with_a_sort_key_reaches_the_trigger_with_both_keys(dynamodb_server, lambda_client,
                                                                                  make_table, make_function):
    table = make_table(("pk", "S"), ("sk", "N"), stream="NEW_IMAGE", client=dynamodb_server)
    dynamodb_server.update_time_to_live(TableName=table, TimeToLiveSpecification={"Enabled": True,
                                                                                  "AttributeName": "exp"})
    t = _Probe(dynamodb_server, lambda_client, table, make_function)
    t.map()
    for sk in (1, 2):
        dynamodb_server.put_item(TableName=table, Item={"pk": {"S": "p"}, "sk": {"N": str(sk)},
                                                        "exp": {"N": str(int(time.time()) - 10 + sk * 10**6)}})
    dynamodb_server.update_item(TableName=table, Key={"pk": {"S": "p"}, "sk": {"N": "2"}},
                                UpdateExpression="SET exp = :e", ExpressionAttributeValues={
                                    ":e": {"N": str(int(time.time()) - 5)}})
    wait_for(lambda: sum(r["eventName"] == "REMOVE" for r in _records(t)) >= 1, 30,
             message=lambda: f"records {_records(t)}")
    recs = _records(t)
    assert [(r["eventName"], r["dynamodb"]["Keys"]) for r in recs] == [
        ("INSERT", {"pk": {"S": "p"}, "sk": {"N": "1"}}), ("INSERT", {"pk": {"S": "p"}, "sk": {"N": "2"}}),
        ("MODIFY", {"pk": {"S": "p"}, "sk": {"N": "2"}}), ("REMOVE", {"pk": {"S": "p"}, "sk": {"N": "2"}})]
    assert recs[-1]["userIdentity"] == TTL_IDENTITY
    assert "NewImage" not in recs[-1]["dynamodb"] and "OldImage" not in recs[-1]["dynamodb"], "NEW_IMAGE view"
    t.close()


def test_a_filter_on_user_identity_selects_the_ttl_deletes(trigger, dynamodb_server):
    t = trigger(Code=_code())
    dynamodb_server.update_time_to_live(TableName=t.table,
                                        TimeToLiveSpecification={"Enabled": True, "AttributeName": "exp"})
    pattern = {"userIdentity": {"type": ["Service"], "principalId": ["dynamodb.amazonaws.com"]}}
    u = t.map(FilterCriteria={"Filters": [{"Pattern": json.dumps(pattern)}]})
    t.wait_state(u, "Enabled")
    t.put("kept")
    t.put("user-deleted")
    dynamodb_server.delete_item(TableName=t.table, Key={"pk": {"S": "user-deleted"}})
    t.put("expired", exp=int(time.time()) - 10)
    _wait_keys(t, ["expired"])
    assert [(r["eventName"], r["dynamodb"]["Keys"]["pk"]["S"]) for r in _records(t)] == [("REMOVE", "expired")]


def test_a_triggered_handler_gets_the_lambda_context(trigger, lambda_client):
    t = trigger(Code=_code(), Timeout=7, MemorySize=256)
    t.map(BatchSize=1)
    t.put("a")
    t.put("b")
    calls = _wait_keys(t, ["a", "b"])
    arn = lambda_client.get_function(FunctionName=t.function)["Configuration"]["FunctionArn"]
    ctxs = [c["ctx"] for c in calls]
    for ctx in ctxs:
        assert ctx["function_name"] == t.function
        assert ctx["function_version"] == "$LATEST"
        assert ctx["invoked_function_arn"] == arn
        assert ctx["memory_limit_in_mb"] == "256"
        assert ctx["log_group_name"] == f"/aws/lambda/{t.function}"
        assert ctx["log_stream_name"]
        assert 0 < ctx["remaining"] <= 7000
        assert len(ctx["aws_request_id"]) == 36
        assert ctx["has"] == [True, True]
    assert ctxs[0]["aws_request_id"] != ctxs[1]["aws_request_id"]


# --- batching -------------------------------------------------------------------------------------
def test_batch_size_caps_every_batch_and_fills_it_from_the_backlog(trigger):
    t = trigger(Code=_code(), env={"BRIEF": "1"})
    keys = [f"k{i:02d}" for i in range(25)]
    for k in keys:
        t.put(k)
    t.map(BatchSize=10)
    _wait_keys(t, keys)
    assert _keys(t) == [keys[:10], keys[10:20], keys[20:]]


def test_the_batching_window_gathers_records_written_one_after_another(trigger):
    t = trigger(Code=_code(), env={"BRIEF": "1"})
    u = t.map(StartingPosition="LATEST", MaximumBatchingWindowInSeconds=2)
    t.wait_state(u, "Enabled")
    for k in ("a", "b", "c"):
        t.put(k)
    _wait_keys(t, ["a", "b", "c"])
    assert _keys(t) == [["a", "b", "c"]]
    assert t.lam.get_event_source_mapping(UUID=u)["MaximumBatchingWindowInSeconds"] == 2


def test_a_full_batch_goes_before_the_batching_window_ends(trigger):
    t = trigger(Code=_code(), env={"BRIEF": "1"})
    u = t.map(StartingPosition="LATEST", BatchSize=3, MaximumBatchingWindowInSeconds=300)
    t.wait_state(u, "Enabled")
    for k in ("a", "b", "c"):
        t.put(k)
    _wait_keys(t, ["a", "b", "c"], timeout=30)   # far less than the 300 s window
    assert _keys(t) == [["a", "b", "c"]]


def test_a_batch_is_capped_at_6_mb_of_payload(trigger):
    t = trigger(Code=_code(), env={"BRIEF": "1"})
    blob = "x" * 380_000
    keys = [f"big{i:02d}" for i in range(18)]   # ~6.8 MB in all
    for k in keys:
        t.put(k, blob=blob)
    t.map(BatchSize=100)
    calls = _wait_keys(t, keys, timeout=60)
    assert [k for c in calls for k in c["keys"]] == keys
    assert len(calls) >= 2
    for c in calls:
        assert c["size"] <= 6 * 1024 * 1024, c["size"]


def test_a_mapping_created_disabled_starts_from_trim_horizon_once_enabled(trigger, make_function):
    t = trigger(Code=_code(), env={"BRIEF": "1"})
    witness, witness_out = make_function(env={"BRIEF": "1"}, Code=_code())
    t.put("a")
    u = t.map(Enabled=False)
    t.map(witness)
    t.wait_state(u, "Disabled")
    t.put("b")
    wait_for(lambda: any("b" in c["keys"] for c in t.calls(witness_out)), 30)
    assert t.calls() == [], "a disabled mapping invokes nothing"
    t.lam.update_event_source_mapping(UUID=u, Enabled=True)
    _wait_keys(t, ["a", "b"])
    assert [k for ks in _keys(t) for k in ks] == ["a", "b"]


def test_parallelization_factor_runs_batches_of_one_shard_concurrently(trigger):
    t = trigger(Code=_code(), env={"BRIEF": "1"})
    keys = [f"p{i}" for i in range(8)]
    for k in keys:
        t.put(k, sleep=0.6)
    t.map(BatchSize=1, ParallelizationFactor=4)
    calls = _wait_keys(t, keys)
    spans = sorted((c["t0"], c["t1"]) for c in calls)
    overlap = max(sum(1 for s, e in spans if s < t1 and e > t0) for t0, t1 in spans)
    assert overlap >= 2, f"batches of one shard ran one at a time: {spans}"


# --- ReportBatchItemFailures edge cases ------------------------------------------------------------
def test_a_reported_failure_of_the_first_record_retries_the_whole_batch(trigger, tmp_path):
    dlq = tmp_path / "dlq"
    t = trigger(Code=_code(), env={"BRIEF": "1", "RESPONSE": '{"batchItemFailures": [{"itemIdentifier": "@0"}]}'})
    t.put("a")
    t.put("b")
    t.map(BatchSize=2, FunctionResponseTypes=["ReportBatchItemFailures"], MaximumRetryAttempts=1,
          DestinationConfig={"OnFailure": {"Destination": f"file://{dlq}"}})
    [rec] = wait_for(lambda: [json.loads((dlq / n).read_text()) for n in os.listdir(dlq) if n.endswith(".json")]
                     if dlq.is_dir() else [], 30)
    assert _keys(t) == [["a", "b"], ["a", "b"]]
    assert rec["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert rec["requestContext"]["approximateInvokeCount"] == 2
    assert rec["DDBStreamBatchInfo"]["batchSize"] == 2


@pytest.mark.parametrize("response", ['"not an object"', '{"batchItemFailures": "x"}', '[{"itemIdentifier": "@0"}]'])
def test_a_malformed_partial_failure_response_fails_the_whole_batch(trigger, response):
    t = trigger(Code=_code(), env={"BRIEF": "1", "RESPONSE": response})
    t.put("a")
    t.put("b")
    u = t.map(BatchSize=2, FunctionResponseTypes=["ReportBatchItemFailures"], MaximumRetryAttempts=1)
    wait_for(lambda: len(t.calls()) >= 2, 30)
    wait_for(lambda: t.lam.get_event_source_mapping(UUID=u)["LastProcessingResult"] == "PROBLEM: Function call failed",
             20)
    assert _keys(t)[:2] == [["a", "b"], ["a", "b"]]


# --- updating and deleting while records flow --------------------------------------------------------
def test_an_update_to_another_function_continues_from_the_checkpoint(trigger, make_function):
    t = trigger(Code=_code(), env={"BRIEF": "1"})
    other, other_out = make_function(env={"BRIEF": "1"}, Code=_code())
    u = t.map(BatchSize=10)
    t.put("a")
    _wait_keys(t, ["a"])
    resp = t.lam.update_event_source_mapping(UUID=u, FunctionName=other)
    assert resp["FunctionArn"].endswith(":function:" + other)
    t.wait_state(u, "Enabled")
    t.put("b")
    wait_for(lambda: any("b" in c["keys"] for c in t.calls(other_out)), 30)
    assert [k for c in t.calls(other_out) for k in c["keys"]] == ["b"], "not redelivered from the start"
    assert [k for ks in _keys(t) for k in ks] == ["a"]


def test_an_update_of_the_batch_size_applies_to_the_next_batches(trigger):
    t = trigger(Code=_code(), env={"BRIEF": "1"})
    u = t.map(BatchSize=10, Enabled=False)
    t.wait_state(u, "Disabled")
    keys = [f"k{i}" for i in range(6)]
    for k in keys:
        t.put(k)
    t.lam.update_event_source_mapping(UUID=u, BatchSize=2, Enabled=True)
    _wait_keys(t, keys)
    assert _keys(t) == [keys[0:2], keys[2:4], keys[4:6]]
    assert t.lam.get_event_source_mapping(UUID=u)["BatchSize"] == 2


def test_a_deleted_mapping_invokes_nothing_more(trigger, make_function):
    t = trigger(Code=_code(), env={"BRIEF": "1"})
    witness, witness_out = make_function(env={"BRIEF": "1"}, Code=_code())
    u = t.map()
    t.map(witness)
    t.put("a")
    _wait_keys(t, ["a"])
    assert t.lam.delete_event_source_mapping(UUID=u)["State"] == "Deleting"
    wait_for(lambda: _gone(t.lam, u), 20)
    t.mappings.remove(u)
    t.put("b")
    wait_for(lambda: any("b" in c["keys"] for c in t.calls(witness_out)), 30)
    assert [k for ks in _keys(t) for k in ks] == ["a"]


# --- the EventSourceMappingConfiguration ---------------------------------------------------------------
CONFIG_KEYS = {"UUID", "StartingPosition", "BatchSize", "MaximumBatchingWindowInSeconds", "ParallelizationFactor",
               "EventSourceArn", "FunctionArn", "LastModified", "LastProcessingResult", "State",
               "StateTransitionReason", "DestinationConfig", "MaximumRecordAgeInSeconds",
               "BisectBatchOnFunctionError", "MaximumRetryAttempts", "TumblingWindowInSeconds",
               "FunctionResponseTypes", "EventSourceMappingArn"}


def test_every_operation_answers_the_same_configuration_fields(trigger, lambda_client):
    from datetime import datetime

    t = trigger(Code=_code())
    fn_arn = lambda_client.get_function(FunctionName=t.function)["Configuration"]["FunctionArn"]
    created = lambda_client.create_event_source_mapping(
        EventSourceArn=t.stream_arn, FunctionName=t.function, StartingPosition="TRIM_HORIZON", BatchSize=5,
        MaximumBatchingWindowInSeconds=1, ParallelizationFactor=2, MaximumRetryAttempts=3,
        MaximumRecordAgeInSeconds=60, BisectBatchOnFunctionError=True)
    u = created["UUID"]
    t.mappings.append(u)
    t.wait_state(u, "Enabled")
    got = lambda_client.get_event_source_mapping(UUID=u)
    [listed] = lambda_client.list_event_source_mappings(EventSourceArn=t.stream_arn)["EventSourceMappings"]
    updated = lambda_client.update_event_source_mapping(UUID=u, MaximumRetryAttempts=-1)
    t.wait_state(u, "Enabled")
    deleted = lambda_client.delete_event_source_mapping(UUID=u)
    for resp in (created, got, listed, updated, deleted):
        assert set(resp) - {"ResponseMetadata"} == CONFIG_KEYS
        assert isinstance(resp["LastModified"], datetime)
        assert resp["FunctionArn"] == fn_arn and resp["EventSourceArn"] == t.stream_arn
        assert resp["EventSourceMappingArn"] == f"arn:aws:lambda:{REGION}:000000000000:event-source-mapping:{u}"
        assert (resp["BatchSize"], resp["MaximumBatchingWindowInSeconds"], resp["ParallelizationFactor"],
                resp["MaximumRecordAgeInSeconds"], resp["BisectBatchOnFunctionError"]) == (5, 1, 2, 60, True)
        assert resp["StartingPosition"] == "TRIM_HORIZON"
        assert resp["DestinationConfig"] == {"OnFailure": {}}
        assert resp["StateTransitionReason"] == "User action"
    assert [r["State"] for r in (created, got, listed, updated, deleted)] == [
        "Creating", "Enabled", "Enabled", "Updating", "Deleting"]
    assert (got["MaximumRetryAttempts"], updated["MaximumRetryAttempts"]) == (3, -1)
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 202
    wait_for(lambda: _gone(lambda_client, u), 20)
    t.mappings.remove(u)


# --- the table side ---------------------------------------------------------------------------------
@pytest.mark.parametrize("how", ["delete table", "disable stream"])
def test_records_written_before_the_stream_ends_still_reach_the_trigger(trigger, dynamodb_server, how):
    t = trigger(Code=_code(), env={"BRIEF": "1"})
    u = t.map(Enabled=False)
    t.wait_state(u, "Disabled")
    for k in ("a", "b", "c"):
        t.put(k)
    if how == "delete table":
        dynamodb_server.delete_table(TableName=t.table)
    else:
        dynamodb_server.update_table(TableName=t.table, StreamSpecification={"StreamEnabled": False})
    t.lam.update_event_source_mapping(UUID=u, Enabled=True)
    _wait_keys(t, ["a", "b", "c"])
    assert _keys(t) == [["a", "b", "c"]]
    if how == "disable stream":
        # re-enabling makes a new stream: the mapping stays on the old one
        dynamodb_server.update_table(TableName=t.table, StreamSpecification={
            "StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
        assert dynamodb_server.describe_table(TableName=t.table)["Table"]["LatestStreamArn"] != t.stream_arn
        assert t.lam.get_event_source_mapping(UUID=u)["EventSourceArn"] == t.stream_arn


# --- concurrency ------------------------------------------------------------------------------------
def test_concurrent_updates_of_one_item_reach_the_trigger_as_a_chain_of_images(trigger):
    """INSERT then MODIFYs whose OldImage is always the previous NewImage, however the writes raced."""
    t = trigger(Code=_code())
    t.map(BatchSize=100)

    def bump(_: int) -> None:
        for _ in range(10):
            t.ddb.update_item(TableName=t.table, Key={"pk": {"S": "counter"}}, UpdateExpression="ADD v :one",
                              ExpressionAttributeValues={":one": {"N": "1"}})

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(bump, range(4)))
    wait_for(lambda: len(_records(t)) >= 40, 30, message=lambda: f"{len(_records(t))} records")
    recs = _records(t)
    assert [r["eventName"] for r in recs] == ["INSERT"] + ["MODIFY"] * 39
    assert [int(r["dynamodb"]["NewImage"]["v"]["N"]) for r in recs] == list(range(1, 41))
    for prev, cur in itertools.pairwise(recs):
        assert cur["dynamodb"]["OldImage"] == prev["dynamodb"]["NewImage"]


def test_writes_that_change_nothing_never_reach_the_trigger(trigger):
    t = trigger(Code=_code(), env={"BRIEF": "1"})
    t.map(BatchSize=1)
    item = {"pk": {"S": "same"}, "m": {"M": {"x": {"N": "1.50"}, "y": {"S": "b"}}}, "s": {"SS": ["p", "q"]}}
    t.ddb.put_item(TableName=t.table, Item=item)
    t.ddb.put_item(TableName=t.table, Item={"pk": {"S": "same"}, "s": {"SS": ["q", "p"]},
                                            "m": {"M": {"y": {"S": "b"}, "x": {"N": "1.5"}}}})
    t.ddb.update_item(TableName=t.table, Key={"pk": {"S": "same"}}, UpdateExpression="SET m.x = :v",
                      ExpressionAttributeValues={":v": {"N": "1.5"}})
    t.ddb.delete_item(TableName=t.table, Key={"pk": {"S": "missing"}})
    t.put("after")
    _wait_keys(t, ["after"])
    assert _keys(t) == [["same"], ["after"]]


def test_every_mapping_on_one_stream_gets_every_record_once_in_order(trigger, make_function):
    t = trigger(Code=_code(), env={"BRIEF": "1"})
    outs = [t.out]
    t.map(BatchSize=7)
    for size in (1, 25, 100):
        fn, out = make_function(env={"BRIEF": "1"}, Code=_code())
        t.map(fn, BatchSize=size)
        outs.append(out)
    keys = [f"w{w}-{i}" for w in range(4) for i in range(10)]

    def write(w: int) -> None:
        for i in range(10):
            t.put(f"w{w}-{i}")

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(write, range(4)))
    for out in outs:
        wait_for(lambda out=out: len([k for c in t.calls(out) for k in c["keys"]]) >= 40, 30,
                 message=lambda out=out: f"{out}: {t.calls(out)}")
    orders = []
    for out in outs:
        got = [(int(s), k) for c in t.calls(out) for s, k in zip(c["seqs"], c["keys"])]
        assert sorted(k for _, k in got) == sorted(keys), "every record exactly once"
        assert got == sorted(got), "in sequence order"
        orders.append([k for _, k in got])
    assert all(o == orders[0] for o in orders), "the same order for every mapping"


AUDIT = r'''
import os
import boto3

ddb = boto3.client("dynamodb")   # AWS_ENDPOINT_URL and the region come from the function's environment


def handler(event, context):
    for r in event["Records"]:
        if r["eventName"] == "INSERT":
            img = r["dynamodb"]["NewImage"]
            ddb.put_item(TableName=os.environ["AUDIT"], Item={"id": img["pk"], "seq": {"S": r["dynamodb"]["SequenceNumber"]},
                                                             "total": img["total"]})
    return {"batchItemFailures": []}
'''


def test_a_handler_copies_inserts_into_another_table_with_an_unconfigured_boto3_client(trigger, make_table,
                                                                                      dynamodb_server):
    audit = make_table(("id", "S"), client=dynamodb_server)
    t = trigger(env={"AUDIT": audit}, Code={"ZipFile": make_zip({"app.py": AUDIT})})
    t.map(BatchSize=5, FunctionResponseTypes=["ReportBatchItemFailures"])
    for i in range(7):
        t.put(f"order-{i}", total=i * 10)
    t.put("order-0", total=99)   # a MODIFY: not copied
    def copied() -> list[dict[str, Any]]:
        got = dynamodb_server.scan(TableName=audit, ConsistentRead=True)["Items"]
        return got if len(got) == 7 else []

    items = wait_for(copied, 30)
    assert sorted((x["id"]["S"], int(x["total"]["N"])) for x in items) == [(f"order-{i}", i * 10) for i in range(7)]


# --- tumbling windows ---------------------------------------------------------------------------------
WINDOW_KEYS = {"Records", "window", "state", "shardId", "eventSourceARN", "isFinalInvokeForWindow",
               "isWindowTerminatedEarly"}


def test_a_windowed_event_has_exactly_the_window_fields_and_starts_with_an_empty_state(trigger, streams):
    import re

    t = trigger(Code=_code(), env={"RESPONSE": '{"state": {"seen": "@0"}, "batchItemFailures": []}'})
    t.map(TumblingWindowInSeconds=1)
    t.put("a")
    calls = wait_for(lambda: [c for c in t.calls()] if any(c["event"]["isFinalInvokeForWindow"] for c in t.calls())
                     else None, 30, message=lambda: f"calls {t.calls()}")
    first, final = calls[0]["event"], calls[-1]["event"]
    shard = streams.describe_stream(StreamArn=t.stream_arn)["StreamDescription"]["Shards"][0]["ShardId"]
    for ev in (first, final):
        assert set(ev) == WINDOW_KEYS
        assert ev["shardId"] == shard and ev["eventSourceARN"] == t.stream_arn
        assert ev["isWindowTerminatedEarly"] is False
        for bound in ("start", "end"):
            assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", ev["window"][bound]), ev["window"]
    assert first["window"] == final["window"]
    assert (first["state"], first["isFinalInvokeForWindow"]) == ({}, False)
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in first["Records"]] == ["a"]
    assert set(first["Records"][0]) == RECORD_KEYS
    assert (final["Records"], final["isFinalInvokeForWindow"]) == ([], True)
    assert final["state"] == {"seen": first["Records"][0]["dynamodb"]["SequenceNumber"]}


def test_a_mapping_is_tagged_through_its_arn(trigger, lambda_client):
    """CreateEventSourceMapping `Tags` and ListTags / TagResource / UntagResource on the mapping's ARN
    (the lambda model's TaggableResource includes event-source-mapping ARNs)."""
    t = trigger(Code=_code())
    created = lambda_client.create_event_source_mapping(EventSourceArn=t.stream_arn, FunctionName=t.function,
                                                        StartingPosition="LATEST", Tags={"team": "orders"})
    t.mappings.append(created["UUID"])
    arn = created["EventSourceMappingArn"]
    assert "Tags" not in created
    assert lambda_client.list_tags(Resource=arn)["Tags"] == {"team": "orders"}
    lambda_client.tag_resource(Resource=arn, Tags={"env": "dev"})
    lambda_client.untag_resource(Resource=arn, TagKeys=["team"])
    assert lambda_client.list_tags(Resource=arn)["Tags"] == {"env": "dev"}
    assert lambda_client.list_tags(Resource=lambda_client.get_function(
        FunctionName=t.function)["Configuration"]["FunctionArn"])["Tags"] == {}
    t.wait_state(created["UUID"], "Enabled")
    missing = arn.rsplit(":", 1)[0] + ":00000000-0000-0000-0000-000000000000"
    with pytest.raises(ClientError) as e:
        lambda_client.list_tags(Resource=missing)
    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_metrics_config_is_kept_and_echoed(trigger, lambda_client):
    t = trigger(Code=_code())
    u = t.map(StartingPosition="LATEST", MetricsConfig={"Metrics": ["EventCount"]})
    assert lambda_client.get_event_source_mapping(UUID=u)["MetricsConfig"] == {"Metrics": ["EventCount"]}
    assert lambda_client.update_event_source_mapping(UUID=u, MetricsConfig={"Metrics": []})["MetricsConfig"] == {
        "Metrics": []}
    t.wait_state(u, "Enabled")
    assert lambda_client.get_event_source_mapping(UUID=u)["MetricsConfig"] == {"Metrics": []}


def test_fixing_the_function_code_unblocks_a_batch_being_retried(trigger, lambda_client):
    """A shard blocked behind a failing batch (infinite retries) moves on once UpdateFunctionCode
    deploys a handler that succeeds: the same batch, then the records behind it, in order."""
    t = trigger(Code=_code(), env={"BRIEF": "1"})
    t.put("a", **{"raise": True})
    t.put("b")
    u = t.map(BatchSize=1)
    wait_for(lambda: len(t.calls()) >= 2, 30)
    fixed = HANDLER.replace('raising = any(', 'raising = False and any(')
    lambda_client.update_function_code(FunctionName=t.function, ZipFile=make_zip({"app.py": fixed}))
    calls = _wait_keys(t, ["a", "b"])
    assert all(c["keys"] == ["a"] and c["outcome"] == "raise" for c in calls[:-2])
    assert [(c["keys"], c["outcome"]) for c in calls[-2:]] == [(["a"], "ok"), (["b"], "ok")]
    wait_for(lambda: lambda_client.get_event_source_mapping(UUID=u)["LastProcessingResult"] == "OK", 20)


def test_a_windowed_batch_with_its_state_stays_within_6_mb(trigger):
    """The 6 MB cap is on the invocation payload: with a tumbling window it includes the state."""
    left = 900 - time.time() % 900
    if left < 10:
        time.sleep(left + 0.1)   # the records must share one 15-minute window (written within seconds)
    t = trigger(Code=_code(), env={"BRIEF": "1", "STATE_PAD": str(900_000)})
    t.put("small")
    u = t.map(BatchSize=100, TumblingWindowInSeconds=900)
    _wait_keys(t, ["small"])                     # the window's state is now ~900 KB
    t.lam.update_event_source_mapping(UUID=u, Enabled=False)
    t.wait_state(u, "Disabled")
    keys = [f"big{i:02d}" for i in range(16)]   # ~6.1 MB of records, read at once when enabled
    for k in keys:
        t.put(k, blob="x" * 380_000)
    t.lam.update_event_source_mapping(UUID=u, Enabled=True)
    calls = _wait_keys(t, keys, timeout=60)
    assert [k for c in calls for k in c["keys"]] == ["small", *keys]
    for c in calls:
        assert c["size"] <= 6 * 1024 * 1024, [c["size"] for c in calls]
