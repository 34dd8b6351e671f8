"""The shard processor: one thread per (mapping, shard) whose lease this process holds. Woken by
StreamService.subscribe the moment the shard grows, it reads from its checkpoint, waits out the
batching window, filters, splits into ParallelizationFactor lanes by item key and into batches,
delivers them (triggers.retries), sends discarded batches to the OnFailure destination, runs
tumbling windows, and moves the checkpoint durably after success. Started and stopped by
`triggers.mappings.MappingManager`.
"""
from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import orjson

from eddydb.model.errors import EddyError, TrimmedDataAccessException
from eddydb.triggers import destinations
from eddydb.triggers.batching import Rec, chunks, lanes, to_recs
from eddydb.triggers.checkpoints import KEEP, Checkpoints
from eddydb.triggers.filters import compile_filters
from eddydb.triggers.leases import LeaseLost
from eddydb.triggers.retries import Attempt, Delivery, NotInvoked, Stopped, backoff_delay, parse_response
from eddydb.triggers.settings import MAX_BATCH_BYTES, MappingConfig
from eddydb.triggers.windows import Window, state_too_big, window_event, window_of

__all__ = ["OK", "PROBLEM", "ShardProcessor"]

log = logging.getLogger("eddydb.triggers")

OK = "OK"
PROBLEM = "PROBLEM: Function call failed"
_WINDOW_ENVELOPE = 4096   # a windowed event's fields besides Records and state (window, shardId, ARN, flags)
_RESTART_PAUSE = 1.0   # seconds a processor that failed unexpectedly waits before its replacement starts
_IDLE_CHECK = 0.25   # without a push (a write by another process on the same store) poll like Lambda: 4/s


