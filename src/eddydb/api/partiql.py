"""PartiQL operations in AWS shape: ExecuteStatement, BatchExecuteStatement and ExecuteTransaction.

Each statement is parsed by `eddydb.partiql` (cached) into expression trees, bound to the request's
Parameters, and mapped onto the engine's ordinary operations: SELECT runs as a Query when its WHERE
pins the partition key (= or IN), as a Scan otherwise; INSERT/UPDATE/DELETE become PutOp/UpdateOp/
DeleteOp through the one write path; ExecuteTransaction goes through engine/transactions.py.
Registered through `OPERATIONS` by api/dispatch.py.
"""
from __future__ import annotations

import base64
import hashlib
from concurrent.futures import Future
from typing import Any

import orjson

from eddydb import partiql as P
from eddydb.api import items as I
from eddydb.engine import reads
from eddydb.engine import transactions as TX
from eddydb.engine.batch import execute_each, write_capacity
from eddydb.engine.capacity import Consumed, consumed_read, consumed_write, read_units
from eddydb.engine.catalog import TableMeta
from eddydb.engine.items import ConditionCheckOp, DeleteOp, PutOp, UpdateOp, execute
from eddydb.engine.writes import item_key
from eddydb.expressions.tree import And, Condition, Function, Node, Or, PathRef, UpdatePlan
from eddydb.model.errors import EddyError, ResourceNotFoundException, ValidationException
from eddydb.model.keys import encode_key
from eddydb.model.size import item_size
from eddydb.model.values import values_equal

__all__ = ["OPERATIONS"]

_KEY_WHERE = "Where clause does not contain a mandatory equality on all key attributes"
_MIXED = "Unsupported operation: Mixing read and write statements in the same request is not supported"
_BATCH_READ = ("Unsupported operation: a batch or transaction SELECT must specify an equality condition on all "
               "key attributes of the table")
_BAD_TOKEN = "Invalid NextToken"
_PAGE_BYTES = 1024 * 1024
_EMPTY_ITEMS = b'{"Items":[]}'


# --- statements -> tables, values, ops ---------------------------------------------------------------------
def _table(inst: Any, name: str) -> TableMeta:
    t = inst.engine.find_table(name)
    if t is None:
        raise ResourceNotFoundException("Requested resource not found")
    return t


def _compile(inst: Any, text: str, params: Any) -> tuple[P.Statement, dict[str, dict], TableMeta]:
    stmt = P.parse(text)
    values = P.bind(stmt, params)
    return stmt, values, _table(inst, stmt.table)


def _all(terms: list[Node]) -> Node | None:
    if not terms:
        return None
    node = terms[0]
    for t in terms[1:]:
        node = And(node, t)
    return node


def _key(table: TableMeta, where: Node | None, values: dict[str, dict]) -> tuple[dict, list[Node]]:
    """A write's (or batch read's) full primary key from its WHERE, and the other WHERE terms."""
    found, rest = P.key_equalities(where, table.key.names())
    if found is None:
        raise ValidationException(_KEY_WHERE)
    key = I.validate_key(table, {n: P.operand_av(found[n], values) for n in table.key.names()})
    return key, rest


def _exists(table: TableMeta) -> Node:
    return Function("attribute_exists", (PathRef((table.key.hash_name,)),))


