"""TransactWriteItems and TransactGetItems semantics on validated requests.

A write transaction is ONE writer function: every op runs in order through
`engine.items.execute` (so `apply_change`: indexes, TTL, stream records); each op's outcome becomes
a cancellation reason in request order ({"Code": "None"} when it passed), and if any failed the
function raises TransactionCanceledException so the writer rolls back its savepoint: all or
nothing. ClientRequestToken makes a request idempotent for 10 minutes. A get transaction reads
every item from one snapshot. Called by api/batch.py.
"""
from __future__ import annotations

import threading
import time
import weakref
from concurrent.futures import Future
from typing import Any

from eddydb.engine.batch import write_capacity
from eddydb.engine.capacity import Consumed, read_units
from eddydb.engine.futures import WriteFuture, waiting_on
from eddydb.engine.items import PutOp, UpdateOp, execute
from eddydb.engine.writes import item_key
from eddydb.model.errors import (
    ConditionalCheckFailedException,
    DuplicateItemException,
    IdempotentParameterMismatchException,
    TransactionCanceledException,
    TransactionInProgressException,
    ValidationException,
)
from eddydb.model.size import item_size, value_size

__all__ = ["MAX_WRITE_BYTES", "TOKEN_TTL", "check_write_size", "transact_get", "transact_write"]

TOKEN_TTL = 600.0   # seconds a ClientRequestToken stays bound to its request
MAX_WRITE_BYTES = 4 * 1024 * 1024   # "The aggregate size of the items in the transaction cannot exceed 4 MB"
_TOO_LARGE = "Transaction request size has exceeded the maximum allowed size of 4 MB"
_MISMATCH = "Specified idempotent token was used with different request parameters within the allowed time window"


