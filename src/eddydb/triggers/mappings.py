"""Event source mappings (stream triggers): `MappingManager(inst)` keeps the mappings in storage
(Create/Get/List/Update/Delete with Lambda's parameters, defaults, ranges, State and
LastProcessingResult), and runs them: a coordinator thread takes the leases of the shards each
enabled mapping may process now (a parent shard is read to its end before its children) and runs
one `ShardProcessor` per held lease, woken by StreamService.subscribe.

Called by `control/mappings.py` (the Lambda REST API), `Instance` (start/stop) and the embedded
API (`on_change`, in-process callables).
"""
from __future__ import annotations

import logging
import threading
import time
import uuid as _uuid
from collections.abc import Callable
from typing import Any

import orjson

from eddydb.model.errors import (
    EddyError,
    InvalidParameterValueException,
    LambdaResourceInUseException,
    LambdaResourceNotFoundException,
    ResourceConflictException,
    TooManyRequestsException,
    ValidationException,
)
from eddydb.triggers.leases import new_owner_id, owner_is_dead, take_leases
from eddydb.triggers.processor import ShardProcessor
from eddydb.triggers.retries import NotInvoked, Throttled
from eddydb.triggers.runtime import parse_function_ref
from eddydb.triggers.settings import (
    DEFAULTS,
    STREAM_ARN_RE,
    MappingConfig,
    check_event_source_arn,
    check_function_name,
    constraint_error,
    parse_destination,
    validate_settings,
)

__all__ = ["ON_CHANGE_PARAMS", "MappingManager"]

_List = list   # MappingManager.list (the API operation) shadows the builtin inside the class

log = logging.getLogger("eddydb.triggers")

_TRANSIENT = {"Creating": None, "Enabling": True, "Updating": None, "Disabling": False}
_NO_RECORDS = "No records processed"

# on_change keyword -> CreateEventSourceMapping parameter
ON_CHANGE_PARAMS = {
    "batch_size": "BatchSize",
    "starting_position": "StartingPosition",
    "batching_window": "MaximumBatchingWindowInSeconds",
    "maximum_batching_window_in_seconds": "MaximumBatchingWindowInSeconds",
    "parallelization_factor": "ParallelizationFactor",
    "maximum_retry_attempts": "MaximumRetryAttempts",
    "max_retries": "MaximumRetryAttempts",
    "maximum_record_age_in_seconds": "MaximumRecordAgeInSeconds",
    "max_record_age": "MaximumRecordAgeInSeconds",
    "bisect_batch_on_function_error": "BisectBatchOnFunctionError",
    "bisect": "BisectBatchOnFunctionError",
    "report_batch_item_failures": "FunctionResponseTypes",
    "function_response_types": "FunctionResponseTypes",
    "filter_criteria": "FilterCriteria",
    "filters": "FilterCriteria",
    "tumbling_window_in_seconds": "TumblingWindowInSeconds",
    "tumbling_window": "TumblingWindowInSeconds",
    "on_failure": "DestinationConfig",
    "destination_config": "DestinationConfig",
    "enabled": "Enabled",
}
_ON_CHANGE_NAMES = frozenset({*ON_CHANGE_PARAMS, *ON_CHANGE_PARAMS.values(), "timeout"})


