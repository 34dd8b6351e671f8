"""The table control plane's semantics: create, describe, update, delete and list tables, tags and
Time to Live settings, on validated requests.

Called by `api/tables.py` (which parses and validates the wire request); every change runs as one
function on the engine's writer (`engine.writer.submit`) so catalog changes, GSI backfills, TTL
`expires` backfills and stream enable/disable commit atomically with the group-commit batch.
"""
from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from eddydb.engine.catalog import IndexMeta, KeySchema, StreamMeta, TableMeta, TtlMeta
from eddydb.model.errors import (
    LimitExceededException,
    ResourceInUseException,
    ResourceNotFoundException,
    ValidationException,
)

__all__ = [
    "MAX_PROJECTED_ATTRIBUTES",
    "MAX_TAGS",
    "create_table",
    "delete_table",
    "describe",
    "describe_table",
    "describe_ttl",
    "list_tables",
    "list_tags",
    "load_table",
    "not_found",
    "resolve_table_name",
    "table_arn",
    "tag_resource",
    "untag_resource",
    "update_table",
    "update_ttl",
]

MAX_TAGS = 50
MAX_PROJECTED_ATTRIBUTES = 100  # NonKeyAttributes summed across every secondary index of a table
_ARN_PREFIX = "arn:aws:dynamodb:"
_TABLE_ARN_RE = re.compile(r"arn:aws:dynamodb:[^:]+:[^:]+:table/[^/]{3,}")


# --- names and lookups ---------------------------------------------------------------------------
def table_arn(settings: Any, name: str) -> str:
    return f"{_ARN_PREFIX}{settings.region}:{settings.account}:table/{name}"


def resolve_table_name(name_or_arn: str) -> str:
    """TableName parameters accept a table ARN too (arn:aws:dynamodb:region:account:table/name)."""
    if name_or_arn.startswith(_ARN_PREFIX):
        rest = name_or_arn.split(":", 5)[-1]
        if rest.startswith("table/"):
            return rest[len("table/"):].split("/", 1)[0]
    return name_or_arn


def not_found(name: str) -> ResourceNotFoundException:
    return ResourceNotFoundException(f"Requested resource not found: Table: {name} not found")


def load_table(txn: Any, name: str) -> TableMeta | None:
    """The table's metadata as stored in `txn`'s snapshot (None when absent)."""
    d = txn.load_table(name)
    return None if d is None else TableMeta.from_json(d)


def _must_load(txn: Any, name: str) -> TableMeta:
    meta = load_table(txn, name)
    if meta is None:
        raise not_found(name)
    return meta


def _save(engine: Any, txn: Any, meta: TableMeta) -> None:
    """Persist through the engine: it keeps the batch's table overlay and its cache in step."""
    engine.save_table(txn, meta)


def _submit(engine: Any, fn: Callable[[Any], tuple[str, TableMeta | None, Any]]) -> Future:
    """Run `fn(txn) -> (name, meta_after, response)` on the writer; resolves to `response`. The
    engine's table cache follows the commit through `txn.notes["tables"]` (before we resolve)."""
    out: Future = Future()
    inner = engine.writer.submit(fn)

    def _done(f: Future) -> None:
        exc = f.exception()
        if exc is not None:
            out.set_exception(exc)
        else:
            out.set_result(f.result()[2])

    inner.add_done_callback(_done)
    return out


def _reader(engine: Any) -> Any:
    return engine.store.read()


# --- descriptions ----------------------------------------------------------------------------------
def _throughput_desc(tp: dict | None, meta: TableMeta) -> dict[str, Any]:
    tp = tp or {}
    out: dict[str, Any] = {}
    if tp.get("LastIncreaseDateTime") is not None:
        out["LastIncreaseDateTime"] = tp["LastIncreaseDateTime"]
    if tp.get("LastDecreaseDateTime") is not None:
        out["LastDecreaseDateTime"] = tp["LastDecreaseDateTime"]
    out["NumberOfDecreasesToday"] = int(tp.get("NumberOfDecreasesToday", 0))
    if meta.billing_mode == "PAY_PER_REQUEST":
        out["ReadCapacityUnits"] = 0
        out["WriteCapacityUnits"] = 0
    else:
        out["ReadCapacityUnits"] = int(tp.get("ReadCapacityUnits", 0))
        out["WriteCapacityUnits"] = int(tp.get("WriteCapacityUnits", 0))
    return out


