"""Embedded triggers: `db.on_change(table, fn, **params)` runs an in-process callable with the
same mapping semantics (batching, batching window, filters, retries, record age, destinations)."""
from __future__ import annotations

import itertools
import json
import os
import threading
import time
from datetime import UTC, datetime

import pytest
from triggers_support import create_stream_table
from util import wait_for

import eddydb


@pytest.fixture
def db(tmp_path):
    d = eddydb.open(str(tmp_path / "data"))
    yield d
    d.close()


@pytest.fixture
def table(db):
    create_stream_table(db.client("dynamodb"), "orders")
    return "orders"


def put(db, key, **attrs):
    item = {"pk": {"S": key}}
    item.update({k: {"N": str(v)} for k, v in attrs.items()})
    db.client("dynamodb").put_item(TableName="orders", Item=item)


def keys_of(batches):
    return [r["dynamodb"]["Keys"]["pk"]["S"] for b in batches for r in b["Records"]]


def test_on_change_delivers_batches_in_order_with_context(db, table):
    batches, contexts = [], []

    def handler(event, context):
        batches.append(event)
        contexts.append(context.function_name)

    uuid = db.on_change(table, handler, batch_size=4)
    for i in range(10):
        put(db, f"k{i}")
    wait_for(lambda: len(keys_of(batches)) == 10, 20)
    assert keys_of(batches) == [f"k{i}" for i in range(10)]
    assert all(len(b["Records"]) <= 4 for b in batches)
    assert all(r["eventSourceARN"].endswith(")") is False and ":table/orders/stream/" in r["eventSourceARN"]
               for b in batches for r in b["Records"])
    assert contexts[0].startswith("on_change-orders")
    mapping = db.instance.mappings.get(uuid)
    assert mapping["BatchSize"] == 4 and mapping["StartingPosition"] == "LATEST"


def test_on_change_accepts_a_one_argument_function(db, table):
    seen = []
    db.on_change(table, lambda event: seen.extend(event["Records"]))
    put(db, "a")
    wait_for(lambda: seen, 20)


def test_on_change_as_a_decorator(db, table):
    seen = []

    @db.on_change(table, batch_size=1)
    def handler(event, context):
        seen.append(event)

    put(db, "a")
    put(db, "b")
    wait_for(lambda: len(seen) == 2, 20)


def test_on_change_filters(db, table):
    seen = []
    db.on_change(table, lambda e, c: seen.extend(e["Records"]),
                 filters=[{"dynamodb": {"NewImage": {"amount": {"N": [{"numeric": [">", 100]}]}}}}])
    put(db, "small", amount=5)
    put(db, "big", amount=500)
    put(db, "last", amount=101)
    wait_for(lambda: len(seen) == 2, 20)
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in seen] == ["big", "last"]


def test_batching_window_waits_to_fill_the_batch(db, table):
    batches = []
    db.on_change(table, lambda e, c: batches.append(e), batch_size=3, batching_window=4)
    t0 = time.monotonic()
    for k in ("a", "b", "c"):
        put(db, k)
    wait_for(lambda: batches, 20)
    assert keys_of(batches) == ["a", "b", "c"] and len(batches) == 1, "a full batch goes at once"
    assert time.monotonic() - t0 < 3.8, "before the batching window ended"
    put(db, "d")
    wait_for(lambda: len(batches) == 2, 20)
    assert keys_of(batches[1:]) == ["d"]


def test_a_lone_record_waits_for_the_batching_window_to_gather_more(db, table):
    batches = []
    db.on_change(table, lambda e, c: batches.append(e), batch_size=2, batching_window=300)
    put(db, "a")
    put(db, "b")   # within the window: joins a's batch, which is then full and goes at once
    wait_for(lambda: batches, 20)
    assert [keys_of([b]) for b in batches] == [["a", "b"]]


def test_handler_exceptions_are_retried_in_order(db, table):
    calls = []

    def flaky(event, context):
        calls.append(keys_of([event]))
        if len(calls) < 3:
            raise RuntimeError("not yet")

    uuid = db.on_change(table, flaky, batch_size=10)
    put(db, "a")
    wait_for(lambda: len(calls) >= 3, 20)
    put(db, "b")
    wait_for(lambda: ["b"] in calls, 20)
    assert calls[:3] == [["a"]] * 3
    wait_for(lambda: db.instance.mappings.get(uuid)["LastProcessingResult"] == "OK", 20)


