"""The settings of one event source mapping: parsing and validating the Create/Update request
parameters (defaults and ranges of Lambda's table) into a `MappingConfig`, and rendering a mapping
back into the EventSourceMappingConfiguration response shape.

Used by `triggers.mappings` (CRUD) and read by the shard processor (`triggers.processor`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from eddydb.model.errors import InvalidParameterValueException, ValidationException
from eddydb.triggers.filters import validate_filter_criteria

__all__ = [
    "DEFAULTS",
    "MAX_BATCH_BYTES",
    "STREAM_ARN_RE",
    "TABLE_ARN_RE",
    "UPDATABLE",
    "MappingConfig",
    "check_event_source_arn",
    "check_function_name",
    "constraint_error",
    "parse_destination",
    "validate_settings",
]

MAX_BATCH_BYTES = 6 * 1024 * 1024
STREAM_ARN_RE = re.compile(r"arn:aws[a-zA-Z-]*:dynamodb:([a-z0-9-]*):(\d*):table/([^/]+)/stream/(.+)")
TABLE_ARN_RE = re.compile(r"arn:aws[a-zA-Z-]*:dynamodb:([a-z0-9-]*):(\d*):table/([^/]+)")

DEFAULTS: dict[str, Any] = {
    "BatchSize": 100,
    "MaximumBatchingWindowInSeconds": 0,
    "ParallelizationFactor": 1,
    "MaximumRetryAttempts": -1,
    "MaximumRecordAgeInSeconds": -1,
    "BisectBatchOnFunctionError": False,
    "TumblingWindowInSeconds": 0,
    "FunctionResponseTypes": [],
    "Enabled": True,
}

# Parameters UpdateEventSourceMapping may change (besides FunctionName / Enabled / DestinationConfig / FilterCriteria)
UPDATABLE = (
    "BatchSize", "MaximumBatchingWindowInSeconds", "ParallelizationFactor", "MaximumRetryAttempts",
    "MaximumRecordAgeInSeconds", "BisectBatchOnFunctionError", "TumblingWindowInSeconds",
    "FunctionResponseTypes", "Enabled", "DestinationConfig", "FilterCriteria", "MetricsConfig",
)

_INT_RANGES: dict[str, tuple[int, int]] = {
    "BatchSize": (1, 10000),
    "MaximumBatchingWindowInSeconds": (0, 300),
    "ParallelizationFactor": (1, 10),
    "MaximumRetryAttempts": (-1, 10000),
    "MaximumRecordAgeInSeconds": (-1, 604800),
    "TumblingWindowInSeconds": (0, 900),
}
# the model's NamespacedFunctionName and Arn patterns (FunctionName, EventSourceArn)
_FUNCTION_NAME_PATTERN = (r"(arn:(aws[a-zA-Z-]*)?:lambda:)?((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:)?"
                          r"(\d{12}:)?(function:)?([a-zA-Z0-9-_\.]+)(:(\$LATEST(\.PUBLISHED)?|[a-zA-Z0-9-_]+))?")
_ARN_PATTERN = (r"arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9\-])+:((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1})?:"
                r"(\d{12})?:(.*)")
# checked with any region name (eddydb's --region may be any name), reported with the model's pattern
_REGION = "[a-z0-9-]+"
_FUNCTION_NAME_RE = re.compile(rf"(arn:(aws[a-zA-Z-]*)?:lambda:)?({_REGION}:)?(\d{{12}}:)?(function:)?([a-zA-Z0-9-_\.]+)"
                               r"(:(\$LATEST(\.PUBLISHED)?|[a-zA-Z0-9-_]+))?")
_ARN_RE = re.compile(rf"arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9\-])+:({_REGION})?:(\d{{12}})?:(.*)", re.DOTALL)
_STARTING_POSITIONS = ("TRIM_HORIZON", "LATEST", "AT_TIMESTAMP")
_METRICS = ("EventCount", "ErrorCount", "KafkaMetrics")
_UNSUPPORTED = ("Topics", "Queues", "SourceAccessConfigurations", "SelfManagedEventSource",
                "AmazonManagedKafkaEventSourceConfig", "SelfManagedKafkaEventSourceConfig",
                "DocumentDBEventSourceConfig")


@dataclass
class MappingConfig:
    """The processing settings of a mapping (what the shard processor needs)."""

    uuid: str
    event_source_arn: str
    function_name: str
    function_arn: str
    starting_position: str = "LATEST"
    batch_size: int = 100
    batching_window: float = 0.0
    parallelization: int = 1
    max_retries: int = -1
    max_age: int = -1
    bisect: bool = False
    report_failures: bool = False
    tumbling_window: int = 0
    filter_criteria: dict[str, Any] | None = None
    on_failure: str | None = None
    enabled: bool = True
    latest: dict[str, int | None] = field(default_factory=dict)   # LATEST: shard -> last seq at creation
    version: int = 0

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> MappingConfig:
        on_failure = ((doc.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination") or None
        return cls(
            uuid=doc["UUID"],
            event_source_arn=doc["EventSourceArn"],
            function_name=doc["_function"],
            function_arn=doc["FunctionArn"],
            starting_position=doc.get("StartingPosition", "LATEST"),
            batch_size=doc["BatchSize"],
            batching_window=float(doc["MaximumBatchingWindowInSeconds"]),
            parallelization=doc["ParallelizationFactor"],
            max_retries=doc["MaximumRetryAttempts"],
            max_age=doc["MaximumRecordAgeInSeconds"],
            bisect=doc["BisectBatchOnFunctionError"],
            report_failures="ReportBatchItemFailures" in (doc.get("FunctionResponseTypes") or []),
            tumbling_window=doc.get("TumblingWindowInSeconds") or 0,
            filter_criteria=doc.get("FilterCriteria"),
            on_failure=on_failure,
            enabled=doc["_enabled"],
            latest=doc.get("_latest") or {},
            version=doc.get("_version", 0),
        )


def validate_settings(params: dict[str, Any], *, creating: bool) -> dict[str, Any]:
    """Validate the settings present in a Create/Update request; returns them normalised
    (only the keys that were given). InvalidParameterValueException on any bad value."""
    out: dict[str, Any] = {}
    for name in _UNSUPPORTED:
        if params.get(name):
            raise InvalidParameterValueException(
                f"Unsupported parameter for a DynamoDB Streams event source mapping: {name}."
            )
    for name, (lo, hi) in _INT_RANGES.items():
        if name not in params or params[name] is None:
            continue
        v = params[name]
        if isinstance(v, bool) or not isinstance(v, int):
            raise InvalidParameterValueException(f"{name} must be an integer.")
        if not lo <= v <= hi:
            # outside the model's range: Lambda's request validation answers, as for every model constraint
            bound = f"greater than or equal to {lo}" if v < lo else f"less than or equal to {hi}"
            raise constraint_error(v, _camel(name), f"Member must have value {bound}")
        out[name] = v
    age = out.get("MaximumRecordAgeInSeconds")
    if age is not None and age != -1 and age < 60:
        raise InvalidParameterValueException(
            f"MaximumRecordAgeInSeconds must be -1 (infinite) or between 60 and 604800, got {age}."
        )
    for name in ("BisectBatchOnFunctionError", "Enabled"):
        if name in params and params[name] is not None:
            if not isinstance(params[name], bool):
                raise InvalidParameterValueException(f"{name} must be a boolean.")
            out[name] = params[name]
    if params.get("FunctionResponseTypes") is not None:
        frt = params["FunctionResponseTypes"]
        if not isinstance(frt, list):
            raise InvalidParameterValueException("FunctionResponseTypes must be a list.")
        if any(t != "ReportBatchItemFailures" for t in frt):
            raise constraint_error(f"[{', '.join(str(t) for t in frt)}]", "functionResponseTypes",
                                   "Member must satisfy constraint: [Member must satisfy enum value set: "
                                   "[ReportBatchItemFailures]]")
        if len(frt) > 1:   # the model's FunctionResponseTypeList holds at most one entry
            raise constraint_error(f"[{', '.join(frt)}]", "functionResponseTypes",
                                   "Member must have length less than or equal to 1")
        out["FunctionResponseTypes"] = list(frt)
    if "FilterCriteria" in params and params["FilterCriteria"] is not None:
        validate_filter_criteria(params["FilterCriteria"])
        filters = params["FilterCriteria"].get("Filters") or []
        out["FilterCriteria"] = {"Filters": [{"Pattern": f["Pattern"]} for f in filters]}
    if "DestinationConfig" in params and params["DestinationConfig"] is not None:
        out["DestinationConfig"] = _destination_config(params["DestinationConfig"])
    if params.get("MetricsConfig") is not None:
        out["MetricsConfig"] = _metrics_config(params["MetricsConfig"])
    if creating:
        sp = params.get("StartingPosition")
        if sp is None:
            # Lambda's own check for stream sources (the model does not require it), in the validator's words
            raise InvalidParameterValueException(
                "1 validation error detected: Value null at 'startingPosition' failed to satisfy constraint: "
                "Member must not be null.")
        if sp not in _STARTING_POSITIONS:
            raise constraint_error(sp, "startingPosition",
                                   f"Member must satisfy enum value set: [{', '.join(_STARTING_POSITIONS)}]")
        if sp not in ("TRIM_HORIZON", "LATEST"):   # AT_TIMESTAMP is for Kinesis only
            raise InvalidParameterValueException(
                f"Unsupported starting position for arn type: {params.get('EventSourceArn')}")
        out["StartingPosition"] = sp
    return out


def check_function_name(ref: Any) -> str:
    """A FunctionName parameter within the model's constraints (1-256 characters, its pattern)."""
    if not isinstance(ref, str):
        raise InvalidParameterValueException("FunctionName must be a string.")
    if not ref:
        raise constraint_error(ref, "functionName", "Member must have length greater than or equal to 1")
    if len(ref) > 256:
        raise constraint_error(ref, "functionName", "Member must have length less than or equal to 256")
    if _FUNCTION_NAME_RE.fullmatch(ref) is None:
        raise constraint_error(ref, "functionName",
                               f"Member must satisfy regular expression pattern: {_FUNCTION_NAME_PATTERN}")
    return ref


