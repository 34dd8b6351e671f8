"""Single-item write operations as data: PutOp, UpdateOp, DeleteOp, ConditionCheckOp, and
`execute(txn, op)` that runs one inside the writer transaction (read old, check the condition,
compute new, validate it, `apply_change`).

Built (validated, expressions parsed) on the caller's thread by api/items.py, api/batch.py
(BatchWriteItem, TransactWriteItems) and the embedded API; executed on the writer thread.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from eddydb.engine import exprs
from eddydb.engine.catalog import TableMeta
from eddydb.engine.writes import apply_change, expires_of, item_key
from eddydb.model.errors import (
    ConditionalCheckFailedException,
    DuplicateItemException,
    ResourceNotFoundException,
    ValidationException,
)
from eddydb.model.size import item_size, value_size
from eddydb.storage.base import WriteTxn

__all__ = [
    "MAX_ITEM_SIZE",
    "ConditionCheckOp",
    "DeleteOp",
    "Op",
    "PutOp",
    "UpdateOp",
    "check_index_keys",
    "current_table",
    "execute",
    "key_of",
]

MAX_ITEM_SIZE = 400 * 1024
_loads = orjson.loads


def key_of(table: TableMeta, item: dict) -> dict:
    """The key attributes of an item."""
    ks = table.key
    if ks.range_name is None:
        return {ks.hash_name: item[ks.hash_name]}
    return {ks.hash_name: item[ks.hash_name], ks.range_name: item[ks.range_name]}


@dataclass(slots=True)
class PutOp:
    """PutItem: replace the item at its key with `item` (validated, normalised, size-checked)."""
    table: TableMeta
    item: dict
    condition: Any = None              # parsed condition tree (expressions) or None
    return_old_on_fail: bool = False   # ReturnValuesOnConditionCheckFailure=ALL_OLD
    user_identity: dict | None = None
    raw: bytes | None = None           # orjson bytes of `item` when the caller already has them
    want_old: bool = True              # False: the caller ignores `old` (no ReturnValues/capacity), so a
                                       # table without indexes/stream skips reading it
    insert: bool = False               # PartiQL INSERT: DuplicateItemException when an item exists at the key
    skey: tuple | None = None          # item_key(table, item) when the caller already computed it


@dataclass(slots=True)
class UpdateOp:
    """UpdateItem: apply `plan` (expressions.UpdatePlan, or None = no change) to the item at `key`,
    creating it from the key when absent."""
    table: TableMeta
    key: dict
    plan: Any = None
    condition: Any = None
    return_old_on_fail: bool = False
    user_identity: dict | None = None
    skey: tuple | None = None          # item_key(table, key) when the caller already computed it


@dataclass(slots=True)
class DeleteOp:
    """DeleteItem: remove the item at `key` (if present)."""
    table: TableMeta
    key: dict
    condition: Any = None
    return_old_on_fail: bool = False
    user_identity: dict | None = None
    want_old: bool = True              # False: blind delete on a table without indexes/stream
    skey: tuple | None = None          # item_key(table, key) when the caller already computed it


@dataclass(slots=True)
class ConditionCheckOp:
    """TransactWriteItems' ConditionCheck: check `condition` against the item at `key`, change nothing."""
    table: TableMeta
    key: dict
    condition: Any = None
    return_old_on_fail: bool = False
    skey: tuple | None = None          # item_key(table, key) when the caller already computed it


Op = PutOp | UpdateOp | DeleteOp | ConditionCheckOp


def _evaluate(condition: Any, item: dict | None) -> bool:
    return bool(exprs.fn("evaluate")(condition, item if item is not None else {}))


_EMPTY_KIND = {"S": "string", "B": "binary"}
# An index key attribute has the table key's size limits. DynamoDB's wording for an index key is not
# documented; these are its messages for the table key (quirky "of2048" included).
_MAX_INDEX_KEY = (2048, 1024)
_TOO_BIG = ("One or more parameter values were invalid: Size of hashkey has exceeded the maximum size limit of2048 bytes",
            ("One or more parameter values were invalid: Aggregated size of all range keys has exceeded the size "
             "limit of 1024 bytes"))


def check_index_keys(table: TableMeta, item: dict, *, update: bool = False) -> None:
    """Reject an item whose secondary-index key attribute has the wrong type, is empty or too large."""
    for index in table.indexes.values():
        ks = index.key
        for pos, (name, typ) in enumerate(((ks.hash_name, ks.hash_type), (ks.range_name, ks.range_type))):
            if name is None:
                continue
            v = item.get(name)
            if v is None:
                continue
            if typ not in v:
                actual = next(iter(v))
                raise ValidationException(
                    f"One or more parameter values were invalid: Type mismatch for Index Key {name} "
                    f"Expected: {typ} Actual: {actual} IndexName: {index.name}")
            if v[typ] == "" and typ in ("S", "B"):
                if update:
                    raise ValidationException(
                        "One or more parameter values are not valid. The update expression attempted to update "
                        "a secondary index key to a value that is not supported. The AttributeValue for a key "
                        f"attribute cannot contain an empty {_EMPTY_KIND[typ]} value. IndexName: {index.name}, "
                        f"IndexKey: {name}")
                raise ValidationException(
                    "One or more parameter values are not valid. A value specified for a secondary index key "
                    f"is not supported. The AttributeValue for a key attribute cannot contain an empty {_EMPTY_KIND[typ]} "
                    f"value. IndexName: {index.name}, IndexKey: {name}")
            # n characters of a string (or of base64) are at most 4n bytes: exact sizes only for long values
            if typ != "N" and len(v[typ]) * 4 > _MAX_INDEX_KEY[pos] and value_size(v) > _MAX_INDEX_KEY[pos]:
                raise ValidationException(_TOO_BIG[pos])


