"""Stream trigger behaviour through boto3 (lambda + dynamodb) against the server: delivery and
event shape, retries blocking the shard in order, retries exhausted to each destination kind,
bisect isolating a poison record, partial batch failures with and without bisect, filters,
disable/enable, two mappings on one stream, parallelization keeping per-key order, tumbling
windows, and timeouts."""
from __future__ import annotations

import json
import os
import re

from util import wait_for


def _dest_files(d) -> list[dict]:
    if not os.path.isdir(d):
        return []
    return [json.load(open(os.path.join(d, n))) for n in sorted(os.listdir(d)) if n.endswith(".json")]


def test_records_arrive_in_order_with_event_source_arn(trigger):
    t = trigger()
    u = t.map(BatchSize=10)
    t.wait_state(u, "Enabled")
    keys = [f"k{i:03d}" for i in range(30)]
    for k in keys:
        t.put(k, v=1)
    got = t.wait_delivered(keys)
    assert got == keys
    calls = t.calls()
    assert all(len(c["keys"]) <= 10 for c in calls)
    assert all(a == t.stream_arn for c in calls for a in c["arns"])
    assert all(n == "INSERT" for c in calls for n in c["names"])
    seqs = [int(s) for c in calls for s in c["seqs"]]
    assert seqs == sorted(seqs)
    wait_for(lambda: t.lam.get_event_source_mapping(UUID=u)["LastProcessingResult"] == "OK", 20)


def test_latest_skips_records_written_before_the_mapping(trigger):
    t = trigger()
    t.put("before")
    u = t.map(StartingPosition="LATEST")
    t.wait_state(u, "Enabled")
    t.put("after")
    t.wait_delivered(["after"])
    assert "before" not in t.delivered()


def test_trim_horizon_delivers_existing_records(trigger):
    t = trigger()
    for k in ("a", "b", "c"):
        t.put(k)
    t.map(StartingPosition="TRIM_HORIZON", BatchSize=100)
    assert t.wait_delivered(["a", "b", "c"]) == ["a", "b", "c"]
    assert len(t.calls()) == 1, "existing records go in one batch"


def test_retries_block_the_shard_in_order(trigger):
    t = trigger()
    t.put("first", fail_times=3)
    t.put("second")
    t.put("third")
    t.map(BatchSize=1)
    t.wait_delivered(["first", "second", "third"])
    calls = t.calls()
    keys = [c["keys"][0] for c in calls]
    assert keys == ["first"] * 4 + ["second", "third"]
    assert [bool(c["failed"]) for c in calls[:4]] == [True, True, True, False]


def test_function_error_sets_last_processing_result(trigger):
    t = trigger()
    t.put("bad", poison=True)
    u = t.map()
    wait_for(lambda: t.lam.get_event_source_mapping(UUID=u)["LastProcessingResult"] == "PROBLEM: Function call failed", 20)


def _check_failure_record(rec, t, *, condition, batch_size, invoke_count):
    assert set(rec) == {"requestContext", "responseContext", "version", "timestamp", "DDBStreamBatchInfo"}
    rc = rec["requestContext"]
    assert rc["condition"] == condition
    assert rc["approximateInvokeCount"] == invoke_count
    assert rc["functionArn"].endswith(":function:" + t.function)
    assert len(rc["requestId"]) == 36
    assert rec["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"}
    assert rec["version"] == "1.0"
    assert rec["timestamp"].endswith("Z") and "T" in rec["timestamp"]
    info = rec["DDBStreamBatchInfo"]
    assert info["batchSize"] == batch_size
    assert info["streamArn"] == t.stream_arn
    assert info["shardId"].startswith("shardId-")
    assert int(info["startSequenceNumber"]) <= int(info["endSequenceNumber"])
    for name in ("approximateArrivalOfFirstRecord", "approximateArrivalOfLastRecord"):
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", info[name]), info[name]


