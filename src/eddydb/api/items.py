"""DynamoDB item operations in AWS shape: PutItem, GetItem, UpdateItem, DeleteItem, Query, Scan.

Each handler validates the request with DynamoDB's messages, parses its expressions (or
translates the legacy parameters) on the calling thread, then either reads inline (GetItem,
Query, Scan) or returns the writer's Future of the response (writes). Registered through
`OPERATIONS` by api/dispatch.py. The validation helpers (`validate_key`, `validate_put_item`,
`compile_expressions`, ...) are shared with api/batch.py.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

import orjson

from eddydb.api.prevalidate import check_without_table
from eddydb.engine import exprs, reads
from eddydb.engine.capacity import consumed_read, consumed_write
from eddydb.engine.catalog import IndexMeta, KeySchema, TableMeta
from eddydb.engine.items import MAX_ITEM_SIZE, DeleteOp, PutOp, UpdateOp, execute, key_of
from eddydb.engine.writes import projected_names
from eddydb.model.errors import ResourceNotFoundException, ValidationException
from eddydb.model.size import item_size
from eddydb.model.values import validate_item, validate_value

__all__ = [
    "OPERATIONS",
    "check_key_paths",
    "check_old_return_values",
    "check_select",
    "check_update_plan",
    "compile_expressions",
    "get_table",
    "updated_attributes",
    "validate_key",
    "validate_put_item",
]

_INVALID = "One or more parameter values were invalid: "
_EMPTY_KEY = ("One or more parameter values are not valid. The AttributeValue for a key attribute cannot "
              "contain an empty string value. Key: {}")
_SCHEMA = "The provided key element does not match the schema"
_RV_ALL = ("NONE", "ALL_OLD", "UPDATED_OLD", "ALL_NEW", "UPDATED_NEW")
_SELECT = ("ALL_ATTRIBUTES", "ALL_PROJECTED_ATTRIBUTES", "SPECIFIC_ATTRIBUTES", "COUNT")
_RCC = ("INDEXES", "TOTAL", "NONE")
_EMPTY = b"{}"
_MAX_HASH = 2048
_MAX_RANGE = 1024

_dumps = orjson.dumps


# --- small validation helpers --------------------------------------------------------------------------
def _coral(msgs: list[str]) -> ValidationException:
    n = len(msgs)
    return ValidationException(f"{n} validation error{'s' if n > 1 else ''} detected: " + "; ".join(msgs))


def _null(path: str) -> str:
    return f"Value null at '{path}' failed to satisfy constraint: Member must not be null"


def _enum(value: Any, path: str, allowed: tuple[str, ...]) -> str:
    return (f"Value '{value}' at '{path}' failed to satisfy constraint: Member must satisfy enum value set: "
            f"[{', '.join(allowed)}]")


_NAME_OK: dict[str, str] = {}


def _table_name(req: dict) -> str:
    name = req.get("TableName")
    ok = _NAME_OK.get(name) if type(name) is str else None
    if ok is not None:
        return ok
    from eddydb.api.tables import validate_table_name

    resolved = validate_table_name(name)
    if len(_NAME_OK) > 10000:
        _NAME_OK.clear()
    _NAME_OK[name] = resolved  # type: ignore[index]  # validate_table_name accepted it: a str
    return resolved


def get_table(inst: Any, req: dict, operation: str = "") -> TableMeta:
    """The request's table (validated TableName); ResourceNotFoundException when absent, after the
    checks DynamoDB makes before looking the table up (`operation` names them)."""
    name = _table_name(req)
    t = inst.engine.find_table(name)
    if t is None:
        if operation:
            check_without_table(req, operation)
        raise ResourceNotFoundException("Requested resource not found")
    return t


def _key_value(name: str, typ: str, av: Any, *, in_item: bool) -> dict:
    if type(av) is not dict:
        raise ValidationException(_SCHEMA)
    if typ not in av or len(av) != 1:
        av = validate_value(av)  # a member set to JSON null is absent: {"S": "a", "N": null} is an S
        if typ not in av:
            if in_item:
                raise ValidationException(f"{_INVALID}Type mismatch for key {name} expected: {typ} "
                                          f"actual: {next(iter(av))}")
            raise ValidationException(_SCHEMA)
    v = av[typ]
    if typ == "S":
        if type(v) is not str:
            av = validate_value(av)
        v = av["S"]
        if v == "":
            raise ValidationException(_EMPTY_KEY.format(name))
    else:
        av = validate_value(av)
        v = av[typ]
        if typ == "B" and v == "":
            raise ValidationException(_EMPTY_KEY.replace("string", "binary").format(name))
    return av


def _b64_len(b: str) -> int:
    """Decoded length of canonical base64 text."""
    return len(b) * 3 // 4 - b.count("=", len(b) - 2)


def _check_hash_size(hv: dict) -> None:
    if "S" in hv:
        s = hv["S"]
        if len(s) > _MAX_HASH // 4 and len(s.encode("utf-8", "surrogatepass")) > _MAX_HASH:
            raise ValidationException(f"{_INVALID}Size of hashkey has exceeded the maximum size limit of{_MAX_HASH} bytes")
    elif "B" in hv and _b64_len(hv["B"]) > _MAX_HASH:
        raise ValidationException(f"{_INVALID}Size of hashkey has exceeded the maximum size limit of{_MAX_HASH} bytes")


def _check_range_size(rv: dict) -> None:
    if "S" in rv:
        s = rv["S"]
        if len(s) > _MAX_RANGE // 4 and len(s.encode("utf-8", "surrogatepass")) > _MAX_RANGE:
            raise ValidationException(
                f"{_INVALID}Aggregated size of all range keys has exceeded the size limit of {_MAX_RANGE} bytes")
    elif "B" in rv and _b64_len(rv["B"]) > _MAX_RANGE:
        raise ValidationException(
            f"{_INVALID}Aggregated size of all range keys has exceeded the size limit of {_MAX_RANGE} bytes")


def _key_sizes(ks: KeySchema, item: dict) -> None:
    _check_hash_size(item[ks.hash_name])
    if ks.range_name is not None:
        _check_range_size(item[ks.range_name])


def validate_key(table: TableMeta, key: Any, *, ks: KeySchema | None = None, path: str = "key") -> dict:
    """A request's Key: exactly the key attributes, of the declared types, non-empty; normalised copy."""
    ks = ks or table.key
    if key is None:
        raise _coral([_null(path)])
    if type(key) is not dict:
        raise ValidationException(_SCHEMA)
    n = 1 if ks.range_name is None else 2
    if len(key) != n or ks.hash_name not in key or (n == 2 and ks.range_name not in key):
        raise ValidationException(_SCHEMA)
    out = {ks.hash_name: _key_value(ks.hash_name, ks.hash_type, key[ks.hash_name], in_item=False)}
    if n == 2:
        out[ks.range_name] = _key_value(ks.range_name, ks.range_type, key[ks.range_name],  # type: ignore[index,arg-type]
                                        in_item=False)
    _key_sizes(ks, out)
    return out


