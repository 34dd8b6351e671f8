"""Unit tests of the failure rules (triggers/retries.py) and batching (triggers/batching.py):
retry counting, record age, bisect, partial failures and response parsing, with a scripted
function and no server."""
from __future__ import annotations

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from eddydb.triggers.batching import Rec, chunks, lanes, sequence_string
from eddydb.triggers.retries import Attempt, Delivery, Stopped, parse_response


def recs(n: int, created: float = 1000.0, key=lambda i: f"k{i}") -> list[Rec]:
    out = []
    for i in range(n):
        event = {"eventName": "INSERT", "dynamodb": {"Keys": {"pk": {"S": key(i)}},
                                                     "SequenceNumber": sequence_string(i + 1)}}
        out.append(Rec(i + 1, created + i, event, 100))
    return out


class Script:
    """A fake function: `fail(batch_keys) -> Attempt | None` decides each call."""

    def __init__(self, decide):
        self.decide = decide
        self.calls: list[list[int]] = []
        self.discards: list[tuple[list[int], str, int]] = []
        self.discarded_after: list[Attempt | None] = []   # the last attempt each discard names
        self.progress: list[int] = []

    def delivery(self, **kw) -> Delivery:
        params = {"batch_size": 100, "max_retries": -1, "max_age": -1, "bisect": False}
        params.update(kw)
        clock = params.pop("clock", lambda: 1000.0)
        return Delivery(invoke=self.invoke, discard=self.discard, progress=self.progress.append,
                        stopped=lambda: False, wait=lambda s: None, clock=clock, **params)

    def invoke(self, batch):
        self.calls.append([r.seq for r in batch])
        return self.decide(batch) or Attempt("ok")

    def discard(self, batch, condition, count, att):
        self.discards.append(([r.seq for r in batch], condition, count))
        self.discarded_after.append(att)


def test_success_moves_progress_to_the_last_record():
    s = Script(lambda b: None)
    s.delivery().run(recs(3))
    assert s.calls == [[1, 2, 3]]
    assert s.progress == [3]


def test_max_retries_counts_retries_after_the_first_attempt():
    s = Script(lambda b: Attempt("error", function_error="Unhandled"))
    s.delivery(max_retries=2).run(recs(2))
    assert s.calls == [[1, 2]] * 3
    assert s.discards == [([1, 2], "RetryAttemptsExhausted", 3)]
    assert s.progress == [2]


def test_bisect_is_not_a_retry_and_isolates_the_poison():
    s = Script(lambda b: Attempt("error") if any(r.seq == 3 for r in b) else None)
    s.delivery(max_retries=0, bisect=True).run(recs(4))
    assert s.calls == [[1, 2, 3, 4], [1, 2], [3, 4], [3], [4]]
    assert s.discards == [([3], "RetryAttemptsExhausted", 1)]
    assert s.progress == [2, 3, 4]


def test_partial_failure_retries_from_the_lowest_failed_record():
    tries = {"n": 0}

    def decide(b):
        if b[0].seq == 1:
            return Attempt("partial", index=2)
        tries["n"] += 1
        return None

    s = Script(decide)
    s.delivery().run(recs(4))
    assert s.calls == [[1, 2, 3, 4], [3, 4]]
    assert s.progress == [2, 4]


def test_record_age_discards_old_records_before_invoking():
    s = Script(lambda b: Attempt("error"))
    s.delivery(max_age=60, max_retries=0, clock=lambda: 1000.0 + 61.5).run(recs(3))
    # records created at 1000, 1001, 1002: the first is 61.5 s old, the second 60.5 s, the third 59.5 s
    assert s.discards == [([1, 2], "RecordAgeExceeded", 0), ([3], "RetryAttemptsExhausted", 1)]
    assert s.calls == [[3]]


def test_a_throttle_is_not_a_retry_and_does_not_bisect():
    outcomes = iter([Attempt("throttled"), Attempt("throttled"), Attempt("throttled")])
    s = Script(lambda b: next(outcomes, None))
    s.delivery(max_retries=0, bisect=True).run(recs(2))
    assert s.calls == [[1, 2]] * 4
    assert s.discards == []
    assert s.progress == [2]


def test_a_throttled_batch_waits_until_its_records_pass_the_maximum_age():
    now = {"t": 1000.0}

    def decide(b):
        now["t"] += 30.0
        return Attempt("throttled")

    s = Script(decide)
    s.delivery(max_age=60, max_retries=0, clock=lambda: now["t"]).run(recs(1))
    assert s.calls == [[1]] * 3   # at ages 0, 30 and 60 s; discarded at 90 s
    assert s.discards == [([1], "RecordAgeExceeded", 0)]