def _projection(ix: IndexMeta) -> dict[str, Any]:
    p: dict[str, Any] = {"ProjectionType": ix.projection_type}
    if ix.projection_type == "INCLUDE":
        p["NonKeyAttributes"] = list(ix.non_key_attributes)
    return p


# What DynamoDB reports as the warm throughput of a new table or GSI (its instant capacity)
_WARM_READ, _WARM_WRITE = 12000, 4000


def _warm_desc(asked: dict | None, throughput: dict | None, meta: TableMeta, status: str) -> dict[str, Any]:
    """WarmThroughput of a table or GSI: the default floor, raised by a WarmThroughput request or by
    higher provisioned capacity (eddydb enforces no capacity, so it is reported, never waited for)."""
    asked = asked or {}
    prov = (throughput or {}) if meta.billing_mode == "PROVISIONED" else {}
    return {
        "ReadUnitsPerSecond": max(_WARM_READ, asked.get("ReadUnitsPerSecond", 0), prov.get("ReadCapacityUnits", 0)),
        "WriteUnitsPerSecond": max(_WARM_WRITE, asked.get("WriteUnitsPerSecond", 0),
                                   prov.get("WriteCapacityUnits", 0)),
        "Status": status,
    }


def describe(meta: TableMeta, txn: Any | None = None, *, status: str | None = None,
             index_status: dict[str, str] | None = None, dropped: tuple[IndexMeta, ...] = (),
             with_stats: bool = True) -> dict[str, Any]:
    """The TableDescription of `meta` (item counts and sizes from `txn` when given). `status`
    overrides TableStatus and `index_status` the IndexStatus of the GSIs it names: the answers of
    CreateTable and UpdateTable report the asynchronous states DynamoDB reports (CREATING,
    UPDATING, DELETING for the `dropped` GSIs, already gone from `meta`) although eddydb's change
    is complete and DescribeTable already says ACTIVE."""
    count = size = 0
    if txn is not None and with_stats:
        count = txn.count_items(meta.table_id)
        size = txn.table_size(meta.table_id)
    d: dict[str, Any] = {
        "AttributeDefinitions": [dict(a) for a in meta.attribute_definitions],
        "TableName": meta.name,
        "KeySchema": meta.key.to_aws(),
        "TableStatus": status or meta.status,
        "CreationDateTime": meta.created,
        "ProvisionedThroughput": _throughput_desc(meta.throughput, meta),
        "TableSizeBytes": size,
        "ItemCount": count,
        "TableArn": meta.arn,
        "TableId": meta.table_uuid,
    }
    if meta.billing_mode == "PAY_PER_REQUEST" or meta.extra.get("billing_set"):
        bms: dict[str, Any] = {"BillingMode": meta.billing_mode}
        # the last time the table became PAY_PER_REQUEST: still reported once it is PROVISIONED again
        since = meta.extra.get("ppr_since", meta.created if meta.billing_mode == "PAY_PER_REQUEST" else None)
        if since is not None:
            bms["LastUpdateToPayPerRequestDateTime"] = since
        d["BillingModeSummary"] = bms
    if meta.on_demand_throughput:
        d["OnDemandThroughput"] = dict(meta.on_demand_throughput)
    d["WarmThroughput"] = _warm_desc(meta.extra.get("warm"), meta.throughput, meta, d["TableStatus"])
    lsis: list[dict[str, Any]] = []
    gsis: list[dict[str, Any]] = []
    for ix in (*meta.indexes.values(), *dropped):
        icount = isize = 0
        if txn is not None and with_stats and ix.name in meta.indexes:
            icount = txn.count_index(ix.index_id)
            isize = txn.index_size(ix.index_id)
        desc: dict[str, Any] = {
            "IndexName": ix.name,
            "KeySchema": ix.key.to_aws(),
            "Projection": _projection(ix),
        }
        if ix.kind == "GSI":
            desc["IndexStatus"] = (index_status or {}).get(ix.name, ix.status)
            if ix.backfilling:
                desc["Backfilling"] = True
            desc["ProvisionedThroughput"] = _throughput_desc(ix.throughput, meta)
            if ix.on_demand_throughput:
                desc["OnDemandThroughput"] = dict(ix.on_demand_throughput)
            desc["WarmThroughput"] = _warm_desc(None, ix.throughput, meta, desc["IndexStatus"])
        desc["IndexSizeBytes"] = isize
        desc["ItemCount"] = icount
        desc["IndexArn"] = f"{meta.arn}/index/{ix.name}"
        (gsis if ix.kind == "GSI" else lsis).append(desc)
    if lsis and d["TableStatus"] != "DELETING":
        d["LocalSecondaryIndexes"] = lsis
    if gsis and d["TableStatus"] != "DELETING":
        d["GlobalSecondaryIndexes"] = gsis
    if meta.stream is not None:
        if meta.stream.enabled:
            d["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": meta.stream.view_type}
        if meta.stream.arn:
            d["LatestStreamLabel"] = meta.stream.label
            d["LatestStreamArn"] = meta.stream.arn
    if meta.sse:
        d["SSEDescription"] = dict(meta.sse)
    if meta.extra.get("table_class_set"):
        d["TableClassSummary"] = {"TableClass": meta.table_class}
        if meta.extra.get("table_class_updated"):
            d["TableClassSummary"]["LastUpdateDateTime"] = meta.extra["table_class_updated"]
    d["DeletionProtectionEnabled"] = bool(meta.deletion_protection)
    return d