class MappingManager:
    """The event source mappings of one Instance, and the threads that run them."""

    lease_seconds = 6.0     # a dead process's shards are taken over after this (sooner on the same host)
    tick_seconds = 0.5      # the coordinator's pass: state transitions, lease renewal, new shards

    def __init__(self, inst: Any) -> None:
        self.inst = inst
        self.owner = new_owner_id()
        self.clock: Callable[[], float] = time.time
        self._lock = threading.RLock()
        self._processors: dict[tuple[str, str], ShardProcessor] = {}
        self._by_shard: dict[str, list[ShardProcessor]] = {}
        self._known_shards: set[str] = set()     # shards of the streams of enabled mappings
        # Shards that woke the coordinator and turned out to belong to no enabled mapping's stream:
        # their commits no longer wake it (a table with a stream but no trigger would otherwise
        # cost a coordinator pass per commit). New shards have new ids, so they still wake it.
        self._quiet_shards: set[str] = set()
        self._unseen: set[str] = set()
        self._lease_expiry: dict[tuple[str, str], float] = {}
        self._results: dict[str, str] = {}
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._running = False
        self._unsubscribe: Callable[[], None] | None = None
        self._callables: set[str] = set()

    # --- names ----------------------------------------------------------------------------------
    @property
    def _region(self) -> str:
        return self.inst.settings.region

    @property
    def _account(self) -> str:
        return self.inst.settings.account

    def mapping_arn(self, uuid: str) -> str:
        return f"arn:aws:lambda:{self._region}:{self._account}:event-source-mapping:{uuid}"

    # --- CRUD -----------------------------------------------------------------------------------
    def create(self, params: dict[str, Any], *, ephemeral: bool = False) -> dict[str, Any]:
        """CreateEventSourceMapping; returns the EventSourceMappingConfiguration (State "Creating")."""
        if params.get("FunctionName") is None:
            raise ValidationException("1 validation error detected: Value null at 'functionName' failed to "
                                      "satisfy constraint: Member must not be null")
        check_function_name(params["FunctionName"])
        arn = params.get("EventSourceArn")
        if not arn:
            raise InvalidParameterValueException("EventSourceArn is required for a DynamoDB Streams event source.")
        check_event_source_arn(arn)
        settings = validate_settings(params, creating=True)
        self._check_destination(settings)
        shards = self._stream_shards(arn)
        tags = _tags(params.get("Tags"))
        fname, farn = self._resolve_function(params["FunctionName"])
        _check_unique(self._load_all(), arn, fname)   # fail fast; checked again inside the write below
        uuid = str(_uuid.uuid4())
        enabled = settings.get("Enabled", True)
        # LATEST is where polling starts: now, or (created disabled) when the mapping is first enabled
        latest = self._latest_positions(shards) if settings["StartingPosition"] == "LATEST" and enabled else None
        doc: dict[str, Any] = {
            "UUID": uuid,
            "StartingPosition": settings["StartingPosition"],
            "BatchSize": DEFAULTS["BatchSize"],
            "MaximumBatchingWindowInSeconds": DEFAULTS["MaximumBatchingWindowInSeconds"],
            "ParallelizationFactor": DEFAULTS["ParallelizationFactor"],
            "EventSourceArn": arn,
            "FunctionArn": farn,
            "LastModified": self.clock(),
            "LastProcessingResult": _NO_RECORDS,
            "State": "Creating",
            "StateTransitionReason": "User action",
            "DestinationConfig": {"OnFailure": {}},
            "MaximumRecordAgeInSeconds": DEFAULTS["MaximumRecordAgeInSeconds"],
            "BisectBatchOnFunctionError": DEFAULTS["BisectBatchOnFunctionError"],
            "MaximumRetryAttempts": DEFAULTS["MaximumRetryAttempts"],
            "TumblingWindowInSeconds": DEFAULTS["TumblingWindowInSeconds"],
            "FunctionResponseTypes": [],
            "EventSourceMappingArn": self.mapping_arn(uuid),
            "_function": fname,
            "_enabled": enabled,
            "_latest": latest,
            "_version": 1,
            "_ephemeral": self.owner if ephemeral else None,
            "_tags": tags,
        }
        for k, v in settings.items():
            if k in ("Enabled", "StartingPosition"):
                continue
            doc[k] = v
        def write(txn: Any) -> None:
            # in the write transaction: two concurrent creates for one stream and function make one mapping
            _check_unique([orjson.loads(b) for b in txn.load_mappings()], arn, fname)
            txn.save_mapping(uuid, orjson.dumps(doc))

        self.inst.engine.writer.run(write)
        self._ensure_running()
        self.wake()
        return self.render(doc)

    def get(self, uuid: str) -> dict[str, Any]:
        return self.render(self._load(uuid))

    def list(self, event_source_arn: str | None = None, function_name: str | None = None,
             marker: str | None = None, max_items: int | None = None) -> dict[str, Any]:
        """ListEventSourceMappings: filtered by stream ARN and/or function, paged by Marker/MaxItems."""
        if max_items is not None and not 1 <= max_items <= 10000:
            bound = "greater than or equal to 1" if max_items < 1 else "less than or equal to 10000"
            raise constraint_error(max_items, "maxItems", f"Member must have value {bound}")
        if event_source_arn is not None:
            check_event_source_arn(event_source_arn)
        fname = self._function_name(check_function_name(function_name)) if function_name is not None else None
        docs = [d for d in self._load_all()
                if (event_source_arn is None or d["EventSourceArn"] == event_source_arn)
                and (fname is None or d["_function"] == fname)]
        if marker:
            docs = [d for d in docs if d["UUID"] > marker]
        limit = min(max_items or 100, 100)   # "a maximum of 100 items in each response" (Lambda's model)
        page = docs[:limit]
        out: dict[str, Any] = {"EventSourceMappings": [self.render(d) for d in page]}
        if len(docs) > limit:
            out["NextMarker"] = page[-1]["UUID"]
        return out

    def update(self, uuid: str, params: dict[str, Any]) -> dict[str, Any]:
        """UpdateEventSourceMapping; returns the configuration (State "Updating"/"Enabling"/"Disabling")."""
        if params.get("StartingPosition") is not None or params.get("EventSourceArn") is not None:
            raise InvalidParameterValueException("StartingPosition and EventSourceArn cannot be updated.")
        if params.get("FunctionName") is not None:
            check_function_name(params["FunctionName"])
        settings = validate_settings(params, creating=False)
        self._check_destination(settings)
        fn = None
        if params.get("FunctionName") is not None:
            fn = self._resolve_function(params["FunctionName"])
        latest = None
        if settings.get("Enabled"):
            current = self._load(uuid)
            if current["StartingPosition"] == "LATEST" and current.get("_latest") is None:
                latest = self._latest_positions(self._shards_or_none(current["EventSourceArn"]))

        def write(txn: Any) -> dict[str, Any]:
            raw = txn.load_mapping(uuid)
            if raw is None:
                raise self._not_found(uuid)
            doc = orjson.loads(raw)
            if doc["State"] == "Deleting":
                raise LambdaResourceInUseException(
                    f"Cannot update the event source mapping because it is in use (State: Deleting). UUID: {uuid}")
            merged = {**doc, **{k: v for k, v in settings.items() if k != "Enabled"}}
            if fn is not None:
                if fn[0] != doc["_function"]:
                    _check_unique([orjson.loads(b) for b in txn.load_mappings()], doc["EventSourceArn"], fn[0])
                merged["_function"], merged["FunctionArn"] = fn
            state = "Updating"
            if "Enabled" in settings and settings["Enabled"] != doc["_enabled"]:
                state = "Enabling" if settings["Enabled"] else "Disabling"
                merged["_enabled"] = settings["Enabled"]
                if settings["Enabled"] and doc["StartingPosition"] == "LATEST" and doc.get("_latest") is None:
                    merged["_latest"] = latest or {}   # first enabled: LATEST is the stream's end now
            merged["State"] = state
            merged["StateTransitionReason"] = "User action"
            merged["LastModified"] = self.clock()
            merged["_version"] = doc.get("_version", 0) + 1
            txn.save_mapping(uuid, orjson.dumps(merged))
            return merged

        doc = self.inst.engine.writer.run(write)
        self._stop_mapping(uuid, keep_version=doc["_version"])   # no invocation starts on the old settings
        self._ensure_running()
        self.wake()
        return self.render(doc)

    def delete(self, uuid: str) -> dict[str, Any]:
        """DeleteEventSourceMapping: State "Deleting", then gone once its processors stopped."""
        def write(txn: Any) -> dict[str, Any]:
            raw = txn.load_mapping(uuid)
            if raw is None:
                raise self._not_found(uuid)
            doc = orjson.loads(raw)
            doc["State"] = "Deleting"
            doc["StateTransitionReason"] = "User action"
            doc["LastModified"] = self.clock()
            doc["_version"] = doc.get("_version", 0) + 1
            txn.save_mapping(uuid, orjson.dumps(doc))
            return doc

        doc = self.inst.engine.writer.run(write)
        self._stop_mapping(uuid)
        if self._running:
            self.wake()
        else:
            self._finish_delete(uuid)
        return self.render(doc)

    def tags(self, uuid: str) -> dict[str, str]:
        """ListTags on the mapping's ARN (tags are not part of the configuration shape)."""
        return dict(self._load(uuid).get("_tags") or {})

    def retag(self, uuid: str, change: Callable[[dict[str, str]], None]) -> None:
        """TagResource / UntagResource: `change` edits the mapping's tags in place."""
        def write(txn: Any) -> None:
            raw = txn.load_mapping(uuid)
            if raw is None:
                raise self._not_found(uuid)
            doc = orjson.loads(raw)
            tags = dict(doc.get("_tags") or {})
            change(tags)
            doc["_tags"] = tags   # not a settings change: _version stays, processors keep running
            txn.save_mapping(uuid, orjson.dumps(doc))

        self.inst.engine.writer.run(write)

    def render(self, doc: dict[str, Any]) -> dict[str, Any]:
        """The EventSourceMappingConfiguration shape (private keys removed)."""
        out = {k: v for k, v in doc.items() if not k.startswith("_")}
        if doc["UUID"] in self._results and out.get("State") not in ("Creating",):
            out["LastProcessingResult"] = self._results[doc["UUID"]]
        if not (out.get("FilterCriteria") or {}).get("Filters"):
            out.pop("FilterCriteria", None)
        return out

    # --- embedded: in-process callables -----------------------------------------------------------
    def on_change(self, table_name: str, fn: Callable[[Any, Any], Any], **params: Any) -> str:
        """Run `fn(event, context)` on the changes of `table_name` (its latest stream) with the
        mapping semantics; keyword parameters in snake_case (batch_size=..., filters=[{...}], ...)
        or AWS names. StartingPosition defaults to LATEST. Returns the mapping UUID."""
        meta = self.inst.engine.table(table_name)
        if meta.stream is None or not meta.stream.enabled or not meta.stream.arn:
            raise InvalidParameterValueException(
                f"Table {table_name} has no stream enabled: create it with StreamSpecification "
                "{'StreamEnabled': True, 'StreamViewType': ...} to use on_change.")
        unknown = [k for k in params if k not in _ON_CHANGE_NAMES]
        if unknown:   # a typo (batchsize=) must not silently run the mapping with defaults
            raise TypeError(f"on_change() got an unexpected keyword argument {unknown[0]!r}")
        request: dict[str, Any] = {"StartingPosition": "LATEST"}
        for k, v in params.items():
            name = ON_CHANGE_PARAMS.get(k, k)
            if name == "FunctionResponseTypes" and isinstance(v, bool):
                v = ["ReportBatchItemFailures"] if v else []
            elif name == "FilterCriteria" and isinstance(v, list):
                v = {"Filters": [{"Pattern": p if isinstance(p, str) else orjson.dumps(p).decode()} for p in v]}
            elif name == "DestinationConfig" and isinstance(v, str):
                v = {"OnFailure": {"Destination": v}}
            request[name] = v
        fname = f"on_change-{table_name}-{_uuid.uuid4().hex[:8]}"[:64]
        timeout = float(params.pop("timeout", 900.0)) if "timeout" in params else 900.0
        request.pop("timeout", None)
        self.inst.functions.register_callable(fname, _two_arguments(fn), timeout=timeout)
        self._callables.add(fname)
        request["EventSourceArn"] = meta.stream.arn
        request["FunctionName"] = fname
        try:
            return self.create(request, ephemeral=True)["UUID"]
        except BaseException:
            self.inst.functions.unregister_callable(fname)
            raise

    # --- running ----------------------------------------------------------------------------------
    def start(self) -> None:
        """Start the coordinator (idempotent)."""
        with self._lock:
            if self._running:
                return
            self._running = True
            self._unsubscribe = self.inst.streams.subscribe(self._on_shards)
            self._thread = threading.Thread(target=self._loop, name="eddydb-mappings", daemon=True)
            self._thread.start()

    def _ensure_running(self) -> None:
        if not self._running:
            self.start()

    def stop(self) -> None:
        """Stop every processor (their leases are released) and the coordinator."""
        with self._lock:
            if not self._running:
                return
            self._running = False
            if self._unsubscribe is not None:
                self._unsubscribe()
                self._unsubscribe = None
            procs = list(self._processors.values())
        self._wake.set()
        for p in procs:
            p.stop()
        for p in procs:
            p.join(5.0)
        if self._thread is not None:
            self._thread.join(5.0)
        # in-process callables do not outlive this process: neither do their mappings
        try:
            for doc in self._load_all():
                if doc.get("_ephemeral") == self.owner:
                    self._finish_delete(doc["UUID"])
            held = list(self._lease_expiry)
            if held:
                self.inst.engine.writer.run(
                    lambda txn: [txn.release_lease(u, s, self.owner) for u, s in held])
        except Exception:
            log.debug("mapping cleanup at stop failed", exc_info=True)

    def wake(self) -> None:
        self._wake.set()

    def _on_shards(self, shard_ids: set[str]) -> None:
        """From the writer thread after a commit: wake the processors of the shards that grew."""
        unknown = False
        by_shard = self._by_shard
        for sid in shard_ids:
            procs = by_shard.get(sid)
            if procs:
                for p in procs:
                    p.wake()
            elif sid not in self._known_shards and sid not in self._quiet_shards:
                self._unseen.add(sid)
                unknown = True
        if unknown:
            self._wake.set()

    def _loop(self) -> None:
        while self._running:
            self._wake.clear()
            unseen, self._unseen = self._unseen, set()
            try:
                self._tick()
                self._quiet_shards.update(unseen - self._known_shards)
            except Exception:
                if self._running:
                    log.exception("event source mapping coordinator pass failed")
            self._wake.wait(self.tick_seconds)

    def _tick(self) -> None:
        docs = self._load_all()
        wanted: dict[tuple[str, str], MappingConfig] = {}
        for doc in docs:
            uuid = doc["UUID"]
            if doc["State"] == "Deleting":
                self._stop_mapping(uuid)
                if not any(k[0] == uuid for k in self._processors):
                    self._finish_delete(uuid)
                continue
            eph = doc.get("_ephemeral")
            if eph and eph != self.owner and owner_is_dead(eph):
                self._finish_delete(uuid)   # an in-process callable of a process that is gone
                continue
            if doc["State"] in _TRANSIENT:
                # stop the processors of the old settings before the settled state is visible: a
                # record written after a client saw Enabled/Disabled never reaches an old processor
                self._stop_mapping(uuid, keep_version=doc.get("_version", 0))
                doc = self._settle_state(doc)
            if not doc["_enabled"]:
                continue
            if eph and eph != self.owner:
                continue   # another process's in-process callable: only it can run it
            cfg = MappingConfig.from_doc(doc)
            for sid in self._eligible_shards(cfg):
                wanted[(uuid, sid)] = cfg
        now = self.clock()
        to_take = [k for k in wanted if self._lease_expiry.get(k, 0.0) - now < self.lease_seconds / 2]
        if to_take:
            held = self.inst.engine.writer.run(
                lambda txn: take_leases(txn, to_take, self.owner, now, self.lease_seconds))
            for k in to_take:
                if k in held:
                    self._lease_expiry[k] = now + self.lease_seconds
                else:
                    self._lease_expiry.pop(k, None)
        held_now = {k for k, exp in self._lease_expiry.items() if exp > now and k in wanted}
        with self._lock:
            for k, running in list(self._processors.items()):
                want = wanted.get(k)
                if k not in held_now or want is None or want.version != running.cfg.version:
                    running.stop()
            for k in held_now:
                current = self._processors.get(k)
                if current is not None and (current.alive() or current.finished):
                    continue   # running (or, when stale, finishing its batch before its successor starts)
                if not self._running:
                    return
                proc = ShardProcessor(self, wanted[k], k[1])
                self._processors[k] = proc
                self._rebuild_index()
                proc.start()
        for k in list(self._lease_expiry):
            if k not in wanted and k not in self._processors:
                exp = self._lease_expiry.pop(k)
                if exp > now:
                    self.inst.engine.writer.submit(lambda txn, k=k: txn.release_lease(k[0], k[1], self.owner))

    def _eligible_shards(self, cfg: MappingConfig) -> _List[str]:
        """Shards to process now: not finished, and their parent (if still listed) finished."""
        try:
            shards = self.inst.streams.shards(cfg.event_source_arn)
        except EddyError:
            return []
        cps = self.inst.store.read().load_checkpoints(cfg.uuid)
        listed = {s.shard_id for s in shards}
        self._known_shards.update(listed)
        out = []
        for s in shards:
            cp = cps.get(s.shard_id)
            if cp is not None and cp[1]:
                continue
            parent = s.parent_shard_id
            if parent and parent in listed and not (cps.get(parent) or (None, False))[1]:
                continue
            out.append(s.shard_id)
        return out

    def _settle_state(self, doc: dict[str, Any]) -> dict[str, Any]:
        uuid, version = doc["UUID"], doc.get("_version", 0)

        def write(txn: Any) -> dict[str, Any]:
            raw = txn.load_mapping(uuid)
            if raw is None:
                return doc
            cur = orjson.loads(raw)
            if cur.get("_version", 0) != version or cur["State"] not in _TRANSIENT:
                return cur
            cur["State"] = "Enabled" if cur["_enabled"] else "Disabled"
            cur["LastModified"] = self.clock()   # "last updated or that its state changed"
            txn.save_mapping(uuid, orjson.dumps(cur))
            return cur

        return self.inst.engine.writer.run(write)

    def _stop_mapping(self, uuid: str, keep_version: int | None = None) -> None:
        """Stop the mapping's processors (those running settings other than `keep_version`)."""
        with self._lock:
            for k, p in self._processors.items():
                if k[0] == uuid and (keep_version is None or p.cfg.version != keep_version):
                    p.stop()

    def _finish_delete(self, uuid: str) -> None:
        doc = None
        try:
            raw = self.inst.store.read().load_mapping(uuid)
            doc = orjson.loads(raw) if raw else None
        except Exception:
            log.debug("cannot read mapping %s before deleting it", uuid, exc_info=True)
        self.inst.engine.writer.run(lambda txn: txn.delete_mapping(uuid))
        self._results.pop(uuid, None)
        for k in [k for k in self._lease_expiry if k[0] == uuid]:
            self._lease_expiry.pop(k, None)
        if doc is not None and doc.get("_ephemeral") == self.owner and doc["_function"] in self._callables:
            self._callables.discard(doc["_function"])
            try:
                self.inst.functions.unregister_callable(doc["_function"])
            except Exception:
                log.debug("cannot unregister %s", doc["_function"], exc_info=True)

    def processor_exited(self, proc: ShardProcessor) -> None:
        """Called by a processor's thread as it ends."""
        with self._lock:
            if self._processors.get(proc.key) is proc:
                self._processors.pop(proc.key, None)
            self._rebuild_index()
        self._wake.set()

    def _rebuild_index(self) -> None:
        index: dict[str, _List[ShardProcessor]] = {}
        for (_, sid), p in self._processors.items():
            index.setdefault(sid, []).append(p)
        self._by_shard = index

    # --- services for processors -----------------------------------------------------------------
    def invoke(self, cfg: MappingConfig, payload: bytes) -> tuple[bytes, str | None, str | None]:
        """Synchronous invocation -> (response, function error, request id). When the batch cannot
        reach the function, a throttle raises Throttled and any other refusal (a function deleted
        under its mapping) NotInvoked: Lambda retries those without counting retries."""
        try:
            res = self.inst.functions.invoke(cfg.function_name, payload, invocation_type="RequestResponse")
        except TooManyRequestsException:
            raise Throttled(cfg.function_name) from None
        except EddyError as e:
            log.warning("mapping %s: cannot invoke %s: %s", cfg.uuid, cfg.function_name, e.message)
            raise NotInvoked(e.message) from None
        return res.payload, res.function_error, res.request_id

    def warm(self, cfg: MappingConfig) -> None:
        """Start the function's first worker before the first batch (a cold start costs ~150 ms)."""
        warm = getattr(self.inst.functions, "warm", None)
        if warm is None:
            return
        try:
            warm(cfg.function_name)
        except Exception:
            log.debug("cannot warm %s", cfg.function_name, exc_info=True)

    def note_result(self, uuid: str, result: str) -> None:
        """LastProcessingResult: kept in memory, persisted when it changes."""
        if self._results.get(uuid) == result:
            return
        self._results[uuid] = result

        def write(txn: Any) -> None:
            raw = txn.load_mapping(uuid)
            if raw is None:
                return
            doc = orjson.loads(raw)
            if doc.get("LastProcessingResult") != result:
                doc["LastProcessingResult"] = result
                txn.save_mapping(uuid, orjson.dumps(doc))

        self.inst.engine.writer.submit(write)

    def shard_info(self, stream_arn: str, shard_id: str) -> Any:
        return self.inst.streams.shard(shard_id)

    # --- helpers ---------------------------------------------------------------------------------
    def _load_all(self) -> _List[dict[str, Any]]:
        return [orjson.loads(b) for b in self.inst.store.read().load_mappings()]

    def _load(self, uuid: str) -> dict[str, Any]:
        raw = self.inst.store.read().load_mapping(uuid)
        if raw is None:
            raise self._not_found(uuid)
        return orjson.loads(raw)

    def _not_found(self, uuid: str) -> LambdaResourceNotFoundException:
        return LambdaResourceNotFoundException("The resource you requested does not exist.")

    def _latest_positions(self, shards: _List[Any]) -> dict[str, int | None]:
        """LATEST: the newest position of each shard (a processor starts just after it)."""
        latest: dict[str, int | None] = {}
        for shard in shards:
            try:
                latest[shard.shard_id] = self.inst.streams.latest_seq(shard.shard_id)
            except EddyError:
                pass
        return latest

    def _shards_or_none(self, arn: str) -> _List[Any]:
        try:
            return self.inst.streams.shards(arn)
        except EddyError:   # the stream is gone: nothing to position on
            return []

    def _stream_shards(self, arn: str) -> _List[Any]:
        if not isinstance(arn, str) or STREAM_ARN_RE.fullmatch(arn) is None:
            raise InvalidParameterValueException(
                f"Unsupported event source {arn!r}: eddydb triggers read DynamoDB streams "
                "(arn:aws:dynamodb:<region>:<account>:table/<table>/stream/<label>).")
        try:
            self.inst.streams.stream(arn)
            return self.inst.streams.shards(arn)
        except EddyError:
            # Lambda names its own resources (functions, mappings) in ResourceNotFoundException; an
            # event source it cannot find is a bad parameter (400), as for Kinesis streams.
            raise InvalidParameterValueException(f"Stream not found: {arn}") from None

    def _check_destination(self, settings: dict[str, Any]) -> None:
        dest = ((settings.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination")
        if not dest:
            return
        kind, where = parse_destination(dest)
        if kind == "table" and self.inst.engine.find_table(where) is None:
            raise InvalidParameterValueException(
                f"The OnFailure destination table {where} does not exist: create it first "
                "(its partition key must be a string).")

    def _function_name(self, ref: str) -> str:
        return parse_function_ref(ref)[0]

    def _resolve_function(self, ref: str) -> tuple[str, str]:
        # only $LATEST exists (no versions or aliases): another qualifier names a missing function
        name, qualifier = parse_function_ref(ref)
        if qualifier not in (None, "$LATEST") or not self.inst.functions.exists(name):
            arn = f"arn:aws:lambda:{self._region}:{self._account}:function:{name}"
            raise LambdaResourceNotFoundException(
                f"Function not found: {arn}" + (f":{qualifier}" if qualifier else ""))
        return name, self.inst.functions.arn(name)


def _tags(tags: Any) -> dict[str, str]:
    if tags is None:
        return {}
    if not isinstance(tags, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in tags.items()):
        raise InvalidParameterValueException("Tags must be a map of strings")
    return dict(tags)


def _check_unique(docs: _List[dict[str, Any]], arn: str, fname: str) -> None:
    """One mapping per (stream, function): ResourceConflictException naming the existing one."""
    for existing in docs:
        if existing["EventSourceArn"] == arn and existing["_function"] == fname and existing["State"] != "Deleting":
            raise ResourceConflictException(
                f"The event source arn (\" {arn} \") and function (\" {fname} \") provided mapping already "
                f"exists. Please update or delete the existing mapping with UUID {existing['UUID']}",
            )


def _two_arguments(fn: Callable[..., Any]) -> Callable[[Any, Any], Any]:
    """Lambda handlers take (event, context); on_change also accepts fn(event)."""
    import inspect

    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return fn
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if any(p.kind == p.VAR_POSITIONAL for p in params) or len(positional) != 1:
        return fn
    return lambda event, context: fn(event)