def validate_put_item(table: TableMeta, item: Any, *, check_size: bool = True) -> dict:
    """A PutItem Item: valid values, key attributes present and well-typed, within 400 KB; normalised.
    (`check_size=False`: the caller checks the size itself, see `_put_bytes`.)"""
    if item is None:
        raise _coral([_null("item")])
    item = validate_item(item)
    ks = table.key
    for name, typ in ((ks.hash_name, ks.hash_type), (ks.range_name, ks.range_type)):
        if name is None:
            continue
        av = item.get(name)
        if av is None:
            raise ValidationException(f"{_INVALID}Missing the key {name} in the item")
        _key_value(name, typ, av, in_item=True)  # type: ignore[arg-type]
    _key_sizes(ks, item)
    if check_size and item_size(item) > MAX_ITEM_SIZE:
        raise ValidationException("Item size has exceeded the maximum allowed size")
    return item


def _put_bytes(item: dict) -> bytes:
    """The stored bytes of a validated item, checking the 400 KB limit. The JSON text is never
    shorter than DynamoDB's item size, so the exact size is computed only for large items."""
    raw = _dumps(item)
    if len(raw) > MAX_ITEM_SIZE and item_size(item) > MAX_ITEM_SIZE:
        raise ValidationException("Item size has exceeded the maximum allowed size")
    return raw


def _check_enum(req: dict, field: str, path: str, allowed: tuple[str, ...], default: str) -> str:
    v = req.get(field)
    if v is None:
        return default
    if v not in allowed:
        raise _coral([_enum(v, path, allowed)])
    return v