# --- CreateTable -----------------------------------------------------------------------------------
def create_table(engine: Any, meta: TableMeta, *, stream_view_type: str | None = None) -> Future:
    """Create the table described by `meta` (validated; table_id/index ids/ARN/uuid are assigned
    here). Resolves to the CreateTable response {"TableDescription": ...} with status ACTIVE."""
    settings = engine.settings

    def fn(txn: Any) -> tuple[str, TableMeta, dict]:
        if txn.load_table(meta.name) is not None:
            raise ResourceInUseException(f"Table already exists: {meta.name}")
        now = time.time()
        meta.table_id = txn.next_id("table")
        meta.arn = table_arn(settings, meta.name)
        meta.table_uuid = str(uuid.uuid4())
        meta.created = now
        meta.status = "ACTIVE"
        for ix in meta.indexes.values():
            ix.index_id = txn.next_id("index")
            ix.created = now
            ix.status = "ACTIVE"
        if meta.billing_mode == "PAY_PER_REQUEST":
            meta.extra["ppr_since"] = now
        if stream_view_type is not None:
            meta.stream = _enable_stream(txn, meta, stream_view_type, now)
        _save(engine, txn, meta)
        return meta.name, meta, {"TableDescription": describe(
            meta, None, status="CREATING", index_status={ix.name: "CREATING" for ix in meta.gsis()})}

    return _submit(engine, fn)


def _enable_stream(txn: Any, meta: TableMeta, view_type: str, now: float) -> StreamMeta:
    from eddydb.engine import changelog

    sm = changelog.enable_stream(txn, meta, view_type, now)
    if sm is None:  # tolerate an implementation that mutates meta.stream in place
        sm = meta.stream
    return sm


def _disable_stream(txn: Any, meta: TableMeta, now: float) -> StreamMeta | None:
    from eddydb.engine import changelog

    sm = changelog.disable_stream(txn, meta, now)
    if sm is None:
        sm = meta.stream
        if sm is not None:
            sm = StreamMeta(enabled=False, view_type=sm.view_type, arn=sm.arn, label=sm.label)
    return sm


# --- DescribeTable / ListTables ----------------------------------------------------------------------
def describe_table(engine: Any, name: str) -> dict[str, Any]:
    with _reader(engine) as r:
        meta = _must_load(r, name)
        return {"Table": describe(meta, r)}


