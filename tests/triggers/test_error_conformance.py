"""Error handling of stream event source mappings, end to end through boto3 against the server, in
the words of the reference (part B, "Errors, retries, checkpoints" and "Tumbling windows"): whole
batches retried in order with the shard blocked behind them, MaximumRetryAttempts counting,
MaximumRecordAgeInSeconds, bisect, ReportBatchItemFailures, the OnFailure invocation record,
timeouts and crashes as function errors, errors inside tumbling windows, and the mapping's
observable State / StateTransitionReason / LastProcessingResult meanwhile."""
from __future__ import annotations

import json
import os
import re
import time
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError
from triggers_support import create_stream_table, make_zip
from util import ServerProcess, make_client, wait_for

import eddydb

PROBLEM = "PROBLEM: Function call failed"

# A handler driven by the items written (so one function covers every failure kind):
#   raise: true          -> raises whenever the record is in the batch
#   raise_times: n       -> raises on the first n invocations that contain the record
#   fail_while: path     -> raises while that file exists (the test decides when it recovers)
#   report: true         -> (REPORT=1) names the record in batchItemFailures, always
#   report_times: n      -> (REPORT=1) names it on the first n invocations that contain it
#   crash: true          -> the runtime dies (os._exit) mid-invocation
#   sleep: seconds       -> sleeps (timeouts)
# Environment: OUT (log), REPORT=1, WINDOW=1 (keeps {"count", "keys"} in the window state),
# RESPONSE=<json> (returned as is, "@i" replaced by the i-th record's SequenceNumber).
HANDLER = r'''
import json, os, time

OUT = os.environ["OUT"]


def _log(entry):
    with open(OUT, "a") as f:
        f.write("\n" + json.dumps(entry) + "\n")


def _bump(key, kind):
    path = OUT + "." + kind + "-" + key
    n = int(open(path).read()) if os.path.exists(path) else 0
    with open(path, "w") as f:
        f.write(str(n + 1))
    return n


def handler(event, context):
    recs = event.get("Records", [])
    keys = [r["dynamodb"]["Keys"]["pk"]["S"] for r in recs]
    seqs = [r["dynamodb"]["SequenceNumber"] for r in recs]
    images = [r["dynamodb"].get("NewImage") or {} for r in recs]
    entry = {"keys": keys, "seqs": seqs, "rid": context.aws_request_id, "t": time.time(),
             "arrivals": [r["dynamodb"]["ApproximateCreationDateTime"] for r in recs]}
    for k in ("window", "state", "isFinalInvokeForWindow", "isWindowTerminatedEarly", "shardId"):
        if k in event:
            entry[k] = event[k]
    raising, reported = False, []
    for k, s, img in zip(keys, seqs, images):
        if "sleep" in img:
            _log(dict(entry, outcome="sleeping"))
            time.sleep(float(img["sleep"]["N"]))
        if img.get("crash", {}).get("BOOL"):
            entry["outcome"] = "crash"
            _log(entry)
            os._exit(3)
        if img.get("raise", {}).get("BOOL"):
            raising = True
        if "fail_while" in img and os.path.exists(img["fail_while"]["S"]):
            raising = True
        if "raise_times" in img and _bump(k, "raise") < int(img["raise_times"]["N"]):
            raising = True
        if img.get("report", {}).get("BOOL"):
            reported.append(s)
        elif "report_times" in img and _bump(k, "report") < int(img["report_times"]["N"]):
            reported.append(s)
    if raising:
        entry["outcome"] = "raise"
        _log(entry)
        raise RuntimeError("failing on purpose")
    if os.environ.get("RESPONSE"):
        text = os.environ["RESPONSE"]
        for i in reversed(range(len(seqs))):
            text = text.replace("@" + str(i), seqs[i])
        entry["outcome"] = "response"
        _log(entry)
        return json.loads(text)
    entry["outcome"] = "report" if reported else "ok"
    entry["reported"] = reported
    _log(entry)
    resp = {}
    if os.environ.get("REPORT"):
        resp["batchItemFailures"] = [{"itemIdentifier": s} for s in reported]
    if os.environ.get("WINDOW"):
        state = dict(event.get("state") or {})
        state["count"] = state.get("count", 0) + len(recs)
        state["keys"] = state.get("keys", []) + keys
        resp["state"] = state
    return resp or None
'''


def _code() -> dict[str, bytes]:
    return {"ZipFile": make_zip({"app.py": HANDLER})}


def _dest_files(d: Any) -> list[dict[str, Any]]:
    if not os.path.isdir(d):
        return []
    return [json.load(open(os.path.join(d, n))) for n in sorted(os.listdir(d)) if n.endswith(".json")]


def _keys(calls: list[dict[str, Any]]) -> list[list[str]]:
    return [c["keys"] for c in calls]


