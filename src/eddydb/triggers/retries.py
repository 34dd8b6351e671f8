"""Delivering records to a function with Lambda's failure rules for stream sources: the whole batch
is retried, blocking the shard in order; MaximumRetryAttempts and MaximumRecordAgeInSeconds end
retries (the batch is discarded to the failure destination), throttles are retried without
counting; BisectBatchOnFunctionError splits a failing batch in two (not counted as a retry);
ReportBatchItemFailures moves past the records before the lowest failed sequence number. Used by
`triggers.processor`, which supplies how to invoke, how to discard and how to checkpoint progress.
"""
from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from eddydb.triggers.batching import Rec

__all__ = ["Attempt", "Delivery", "NotInvoked", "Stopped", "Throttled", "backoff_delay", "parse_response"]


class Stopped(Exception):
    """The processor is stopping (disabled, updated, deleted, lease lost, shutdown)."""


class NotInvoked(Exception):
    """The batch did not reach the function: a throttle or a service error such as a function that
    no longer exists. Lambda retries it "until the records expire or exceed the maximum age",
    without counting a retry or bisecting."""


class Throttled(NotInvoked):
    """The invocation was refused by the function's concurrency limit (TooManyRequestsException)."""


@dataclass
class Attempt:
    """The outcome of one invocation."""

    status: str                     # "ok" | "partial" | "error" | "throttled" (did not reach the function)
    index: int = 0                  # partial: index in the batch of the lowest failed record
    response: Any = None            # the parsed response (dict) when the function returned one
    function_error: str | None = None
    request_id: str | None = None   # the invocation's request id (the failure record names it)


def backoff_delay(retries: int) -> float:
    """Seconds to wait before retry number `retries` (1, 2, ...): 50 ms doubling, at most 2 s."""
    return min(0.05 * (2 ** min(max(0, retries - 1), 6)), 2.0)


def parse_response(payload: bytes, batch: list[Rec], report_failures: bool) -> Attempt:
    """Interpret a successful invocation's response. Without ReportBatchItemFailures any response
    is success; with it: null/empty list -> success, a valid list -> partial at the lowest failed
    record, an empty/null/unknown itemIdentifier or a malformed response -> full failure."""
    try:
        resp = orjson.loads(payload) if payload and payload.strip() else None
    except orjson.JSONDecodeError:
        resp = _MALFORMED
    if not report_failures:
        return Attempt("ok", response=resp if isinstance(resp, dict) else None)
    if resp is None:
        return Attempt("ok")
    if not isinstance(resp, dict):
        return Attempt("error", function_error="Unhandled")
    failures = resp.get("batchItemFailures")
    if failures is None or failures == []:
        return Attempt("ok", response=resp)
    if not isinstance(failures, list):
        return Attempt("error", response=resp, function_error="Unhandled")
    index_of = {r.sequence_number: i for i, r in enumerate(batch)}
    lowest: int | None = None
    for f in failures:
        ident = f.get("itemIdentifier") if isinstance(f, dict) else None
        if not isinstance(ident, str) or not ident or ident not in index_of:
            return Attempt("error", response=resp, function_error="Unhandled")
        i = index_of[ident]
        lowest = i if lowest is None else min(lowest, i)
    assert lowest is not None
    return Attempt("partial", index=lowest, response=resp)


_MALFORMED = object()


class Delivery:
    """Runs one list of records to completion: every record either succeeded or was discarded.

    invoke(batch) -> Attempt; discard(batch, condition, invoke_count, last_attempt);
    progress(seq) after a prefix of the records is done; stopped() -> bool; wait(seconds) sleeps
    unless stopping; clock() -> epoch seconds (records' `created` is on that clock).
    """

    def __init__(self, *, batch_size: int, max_retries: int, max_age: float, bisect: bool,
                 invoke: Callable[[list[Rec]], Attempt],
                 discard: Callable[[list[Rec], str, int, Attempt | None], None],
                 progress: Callable[[int], None], stopped: Callable[[], bool],
                 wait: Callable[[float], None], clock: Callable[[], float]) -> None:
        self.batch_size = batch_size
        self.max_retries = max_retries
        self.max_age = max_age
        self.bisect = bisect
        self.invoke = invoke
        self.discard = discard
        self.progress = progress
        self.stopped = stopped
        self.wait = wait
        self.clock = clock

    def _exhausted(self, retries: int) -> bool:
        return self.max_retries != -1 and retries > self.max_retries

    def run(self, batch: list[Rec]) -> None:
        # queue entries: (records, retries used, invocations of exactly these records, the last of
        # those invocations: a discard by age names it like one by retries)
        queue: deque[tuple[list[Rec], int, int, Attempt | None]] = deque([(batch, 0, 0, None)])
        throttled = 0
        while queue:
            recs, retries, invokes, last = queue.popleft()
            if self.stopped():
                raise Stopped()
            if self.max_age >= 0:
                now = self.clock()
                old = 0
                while old < len(recs) and now - recs[old].created > self.max_age:
                    old += 1
                if old:
                    self.discard(recs[:old], "RecordAgeExceeded", invokes, last)
                    self.progress(recs[old - 1].seq)
                    recs = recs[old:]
                    if not recs:
                        continue
                    invokes, last = 0, None
            att = self.invoke(recs)
            if att.status == "throttled":
                # MaximumRetryAttempts "doesn't apply to service errors or throttles where the batch
                # didn't reach the function" (Lambda): no retry counted, no bisect; the same batch
                # waits (until its records pass their maximum age)
                throttled += 1
                self.wait(backoff_delay(throttled))
                queue.appendleft((recs, retries, invokes, last))
                continue
            throttled = 0
            invokes += 1
            if att.status == "ok":
                self.progress(recs[-1].seq)
                continue
            if att.status == "partial" and att.index > 0:
                self.progress(recs[att.index - 1].seq)
                rest = recs[att.index:]
                if self.bisect:
                    # with bisect, a partial failure splits the batch at the returned sequence number
                    queue.appendleft((rest, retries, 0, None))
                    continue
                retries += 1
                if self._exhausted(retries):
                    self.discard(rest, "RetryAttemptsExhausted", invokes, att)
                    self.progress(rest[-1].seq)
                    continue
                self.wait(backoff_delay(retries))
                queue.appendleft((rest, retries, invokes, att))
                continue
            # a function error, a malformed response, or a partial failure of the first record
            if self.bisect and len(recs) > 1:
                mid = len(recs) // 2
                queue.appendleft((recs[mid:], retries, 0, None))
                queue.appendleft((recs[:mid], retries, 0, None))
                continue
            retries += 1
            if self._exhausted(retries):
                self.discard(recs, "RetryAttemptsExhausted", invokes, att)
                self.progress(recs[-1].seq)
                continue
            self.wait(backoff_delay(retries))
            queue.appendleft((recs, retries, invokes, att))
