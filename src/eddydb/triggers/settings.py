"""The settings of one event source mapping: parsing and validating the Create/Update request
parameters (defaults and ranges of Lambda's table) into a `MappingConfig`, and rendering a mapping
back into the EventSourceMappingConfiguration response shape.

Used by `triggers.mappings` (CRUD) and read by the shard processor (`triggers.processor`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from eddydb.model.errors import InvalidParameterValueException
from eddydb.triggers.filters import validate_filter_criteria

__all__ = [
    "DEFAULTS",
    "MAX_BATCH_BYTES",
    "STREAM_ARN_RE",
    "TABLE_ARN_RE",
    "UPDATABLE",
    "MappingConfig",
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
            bound = f"greater than or equal to {lo}" if v < lo else f"less than or equal to {hi}"
            raise InvalidParameterValueException(
                f"1 validation error detected: Value '{v}' at '{_camel(name)}' failed to satisfy constraint: "
                f"Member must have value {bound}"
            )
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
        if not isinstance(frt, list) or any(t != "ReportBatchItemFailures" for t in frt):
            raise InvalidParameterValueException(
                f"Invalid FunctionResponseTypes {frt!r}: the only supported value is ReportBatchItemFailures."
            )
        out["FunctionResponseTypes"] = list(dict.fromkeys(frt))
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
            raise InvalidParameterValueException("StartingPosition is required for DynamoDB Streams event sources.")
        if sp not in ("TRIM_HORIZON", "LATEST"):
            raise InvalidParameterValueException(
                f"Unsupported starting position {sp!r} for a DynamoDB stream: use TRIM_HORIZON or LATEST."
            )
        out["StartingPosition"] = sp
    return out


def _metrics_config(mc: Any) -> dict[str, Any]:
    """MetricsConfig is kept and echoed (eddydb publishes no metrics)."""
    metrics = mc.get("Metrics") if isinstance(mc, dict) else None
    if not isinstance(metrics, list) or len(metrics) > 3 or any(m not in _METRICS for m in metrics):
        raise InvalidParameterValueException(
            f"Invalid MetricsConfig {mc!r}: Metrics is a list of {', '.join(_METRICS)}.")
    return {"Metrics": list(dict.fromkeys(metrics))}


def _destination_config(dc: Any) -> dict[str, Any]:
    if not isinstance(dc, dict):
        raise InvalidParameterValueException("DestinationConfig must be an object.")
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