def check_event_source_arn(arn: Any) -> str:
    """An EventSourceArn parameter within the model's constraints (an ARN, at most 10000 characters)."""
    if not isinstance(arn, str):
        raise InvalidParameterValueException("EventSourceArn must be a string.")
    if len(arn) > 10000:
        raise constraint_error(arn, "eventSourceArn", "Member must have length less than or equal to 10000")
    if _ARN_RE.fullmatch(arn) is None:
        raise constraint_error(arn, "eventSourceArn", f"Member must satisfy regular expression pattern: {_ARN_PATTERN}")
    return arn


def constraint_error(value: Any, member: str, constraint: str) -> ValidationException:
    """A value outside the Lambda model's constraints: ValidationException in AWS's validator words."""
    return ValidationException(
        f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: {constraint}")


def _metrics_config(mc: Any) -> dict[str, Any]:
    """MetricsConfig is kept and echoed (eddydb publishes no metrics)."""
    metrics = mc.get("Metrics") if isinstance(mc, dict) else None
    if not isinstance(metrics, list):
        raise InvalidParameterValueException(
            f"Invalid MetricsConfig {mc!r}: Metrics is a list of {', '.join(_METRICS)}.")
    shown = f"[{', '.join(str(m) for m in metrics)}]"
    if any(m not in _METRICS for m in metrics):
        raise constraint_error(shown, "metricsConfig.metrics", "Member must satisfy constraint: [Member must "
                               f"satisfy enum value set: [{', '.join(_METRICS)}]]")
    if len(metrics) > 3:
        raise constraint_error(shown, "metricsConfig.metrics", "Member must have length less than or equal to 3")
    return {"Metrics": list(dict.fromkeys(metrics))}


def _destination_config(dc: Any) -> dict[str, Any]:
    if not isinstance(dc, dict):
        raise InvalidParameterValueException("DestinationConfig must be an object.")
    for part in ("OnSuccess", "OnFailure"):
        if dc.get(part) is not None and not isinstance(dc[part], dict):
            raise InvalidParameterValueException(f"DestinationConfig.{part} must be an object.")
    if (dc.get("OnSuccess") or {}).get("Destination"):
        raise InvalidParameterValueException(
            "Unsupported DestinationConfig parameter for given event source mapping type: OnSuccess."
        )
    dest = (dc.get("OnFailure") or {}).get("Destination")
    if not dest:
        return {"OnFailure": {}}
    parse_destination(dest)
    return {"OnFailure": {"Destination": dest}}


def parse_destination(dest: str) -> tuple[str, str]:
    """("table", table name) or ("file", directory) of an OnFailure destination; validates it."""
    if not isinstance(dest, str):
        raise InvalidParameterValueException("DestinationConfig.OnFailure.Destination must be a string.")
    if dest.startswith("file://"):
        path = dest[len("file://"):]
        if not path.startswith("/"):
            raise InvalidParameterValueException(
                f"Invalid destination {dest!r}: a file destination is file:///absolute/directory."
            )
        return "file", path
    m = TABLE_ARN_RE.fullmatch(dest)
    if m is None or "/stream/" in dest:
        raise InvalidParameterValueException(
            f"Unsupported OnFailure destination {dest!r}: eddydb accepts the ARN of one of its DynamoDB tables "
            "(arn:aws:dynamodb:<region>:<account>:table/<name>) or a file:///directory URL."
        )
    return "table", m.group(3)


def _camel(name: str) -> str:
    return name[0].lower() + name[1:]