def list_tables(engine: Any, start: str | None, limit: int) -> dict[str, Any]:
    with _reader(engine) as r:
        names = sorted(d["name"] for d in r.load_tables())
    if start is not None:
        names = [n for n in names if n > start]
    page = names[:limit]
    out: dict[str, Any] = {"TableNames": page}
    if len(names) > limit and page:
        out["LastEvaluatedTableName"] = page[-1]
    return out


# --- UpdateTable -----------------------------------------------------------------------------------
def update_table(engine: Any, name: str, changes: dict[str, Any]) -> Future:
    """Apply a validated UpdateTable. `changes` keys (all optional):
    attribute_definitions, billing_mode, throughput, on_demand_throughput, gsi_updates
    [("Create", spec-IndexMeta) | ("Update", name, throughput, on_demand) | ("Delete", name)],
    stream (enabled, view_type), sse, table_class, deletion_protection."""

    def fn(txn: Any) -> tuple[str, TableMeta, dict]:
        meta = _must_load(txn, name)
        now = time.time()
        _check_gsi_updates_semantics(meta, changes)
        if "attribute_definitions" in changes:
            _merge_attribute_definitions(meta, changes["attribute_definitions"], changes.get("gsi_updates", []))
        types = {a["AttributeName"]: a["AttributeType"] for a in meta.attribute_definitions}
        for upd in changes.get("gsi_updates", []):
            if upd[0] == "Create":  # key types come from the table's (merged) definitions
                k = upd[1].key
                k.hash_type = types.get(k.hash_name, k.hash_type)
                if k.range_name is not None:
                    k.range_type = types.get(k.range_name, k.range_type)
        bm = changes.get("billing_mode")
        tp = changes.get("throughput")
        if bm is not None and bm != meta.billing_mode:
            if bm == "PROVISIONED":  # (api/ checked that ProvisionedThroughput comes with it)
                for ix in meta.gsis():
                    if not _gsi_throughput_given(changes, ix.name):
                        raise ValidationException(
                            "One or more parameter values were invalid: ProvisionedThroughput must be specified "
                            f"for index: {ix.name}")
            meta.billing_mode = bm
            meta.extra["billing_set"] = True
            if bm == "PAY_PER_REQUEST":
                meta.extra["ppr_since"] = now
                meta.throughput = _decreases_only(meta.throughput)
                for ix in meta.gsis():
                    ix.throughput = _decreases_only(ix.throughput)
        elif bm is not None:
            meta.extra["billing_set"] = True
        if tp is not None:
            if meta.billing_mode == "PAY_PER_REQUEST":
                raise ValidationException(
                    "One or more parameter values were invalid: Neither ReadCapacityUnits nor WriteCapacityUnits "
                    "can be specified when BillingMode is PAY_PER_REQUEST")
            cur = meta.throughput or {}
            if bm is None and cur.get("ReadCapacityUnits") == tp["ReadCapacityUnits"] \
                    and cur.get("WriteCapacityUnits") == tp["WriteCapacityUnits"] \
                    and not _other_changes(changes, {"throughput"}):
                raise ValidationException(
                    "The provisioned throughput for the table will not change. The requested value equals the "
                    f"current value. Current ReadCapacityUnits provisioned for the table: {cur.get('ReadCapacityUnits')}. "
                    f"Requested ReadCapacityUnits: {tp['ReadCapacityUnits']}. Current WriteCapacityUnits provisioned "
                    f"for the table: {cur.get('WriteCapacityUnits')}. Requested WriteCapacityUnits: "
                    f"{tp['WriteCapacityUnits']}. Refer to the Amazon DynamoDB Developer Guide for current limits "
                    "and how to request higher limits.")
            meta.throughput = _new_throughput(cur, tp, now)
        if "on_demand_throughput" in changes:
            meta.on_demand_throughput = changes["on_demand_throughput"]
        if "warm_throughput" in changes:
            meta.extra["warm"] = {**meta.extra.get("warm", {}), **changes["warm_throughput"]}
        dropped = tuple(gone for upd in changes.get("gsi_updates", [])
                        if (gone := _apply_gsi_update(engine, txn, meta, upd, now)) is not None)
        if "stream" in changes:
            enabled, view_type = changes["stream"]
            if enabled:
                if meta.stream_enabled:
                    raise ValidationException(
                        f"Table already has an enabled stream: TableName: {meta.name}, StreamArn: {meta.stream.arn}"
                        if meta.stream else "Table already has an enabled stream")
                meta.stream = _enable_stream(txn, meta, view_type, now)
            else:
                if not meta.stream_enabled:
                    raise ValidationException(f"Table {meta.name} does not have an enabled stream to disable")
                meta.stream = _disable_stream(txn, meta, now)
        if "sse" in changes:
            meta.sse = changes["sse"]
        if "table_class" in changes:
            meta.table_class = changes["table_class"]
            meta.extra["table_class_set"] = True
            meta.extra["table_class_updated"] = now
        if "deletion_protection" in changes:
            meta.deletion_protection = bool(changes["deletion_protection"])
        _save(engine, txn, meta)
        return meta.name, meta, {"TableDescription": describe(meta, txn, status="UPDATING", dropped=dropped,
                                                              index_status=_index_states(changes))}

    return _submit(engine, fn)


