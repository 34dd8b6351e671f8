"""Request-shape ("coral") validation: what DynamoDB's front end checks before any operation runs.

api/dispatch.py calls `validator(target)(request)` right before a DynamoDB or DynamoDB Streams
handler. The operation's input shape comes from botocore's service model (loaded once). Like
DynamoDB, a JSON value of the wrong type for a member is a SerializationException (the first one
in document order); then the model's constraints (required, length, value range, pattern, enum)
are checked and every violation is reported in ONE ValidationException ("2 validation errors
detected: ..."), before any table is looked up. A few lenient conversions DynamoDB performs are
applied in place ("true"/"yes"/"1" for a boolean, a fractional number for an integer).

Hot path: each operation gets a precompiled boolean check; only a request that fails it (or
needs a conversion) takes the slow path that builds DynamoDB's messages. AttributeValues are
checked one level deep (a JSON object); their contents are validated by model/values.py.
"""
from __future__ import annotations

import math
import re
import threading
from collections.abc import Callable
from typing import Any

from eddydb.model.errors import SerializationException, ValidationException
from eddydb.model.values import START_MAP, check_serialization, json_boolean, not_a_string

__all__ = ["check_attribute_values", "validate", "validator"]

_PKG = "com.amazonaws.dynamodb.v20120810."
_PARAMETERIZED = ("class sun.reflect.generics.reflectiveObjects.ParameterizedTypeImpl cannot be cast to class "
                  "java.lang.Class (sun.reflect.generics.reflectiveObjects.ParameterizedTypeImpl and java.lang.Class "
                  "are in module java.base of loader 'bootstrap')")
_MAX_ERRORS = 10
_SERVICES = {"DynamoDB_20120810": "dynamodb", "DynamoDBStreams_20120810": "dynamodbstreams"}
# Model constraints DynamoDB does not enforce at the front end (it answers its own message later,
# e.g. "Attribute name is too large, must be less than 65536 bytes").
_UNCHECKED = frozenset({"AttributeName"})
_JAVA = {"string": "String", "boolean": "Boolean", "integer": "Integer", "long": "Long", "double": "Double",
         "float": "Float"}

# The order DynamoDB lists the violations of one request in (observed; dynalite mirrors it). Members
# not named here follow in the service model's order.
_ORDER: dict[str, tuple[str, ...]] = {
    "GetItemInput": ("ReturnConsumedCapacity", "AttributesToGet", "TableName", "Key", "ConsistentRead",
                     "ProjectionExpression", "ExpressionAttributeNames"),
    "PutItemInput": ("ReturnConsumedCapacity", "TableName", "Item", "ConditionalOperator", "Expected", "ReturnValues",
                     "ReturnItemCollectionMetrics", "ConditionExpression", "ExpressionAttributeValues",
                     "ExpressionAttributeNames"),
    "DeleteItemInput": ("ReturnConsumedCapacity", "TableName", "ReturnValues", "ReturnItemCollectionMetrics", "Key",
                        "ConditionalOperator", "Expected", "ConditionExpression", "ExpressionAttributeValues",
                        "ExpressionAttributeNames"),
    "UpdateItemInput": ("ReturnConsumedCapacity", "TableName", "ReturnItemCollectionMetrics", "ReturnValues", "Key",
                        "ConditionalOperator", "Expected", "AttributeUpdates", "ConditionExpression",
                        "UpdateExpression", "ExpressionAttributeValues", "ExpressionAttributeNames"),
    "QueryInput": ("Select", "IndexName", "ReturnConsumedCapacity", "QueryFilter", "TableName", "ConditionalOperator",
                   "AttributesToGet", "Limit", "KeyConditions", "ExclusiveStartKey", "ConsistentRead",
                   "ScanIndexForward", "KeyConditionExpression", "FilterExpression", "ProjectionExpression",
                   "ExpressionAttributeValues", "ExpressionAttributeNames"),
    "ScanInput": ("Select", "IndexName", "TotalSegments", "ReturnConsumedCapacity", "TableName", "ConditionalOperator",
                  "ScanFilter", "Segment", "Limit", "AttributesToGet", "ExclusiveStartKey", "FilterExpression",
                  "ProjectionExpression", "ExpressionAttributeValues", "ExpressionAttributeNames"),
    "BatchGetItemInput": ("ReturnConsumedCapacity", "RequestItems"),
    "BatchWriteItemInput": ("ReturnConsumedCapacity", "ReturnItemCollectionMetrics", "RequestItems"),
    "KeysAndAttributes": ("Keys", "AttributesToGet", "ConsistentRead", "ProjectionExpression",
                          "ExpressionAttributeNames"),
    "WriteRequest": ("DeleteRequest", "PutRequest"),
    "ExpectedAttributeValue": ("AttributeValueList", "ComparisonOperator", "Exists", "Value"),
    "Condition": ("ComparisonOperator", "AttributeValueList"),
    "AttributeValueUpdate": ("Action", "Value"),
    "CreateTableInput": ("AttributeDefinitions", "TableName", "BillingMode", "ProvisionedThroughput", "KeySchema",
                         "LocalSecondaryIndexes", "GlobalSecondaryIndexes"),
    "UpdateTableInput": ("TableName", "ProvisionedThroughput", "BillingMode", "GlobalSecondaryIndexUpdates"),
    "ProvisionedThroughput": ("WriteCapacityUnits", "ReadCapacityUnits"),
    "Projection": ("ProjectionType", "NonKeyAttributes"),
    "LocalSecondaryIndex": ("IndexName", "KeySchema", "Projection"),
    "GlobalSecondaryIndex": ("IndexName", "KeySchema", "Projection", "ProvisionedThroughput"),
    "CreateGlobalSecondaryIndexAction": ("Projection", "IndexName", "ProvisionedThroughput", "KeySchema"),
    "GlobalSecondaryIndexUpdate": ("Update", "Create", "Delete"),
    "ListTablesInput": ("Limit", "ExclusiveStartTableName"),
}