def test_a_discard_by_record_age_names_the_last_failed_invocation():
    now = {"t": 1000.0}

    def decide(b):
        now["t"] += 40.0
        return Attempt("error", function_error="Unhandled", request_id=f"request-{len(s.calls)}")

    s = Script(decide)
    s.delivery(max_age=60, clock=lambda: now["t"]).run(recs(1))
    # invoked at ages 0 and 40 s, discarded at 80 s
    assert s.discards == [([1], "RecordAgeExceeded", 2)]
    assert s.discarded_after[0] is not None and s.discarded_after[0].request_id == "request-2"


def test_stopped_raises():
    d = Delivery(batch_size=10, max_retries=-1, max_age=-1, bisect=False, invoke=lambda b: Attempt("ok"),
                 discard=lambda *a: None, progress=lambda s: None, stopped=lambda: True, wait=lambda s: None,
                 clock=lambda: 0.0)
    with pytest.raises(Stopped):
        d.run(recs(1))


@pytest.mark.parametrize("payload, status", [
    (b"", "ok"),
    (b"null", "ok"),
    (b"{}", "ok"),
    (b'{"batchItemFailures": null}', "ok"),
    (b'{"batchItemFailures": []}', "ok"),
    (b'{"batchItemFailures": [{"itemIdentifier": ""}]}', "error"),
    (b'{"batchItemFailures": [{"itemIdentifier": null}]}', "error"),
    (b'{"batchItemFailures": [{}]}', "error"),
    (b'{"batchItemFailures": "x"}', "error"),
    (b'{"batchItemFailures": [{"itemIdentifier": "999"}]}', "error"),
    (b'"just a string"', "error"),
    (b"not json", "error"),
])
def test_parse_response_with_report_batch_item_failures(payload, status):
    assert parse_response(payload, recs(3), True).status == status


def test_parse_response_finds_the_lowest_failed_record():
    rs = recs(4)
    body = orjson.dumps({"batchItemFailures": [{"itemIdentifier": rs[3].sequence_number},
                                               {"itemIdentifier": rs[1].sequence_number}]})
    att = parse_response(body, rs, True)
    assert att.status == "partial" and att.index == 1


def test_parse_response_ignored_without_the_feature():
    assert parse_response(b'{"batchItemFailures": [{"itemIdentifier": ""}]}', recs(2), False).status == "ok"


@given(st.lists(st.integers(1, 3000), min_size=1, max_size=50), st.integers(1, 10))
def test_chunks_respect_count_and_bytes(sizes, batch_size):
    rs = [Rec(i, 0.0, {}, s) for i, s in enumerate(sizes)]
    out = chunks(rs, batch_size, max_bytes=5000)
    assert [r for c in out for r in c] == rs
    for c in out:
        assert len(c) <= batch_size
        assert len(c) == 1 or sum(r.size for r in c) <= 5000


@given(st.lists(st.integers(0, 5), min_size=1, max_size=40), st.integers(1, 10))
def test_lanes_keep_each_key_in_one_lane_in_order(keys, n):
    rs = recs(len(keys), key=lambda i: f"k{keys[i]}")
    parts = lanes(rs, n)
    assert sorted(r.seq for p in parts for r in p) == [r.seq for r in rs]
    owner = {}
    for i, p in enumerate(parts):
        assert [r.seq for r in p] == sorted(r.seq for r in p)
        for r in p:
            k = r.event["dynamodb"]["Keys"]["pk"]["S"]
            assert owner.setdefault(k, i) == i


@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 5)), min_size=1, max_size=40), st.integers(2, 10))
def test_lanes_keep_each_partition_key_in_one_lane_whatever_its_sort_keys(keys, n):
    rs = recs(len(keys))
    for r, (pk, sk) in zip(rs, keys):
        r.event["dynamodb"]["Keys"] = {"pk": {"S": f"p{pk}"}, "sk": {"N": str(sk)}}
    owner = {}
    for i, lane in enumerate(lanes(rs, n, "pk")):
        assert [r.seq for r in lane] == sorted(r.seq for r in lane)
        for r in lane:
            assert owner.setdefault(r.event["dynamodb"]["Keys"]["pk"]["S"], i) == i
