"""The DynamoDB table control plane in AWS shape: CreateTable, DescribeTable, UpdateTable,
DeleteTable, ListTables, tags, Time to Live, DescribeLimits and DescribeEndpoints.

Each handler `(inst, request dict) -> dict | Future` validates the wire request with DynamoDB's
messages (coral-style "N validation errors detected: ..." for field constraints, "One or more
parameter values were invalid: ..." for semantic ones) and delegates to `engine/tables.py`.
Registered through `OPERATIONS` by `api/dispatch.py`.
"""
from __future__ import annotations

import re
from concurrent.futures import Future
from typing import Any

from eddydb.engine import tables as T
from eddydb.engine.catalog import IndexMeta, KeySchema, TableMeta
from eddydb.model.errors import LimitExceededException, ValidationException

__all__ = ["OPERATIONS", "CoralErrors", "validate_table_name"]

_NAME_RE = re.compile(r"[a-zA-Z0-9_.-]+")
_KEY_TYPES = ("S", "N", "B")
_VIEW_TYPES = ("NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES", "KEYS_ONLY")
_PROJECTIONS = ("ALL", "KEYS_ONLY", "INCLUDE")
_BILLING = ("PROVISIONED", "PAY_PER_REQUEST")
_TABLE_CLASSES = ("STANDARD", "STANDARD_INFREQUENT_ACCESS")
_INVALID = "One or more parameter values were invalid: "
_MAX_THROUGHPUT = 40000
_MAX_UNITS = 1_000_000_000_000