class _Shape:
    """One compiled model shape: its kind, constraints, children and fast check."""

    __slots__ = (
        "enum",
        "hi",
        "key",
        "kind",
        "lo",
        "lower",
        "member",
        "members",
        "name",
        "opaque",
        "order",
        "pattern",
        "pattern_text",
        "required",
        "value",
    )

    def __init__(self, name: str, kind: str) -> None:
        self.name, self.kind = name, kind
        self.lo: int | None = None
        self.hi: int | None = None
        self.pattern: re.Pattern[str] | None = None
        self.pattern_text = ""
        self.enum: frozenset[str] | None = None
        self.members: dict[str, _Shape] = {}
        self.lower: dict[str, str] = {}
        self.required: tuple[str, ...] = ()
        self.order: tuple[str, ...] = ()
        self.member: _Shape | None = None
        self.key: _Shape | None = None
        self.value: _Shape | None = None
        self.opaque = False   # AttributeValue: contents validated by model/values.py

    def constrained(self) -> bool:
        return self.lo is not None or self.hi is not None or self.pattern is not None or self.enum is not None


def _u16(s: str) -> int:
    """Java's String.length(): UTF-16 code units."""
    return len(s) if s.isascii() else len(s.encode("utf-16-le", "surrogatepass")) // 2


def _lower(name: str) -> str:
    return name[:1].lower() + name[1:]