def _return_values(req: dict, allowed: tuple[str, ...]) -> str:
    rv = _check_enum(req, "ReturnValues", "returnValues", _RV_ALL, "NONE")
    if rv not in allowed:
        raise ValidationException("Return values set to invalid value")
    return rv


def check_old_return_values(req: dict) -> None:
    """PutItem's and DeleteItem's ReturnValues (NONE or ALL_OLD), checked as DynamoDB does: after
    the attribute values, before the table lookup, the key schema and the item size."""
    rv = req.get("ReturnValues")
    if rv is not None and rv != "NONE" and rv != "ALL_OLD":
        _return_values(req, ("NONE", "ALL_OLD"))


def _rvccf(req: dict) -> bool:
    v = req.get("ReturnValuesOnConditionCheckFailure")
    if v is None:
        return False
    if v not in ("ALL_OLD", "NONE"):
        raise _coral([_enum(v, "returnValuesOnConditionCheckFailure", ("ALL_OLD", "NONE"))])
    return v == "ALL_OLD"


def _rcc(req: dict) -> str | None:
    v = req.get("ReturnConsumedCapacity")
    if v is None:
        return None
    if v not in _RCC:
        raise _coral([_enum(v, "returnConsumedCapacity", _RCC)])
    return None if v == "NONE" else v


def _ricm(req: dict) -> bool:
    v = req.get("ReturnItemCollectionMetrics")
    if v is None:
        return False
    if v not in ("SIZE", "NONE"):
        raise _coral([_enum(v, "returnItemCollectionMetrics", ("SIZE", "NONE"))])
    return v == "SIZE"


# --- expressions -------------------------------------------------------------------------------------
class _Exprs:
    """Attribute access to the expressions functions (engine.exprs resolves where they live)."""

    def __getattr__(self, name: str) -> Any:
        return exprs.fn(name)


_XNS = _Exprs()


def _x() -> Any:
    return _XNS


_EXPR_KEYS = frozenset((
    "UpdateExpression", "ConditionExpression", "KeyConditionExpression", "FilterExpression", "ProjectionExpression",
    "AttributesToGet", "AttributeUpdates", "Expected", "KeyConditions", "QueryFilter", "ScanFilter",
    "ConditionalOperator", "ExpressionAttributeNames", "ExpressionAttributeValues"))


class _Nothing:
    condition = filter = key_condition = update = projection = None


_NOTHING = _Nothing()


def compile_expressions(req: dict, *, key: KeySchema | None = None, operation: str = "") -> Any:
    """Every expression (or legacy parameter) of a request, parsed and cross-checked
    (`expressions.request.compile_request`): `.condition .filter .key_condition .update .projection`."""
    if req.keys().isdisjoint(_EXPR_KEYS):
        return _NOTHING
    return _x().compile_request(req, key=key, operation=operation)


def _project(item: dict, paths: Any) -> dict:
    return _x().project(item, paths)


def check_key_paths(table: TableMeta, nested: frozenset[str]) -> None:
    """DynamoDB's refusal of a document path into a key attribute of the table or of an index
    (pk.x, pk[0]) in an update, projection or filter expression (`nested`: the top-level names of
    the expression's paths that go inside them)."""
    if not nested:
        return
    for name in table.key.names():
        if name in nested:
            raise ValidationException("Key attributes must be scalars; list random access '[]' and map lookup '.' "
                                      f"are not allowed: Key: {name}")
    for index in table.indexes.values():
        for name in index.key.names():
            if name in nested:
                raise ValidationException("Key attributes must be scalars; list random access '[]' and map lookup "
                                          f"'.' are not allowed: IndexKey: {name}")


def _assigned_type(plan: Any, name: str) -> str | None:
    """The type of what an update assigns to top-level attribute `name`, when the request alone
    tells it (a :value, a literal, arithmetic, list_append, if_not_exists with such a default)."""
    tree = plan.tree
    for acts in (tree.sets, tree.adds, tree.deletes):
        for act in acts:
            if act.path == (name,):
                return _operand_type(act.value, plan.values)
    return None


def _operand_type(op: Any, values: dict) -> str | None:
    kind = type(op).__name__
    if kind == "ValueRef":
        av = values.get(op.name)
        return next(iter(av)) if av else None
    if kind == "Literal":
        return next(iter(op.value))  # type: ignore[no-any-return]
    if kind == "Arith":
        return "N"
    if kind == "ListAppend":
        return "L"
    if kind == "IfNotExists":
        return _operand_type(op.default, values)
    return None


