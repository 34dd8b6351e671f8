"""Table metadata: what a table is (keys, indexes, stream, TTL, tags) as the engine sees it.

Owned by the engine; persisted by storage as JSON (`to_json`/`from_json`); read by
every layer that needs a table's shape. DescribeTable output is built from it in
`engine/tables.py`.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class KeySchema:
    hash_name: str
    hash_type: str                 # "S" | "N" | "B"
    range_name: str | None = None
    range_type: str | None = None

    def names(self) -> tuple[str, ...]:
        return (self.hash_name,) if self.range_name is None else (self.hash_name, self.range_name)

    def to_aws(self) -> list[dict[str, str]]:
        out = [{"AttributeName": self.hash_name, "KeyType": "HASH"}]
        if self.range_name is not None:
            out.append({"AttributeName": self.range_name, "KeyType": "RANGE"})
        return out


@dataclass
class IndexMeta:
    name: str
    kind: str                      # "GSI" | "LSI"
    index_id: int                  # unique within the instance; storage key of its entries
    key: KeySchema
    projection_type: str = "ALL"   # "ALL" | "KEYS_ONLY" | "INCLUDE"
    non_key_attributes: list[str] = field(default_factory=list)
    status: str = "ACTIVE"         # GSI: CREATING | UPDATING | DELETING | ACTIVE
    backfilling: bool = False
    throughput: dict[str, Any] | None = None     # {"ReadCapacityUnits":..,"WriteCapacityUnits":..}
    on_demand_throughput: dict[str, Any] | None = None
    created: float = 0.0


@dataclass
class StreamMeta:
    enabled: bool
    view_type: str | None = None   # KEYS_ONLY | NEW_IMAGE | OLD_IMAGE | NEW_AND_OLD_IMAGES
    arn: str | None = None         # latest stream ARN (kept after disable: LatestStreamArn)
    label: str | None = None


@dataclass
class TtlMeta:
    attribute: str | None = None
    status: str = "DISABLED"       # ENABLED | DISABLED (eddydb switches instantly)


@dataclass
class TableMeta:
    name: str
    table_id: int                  # unique, never reused; storage key of the table's items
    key: KeySchema
    attribute_definitions: list[dict[str, str]]
    arn: str
    created: float                 # epoch seconds
    table_uuid: str = ""
    status: str = "ACTIVE"         # CREATING | ACTIVE | UPDATING | DELETING
    indexes: dict[str, IndexMeta] = field(default_factory=dict)
    billing_mode: str = "PROVISIONED"
    throughput: dict[str, Any] = field(default_factory=dict)
    on_demand_throughput: dict[str, Any] | None = None
    stream: StreamMeta | None = None
    ttl: TtlMeta = field(default_factory=TtlMeta)
    tags: dict[str, str] = field(default_factory=dict)
    deletion_protection: bool = False
    table_class: str = "STANDARD"
    sse: dict[str, Any] | None = None
    last_decrease: float | None = None
    decreases_today: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def stream_enabled(self) -> bool:
        return self.stream is not None and self.stream.enabled

    @property
    def ttl_attribute(self) -> str | None:
        return self.ttl.attribute if self.ttl.status == "ENABLED" else None

    def gsis(self) -> list[IndexMeta]:
        return [i for i in self.indexes.values() if i.kind == "GSI"]

    def lsis(self) -> list[IndexMeta]:
        return [i for i in self.indexes.values() if i.kind == "LSI"]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> TableMeta:
        d = dict(d)
        d["key"] = KeySchema(**d["key"])
        d["indexes"] = {
            n: IndexMeta(**{**i, "key": KeySchema(**i["key"])}) for n, i in d.get("indexes", {}).items()
        }
        if d.get("stream") is not None:
            d["stream"] = StreamMeta(**d["stream"])
        d["ttl"] = TtlMeta(**d.get("ttl") or {})
        return cls(**d)