# --- compiling the model -------------------------------------------------------------------------------
class _Model:
    def __init__(self, service: str) -> None:
        from botocore.loaders import Loader

        data = Loader().load_service_model(service, "service-2")
        self.shapes: dict[str, dict] = data["shapes"]
        self.operations: dict[str, dict] = data["operations"]
        self.enums: dict[str, list] = {}
        self.compiled: dict[str, _Shape] = {}

    def shape(self, name: str) -> _Shape:
        got = self.compiled.get(name)
        if got is not None:
            return got
        spec = self.shapes[name]
        s = _Shape(name, spec["type"])
        self.compiled[name] = s
        if name not in _UNCHECKED:
            s.lo, s.hi = spec.get("min"), spec.get("max")
        if "pattern" in spec and name not in _UNCHECKED:
            try:
                s.pattern = re.compile(spec["pattern"])
                s.pattern_text = spec["pattern"]
            except re.error:  # a Java-only construct (\p{Print}, surrogate ranges): not checked
                s.pattern = None
        if "enum" in spec:
            s.enum = frozenset(spec["enum"])
            self.enums[name] = list(spec["enum"])
        if name == "AttributeValue":
            s.opaque = True
        elif s.kind == "structure":
            members = spec.get("members", {})
            s.members = {m: self.shape(ms["shape"]) for m, ms in members.items()}
            s.lower = {m: _lower(m) for m in members}
            s.required = tuple(spec.get("required", ()))
            first = [m for m in _ORDER.get(name, ()) if m in members]
            s.order = tuple(first + [m for m in members if m not in first])
        elif s.kind == "list":
            s.member = self.shape(spec["member"]["shape"])
        elif s.kind == "map":
            s.key = self.shape(spec["key"]["shape"])
            s.value = self.shape(spec["value"]["shape"])
        return s

    def enum_text(self, s: _Shape) -> str:
        return "[" + ", ".join(self.enums[s.name]) + "]"


def _fast(s: _Shape) -> Callable[[Any], bool]:
    """A check that is True only when `v` is of the right JSON type, needs no conversion and
    satisfies every constraint (False sends the request to the slow path that explains why).
    Generated as straight-line Python: this runs on every request."""
    ns: dict[str, Any] = {"_u16": _u16}
    lines: list[str] = []
    names: dict[int, str] = {}
    _gen_fn(s, ns, lines, names)
    exec("\n".join(lines), ns)  # noqa: S102 - our own generated code, from the service model
    fn: Callable[[Any], bool] = ns[names[id(s)]]
    return fn


def _gen_fn(s: _Shape, ns: dict[str, Any], lines: list[str], names: dict[int, str]) -> str:
    """Emit `def <name>(v)` checking a structure/list/map shape; returns the function name."""
    got = names.get(id(s))
    if got is not None:
        return got
    name = names[id(s)] = f"_ok{len(names)}"
    body: list[str] = [f"def {name}(v):"]
    lo, hi = s.lo, s.hi
    if s.kind == "list":
        assert s.member is not None
        body.append("    if type(v) is not list: return False")
        if lo is not None or hi is not None:
            body.append(f"    if not {lo or 0} <= len(v) <= {hi if hi is not None else 1 << 62}: return False")
        body.append("    for x in v:")
        body.append(f"        if not ({_gen_expr(s.member, 'x', ns, lines, names)}): return False")
    elif s.kind == "map":
        assert s.key is not None and s.value is not None
        body.append("    if type(v) is not dict: return False")
        if lo is not None or hi is not None:
            body.append(f"    if not {lo or 0} <= len(v) <= {hi if hi is not None else 1 << 62}: return False")
        if s.key.constrained() and not s.value.opaque:
            body.append("    for k in v:")
            body.append(f"        if not ({_gen_expr(s.key, 'k', ns, lines, names)}): return False")
        body.append("    for x in v.values():")
        body.append(f"        if not ({_gen_expr(s.value, 'x', ns, lines, names)}): return False")
    else:
        body.append("    if type(v) is not dict: return False")
        if s.members:
            body.append("    for k, x in v.items():")
            body.append("        if x is None: continue")
            kw = "if"
            for m, ms in s.members.items():
                body.append(f"        {kw} k == {m!r}:")
                body.append(f"            if not ({_gen_expr(ms, 'x', ns, lines, names)}): return False")
                kw = "elif"
            if s.required:
                cond = " or ".join(f"v.get({r!r}) is None" for r in s.required)
                body.append(f"    if {cond}: return False")
    body.append("    return True")
    lines.extend(body)
    return name