def _ok_keys(t: Any) -> list[str]:
    return [k for c in t.calls() if c.get("outcome") in ("ok", "response") for k in c["keys"]]


def _wait_calls(t: Any, pred: Any, timeout: float = 30.0) -> list[dict[str, Any]]:
    return wait_for(lambda: pred(t.calls()) and t.calls(), timeout, message=lambda: f"calls: {t.calls()[-12:]}")


def _mapping(t: Any, u: str) -> dict[str, Any]:
    return t.lam.get_event_source_mapping(UUID=u)


def _iso_second(epoch: float) -> str:
    return datetime.fromtimestamp(int(epoch), tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _check_record(rec: dict[str, Any], t: Any, calls: list[dict[str, Any]], *, condition: str,
                  invoke_count: int) -> None:
    """The OnFailure invocation record of a discarded batch: `calls` are the invocations of exactly
    the discarded records (the batch is the records of the first, the request id the last's)."""
    assert set(rec) == {"requestContext", "responseContext", "version", "timestamp", "DDBStreamBatchInfo"}
    fn_arn = t.lam.get_function(FunctionName=t.function)["Configuration"]["FunctionArn"]
    assert rec["requestContext"] == {"requestId": calls[-1]["rid"], "functionArn": fn_arn,
                                     "condition": condition, "approximateInvokeCount": invoke_count}
    assert rec["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"}
    assert rec["version"] == "1.0"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", rec["timestamp"]), rec["timestamp"]
    batch = calls[0]
    info = rec["DDBStreamBatchInfo"]
    assert info == {
        "shardId": info["shardId"],
        "startSequenceNumber": batch["seqs"][0],
        "endSequenceNumber": batch["seqs"][-1],
        "approximateArrivalOfFirstRecord": _iso_second(batch["arrivals"][0]),
        "approximateArrivalOfLastRecord": _iso_second(batch["arrivals"][-1]),
        "batchSize": len(batch["seqs"]),
        "streamArn": t.stream_arn,
    }
    assert re.fullmatch(r"shardId-\d{20}-[0-9a-f]{8}", info["shardId"]), info["shardId"]
    stamp = datetime.strptime(rec["timestamp"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC).timestamp()
    assert stamp >= calls[-1]["t"] - 1.0, "written after the last invocation"


@pytest.fixture
def dlq(tmp_path: Any) -> Any:
    return tmp_path / "dlq"


def _on_failure(d: Any) -> dict[str, Any]:
    return {"OnFailure": {"Destination": f"file://{d}"}}


# --- whole-batch retries -------------------------------------------------------------------------
def test_a_failing_batch_is_retried_whole_with_the_same_records_in_the_same_order(trigger):
    t = trigger(Code=_code())
    t.put("a")
    t.put("b", raise_times=2)
    t.put("c")
    t.map(BatchSize=10)
    calls = _calls_until_ok(t, ["a", "b", "c"])
    assert _keys(calls) == [["a", "b", "c"]] * 3
    assert [c["outcome"] for c in calls] == ["raise", "raise", "ok"]
    assert len({tuple(c["seqs"]) for c in calls}) == 1, "the same sequence numbers each time"


def _calls_until_ok(t: Any, keys: list[str]) -> list[dict[str, Any]]:
    wait_for(lambda: set(keys) <= set(_ok_keys(t)), 30, message=lambda: f"{keys} delivered; calls {t.calls()}")
    return t.calls()


def _flag(tmp_path: Any) -> str:
    path = str(tmp_path / "failing")
    open(path, "w").close()
    return path


def test_later_records_wait_behind_the_batch_being_retried_and_never_join_it(trigger, tmp_path):
    t = trigger(Code=_code())
    flag = _flag(tmp_path)
    t.put("a", fail_while=flag)
    t.map(BatchSize=10)
    _wait_calls(t, lambda cs: len(cs) >= 1)
    t.put("b")
    t.put("c")
    _wait_calls(t, lambda cs: len(cs) >= 3)
    os.remove(flag)
    calls = _calls_until_ok(t, ["a", "b", "c"])
    assert _keys(calls) == [["a"]] * (len(calls) - 1) + [["b", "c"]]
    assert [c["outcome"] for c in calls[:-2]] == ["raise"] * (len(calls) - 2)


def test_a_blocked_shard_delivers_nothing_after_the_failing_batch(trigger):
    t = trigger(Code=_code())
    t.put("poison", **{"raise": True})
    t.put("next")
    u = t.map(BatchSize=1)   # MaximumRetryAttempts -1: until the records expire
    _wait_calls(t, lambda cs: len(cs) >= 4)
    assert all(c["keys"] == ["poison"] for c in t.calls())
    m = _mapping(t, u)
    assert (m["State"], m["StateTransitionReason"], m["MaximumRetryAttempts"]) == ("Enabled", "User action", -1)
    wait_for(lambda: _mapping(t, u)["LastProcessingResult"] == PROBLEM, 20)


@pytest.mark.parametrize("attempts", [0, 1, 3])
def test_maximum_retry_attempts_counts_the_retries_after_the_first_invocation(trigger, dlq, attempts):
    t = trigger(Code=_code())
    t.put("bad", **{"raise": True})
    t.put("good")
    t.map(BatchSize=1, MaximumRetryAttempts=attempts, DestinationConfig=_on_failure(dlq))
    wait_for(lambda: "good" in _ok_keys(t), 30, message=lambda: f"calls {t.calls()}")
    [rec] = wait_for(lambda: _dest_files(dlq), 20)
    bad = [c for c in t.calls() if c["keys"] == ["bad"]]
    assert len(bad) == attempts + 1
    _check_record(rec, t, bad, condition="RetryAttemptsExhausted", invoke_count=attempts + 1)
    assert _keys(t.calls()) == [["bad"]] * (attempts + 1) + [["good"]]


def test_retries_exhausted_discard_the_whole_batch_and_the_shard_moves_on(trigger, dlq):
    t = trigger(Code=_code())
    for k in ("a", "b", "c"):
        t.put(k, **{"raise": k == "b"})
    u = t.map(BatchSize=3, MaximumRetryAttempts=1, DestinationConfig=_on_failure(dlq))
    [rec] = wait_for(lambda: _dest_files(dlq), 30)
    calls = t.calls()
    assert _keys(calls) == [["a", "b", "c"]] * 2
    _check_record(rec, t, calls, condition="RetryAttemptsExhausted", invoke_count=2)
    t.put("d")
    wait_for(lambda: "d" in _ok_keys(t), 30)
    wait_for(lambda: _mapping(t, u)["LastProcessingResult"] == "OK", 20)


def test_a_discarded_batch_without_a_destination_is_skipped(trigger):
    t = trigger(Code=_code())
    t.put("bad", **{"raise": True})
    t.put("good")
    t.map(BatchSize=1, MaximumRetryAttempts=0)
    wait_for(lambda: "good" in _ok_keys(t), 30)
    assert _keys(t.calls()) == [["bad"], ["good"]]


# --- timeouts, crashes, throttles ----------------------------------------------------------------
def test_a_timeout_is_a_function_error_that_uses_a_retry(trigger, dlq):
    t = trigger(Code=_code(), Timeout=1)
    t.put("slow", sleep=3)
    t.put("fast")
    u = t.map(BatchSize=1, MaximumRetryAttempts=1, DestinationConfig=_on_failure(dlq))
    wait_for(lambda: "fast" in _ok_keys(t), 40, message=lambda: f"calls {t.calls()}")
    [rec] = wait_for(lambda: _dest_files(dlq), 20)
    slow = [c for c in t.calls() if c["keys"] == ["slow"]]
    assert len(slow) == 2
    _check_record(rec, t, slow, condition="RetryAttemptsExhausted", invoke_count=2)
    assert _mapping(t, u)["State"] == "Enabled"


def test_a_runtime_crash_is_a_function_error_that_uses_a_retry(trigger, dlq):
    t = trigger(Code=_code())
    t.put("boom", crash=True)
    t.put("fine")
    t.map(BatchSize=1, MaximumRetryAttempts=1, DestinationConfig=_on_failure(dlq))
    wait_for(lambda: "fine" in _ok_keys(t), 40, message=lambda: f"calls {t.calls()}")
    [rec] = wait_for(lambda: _dest_files(dlq), 20)
    boom = [c for c in t.calls() if c["keys"] == ["boom"]]
    assert len(boom) == 2
    _check_record(rec, t, boom, condition="RetryAttemptsExhausted", invoke_count=2)


def test_a_throttle_uses_no_retry_attempt_and_does_not_bisect(trigger, dlq):
    t = trigger(Code=_code())
    t.lam.put_function_concurrency(FunctionName=t.function, ReservedConcurrentExecutions=0)
    t.put("a")
    t.put("b")
    u = t.map(BatchSize=2, MaximumRetryAttempts=0, BisectBatchOnFunctionError=True,
              DestinationConfig=_on_failure(dlq))
    t.wait_state(u, "Enabled")
    # the batch never reaches the function: no invocation logged, nothing discarded, position kept
    wait_for(lambda: _mapping(t, u)["LastProcessingResult"] != "No records processed", 20)
    assert t.calls() == [] and _dest_files(dlq) == []
    t.lam.delete_function_concurrency(FunctionName=t.function)
    calls = _calls_until_ok(t, ["a", "b"])
    assert _keys(calls) == [["a", "b"]]
    assert _dest_files(dlq) == []


# --- bisect --------------------------------------------------------------------------------------
def test_bisect_splits_the_failing_batch_and_isolates_the_poison_record(trigger, dlq):
    t = trigger(Code=_code())
    for k in ("a", "b", "p", "d"):
        t.put(k, **{"raise": k == "p"})
    t.map(BatchSize=4, BisectBatchOnFunctionError=True, MaximumRetryAttempts=1, DestinationConfig=_on_failure(dlq))
    wait_for(lambda: "d" in _ok_keys(t), 30, message=lambda: f"calls {t.calls()}")
    [rec] = wait_for(lambda: _dest_files(dlq), 20)
    calls = t.calls()
    # splitting is not a retry: the lone poison record then has its 1 + MaximumRetryAttempts invocations
    assert _keys(calls) == [["a", "b", "p", "d"], ["a", "b"], ["p", "d"], ["p"], ["p"], ["d"]]
    assert _ok_keys(t) == ["a", "b", "d"]
    _check_record(rec, t, [c for c in calls if c["keys"] == ["p"]], condition="RetryAttemptsExhausted",
                  invoke_count=2)


def test_bisect_with_infinite_retries_blocks_behind_the_lone_poison_record(trigger):
    t = trigger(Code=_code())
    for k in ("a", "p", "c"):
        t.put(k, **{"raise": k == "p"})
    t.map(BatchSize=3, BisectBatchOnFunctionError=True)
    _wait_calls(t, lambda cs: sum(c["keys"] == ["p"] for c in cs) >= 3)
    calls = t.calls()
    # [a p c] -> [a] ok, [p c] -> [p] x, [p] x, ...: c stays behind p
    assert _keys(calls)[:3] == [["a", "p", "c"], ["a"], ["p", "c"]]
    assert all(k == ["p"] for k in _keys(calls)[3:])
    assert _ok_keys(t) == ["a"]


def test_bisect_retries_a_half_that_later_succeeds(trigger):
    t = trigger(Code=_code())
    for k in ("a", "b", "c", "d"):
        t.put(k, **({"raise_times": 2} if k == "c" else {}))
    t.map(BatchSize=4, BisectBatchOnFunctionError=True, MaximumRetryAttempts=5)
    calls = _calls_until_ok(t, ["a", "b", "c", "d"])
    # c fails in [a b c d] and in [c d]; the split goes on to [c] which succeeds, then [d]
    assert _keys(calls) == [["a", "b", "c", "d"], ["a", "b"], ["c", "d"], ["c"], ["d"]]
    assert _ok_keys(t) == ["a", "b", "c", "d"]


# --- ReportBatchItemFailures ---------------------------------------------------------------------
def test_partial_failure_moves_the_checkpoint_before_the_lowest_failed_record(trigger):
    t = trigger(env={"REPORT": "1"}, Code=_code())
    for k in ("a", "b", "c", "d"):
        t.put(k, **({"report_times": 1} if k in ("b", "d") else {}))
    t.map(BatchSize=4, FunctionResponseTypes=["ReportBatchItemFailures"])
    wait_for(lambda: [c for c in t.calls() if c["outcome"] == "ok"], 30, message=lambda: f"calls {t.calls()}")
    calls = t.calls()
    assert _keys(calls) == [["a", "b", "c", "d"], ["b", "c", "d"]]
    assert calls[0]["reported"] == [calls[0]["seqs"][1], calls[0]["seqs"][3]]


def test_a_partial_failure_retry_uses_a_retry_attempt(trigger, dlq):
    t = trigger(env={"REPORT": "1"}, Code=_code())
    for k in ("a", "b", "c"):
        t.put(k, report=(k == "b"))
    t.map(BatchSize=3, FunctionResponseTypes=["ReportBatchItemFailures"], MaximumRetryAttempts=1,
          DestinationConfig=_on_failure(dlq))
    [rec] = wait_for(lambda: _dest_files(dlq), 30, message=lambda: f"calls {t.calls()}")
    calls = t.calls()
    assert _keys(calls) == [["a", "b", "c"], ["b", "c"]]
    _check_record(rec, t, calls[1:], condition="RetryAttemptsExhausted", invoke_count=2)


@pytest.mark.parametrize("response", ['{"batchItemFailures": []}', '{"batchItemFailures": null}', "{}", "null"])
def test_an_empty_or_null_failure_list_or_response_is_full_success(trigger, dlq, response):
    t = trigger(env={"RESPONSE": response}, Code=_code())
    t.put("a")
    t.put("b")
    u = t.map(BatchSize=2, FunctionResponseTypes=["ReportBatchItemFailures"], MaximumRetryAttempts=0,
              DestinationConfig=_on_failure(dlq))
    wait_for(lambda: _mapping(t, u)["LastProcessingResult"] == "OK", 20)
    t.put("c")
    wait_for(lambda: "c" in _ok_keys(t), 20)
    assert _keys(t.calls()) == [["a", "b"], ["c"]]
    assert _dest_files(dlq) == []


@pytest.mark.parametrize("response", [
    '{"batchItemFailures": [{"itemIdentifier": ""}]}',
    '{"batchItemFailures": [{"itemIdentifier": null}]}',
    '{"batchItemFailures": [{}]}',
    '{"batchItemFailures": [{"itemId": "@1"}]}',                                    # a bad key name
    '{"batchItemFailures": [{"itemIdentifier": "@1"}, {"itemIdentifier": ""}]}',
    '{"batchItemFailures": [{"itemIdentifier": "100000000000000000000999999"}]}',    # not in the batch
])
def test_a_missing_empty_or_unknown_item_identifier_fails_the_whole_batch(trigger, dlq, response):
    t = trigger(env={"RESPONSE": response}, Code=_code())
    t.put("a")
    t.put("b")
    u = t.map(BatchSize=2, FunctionResponseTypes=["ReportBatchItemFailures"], MaximumRetryAttempts=1,
              DestinationConfig=_on_failure(dlq))
    [rec] = wait_for(lambda: _dest_files(dlq), 30, message=lambda: f"calls {t.calls()}")
    calls = t.calls()
    assert _keys(calls) == [["a", "b"]] * 2
    _check_record(rec, t, calls, condition="RetryAttemptsExhausted", invoke_count=2)
    assert _mapping(t, u)["LastProcessingResult"] == PROBLEM


def test_a_handler_exception_with_report_batch_item_failures_fails_the_whole_batch(trigger):
    t = trigger(env={"REPORT": "1"}, Code=_code())
    t.put("a")
    t.put("b", raise_times=1)
    t.put("c")
    t.map(BatchSize=3, FunctionResponseTypes=["ReportBatchItemFailures"])
    calls = _calls_until_ok(t, ["a", "b", "c"])
    assert _keys(calls) == [["a", "b", "c"]] * 2


def test_a_failure_response_is_ignored_without_report_batch_item_failures(trigger):
    t = trigger(env={"RESPONSE": '{"batchItemFailures": [{"itemIdentifier": "@0"}]}'}, Code=_code())
    t.put("a")
    u = t.map(BatchSize=10)
    wait_for(lambda: _mapping(t, u)["LastProcessingResult"] == "OK", 20)
    t.put("b")
    wait_for(lambda: "b" in _ok_keys(t), 20)
    assert _keys(t.calls()) == [["a"], ["b"]]


def test_partial_failure_with_bisect_splits_at_the_returned_sequence_number(trigger, dlq):
    t = trigger(env={"REPORT": "1"}, Code=_code())
    for k in ("a", "b", "c", "d", "e"):
        t.put(k, report=(k == "c"))
    t.map(BatchSize=5, FunctionResponseTypes=["ReportBatchItemFailures"], BisectBatchOnFunctionError=True,
          MaximumRetryAttempts=0, DestinationConfig=_on_failure(dlq))
    wait_for(lambda: "e" in _ok_keys(t), 30, message=lambda: f"calls {t.calls()}")
    [rec] = wait_for(lambda: _dest_files(dlq), 20)
    calls = t.calls()
    # [a..e] reports c: a, b are done and [c d e] is a new batch; its first record failing splits it
    assert _keys(calls) == [["a", "b", "c", "d", "e"], ["c", "d", "e"], ["c"], ["d", "e"]]
    _check_record(rec, t, [calls[2]], condition="RetryAttemptsExhausted", invoke_count=1)


# --- the OnFailure destination -------------------------------------------------------------------
def test_destinations_eddydb_supports(trigger, make_table, dynamodb_server, tmp_path):
    t = trigger(Code=_code())
    table = make_table(("id", "S"), client=dynamodb_server)
    table_arn = dynamodb_server.describe_table(TableName=table)["Table"]["TableArn"]
    u = t.map(DestinationConfig={"OnFailure": {"Destination": table_arn}})
    assert _mapping(t, u)["DestinationConfig"] == {"OnFailure": {"Destination": table_arn}}
    t.lam.update_event_source_mapping(UUID=u, DestinationConfig=_on_failure(tmp_path))
    assert _mapping(t, u)["DestinationConfig"] == {"OnFailure": {"Destination": f"file://{tmp_path}"}}
    for dest in ("arn:aws:sqs:us-east-1:000000000000:dlq", "arn:aws:sns:us-east-1:000000000000:topic",
                 "file://relative/dir", t.stream_arn):
        with pytest.raises(ClientError) as e:
            t.lam.update_event_source_mapping(UUID=u, DestinationConfig={"OnFailure": {"Destination": dest}})
        assert e.value.response["Error"]["Code"] == "InvalidParameterValueException", dest


def test_a_destination_table_item_carries_the_whole_invocation_record(trigger, make_table, dynamodb_server):
    t = trigger(Code=_code())
    table = make_table(("id", "S"), client=dynamodb_server)
    table_arn = dynamodb_server.describe_table(TableName=table)["Table"]["TableArn"]
    t.put("x", **{"raise": True})
    t.map(MaximumRetryAttempts=0, DestinationConfig={"OnFailure": {"Destination": table_arn}})
    [item] = wait_for(lambda: dynamodb_server.scan(TableName=table)["Items"], 30)
    [call] = t.calls()
    assert item["version"] == {"S": "1.0"}
    assert item["requestContext"]["M"]["requestId"] == {"S": call["rid"]}
    assert item["requestContext"]["M"]["condition"] == {"S": "RetryAttemptsExhausted"}
    info = item["DDBStreamBatchInfo"]["M"]
    assert info["startSequenceNumber"] == info["endSequenceNumber"] == {"S": call["seqs"][0]}
    assert info["batchSize"] == {"N": "1"}


# --- the mapping's observable fields -------------------------------------------------------------
def test_last_processing_result_follows_failures_and_recovery(trigger, tmp_path):
    t = trigger(Code=_code())
    flag = _flag(tmp_path)
    u = t.map(BatchSize=1)
    t.wait_state(u, "Enabled")
    m = _mapping(t, u)
    assert (m["State"], m["StateTransitionReason"], m["LastProcessingResult"]) == (
        "Enabled", "User action", "No records processed")
    t.put("a", fail_while=flag)
    _wait_calls(t, lambda cs: len(cs) >= 2)
    m = _mapping(t, u)
    assert (m["State"], m["StateTransitionReason"], m["LastProcessingResult"]) == ("Enabled", "User action", PROBLEM)
    os.remove(flag)
    wait_for(lambda: "a" in _ok_keys(t), 30)
    wait_for(lambda: _mapping(t, u)["LastProcessingResult"] == "OK", 20)
    listed = [x for x in t.lam.list_event_source_mappings(FunctionName=t.function)["EventSourceMappings"]
              if x["UUID"] == u]
    assert listed[0]["LastProcessingResult"] == "OK" and listed[0]["State"] == "Enabled"


# --- tumbling windows ----------------------------------------------------------------------------
def _clear_of_window_boundary(size: int, margin: float) -> None:
    left = size - time.time() % size
    if left < margin:
        time.sleep(left + 0.05)


def test_a_failed_window_invocation_is_retried_with_the_same_state(trigger):
    t = trigger(env={"WINDOW": "1"}, Code=_code())
    _clear_of_window_boundary(3, 1.5)
    t.put("a")
    t.put("b", raise_times=1)
    t.put("c")
    t.map(BatchSize=1, TumblingWindowInSeconds=3)
    finals = _wait_calls(t, lambda cs: any(c.get("isFinalInvokeForWindow") for c in cs))
    calls = [c for c in finals if not c["isFinalInvokeForWindow"]]
    [final] = [c for c in finals if c["isFinalInvokeForWindow"]]
    assert _keys(calls) == [["a"], ["b"], ["b"], ["c"]]
    assert [c["state"].get("count", 0) for c in calls] == [0, 1, 1, 2], "a failed invocation leaves the state"
    assert final["state"] == {"count": 3, "keys": ["a", "b", "c"]}
    assert final["keys"] == [] and final["isWindowTerminatedEarly"] is False
    assert all(c["window"] == final["window"] for c in calls)


def test_a_discarded_batch_in_a_window_leaves_the_state_and_the_window_goes_on(trigger, dlq):
    t = trigger(env={"WINDOW": "1"}, Code=_code())
    _clear_of_window_boundary(3, 1.5)
    t.put("a")
    t.put("b", **{"raise": True})
    t.put("c")
    t.map(BatchSize=1, TumblingWindowInSeconds=3, MaximumRetryAttempts=0, DestinationConfig=_on_failure(dlq))
    got = _wait_calls(t, lambda cs: any(c.get("isFinalInvokeForWindow") for c in cs))
    [rec] = wait_for(lambda: _dest_files(dlq), 20)
    [final] = [c for c in got if c["isFinalInvokeForWindow"]]
    assert final["state"] == {"count": 2, "keys": ["a", "c"]}
    assert rec["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert rec["DDBStreamBatchInfo"]["batchSize"] == 1


def test_window_boundaries_are_aligned_and_each_window_gets_one_final_invoke(trigger):
    t = trigger(env={"WINDOW": "1"}, Code=_code())
    t.map(BatchSize=10, TumblingWindowInSeconds=1)
    t.put("a")
    _wait_calls(t, lambda cs: any(c.get("isFinalInvokeForWindow") for c in cs))
    t.put("b")
    calls = _wait_calls(t, lambda cs: sum(bool(c.get("isFinalInvokeForWindow")) for c in cs) >= 2)

    def epoch(text: str) -> float:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()

    windows = []
    for c in calls:
        start, end = epoch(c["window"]["start"]), epoch(c["window"]["end"])
        assert end - start == 1
        assert all(start <= a < end for a in c["arrivals"])
        if c["isFinalInvokeForWindow"]:
            windows.append(c["window"]["start"])
    assert len(windows) == len(set(windows)), "one final invoke per window"


# --- MaximumRecordAgeInSeconds (embedded: the mapping's clock can be moved) -----------------------
def test_records_past_the_maximum_age_are_discarded_with_record_age_exceeded(tmp_path):
    dlq = tmp_path / "dlq"
    with eddydb.open(str(tmp_path / "data")) as d:
        create_stream_table(d.client("dynamodb"), "orders")
        ahead = {"s": 0.0}
        d.instance.mappings.clock = lambda: time.time() + ahead["s"]
        calls: list[list[str]] = []

        def fails(event: Any, context: Any) -> None:
            calls.append([r["dynamodb"]["Keys"]["pk"]["S"] for r in event["Records"]])
            raise RuntimeError("down")

        u = d.on_change("orders", fails, max_record_age=60, on_failure=f"file://{dlq}")
        d.client("dynamodb").put_item(TableName="orders", Item={"pk": {"S": "old"}})
        wait_for(lambda: len(calls) >= 3, 20)
        assert not _dest_files(dlq), "younger than 60 s: still retried"
        ahead["s"] = 61.0
        [rec] = wait_for(lambda: _dest_files(dlq), 20)
        assert rec["requestContext"]["condition"] == "RecordAgeExceeded"
        assert rec["requestContext"]["approximateInvokeCount"] == len(calls)
        assert rec["DDBStreamBatchInfo"]["batchSize"] == 1
        assert d.instance.mappings.get(u)["MaximumRecordAgeInSeconds"] == 60


def test_disabling_a_mapping_blocked_on_a_failing_batch_keeps_its_position(trigger, tmp_path):
    t = trigger(Code=_code())
    flag = _flag(tmp_path)
    t.put("a", fail_while=flag)
    t.put("b")
    u = t.map(BatchSize=1)
    _wait_calls(t, lambda cs: len(cs) >= 2)
    t.lam.update_event_source_mapping(UUID=u, Enabled=False)
    t.wait_state(u, "Disabled")
    m = _mapping(t, u)
    assert (m["StateTransitionReason"], m["LastProcessingResult"]) == ("User action", PROBLEM)
    seen = len(t.calls())
    assert _ok_keys(t) == []
    os.remove(flag)
    t.lam.update_event_source_mapping(UUID=u, Enabled=True)
    t.wait_state(u, "Enabled")
    calls = _calls_until_ok(t, ["a", "b"])
    assert len(calls) >= seen + 2
    assert _keys(calls) == [["a"]] * (len(calls) - 1) + [["b"]], "the failing batch is retried again, never skipped"
    wait_for(lambda: _mapping(t, u)["LastProcessingResult"] == "OK", 20)


def test_deleting_a_mapping_blocked_on_a_failing_batch_stops_it(trigger):
    t = trigger(Code=_code())
    t.put("a", **{"raise": True})
    u = t.map(BatchSize=1)
    _wait_calls(t, lambda cs: len(cs) >= 2)
    assert t.lam.delete_event_source_mapping(UUID=u)["State"] == "Deleting"

    def gone() -> bool:
        try:
            _mapping(t, u)
        except ClientError as e:
            return e.response["Error"]["Code"] == "ResourceNotFoundException"
        return False

    wait_for(gone, 20)


def test_a_runtime_crash_with_bisect_isolates_the_crashing_record(trigger, dlq):
    t = trigger(Code=_code())
    for k in ("a", "boom", "c", "d"):
        t.put(k, crash=(k == "boom"))
    t.map(BatchSize=4, BisectBatchOnFunctionError=True, MaximumRetryAttempts=0, DestinationConfig=_on_failure(dlq))
    wait_for(lambda: "d" in _ok_keys(t), 40, message=lambda: f"calls {t.calls()}")
    [rec] = wait_for(lambda: _dest_files(dlq), 20)
    calls = t.calls()
    assert _keys(calls) == [["a", "boom", "c", "d"], ["a", "boom"], ["a"], ["boom"], ["c", "d"]]
    _check_record(rec, t, [calls[3]], condition="RetryAttemptsExhausted", invoke_count=1)


def test_a_missing_function_uses_no_retry_attempt_and_does_not_bisect(trigger, dlq):
    """"If Lambda throttles the function or returns an error without invoking the function, Lambda
    retries until the records expire or exceed the maximum age": MaximumRetryAttempts "doesn't apply
    to service errors or throttles where the batch didn't reach the function". A deleted function
    is such an error: the batch waits, whole, until the function exists again."""
    from triggers_support import ROLE

    t = trigger(Code=_code())
    config = t.lam.get_function(FunctionName=t.function)["Configuration"]
    u = t.map(BatchSize=2, MaximumRetryAttempts=0, BisectBatchOnFunctionError=True,
              DestinationConfig=_on_failure(dlq), Enabled=False)
    t.put("a")
    t.put("b")
    t.lam.delete_function(FunctionName=t.function)
    t.wait_state(u, "Disabled")
    t.lam.update_event_source_mapping(UUID=u, Enabled=True)
    wait_for(lambda: _mapping(t, u)["LastProcessingResult"] == PROBLEM, 20)
    assert _mapping(t, u)["State"] == "Enabled"
    t.lam.create_function(FunctionName=t.function, Runtime="python3.12", Role=ROLE, Handler="app.handler",
                          Code=_code(), Environment=config["Environment"], Timeout=30)
    wait_for(lambda: _ok_keys(t) or _dest_files(dlq), 30, message=lambda: f"calls {t.calls()}")
    assert _dest_files(dlq) == [], "not discarded: the batch never reached the function"
    calls = _calls_until_ok(t, ["a", "b"])
    assert _keys(calls) == [["a", "b"]]
    wait_for(lambda: _mapping(t, u)["LastProcessingResult"] == "OK", 20)


def test_a_partial_failure_checkpoint_survives_a_restart(tmp_path):
    """The checkpoint moved to just before the lowest reported record: after kill -9 and a restart
    processing resumes at that record, not at the start of the batch."""
    from triggers_support import ROLE

    out = str(tmp_path / "calls.jsonl")
    with ServerProcess(tmp_path / "data", log_path=tmp_path / "server.log") as server:
        ddb, lam = make_client("dynamodb", server.url), make_client("lambda", server.url)
        arn = create_stream_table(ddb, "orders")
        lam.create_function(FunctionName="reporter", Runtime="python3.12", Role=ROLE, Handler="app.handler",
                            Code=_code(), Timeout=30, Environment={"Variables": {"OUT": out, "REPORT": "1"}})
        for k in ("a", "b", "c", "d"):
            ddb.put_item(TableName="orders", Item={"pk": {"S": k}, "report": {"BOOL": k == "c"}})
        lam.create_event_source_mapping(EventSourceArn=arn, FunctionName="reporter", BatchSize=4,
                                        StartingPosition="TRIM_HORIZON",
                                        FunctionResponseTypes=["ReportBatchItemFailures"])

        def calls() -> list[dict[str, Any]]:
            if not os.path.exists(out):
                return []
            with open(out) as f:
                return [json.loads(line) for line in f if line.strip()]

        wait_for(lambda: len(calls()) >= 2, 30, message=lambda: f"calls {calls()}")
        assert _keys(calls())[:2] == [["a", "b", "c", "d"], ["c", "d"]]
        server.kill9()
        before = len(calls())
        server.start()
        wait_for(lambda: len(calls()) > before, 30, message=lambda: f"calls {calls()}")
        assert calls()[before]["keys"] == ["c", "d"]


def test_a_failing_batch_blocks_only_its_own_shard(tmp_path):
    """Retries block "the shard" behind the failing batch: records of the other shards go on."""
    with eddydb.open(str(tmp_path / "data"), stream_partitions=4) as d:
        ddb, streams = d.client("dynamodb"), d.client("dynamodbstreams")
        arn = create_stream_table(ddb, "parts", "NEW_IMAGE")
        delivered: list[str] = []
        poison_calls: list[int] = []

        def handler(event: Any) -> None:
            keys = [r["dynamodb"]["Keys"]["pk"]["S"] for r in event["Records"]]
            if "poison" in keys:
                poison_calls.append(len(keys))
                raise RuntimeError("poison")
            delivered.extend(keys)

        d.on_change("parts", handler, batch_size=1, starting_position="TRIM_HORIZON")
        keys = ["poison"] + [f"k{i}" for i in range(30)]
        for k in keys:
            ddb.put_item(TableName="parts", Item={"pk": {"S": k}})
        shards = {r["dynamodb"]["Keys"]["pk"]["S"]: s["ShardId"]
                  for s in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]
                  for r in streams.get_records(ShardIterator=streams.get_shard_iterator(
                      StreamArn=arn, ShardId=s["ShardId"], ShardIteratorType="TRIM_HORIZON")["ShardIterator"])["Records"]}
        blocked = [k for k in keys[1:] if shards[k] == shards["poison"]]
        free = [k for k in keys[1:] if shards[k] != shards["poison"]]
        assert free and blocked, "keys spread over the shards"
        wait_for(lambda: set(free) <= set(delivered) and len(poison_calls) >= 3, 20)
        assert not set(blocked) & set(delivered)