def _fail(op: Any, old: dict | None) -> ConditionalCheckFailedException:
    if op.return_old_on_fail and old is not None:
        return ConditionalCheckFailedException(item=old)
    return ConditionalCheckFailedException()


_MISSING = object()

# table_id -> how much recent condition-free puts found their key taken (+2 per taken key, -1 per new
# one). Past _TAKEN_LIMIT (overwrites dominate) PutItem reads the old item first, as an insert attempt
# would only add a statement. Touched by the writer only (one batch at a time).
_taken: dict[int, int] = {}
_TAKEN_LIMIT = 8


def current_table(txn: WriteTxn, table: TableMeta) -> TableMeta:
    """The table as it is now inside `txn` (an UpdateTable earlier in the batch, or committed since the
    op was built, may have changed its indexes/TTL/stream); ResourceNotFoundException if it is gone."""
    ov = getattr(txn, "table_overlay", None)
    t: Any = _MISSING
    if ov:
        t = ov.get(table.name, _MISSING)
    if t is _MISSING:
        find = getattr(getattr(txn, "store", None), "find_table", None)
        if find is None:
            return table
        t = find(table.name)
    if t is None or t.table_id != table.table_id:
        raise ResourceNotFoundException("Requested resource not found")
    return t


def execute(txn: WriteTxn, op: Op) -> tuple[dict | None, dict | None]:
    """Run one op in `txn`; returns (old, new) item images (new is old for ConditionCheck).
    Raises ConditionalCheckFailedException (with Item when asked) or ValidationException,
    ResourceNotFoundException when the table was deleted meanwhile."""
    table = current_table(txn, op.table)
    if table is not op.table:
        op.table = table
    if type(op) is PutOp:
        item = op.item
        skey = op.skey or item_key(table, item)
        new_bytes = op.raw if op.raw is not None else orjson.dumps(item)
        if (not op.want_old and op.condition is None and not op.insert and not table.indexes
                and (table.stream is None or not table.stream.enabled)):
            # Nothing needs the old image: a blind replace (the hot path of plain PutItem).
            txn.put_item(table.table_id, skey[0], skey[1], skey[2], new_bytes, expires_of(table, item))
            return None, item
        taken = _taken.get(table.table_id, 0)
        if op.condition is None:
            if table.indexes:
                check_index_keys(table, item)
            # Without a condition the old image matters only if there is one: while the table's recent
            # puts mostly hit new keys, insert first and read the old item only when the key is taken
            # (a new key costs one statement instead of two, an existing one three).
            if taken < _TAKEN_LIMIT:
                if txn.insert_item_if_absent(table.table_id, skey[0], skey[1], skey[2], new_bytes,
                                             expires_of(table, item)):
                    if taken:
                        _taken[table.table_id] = taken - 1
                    apply_change(txn, table, item, None, item, user_identity=op.user_identity,
                                 storage_key=skey, new_bytes=new_bytes, row_written=True)
                    return None, item
                _taken[table.table_id] = taken + 2
                if op.insert:
                    raise DuplicateItemException()
        raw = txn.get_item(table.table_id, *skey)
        old = None if raw is None else _loads(raw)
        if raw is None and taken and op.condition is None:
            _taken[table.table_id] = taken - 1   # a new key after all: lean back towards insert-first
        if op.insert and old is not None:
            raise DuplicateItemException()
        if op.condition is not None:
            if not _evaluate(op.condition, old):
                raise _fail(op, old)
            if table.indexes:
                check_index_keys(table, item)
        apply_change(txn, table, item, old, item, user_identity=op.user_identity, storage_key=skey,
                     new_bytes=new_bytes)
        return old, item
    assert not isinstance(op, PutOp)
    skey = op.skey or item_key(table, op.key)
    if (type(op) is DeleteOp and not op.want_old and op.condition is None and not table.indexes
            and (table.stream is None or not table.stream.enabled)):
        txn.delete_item(table.table_id, *skey)
        return None, None
    raw = txn.get_item(table.table_id, *skey)
    old = None if raw is None else _loads(raw)
    if op.condition is not None and not _evaluate(op.condition, old):
        raise _fail(op, old)
    if type(op) is UpdateOp:
        if op.plan is None:
            new = dict(old) if old is not None else dict(op.key)
        else:
            new = exprs.fn("apply_update")(op.plan, dict(old) if old is not None else dict(op.key))
            if old is None and op.plan.only_deletes():  # a missing item stays missing, its paths still checked
                return None, None
        new_bytes = orjson.dumps(new)
        # the JSON text is never shorter than DynamoDB's item size: exact sizes only for big items
        if len(new_bytes) > MAX_ITEM_SIZE and item_size(new) > MAX_ITEM_SIZE:
            raise ValidationException("Item size to update has exceeded the maximum allowed size")
        if table.indexes:
            check_index_keys(table, new, update=True)
        apply_change(txn, table, op.key, old, new, user_identity=op.user_identity, storage_key=skey,
                     new_bytes=new_bytes)
        return old, new
    if type(op) is DeleteOp:
        if old is not None:
            apply_change(txn, table, op.key, old, None, user_identity=op.user_identity, storage_key=skey)
        return old, None
    return old, old