def _gen_expr(s: _Shape, x: str, ns: dict[str, Any], lines: list[str], names: dict[int, str]) -> str:
    """A Python expression true when variable `x` passes shape `s`'s fast check."""
    lo, hi, kind = s.lo, s.hi, s.kind
    if s.opaque:
        return f"type({x}) is dict"
    if kind == "string":
        if s.enum is not None:
            ns[f"_E{id(s)}"] = s.enum
            return f"type({x}) is str and {x} in _E{id(s)}"
        out = f"type({x}) is str"
        if lo is not None or hi is not None:
            h = hi if hi is not None else 1 << 62
            out += f" and {lo or 0} <= len({x}) <= {h} and ({x}.isascii() or _u16({x}) <= {h})"
        if s.pattern is not None:
            ns[f"_P{id(s)}"] = s.pattern.fullmatch
            out += f" and _P{id(s)}({x}) is not None"
        return out
    if kind == "boolean":
        return f"type({x}) is bool"
    if kind in ("integer", "long"):
        out = f"type({x}) is int"
        if lo is not None:
            out += f" and {x} >= {lo}"
        if hi is not None:
            out += f" and {x} <= {hi}"
        return out
    if kind in ("double", "float"):
        return f"(type({x}) is float or type({x}) is int)"
    if kind == "blob":
        return f"type({x}) is str and len({x}) % 4 == 0"
    if kind == "timestamp":
        return f"type({x}) in (int, float, str)"
    return f"{_gen_fn(s, ns, lines, names)}({x})"


# --- the slow path: DynamoDB's messages ----------------------------------------------------------------
def _java_type(s: _Shape) -> str:
    if s.kind in _JAVA:
        return "java.lang." + _JAVA[s.kind]
    if s.kind == "list":
        return f"java.util.List<{_java_type(s.member)}>"  # type: ignore[arg-type]
    if s.kind == "map":
        return f"java.util.Map<java.lang.String, {_java_type(s.value)}>"  # type: ignore[arg-type]
    if s.kind == "blob":
        return "java.nio.ByteBuffer"
    return _PKG + s.name


def _deserialize(s: _Shape, v: Any, in_collection: bool) -> Any:
    """`v` converted to shape `s` the way DynamoDB's deserializer does (SerializationException on a
    JSON type it cannot convert); returns the converted value (the same object if unchanged)."""
    t = type(v)
    kind = s.kind
    if kind == "string":
        if t is str:
            return v
        raise not_a_string(v)
    if kind == "boolean":
        return json_boolean(v)
    if kind in ("integer", "long", "double", "float"):
        java = _JAVA[kind]
        if t is int:
            return v
        if t is float:
            if kind in ("double", "float"):
                return v
            if not math.isfinite(v):
                raise SerializationException(f"DECIMAL_VALUE cannot be converted to {java}")
            return math.floor(v)
        if t is bool:
            raise SerializationException(f"{'TRUE' if v else 'FALSE'}_VALUE cannot be converted to {java}")
        if t is str:
            raise SerializationException(f"STRING_VALUE cannot be converted to {java}")
        if t is list:
            raise SerializationException(f"Unrecognized collection type class java.lang.{java}")
        raise SerializationException(START_MAP)
    if kind == "blob":
        if t is str:
            if len(v) % 4:
                raise SerializationException(
                    f"Base64 encoded length is expected a multiple of 4 bytes but found: {len(v)}")
            return v
        if t is list:
            raise SerializationException("Unrecognized collection type class java.nio.ByteBuffer")
        if t is dict:
            raise SerializationException(START_MAP)
        raise SerializationException("only base-64-encoded strings are convertible to bytes")
    if kind == "timestamp":
        if t is bool:
            raise SerializationException(f"{'TRUE' if v else 'FALSE'}_VALUE cannot be converted to Date")
        if t is list:
            raise SerializationException("Unrecognized collection type class java.util.Date")
        if t is dict:
            raise SerializationException(START_MAP)
        return v
    if kind == "list":
        if t is list:
            m = s.member
            assert m is not None
            for i, x in enumerate(v):
                if x is not None:
                    nx = _deserialize(m, x, True)
                    if nx is not x:
                        v[i] = nx
            return v
        if t is dict:
            raise SerializationException(START_MAP)
        raise SerializationException(_PARAMETERIZED if in_collection else "Unexpected field type")
    if kind == "map":
        if t is dict:
            val = s.value
            assert val is not None
            for k, x in v.items():
                if x is not None:
                    nx = _deserialize(val, x, True)
                    if nx is not x:
                        v[k] = nx
            return v
        if t is list:
            raise SerializationException(f"Unrecognized collection type {_java_type(s)}")
        raise SerializationException(_PARAMETERIZED if in_collection else "Unexpected field type")
    # structure (AttributeValue included)
    if t is dict:
        if not s.opaque:
            members = s.members
            for k, x in v.items():
                m = members.get(k)
                if m is not None and x is not None:
                    nx = _deserialize(m, x, False)
                    if nx is not x:
                        v[k] = nx
        return v
    if t is list:
        raise SerializationException(f"Unrecognized collection type class {_PKG}{s.name}")
    raise SerializationException("Unexpected value type in payload" if in_collection else "Unexpected field type")


