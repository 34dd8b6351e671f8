"""StartingPosition LATEST of a mapping created disabled: Lambda resolves LATEST when it starts polling
(its guide: "stream polling during event source mapping creation and updates is eventually consistent
... if you specify LATEST as the starting position, the event source mapping could miss events"), and a
disabled mapping does not poll ("When false, Lambda pauses polling and invocation"). So records
written before the mapping is first enabled are not delivered; once it has been enabled, disabling
keeps its position and enabling resumes from it."""
from __future__ import annotations

from typing import Any

from util import wait_for


def test_a_latest_mapping_created_disabled_starts_at_the_end_of_the_stream_when_enabled(
        trigger: Any, make_function: Any) -> None:
    t = trigger()
    witness, witness_out = make_function()
    u = t.map(StartingPosition="LATEST", Enabled=False)
    t.map(witness)
    t.wait_state(u, "Disabled")
    t.put("before")
    t.wait_delivered(["before"], path=witness_out)
    t.lam.update_event_source_mapping(UUID=u, Enabled=True)
    t.wait_state(u, "Enabled")
    t.put("after")
    t.wait_delivered(["after"])
    t.wait_delivered(["after"], path=witness_out)
    assert t.delivered() == ["after"]


def test_a_latest_mapping_disabled_after_it_ran_resumes_from_its_position(trigger: Any, make_function: Any) -> None:
    t = trigger()
    witness, witness_out = make_function()
    u = t.map(StartingPosition="LATEST")
    t.map(witness)
    t.wait_state(u, "Enabled")
    t.lam.update_event_source_mapping(UUID=u, Enabled=False)
    t.wait_state(u, "Disabled")
    t.put("while-disabled")
    t.wait_delivered(["while-disabled"], path=witness_out)
    assert t.calls() == []
    t.lam.update_event_source_mapping(UUID=u, Enabled=True)
    t.wait_delivered(["while-disabled"])
    t.put("after")
    wait_for(lambda: t.delivered() == ["while-disabled", "after"], 30, message=lambda: f"{t.calls()}")