def test_retries_exhausted_go_to_file_destination_and_shard_moves_on(trigger, tmp_path):
    t = trigger()
    dlq = tmp_path / "dlq"
    t.put("bad", poison=True)
    t.put("good")
    t.map(BatchSize=1, MaximumRetryAttempts=2,
          DestinationConfig={"OnFailure": {"Destination": f"file://{dlq}"}})
    t.wait_delivered(["good"])
    files = wait_for(lambda: _dest_files(dlq), 20)
    assert len(files) == 1
    _check_failure_record(files[0], t, condition="RetryAttemptsExhausted", batch_size=1, invoke_count=3)
    bad_calls = [c for c in t.calls() if c["keys"] == ["bad"]]
    assert len(bad_calls) == 3
    assert files[0]["DDBStreamBatchInfo"]["startSequenceNumber"] == bad_calls[0]["seqs"][0]
    assert files[0]["requestContext"]["requestId"] == bad_calls[-1]["rid"], "the last invocation's request id"


def test_a_throttled_function_is_retried_without_using_up_the_retry_attempts(trigger, tmp_path):
    t = trigger()
    dlq = tmp_path / "dlq"
    t.lam.put_function_concurrency(FunctionName=t.function, ReservedConcurrentExecutions=0)
    t.put("a")
    u = t.map(MaximumRetryAttempts=0, BisectBatchOnFunctionError=True,
              DestinationConfig={"OnFailure": {"Destination": f"file://{dlq}"}})
    wait_for(lambda: t.lam.get_event_source_mapping(UUID=u)["LastProcessingResult"] == "PROBLEM: Function call failed",
             20)
    t.lam.delete_function_concurrency(FunctionName=t.function)
    assert t.wait_delivered(["a"]) == ["a"]
    assert _dest_files(dlq) == []


def test_retries_exhausted_go_to_table_destination(trigger, make_table, dynamodb_server, region):
    t = trigger()
    dlq = make_table(("id", "S"), client=dynamodb_server)
    dlq_arn = dynamodb_server.describe_table(TableName=dlq)["Table"]["TableArn"]
    t.put("bad", poison=True)
    t.put("b2", poison=True)
    t.map(BatchSize=2, MaximumRetryAttempts=0, DestinationConfig={"OnFailure": {"Destination": dlq_arn}})
    items = wait_for(lambda: dynamodb_server.scan(TableName=dlq)["Items"], 20)
    assert len(items) == 1
    item = items[0]
    assert set(item) == {"id", "requestContext", "responseContext", "version", "timestamp", "DDBStreamBatchInfo"}
    assert item["requestContext"]["M"]["condition"] == {"S": "RetryAttemptsExhausted"}
    assert item["requestContext"]["M"]["approximateInvokeCount"] == {"N": "1"}
    assert item["DDBStreamBatchInfo"]["M"]["batchSize"] == {"N": "2"}
    assert item["DDBStreamBatchInfo"]["M"]["streamArn"] == {"S": t.stream_arn}


def test_bisect_isolates_a_poison_record(trigger, tmp_path):
    t = trigger()
    dlq = tmp_path / "dlq"
    keys = [f"r{i}" for i in range(8)]
    for k in keys:
        t.put(k, poison=(k == "r5"))
    t.map(BatchSize=8, MaximumRetryAttempts=0, BisectBatchOnFunctionError=True,
          DestinationConfig={"OnFailure": {"Destination": f"file://{dlq}"}})
    good = [k for k in keys if k != "r5"]
    assert t.wait_delivered(good) == good
    files = wait_for(lambda: _dest_files(dlq), 20)
    assert len(files) == 1
    _check_failure_record(files[0], t, condition="RetryAttemptsExhausted", batch_size=1, invoke_count=1)
    poison_seq = next(c["seqs"][c["keys"].index("r5")] for c in t.calls() if "r5" in c["keys"])
    assert files[0]["DDBStreamBatchInfo"]["startSequenceNumber"] == poison_seq
    # invocations: [r0..r7] -> [r0..r3] ok, [r4..r7] -> [r4,r5] -> [r4] ok, [r5] x, then [r6,r7]
    assert [c["keys"] for c in t.calls()] == [keys, keys[:4], keys[4:], ["r4", "r5"], ["r4"], ["r5"], ["r6", "r7"]]