def _write_op(inst: Any, stmt: P.Statement, values: dict[str, dict], table: TableMeta, rvccf: bool) -> Any:
    """The engine op of an INSERT/UPDATE/DELETE/EXISTS statement (ValidationException when DynamoDB
    rejects it before running)."""
    if type(stmt) is P.Insert:
        params = [values[f":p{i}"] for i in range(stmt.params)]
        av = P.template_value(stmt.item, params)
        if av is None or "M" not in av:
            raise ValidationException("Unsupported operation: INSERT takes a tuple: VALUE {...}")
        item = I.validate_put_item(table, av["M"])
        return PutOp(table, item, None, rvccf, insert=True)
    if type(stmt) is P.Update:
        key, rest = _key(table, stmt.where, values)
        plan = UpdatePlan(stmt.actions, values)
        set_values = [a.value for a in stmt.actions.adds] + [a.value for a in stmt.actions.deletes]
        for v in set_values:   # set_add / set_delete take a set
            if next(iter(P.operand_av(v, values))) not in ("SS", "NS", "BS"):
                raise ValidationException("An operand in the update expression has an incorrect data type")
        for name in plan.top_level_names():
            if name in table.key.names():
                raise ValidationException(f"Cannot update attribute {name}. This attribute is part of the key")
        # UPDATE changes an existing item only: a missing one fails the (implicit) condition
        exists = Condition(_all([_exists(table), *rest]), values)  # type: ignore[arg-type]
        return UpdateOp(table, key, plan, exists, rvccf)
    if type(stmt) is P.Delete:
        key, rest = _key(table, stmt.where, values)
        # deleting a missing item succeeds; an existing one must satisfy the rest of the WHERE
        cond: Condition | None = None
        if rest:
            absent = Function("attribute_not_exists", (PathRef((table.key.hash_name,)),))
            cond = Condition(Or(absent, _all(rest)), values)  # type: ignore[arg-type]
        return DeleteOp(table, key, cond, rvccf)
    if type(stmt) is P.Exists:
        key, rest = _key(table, stmt.where, values)
        return ConditionCheckOp(table, key, Condition(_all([_exists(table), *rest]), values), rvccf)  # type: ignore[arg-type]
    raise ValidationException(_MIXED)


def _returned(stmt: P.Statement, op: Any, old: dict | None, new: dict | None) -> list[dict]:
    rv = getattr(stmt, "returning", "NONE")
    if rv == "NONE":
        return []
    if rv == "ALL_OLD":
        attrs = old
    elif rv == "ALL_NEW":
        attrs = new
    elif rv == "UPDATED_OLD":
        attrs = I.updated_attributes(op.plan, old)
    else:
        attrs = I.updated_attributes(op.plan, new)
    return [attrs] if attrs else []


def _rvccf(spec: dict) -> bool:
    return spec.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD"


# --- ExecuteStatement ----------------------------------------------------------------------------------------
def execute_statement(inst: Any, req: dict) -> dict | bytes | Future:
    text = req["Statement"]
    stmt, values, table = _compile(inst, text, req.get("Parameters"))
    rcc = I._rcc(req)
    if type(stmt) is P.Select:
        return _select(inst, req, text, stmt, values, table, rcc)
    if type(stmt) is P.Exists:
        raise ValidationException("Unsupported operation: EXISTS is only supported in ExecuteTransaction")
    for field in ("NextToken", "Limit"):
        if req.get(field) is not None:
            raise ValidationException(f"Unsupported operation: {field} is only supported for SELECT statements")
    op = _write_op(inst, stmt, values, table, _rvccf(req))

    def fn(txn: Any) -> dict | bytes:
        old, new = execute(txn, op)
        items = _returned(stmt, op, old, new)
        if rcc is None and not items:
            return _EMPTY_ITEMS
        out: dict[str, Any] = {"Items": items}
        if rcc is not None:
            out["ConsumedCapacity"] = consumed_write(op.table, old, new, rcc)
        return out
    return inst.engine.writer.submit(fn, inline=True)


def _fingerprint(text: str, params: Any) -> str:
    return hashlib.sha256(orjson.dumps([text, params])).hexdigest()[:16]


def _encode_token(fp: str, part: int, key: dict | None) -> str:
    return base64.urlsafe_b64encode(orjson.dumps({"f": fp, "p": part, "k": key})).decode()


def _decode_token(token: Any, fp: str) -> tuple[int, dict | None]:
    try:
        data = orjson.loads(base64.urlsafe_b64decode(token.encode()))
        if type(data) is not dict or data.get("f") != fp or type(data.get("p")) is not int:
            raise ValueError(token)
        key = data.get("k")
        if key is not None and (type(key) is not dict or any(type(v) is not dict for v in key.values())):
            raise ValueError(token)
        return data["p"], key
    except (ValueError, TypeError, AttributeError):
        raise ValidationException(_BAD_TOKEN) from None


def _of_type(av: dict, typ: str | None) -> bool:
    return typ is not None and len(av) == 1 and typ in av


