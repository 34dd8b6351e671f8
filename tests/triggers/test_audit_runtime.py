"""Audit of how stream triggers run a function, against Lambda's documented event-source-mapping
behaviour for DynamoDB streams (reference part B): shard lineage under failures, retries and
ReportBatchItemFailures with ParallelizationFactor, tumbling windows across disable/enable and
partial failures, and a mapping deleted or disabled while a batch is being retried.
Through the embedded API (`db.on_change`, in-process functions) so clocks and outcomes are
deterministic; every wait has a deadline."""
from __future__ import annotations

import asyncio
import json
import os
import threading
import time
from typing import Any

import pytest
from triggers_support import create_stream_table
from util import wait_for

import eddydb
from eddydb.model.errors import LambdaResourceNotFoundException


@pytest.fixture
def db(tmp_path: Any) -> Any:
    d = eddydb.open(str(tmp_path / "data"))
    yield d
    d.close()


@pytest.fixture
def table(db: Any) -> str:
    create_stream_table(db.client("dynamodb"), "orders")
    return "orders"


def put(db: Any, key: str, table: str = "orders", **attrs: Any) -> None:
    item: dict[str, Any] = {"pk": {"S": key}}
    item.update({k: {"N": str(v)} for k, v in attrs.items()})
    db.client("dynamodb").put_item(TableName=table, Item=item)


def keys(event: dict[str, Any]) -> list[str]:
    return [r["dynamodb"]["Keys"]["pk"]["S"] for r in event["Records"]]


def dest_files(d: Any) -> list[dict[str, Any]]:
    if not os.path.isdir(d):
        return []
    return [json.load(open(os.path.join(d, n))) for n in sorted(os.listdir(d)) if n.endswith(".json")]


def seq(event: dict[str, Any], i: int) -> str:
    return event["Records"][i]["dynamodb"]["SequenceNumber"]


# --- shard lineage -------------------------------------------------------------------------------
def test_a_child_shard_waits_while_its_parent_is_blocked_on_a_failing_batch(tmp_path):
    """A consumer reads a parent shard to its end before its children: a batch retried in the
    parent keeps every later change of the item (now in child shards) waiting behind it."""
    with eddydb.open(str(tmp_path / "data"), shard_rollover=0.2, stream_partitions=1) as d:
        ddb = d.client("dynamodb")
        create_stream_table(ddb, "rolling", "NEW_IMAGE")
        failing = threading.Event()
        failing.set()
        ok: list[int] = []
        attempts: list[list[int]] = []

        def handler(event: Any, context: Any) -> None:
            vals = [int(r["dynamodb"]["NewImage"]["v"]["N"]) for r in event["Records"]]
            attempts.append(vals)
            if 0 in vals and failing.is_set():
                raise RuntimeError("v0 fails until released")
            ok.extend(vals)

        d.on_change("rolling", handler, batch_size=3, starting_position="TRIM_HORIZON")
        ddb.put_item(TableName="rolling", Item={"pk": {"S": "k"}, "v": {"N": "0"}})
        wait_for(lambda: len(attempts) >= 2, 20)
        arn = ddb.describe_table(TableName="rolling")["Table"]["LatestStreamArn"]
        streams = d.client("dynamodbstreams")
        v = 1
        deadline = time.monotonic() + 20
        # keep writing until the item's changes span several shards of the lineage
        while len(streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]) < 4:
            assert time.monotonic() < deadline, "the stream rolled over"
            ddb.put_item(TableName="rolling", Item={"pk": {"S": "k"}, "v": {"N": str(v)}})
            v += 1
            time.sleep(0.05)
        time.sleep(0.3)   # give a wrongly started child shard time to show up (checked below)
        assert ok == [], "nothing after the blocked batch, even in child shards"
        assert all(0 in a for a in attempts), attempts
        failing.clear()
        wait_for(lambda: len(ok) >= v, 30, message=lambda: f"{ok} of {v}")
        assert ok == list(range(v)), "every change once, in order, across the lineage"


# --- a mapping stopped while a batch is being retried ---------------------------------------------
def test_a_mapping_deleted_mid_retry_discards_nothing_and_invokes_no_more(db, table, tmp_path):
    dlq = tmp_path / "dlq"
    calls: list[list[str]] = []

    def fails(event: Any, context: Any) -> None:
        calls.append(keys(event))
        raise RuntimeError("down")

    u = db.on_change(table, fails, on_failure=f"file://{dlq}", max_retries=-1)
    put(db, "a")
    wait_for(lambda: len(calls) >= 3, 20)
    db.instance.mappings.delete(u)

    def gone() -> bool:
        try:
            db.instance.mappings.get(u)
        except LambdaResourceNotFoundException:
            return True
        return False

    wait_for(gone, 20)
    n = len(calls)
    put(db, "b")
    time.sleep(0.5)   # a stopped mapping would have invoked again within a backoff step
    assert len(calls) == n and all(c == ["a"] for c in calls)
    assert dest_files(dlq) == [], "records of a deleted mapping are not 'discarded' to its destination"