def test_partial_batch_failure_retries_from_the_lowest_failed_record(trigger):
    t = trigger(env={"REPORT": "1"})
    for k in ("a", "b", "c", "d", "e"):
        t.put(k, fail_times=(1 if k == "c" else 0))
    t.map(BatchSize=5, FunctionResponseTypes=["ReportBatchItemFailures"])
    t.wait_delivered(["c", "d", "e"])
    assert [c["keys"] for c in t.calls()] == [["a", "b", "c", "d", "e"], ["c", "d", "e"]]


def test_partial_response_ignored_without_report_batch_item_failures(trigger):
    t = trigger(env={"REPORT": "1"})
    for k in ("a", "b", "c"):
        t.put(k, poison=(k == "b"))
    t.map(BatchSize=5)
    wait_for(lambda: t.calls(), 20)
    t.put("z")
    wait_for(lambda: any("z" in c["keys"] for c in t.calls()), 20)
    assert [c["keys"] for c in t.calls()] == [["a", "b", "c"], ["z"]]


def test_partial_batch_failure_with_bisect_splits_at_the_returned_record(trigger, tmp_path):
    t = trigger(env={"REPORT": "1"})
    dlq = tmp_path / "dlq"
    for k in ("a", "b", "c", "d", "e"):
        t.put(k, poison=(k == "c"))
    t.map(BatchSize=5, FunctionResponseTypes=["ReportBatchItemFailures"], BisectBatchOnFunctionError=True,
          MaximumRetryAttempts=0, DestinationConfig={"OnFailure": {"Destination": f"file://{dlq}"}})
    files = wait_for(lambda: _dest_files(dlq), 20)
    t.wait_delivered(["d", "e"])
    assert files[0]["DDBStreamBatchInfo"]["batchSize"] == 1
    # [a..e] reports c -> [c,d,e] reports c first -> bisect [c] | [d,e]
    assert [c["keys"] for c in t.calls()] == [["a", "b", "c", "d", "e"], ["c", "d", "e"], ["c"], ["d", "e"]]


def test_malformed_partial_response_is_a_full_failure(trigger, tmp_path):
    t = trigger(env={"BAD": json.dumps({"batchItemFailures": [{"itemIdentifier": ""}]})})
    dlq = tmp_path / "dlq"
    t.put("a")
    t.put("b")
    t.map(BatchSize=5, FunctionResponseTypes=["ReportBatchItemFailures"], MaximumRetryAttempts=1,
          DestinationConfig={"OnFailure": {"Destination": f"file://{dlq}"}})
    files = wait_for(lambda: _dest_files(dlq), 20)
    assert files[0]["DDBStreamBatchInfo"]["batchSize"] == 2
    assert files[0]["requestContext"]["approximateInvokeCount"] == 2


def test_filters_drop_records_and_move_on(trigger):
    t = trigger()
    pattern = {"eventName": ["INSERT"], "dynamodb": {"NewImage": {"v": {"N": [{"numeric": ["=", 0]}]}}}}
    t.map(FilterCriteria={"Filters": [{"Pattern": json.dumps(pattern)}]}, BatchSize=10)
    t.put("zero1", v=0)
    t.put("one", v=1)
    t.put("zero1", v=0, extra="modify")
    t.put("zero2", v=0)
    t.wait_delivered(["zero2"])
    assert t.delivered() == ["zero1", "zero2"]


