"""The checks of an item request that do not need its table.

DynamoDB validates attribute values, the item size, every expression and a Query's or Scan's
Select before it looks the table up, so a request that is both invalid and aimed at a missing
table answers the ValidationException, not ResourceNotFoundException. api/items.py calls
`check_without_table` only when the table is missing (an existing table's requests are checked
as they are built).
"""
from __future__ import annotations

from typing import Any

from eddydb.engine.items import MAX_ITEM_SIZE
from eddydb.expressions.parser import parse_condition, parse_projection
from eddydb.expressions.request import check_attribute_maps, check_usage, compile_request
from eddydb.model.errors import ValidationException
from eddydb.model.size import item_size
from eddydb.model.values import validate_item, validate_value

__all__ = [
    "DUPLICATE_KEYS",
    "check_batch_get_without_tables",
    "check_batch_write_without_tables",
    "check_transact_get_without_tables",
    "check_transact_write_without_tables",
    "check_without_table",
]

DUPLICATE_KEYS = "Provided list of item keys contains duplicates"


def _values(m: Any) -> None:
    if isinstance(m, dict):
        for av in m.values():
            validate_value(av)


def _query_expressions(req: dict) -> None:
    """compile_request's checks for a Query, with the key condition parsed as a plain condition
    (its shape against the key schema needs the table; mixing it with legacy parameters is left
    to the check that runs once the table exists)."""
    kce = req.get("KeyConditionExpression")
    if kce is None:
        if req.get("KeyConditions") is None:
            raise ValidationException("Either the KeyConditions or KeyConditionExpression parameter must be "
                                      "specified in the request.")
        compile_request({k: v for k, v in req.items() if k != "KeyConditions"}, operation="Query")
        return
    names, values = req.get("ExpressionAttributeNames"), req.get("ExpressionAttributeValues")
    if values == {}:  # worded as compile_request words it for a Query
        raise ValidationException("1 validation error detected: ExpressionAttributeValues must not be empty")
    check_attribute_maps(names, values)
    kc = parse_condition(kce, names, values, kind="KeyConditionExpression")
    flt = proj = None
    if req.get("FilterExpression") is not None:
        flt = parse_condition(req["FilterExpression"], names, values, kind="FilterExpression")
    if req.get("ProjectionExpression") is not None:
        proj = parse_projection(req["ProjectionExpression"], names)
    check_usage(names, values, kc, flt, proj)


def check_without_table(req: dict, operation: str) -> None:
    """Raise the ValidationException DynamoDB would give `req` before looking its table up, if any
    (`operation` "TransactPutItem"... for the actions of a transaction)."""
    kind = operation.removeprefix("Transact")
    if kind == "PutItem":
        item = req.get("Item")
        if isinstance(item, dict):
            item = validate_item(item)
        if operation == "PutItem":
            from eddydb.api.items import check_old_return_values  # api.items imports this module

            check_old_return_values(req)
        if isinstance(item, dict) and item_size(item) > MAX_ITEM_SIZE:
            raise ValidationException("Item size has exceeded the maximum allowed size")
    elif kind in ("GetItem", "UpdateItem", "DeleteItem"):
        _values(req.get("Key"))
        if operation == "DeleteItem":
            from eddydb.api.items import check_old_return_values

            check_old_return_values(req)
    elif kind == "Scan":
        from eddydb.api.items import check_segments  # api.items imports this module

        check_segments(req)
    if operation == "Query":
        _query_expressions(req)
    else:
        compile_request(req, operation=operation)
    if operation in ("Query", "Scan"):
        from eddydb.api.items import check_select

        check_select(req, "Querying" if operation == "Query" else "Scanning")


def check_batch_get_without_tables(request_items: dict) -> None:
    """BatchGetItem: per table, the key values, a key given twice (the same attribute values;
    equal numbers written differently need the key schema) and the expressions."""
    for kaa in request_items.values():
        if not isinstance(kaa, dict):
            continue
        keys = kaa.get("Keys")
        seen: list[Any] = []
        for key in keys if isinstance(keys, list) else ():
            _values(key)
            if key in seen:
                raise ValidationException(DUPLICATE_KEYS)
            seen.append(key)
        compile_request({k: v for k, v in kaa.items() if k != "Keys"}, operation="GetItem")


def check_transact_get_without_tables(items: list) -> None:
    """TransactGetItems: the key values and expressions of every Get."""
    for ti in items:
        spec = ti.get("Get") if isinstance(ti, dict) else None
        if isinstance(spec, dict):
            check_without_table({k: v for k, v in spec.items() if k != "TableName"}, "GetItem")


def check_batch_write_without_tables(request_items: dict) -> None:
    """BatchWriteItem: the values and sizes of every PutRequest item and DeleteRequest key."""
    for lst in request_items.values():
        for wr in lst if isinstance(lst, list) else ():
            if not isinstance(wr, dict):
                continue
            put, delete = wr.get("PutRequest"), wr.get("DeleteRequest")
            if isinstance(put, dict):
                check_without_table(put, "PutItem")
            elif isinstance(delete, dict):
                _values(delete.get("Key"))


_TX_OPERATION = {"Put": "TransactPutItem", "Update": "TransactUpdateItem", "Delete": "TransactDeleteItem",
                 "ConditionCheck": "TransactDeleteItem"}


def check_transact_write_without_tables(items: list) -> None:
    """TransactWriteItems: the values, item sizes and expressions of every action."""
    for ti in items:
        if not isinstance(ti, dict):
            continue
        for kind, operation in _TX_OPERATION.items():
            spec = ti.get(kind)
            if isinstance(spec, dict):
                check_without_table({k: v for k, v in spec.items() if k != "ReturnValuesOnConditionCheckFailure"},
                                    operation)