# --- coral-style validation ----------------------------------------------------------------------
def _show(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "'" + ("true" if v else "false") + "'"
    return f"'{v}'"


class CoralErrors:
    """Collects field-constraint violations and raises them as one ValidationException."""

    def __init__(self) -> None:
        self.msgs: list[str] = []

    def add(self, value: Any, path: str, constraint: str) -> None:
        self.msgs.append(f"Value {_show(value)} at '{path}' failed to satisfy constraint: {constraint}")

    def null(self, path: str) -> None:
        self.msgs.append(f"Value null at '{path}' failed to satisfy constraint: Member must not be null")

    def enum(self, value: Any, path: str, allowed: tuple[str, ...]) -> None:
        self.add(value, path, f"Member must satisfy enum value set: [{', '.join(allowed)}]")

    def check_enum(self, value: Any, path: str, allowed: tuple[str, ...]) -> None:
        if value is not None and value not in allowed:
            self.enum(value, path, allowed)

    def length(self, value: Any, path: str, lo: int, hi: int, render: Any = None) -> None:
        if value is None:
            return
        if not isinstance(value, (str, list, dict)):
            self.add(value, path, "Member must be a string")
            return
        shown = value if render is None else render
        # coral counts a string as Java's String.length() does: UTF-16 code units
        n = len(value)
        if isinstance(value, str) and not value.isascii():
            n = len(value.encode("utf-16-le", "surrogatepass")) // 2
        if n < lo:
            self.add(shown, path, f"Member must have length greater than or equal to {lo}")
        elif n > hi:
            self.add(shown, path, f"Member must have length less than or equal to {hi}")

    def raise_if_any(self) -> None:
        if self.msgs:
            n = len(self.msgs)
            raise ValidationException(f"{n} validation error{'s' if n > 1 else ''} detected: " + "; ".join(self.msgs))


def validate_table_name(name: Any, errs: CoralErrors | None = None, path: str = "tableName") -> str:
    """DynamoDB's TableName rules (a table ARN is accepted and resolved to its name)."""
    own = errs is None
    errs = errs or CoralErrors()
    if name is None:
        errs.null(path)
    elif not isinstance(name, str):
        raise ValidationException(f"1 validation error detected: Value '{name}' at '{path}' failed to satisfy "
                                  "constraint: Member must be a string")
    else:
        if len(name) < 1 or len(name) > 1024:  # the model's TableArn bounds: coral's check comes first
            errs.length(name, path, 1, 1024)
            if own:
                errs.raise_if_any()
            return name
        name = T.resolve_table_name(name)
        if len(name) < 3 or len(name) > 255:
            raise ValidationException("TableName must be at least 3 characters long and at most 255 characters long")
        if not _NAME_RE.fullmatch(name):
            errs.add(name, path, "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+")
    if own:
        errs.raise_if_any()
    return name


def _table_name(req: dict) -> str:
    return validate_table_name(req.get("TableName"))


def _index_name(name: Any, errs: CoralErrors, path: str) -> None:
    if name is None:
        errs.null(path)
        return
    if not isinstance(name, str):
        errs.add(name, path, "Member must be a string")
        return
    errs.length(name, path, 3, 255)
    if 3 <= len(name) <= 255 and not _NAME_RE.fullmatch(name):
        errs.add(name, path, "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+")


def _key_schema_render(ks: list) -> str:
    return "[" + ", ".join(
        f"KeySchemaElement(attributeName={k.get('AttributeName')}, keyType={k.get('KeyType')})"
        if isinstance(k, dict) else str(k) for k in ks) + "]"


def _check_key_schema_fields(ks: Any, errs: CoralErrors, path: str) -> None:
    if ks is None:
        errs.null(path)
        return
    if not isinstance(ks, list):
        errs.add(ks, path, "Member must be a list")
        return
    errs.length(ks, path, 1, 2, render=_key_schema_render(ks))
    for i, k in enumerate(ks, 1):
        if not isinstance(k, dict):
            errs.add(k, f"{path}.{i}.member", "Member must be a structure")
            continue
        p = f"{path}.{i}.member"
        an = k.get("AttributeName")
        if an is None:
            errs.null(p + ".attributeName")
        else:
            errs.length(an, p + ".attributeName", 1, 255)
        kt = k.get("KeyType")
        if kt is None:
            errs.null(p + ".keyType")
        else:
            errs.check_enum(kt, p + ".keyType", ("HASH", "RANGE"))


def _check_throughput_fields(tp: Any, errs: CoralErrors, path: str) -> None:
    if tp is None:
        return
    if not isinstance(tp, dict):
        errs.add(tp, path, "Member must be a structure")
        return
    for field, sub in (("ReadCapacityUnits", "readCapacityUnits"), ("WriteCapacityUnits", "writeCapacityUnits")):
        v = tp.get(field)
        if v is None:
            errs.null(f"{path}.{sub}")
        elif not isinstance(v, int) or isinstance(v, bool):
            errs.add(v, f"{path}.{sub}", "Member must be a number")
        elif v < 1:
            errs.add(v, f"{path}.{sub}", "Member must have value greater than or equal to 1")


def _check_projection_fields(p: Any, errs: CoralErrors, path: str) -> None:
    if p is None:
        errs.null(path)
        return
    if not isinstance(p, dict):
        return
    errs.check_enum(p.get("ProjectionType"), path + ".projectionType", _PROJECTIONS)
    nka = p.get("NonKeyAttributes")
    if nka is not None:
        errs.length(nka, path + ".nonKeyAttributes", 1, 20)


def _parse_key_schema(ks: list[dict], defs: dict[str, str], *, index: str | None = None) -> KeySchema:
    """Semantic KeySchema rules (fields already validated)."""
    first = ks[0]
    if first["KeyType"] != "HASH":
        raise ValidationException("Invalid KeySchema: The first KeySchemaElement is not a HASH key type")
    if len(ks) == 2:
        second = ks[1]
        if second["KeyType"] == "HASH":
            raise ValidationException(
                "Too many hash keys specified.  All Dynamo DB tables must have exactly one hash key")
        if second["AttributeName"] == first["AttributeName"]:
            raise ValidationException(
                "Both the Hash Key and the Range Key element in the KeySchema have the same name")
        return KeySchema(first["AttributeName"], defs.get(first["AttributeName"], "S"),
                         second["AttributeName"], defs.get(second["AttributeName"], "S"))
    return KeySchema(first["AttributeName"], defs.get(first["AttributeName"], "S"))


def _parse_projection(p: dict, index_name: str) -> dict:
    ptype = p.get("ProjectionType")
    nka = p.get("NonKeyAttributes")
    if ptype is None:
        raise ValidationException(_INVALID + "Unknown ProjectionType: null")
    if ptype in ("ALL", "KEYS_ONLY") and nka is not None:
        raise ValidationException(_INVALID + f"ProjectionType is {ptype}, but NonKeyAttributes is specified")
    if ptype == "INCLUDE":
        if not nka:
            raise ValidationException(
                _INVALID + "NonKeyAttributes must not be empty when ProjectionType is INCLUDE")
        if len(set(nka)) != len(nka):
            raise ValidationException(_INVALID + "Duplicate attributes in NonKeyAttributes")
    return {"ProjectionType": ptype, "NonKeyAttributes": list(nka or [])}


def _definitions(defs: list[dict]) -> dict[str, str]:
    """AttributeDefinitions (fields validated) as {name: type}; a name defined twice is invalid."""
    out: dict[str, str] = {}
    for a in defs:
        if a["AttributeName"] in out:
            raise ValidationException(_INVALID + "Duplicate AttributeName in AttributeDefinitions: "
                                      f"{a['AttributeName']}")  # DynamoDB: "Cannot have two attributes with the same name"
        out[a["AttributeName"]] = a["AttributeType"]
    return out


def _check_billing(billing: str, tp: Any, what: str = "table") -> None:
    if billing == "PAY_PER_REQUEST" and tp is not None:
        raise ValidationException(_INVALID + "Neither ReadCapacityUnits nor WriteCapacityUnits can be specified "
                                  "when BillingMode is PAY_PER_REQUEST")
    if billing == "PROVISIONED" and tp is None:
        raise ValidationException(_INVALID + "ReadCapacityUnits and WriteCapacityUnits must both be specified "
                                  "when BillingMode is PROVISIONED")


def _check_throughput_limits(tp: dict | None, what: str = "table") -> None:
    if not tp:
        return
    if what == "table":  # a value no account limit could allow is a bad request, not a limit reached
        for f in ("ReadCapacityUnits", "WriteCapacityUnits"):
            if tp[f] > _MAX_UNITS:
                raise ValidationException(f"Given value {tp[f]} for {f} is out of bounds")
    for f in ("ReadCapacityUnits", "WriteCapacityUnits"):
        if tp[f] > _MAX_THROUGHPUT:
            raise LimitExceededException(
                f"Subscriber limit exceeded: Provisioned throughput for the {what} exceeds the maximum allowed "
                f"{f} of {_MAX_THROUGHPUT}")


def _clean_tp(tp: dict | None) -> dict | None:
    if tp is None:
        return None
    return {"ReadCapacityUnits": tp["ReadCapacityUnits"], "WriteCapacityUnits": tp["WriteCapacityUnits"],
            "NumberOfDecreasesToday": 0}


def _check_tags(tags: Any, errs: CoralErrors, path: str = "tags") -> None:
    if tags is None:
        return
    if not isinstance(tags, list):
        errs.add(tags, path, "Member must be a list")
        return
    for i, t in enumerate(tags, 1):
        if not isinstance(t, dict):
            errs.add(t, f"{path}.{i}.member", "Member must be a structure")
            continue
        k, v = t.get("Key"), t.get("Value")
        p = f"{path}.{i}.member"
        if k is None:
            errs.null(p + ".key")
        else:
            errs.length(k, p + ".key", 1, 128)
        if v is None:
            errs.null(p + ".value")
        else:
            errs.length(v, p + ".value", 0, 256)


def _check_tag_semantics(tags: list[dict]) -> None:
    for t in tags:
        k = t["Key"]
        if k.startswith("aws:"):
            raise ValidationException("One or more parameter values were invalid: Tag keys starting with 'aws:' "
                                      "are reserved for system use")
        for s in (k, t["Value"]):
            if not re.fullmatch(r"[\w\s.:/=+\-@]*", s):
                raise ValidationException("One or more parameter values were invalid: Illegal character(s) in tag "
                                          f"\"{s}\"")
    if len(tags) > T.MAX_TAGS:
        raise ValidationException(
            f"One or more parameter values were invalid: The number of tags exceeds the limit of {T.MAX_TAGS}")


def _units(spec: Any, what: str, keys: tuple[str, str], unlimited: bool) -> dict | None:
    """A WarmThroughput / OnDemandThroughput request: each of `keys` present is a positive number up
    to the throughput bound (or -1, no maximum, when `unlimited`)."""
    if spec is None:
        return None
    if not isinstance(spec, dict):
        raise ValidationException(f"{what} must be a structure")
    out = {}
    for k in keys:
        v = spec.get(k)
        if v is None:
            continue
        if type(v) is not int or (v < 1 and not (unlimited and v == -1)):
            raise ValidationException(_INVALID + f"{what} {k} must be {'-1 or ' if unlimited else ''}a positive number")
        if v > _MAX_UNITS:  # a value no quota could allow (and more than storage holds as a 64-bit integer)
            raise ValidationException(f"Given value {v} for {k} is out of bounds")
        out[k] = v
    return out


def _warm(spec: Any) -> dict | None:
    """A WarmThroughput request: optional positive ReadUnitsPerSecond / WriteUnitsPerSecond, one at least."""
    out = _units(spec, "WarmThroughput", ("ReadUnitsPerSecond", "WriteUnitsPerSecond"), unlimited=False)
    if out == {}:
        raise ValidationException(_INVALID + "WarmThroughput must specify ReadUnitsPerSecond or WriteUnitsPerSecond")
    return out


def _on_demand(spec: Any) -> dict | None:
    """An OnDemandThroughput request: each of MaxReadRequestUnits / MaxWriteRequestUnits is a
    positive number, or -1 (no maximum), as DynamoDB documents them."""
    return _units(spec, "OnDemandThroughput", ("MaxReadRequestUnits", "MaxWriteRequestUnits"), unlimited=True)


def _sse(spec: Any, settings: Any) -> dict | None:
    if not isinstance(spec, dict) or not spec.get("Enabled"):
        return None
    import uuid

    key = spec.get("KMSMasterKeyId") or f"arn:aws:kms:{settings.region}:{settings.account}:key/{uuid.uuid4()}"
    return {"Status": "ENABLED", "SSEType": spec.get("SSEType") or "KMS", "KMSMasterKeyArn": key}


def _stream_spec(spec: Any, errs: CoralErrors, *, creating: bool) -> tuple[bool, str | None] | None:
    if spec is None:
        return None
    if not isinstance(spec, dict):
        errs.add(spec, "streamSpecification", "Member must be a structure")
        return None
    enabled = spec.get("StreamEnabled")
    vt = spec.get("StreamViewType")
    if enabled is None:
        errs.null("streamSpecification.streamEnabled")
    errs.check_enum(vt, "streamSpecification.streamViewType", _VIEW_TYPES)
    if enabled is None:
        return None
    return bool(enabled), vt


# --- CreateTable ---------------------------------------------------------------------------------------
def create_table(inst: Any, req: dict) -> Future:
    errs = CoralErrors()
    name = validate_table_name(req.get("TableName"), errs)
    defs_raw = req.get("AttributeDefinitions")
    if defs_raw is None:
        errs.null("attributeDefinitions")
    elif not isinstance(defs_raw, list):
        errs.add(defs_raw, "attributeDefinitions", "Member must be a list")
    else:
        for i, a in enumerate(defs_raw, 1):
            if not isinstance(a, dict):
                errs.add(a, f"attributeDefinitions.{i}.member", "Member must be a structure")
                continue
            if a.get("AttributeName") is None:
                errs.null(f"attributeDefinitions.{i}.member.attributeName")
            else:
                errs.length(a["AttributeName"], f"attributeDefinitions.{i}.member.attributeName", 1, 255)
            if a.get("AttributeType") is None:
                errs.null(f"attributeDefinitions.{i}.member.attributeType")
            else:
                errs.check_enum(a.get("AttributeType"), f"attributeDefinitions.{i}.member.attributeType", _KEY_TYPES)
    ks = req.get("KeySchema")
    _check_key_schema_fields(ks, errs, "keySchema")
    billing = req.get("BillingMode")
    errs.check_enum(billing, "billingMode", _BILLING)
    tp = req.get("ProvisionedThroughput")
    _check_throughput_fields(tp, errs, "provisionedThroughput")
    gsis_raw = req.get("GlobalSecondaryIndexes")
    lsis_raw = req.get("LocalSecondaryIndexes")
    for kind, lst, path in (("GSI", gsis_raw, "globalSecondaryIndexes"), ("LSI", lsis_raw, "localSecondaryIndexes")):
        if lst is None:
            continue
        if not isinstance(lst, list):
            errs.add(lst, path, "Member must be a list")
            continue
        for i, ix in enumerate(lst, 1):
            if not isinstance(ix, dict):
                errs.add(ix, f"{path}.{i}.member", "Member must be a structure")
                continue
            p = f"{path}.{i}.member"
            _index_name(ix.get("IndexName"), errs, p + ".indexName")
            _check_key_schema_fields(ix.get("KeySchema"), errs, p + ".keySchema")
            _check_projection_fields(ix.get("Projection"), errs, p + ".projection")
            if kind == "GSI":
                _check_throughput_fields(ix.get("ProvisionedThroughput"), errs, p + ".provisionedThroughput")
    stream = _stream_spec(req.get("StreamSpecification"), errs, creating=True)
    _check_tags(req.get("Tags"), errs)
    errs.check_enum(req.get("TableClass"), "tableClass", _TABLE_CLASSES)
    errs.raise_if_any()

    billing = billing or "PROVISIONED"
    _check_billing(billing, tp)
    _check_throughput_limits(tp)
    defs_list: list[dict] = defs_raw or []
    defs = _definitions(defs_list)
    assert isinstance(ks, list)  # validated above
    key = _parse_key_schema(ks, defs)
    has_index = gsis_raw is not None or lsis_raw is not None
    if gsis_raw == []:
        raise ValidationException(_INVALID + "List of GlobalSecondaryIndexes is empty")
    if lsis_raw == []:
        raise ValidationException(_INVALID + "List of LocalSecondaryIndexes is empty")
    index_specs = [("LSI", ix) for ix in lsis_raw or []] + [("GSI", ix) for ix in gsis_raw or []]
    index_keys = {id(ix): _parse_key_schema(ix["KeySchema"], defs) for _, ix in index_specs}
    _check_attribute_definitions(key, [index_keys[id(ix)] for _, ix in index_specs],
                                 [a["AttributeName"] for a in defs_list], has_index)
    # the key types come from the (now complete) definitions
    key = _parse_key_schema(ks, defs)
    indexes: dict[str, IndexMeta] = {}
    n_projected = 0
    lsis = [ix for kind, ix in index_specs if kind == "LSI"]
    gsis = [ix for kind, ix in index_specs if kind == "GSI"]
    if lsis and key.range_name is None:
        raise ValidationException(_INVALID + "Table KeySchema does not have a range key, which is required when "
                                  "specifying a LocalSecondaryIndex")
    if len(lsis) > 5:
        raise ValidationException(_INVALID + "Number of LocalSecondaryIndexes exceeds per-table limit of 5")
    if len(gsis) > 20:
        raise ValidationException(_INVALID + "GlobalSecondaryIndex count exceeds the per-table limit of 20")
    for kind, ix in index_specs:
        iname = ix["IndexName"]
        if iname in indexes:
            raise ValidationException(_INVALID + f"Duplicate index name: {iname}")
        ikey = _parse_key_schema(ix["KeySchema"], defs)
        if kind == "LSI":
            if ikey.range_name is None:
                raise ValidationException(_INVALID + f"Index KeySchema does not have a range key for index: {iname}")
            if ikey.hash_name != key.hash_name:
                raise ValidationException(
                    _INVALID + f"Index KeySchema does not have the same leading hash key as table KeySchema for "
                    f"index: {iname}. index hash key: {ikey.hash_name}, table hash key: {key.hash_name}")
        proj = _parse_projection(ix["Projection"], iname)
        n_projected += len(proj["NonKeyAttributes"])
        itp = ix.get("ProvisionedThroughput") if kind == "GSI" else None
        if kind == "GSI":
            if billing == "PROVISIONED" and itp is None:
                raise ValidationException(_INVALID + f"ProvisionedThroughput must be specified for index: {iname}")
            if billing == "PAY_PER_REQUEST" and itp is not None:
                raise ValidationException(
                    _INVALID + "ProvisionedThroughput should not be specified for index: "
                    f"{iname} when BillingMode is PAY_PER_REQUEST")
            _check_throughput_limits(itp, "index")
        elif billing == "PROVISIONED":
            itp = None
        indexes[iname] = T.new_index(iname, kind, ikey, proj, _clean_tp(itp), _on_demand(ix.get("OnDemandThroughput")))
    if n_projected > T.MAX_PROJECTED_ATTRIBUTES:
        raise ValidationException(_INVALID + "Number of projected attributes in all indexes exceeds limit of "
                                  f"{T.MAX_PROJECTED_ATTRIBUTES}")
    view_type = None
    if stream is not None:
        enabled, vt = stream
        if enabled and vt is None:
            raise ValidationException(_INVALID + "You must specify a StreamViewType when enabling a stream")
        if enabled:
            view_type = vt
    tags = req.get("Tags") or []
    _check_tag_semantics(tags)
    settings = inst.engine.settings
    meta = TableMeta(
        name=name, table_id=0, key=key,
        attribute_definitions=[{"AttributeName": a["AttributeName"], "AttributeType": a["AttributeType"]}
                               for a in defs_list],
        arn="", created=0.0, indexes=indexes, billing_mode=billing,
        throughput=_clean_tp(tp) or {"NumberOfDecreasesToday": 0},
        on_demand_throughput=_on_demand(req.get("OnDemandThroughput")),
        tags={t["Key"]: t["Value"] for t in tags},
        deletion_protection=bool(req.get("DeletionProtectionEnabled", False)),
        table_class=req.get("TableClass") or "STANDARD",
        sse=_sse(req.get("SSESpecification"), settings),
    )
    warm = _warm(req.get("WarmThroughput"))
    if warm:
        meta.extra["warm"] = warm
    if req.get("BillingMode") is not None:
        meta.extra["billing_set"] = True
    if req.get("TableClass") is not None:
        meta.extra["table_class_set"] = True
    return T.create_table(inst.engine, meta, stream_view_type=view_type)


def _dump(names: list[str]) -> str:
    return "[" + ", ".join(names) + "]"


def _check_attribute_definitions(key: KeySchema, index_keys: list[KeySchema], defined: list[str],
                                 has_index: bool) -> None:
    """DynamoDB's rules relating AttributeDefinitions to the key schemas (moto's reading of them)."""
    used: list[str] = list(key.names())
    for k in index_keys:
        used.extend(k.names())
    used = sorted(set(used))
    actual = sorted(defined)
    if actual == used:
        return
    if len(actual) > len(used):
        if has_index:
            raise ValidationException(_INVALID + "Some AttributeDefinitions are not used. AttributeDefinitions: "
                                      f"{_dump(actual)}, keys used: {_dump(used)}")
        raise ValidationException(_INVALID + "Number of attributes in KeySchema does not exactly match number of "
                                  "attributes defined in AttributeDefinitions")
    missing = [n for n in used if n not in actual]
    if len(actual) < len(used) and not has_index:
        raise ValidationException("Invalid KeySchema: Some index key attribute have no definition")
    raise ValidationException(_INVALID + "Some index key attributes are not defined in AttributeDefinitions. "
                              f"Keys: {_dump(missing if has_index else used)}, AttributeDefinitions: {_dump(actual)}")


# --- DescribeTable / DeleteTable / ListTables ---------------------------------------------------------
def describe_table(inst: Any, req: dict) -> dict:
    return T.describe_table(inst.engine, _table_name(req))


def delete_table(inst: Any, req: dict) -> Future:
    return T.delete_table(inst.engine, _table_name(req))


def list_tables(inst: Any, req: dict) -> dict:
    errs = CoralErrors()
    limit = req.get("Limit")
    if limit is not None:
        if not isinstance(limit, int) or isinstance(limit, bool):
            errs.add(limit, "limit", "Member must be a number")
        elif limit < 1:
            errs.add(limit, "limit", "Member must have value greater than or equal to 1")
        elif limit > 100:
            errs.add(limit, "limit", "Member must have value less than or equal to 100")
    start = req.get("ExclusiveStartTableName")
    if start is not None:
        if not isinstance(start, str):
            errs.add(start, "exclusiveStartTableName", "Member must be a string")
        else:
            errs.length(start, "exclusiveStartTableName", 3, 255)
            if 3 <= len(start) <= 255 and not _NAME_RE.fullmatch(start):
                errs.add(start, "exclusiveStartTableName",
                         "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+")
    errs.raise_if_any()
    return T.list_tables(inst.engine, start, limit or 100)


# --- UpdateTable ----------------------------------------------------------------------------------------
def update_table(inst: Any, req: dict) -> Future:
    errs = CoralErrors()
    name = validate_table_name(req.get("TableName"), errs)
    defs_raw = req.get("AttributeDefinitions")
    if isinstance(defs_raw, list):
        for i, a in enumerate(defs_raw, 1):
            if isinstance(a, dict):
                errs.check_enum(a.get("AttributeType"), f"attributeDefinitions.{i}.member.attributeType", _KEY_TYPES)
    billing = req.get("BillingMode")
    errs.check_enum(billing, "billingMode", _BILLING)
    tp = req.get("ProvisionedThroughput")
    _check_throughput_fields(tp, errs, "provisionedThroughput")
    gsi_updates_raw = req.get("GlobalSecondaryIndexUpdates")
    if gsi_updates_raw is not None and not isinstance(gsi_updates_raw, list):
        errs.add(gsi_updates_raw, "globalSecondaryIndexUpdates", "Member must be a list")
    elif isinstance(gsi_updates_raw, list):
        for i, u in enumerate(gsi_updates_raw, 1):
            p = f"globalSecondaryIndexUpdates.{i}.member"
            if not isinstance(u, dict):
                errs.add(u, p, "Member must be a structure")
                continue
            for kind in ("Create", "Update", "Delete"):
                if u.get(kind) is not None and not isinstance(u[kind], dict):
                    errs.add(u[kind], f"{p}.{kind.lower()}", "Member must be a structure")
            if "Create" in u and isinstance(u["Create"], dict):
                c = u["Create"]
                _index_name(c.get("IndexName"), errs, p + ".create.indexName")
                _check_key_schema_fields(c.get("KeySchema"), errs, p + ".create.keySchema")
                _check_projection_fields(c.get("Projection"), errs, p + ".create.projection")
                _check_throughput_fields(c.get("ProvisionedThroughput"), errs, p + ".create.provisionedThroughput")
            if "Update" in u and isinstance(u["Update"], dict):
                _index_name(u["Update"].get("IndexName"), errs, p + ".update.indexName")
                _check_throughput_fields(u["Update"].get("ProvisionedThroughput"), errs,
                                         p + ".update.provisionedThroughput")
            if "Delete" in u and isinstance(u["Delete"], dict):
                _index_name(u["Delete"].get("IndexName"), errs, p + ".delete.indexName")
    stream = _stream_spec(req.get("StreamSpecification"), errs, creating=False)
    errs.check_enum(req.get("TableClass"), "tableClass", _TABLE_CLASSES)
    errs.raise_if_any()

    defs = _definitions(defs_raw) if isinstance(defs_raw, list) else {}
    if billing == "PROVISIONED" and tp is None:  # whatever the table's current mode
        raise ValidationException(_INVALID + "ProvisionedThroughput must be specified when BillingMode is PROVISIONED")
    changes: dict[str, Any] = {}
    if billing is not None:
        changes["billing_mode"] = billing
    if tp is not None:
        _check_throughput_limits(tp)
        changes["throughput"] = {"ReadCapacityUnits": tp["ReadCapacityUnits"],
                                 "WriteCapacityUnits": tp["WriteCapacityUnits"]}
    on_demand = _on_demand(req.get("OnDemandThroughput"))
    if on_demand is not None:
        changes["on_demand_throughput"] = on_demand
    warm = _warm(req.get("WarmThroughput"))
    if warm:
        changes["warm_throughput"] = warm
    if gsi_updates_raw is not None:
        if not gsi_updates_raw:
            raise ValidationException(_INVALID + "List of GlobalSecondaryIndexUpdates is empty")
        ups: list[tuple] = []
        seen: set[str] = set()
        for u in gsi_updates_raw:
            kinds = [k for k in ("Create", "Update", "Delete") if u.get(k) is not None]
            if not kinds:
                raise ValidationException(_INVALID + "One of GlobalSecondaryIndexUpdate.Update, "
                                          "GlobalSecondaryIndexUpdate.Create, GlobalSecondaryIndexUpdate.Delete "
                                          "must not be null")
            if len(kinds) > 1:
                raise ValidationException(_INVALID + "One of GlobalSecondaryIndexUpdate.Create, "
                                          "GlobalSecondaryIndexUpdate.Update, or GlobalSecondaryIndexUpdate.Delete "
                                          "must be specified")
            k = kinds[0]
            spec = u[k]
            if spec["IndexName"] in seen:
                raise ValidationException(_INVALID + "Only one global secondary index update per index is allowed "
                                          f"simultaneously. Index: {spec['IndexName']}")
            seen.add(spec["IndexName"])
            if k == "Create":
                ikey = _parse_key_schema(spec["KeySchema"], defs)
                proj = _parse_projection(spec["Projection"], spec["IndexName"])
                itp = spec.get("ProvisionedThroughput")
                _check_throughput_limits(itp, "index")
                ups.append(("Create", T.new_index(spec["IndexName"], "GSI", ikey, proj, _clean_tp(itp),
                                                  _on_demand(spec.get("OnDemandThroughput")))))
            elif k == "Update":
                itp = spec.get("ProvisionedThroughput")
                if itp is not None and max(itp["ReadCapacityUnits"], itp["WriteCapacityUnits"]) > _MAX_UNITS:
                    raise ValidationException("This operation cannot be performed with given input values. Please "
                                              "contact DynamoDB service team for more info: Action Blocked: "
                                              "IndexUpdate")
                _check_throughput_limits(itp, "index")
                ups.append(("Update", spec["IndexName"],
                            None if itp is None else {"ReadCapacityUnits": itp["ReadCapacityUnits"],
                                                      "WriteCapacityUnits": itp["WriteCapacityUnits"]},
                            _on_demand(spec.get("OnDemandThroughput"))))
            else:
                ups.append(("Delete", spec["IndexName"]))
        changes["gsi_updates"] = ups
    if defs_raw is not None:
        changes["attribute_definitions"] = defs_raw
    if stream is not None:
        enabled, vt = stream
        if enabled and vt is None:
            raise ValidationException(_INVALID + "You must specify a StreamViewType when enabling a stream")
        if not enabled and vt is not None:
            raise ValidationException(_INVALID + "You cannot modify the StreamViewType when disabling a stream")
        changes["stream"] = (enabled, vt)
    if req.get("SSESpecification") is not None:
        changes["sse"] = _sse(req["SSESpecification"], inst.engine.settings)
    if req.get("TableClass") is not None:
        changes["table_class"] = req["TableClass"]
    if req.get("DeletionProtectionEnabled") is not None:
        changes["deletion_protection"] = req["DeletionProtectionEnabled"]
    if req.get("ReplicaUpdates") is not None:
        raise ValidationException("Replica updates are not supported by eddydb")
    if not changes or set(changes) == {"attribute_definitions"}:
        raise ValidationException(
            "At least one of ProvisionedThroughput, BillingMode, UpdateStreamEnabled, GlobalSecondaryIndexUpdates "
            "or SSESpecification or ReplicaUpdates is required")
    return T.update_table(inst.engine, name, changes)


# --- tags ------------------------------------------------------------------------------------------------
def _resource_arn(req: dict, errs: CoralErrors) -> Any:
    arn = req.get("ResourceArn")
    if arn is None:
        errs.null("resourceArn")
    elif not isinstance(arn, str):
        errs.add(arn, "resourceArn", "Member must be a string")
    else:
        errs.length(arn, "resourceArn", 1, 1283)
    return arn


def tag_resource(inst: Any, req: dict) -> Future:
    errs = CoralErrors()
    arn = _resource_arn(req, errs)
    tags = req.get("Tags")
    if tags is None:
        errs.null("tags")
    _check_tags(tags, errs)
    errs.raise_if_any()
    if not tags:  # the model's TagList has no minimum: DynamoDB's own check, with its spelling
        raise ValidationException("Atleast one Tag needs to be provided as Input.")
    _check_tag_semantics(tags)
    return T.tag_resource(inst.engine, arn, tags)


def untag_resource(inst: Any, req: dict) -> Future:
    errs = CoralErrors()
    arn = _resource_arn(req, errs)
    keys = req.get("TagKeys")
    if keys is None:
        errs.null("tagKeys")
    elif not isinstance(keys, list):
        errs.add(keys, "tagKeys", "Member must be a list")
    else:
        for i, k in enumerate(keys, 1):
            if k is None:
                errs.null(f"tagKeys.{i}.member")
            else:
                errs.length(k, f"tagKeys.{i}.member", 1, 128)
    errs.raise_if_any()
    if not keys:
        raise ValidationException("Atleast one Tag Key needs to be provided as Input.")
    return T.untag_resource(inst.engine, arn, list(keys))


def list_tags_of_resource(inst: Any, req: dict) -> dict:
    errs = CoralErrors()
    arn = _resource_arn(req, errs)
    errs.raise_if_any()
    return T.list_tags(inst.engine, arn, req.get("NextToken"))


# --- TTL ---------------------------------------------------------------------------------------------------
def update_time_to_live(inst: Any, req: dict) -> Future:
    errs = CoralErrors()
    name = validate_table_name(req.get("TableName"), errs)
    spec = req.get("TimeToLiveSpecification")
    if spec is None:
        errs.null("timeToLiveSpecification")
    elif not isinstance(spec, dict):
        errs.add(spec, "timeToLiveSpecification", "Member must be a structure")
    else:
        if spec.get("Enabled") is None:
            errs.null("timeToLiveSpecification.enabled")
        elif not isinstance(spec["Enabled"], bool):
            errs.add(spec["Enabled"], "timeToLiveSpecification.enabled", "Member must be a boolean")
        an = spec.get("AttributeName")
        if an is None:
            errs.null("timeToLiveSpecification.attributeName")
        elif isinstance(an, str):
            errs.length(an, "timeToLiveSpecification.attributeName", 1, 255)
    errs.raise_if_any()
    assert isinstance(spec, dict)
    return T.update_ttl(inst.engine, name, bool(spec["Enabled"]), spec["AttributeName"])


def describe_time_to_live(inst: Any, req: dict) -> dict:
    return T.describe_ttl(inst.engine, _table_name(req))


def describe_continuous_backups(inst: Any, req: dict) -> dict:
    """Backups are not a feature of eddydb: continuous backups ENABLED, point-in-time recovery DISABLED
    (what a new DynamoDB table reports)."""
    from eddydb.model.errors import TableNotFoundException

    name = _table_name(req)
    if inst.engine.find_table(name) is None:
        raise TableNotFoundException(f"Table not found: {name}")
    return {"ContinuousBackupsDescription": {"ContinuousBackupsStatus": "ENABLED",
                                             "PointInTimeRecoveryDescription": {"PointInTimeRecoveryStatus": "DISABLED"}}}


# --- account-level ----------------------------------------------------------------------------------------
def describe_limits(inst: Any, req: dict) -> dict:
    return {"AccountMaxReadCapacityUnits": 80000, "AccountMaxWriteCapacityUnits": 80000,
            "TableMaxReadCapacityUnits": _MAX_THROUGHPUT, "TableMaxWriteCapacityUnits": _MAX_THROUGHPUT}


def describe_endpoints(inst: Any, req: dict) -> dict:
    """Our own address, with its scheme: botocore uses an Address starting with "http" as is (so
    endpoint discovery keeps talking to eddydb) and would prefix anything else with https://."""
    s = inst.engine.settings
    address = s.extra.get("public_url") if isinstance(s.extra, dict) else None
    if not address:
        host = "127.0.0.1" if s.host in ("0.0.0.0", "::", "") else s.host
        address = f"http://{host}:{s.port}"
    return {"Endpoints": [{"Address": address, "CachePeriodInMinutes": 1440}]}


def eddydb_ttl_sweep(inst: Any, req: dict) -> Future:
    """eddydb extension (not an AWS operation): expire items now. {"TableName"?, "Now"?} ->
    {"Deleted": n}. Used by `eddydb ttl sweep`; runs off the caller's thread."""
    import threading

    from eddydb.engine.ttl import sweep

    name = _table_name(req) if req.get("TableName") is not None else None
    now = req.get("Now")
    if now is not None and (not isinstance(now, (int, float)) or isinstance(now, bool)):
        raise ValidationException("Now must be a number of epoch seconds")
    out: Future = Future()

    def run() -> None:
        try:
            out.set_result({"Deleted": sweep(inst.engine, name, now)})
        except BaseException as e:  # noqa: BLE001 - reported to the caller
            out.set_exception(e)

    threading.Thread(target=run, name="eddydb-ttl-sweep-request", daemon=True).start()
    return out


OPERATIONS = {
    "CreateTable": create_table,
    "DescribeTable": describe_table,
    "UpdateTable": update_table,
    "DeleteTable": delete_table,
    "ListTables": list_tables,
    "TagResource": tag_resource,
    "UntagResource": untag_resource,
    "ListTagsOfResource": list_tags_of_resource,
    "UpdateTimeToLive": update_time_to_live,
    "DescribeTimeToLive": describe_time_to_live,
    "DescribeLimits": describe_limits,
    "DescribeContinuousBackups": describe_continuous_backups,
    "DescribeEndpoints": describe_endpoints,
    "EddydbTtlSweep": eddydb_ttl_sweep,
}