def check_update_plan(table: TableMeta, plan: Any) -> None:
    """An update's checks that need the table but not the item, in DynamoDB's order: no key
    attribute updated, no top-level index key attribute given a value of another type, no path
    into a key attribute. (UpdateItem and TransactWriteItems' Update.)"""
    if plan is None:
        return
    targets = plan.top_level_names()
    for name in table.key.names():
        if name in targets:
            raise ValidationException(f"{_INVALID}Cannot update attribute {name}. This attribute is part of the key")
    for index in table.indexes.values():
        ks = index.key
        for attr, typ in ((ks.hash_name, ks.hash_type), (ks.range_name, ks.range_type)):
            if attr is None or attr not in targets:
                continue
            actual = _assigned_type(plan, attr)
            if actual is not None and actual != typ:
                raise ValidationException(f"{_INVALID}Type mismatch for Index Key {attr} Expected: {typ} "
                                          f"Actual: {actual} IndexName: {index.name}")
    check_key_paths(table, getattr(plan, "nested", frozenset()))


def updated_attributes(plan: Any, item: dict | None) -> dict:
    """UPDATED_OLD / UPDATED_NEW: the updated paths of `item` (only the parts the update touched)."""
    if item is None or plan is None:
        return {}
    tree = getattr(plan, "tree", None)
    paths = tree.target_paths() if tree is not None else getattr(plan, "paths", [])
    return _project(item, paths) if paths else {}


# --- writes ------------------------------------------------------------------------------------------
def _finish_write(table: TableMeta, rv: str, old: dict | None, new: dict | None, rcc: str | None,
                  ricm: bool, plan: Any = None) -> dict | bytes:
    out: dict[str, Any] = {}
    if rv != "NONE":
        attrs: dict | None
        if rv == "ALL_OLD":
            attrs = old
        elif rv == "ALL_NEW":
            attrs = new
        elif rv == "UPDATED_OLD":
            attrs = updated_attributes(plan, old)
        else:
            attrs = updated_attributes(plan, new)
        if attrs:
            out["Attributes"] = attrs
    if rcc is not None:
        out["ConsumedCapacity"] = consumed_write(table, old, new, rcc)
    if ricm and table.lsis():
        item = new if new is not None else old
        if item is not None:
            out["ItemCollectionMetrics"] = {
                "ItemCollectionKey": {table.key.hash_name: item[table.key.hash_name]},
                "SizeEstimateRangeGB": [0.0, 1.0],
            }
    return out if out else _EMPTY


def put_item(inst: Any, req: dict) -> Future:
    table = get_table(inst, req, "PutItem")
    rv = req.get("ReturnValues")
    if rv is not None and rv != "NONE" and rv != "ALL_OLD":
        if isinstance(req.get("Item"), dict):
            validate_item(req["Item"])
        check_old_return_values(req)
    item = validate_put_item(table, req.get("Item"), check_size=False)
    raw = _put_bytes(item)
    rv = _return_values(req, ("NONE", "ALL_OLD"))
    rvccf = _rvccf(req)
    rcc = _rcc(req)
    ricm = _ricm(req)
    cond = compile_expressions(req, operation="PutItem").condition
    if rv == "NONE" and rcc is None and not ricm:
        op = PutOp(table, item, cond, rvccf, raw=raw, want_old=False)

        def fast(txn: Any) -> bytes:
            execute(txn, op)
            return _EMPTY
        return inst.engine.writer.submit(fast, inline=True)
    op = PutOp(table, item, cond, rvccf, raw=raw)

    def fn(txn: Any) -> dict | bytes:
        old, new = execute(txn, op)
        return _finish_write(op.table, rv, old, new, rcc, ricm)
    return inst.engine.writer.submit(fn, inline=True)


def delete_item(inst: Any, req: dict) -> Future:
    table = get_table(inst, req, "DeleteItem")
    rv = req.get("ReturnValues")
    if rv is not None and rv != "NONE" and rv != "ALL_OLD":
        if isinstance(req.get("Key"), dict):
            for av in req["Key"].values():
                validate_value(av)
        check_old_return_values(req)
    key = validate_key(table, req.get("Key"))
    rv = _return_values(req, ("NONE", "ALL_OLD"))
    rvccf = _rvccf(req)
    rcc = _rcc(req)
    ricm = _ricm(req)
    cond = compile_expressions(req, operation="DeleteItem").condition
    op = DeleteOp(table, key, cond, rvccf, want_old=rv != "NONE" or rcc is not None or ricm)

    def fn(txn: Any) -> dict | bytes:
        old, new = execute(txn, op)
        return _finish_write(op.table, rv, old, new, rcc, ricm)
    return inst.engine.writer.submit(fn, inline=True)