def _show(v: Any, s: _Shape | None) -> str:
    """Java's rendering of a request value inside a constraint message."""
    if v is None:
        return "null"
    t = type(v)
    if t is str:
        return v
    if t is bool:
        return "true" if v else "false"
    if t is list:
        m = s.member if s is not None else None
        return "[" + ", ".join(_show(x, m) for x in v) + "]"
    if t is dict:
        if s is not None and s.kind == "structure" and not s.opaque:
            return f"{s.name}(" + ", ".join(f"{s.lower[m]}={_show(v.get(m), s.members[m])}"
                                             for m in s.members) + ")"
        val = s.value if s is not None else None
        return "{" + ", ".join(f"{k}={_show(x, val)}" for k, x in v.items()) + "}"
    return str(v)


class _Errors:
    __slots__ = ("model", "msgs")

    def __init__(self, model: _Model) -> None:
        self.msgs: list[str] = []
        self.model = model

    def add(self, shown: str, path: str, constraint: str) -> None:
        if len(self.msgs) < _MAX_ERRORS:
            self.msgs.append(f"Value {shown} at '{path}' failed to satisfy constraint: {constraint}")


def _violations(model: _Model, s: _Shape, v: Any) -> list[str]:
    """The messages of every constraint of a scalar/collection shape that `v` violates."""
    out: list[str] = []
    kind = s.kind
    if s.enum is not None and type(v) is str and v not in s.enum:
        out.append(f"Member must satisfy enum value set: {model.enum_text(s)}")
    if s.pattern is not None and type(v) is str and s.pattern.fullmatch(v) is None:
        out.append(f"Member must satisfy regular expression pattern: {s.pattern_text}")
    if kind in ("integer", "long", "double", "float"):
        if s.lo is not None and v < s.lo:
            out.append(f"Member must have value greater than or equal to {s.lo}")
        if s.hi is not None and v > s.hi:
            out.append(f"Member must have value less than or equal to {s.hi}")
    elif kind != "blob" and (s.lo is not None or s.hi is not None):
        n = _u16(v) if type(v) is str else len(v)
        if s.lo is not None and n < s.lo:
            out.append(f"Member must have length greater than or equal to {s.lo}")
        if s.hi is not None and n > s.hi:
            out.append(f"Member must have length less than or equal to {s.hi}")
    return out


def _all_constraints(s: _Shape) -> str:
    """The "[...]" list of a map key/value shape's constraints (max, min, pattern: DynamoDB's order)."""
    parts = []
    if s.hi is not None:
        parts.append(f"Member must have length less than or equal to {s.hi}")
    if s.lo is not None:
        parts.append(f"Member must have length greater than or equal to {s.lo}")
    if s.pattern is not None:
        parts.append(f"Member must satisfy regular expression pattern: {s.pattern_text}")
    return "[" + ", ".join(parts) + "]"


