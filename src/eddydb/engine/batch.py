"""BatchGetItem and BatchWriteItem semantics on validated requests.

BatchWriteItem runs every put/delete of the request in ONE writer function (one savepoint of the
group-commit transaction), each through `engine.items.execute` and so `engine.writes.apply_change`
(indexes, TTL expiry, stream records). BatchGetItem reads all keys from one snapshot and stops at
16 MB, returning the rest as UnprocessedKeys. Called by api/batch.py.
"""
from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from eddydb.engine.capacity import Consumed, read_units, write_units
from eddydb.engine.catalog import TableMeta
from eddydb.engine.futures import WriteFuture, waiting_on
from eddydb.engine.items import DeleteOp, PutOp, execute
from eddydb.engine.writes import item_key
from eddydb.model.errors import (
    ConditionalCheckFailedException,
    DuplicateItemException,
    EddyError,
    ResourceNotFoundException,
    ValidationException,
)
from eddydb.model.size import item_size

__all__ = ["MAX_RESPONSE_BYTES", "GetRequest", "batch_get", "batch_write", "execute_each"]

MAX_RESPONSE_BYTES = 16 * 1024 * 1024


@dataclass
class GetRequest:
    """One table's part of a BatchGetItem (keys validated; `project` maps an item to its projection)."""
    table: TableMeta
    keys: list[dict]
    project: Callable[[dict], dict] | None = None
    consistent: bool = False
    raw: dict = field(default_factory=dict)   # the request's KeysAndAttributes (for UnprocessedKeys)
    hide: Callable[[dict], bool] | None = None  # ttl_hide_expired: True = treat the item as absent
    label: str | None = None   # the RequestItems key (a name or an ARN) Responses/UnprocessedKeys answer under


def batch_get(engine: Any, requests: list[GetRequest], capacity_mode: str | None = None) -> dict[str, Any]:
    import orjson

    responses: dict[str, list[dict]] = {}
    unprocessed: dict[str, dict] = {}
    consumed: dict[str, Consumed] = {}
    total = 0
    full = False  # the response holds as much as it may: every key from here on is unprocessed
    with engine.store.read() as r:
        engine.check_tables(r, [req.table for req in requests])
        for req in requests:
            label = req.label or req.table.name
            out = responses.setdefault(label, [])
            c = consumed.setdefault(req.table.name, Consumed(req.table.name, "read"))
            for i, key in enumerate(req.keys):
                raw = None if full else r.get_item(req.table.table_id, *item_key(req.table, key))
                if raw is not None:
                    item = orjson.loads(raw)
                    size = item_size(item)
                    full = total + size > MAX_RESPONSE_BYTES  # never past 16 MB: this item waits too
                if full:
                    rest = dict(req.raw)
                    rest["Keys"] = req.keys[i:]
                    unprocessed[label] = rest
                    break
                if raw is None:
                    c.add_table(read_units(0, req.consistent))
                    continue
                c.add_table(read_units(size, req.consistent))
                if req.hide is not None and req.hide(item):
                    continue
                if req.project is not None:
                    item = req.project(item)
                total += size
                out.append(item)
    result: dict[str, Any] = {"Responses": responses, "UnprocessedKeys": unprocessed}
    if capacity_mode in ("TOTAL", "INDEXES"):
        result["ConsumedCapacity"] = [c.render(capacity_mode) for c in consumed.values()]
    return result


def batch_write(engine: Any, ops: list[PutOp | DeleteOp], capacity_mode: str | None = None,
                metrics: bool = False) -> Future:
    """Apply every op in one writer function; resolves to the BatchWriteItem response."""

    def fn(txn: Any) -> list[tuple[Any, Any]]:
        return [execute(txn, op) for op in ops]

    inner = engine.writer.submit(fn, inline=True)
    out = WriteFuture(waiting_on(inner))

    def done(f: Future) -> None:
        exc = f.exception()
        if exc is not None:
            out.set_exception(exc)
            return
        try:
            out.set_result(_write_response(ops, f.result(), capacity_mode, metrics))
        except BaseException as e:  # noqa: BLE001
            out.set_exception(e)

    inner.add_done_callback(done)
    return out


def execute_each(txn: Any, ops: list[Any]) -> list[tuple[Any, Any] | EddyError]:
    """Run independent ops in one writer function (BatchExecuteStatement): each op's (old, new), or the
    error that op alone failed with (a failed op has written nothing: `execute` checks before it writes)."""
    out: list[tuple[Any, Any] | EddyError] = []
    for op in ops:
        try:
            out.append(execute(txn, op))
        except (ConditionalCheckFailedException, DuplicateItemException, ValidationException,
                ResourceNotFoundException) as e:
            out.append(e)
    return out


def _write_response(ops: list, images: list[tuple[Any, Any]], capacity_mode: str | None,
                    metrics: bool, factor: float = 1.0) -> dict[str, Any]:
    result: dict[str, Any] = {"UnprocessedItems": {}}
    if capacity_mode in ("TOTAL", "INDEXES"):
        result["ConsumedCapacity"] = write_capacity(ops, images, capacity_mode, factor)
    if metrics:
        result["ItemCollectionMetrics"] = item_collection_metrics(ops)
    return result


def write_capacity(ops: list, images: list[tuple[Any, Any]], mode: str, factor: float = 1.0,
                   split: bool = False) -> list[Any]:
    """ConsumedCapacity per table of `ops` (`factor` 2 and `split` for a transaction)."""
    from eddydb.engine.capacity import index_write_units

    consumed: dict[str, Consumed] = {}
    for op, (old, new) in zip(ops, images):
        t = op.table
        c = consumed.setdefault(t.name, Consumed(t.name, "write", split))
        if type(op).__name__ == "ConditionCheckOp":
            c.add_table(read_units(item_size(old) if old else 0, True) * factor)
            continue
        size = max(item_size(old) if old else 0, item_size(new) if new else 0)
        c.add_table(write_units(size) * factor)
        if t.indexes:
            for index, units in index_write_units(t, old, new):
                c.add_index(index, units * factor)
    return [c.render(mode) for c in consumed.values()]


def item_collection_metrics(ops: list) -> dict[str, list]:
    """ItemCollectionMetrics (only tables with a local secondary index have item collections)."""
    out: dict[str, list] = {}
    for op in ops:
        t = op.table
        if not t.lsis():
            continue
        key = op.item if isinstance(op, PutOp) else op.key
        hk = t.key.hash_name
        out.setdefault(t.name, []).append(
            {"ItemCollectionKey": {hk: key[hk]}, "SizeEstimateRangeGB": [0.0, 1.0]})
    return out
