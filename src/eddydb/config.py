"""Settings of one eddydb instance: every knob the CLI (flag + EDDYDB_* env var) and `eddydb.open` expose."""
from __future__ import annotations

import os
from dataclasses import dataclass, field, fields


@dataclass
class Settings:
    data: str | None = "./eddydb-data"     # directory of the SQLite store; None = in memory
    store: str | None = None                # postgresql://... selects the PostgreSQL backend
    host: str = "127.0.0.1"
    port: int = 8000
    region: str = "us-east-1"
    account: str = "000000000000"
    sync: str = "normal"                    # SQLite synchronous: "normal" (survives kill -9) or "full" (survives power loss)
    stream_retention: float | None = 24 * 3600.0   # seconds; None = unlimited
    stream_partitions: int = 1              # key-hash partitions (open shards) per stream
    shard_rollover: float = 4 * 3600.0      # seconds an open shard lives before it closes and gets a child
    ttl_interval: float = 1.0               # seconds between TTL sweeps
    ttl_hide_expired: bool = False          # hide expired-but-not-yet-deleted items from reads
    workers: int = 0                        # server processes; 0 = auto (server/app.py default_workers)
    function_workers: int = 4               # max warm worker processes per function
    extra: dict = field(default_factory=dict)

    @property
    def in_memory(self) -> bool:
        return self.data is None and self.store is None

    @classmethod
    def from_env(cls, **overrides) -> Settings:
        """Defaults, then EDDYDB_<FIELD> environment variables, then explicit overrides."""
        s = cls()
        for f in fields(cls):
            env = os.environ.get("EDDYDB_" + f.name.upper())
            if env is None or f.name == "extra":
                continue
            setattr(s, f.name, _coerce(getattr(s, f.name), f.type, env))
        for k, v in overrides.items():
            if v is not None:
                setattr(s, k, v)
        return s


def _coerce(current, annotation, raw: str):
    text = raw.strip()
    if text.lower() in ("none", "unlimited", "") and "None" in str(annotation):
        return None
    if isinstance(current, bool) or "bool" in str(annotation):
        return text.lower() in ("1", "true", "yes", "on")
    if isinstance(current, int) and not isinstance(current, bool) or str(annotation) == "int":
        return int(text)
    if isinstance(current, float) or "float" in str(annotation):
        return parse_duration(text)
    return text


def parse_duration(text: str) -> float:
    """'90', '90s', '15m', '24h', '7d' -> seconds."""
    text = text.strip().lower()
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    if text and text[-1] in units:
        return float(text[:-1]) * units[text[-1]]
    return float(text)