def test_disable_keeps_the_position_and_enable_resumes(trigger):
    t = trigger()
    u = t.map()
    t.put("a")
    t.wait_delivered(["a"])
    t.lam.update_event_source_mapping(UUID=u, Enabled=False)
    t.wait_state(u, "Disabled")
    t.put("b")
    t.put("c")
    t.lam.update_event_source_mapping(UUID=u, Enabled=True)
    t.wait_state(u, "Enabled")
    t.wait_delivered(["b", "c"])
    assert t.delivered() == ["a", "b", "c"]


def test_two_mappings_on_one_stream_are_independent(trigger, make_function):
    t = trigger()
    other, other_out = make_function()
    t.map(BatchSize=3)
    t.map(other, BatchSize=7)
    keys = [f"k{i}" for i in range(20)]
    for k in keys:
        t.put(k)
    assert t.wait_delivered(keys) == keys
    assert t.wait_delivered(keys, path=other_out) == keys


def test_parallelization_keeps_order_per_item_key(trigger):
    t = trigger()
    writes = [(f"key{k}", v) for v in range(8) for k in range(6)]
    for key, v in writes:
        t.put(key, v=v)
    t.map(BatchSize=2, ParallelizationFactor=4)

    def all_there():
        seen = {(k, v) for c in t.calls() for k, v in zip(c["keys"], c["vals"])}
        return seen >= set(writes)

    wait_for(all_there, 20)
    per_key: dict[str, list[int]] = {}
    for c in t.calls():
        for k, v in zip(c["keys"], c["vals"]):
            per_key.setdefault(k, []).append(v)
    for k, vals in per_key.items():
        assert vals == sorted(vals), f"{k} out of order: {vals}"
    assert max(len(c["keys"]) for c in t.calls()) <= 2


def test_tumbling_window_passes_state_and_ends_with_a_final_invoke(trigger):
    t = trigger(env={"WINDOW": "1"})
    t.map(TumblingWindowInSeconds=1, BatchSize=2)
    keys = [f"w{i}" for i in range(5)]
    for k in keys:
        t.put(k)
    finals = wait_for(lambda: [c for c in t.calls() if c.get("isFinalInvokeForWindow")]
                      if sum(c["state"].get("count", 0) for c in t.calls() if c.get("isFinalInvokeForWindow")) == 5
                      else None, 30)
    for c in t.calls():
        assert c["shardId"].startswith("shardId-")
        assert c["eventSourceARN"] == t.stream_arn
        assert set(c["window"]) == {"start", "end"}
        assert c["isWindowTerminatedEarly"] is False
    assert all(f["keys"] == [] for f in finals)
    # within a window, each invocation sees the count of the records before it
    by_window: dict[str, int] = {}
    for c in t.calls():
        w = c["window"]["start"]
        assert c["state"].get("count", 0) == by_window.get(w, 0)
        by_window[w] = by_window.get(w, 0) + len(c["keys"])


def test_timeout_is_a_function_error(trigger, tmp_path):
    t = trigger(Timeout=1)
    dlq = tmp_path / "dlq"
    t.put("slow", sleep=5)
    t.put("fast")
    t.map(BatchSize=1, MaximumRetryAttempts=0, DestinationConfig={"OnFailure": {"Destination": f"file://{dlq}"}})
    t.wait_delivered(["fast"], timeout=30)
    files = wait_for(lambda: _dest_files(dlq), 20)
    assert files[0]["DDBStreamBatchInfo"]["batchSize"] == 1


def test_a_blocked_mapping_does_not_block_another_on_the_same_stream(trigger, make_function):
    t = trigger()
    healthy, healthy_out = make_function(env={"BAD": "null"})   # returns null: never fails
    t.map(BatchSize=1)              # blocked forever on the poison record (infinite retries)
    t.map(healthy, BatchSize=1)
    t.put("poison", poison=True)
    for k in ("x", "y"):
        t.put(k)
    assert t.wait_delivered(["poison", "x", "y"], path=healthy_out) == ["poison", "x", "y"]
    wait_for(lambda: len([c for c in t.calls() if c["keys"] == ["poison"]]) >= 2, 20)
    assert "x" not in t.delivered(), "the blocked mapping stays behind its poison record"


