"""Tumbling windows (TumblingWindowInSeconds): windows aligned on the records' arrival times, the
state carried from one invocation of a window to the next, the 1 MB state cap that ends a window
early, and the extra event fields. Pure helpers; `triggers.processor` drives them.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import orjson

from eddydb.triggers.destinations import iso_seconds

__all__ = ["MAX_STATE_BYTES", "Window", "state_too_big", "window_event", "window_of"]

MAX_STATE_BYTES = 1024 * 1024


@dataclass
class Window:
    start: float
    end: float
    state: dict[str, Any] = field(default_factory=dict)

    def to_doc(self) -> dict[str, Any]:
        return {"start": self.start, "end": self.end, "state": self.state}

    @classmethod
    def from_doc(cls, d: dict[str, Any]) -> Window:
        return cls(d["start"], d["end"], d.get("state") or {})


def window_of(created: float, size: int) -> tuple[float, float]:
    """The [start, end) window of `size` seconds containing arrival time `created`."""
    start = math.floor(created / size) * size
    return float(start), float(start + size)


def window_event(records: list[dict[str, Any]], window: Window, shard_id: str, stream_arn: str, *,
                 final: bool = False, terminated_early: bool = False) -> dict[str, Any]:
    return {
        "Records": records,
        "window": {"start": iso_seconds(window.start), "end": iso_seconds(window.end)},
        "state": window.state,
        "shardId": shard_id,
        "eventSourceARN": stream_arn,
        "isFinalInvokeForWindow": final,
        "isWindowTerminatedEarly": terminated_early,
    }


def state_too_big(state: Any) -> bool:
    return len(orjson.dumps(state)) > MAX_STATE_BYTES