def _check(s: _Shape, v: Any, path: str, errs: _Errors, own: bool = True) -> None:
    """Collect the constraint violations of (already deserialized) `v` at `path` (`own=False`:
    only those inside `v`, its own were reported by the enclosing map)."""
    if s.opaque:
        return
    kind = s.kind
    if kind == "structure":
        prefix = path + "." if path else ""
        for m in s.order:
            x = v.get(m)
            if x is None:
                if m in s.required:
                    errs.add("null", prefix + s.lower[m], "Member must not be null")
                continue
            _check(s.members[m], x, prefix + s.lower[m], errs)
        return
    if own:
        for msg in _violations(errs.model, s, v):
            errs.add(f"'{_show(v, s)}'", path, msg)
    if kind == "list":
        elem = s.member
        assert elem is not None
        if elem.opaque:
            return
        for i, x in enumerate(v, 1):
            if x is not None:
                _check(elem, x, f"{path}.{i}.member", errs)
    elif kind == "map":
        key, val = s.key, s.value
        assert key is not None and val is not None
        if val.opaque:
            return
        if key.constrained():
            for k in v:
                if _violations(errs.model, key, k):
                    errs.add(f"'{_show(v, s)}'", path, f"Map keys must satisfy constraint: {_all_constraints(key)}")
        for k, x in v.items():
            if x is None:
                continue
            if val.kind != "structure" and _violations(errs.model, val, x):
                errs.add(f"'{_show(v, s)}'", path, f"Map value must satisfy constraint: {_all_constraints(val)}")
            if val.kind in ("structure", "list", "map"):
                _check(val, x, f"{path}.{k}.member", errs, own=False)


def _slow(model: _Model, root: _Shape, req: dict) -> None:
    _deserialize(root, req, False)
    errs = _Errors(model)
    _check(root, req, "", errs)
    if errs.msgs:
        n = len(errs.msgs)
        raise ValidationException(f"{n} validation error{'s' if n > 1 else ''} detected: " + "; ".join(errs.msgs))


# --- public --------------------------------------------------------------------------------------------
_MODELS: dict[str, _Model] = {}
_VALIDATORS: dict[str, Callable[[dict], None]] = {}
_LOCK = threading.Lock()


def _noop(req: dict) -> None:
    return None


def validator(target: str) -> Callable[[dict], None]:
    """The request check of an `X-Amz-Target` ("DynamoDB_20120810.GetItem"): raises
    SerializationException / ValidationException like DynamoDB's front end, may convert a few
    values in place; a no-op for targets the models do not describe. Cached per target."""
    fn = _VALIDATORS.get(target)
    if fn is not None:
        return fn
    with _LOCK:
        fn = _VALIDATORS.get(target)
        if fn is None:
            fn = _VALIDATORS[target] = _build(target)
        return fn


def _build(target: str) -> Callable[[dict], None]:
    prefix, _, op = target.partition(".")
    service = _SERVICES.get(prefix)
    fn: Callable[[dict], None] = _noop
    if service is not None:
        model = _MODELS.get(service)
        if model is None:
            model = _MODELS[service] = _Model(service)
        spec = model.operations.get(op)
        if spec is not None and "input" in spec:
            fn = _make(model, model.shape(spec["input"]["shape"]))
    return fn


def _make(model: _Model, root: _Shape) -> Callable[[dict], None]:
    ok = _fast(root)

    def check(req: dict) -> None:
        if not ok(req):
            _slow(model, root, req)
    return check


def check_attribute_values(target: str, req: dict) -> None:
    """Raise the first SerializationException inside the request's AttributeValues (whose contents
    `validator` leaves to model/values.py): DynamoDB deserializes a whole request before validating
    any of it, so api/dispatch.py asks this before answering a request's other error."""
    prefix, _, op = target.partition(".")
    service = _SERVICES.get(prefix)
    model = _MODELS.get(service) if service is not None else None
    spec = model.operations.get(op) if model is not None else None
    if model is None or spec is None or "input" not in spec:
        return
    stack: list[tuple[_Shape, Any]] = [(model.shape(spec["input"]["shape"]), req)]
    while stack:
        s, v = stack.pop()
        if v is None:
            continue
        if s.opaque:
            check_serialization(v)
        elif s.kind == "structure" and type(v) is dict:
            stack.extend((s.members[k], x) for k, x in reversed(list(v.items())) if k in s.members)
        elif s.kind == "list" and type(v) is list and s.member is not None:
            stack.extend((s.member, x) for x in reversed(v))
        elif s.kind == "map" and type(v) is dict and s.value is not None:
            stack.extend((s.value, x) for x in reversed(list(v.values())))


def validate(target: str, req: dict) -> None:
    """Check `req` against the input shape of `target` (see `validator`)."""
    validator(target)(req)
