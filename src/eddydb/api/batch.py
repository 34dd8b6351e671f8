"""Multi-item operations in AWS shape: BatchGetItem, BatchWriteItem, TransactWriteItems and
TransactGetItems.

Each handler validates the whole request with DynamoDB's messages on the calling thread (request
limits, duplicate keys, per-item validation shared with api/items.py), builds engine ops and
delegates to engine/batch.py and engine/transactions.py. Registered through `OPERATIONS` by
api/dispatch.py.
"""
from __future__ import annotations

import time
from concurrent.futures import Future
from typing import Any

import orjson

from eddydb.api import items as I
from eddydb.api import prevalidate as P
from eddydb.engine import batch as B
from eddydb.engine import transactions as TX
from eddydb.engine.catalog import TableMeta
from eddydb.engine.items import ConditionCheckOp, DeleteOp, PutOp, UpdateOp, check_index_keys
from eddydb.engine.writes import item_key
from eddydb.model.errors import ResourceNotFoundException, ValidationException

__all__ = ["OPERATIONS"]

_MAX_GET = 100
_MAX_WRITE = 25
_MAX_TRANSACT = 100
_DUP_KEYS = P.DUPLICATE_KEYS
_DUP_TXN = "Transaction request cannot include multiple operations on one item"


def _coral(msg: str) -> ValidationException:
    return ValidationException("1 validation error detected: " + msg)


def _table(inst: Any, name: Any) -> TableMeta:
    from eddydb.api.tables import validate_table_name

    resolved = validate_table_name(name)
    t = inst.engine.find_table(resolved)
    if t is None:
        raise ResourceNotFoundException("Requested resource not found")
    return t


def _request_items(req: dict) -> dict:
    ri = req.get("RequestItems")
    if ri is None:
        raise _coral("Value null at 'requestItems' failed to satisfy constraint: Member must not be null")
    if type(ri) is not dict:
        raise ValidationException("RequestItems must be a map")
    if not ri:
        raise _coral("Value '{}' at 'requestItems' failed to satisfy constraint: Member must have length greater "
                     "than or equal to 1")
    return ri


def _check_expression_maps(spec: dict) -> None:
    """Wrong JSON types in the expression members answer a ValidationException (never a 500)."""
    for k in ("ExpressionAttributeNames", "ExpressionAttributeValues"):
        v = spec.get(k)
        if v is not None and type(v) is not dict:
            raise ValidationException(f"{k} must be a map")
    atg = spec.get("AttributesToGet")
    if atg is not None and (type(atg) is not list or any(type(a) is not str for a in atg)):
        raise ValidationException("AttributesToGet must be a list of attribute names")
    for k in ("ProjectionExpression", "ConditionExpression", "UpdateExpression"):
        v = spec.get(k)
        if v is not None and type(v) is not str:
            raise ValidationException(f"{k} must be a string")


def _capacity(req: dict) -> str | None:
    return I._rcc(req)


def _hider(inst: Any, table: TableMeta) -> Any:
    """The ttl_hide_expired predicate for reads of `table` (None when nothing is hidden)."""
    if not getattr(inst.engine.settings, "ttl_hide_expired", False) or table.ttl_attribute is None:
        return None
    from eddydb.engine.ttl import is_expired

    now = time.time()
    return lambda item: is_expired(table, item, now)


# --- BatchGetItem -----------------------------------------------------------------------------------------
def batch_get_item(inst: Any, req: dict) -> dict:
    ri = _request_items(req)
    rcc = _capacity(req)
    total = 0
    for name, kaa in ri.items():
        if type(kaa) is not dict:
            raise ValidationException("RequestItems values must be KeysAndAttributes maps")
        keys = kaa.get("Keys")
        if keys is None:
            raise _coral(f"Value null at 'requestItems.{name}.member.keys' failed to satisfy constraint: "
                         "Member must not be null")
        if type(keys) is not list:
            raise ValidationException("Keys must be a list")
        if len(keys) > _MAX_GET:
            raise _coral(f"Value at 'requestItems.{name}.member.keys' failed to satisfy constraint: Member must "
                         f"have length less than or equal to {_MAX_GET}")
        if not keys:
            raise _coral(f"Value '[]' at 'requestItems.{name}.member.keys' failed to satisfy constraint: Member "
                         "must have length greater than or equal to 1")
        total += len(keys)
    if total > _MAX_GET:
        raise ValidationException("Too many items requested for the BatchGetItem call")
    requests: list[B.GetRequest] = []
    seen: set[tuple] = set()   # across entries: a table may be named once by its name and once by its ARN
    for name, kaa in ri.items():
        try:
            table = _table(inst, name)
        except ResourceNotFoundException:
            P.check_batch_get_without_tables(ri)  # DynamoDB's checks before its table lookups
            raise
        _check_expression_maps(kaa)
        paths = I.compile_expressions(kaa, operation="GetItem").projection
        consistent = I._consistent(kaa)  # JSON null is an absent member
        keys = []
        for k in kaa["Keys"]:
            key = I.validate_key(table, k)
            ident = (table.table_id, *item_key(table, key))
            if ident in seen:
                raise ValidationException(_DUP_KEYS)
            seen.add(ident)
            keys.append(key)
        project = None
        if paths is not None:
            I.check_key_paths(table, paths.nested)
            project = _projector(paths)
        requests.append(B.GetRequest(table, keys, project, consistent, dict(kaa), _hider(inst, table), label=name))
    return B.batch_get(inst.engine, requests, rcc)