def _index_states(changes: dict) -> dict[str, str]:
    """The IndexStatus UpdateTable's answer reports for the GSIs it creates, updates or deletes."""
    states = {"Create": "CREATING", "Update": "UPDATING", "Delete": "DELETING"}
    return {upd[1].name if upd[0] == "Create" else upd[1]: states[upd[0]] for upd in changes.get("gsi_updates", [])}


def _other_changes(changes: dict, ignore: set[str]) -> bool:
    return any(k not in ignore for k in changes)


def _gsi_throughput_given(changes: dict, index_name: str) -> bool:
    for upd in changes.get("gsi_updates", []):
        if upd[0] == "Update" and upd[1] == index_name and upd[2] is not None:
            return True
    return False


def _decreases_only(tp: dict | None) -> dict:
    """An on-demand throughput: no units, but today's decrease count is still today's."""
    return {"NumberOfDecreasesToday": int((tp or {}).get("NumberOfDecreasesToday", 0))}


def _new_throughput(cur: dict, tp: dict, now: float) -> dict:
    out = dict(cur)
    r0, w0 = cur.get("ReadCapacityUnits"), cur.get("WriteCapacityUnits")
    r1, w1 = tp["ReadCapacityUnits"], tp["WriteCapacityUnits"]
    if r0 is not None and (r1 > r0 or w1 > (w0 or 0)):
        out["LastIncreaseDateTime"] = now
    if r0 is not None and (r1 < r0 or w1 < (w0 or 0)):
        out["LastDecreaseDateTime"] = now
        out["NumberOfDecreasesToday"] = int(cur.get("NumberOfDecreasesToday", 0)) + 1
    out["ReadCapacityUnits"] = r1
    out["WriteCapacityUnits"] = w1
    out.setdefault("NumberOfDecreasesToday", 0)
    return out