def update_item(inst: Any, req: dict) -> Future:
    table = get_table(inst, req, "UpdateItem")
    key = validate_key(table, req.get("Key"))
    rv = _return_values(req, _RV_ALL)
    rvccf = _rvccf(req)
    rcc = _rcc(req)
    ricm = _ricm(req)
    compiled = compile_expressions(req, operation="UpdateItem")
    plan, cond = compiled.update, compiled.condition
    check_update_plan(table, plan)
    op = UpdateOp(table, key, plan, cond, rvccf)

    def fn(txn: Any) -> dict | bytes:
        old, new = execute(txn, op)
        return _finish_write(op.table, rv, old, new, rcc, ricm, plan)
    return inst.engine.writer.submit(fn, inline=True)


# --- reads -------------------------------------------------------------------------------------------
def _consistent(req: dict) -> bool:
    v = req.get("ConsistentRead")
    if v is None:
        return False
    if type(v) is not bool:
        raise ValidationException("ConsistentRead must be a boolean")
    return v


def get_item(inst: Any, req: dict) -> dict | bytes:
    table = get_table(inst, req, "GetItem")
    key = validate_key(table, req.get("Key"))
    consistent = _consistent(req)
    rcc = _rcc(req)
    if req.get("ProjectionExpression") is None and req.get("AttributesToGet") is None and rcc is None:
        if req.get("ExpressionAttributeNames") is not None:
            raise ValidationException("ExpressionAttributeNames can only be specified when using expressions")
        raw = reads.get_item_raw(inst.engine.read(), table, key)
        if raw is None or _hidden_raw(inst, table, raw):
            return _EMPTY
        return b'{"Item":' + raw + b"}"
    paths = compile_expressions(req, operation="GetItem").projection
    if paths is not None:
        check_key_paths(table, paths.nested)
    item = reads.get_item(inst.engine.read(), table, key)
    if item is not None and _hidden(inst, table, item):
        item = None
    out: dict[str, Any] = {}
    if item is not None:
        out["Item"] = item if paths is None else _project(item, paths)
    if rcc is not None:
        out["ConsumedCapacity"] = consumed_read(table, item_size(item) if item else 0, consistent, rcc)
    return out


def _hidden(inst: Any, table: TableMeta, item: dict) -> bool:
    """Expired-but-not-yet-deleted items are invisible when settings.ttl_hide_expired is on."""
    if not getattr(inst.engine.settings, "ttl_hide_expired", False) or table.ttl_attribute is None:
        return False
    try:
        from eddydb.engine.ttl import is_expired
    except ImportError:
        return False
    return bool(is_expired(table, item, time.time()))


def _hider(inst: Any, table: TableMeta) -> Callable[[dict], bool] | None:
    """The ttl_hide_expired predicate of a Query/Scan of `table` (None when nothing is hidden): the
    engine judges each evaluated item by it, as a filter would, before counting or projecting."""
    if not getattr(inst.engine.settings, "ttl_hide_expired", False) or table.ttl_attribute is None:
        return None
    from eddydb.engine.ttl import is_expired

    now = time.time()
    return lambda item: bool(is_expired(table, item, now))


def _hidden_raw(inst: Any, table: TableMeta, raw: bytes) -> bool:
    if not getattr(inst.engine.settings, "ttl_hide_expired", False) or table.ttl_attribute is None:
        return False
    return _hidden(inst, table, orjson.loads(raw))


def _limit(req: dict) -> int | None:
    v = req.get("Limit")
    if v is None:
        return None
    if type(v) is not int:
        raise ValidationException("Limit must be an integer")
    if v < 1:
        raise _coral([(f"Value '{v}' at 'limit' failed to satisfy constraint: "
                      "Member must have value greater than or equal to 1")])
    return v