def _projector(paths: Any) -> Any:
    from eddydb.expressions import project

    return lambda item: project(item, paths)


# --- BatchWriteItem ---------------------------------------------------------------------------------------
def batch_write_item(inst: Any, req: dict) -> Future:
    ri = _request_items(req)
    rcc = _capacity(req)
    ricm = I._ricm(req)
    total = 0
    for name, lst in ri.items():
        if type(lst) is not list:
            raise ValidationException("RequestItems values must be lists of WriteRequest")
        if len(lst) > _MAX_WRITE or not lst:
            raise _coral(f"Value '{{{name}={lst}}}' at 'requestItems' failed to satisfy constraint: Map value must "
                         f"satisfy constraint: [Member must have length less than or equal to {_MAX_WRITE}, Member "
                         "must have length greater than or equal to 1]")
        total += len(lst)
    if total > _MAX_WRITE:
        raise ValidationException("Too many items requested for the BatchWriteItem call")
    ops: list[PutOp | DeleteOp] = []
    seen: set[tuple] = set()
    want_old = rcc is not None  # only consumed capacity needs the replaced items (their size)
    for name, lst in ri.items():
        try:
            table = _table(inst, name)
        except ResourceNotFoundException:
            P.check_batch_write_without_tables(ri)  # DynamoDB's checks before its table lookups
            raise
        for wr in lst:
            if type(wr) is not dict:
                raise ValidationException("WriteRequest must be a map")
            put, delete = wr.get("PutRequest"), wr.get("DeleteRequest")
            if (put is None) == (delete is None):
                raise ValidationException("Supplied WriteRequest must contain exactly one of PutRequest or "
                                          "DeleteRequest" if put is None else
                                          "A WriteRequest can only contain one of PutRequest or DeleteRequest")
            if put is not None:
                if type(put) is not dict:
                    raise ValidationException("PutRequest must be a map")
                item = I.validate_put_item(table, put.get("Item"), check_size=False)
                sk = item_key(table, item)
                op: PutOp | DeleteOp = PutOp(table, item, raw=I._put_bytes(item), want_old=want_old, skey=sk)
            else:
                if type(delete) is not dict:
                    raise ValidationException("DeleteRequest must be a map")
                key = I.validate_key(table, delete.get("Key"))
                sk = item_key(table, key)
                op = DeleteOp(table, key, want_old=want_old, skey=sk)
            ident = (table.table_id, *sk)
            if ident in seen:
                raise ValidationException(_DUP_KEYS)
            seen.add(ident)
            ops.append(op)
    return B.batch_write(inst.engine, ops, rcc, ricm)


# --- TransactWriteItems -----------------------------------------------------------------------------------
_TX_KINDS = ("ConditionCheck", "Put", "Delete", "Update")


def _transact_items(req: dict, member: str = "TransactWriteItem") -> list:
    """TransactItems of a TransactWriteItems / TransactGetItems request, with coral's length checks."""
    items = req.get("TransactItems")
    if items is None:
        raise _coral("Value null at 'transactItems' failed to satisfy constraint: Member must not be null")
    if type(items) is not list:
        raise ValidationException("TransactItems must be a list")
    if not items:
        raise _coral("Value '[]' at 'transactItems' failed to satisfy constraint: Member must have length "
                     "greater than or equal to 1")
    if len(items) > _MAX_TRANSACT:
        raise _coral(f"Value '[{', '.join(member for _ in items)}]' at 'transactItems' failed to "
                     f"satisfy constraint: Member must have length less than or equal to {_MAX_TRANSACT}")
    return items


_TX_OPERATION = {"Put": "PutItem", "Delete": "DeleteItem", "Update": "UpdateItem", "ConditionCheck": "DeleteItem"}
_TX_EXPR_FIELDS = ("ConditionExpression", "UpdateExpression", "ExpressionAttributeNames", "ExpressionAttributeValues")