def _delivered(directory: os.PathLike) -> list[str]:
    """The records a file destination has delivered (not its hidden temporary files: a record is
    written there, then renamed into place)."""
    return sorted(n for n in os.listdir(directory) if n.endswith(".json")) if os.path.isdir(directory) else []


def test_record_age_exceeded_goes_to_the_destination(db, table, tmp_path):
    dlq = tmp_path / "dlq"
    # the mapping's clock runs 2 minutes ahead: every record is older than MaximumRecordAgeInSeconds=60
    db.instance.mappings.clock = lambda: time.time() + 120

    def always_fails(event, context):
        raise RuntimeError("down")

    db.on_change(table, always_fails, max_record_age=60, on_failure=f"file://{dlq}")
    put(db, "old")
    files = wait_for(lambda: _delivered(dlq), 20)
    rec = json.loads((dlq / files[0]).read_text())
    assert rec["requestContext"]["condition"] == "RecordAgeExceeded"
    assert rec["DDBStreamBatchInfo"]["batchSize"] == 1


def test_on_change_requires_a_stream(db):
    from eddydb.model.errors import InvalidParameterValueException

    db.client("dynamodb").create_table(TableName="nostream", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                                       AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                                       BillingMode="PAY_PER_REQUEST")
    with pytest.raises(InvalidParameterValueException):
        db.on_change("nostream", lambda e, c: None)


def test_in_process_mappings_do_not_outlive_the_database(tmp_path):
    path = str(tmp_path / "data")
    with eddydb.open(path) as d:
        create_stream_table(d.client("dynamodb"), "orders", "NEW_IMAGE")
        d.on_change("orders", lambda e, c: None)
        assert d.client("lambda").list_event_source_mappings()["EventSourceMappings"]
    with eddydb.open(path) as d:
        assert d.client("lambda").list_event_source_mappings()["EventSourceMappings"] == []


def test_parallel_lanes_run_concurrently(db, table):
    active, peak = [0], [0]
    lock = threading.Lock()

    def slow(event, context):
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        time.sleep(0.05)
        with lock:
            active[0] -= 1

    db.on_change(table, slow, batch_size=1, parallelization_factor=4, starting_position="TRIM_HORIZON")
    for i in range(40):
        put(db, f"k{i}")
    wait_for(lambda: peak[0] >= 2, 20)