def test_re_enabling_a_mapping_retries_the_same_batch_from_its_checkpoint(db, table, tmp_path):
    """Disabling keeps the position of a mapping blocked on a partial failure: after enabling,
    the retry starts at the lowest failed record, the records before it are not redelivered."""
    calls: list[list[str]] = []
    healthy = threading.Event()

    def handler(event: Any, context: Any) -> dict[str, Any]:
        calls.append(keys(event))
        if healthy.is_set():
            return {"batchItemFailures": []}
        i = keys(event).index("c") if "c" in keys(event) else None
        return {"batchItemFailures": [] if i is None else [{"itemIdentifier": seq(event, i)}]}

    u = db.on_change(table, handler, batch_size=4, report_batch_item_failures=True, enabled=False,
                     starting_position="TRIM_HORIZON")
    for k in ("a", "b", "c", "d"):
        put(db, k)
    m = db.instance.mappings
    m.update(u, {"Enabled": True})
    wait_for(lambda: len(calls) >= 3, 20)
    m.update(u, {"Enabled": False})
    wait_for(lambda: m.get(u)["State"] == "Disabled", 20)
    n = len(calls)
    healthy.set()
    m.update(u, {"Enabled": True})
    wait_for(lambda: len(calls) > n, 20)
    assert calls[0] == ["a", "b", "c", "d"]
    assert all(c == ["c", "d"] for c in calls[1:]), calls


# --- ReportBatchItemFailures ----------------------------------------------------------------------
def test_unordered_and_repeated_failures_retry_from_the_lowest_sequence_number(db, table):
    calls: list[list[str]] = []

    def handler(event: Any, context: Any) -> dict[str, Any]:
        calls.append(keys(event))
        if len(calls) == 1:
            ids = [seq(event, 4), seq(event, 2), seq(event, 4), seq(event, 3)]
            return {"batchItemFailures": [{"itemIdentifier": i} for i in ids]}
        return {"batchItemFailures": []}

    u = db.on_change(table, handler, batch_size=5, report_batch_item_failures=True, enabled=False,
                     starting_position="TRIM_HORIZON")
    for k in "abcde":
        put(db, k)
    db.instance.mappings.update(u, {"Enabled": True})
    wait_for(lambda: len(calls) >= 2, 20)
    time.sleep(0.2)
    assert calls == [list("abcde"), list("cde")]


def test_partial_failures_with_parallelization_redeliver_only_the_failed_lane(db, table):
    """ParallelizationFactor with ReportBatchItemFailures: a batch of one lane retried from its
    failed record; the records of other partition keys are delivered once, each key in order."""
    ok: list[str] = []
    failed_once: set[str] = set()
    lock = threading.Lock()

    def handler(event: Any, context: Any) -> dict[str, Any]:
        for i, r in enumerate(event["Records"]):
            k = r["dynamodb"]["Keys"]["pk"]["S"]
            v = r["dynamodb"]["NewImage"]["v"]["N"]
            if k == "k1" and v == "2" and "k1" not in failed_once:
                failed_once.add("k1")
                return {"batchItemFailures": [{"itemIdentifier": seq(event, i)}]}
            with lock:
                ok.append(f"{k}:{v}")
        return {"batchItemFailures": []}

    for v in range(5):
        for k in ("k0", "k1", "k2", "k3"):
            put(db, k, v=v)
    db.on_change(table, handler, batch_size=10, parallelization_factor=4, report_batch_item_failures=True,
                 starting_position="TRIM_HORIZON")
    wait_for(lambda: len(ok) >= 20, 20, message=lambda: f"{ok}")
    time.sleep(0.2)
    assert sorted(ok) == sorted(f"{k}:{v}" for v in range(5) for k in ("k0", "k1", "k2", "k3")), ok
    for k in ("k0", "k1", "k2", "k3"):
        assert [x for x in ok if x.startswith(k)] == [f"{k}:{v}" for v in range(5)]


# --- tumbling windows ----------------------------------------------------------------------------
def _window_at_least(seconds: float, size: int) -> None:
    left = size - time.time() % size
    if left < seconds:
        time.sleep(left + 0.05)