def _index(table: TableMeta, req: dict, inst: Any = None) -> IndexMeta | None:
    name = req.get("IndexName")
    if name is None:
        return None
    if type(name) is not str:
        raise ValidationException("IndexName must be a string")
    index = table.indexes.get(name)
    if index is None and inst is not None and inst.engine.reload_if_changed():
        fresh = inst.engine.find_table(table.name)   # another process may have added it
        index = fresh.indexes.get(name) if fresh is not None else None
    if index is None:
        raise ValidationException(f"The table does not have the specified index: {name}")
    if index.kind == "GSI" and (index.status != "ACTIVE" or index.backfilling):
        raise ValidationException(
            f"Cannot read from backfilling global secondary index: {name}")
    return index


def check_select(req: dict, op: str) -> str | None:
    """A Query's or Scan's Select (None when absent), with the checks that need only the request,
    which DynamoDB makes before it looks the table up: a valid value, a projection exactly with
    SPECIFIC_ATTRIBUTES, ALL_PROJECTED_ATTRIBUTES only with an IndexName (`op`: "Querying" or "Scanning")."""
    sel = req.get("Select")
    if sel is None:
        return None
    if sel not in _SELECT:
        raise _coral([_enum(sel, "select", _SELECT)])
    has_proj = req.get("ProjectionExpression") is not None or req.get("AttributesToGet") is not None
    proj_name = "AttributesToGet" if req.get("AttributesToGet") is not None else "ProjectionExpression"
    # DynamoDB words these as one-error coral reports (as moto records)
    if sel == "SPECIFIC_ATTRIBUTES":
        if not has_proj:
            raise _coral([("Must specify the AttributesToGet or ProjectionExpression when choosing to get "
                           "SPECIFIC_ATTRIBUTES")])
    elif has_proj:
        if sel == "COUNT":
            raise _coral([f"Cannot specify the {proj_name} when choosing to get only the Count"])
        raise _coral([f"Cannot specify the {proj_name} when choosing to get {sel}"])
    if sel == "ALL_PROJECTED_ATTRIBUTES" and req.get("IndexName") is None:
        raise _coral([f"ALL_PROJECTED_ATTRIBUTES can be used only when {op} using an IndexName"])
    return sel


def _select(req: dict, index: IndexMeta | None, paths: Any, op: str) -> str:
    sel = check_select(req, op)
    if sel is None:
        if paths is not None:
            return "SPECIFIC_ATTRIBUTES"
        return "ALL_PROJECTED_ATTRIBUTES" if index is not None else "ALL_ATTRIBUTES"
    if sel == "ALL_ATTRIBUTES" and index is not None and index.kind == "GSI" and index.projection_type != "ALL":
        raise ValidationException(
            f"One or more parameter values were invalid: Select type ALL_ATTRIBUTES is not supported for "
            f"global secondary index {index.name} because its projection type is not ALL")
    return sel


def _start_key(req: dict, table: TableMeta, index: IndexMeta | None) -> dict | None:
    esk = req.get("ExclusiveStartKey")
    if esk is None:
        return None
    if type(esk) is not dict:
        raise ValidationException("The provided starting key is invalid: " + _SCHEMA)
    need = dict.fromkeys(table.key.names())
    if index is not None:
        need.update(dict.fromkeys(index.key.names()))
    if set(esk) != set(need):
        raise ValidationException("The provided starting key is invalid: " + _SCHEMA)
    out = {}
    try:
        out.update(validate_key(table, {n: esk[n] for n in table.key.names()}))
        if index is not None:
            ks = index.key
            for name, typ in ((ks.hash_name, ks.hash_type), (ks.range_name, ks.range_type)):
                if name is not None and name not in out:
                    out[name] = _key_value(name, typ, esk[name], in_item=False)  # type: ignore[arg-type]
    except ValidationException as e:
        if e.message.startswith("The provided starting key"):
            raise
        raise ValidationException("The provided starting key is invalid: " + e.message)
    return out


def _index_base_fetch(index: IndexMeta | None, select: str) -> bool:
    # An LSI with a partial projection fetches the table item for ALL_ATTRIBUTES / specific attributes.
    return (index is not None and index.kind == "LSI" and index.projection_type != "ALL"
            and select in ("ALL_ATTRIBUTES", "SPECIFIC_ATTRIBUTES"))