def _tx_op(inst: Any, kind: str, spec: dict, i: int) -> Any:
    if type(spec) is not dict:
        raise ValidationException(f"{kind} must be a map")
    table = _table(inst, spec.get("TableName"))
    rvccf = I._rvccf(spec)
    if kind == "ConditionCheck" and spec.get("ConditionExpression") is None:
        raise _coral(f"Value null at 'transactItems.{i}.member.conditionCheck.conditionExpression' failed to "
                     "satisfy constraint: Member must not be null")
    if kind == "Update" and spec.get("UpdateExpression") is None:
        raise _coral(f"Value null at 'transactItems.{i}.member.update.updateExpression' failed to satisfy "
                     "constraint: Member must not be null")
    # only the expression members exist in a transaction item (no legacy Expected/AttributeUpdates)
    _check_expression_maps(spec)
    exprs = {k: spec[k] for k in _TX_EXPR_FIELDS if k in spec}
    compiled = I.compile_expressions(exprs, operation="Transact" + _TX_OPERATION[kind])
    cond = compiled.condition
    if kind == "Put":
        item = I.validate_put_item(table, spec.get("Item"))
        if table.indexes:
            # invalid on its own (not because of the table's state): rejected before the transaction, as DynamoDB does
            check_index_keys(table, item)
        sk = item_key(table, item)
        return PutOp(table, item, cond, rvccf, skey=sk), sk
    key = I.validate_key(table, spec.get("Key"))
    sk = item_key(table, key)
    if kind == "Delete":
        return DeleteOp(table, key, cond, rvccf, skey=sk), sk
    if kind == "ConditionCheck":
        return ConditionCheckOp(table, key, cond, rvccf, skey=sk), sk
    plan = compiled.update
    I.check_update_plan(table, plan)
    return UpdateOp(table, key, plan, cond, rvccf, skey=sk), sk


def transact_write_items(inst: Any, req: dict) -> Future:
    items = _transact_items(req)
    rcc = _capacity(req)
    ricm = I._ricm(req)
    token = req.get("ClientRequestToken")
    if token is not None:
        if type(token) is not str:
            raise ValidationException("ClientRequestToken must be a string")
        if not 1 <= len(token) <= 36:
            raise _coral(f"Value '{token}' at 'clientRequestToken' failed to satisfy constraint: Member must have "
                         f"length {'less than or equal to 36' if len(token) > 36 else 'greater than or equal to 1'}")
    ops = []
    seen: set[tuple] = set()
    for i, ti in enumerate(items, 1):
        if type(ti) is not dict:
            raise ValidationException("TransactItems elements must be maps")
        kinds = [k for k in _TX_KINDS if ti.get(k) is not None]
        if len(kinds) != 1:
            raise ValidationException("TransactItems can only contain one of Check, Put, Update or Delete")
        try:
            op, sk = _tx_op(inst, kinds[0], ti[kinds[0]], i)
        except ResourceNotFoundException:
            P.check_transact_write_without_tables(items)  # DynamoDB's checks before its table lookups
            raise
        ident = (op.table.table_id, *sk)
        if ident in seen:
            raise ValidationException(_DUP_TXN)
        seen.add(ident)
        ops.append(op)
    TX.check_write_size(ops)
    fingerprint = b""
    if token is not None:
        fp = {k: v for k, v in req.items() if k not in ("ReturnConsumedCapacity", "ClientRequestToken")}
        fingerprint = orjson.dumps(fp, option=orjson.OPT_SORT_KEYS)
    return TX.transact_write(inst.engine, ops, token=token, fingerprint=fingerprint, capacity_mode=rcc,
                             metrics=ricm)


# --- TransactGetItems -------------------------------------------------------------------------------------
def transact_get_items(inst: Any, req: dict) -> dict:
    items = _transact_items(req, "TransactGetItem")
    rcc = _capacity(req)
    gets = []
    seen: set[tuple] = set()
    for i, ti in enumerate(items, 1):
        if type(ti) is not dict or type(ti.get("Get")) is not dict:
            raise _coral(f"Value null at 'transactItems.{i}.member.get' failed to satisfy constraint: Member must "
                         "not be null")
        spec = ti["Get"]
        try:
            table = _table(inst, spec.get("TableName"))
        except ResourceNotFoundException:
            P.check_transact_get_without_tables(items)  # DynamoDB's checks before its table lookups
            raise
        key = I.validate_key(table, spec.get("Key"))
        _check_expression_maps(spec)
        exprs = {k: spec[k] for k in ("ProjectionExpression", "ExpressionAttributeNames") if k in spec}
        paths = I.compile_expressions(exprs, operation="GetItem").projection
        if paths is not None:
            I.check_key_paths(table, paths.nested)
        ident = (table.table_id, *item_key(table, key))
        if ident in seen:
            raise ValidationException(_DUP_TXN)
        seen.add(ident)
        gets.append((table, key, _projector(paths) if paths is not None else None, _hider(inst, table)))
    return TX.transact_get(inst.engine, gets, rcc)


OPERATIONS = {
    "BatchGetItem": batch_get_item,
    "BatchWriteItem": batch_write_item,
    "TransactWriteItems": transact_write_items,
    "TransactGetItems": transact_get_items,
}