def test_a_partial_failure_in_a_window_retries_the_rest_before_the_final_invoke(db, table):
    _window_at_least(5, 30)
    events: list[dict[str, Any]] = []

    def handler(event: Any, context: Any) -> dict[str, Any]:
        events.append(event)
        state = dict(event["state"])
        if event["isFinalInvokeForWindow"]:
            return {"state": state}
        if len(events) == 1:
            return {"state": state, "batchItemFailures": [{"itemIdentifier": seq(event, 1)}]}
        state["n"] = state.get("n", 0) + len(event["Records"])
        return {"state": state, "batchItemFailures": []}

    u = db.on_change(table, handler, batch_size=3, tumbling_window=30, report_batch_item_failures=True,
                     enabled=False, starting_position="TRIM_HORIZON")
    for k in ("a", "b", "c"):
        put(db, k)
    db.instance.mappings.update(u, {"Enabled": True})
    wait_for(lambda: len(events) >= 2, 20)
    assert [keys(e) for e in events[:2]] == [["a", "b", "c"], ["b", "c"]]
    assert events[0]["window"] == events[1]["window"]
    assert not any(e["isFinalInvokeForWindow"] for e in events[:2])


def test_a_window_that_ended_while_disabled_gets_its_final_invoke_with_its_state(db, table):
    """The window state is kept with the checkpoint: a mapping disabled mid-window and enabled after
    the window's end still ends that window (final invoke with the state it had reached)."""
    clock = {"ahead": 0.0}
    db.instance.mappings.clock = lambda: time.time() + clock["ahead"]
    _window_at_least(5, 60)
    events: list[dict[str, Any]] = []

    def handler(event: Any, context: Any) -> dict[str, Any]:
        events.append(event)
        state = dict(event["state"])
        state["n"] = state.get("n", 0) + len(event["Records"])
        return {"state": state}

    u = db.on_change(table, handler, tumbling_window=60)
    put(db, "a")
    wait_for(lambda: len(events) >= 1, 20)
    m = db.instance.mappings
    m.update(u, {"Enabled": False})
    wait_for(lambda: m.get(u)["State"] == "Disabled", 20)
    assert not any(e["isFinalInvokeForWindow"] for e in events)
    clock["ahead"] = 61.0
    m.update(u, {"Enabled": True})
    final = wait_for(lambda: [e for e in events if e["isFinalInvokeForWindow"]], 20)
    assert final[0]["window"] == events[0]["window"]
    assert final[0]["state"] == {"n": 1} and final[0]["Records"] == []


# --- batching -------------------------------------------------------------------------------------
@pytest.mark.parametrize("factor", [1, 2, 10])
def test_a_full_batch_goes_before_the_batching_window_ends_whatever_the_parallelization(db, table, factor):
    """A batch goes when BatchSize is reached: with ParallelizationFactor each concurrent batch is
    one, so two changes of one item fill a BatchSize-2 batch at once (it waited out the 60 s window)."""
    got: list[list[str]] = []

    def handler(event: Any, context: Any) -> None:
        got.append([r["dynamodb"]["NewImage"]["v"]["N"] for r in event["Records"]])

    db.on_change(table, handler, batch_size=2, parallelization_factor=factor, batching_window=60)
    put(db, "k", v=0)
    put(db, "k", v=1)
    wait_for(lambda: got, 20, message="a full batch delivered before its 60-second batching window ended")
    assert got == [["0", "1"]]


def test_a_full_windowed_batch_goes_before_the_batching_window_ends(db, table):
    _window_at_least(5, 300)
    got: list[list[str]] = []

    def handler(event: Any, context: Any) -> dict[str, Any]:
        if not event["isFinalInvokeForWindow"]:
            got.append(keys(event))
        return {"state": {}}

    db.on_change(table, handler, batch_size=2, parallelization_factor=4, batching_window=60, tumbling_window=300)
    put(db, "a")
    put(db, "b")
    wait_for(lambda: got, 20, message="a full batch delivered before its 60-second batching window ended")
    assert got == [["a", "b"]]