def _check_gsi_updates_semantics(meta: TableMeta, changes: dict) -> None:
    creates = [u for u in changes.get("gsi_updates", []) if u[0] == "Create"]
    deletes = [u for u in changes.get("gsi_updates", []) if u[0] == "Delete"]
    if len(creates) + len(deletes) > 1:
        raise LimitExceededException(
            "Subscriber limit exceeded: Only 1 online index can be created or deleted simultaneously per table")
    for u in creates:
        ix: IndexMeta = u[1]
        if ix.name in meta.indexes:
            raise ValidationException(
                "One or more parameter values were invalid: Attempting to create an index which already exists")
        if len(meta.gsis()) >= 20:
            raise LimitExceededException(
                "One or more parameter values were invalid: GlobalSecondaryIndex count exceeds the per-table limit of 20")
        if meta.billing_mode == "PROVISIONED" and changes.get("billing_mode") != "PAY_PER_REQUEST" \
                and ix.throughput is None:
            raise ValidationException(
                "One or more parameter values were invalid: ProvisionedThroughput must be specified for index: "
                f"{ix.name}")
        if (meta.billing_mode == "PAY_PER_REQUEST" and changes.get("billing_mode") != "PROVISIONED") \
                and ix.throughput is not None:
            raise ValidationException(
                "One or more parameter values were invalid: ProvisionedThroughput should not be specified for index: "
                f"{ix.name} when BillingMode is PAY_PER_REQUEST")
        # the limit is the table's: projected attributes summed across all its secondary indexes
        projected = sum(len(other.non_key_attributes) for other in meta.indexes.values())
        if projected + len(ix.non_key_attributes) > MAX_PROJECTED_ATTRIBUTES:
            raise ValidationException(
                "One or more parameter values were invalid: Number of projected attributes in all indexes exceeds "
                f"limit of {MAX_PROJECTED_ATTRIBUTES}")
    if creates and "attribute_definitions" not in changes:
        ix = creates[0][1]
        known = {a["AttributeName"] for a in meta.attribute_definitions}
        missing = [n for n in ix.key.names() if n not in known]
        if missing:
            raise ValidationException(
                "One or more parameter values were invalid: Some index key attributes are not defined in "
                f"AttributeDefinitions. Keys: [{', '.join(missing)}], AttributeDefinitions: "
                f"[{', '.join(a['AttributeName'] for a in meta.attribute_definitions)}]")


def _merge_attribute_definitions(meta: TableMeta, defs: list[dict], gsi_updates: list) -> None:
    """New AttributeDefinitions for UpdateTable: existing key attributes keep their types; every
    definition must be used by the table key, an existing index or an index being created."""
    current = {a["AttributeName"]: a["AttributeType"] for a in meta.attribute_definitions}
    given = {a["AttributeName"]: a["AttributeType"] for a in defs}
    for n, t in given.items():
        if n in current and current[n] != t:
            raise ValidationException(
                "One or more parameter values were invalid: Cannot change the type of an existing key attribute "
                f"{n}: existing type: {current[n]}, new type: {t}")
    creating = [u[1] for u in gsi_updates if u[0] == "Create"]
    needed: list[str] = list(meta.key.names())
    for ix in meta.indexes.values():
        needed.extend(ix.key.names())
    for ix in creating:
        needed.extend(ix.key.names())
    merged = dict(current)
    merged.update(given)
    missing = [n for n in dict.fromkeys(needed) if n not in merged]
    if missing:
        raise ValidationException(
            "One or more parameter values were invalid: Some index key attributes are not defined in "
            f"AttributeDefinitions. Keys: [{', '.join(missing)}], AttributeDefinitions: [{', '.join(given)}]")
    for ix in creating:
        for n, t in ((ix.key.hash_name, "hash"), (ix.key.range_name, "range")):
            if n is None:
                continue
            if t == "hash":
                ix.key.hash_type = merged[n]
            else:
                ix.key.range_type = merged[n]
    used = set(needed)
    meta.attribute_definitions = [{"AttributeName": n, "AttributeType": merged[n]} for n in merged if n in used]