def test_filtered_out_records_never_reach_the_failure_destination(trigger, tmp_path):
    t = trigger()
    dlq = tmp_path / "dlq"
    only_healthy = {"dynamodb": {"NewImage": {"poison": {"BOOL": [False]}}}}
    t.map(FilterCriteria={"Filters": [{"Pattern": json.dumps(only_healthy)}]}, MaximumRetryAttempts=0,
          DestinationConfig={"OnFailure": {"Destination": f"file://{dlq}"}})
    t.put("bad", poison=True)     # would fail, but the filter drops it: never invoked, never discarded
    t.put("good", poison=False)
    assert t.wait_delivered(["good"]) == ["good"]
    assert all("bad" not in c["keys"] for c in t.calls())
    assert _dest_files(dlq) == []


def test_records_stay_readable_on_the_stream_after_a_trigger_consumed_them(trigger, streams):
    from streams.streamutil import read_stream

    t = trigger()
    t.map()
    for k in ("a", "b", "c"):
        t.put(k)
    t.wait_delivered(["a", "b", "c"])
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in read_stream(streams, t.stream_arn)] == ["a", "b", "c"]


def test_filter_operators_and_or_across_filters_end_to_end(trigger):
    """FilterCriteria through the Lambda API: prefix, numeric range, anything-but, equals-ignore-case
    and exists in two filters that are ORed; records matching neither are dropped."""
    t = trigger()
    inserts_in_us = {"eventName": ["INSERT"], "dynamodb": {"NewImage": {
        "region": {"S": [{"prefix": "us-"}]}, "amount": {"N": [{"numeric": [">", 10, "<=", 20]}]}}}}
    done_without_note = {"eventName": [{"anything-but": ["INSERT"]}], "dynamodb": {"NewImage": {
        "status": {"S": [{"equals-ignore-case": "DONE"}]}, "note": {"S": [{"exists": False}]}}}}
    t.map(BatchSize=10, FilterCriteria={"Filters": [{"Pattern": json.dumps(inserts_in_us)},
                                                    {"Pattern": json.dumps(done_without_note)}]})
    t.put("k1", region="us-east", amount=15)      # first filter
    t.put("k2", region="eu-west", amount=15)      # prefix fails
    t.put("k3", region="us-west", amount=25)      # range fails
    t.put("k1", status="done")                    # MODIFY, second filter
    t.put("k2", status="Done", note="x")          # note exists: fails
    t.put("k4", status="done")                    # INSERT: anything-but fails, and no region
    t.put("k5", region="us-", amount=20)          # first filter (20 <= 20)
    t.wait_delivered(["k5"])
    assert t.delivered() == ["k1", "k1", "k5"]
    assert [n for c in t.calls() for n in c["names"]] == ["INSERT", "MODIFY", "INSERT"]


def test_an_update_applies_to_a_batch_already_being_retried(trigger, tmp_path):
    """A shard blocked behind a poison record (infinite retries) moves on once the mapping is updated
    to MaximumRetryAttempts=0 with a failure destination: processing restarts with the new settings."""
    t = trigger()
    dlq = tmp_path / "dlq"
    t.put("poison", poison=True)
    t.put("ok")
    u = t.map(BatchSize=1)
    wait_for(lambda: len([c for c in t.calls() if c["keys"] == ["poison"]]) >= 2, 20)
    t.lam.update_event_source_mapping(UUID=u, MaximumRetryAttempts=0,
                                      DestinationConfig={"OnFailure": {"Destination": f"file://{dlq}"}})
    t.wait_delivered(["ok"])
    [rec] = wait_for(lambda: _dest_files(dlq), 20)
    assert rec["DDBStreamBatchInfo"]["batchSize"] == 1
    assert rec["requestContext"]["condition"] == "RetryAttemptsExhausted"