def test_a_batch_payload_at_the_6_mb_boundary_stays_within_6_mb(tmp_path):
    """The 6 MB cap is on the whole invocation payload `{"Records": [...]}`, not only the records:
    records summing to the limit exactly (with their separators) do not go in one batch."""
    limit = 6 * 1024 * 1024
    with eddydb.open(str(tmp_path / "data")) as d:
        ddb = d.client("dynamodb")
        create_stream_table(ddb, "big", "NEW_IMAGE")
        sizes: list[int] = []
        batches: list[tuple[int, list[str]]] = []

        def probe(event: Any, context: Any) -> None:
            sizes.extend(len(json.dumps(r, separators=(",", ":"))) for r in event["Records"])

        u = d.on_change("big", probe, starting_position="TRIM_HORIZON")
        ddb.put_item(TableName="big", Item={"pk": {"S": "k99"}, "blob": {"S": "x" * 300_000}})
        wait_for(lambda: sizes, 20)
        overhead = sizes[0] - 300_000   # every record differs only by its blob (fixed-width fields)
        d.instance.mappings.delete(u)

        def record(event: Any, context: Any) -> None:
            batches.append((len(json.dumps(event, separators=(",", ":"))), keys(event)))

        d.on_change("big", record, batch_size=100, batching_window=30)
        n = 16
        # the records with one comma each sum to the limit: {"Records":[ + records + ]} is 13 bytes over
        total = limit - n
        blobs = [total // n - overhead] * n
        blobs[-1] += total - sum(b + overhead for b in blobs)
        for i, b in enumerate(blobs):
            ddb.put_item(TableName="big", Item={"pk": {"S": f"k{i:02d}"}, "blob": {"S": "x" * b}})
        wait_for(lambda: sum(len(k) for _, k in batches) >= n, 60, message=lambda: f"{batches}")
        assert [k for _, ks in batches for k in ks] == [f"k{i:02d}" for i in range(n)]
        assert all(size <= limit for size, _ in batches), [size for size, _ in batches]


# --- the OnFailure record ------------------------------------------------------------------------
def test_a_record_age_discard_sends_the_whole_invocation_record(db, table, tmp_path):
    """RecordAgeExceeded: the same invocation record as an exhausted batch, naming the last
    invocation (its request id and count) and the discarded records of the shard."""
    dlq = tmp_path / "dlq"
    ahead = {"s": 0.0}
    db.instance.mappings.clock = lambda: time.time() + ahead["s"]
    calls: list[tuple[str, list[str], list[float]]] = []

    def fails(event: Any, context: Any) -> None:
        calls.append((context.aws_request_id, [r["dynamodb"]["SequenceNumber"] for r in event["Records"]],
                      [r["dynamodb"]["ApproximateCreationDateTime"] for r in event["Records"]]))
        raise RuntimeError("down")

    u = db.on_change(table, fails, batch_size=2, max_record_age=60, on_failure=f"file://{dlq}", enabled=False,
                     starting_position="TRIM_HORIZON")
    put(db, "a")
    put(db, "b")
    db.instance.mappings.update(u, {"Enabled": True})
    wait_for(lambda: len(calls) >= 2, 20)
    ahead["s"] = 61.0
    [rec] = wait_for(lambda: dest_files(dlq), 20)
    mapping = db.instance.mappings.get(u)
    shard = db.client("dynamodbstreams").describe_stream(
        StreamArn=mapping["EventSourceArn"])["StreamDescription"]["Shards"][0]["ShardId"]
    rid, seqs, arrivals = calls[-1]
    assert rec["requestContext"] == {"requestId": rid, "functionArn": mapping["FunctionArn"],
                                     "condition": "RecordAgeExceeded", "approximateInvokeCount": len(calls)}
    assert rec["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"}
    assert rec["version"] == "1.0"
    iso = "%Y-%m-%dT%H:%M:%SZ"
    assert rec["DDBStreamBatchInfo"] == {
        "shardId": shard, "startSequenceNumber": seqs[0], "endSequenceNumber": seqs[1],
        "approximateArrivalOfFirstRecord": time.strftime(iso, time.gmtime(arrivals[0])),
        "approximateArrivalOfLastRecord": time.strftime(iso, time.gmtime(arrivals[1])),
        "batchSize": 2, "streamArn": mapping["EventSourceArn"]}
    assert all(c[1] == seqs for c in calls)


# --- the function ---------------------------------------------------------------------------------
@pytest.mark.parametrize("exit_with", [SystemExit(None), SystemExit(3), asyncio.CancelledError()])
def test_sys_exit_in_an_in_process_handler_is_a_function_error_that_uses_the_retries(db, table, tmp_path,
                                                                                     exit_with):
    """sys.exit() (or any BaseException) ends AWS's runtime mid-invocation: a Runtime.ExitError
    function error, counted against MaximumRetryAttempts (it escaped the processor thread, which
    restarted and invoked the batch again without end, never reaching the destination)."""
    dlq = tmp_path / "dlq"
    calls: list[list[str]] = []

    def exits(event: Any, context: Any) -> None:
        calls.append(keys(event))
        if keys(event) == ["bad"]:
            raise exit_with

    db.on_change(table, exits, batch_size=1, max_retries=1, on_failure=f"file://{dlq}")
    put(db, "bad")
    put(db, "good")
    [rec] = wait_for(lambda: dest_files(dlq), 20, message=lambda: f"{len(calls)} calls")
    wait_for(lambda: ["good"] in calls, 20)
    assert calls == [["bad"], ["bad"], ["good"]]
    assert rec["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert rec["requestContext"]["approximateInvokeCount"] == 2
    assert rec["responseContext"]["functionError"] == "Unhandled"


def test_every_discarded_batch_reaches_a_destination_table_keyed_by_a_number(db, table):
    """A table destination keyed by a number gets one item per discarded batch: batches discarded
    in the same millisecond overwrote each other (the key was the time in milliseconds)."""
    ddb = db.client("dynamodb")
    arn = ddb.create_table(TableName="failures", KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                           AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "N"}],
                           BillingMode="PAY_PER_REQUEST")["TableDescription"]["TableArn"]

    def fails(event: Any, context: Any) -> None:
        raise RuntimeError("down")

    u = db.on_change(table, fails, batch_size=1, max_retries=0, on_failure=arn, enabled=False,
                     starting_position="TRIM_HORIZON")
    for i in range(40):
        put(db, f"k{i:02d}")
    db.instance.mappings.update(u, {"Enabled": True})

    def stored() -> list[dict[str, Any]]:
        items = ddb.scan(TableName="failures", ConsistentRead=True)["Items"]
        return items if len(items) >= 40 else []

    items = wait_for(stored, 30, message=lambda: f"{ddb.scan(TableName='failures')['Count']} of 40 stored")
    assert len(items) == 40
    starts = sorted(x["DDBStreamBatchInfo"]["M"]["startSequenceNumber"]["S"] for x in items)
    assert len(set(starts)) == 40
    assert all(x["requestContext"]["M"]["condition"]["S"] == "RetryAttemptsExhausted" for x in items)