def _apply_gsi_update(engine: Any, txn: Any, meta: TableMeta, upd: tuple, now: float) -> IndexMeta | None:
    """Apply one GlobalSecondaryIndexUpdate; returns the index it deleted, if any."""
    kind = upd[0]
    if kind == "Create":
        ix: IndexMeta = upd[1]
        ix.kind = "GSI"
        ix.index_id = txn.next_id("index")
        ix.created = now
        ix.status = "ACTIVE"
        ix.backfilling = False
        if meta.billing_mode == "PAY_PER_REQUEST":
            ix.throughput = {"NumberOfDecreasesToday": 0}
        meta.indexes[ix.name] = ix
        _backfill_index(engine, txn, meta, ix)
    elif kind == "Update":
        _, iname, tp, od = upd
        found = meta.indexes.get(iname)
        if found is None or found.kind != "GSI":
            raise ResourceNotFoundException("Requested resource not found")
        ix = found
        if tp is not None:
            if meta.billing_mode == "PAY_PER_REQUEST":
                raise ValidationException(
                    "One or more parameter values were invalid: Neither ReadCapacityUnits nor WriteCapacityUnits "
                    "can be specified when BillingMode is PAY_PER_REQUEST")
            cur = ix.throughput or {}
            if cur.get("ReadCapacityUnits") == tp["ReadCapacityUnits"] \
                    and cur.get("WriteCapacityUnits") == tp["WriteCapacityUnits"]:
                raise ValidationException(
                    f"The provisioned throughput for the index {iname} will not change. The requested value equals "
                    f"the current value. Current ReadCapacityUnits provisioned for the index: "
                    f"{cur['ReadCapacityUnits']}. Requested ReadCapacityUnits: {tp['ReadCapacityUnits']}. Current "
                    f"WriteCapacityUnits provisioned for the index: {cur['WriteCapacityUnits']}. Requested "
                    f"WriteCapacityUnits: {tp['WriteCapacityUnits']}. Refer to the Amazon DynamoDB Developer Guide "
                    "for current limits and how to request higher limits.")
            ix.throughput = _new_throughput(cur, tp, now)
        if od is not None:
            ix.on_demand_throughput = od
    elif kind == "Delete":
        iname = upd[1]
        gone = meta.indexes.get(iname)
        if gone is None or gone.kind != "GSI":
            raise ResourceNotFoundException("Requested resource not found")
        txn.drop_index(gone.index_id)
        del meta.indexes[iname]
        used = set(meta.key.names())
        for other in meta.indexes.values():
            used.update(other.key.names())
        meta.attribute_definitions = [a for a in meta.attribute_definitions if a["AttributeName"] in used]
        return gone
    return None


def _backfill_index(engine: Any, txn: Any, meta: TableMeta, ix: IndexMeta) -> None:
    from eddydb.engine import writes

    fn = getattr(writes, "backfill_index", None)
    if fn is None:
        raise NotImplementedError("engine.writes.backfill_index is missing")
    fn(txn, meta, ix)


# --- DeleteTable ------------------------------------------------------------------------------------
def delete_table(engine: Any, name: str) -> Future:
    def fn(txn: Any) -> tuple[str, None, dict]:
        meta = _must_load(txn, name)
        if meta.deletion_protection:
            raise ValidationException("Resource cannot be deleted as it is currently protected against deletion. "
                                      "Disable deletion protection first.")
        desc = describe(meta, txn, status="DELETING")
        now = time.time()
        if meta.stream_enabled:
            meta.stream = _disable_stream(txn, meta, now)
        engine.drop_table(txn, meta)
        return meta.name, None, {"TableDescription": desc}

    return _submit(engine, fn)


# --- tags -----------------------------------------------------------------------------------------
def _table_from_arn(txn: Any, settings: Any, arn: str) -> TableMeta:
    prefix = f"{_ARN_PREFIX}{settings.region}:{settings.account}:table/"
    if not _TABLE_ARN_RE.fullmatch(arn):  # an index or stream ARN is not a taggable resource
        raise ValidationException(f"Invalid TableArn: Invalid ResourceArn provided as input {arn}")
    if not arn.startswith(prefix):
        raise ResourceNotFoundException(f"Requested resource not found: ResourcArn: {arn} not found")
    meta = load_table(txn, arn[len(prefix):])
    if meta is None:
        raise ResourceNotFoundException(f"Requested resource not found: ResourcArn: {arn} not found")
    return meta


def tag_resource(engine: Any, arn: str, tags: list[dict[str, str]]) -> Future:
    def fn(txn: Any) -> tuple[str, TableMeta, dict]:
        meta = _table_from_arn(txn, engine.settings, arn)
        merged = dict(meta.tags)
        for t in tags:
            merged[t["Key"]] = t["Value"]
        if len(merged) > MAX_TAGS:
            raise ValidationException("One or more parameter values were invalid: The number of tags exceeds "
                                      f"the limit of {MAX_TAGS}")
        meta.tags = merged
        _save(engine, txn, meta)
        return meta.name, meta, {}

    return _submit(engine, fn)


def untag_resource(engine: Any, arn: str, keys: list[str]) -> Future:
    def fn(txn: Any) -> tuple[str, TableMeta, dict]:
        meta = _table_from_arn(txn, engine.settings, arn)
        for k in keys:
            meta.tags.pop(k, None)
        _save(engine, txn, meta)
        return meta.name, meta, {}

    return _submit(engine, fn)