def _query_plan(stmt: P.Select, values: dict[str, dict], ks: Any) -> tuple[list[dict], str | None, list[dict]] | None:
    """(partition values, range op, range values) when the SELECT runs as Queries, else None."""
    rng = P.key_range(stmt.where, ks.hash_name, ks.range_name)
    if rng is None:
        return None
    hashes: list[dict] = []
    for op in rng.hash_values:
        av = P.operand_av(op, values)
        # a value of another type than the key matches nothing; a repeated value is one Query
        if _of_type(av, ks.hash_type) and not any(values_equal(av, h) for h in hashes):
            hashes.append(av)
    rop, rvals = rng.range_op, [P.operand_av(v, values) for v in rng.range_values]
    ok = rop is not None and all(_of_type(v, ks.range_type) for v in rvals)
    if ok and rop == "begins_with" and "N" in rvals[0]:
        ok = False
    if ok and rop == "BETWEEN" and encode_key(rvals[0]) > encode_key(rvals[1]):
        ok = False   # matches nothing; the WHERE (kept as the filter) says so
    if not ok:
        rop, rvals = None, []   # no usable bound: the filter alone decides
    return hashes, rop, rvals


def _order(order_by: tuple[tuple[tuple, bool], ...], ks: Any, hashes: list[dict]) -> bool:
    """Apply ORDER BY, which DynamoDB allows on the partition key and then the sort key: sorts the
    partitions of an IN in place; returns whether each partition is read forward."""
    allowed = [(ks.hash_name,)] + ([(ks.range_name,)] if ks.range_name is not None else [])
    paths = [path for path, _desc in order_by]
    if any(p not in allowed for p in paths) or paths != sorted(set(paths), key=allowed.index):
        raise ValidationException("Unsupported operation: ORDER BY is only supported on the partition key "
                                  "and the sort key, in that order")
    desc = dict(order_by)
    if (ks.hash_name,) in desc:
        hashes.sort(key=encode_key, reverse=desc[(ks.hash_name,)])
    return not desc.get((ks.range_name,), False)


def _select(inst: Any, req: dict, text: str, stmt: P.Select, values: dict[str, dict], table: TableMeta,
            rcc: str | None) -> dict:
    index = I._index(table, {"IndexName": stmt.index}, inst) if stmt.index is not None else None
    consistent = I._consistent(req)
    if consistent and index is not None and index.kind == "GSI":
        raise ValidationException("Consistent reads are not supported on global secondary indexes")
    limit = I._limit(req)
    ks = index.key if index is not None else table.key
    cond = Condition(stmt.where, values) if stmt.where is not None else None
    plan = _query_plan(stmt, values, ks)
    forward = True
    if stmt.order_by:
        if plan is None:
            raise ValidationException("Unsupported operation: ORDER BY needs a WHERE that selects partitions "
                                      "with the partition key (= or IN)")
        forward = _order(stmt.order_by, ks, plan[0])
    fp = _fingerprint(text, req.get("Parameters"))
    part, start = (0, None) if req.get("NextToken") is None else _decode_token(req["NextToken"], fp)
    if start is not None:
        start = I._start_key({"ExclusiveStartKey": start}, table, index)
    r = inst.engine.read()
    hide = I._hider(inst, table)  # ttl_hide_expired: judged before the WHERE (an index entry by its table item)
    items: list[dict] = []
    size = 0
    next_part: int | None = None
    last_key: dict | None = None
    if plan is None:
        if part != 0:
            raise ValidationException(_BAD_TOKEN)
        page = reads.scan(r, table, index, limit=limit, start_key=start, filter=cond, hide=hide)
        items, size, last_key = page.items, page.size, page.last_key
        if last_key is not None:
            next_part = 0
    else:
        hashes, rop, rvals = plan
        if part > len(hashes):
            raise ValidationException(_BAD_TOKEN)
        remaining = limit
        for i in range(part, len(hashes)):
            if i > part:
                start = None
            if start is not None and not values_equal(start.get(ks.hash_name, {}), hashes[i]):
                raise ValidationException(_BAD_TOKEN)
            page = reads.query(r, table, index, hashes[i], rop, rvals, forward=forward,
                               limit=remaining, start_key=start, filter=cond, hide=hide)
            items += page.items
            size += page.size
            if page.last_key is not None:
                next_part, last_key = i, page.last_key
                break
            if remaining is not None:
                remaining -= page.scanned
            if i + 1 < len(hashes) and (remaining == 0 or size >= _PAGE_BYTES):
                next_part = i + 1
                break
    if stmt.projection is not None:
        paths = list(stmt.projection)
        items = [I._project(it, paths) for it in items]
    out: dict[str, Any] = {"Items": items}
    if next_part is not None:
        out["NextToken"] = _encode_token(fp, next_part, last_key)
        if last_key is not None:
            out["LastEvaluatedKey"] = last_key
    if rcc is not None:
        out["ConsumedCapacity"] = consumed_read(table, size, consistent, rcc, index if rcc == "INDEXES" else None)
    return out