def test_bisect_with_parallelization_isolates_the_poison_in_its_lane_only(db, table, tmp_path):
    """ParallelizationFactor with BisectBatchOnFunctionError: the failing lane's batch is split down
    to the poison record, discarded after its retries; every other record is delivered exactly once,
    each item key in order."""
    dlq = tmp_path / "dlq"
    ok: list[str] = []
    lock = threading.Lock()

    def handler(event: Any, context: Any) -> None:
        vals = [f"{r['dynamodb']['Keys']['pk']['S']}:{r['dynamodb']['NewImage']['v']['N']}" for r in event["Records"]]
        if "k1:2" in vals:
            raise RuntimeError("poison")
        with lock:
            ok.extend(vals)

    u = db.on_change(table, handler, batch_size=10, parallelization_factor=3, bisect=True, max_retries=1,
                     on_failure=f"file://{dlq}", enabled=False, starting_position="TRIM_HORIZON")
    for v in range(5):
        for k in ("k0", "k1", "k2", "k3"):
            put(db, k, v=v)
    db.instance.mappings.update(u, {"Enabled": True})
    [rec] = wait_for(lambda: dest_files(dlq), 20)
    wait_for(lambda: len(ok) >= 19, 20, message=lambda: f"{ok}")
    expected = [f"{k}:{v}" for v in range(5) for k in ("k0", "k1", "k2", "k3") if (k, v) != ("k1", 2)]
    assert sorted(ok) == sorted(expected)
    for k in ("k0", "k1", "k2", "k3"):
        assert [x for x in ok if x.startswith(k)] == [x for x in expected if x.startswith(k)]
    assert rec["DDBStreamBatchInfo"]["batchSize"] == 1
    assert rec["requestContext"]["approximateInvokeCount"] == 2


def test_a_full_batch_with_parallelization_goes_at_once_through_the_lambda_api(trigger):
    """The same through boto3 against the server, with a worker-process function."""
    t = trigger()
    u = t.map(StartingPosition="LATEST", BatchSize=2, ParallelizationFactor=2, MaximumBatchingWindowInSeconds=60)
    t.wait_state(u, "Enabled")
    t.put("k", v=0)
    t.put("k", v=1)
    t.wait_delivered(["k"], timeout=20)
    assert [(c["keys"], c["vals"]) for c in t.calls()] == [(["k", "k"], [0, 1])]