class ShardProcessor:
    """Processes one shard of one mapping until stopped or the (closed) shard is read to its end."""

    def __init__(self, manager: Any, cfg: MappingConfig, shard_id: str) -> None:
        self.manager = manager
        self.inst = manager.inst
        self.cfg = cfg
        self.shard_id = shard_id
        self.key = (cfg.uuid, shard_id)
        self.checkpoints = Checkpoints(self.inst, cfg.uuid, manager.owner)
        self.predicate = compile_filters(cfg.filter_criteria)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"eddydb-esm-{cfg.uuid[:8]}-{shard_id[-8:]}",
                                        daemon=True)
        self._pool: ThreadPoolExecutor | None = None
        self._window: Window | None = None
        self._saved: int | None = None   # last checkpointed seq
        self._partition_key: str | None = None   # the table's partition key name (lanes)
        self.finished = False

    # --- control ------------------------------------------------------------------------------
    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    def alive(self) -> bool:
        return self._thread.is_alive()

    def join(self, timeout: float | None = None) -> None:
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout)

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def _wait(self, seconds: float) -> None:
        if seconds > 0:
            self._stop.wait(seconds)

    # --- the loop -----------------------------------------------------------------------------
    def _run(self) -> None:
        try:
            self._process()
        except (Stopped, LeaseLost):
            pass
        except Exception:
            if not self.stopping:
                log.exception("shard processor %s/%s failed", *self.key)
                # the coordinator starts a new processor at once: a failure that repeats must not
                # become a busy loop of restarts (and of log lines)
                self._wait(_RESTART_PAUSE)
        finally:
            if self._pool is not None:
                self._pool.shutdown(wait=False)
            self.manager.processor_exited(self)

    def _start_position(self) -> int | None:
        cp = self.checkpoints.load(self.shard_id)
        if cp is not None:
            if cp[1]:
                self.finished = True
            return cp[0]
        if self.cfg.starting_position == "LATEST" and self.shard_id in self.cfg.latest:
            return self.cfg.latest[self.shard_id]
        return None

    def _process(self) -> None:
        pos = self._start_position()
        self._saved = pos
        if self.finished:
            return
        self.manager.warm(self.cfg)
        if self.cfg.tumbling_window:
            doc = self.checkpoints.load_window(self.shard_id)
            self._window = Window.from_doc(doc) if doc else None
        if self.cfg.parallelization > 1:
            self._partition_key = self._partition_key_name()
        target = self.cfg.batch_size * self.cfg.parallelization
        max_bytes = MAX_BATCH_BYTES * self.cfg.parallelization
        while not self.stopping:
            self._wake.clear()
            recs = self._read(pos, target, max_bytes)
            if recs and self.cfg.batching_window > 0:
                recs = self._fill(recs, target, max_bytes)
            if not recs:
                if self._window is not None and self.manager.clock() >= self._window.end:
                    self._final_invoke(terminated_early=False)
                    self._window = None
                    self._checkpoint(pos, window=None)
                    continue
                if self._drained(pos):
                    if self._window is not None:
                        self._final_invoke(terminated_early=False)
                        self._window = None
                    self._checkpoint(pos, finished=True, window=None)
                    self.finished = True
                    self.manager.wake()
                    return
                timeout = _IDLE_CHECK
                if self._window is not None:
                    timeout = min(timeout, max(0.0, self._window.end - self.manager.clock()) + 0.001)
                self._wake.wait(timeout)
                continue
            passing = recs if self.predicate is None else [r for r in recs if self.predicate(r.event)]
            if passing:
                if self.cfg.tumbling_window:
                    self._deliver_windowed(passing)
                elif self.cfg.parallelization > 1:
                    self._deliver_parallel(passing)
                else:
                    self._deliver(passing, checkpoint=True)
            if self._window is not None and recs[-1].created >= self._window.end:
                # only filtered-out records arrived after the window: it is over all the same
                self._final_invoke(terminated_early=False)
                self._window = None
            pos = recs[-1].seq
            if self._saved != pos or self.cfg.tumbling_window:
                self._checkpoint(pos)

    def _read(self, after: int | None, limit: int, max_bytes: int) -> list[Rec]:
        try:
            srs = self.inst.streams.read(self.shard_id, after, limit, max_bytes)
        except TrimmedDataAccessException:
            if self.inst.streams.shard(self.shard_id) is None:
                return []   # the whole shard is gone: _drained() ends this processor
            # the position fell behind retention (a long-disabled mapping): continue at the horizon
            log.warning("mapping %s: records of shard %s were trimmed before processing", *self.key)
            srs = self.inst.streams.read(self.shard_id, None, limit, max_bytes)
        return to_recs(srs, self.cfg.event_source_arn)

    def _fill(self, recs: list[Rec], target: int, max_bytes: int) -> list[Rec]:
        """MaximumBatchingWindowInSeconds: wait for more records until a batch is full (BatchSize
        records or 6 MB) or the window ends. With ParallelizationFactor every lane is a batch of its
        own: the first full lane ends the wait (records of one key need not wait for other keys)."""
        deadline = time.monotonic() + self.cfg.batching_window
        lanes_n = 1 if self.cfg.tumbling_window else self.cfg.parallelization
        counts = [0] * lanes_n
        sizes = [0] * lanes_n

        def add(more: list[Rec]) -> bool:
            """Count `more` in; True when a batch is full."""
            full = False
            for r in more:
                lane = r.key_hash(self._partition_key) % lanes_n if lanes_n > 1 else 0
                counts[lane] += 1
                sizes[lane] += r.size
                full = full or counts[lane] >= self.cfg.batch_size or sizes[lane] >= MAX_BATCH_BYTES
            return full

        full = add(recs)
        size = sum(sizes)
        while not full and len(recs) < target and size < max_bytes and not self.stopping:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            self._wake.wait(left)
            self._wake.clear()
            more = self._read(recs[-1].seq, target - len(recs), max_bytes - size)
            recs.extend(more)
            full = add(more)
            size = sum(sizes)
        return recs

    def _drained(self, pos: int | None) -> bool:
        info = self.manager.shard_info(self.cfg.event_source_arn, self.shard_id)
        if info is None:
            return True   # trimmed away
        if getattr(info, "end_seq", None) is None:
            return False
        # closed: one more read settles a close racing with the last append
        return not self._read(pos, 1, MAX_BATCH_BYTES)

    def _checkpoint(self, seq: int | None, *, finished: bool = False, window: Any = KEEP) -> None:
        if self.cfg.tumbling_window and window is KEEP:
            window = self._window.to_doc() if self._window is not None else None
        self.checkpoints.save(self.shard_id, seq, finished=finished, window=window)
        self._saved = seq

    # --- delivery -----------------------------------------------------------------------------
    def _delivery(self, *, checkpoint: bool, windowed: bool = False) -> Delivery:
        return Delivery(
            batch_size=self.cfg.batch_size, max_retries=self.cfg.max_retries, max_age=self._max_age(),
            bisect=self.cfg.bisect,
            invoke=self._invoke_windowed if windowed else self._invoke,
            discard=self._discard,
            progress=self._checkpoint if checkpoint else _no_progress,
            stopped=lambda: self.stopping,
            wait=self._wait, clock=self.manager.clock,
        )

    def _max_age(self) -> float:
        """MaximumRecordAgeInSeconds bounded by the stream's retention: a batch is "retried until the
        records expire", then discarded (to the failure destination) like one past the mapping's age."""
        retention = self.inst.settings.stream_retention
        if retention is None:
            return self.cfg.max_age
        return retention if self.cfg.max_age < 0 else min(self.cfg.max_age, retention)

    def _deliver(self, recs: list[Rec], *, checkpoint: bool) -> None:
        delivery = self._delivery(checkpoint=checkpoint)
        for batch in chunks(recs, self.cfg.batch_size):
            delivery.run(batch)

    def _deliver_parallel(self, recs: list[Rec]) -> None:
        """ParallelizationFactor: lanes by partition key run concurrently; the checkpoint moves when all are done."""
        parts = lanes(recs, self.cfg.parallelization, self._partition_key)
        if len(parts) == 1:
            self._deliver(parts[0], checkpoint=False)
            return
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.cfg.parallelization, thread_name_prefix="eddydb-esm-lane")
        futures = [self._pool.submit(self._deliver, part, checkpoint=False) for part in parts]
        errors = [f.exception() for f in futures]
        for e in errors:
            if e is not None:
                raise e

    def _partition_key_name(self) -> str | None:
        try:
            schema = self.inst.streams.stream(self.cfg.event_source_arn).key_schema
        except EddyError:
            return None
        return next((k["AttributeName"] for k in schema if k.get("KeyType") == "HASH"), None)

    def _invoke(self, batch: list[Rec]) -> Attempt:
        payload = orjson.dumps({"Records": [r.event for r in batch]})
        return self._call(payload, batch)

    def _call(self, payload: bytes, batch: list[Rec]) -> Attempt:
        try:
            result_payload, function_error, request_id = self.manager.invoke(self.cfg, payload)
        except NotInvoked:
            self.manager.note_result(self.cfg.uuid, PROBLEM)
            return Attempt("throttled")
        if function_error:
            self.manager.note_result(self.cfg.uuid, PROBLEM)
            return Attempt("error", function_error=function_error, request_id=request_id)
        att = parse_response(result_payload, batch, self.cfg.report_failures)
        att.request_id = request_id
        self.manager.note_result(self.cfg.uuid, OK if att.status == "ok" else PROBLEM)
        return att

    def _discard(self, batch: list[Rec], condition: str, invoke_count: int, att: Attempt | None) -> None:
        dest = self.cfg.on_failure
        if not dest:
            log.warning("mapping %s discarded %d records of shard %s (%s)", self.cfg.uuid, len(batch),
                        self.shard_id, condition)
            return
        record = destinations.failure_record(
            function_arn=self.cfg.function_arn, stream_arn=self.cfg.event_source_arn, shard_id=self.shard_id,
            batch=batch, condition=condition, invoke_count=invoke_count,
            function_error=att.function_error if att else None, request_id=att.request_id if att else None,
            now=self.manager.clock())
        attempt = 0
        while True:
            try:
                destinations.send(self.inst, dest, record)
                return
            except Exception:
                attempt += 1
                log.exception("mapping %s: cannot write to failure destination %s", self.cfg.uuid, dest)
                if self.stopping:
                    raise Stopped() from None
                self._wait(backoff_delay(attempt))

    # --- tumbling windows -------------------------------------------------------------------------
    def _deliver_windowed(self, recs: list[Rec]) -> None:
        size = self.cfg.tumbling_window
        run: list[Rec] = []
        run_window: tuple[float, float] | None = None
        for r in recs:
            w = window_of(r.created, size)
            if run and w != run_window:
                self._deliver_window_run(run, run_window)  # type: ignore[arg-type]
                run = []
            run_window = w
            run.append(r)
        if run:
            self._deliver_window_run(run, run_window)  # type: ignore[arg-type]

    def _deliver_window_run(self, run: list[Rec], bounds: tuple[float, float]) -> None:
        if self._window is not None and (self._window.start, self._window.end) != bounds:
            self._final_invoke(terminated_early=False)
            self._window = None
        if self._window is None:
            self._window = Window(bounds[0], bounds[1], {})
        delivery = self._delivery(checkpoint=False, windowed=True)
        rest = run
        while rest:
            # the 6 MB cap is on the invocation payload, which carries the window's state (up to 1 MB)
            room = MAX_BATCH_BYTES - len(orjson.dumps(self._window.state)) - _WINDOW_ENVELOPE
            batch = chunks(rest[:self.cfg.batch_size], self.cfg.batch_size, room)[0]
            delivery.run(batch)
            rest = rest[len(batch):]

    def _invoke_windowed(self, batch: list[Rec]) -> Attempt:
        assert self._window is not None
        event = window_event([r.event for r in batch], self._window, self.shard_id, self.cfg.event_source_arn)
        att = self._call(orjson.dumps(event), batch)
        if att.status in ("ok", "partial"):
            state = att.response.get("state") if isinstance(att.response, dict) else None
            if not isinstance(state, dict):
                # "If the response does not contain a state property, Lambda considers this a failed invocation"
                self.manager.note_result(self.cfg.uuid, PROBLEM)
                return Attempt("error", response=att.response, function_error="Unhandled",
                               request_id=att.request_id)
            self._window.state = state
            if state_too_big(self._window.state):
                bounds = (self._window.start, self._window.end)
                self._final_invoke(terminated_early=True)
                self._window = Window(bounds[0], bounds[1], {})
        return att

    def _final_invoke(self, *, terminated_early: bool) -> None:
        """The window's last invocation (no records, isFinalInvokeForWindow): retried until it succeeds."""
        assert self._window is not None
        event = window_event([], self._window, self.shard_id, self.cfg.event_source_arn, final=True,
                             terminated_early=terminated_early)
        payload = orjson.dumps(event)
        attempt = 0
        while True:
            if self.stopping:
                raise Stopped()
            try:
                _, function_error, _ = self.manager.invoke(self.cfg, payload)
            except NotInvoked:
                function_error = "NotInvoked"
            if not function_error:
                self.manager.note_result(self.cfg.uuid, OK)
                return
            self.manager.note_result(self.cfg.uuid, PROBLEM)
            attempt += 1
            self._wait(backoff_delay(attempt))


def _no_progress(seq: int) -> None:
    return None