# --- single-item reads (BatchExecuteStatement, ExecuteTransaction) ---------------------------------------------
def _point_read(stmt: P.Select, values: dict[str, dict], table: TableMeta) -> tuple[dict, Condition | None]:
    if stmt.index is not None or stmt.order_by:
        raise ValidationException(_BATCH_READ)
    try:
        key, rest = _key(table, stmt.where, values)
    except ValidationException as e:
        if e.message == _KEY_WHERE:
            raise ValidationException(_BATCH_READ) from None
        raise
    return key, (Condition(_all(rest), values) if rest else None)  # type: ignore[arg-type]


def _shape(stmt: P.Select, cond: Condition | None, item: dict | None) -> dict | None:
    """The item a point read returns: None when absent or when the rest of the WHERE rejects it."""
    if item is None or (cond is not None and not I._x().evaluate(cond, item)):
        return None
    if stmt.projection is not None:
        return I._project(item, list(stmt.projection))  # type: ignore[no-any-return]
    return item


def _error(e: EddyError) -> dict[str, Any]:
    code = {"ConditionalCheckFailedException": "ConditionalCheckFailed", "DuplicateItemException": "DuplicateItem",
            "ResourceNotFoundException": "ResourceNotFound"}.get(e.code, "ValidationError")
    err: dict[str, Any] = {"Code": code, "Message": e.message}
    if "Item" in e.extra:
        err["Item"] = e.extra["Item"]
    return err


def _statements(req: dict, member: str) -> list[dict]:
    """The request's statement list; a JSON null in it is a statement without its Statement (the request
    shape check passes over nulls in lists)."""
    specs = req[member]
    for i, spec in enumerate(specs, 1):
        if spec is None:
            field = member[0].lower() + member[1:]
            raise ValidationException(f"1 validation error detected: Value null at '{field}.{i}.member.statement' "
                                      "failed to satisfy constraint: Member must not be null")
    return specs  # type: ignore[no-any-return]


# --- BatchExecuteStatement -----------------------------------------------------------------------------------
def batch_execute_statement(inst: Any, req: dict) -> dict | Future:
    specs = _statements(req, "Statements")
    rcc = I._rcc(req)
    parsed: list[tuple[P.Statement | None, Any]] = []
    reading = writing = False
    for spec in specs:
        try:
            stmt = P.parse(spec["Statement"])
        except ValidationException as e:
            parsed.append((None, e))
            continue
        parsed.append((stmt, None))
        if type(stmt) is P.Select:
            reading = True
        else:
            writing = True
    if reading and writing:
        raise ValidationException(_MIXED)
    responses: list[dict[str, Any]] = [{} for _ in specs]
    if not writing:
        return _batch_reads(inst, specs, parsed, responses, rcc)
    ops: list[Any] = []
    slots: list[int] = []
    for i, (spec, (parsed_stmt, err)) in enumerate(zip(specs, parsed)):
        try:
            if err is not None:
                raise err
            assert parsed_stmt is not None
            stmt = parsed_stmt
            if type(stmt) is P.Exists:
                raise ValidationException("Unsupported operation: EXISTS is only supported in ExecuteTransaction")
            values = P.bind(stmt, spec.get("Parameters"))
            table = _table(inst, stmt.table)
            responses[i]["TableName"] = table.name
            ops.append(_write_op(inst, stmt, values, table, _rvccf(spec)))
            slots.append(i)
        except (ValidationException, ResourceNotFoundException) as e:
            responses[i]["Error"] = _error(e)

    def fn(txn: Any) -> dict:
        outcomes = execute_each(txn, ops)
        done: list[Any] = []
        images: list[Any] = []
        for i, op, res in zip(slots, ops, outcomes):
            if isinstance(res, EddyError):
                responses[i]["Error"] = _error(res)
            else:
                done.append(op)
                images.append(res)
        out: dict[str, Any] = {"Responses": responses}
        if rcc is not None:
            out["ConsumedCapacity"] = write_capacity(done, images, rcc)
        return out
    return inst.engine.writer.submit(fn, inline=True)