def _raw_ok(inst: Any, table: TableMeta, index: IndexMeta | None, select: str, paths: Any, flt: Any,
            rcc: str | None) -> bool:
    """Can the page's items go out as the stored bytes (nothing to filter, project, fetch or hide)?"""
    return (flt is None and paths is None and rcc is None and select in ("ALL_ATTRIBUTES", "ALL_PROJECTED_ATTRIBUTES")
            and not _index_base_fetch(index, select)
            and not (table.ttl_attribute is not None and getattr(inst.engine.settings, "ttl_hide_expired", False)))


def _raw_response(page: reads.Page) -> bytes:
    raws = page.raw_items or []
    out = b'{"Items":[' + b",".join(raws) + b'],"Count":%d,"ScannedCount":%d' % (page.count, page.scanned)
    if page.last_key is not None:
        out += b',"LastEvaluatedKey":' + _dumps(page.last_key)
    return out + b"}"


def _page_response(inst: Any, table: TableMeta, index: IndexMeta | None, page: reads.Page, select: str,
                   paths: Any, consistent: bool, rcc: str | None, flt: Any = None) -> dict | bytes:
    if page.raw_items is not None:
        return _raw_response(page)
    items = page.items
    if _index_base_fetch(index, select) and items:
        r = inst.engine.read()
        full = []
        for it in items:
            base = reads.get_item(r, table, key_of(table, it))
            if base is not None:
                full.append(base if paths is None else _project(base, paths))
        items = full
    elif paths is not None and items:
        items = [_project(it, paths) for it in items]
    out: dict[str, Any] = {}
    if select != "COUNT":
        out["Items"] = items
    out["Count"] = page.count
    out["ScannedCount"] = page.scanned
    if page.last_key is not None:
        out["LastEvaluatedKey"] = page.last_key
    if rcc is not None:
        out["ConsumedCapacity"] = consumed_read(table, page.size, consistent, rcc, index,
                                                _fetched_size(inst, table, index, page, select, paths, flt))
    return out


def _fetched_size(inst: Any, table: TableMeta, index: IndexMeta | None, page: reads.Page, select: str,
                  paths: Any, flt: Any) -> int:
    """Bytes of the table items an LSI read fetches because it wants attributes the index does not
    project (all attributes, a projection or a filter): DynamoDB charges the table for reading each
    fetched item whole, on top of the index entries."""
    if index is None or index.kind != "LSI" or index.projection_type == "ALL" or not page.scanned:
        return 0
    have = projected_names(index, table)
    fetch = select == "ALL_ATTRIBUTES" or (paths is not None and any(p[0] not in have for p in paths))
    if not fetch and flt is not None:
        fetch = not getattr(flt, "attributes", frozenset()) <= have.keys()
    if not fetch:
        return 0
    r = inst.engine.read()
    bases = (reads.get_item(r, table, key_of(table, entry)) for entry in page.evaluated)
    return sum(item_size(base) for base in bases if base is not None)


def _check_start_in_query(kc: Any, ks: KeySchema, start: dict | None) -> None:
    if start is None:
        return
    from eddydb.model.values import values_equal

    if not values_equal(start[ks.hash_name], kc.hash_value):
        raise ValidationException("The provided starting key is outside query boundaries based on provided conditions")
    if kc.range_op is not None and ks.range_name is not None:
        lo, lo_incl, hi, hi_incl = reads._bounds(kc.range_op, list(kc.range_values))
        from eddydb.model.keys import encode_key

        if not reads._in_range(encode_key(start[ks.range_name]), lo, lo_incl, hi, hi_incl):
            raise ValidationException("The provided starting key does not match the range key predicate")


def _read_target(inst: Any, req: dict, operation: str) -> tuple[TableMeta, IndexMeta | None, bool]:
    """(table, index or None, ConsistentRead) of a Query or Scan; GSIs have no consistent reads."""
    table = get_table(inst, req, operation)
    index = _index(table, req, inst)
    consistent = _consistent(req)
    if consistent and index is not None and index.kind == "GSI":
        raise ValidationException("Consistent reads are not supported on global secondary indexes")
    return table, index, consistent