def list_tags(engine: Any, arn: str, next_token: str | None, page: int = 100) -> dict[str, Any]:
    with _reader(engine) as r:
        meta = _table_from_arn(r, engine.settings, arn)
    items = list(meta.tags.items())
    start = 0
    if next_token is not None:
        try:
            start = int(next_token) if isinstance(next_token, str) else -1
            if start < 0:
                raise ValueError
        except ValueError:
            raise ValidationException(f"Invalid NextToken: {next_token}") from None
    chunk = items[start:start + page]
    out: dict[str, Any] = {"Tags": [{"Key": k, "Value": v} for k, v in chunk]}
    if start + page < len(items):
        out["NextToken"] = str(start + page)
    return out


# --- Time to Live ----------------------------------------------------------------------------------
def update_ttl(engine: Any, name: str, enabled: bool, attribute: str) -> Future:
    """UpdateTimeToLive: switches instantly (no ENABLING/DISABLING states); enabling backfills the
    `expires` column of every item so the sweeper's index sees them."""

    def fn(txn: Any) -> tuple[str, TableMeta, dict]:
        meta = _must_load(txn, name)
        cur = meta.ttl
        if enabled:
            if cur.status == "ENABLED":
                if cur.attribute == attribute:
                    raise ValidationException("TimeToLive is already enabled")
                raise ValidationException("TimeToLive is active on a different AttributeName: current "
                                          f"AttributeName is {cur.attribute}")
            meta.ttl = TtlMeta(attribute=attribute, status="ENABLED")
            _save(engine, txn, meta)
            _backfill_expires(txn, meta, attribute)
        else:
            if cur.status != "ENABLED":
                raise ValidationException("TimeToLive is already disabled")
            if cur.attribute != attribute:
                raise ValidationException("TimeToLive is active on a different AttributeName: current "
                                          f"AttributeName is {cur.attribute}")
            meta.ttl = TtlMeta(attribute=None, status="DISABLED")
            meta.extra["ttl_last_attribute"] = attribute
            _save(engine, txn, meta)
            _backfill_expires(txn, meta, None)
        return meta.name, meta, {"TimeToLiveSpecification": {"Enabled": enabled, "AttributeName": attribute}}

    return _submit(engine, fn)


def _backfill_expires(txn: Any, meta: TableMeta, attribute: str | None) -> None:
    """Recompute every item's `expires` (meta.ttl already switched): the sweeper's index."""
    import orjson

    from eddydb.engine.writes import expires_of

    after = None
    while True:
        rows = list(txn.scan_items(meta.table_id, after, 0, 1 << 32, 1000))
        if not rows:
            return
        for phash, pk, sk, raw in rows:
            exp = None
            if attribute is not None:
                exp = expires_of(meta, orjson.loads(raw))
            if exp is not None or attribute is None:
                txn.set_expires(meta.table_id, phash, pk, sk, exp)
        after = rows[-1][:3]
        if len(rows) < 1000:
            return


def describe_ttl(engine: Any, name: str) -> dict[str, Any]:
    with _reader(engine) as r:
        meta = _must_load(r, name)
    if meta.ttl.status == "ENABLED":
        return {"TimeToLiveDescription": {"TimeToLiveStatus": "ENABLED", "AttributeName": meta.ttl.attribute}}
    return {"TimeToLiveDescription": {"TimeToLiveStatus": "DISABLED"}}


def new_index(name: str, kind: str, key: KeySchema, projection: dict, throughput: dict | None,
              on_demand: dict | None = None) -> IndexMeta:
    """An IndexMeta from validated request parts (ids assigned at commit)."""
    return IndexMeta(
        name=name, kind=kind, index_id=0, key=key,
        projection_type=projection.get("ProjectionType", "ALL"),
        non_key_attributes=list(projection.get("NonKeyAttributes") or []),
        throughput=dict(throughput, NumberOfDecreasesToday=0) if throughput else None,
        on_demand_throughput=on_demand,
    )