def _batch_reads(inst: Any, specs: list, parsed: list, responses: list[dict[str, Any]], rcc: str | None) -> dict:
    consumed: dict[str, Consumed] = {}
    with inst.engine.store.read() as r:
        for i, (spec, (stmt, err)) in enumerate(zip(specs, parsed)):
            try:
                if err is not None:
                    raise err
                assert type(stmt) is P.Select
                values = P.bind(stmt, spec.get("Parameters"))
                table = _table(inst, stmt.table)
                responses[i]["TableName"] = table.name
                key, cond = _point_read(stmt, values, table)
                consistent = I._consistent(spec)
                inst.engine.check_tables(r, [table])  # not dropped since the lookup: as of this snapshot
            except (ValidationException, ResourceNotFoundException) as e:
                responses[i]["Error"] = _error(e)
                continue
            raw = r.get_item(table.table_id, *item_key(table, key))
            item = None if raw is None else orjson.loads(raw)
            c = consumed.setdefault(table.name, Consumed(table.name, "read"))
            c.add_table(read_units(item_size(item) if item else 0, consistent))
            if item is not None and I._hidden(inst, table, item):
                item = None
            shaped = _shape(stmt, cond, item)
            if shaped is not None:
                responses[i]["Item"] = shaped
    out: dict[str, Any] = {"Responses": responses}
    if rcc is not None:
        out["ConsumedCapacity"] = [c.render(rcc) for c in consumed.values()]
    return out


# --- ExecuteTransaction --------------------------------------------------------------------------------------
def execute_transaction(inst: Any, req: dict) -> dict | Future:
    specs = _statements(req, "TransactStatements")
    rcc = I._rcc(req)
    token = req.get("ClientRequestToken")
    compiled = [_compile(inst, spec["Statement"], spec.get("Parameters")) for spec in specs]
    kinds = {type(stmt) is P.Select for stmt, _v, _t in compiled}
    if len(kinds) > 1:
        raise ValidationException(_MIXED)
    seen: set[tuple] = set()

    def once(table: TableMeta, key: dict) -> None:
        ident = (table.table_id, *item_key(table, key))
        if ident in seen:
            raise ValidationException("Transaction request cannot include multiple operations on one item")
        seen.add(ident)

    if kinds == {True}:
        gets = []
        for stmt, values, table in compiled:
            assert type(stmt) is P.Select
            key, cond = _point_read(stmt, values, table)
            once(table, key)
            gets.append((table, key, _projector(stmt), _hider(inst, table, cond)))
        return TX.transact_get(inst.engine, gets, rcc)
    ops = []
    for spec, (stmt, values, table) in zip(specs, compiled):
        op = _write_op(inst, stmt, values, table, _rvccf(spec))
        once(table, op.item if type(op) is PutOp else op.key)
        ops.append(op)
    TX.check_write_size(ops)
    fingerprint = b""
    if token is not None:
        fp = {k: v for k, v in req.items() if k not in ("ReturnConsumedCapacity", "ClientRequestToken")}
        fingerprint = orjson.dumps(fp, option=orjson.OPT_SORT_KEYS)
    return TX.transact_write(inst.engine, ops, token=token, fingerprint=fingerprint, capacity_mode=rcc)


def _projector(stmt: P.Select) -> Any:
    if stmt.projection is None:
        return None
    paths = list(stmt.projection)
    return lambda item: I._project(item, paths)


def _hider(inst: Any, table: TableMeta, cond: Condition | None) -> Any:
    """transact_get's "treat as absent": the rest of the WHERE rejects the item, or TTL hides it."""
    evaluate = I._x().evaluate
    return lambda item: (cond is not None and not evaluate(cond, item)) or I._hidden(inst, table, item)


OPERATIONS = {
    "ExecuteStatement": execute_statement,
    "BatchExecuteStatement": batch_execute_statement,
    "ExecuteTransaction": execute_transaction,
}