def query(inst: Any, req: dict) -> dict | bytes:
    table, index, consistent = _read_target(inst, req, "Query")
    limit = _limit(req)
    rcc = _rcc(req)
    forward = req.get("ScanIndexForward")
    if forward is None:  # JSON null is an absent member, as everywhere else
        forward = True
    elif type(forward) is not bool:
        raise ValidationException("ScanIndexForward must be a boolean")
    ks = index.key if index is not None else table.key
    compiled = compile_expressions(req, key=ks, operation="Query")
    kc, flt, paths = compiled.key_condition, compiled.filter, compiled.projection
    if kc is None:
        raise ValidationException("Either the KeyConditions or KeyConditionExpression parameter must be specified "
                                  "in the request.")
    if paths is not None:
        check_key_paths(table, paths.nested)
    if flt is not None:
        used: frozenset[str] = getattr(flt, "attributes", frozenset())
        for name in ks.names():
            if name in used:
                if req.get("QueryFilter") is not None:
                    raise ValidationException(
                        f"QueryFilter can only contain non-key attributes: Primary key attribute: {name}")
                raise ValidationException(
                    f"Filter Expression can only contain non-primary key attributes: Primary key attribute: {name}")
        check_key_paths(table, getattr(flt, "nested", frozenset()))
    # an empty or oversized key value is rejected as in GetItem (never an empty page)
    _key_value(ks.hash_name, ks.hash_type, kc.hash_value, in_item=False)
    _check_hash_size(kc.hash_value)
    for rv in kc.range_values:
        _key_value(ks.range_name, ks.range_type, rv, in_item=False)  # type: ignore[arg-type]
        _check_range_size(rv)
    select = _select(req, index, paths, "Querying")
    start = _start_key(req, table, index)
    _check_start_in_query(kc, ks, start)
    page = reads.query(inst.engine.read(), table, index, kc.hash_value, kc.range_op, list(kc.range_values),
                       forward=forward, limit=limit, start_key=start, filter=flt, projection=None,
                       count_only=select == "COUNT", raw=_raw_ok(inst, table, index, select, paths, flt, rcc),
                       hide=_hider(inst, table))
    return _page_response(inst, table, index, page, select, paths, consistent, rcc, flt)


def check_segments(req: dict) -> tuple[int | None, int | None]:
    """A Scan's (Segment, TotalSegments), checked as DynamoDB does (also before its table lookup)."""
    segment, total = req.get("Segment"), req.get("TotalSegments")
    msgs = []
    if total is not None and (type(total) is not int or total < 1 or total > 1000000):
        if type(total) is int and total > 1000000:
            msgs.append(f"Value '{total}' at 'totalSegments' failed to satisfy constraint: "
                        "Member must have value less than or equal to 1000000")
        else:
            msgs.append(f"Value '{total}' at 'totalSegments' failed to satisfy constraint: "
                        "Member must have value greater than or equal to 1")
    if segment is not None and (type(segment) is not int or segment < 0):
        msgs.append(f"Value '{segment}' at 'segment' failed to satisfy constraint: "
                    "Member must have value greater than or equal to 0")
    if msgs:
        raise _coral(msgs)
    if segment is not None and total is None:
        raise ValidationException("The TotalSegments parameter is required but was not present in the request when "
                                  "Segment parameter is present")
    if total is not None and segment is None:
        raise ValidationException("The Segment parameter is required but was not present in the request when "
                                  "parameter TotalSegments is present")
    if segment is not None and segment >= total:
        raise ValidationException(f"The Segment parameter is zero-based and must be less than parameter "
                                  f"TotalSegments: Segment: {segment} is not less than TotalSegments: {total}")
    return segment, total


def scan(inst: Any, req: dict) -> dict | bytes:
    table, index, consistent = _read_target(inst, req, "Scan")
    limit = _limit(req)
    rcc = _rcc(req)
    segment, total = check_segments(req)
    compiled = compile_expressions(req, operation="Scan")
    flt, paths = compiled.filter, compiled.projection
    if paths is not None:
        check_key_paths(table, paths.nested)
    if flt is not None:
        check_key_paths(table, getattr(flt, "nested", frozenset()))
    select = _select(req, index, paths, "Scanning")
    start = _start_key(req, table, index)
    page = reads.scan(inst.engine.read(), table, index, segment=segment, total_segments=total, limit=limit,
                      start_key=start, filter=flt, projection=None, count_only=select == "COUNT",
                      raw=_raw_ok(inst, table, index, select, paths, flt, rcc), hide=_hider(inst, table))
    return _page_response(inst, table, index, page, select, paths, consistent, rcc, flt)


OPERATIONS: dict[str, Callable[[Any, dict], Any]] = {
    "PutItem": put_item,
    "GetItem": get_item,
    "UpdateItem": update_item,
    "DeleteItem": delete_item,
    "Query": query,
    "Scan": scan,
}
