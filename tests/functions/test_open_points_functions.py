"""Runtime points earlier reviews left open.

Throttling: Invoke answers TooManyRequestsException only to a synchronous invocation; an Event
invocation is queued (202) and, throttled, "Lambda returns the event to the queue and attempts to run
the function again for up to 6 hours ... from 1 second after the first attempt to a maximum of 5
minutes" (within MaximumEventAgeInSeconds, without using MaximumRetryAttempts).
"""
from __future__ import annotations

import json
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


# --- marshalling the result (awslambdaric's LambdaMarshaller: simplejson, allow_nan=True) -----------
def _raw(lam: Any, name: str) -> tuple[bytes, dict]:
    resp = lam.invoke(FunctionName=name, Payload=b"{}")
    return resp["Payload"].read(), resp


def test_a_handler_returning_bytes_answers_them_as_they_are(lam: Any, make_function: Any) -> None:
    # "if isinstance(response, bytes): return response, 'application/unknown'": not JSON, not an error
    name = make_function({"app.py": "def handler(e, c):\n    return b'raw \\xff bytes'\n"})
    body, resp = _raw(lam, name)
    assert "FunctionError" not in resp
    assert body == b"raw \xff bytes"


def test_bytes_inside_a_result_are_utf8_strings(lam: Any, make_function: Any) -> None:
    name = make_function({"app.py": "def handler(e, c):\n    return {'k': 'é'.encode()}\n"})
    body, resp = _raw(lam, name)
    assert "FunctionError" not in resp and body == '{"k":"é"}'.encode()
    name = make_function({"app.py": "def handler(e, c):\n    return {'k': b'\\xff'}\n"})
    body, resp = _raw(lam, name)
    assert resp["FunctionError"] == "Unhandled"
    assert json.loads(body)["errorType"] == "Runtime.MarshalError"
    assert json.loads(body)["errorMessage"] == ("Unable to marshal response: 'utf-8' codec can't decode byte 0xff in "
                                                "position 0: invalid start byte")


@pytest.mark.parametrize(("expr", "body"), [
    ("float('nan')", b"NaN"),
    ("{'a': float('inf'), 'b': [float('-inf'), None, 1.5]}", b'{"a":Infinity,"b":[-Infinity,null,1.5]}'),
    ("Decimal('NaN')", b"NaN"),
    ("Decimal('-Infinity')", b"-Infinity"),
    ("{'n': Decimal('1.10'), 'big': Decimal('1234567890123456789012345678901234567.8')}",
     b'{"n":1.10,"big":1234567890123456789012345678901234567.8}'),
    ("[2 ** 70, float('nan')]", b"[1180591620717411303424,NaN]"),
    ("__import__('collections').namedtuple('P', 'x y')(1, 2)", b'{"x":1,"y":2}'),
])
def test_non_finite_numbers_and_decimals_are_written_as_the_python_runtime_writes_them(
        lam: Any, make_function: Any, expr: str, body: bytes) -> None:
    name = make_function({"app.py": f"from decimal import Decimal\ndef handler(e, c):\n    return {expr}\n"})
    got, resp = _raw(lam, name)
    assert "FunctionError" not in resp
    assert got == body


def test_an_in_process_callable_result_is_marshalled_the_same_way(runtime: Any, fname: str) -> None:
    from decimal import Decimal

    results = iter([b"raw", {"n": Decimal("1.10"), "x": float("nan")}, {1, 2}])
    runtime.register_callable(fname, lambda e, c: next(results))
    try:
        assert runtime.invoke(fname, b"{}").payload == b"raw"
        assert runtime.invoke(fname, b"{}").payload == b'{"n":1.10,"x":NaN}'
        res = runtime.invoke(fname, b"{}")
        assert res.function_error == "Unhandled"
        assert json.loads(res.payload)["errorMessage"] == "Unable to marshal response: Object of type set is not " \
                                                         "JSON serializable"
    finally:
        runtime.unregister_callable(fname)