class _Tokens:
    """ClientRequestToken -> (request fingerprint, expiry, response | None while in progress)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.entries: dict[str, list] = {}

    def begin(self, token: str, fingerprint: bytes, now: float) -> dict | None:
        """The cached response of a finished identical request, else None (and marks in-progress)."""
        with self.lock:
            if len(self.entries) > 1000:
                for k in [k for k, e in self.entries.items() if e[1] < now]:
                    del self.entries[k]
            e = self.entries.get(token)
            if e is not None and e[1] < now and e[2] is not None:
                e = None
            if e is None:
                self.entries[token] = [fingerprint, now + TOKEN_TTL, None]
                return None
            if e[0] != fingerprint:
                raise IdempotentParameterMismatchException(_MISMATCH)
            if e[2] is None:
                raise TransactionInProgressException("Transaction with the given request token is already in progress")
            return e[2]

    def finish(self, token: str, response: dict | None) -> None:
        with self.lock:
            if response is None:
                self.entries.pop(token, None)
            else:
                e = self.entries.get(token)
                if e is not None:
                    e[1] = time.time() + TOKEN_TTL
                    e[2] = response


_TOKENS: weakref.WeakKeyDictionary[Any, _Tokens] = weakref.WeakKeyDictionary()
_TOKENS_LOCK = threading.Lock()


def _tokens(engine: Any) -> _Tokens:
    with _TOKENS_LOCK:
        t = _TOKENS.get(engine)
        if t is None:
            t = _TOKENS[engine] = _Tokens()
        return t


def check_write_size(ops: list) -> None:
    """ValidationException when a write transaction carries more than 4 MB: the items it puts, the
    values its updates write and the keys of the others (TransactWriteItems and ExecuteTransaction)."""
    total = 0
    for op in ops:
        if type(op) is PutOp:
            total += item_size(op.item)
            continue
        total += item_size(op.key)
        if type(op) is UpdateOp and op.plan is not None:
            total += sum(value_size(v) for v in op.plan.values.values())
    if total > MAX_WRITE_BYTES:
        raise ValidationException(_TOO_LARGE)


def _reason(exc: BaseException) -> dict[str, Any]:
    if isinstance(exc, ConditionalCheckFailedException):
        r: dict[str, Any] = {"Code": "ConditionalCheckFailed", "Message": "The conditional request failed"}
        if "Item" in exc.extra:
            r["Item"] = exc.extra["Item"]
        return r
    if isinstance(exc, ValidationException):
        return {"Code": "ValidationError", "Message": exc.message}
    if isinstance(exc, DuplicateItemException):  # a PartiQL INSERT (ExecuteTransaction)
        return {"Code": "DuplicateItem", "Message": exc.message}
    raise exc


def transact_write(engine: Any, ops: list, *, token: str | None = None, fingerprint: bytes = b"",
                   capacity_mode: str | None = None, metrics: bool = False) -> Future:
    """Run `ops` all-or-nothing; resolves to the TransactWriteItems response."""
    out = WriteFuture()
    tokens = _tokens(engine) if token else None
    if tokens is not None:
        try:
            cached = tokens.begin(token, fingerprint, time.time())  # type: ignore[arg-type]
        except BaseException as e:  # noqa: BLE001
            out.set_exception(e)
            return out
        if cached is not None:
            out.set_result(_replay(cached, ops, capacity_mode))
            return out

    def fn(txn: Any) -> list[tuple[Any, Any]] | None:
        if token is not None:
            # The token is durable, written with the transaction: a retry after a crash, or on
            # another process sharing the store, finds it (the in-memory map is only a fast path).
            now = time.time()
            bound = txn.get_request_token(token)
            if bound is not None and bound[1] >= now:
                if bound[0] != fingerprint:
                    raise IdempotentParameterMismatchException(_MISMATCH)
                return None   # already applied: change nothing
            txn.put_request_token(token, fingerprint, now + TOKEN_TTL, now)
        reasons: list[dict[str, Any]] = []
        images: list[tuple[Any, Any]] = []
        failed = False
        for op in ops:
            try:
                images.append(execute(txn, op))
                reasons.append({"Code": "None"})
            except (ConditionalCheckFailedException, ValidationException, DuplicateItemException) as e:
                reasons.append(_reason(e))
                images.append((None, None))
                failed = True
        if failed:
            raise TransactionCanceledException(reasons)
        return images

    def done(f: Future) -> None:
        exc = f.exception()
        if exc is not None:
            if tokens is not None:
                tokens.finish(token, None)  # type: ignore[arg-type]
            out.set_exception(exc)
            return
        try:
            if f.result() is None:   # a committed request with this token ran before (see fn)
                replayed = _replay({}, ops, capacity_mode)
                if tokens is not None:
                    tokens.finish(token, {})  # type: ignore[arg-type]
                out.set_result(replayed)
                return
            resp: dict[str, Any] = {}
            if capacity_mode in ("TOTAL", "INDEXES"):
                resp["ConsumedCapacity"] = write_capacity(ops, f.result(), capacity_mode, factor=2.0, split=True)
            if metrics:
                from eddydb.engine.batch import item_collection_metrics

                icm = item_collection_metrics([op for op in ops if type(op).__name__ != "ConditionCheckOp"])
                if icm:
                    resp["ItemCollectionMetrics"] = icm
            if tokens is not None:
                tokens.finish(token, resp)  # type: ignore[arg-type]
            out.set_result(resp)
        except BaseException as e:  # noqa: BLE001
            out.set_exception(e)

    inner = engine.writer.submit(fn, inline=True)
    out = WriteFuture(waiting_on(inner))
    inner.add_done_callback(done)
    return out


def _replay(cached: dict, ops: list, capacity_mode: str | None) -> dict:
    """A repeated idempotent request changes nothing; DynamoDB reports read capacity for it."""
    resp: dict[str, Any] = {}
    if capacity_mode in ("TOTAL", "INDEXES"):
        consumed: dict[str, Consumed] = {}
        for op in ops:
            c = consumed.setdefault(op.table.name, Consumed(op.table.name, "read", split=True))
            c.add_table(read_units(0, True))
        resp["ConsumedCapacity"] = [c.render(capacity_mode) for c in consumed.values()]
    if "ItemCollectionMetrics" in cached:
        resp["ItemCollectionMetrics"] = cached["ItemCollectionMetrics"]
    return resp


def transact_get(engine: Any, gets: list[tuple[Any, dict, Any, Any]], capacity_mode: str | None = None) -> dict:
    """gets: (table, key, project-fn | None, hide-fn | None) in request order; one snapshot for all."""
    import orjson

    responses: list[dict] = []
    consumed: dict[str, Consumed] = {}
    with engine.store.read() as r:
        engine.check_tables(r, [g[0] for g in gets])
        for table, key, project, hide in gets:
            raw = r.get_item(table.table_id, *item_key(table, key))
            c = consumed.setdefault(table.name, Consumed(table.name, "read", split=True))
            if raw is None:
                c.add_table(2 * read_units(0, True))
                responses.append({})
                continue
            item = orjson.loads(raw)
            c.add_table(2 * read_units(item_size(item), True))
            if hide is not None and hide(item):
                responses.append({})
                continue
            if project is not None:
                item = project(item)
            responses.append({"Item": item})
    out: dict[str, Any] = {"Responses": responses}
    if capacity_mode in ("TOTAL", "INDEXES"):
        out["ConsumedCapacity"] = [c.render(capacity_mode) for c in consumed.values()]
    return out