def test_shard_lineage_parents_before_children(tmp_path):
    """Shards roll over every 0.2 s into children: every change arrives once, in order per item."""
    with eddydb.open(str(tmp_path / "data"), shard_rollover=0.2, stream_partitions=2) as d:
        ddb = d.client("dynamodb")
        ddb.create_table(TableName="rolling", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                         AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                         BillingMode="PAY_PER_REQUEST",
                         StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"})
        seen: list[tuple[str, int, str]] = []

        def handler(event, context):
            for r in event["Records"]:
                img = r["dynamodb"]["NewImage"]
                seen.append((img["pk"]["S"], int(img["v"]["N"]), r["dynamodb"]["SequenceNumber"]))

        d.on_change("rolling", handler, batch_size=7, starting_position="TRIM_HORIZON")
        writes = []
        deadline = time.monotonic() + 1.2
        v = 0
        while time.monotonic() < deadline:
            for k in range(4):
                ddb.put_item(TableName="rolling", Item={"pk": {"S": f"k{k}"}, "v": {"N": str(v)}})
                writes.append((f"k{k}", v))
            v += 1
            time.sleep(0.01)
        shards = d.client("dynamodbstreams").describe_stream(
            StreamArn=ddb.describe_table(TableName="rolling")["Table"]["LatestStreamArn"])["StreamDescription"]["Shards"]
        assert len(shards) > 2, "the stream rolled over"
        wait_for(lambda: len(seen) >= len(writes), 30, message=lambda: f"{len(seen)}/{len(writes)} delivered")
        assert sorted((k, v) for k, v, _ in seen) == sorted(writes)
        for key in {k for k, _ in writes}:
            vals = [v for k, v, _ in seen if k == key]
            assert vals == sorted(vals), f"{key} out of order"


def test_final_window_invoke_is_retried_until_it_succeeds(db, table):
    events = []
    failures = {"final": 0}

    def handler(event, context):
        events.append(event)
        if event["isFinalInvokeForWindow"] and failures["final"] < 2:
            failures["final"] += 1
            raise RuntimeError("final invoke fails twice")
        state = dict(event["state"])
        state["n"] = state.get("n", 0) + len(event["Records"])
        return {"state": state}

    db.on_change(table, handler, tumbling_window=1, max_retries=0)
    put(db, "a")
    put(db, "b")
    wait_for(lambda: sum(1 for e in events if e["isFinalInvokeForWindow"]) >= 3, 20)
    finals = [e for e in events if e["isFinalInvokeForWindow"]]
    assert all(f["Records"] == [] for f in finals)
    per_window: dict[str, int] = {}
    for e in events:
        if not e["isFinalInvokeForWindow"]:
            per_window[e["window"]["start"]] = per_window.get(e["window"]["start"], 0) + len(e["Records"])
    for f in finals:
        assert f["state"].get("n", 0) == per_window[f["window"]["start"]], "the final invoke gets the window's state"
    assert keys_of([e for e in events if not e["isFinalInvokeForWindow"]]) == ["a", "b"]


def test_window_state_over_1mb_ends_the_window_early(db, table):
    events = []

    def handler(event, context):
        events.append(event)
        if event["isFinalInvokeForWindow"]:
            return {"state": {}}
        count = event["state"].get("count", 0) + 1
        state = {"count": count}
        if count == 2:
            state["blob"] = "x" * (1024 * 1024 + 10)
        return {"state": state}

    # stay clear of a 60-second window boundary so the three records share one window
    left = 60 - time.time() % 60
    if left < 3:
        time.sleep(left + 0.05)
    db.on_change(table, handler, tumbling_window=60, batch_size=1)
    for k in ("a", "b", "c"):
        put(db, k)
    wait_for(lambda: len([e for e in events if not e["isFinalInvokeForWindow"]]) == 3, 20)
    early = [e for e in events if e["isFinalInvokeForWindow"]]
    assert len(early) == 1 and early[0]["isWindowTerminatedEarly"] is True
    assert early[0]["state"]["count"] == 2
    third = [e for e in events if not e["isFinalInvokeForWindow"]][2]
    assert third["state"] == {}, "a fresh state after the early end"
    assert third["window"] == early[0]["window"]


def test_parallelization_keeps_order_per_partition_key_across_sort_keys(db):
    """ParallelizationFactor: the changes of one partition key stay in order even when they touch
    different items (sort keys): one partition key is one lane."""
    ddb = db.client("dynamodb")
    ddb.create_table(TableName="lines", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                                                   {"AttributeName": "sk", "KeyType": "RANGE"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                           {"AttributeName": "sk", "AttributeType": "S"}],
                     BillingMode="PAY_PER_REQUEST",
                     StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"})
    for i in range(12):
        for pk in ("a", "b"):
            ddb.put_item(TableName="lines", Item={"pk": {"S": pk}, "sk": {"S": f"{i:02d}"}})
    seen: dict[str, list[int]] = {"a": [], "b": []}
    lock = threading.Lock()

    def handler(event):
        for r in event["Records"]:
            keys = r["dynamodb"]["Keys"]
            if int(keys["sk"]["S"]) % 3 == 0:
                time.sleep(0.05)   # slow lanes would let later changes of the same partition key overtake
            with lock:
                seen[keys["pk"]["S"]].append(int(r["dynamodb"]["SequenceNumber"]))

    db.on_change("lines", handler, batch_size=1, parallelization_factor=10, starting_position="TRIM_HORIZON")
    wait_for(lambda: len(seen["a"]) + len(seen["b"]) == 24, 20)
    for pk, seqs in seen.items():
        assert seqs == sorted(seqs), f"partition key {pk} out of order"


def test_window_response_without_state_is_a_failed_invocation(db, table):
    """Tumbling windows: "your function response must contain a state property. If the response
    does not contain a state property, Lambda considers this a failed invocation" (retried)."""
    calls = []

    def handler(event, context):
        if event["isFinalInvokeForWindow"]:
            return {"state": event["state"]}
        calls.append(event)
        if len(calls) == 1:
            return {"batchItemFailures": []}   # no state
        return {"state": {"n": len(event["Records"])}}

    db.on_change(table, handler, tumbling_window=300, starting_position="TRIM_HORIZON")
    put(db, "a")
    wait_for(lambda: len(calls) >= 2, 20)
    assert keys_of(calls[:2]) == ["a", "a"], "the batch is retried"
    assert calls[1]["state"] == {}


def test_a_batch_holds_records_of_one_shard(tmp_path):
    from streams.streamutil import all_shards, read_shard

    with eddydb.open(str(tmp_path / "data"), stream_partitions=4) as d:
        ddb, streams = d.client("dynamodb"), d.client("dynamodbstreams")
        arn = create_stream_table(ddb, "parts", "KEYS_ONLY")
        for i in range(40):
            ddb.put_item(TableName="parts", Item={"pk": {"S": f"k{i}"}})
        batches: list[list[str]] = []
        d.on_change("parts", lambda event: batches.append([r["dynamodb"]["SequenceNumber"] for r in event["Records"]]),
                    batch_size=100, starting_position="TRIM_HORIZON")
        wait_for(lambda: sum(len(b) for b in batches) == 40, 20)
        shard_of = {r["dynamodb"]["SequenceNumber"]: s["ShardId"]
                    for s in all_shards(streams, arn) for r in read_shard(streams, arn, s["ShardId"])}
        assert len(set(shard_of.values())) > 1
        for b in batches:
            assert len({shard_of[seq] for seq in b}) == 1


def test_tumbling_windows_are_aligned_on_the_records_arrival_times(db, table):
    events = []

    def handler(event, context):
        events.append(event)
        return {"state": {}}

    db.on_change(table, handler, tumbling_window=2, starting_position="TRIM_HORIZON")
    for k in ("a", "b", "c"):
        put(db, k)
    wait_for(lambda: len(keys_of([e for e in events if not e["isFinalInvokeForWindow"]])) == 3, 20)

    def epoch(text):
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()

    for e in events:
        start, end = epoch(e["window"]["start"]), epoch(e["window"]["end"])
        assert start % 2 == 0 and end - start == 2
        for r in e["Records"]:
            assert start <= r["dynamodb"]["ApproximateCreationDateTime"] < end


def test_records_past_the_stream_retention_end_their_retries_at_the_destination(tmp_path):
    """With infinite retries and no MaximumRecordAgeInSeconds a failing batch is "retried until the
    records expire": past the stream's retention it is discarded to the failure destination."""
    dlq = tmp_path / "dlq"
    with eddydb.open(str(tmp_path / "data"), stream_retention=60) as d:
        create_stream_table(d.client("dynamodb"), "orders")
        # the mapping's clock runs 2 minutes ahead: every record is past the 60-second retention
        d.instance.mappings.clock = lambda: time.time() + 120

        def always_fails(event, context):
            raise RuntimeError("down")

        d.on_change("orders", always_fails, on_failure=f"file://{dlq}")
        put(d, "expired")
        files = wait_for(lambda: _delivered(dlq), 20)
        rec = json.loads((dlq / files[0]).read_text())
        assert rec["requestContext"]["condition"] == "RecordAgeExceeded"
        assert rec["DDBStreamBatchInfo"]["batchSize"] == 1


def test_a_shard_processor_that_keeps_failing_is_restarted_at_most_once_a_second(db, table, monkeypatch):
    """An unexpected error in the shard processor itself (not in the function) ends it and the coordinator
    starts another; each failed one pauses first, so a failure that repeats is not a busy restart loop."""
    from eddydb.triggers import processor as P

    runs: list[float] = []

    def broken(self):
        runs.append(time.monotonic())
        raise RuntimeError("processor bug")

    monkeypatch.setattr(P, "_RESTART_PAUSE", 0.5)
    monkeypatch.setattr(P.ShardProcessor, "_process", broken)
    db.on_change(table, lambda event, context: None)
    put(db, "a")
    wait_for(lambda: len(runs) >= 3, 20)
    gaps = [b - a for a, b in itertools.pairwise(runs)]
    assert min(gaps) >= 0.45, gaps   # each restart waited for the pause (without it: microseconds apart)


def test_on_change_refuses_an_unknown_keyword(db, table):
    """A misspelt parameter (batchsize= for batch_size=) is an error, not a mapping with defaults."""
    with pytest.raises(TypeError, match="batchsize"):
        db.on_change(table, lambda event, context: None, batchsize=5)
    db.on_change(table, lambda event, context: None, BatchSize=5, timeout=30)   # AWS names and timeout are fine
