"""Runtime points earlier reviews left open.

Throttling: Invoke answers TooManyRequestsException only to a synchronous invocation; an Event
invocation is queued (202) and, throttled, "Lambda returns the event to the queue and attempts to run
the function again for up to 6 hours ... from 1 second after the first attempt to a maximum of 5
minutes" (within MaximumEventAgeInSeconds, without using MaximumRetryAttempts).
"""
from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from util import wait_for


@pytest.fixture
def quick_throttle_retries(runtime: Any) -> Iterator[Any]:
    saved = runtime.async_throttle_delays
    runtime.async_throttle_delays = (0.05, 0.2)
    yield runtime
    runtime.async_throttle_delays = saved


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except FileNotFoundError:
        return ""


def test_event_invocation_of_a_throttled_function_is_accepted_and_runs_once_the_throttle_is_lifted(
        lam: Any, make_function: Any, quick_throttle_retries: Any, tmp_path: Any) -> None:
    marker = tmp_path / "ran"
    name = make_function({"app.py": f"def handler(e, c):\n    open({str(marker)!r}, 'a').write('x')\n"})
    lam.put_function_event_invoke_config(FunctionName=name, MaximumRetryAttempts=0)
    lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=0)
    resp = lam.invoke(FunctionName=name, InvocationType="Event", Payload=b"{}")
    assert resp["StatusCode"] == 202
    time.sleep(1.0)                 # several throttled attempts
    assert not marker.exists()
    lam.delete_function_concurrency(FunctionName=name)
    wait_for(marker.exists, timeout=20)
    time.sleep(0.5)
    assert marker.read_text() == "x"
    assert "event dropped" not in _read(quick_throttle_retries.log_path(name))


def test_a_throttled_event_older_than_its_maximum_event_age_is_dropped(
        lam: Any, make_function: Any, runtime: Any, tmp_path: Any) -> None:
    marker = tmp_path / "ran"
    name = make_function({"app.py": f"def handler(e, c):\n    open({str(marker)!r}, 'a').write('x')\n"})
    lam.put_function_event_invoke_config(FunctionName=name, MaximumEventAgeInSeconds=60)
    lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=0)
    saved = runtime.async_throttle_delays
    runtime.async_throttle_delays = (61.0, 300.0)   # the next attempt would come after the event's age limit
    try:
        assert lam.invoke(FunctionName=name, InvocationType="Event", Payload=b"{}")["StatusCode"] == 202
        wait_for(lambda: "event dropped" in _read(runtime.log_path(name)), timeout=20)
    finally:
        runtime.async_throttle_delays = saved
    lam.delete_function_concurrency(FunctionName=name)
    time.sleep(0.3)
    assert not marker.exists()
    assert "throttled" in _read(runtime.log_path(name))
