"""The function runtime and Invoke as a Python Lambda user sees them through boto3, probed where
tests/functions/test_invoke.py does not reach: the request id of the response, qualifiers on
Invoke, the context object over time, the runtime's error shapes for less common failures,
configuration updates reaching the running code, and the limits of the API's answers."""
from __future__ import annotations

import base64
import json
import re
import threading
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError
from fn_support import invoke_json, make_zip
from util import client_config, wait_for


@pytest.fixture(scope="module")
def raw(fdb: Any) -> Any:
    """A lambda client that sends what it is given: the server's own validation answers."""
    return fdb.client("lambda", config=client_config(parameter_validation=False))


def _code(e: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    return e.value.response["Error"]["Code"], e.value.response["ResponseMetadata"]["HTTPStatusCode"]


RID = "import os\ndef handler(e, c):\n    open(e['path'], 'a').write(c.aws_request_id + '\\n')\n    return c.aws_request_id\n"


# --- the request id ------------------------------------------------------------------------------
def test_response_request_id_is_the_invocation_request_id(lam: Any, make_function: Any) -> None:
    # the x-amzn-RequestId of Invoke is the id in START/END/REPORT and in context.aws_request_id
    name = make_function({"app.py": "def handler(e, c):\n    return c.aws_request_id\n"})
    rid, resp = invoke_json(lam, name, {}, LogType="Tail")
    assert resp["ResponseMetadata"]["RequestId"] == rid
    assert f"START RequestId: {rid} Version: $LATEST" in base64.b64decode(resp["LogResult"]).decode()


def test_event_response_request_id_is_the_asynchronous_invocation_request_id(lam: Any, make_function: Any,
                                                                             tmp_path: Any) -> None:
    name = make_function({"app.py": RID})
    path = tmp_path / "rid"
    resp = lam.invoke(FunctionName=name, InvocationType="Event", Payload=json.dumps({"path": str(path)}).encode())
    assert resp["StatusCode"] == 202
    seen = wait_for(lambda: path.exists() and path.read_text().strip(), timeout=10)
    assert resp["ResponseMetadata"]["RequestId"] == seen


def test_error_payload_request_id_is_the_invocation_request_id(lam: Any, make_function: Any) -> None:
    name = make_function()
    payload, resp = invoke_json(lam, name, {"action": "raise"})
    assert payload["requestId"] == resp["ResponseMetadata"]["RequestId"]
    assert list(payload) == ["errorMessage", "errorType", "requestId", "stackTrace"]


# --- invocation types and qualifiers ---------------------------------------------------------------
def test_invoke_with_latest_qualifier(lam: Any, make_function: Any) -> None:
    name = make_function()
    payload, resp = invoke_json(lam, name, {"action": "echo"}, Qualifier="$LATEST")
    assert payload["event"] == {"action": "echo"}
    assert resp["ExecutedVersion"] == "$LATEST"
    payload, _ = invoke_json(lam, f"{name}:$LATEST", {"action": "context"})
    assert payload["invoked_function_arn"].endswith(f"function:{name}")


@pytest.mark.parametrize("itype", ["RequestResponse", "Event", "DryRun"])
def test_invoke_with_an_unknown_qualifier_is_not_found(lam: Any, make_function: Any, itype: str) -> None:
    name = make_function()
    with pytest.raises(lam.exceptions.ResourceNotFoundException) as e:
        lam.invoke(FunctionName=name, Qualifier="1", InvocationType=itype, Payload=b"{}")
    assert e.value.response["Error"]["Message"] == \
        f"Function not found: arn:aws:lambda:us-east-1:000000000000:function:{name}:1"
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.invoke(FunctionName=f"{name}:live", InvocationType=itype, Payload=b"{}")


def test_event_invocation_ignores_log_type_tail(lam: Any, make_function: Any, tmp_path: Any) -> None:
    name = make_function({"app.py": RID})
    path = tmp_path / "rid"
    resp = lam.invoke(FunctionName=name, InvocationType="Event", LogType="Tail",
                      Payload=json.dumps({"path": str(path)}).encode())
    assert resp["StatusCode"] == 202
    assert "LogResult" not in resp and "FunctionError" not in resp
    wait_for(path.exists, timeout=10)


def test_event_payload_over_1mb_is_too_large(lam: Any, make_function: Any) -> None:
    name = make_function()
    big = json.dumps({"x": "a" * (1024 * 1024)}).encode()
    with pytest.raises(lam.exceptions.RequestTooLargeException) as e:
        lam.invoke(FunctionName=name, InvocationType="Event", Payload=big)
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 413


def test_two_parallel_invocations_both_succeed(lam: Any, make_function: Any, tmp_path: Any) -> None:
    # each handler waits until the other has started: they can only finish if they run at once
    code = ("import os, time\ndef handler(e, c):\n    open(e['me'], 'w').write('x')\n"
            "    end = time.time() + 10\n    while not os.path.exists(e['other']) and time.time() < end:\n"
            "        time.sleep(0.01)\n    return [os.path.exists(e['other']), os.getpid()]\n")
    name = make_function({"app.py": code}, Timeout=20)
    a, b = str(tmp_path / "a"), str(tmp_path / "b")
    results: list[Any] = [None, None]

    def run(i: int, me: str, other: str) -> None:
        results[i] = invoke_json(lam, name, {"me": me, "other": other})

    threads = [threading.Thread(target=run, args=(0, a, b)), threading.Thread(target=run, args=(1, b, a))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert all(r is not None and "FunctionError" not in r[1] for r in results), results
    (saw_a, pid_a), (saw_b, pid_b) = results[0][0], results[1][0]
    assert saw_a and saw_b and pid_a != pid_b


# --- the context object ----------------------------------------------------------------------------
def test_remaining_time_decreases_during_the_invocation(lam: Any, make_function: Any) -> None:
    code = ("import time\ndef handler(e, c):\n    a = c.get_remaining_time_in_millis()\n    time.sleep(0.2)\n"
            "    return [a, c.get_remaining_time_in_millis()]\n")
    name = make_function({"app.py": code}, Timeout=4)
    (first, second), _ = invoke_json(lam, name, {})
    assert 3000 < first <= 4000
    assert first - second >= 150


def test_client_context_client_fields(lam: Any, make_function: Any) -> None:
    code = ("def handler(e, c):\n    cl = c.client_context.client\n"
            "    return [cl.installation_id, cl.app_title, cl.app_version_name, cl.app_version_code,\n"
            "            cl.app_package_name, c.client_context.custom, c.client_context.env]\n")
    name = make_function({"app.py": code})
    cc = {"client": {"installation_id": "i", "app_title": "t", "app_version_name": "n", "app_version_code": "c",
                     "app_package_name": "p"}, "custom": {"k": 1}, "env": {"platform": "x"}}
    payload, _ = invoke_json(lam, name, {}, ClientContext=base64.b64encode(json.dumps(cc).encode()).decode())
    assert payload == ["i", "t", "n", "c", "p", {"k": 1}, {"platform": "x"}]


def test_no_client_context_is_none(lam: Any, make_function: Any) -> None:
    name = make_function()
    assert invoke_json(lam, name, {"action": "context"})[0]["client_context"] is None


def test_client_context_that_is_not_a_json_object_is_invalid_request_content(lam: Any, make_function: Any) -> None:
    name = make_function()
    for bad in (base64.b64encode(b"[1, 2]").decode(), base64.b64encode(b"not json").decode()):
        with pytest.raises(lam.exceptions.InvalidRequestContentException) as e:
            lam.invoke(FunctionName=name, Payload=b"{}", ClientContext=bad)
        assert _code(e) == ("InvalidRequestContentException", 400)


# --- environment ------------------------------------------------------------------------------------
def test_runtime_environment_variables(lam: Any, make_function: Any) -> None:
    names = ["AWS_EXECUTION_ENV", "AWS_LAMBDA_INITIALIZATION_TYPE", "LAMBDA_RUNTIME_DIR", "LAMBDA_TASK_ROOT"]
    name = make_function(Runtime="python3.11")
    env, _ = invoke_json(lam, name, {"action": "env", "names": names})
    assert env["AWS_EXECUTION_ENV"] == "AWS_Lambda_python3.11"
    assert env["AWS_LAMBDA_INITIALIZATION_TYPE"] == "on-demand"
    assert env["LAMBDA_RUNTIME_DIR"]
    lam.update_function_configuration(FunctionName=name, Runtime="python3.12")
    env, _ = invoke_json(lam, name, {"action": "env", "names": names})
    assert env["AWS_EXECUTION_ENV"] == "AWS_Lambda_python3.12"


def test_the_function_variables_are_in_os_environ_and_unset_when_removed(lam: Any, make_function: Any) -> None:
    name = make_function(Environment={"Variables": {"A_B": "1", "TZ": "Europe/Paris"}})
    env, _ = invoke_json(lam, name, {"action": "env", "names": ["A_B", "TZ"]})
    assert env == {"A_B": "1", "TZ": "Europe/Paris"}    # TZ is not reserved: the function's value wins
    lam.update_function_configuration(FunctionName=name, Environment={"Variables": {}})
    env, _ = invoke_json(lam, name, {"action": "env", "names": ["A_B"]})
    assert env == {"A_B": None}


# --- error shapes of the Python runtime -----------------------------------------------------------
@pytest.mark.parametrize("raise_stmt,etype,message", [
    ("raise KeyError('missing')", "KeyError", "'missing'"),
    ("raise RuntimeError()", "RuntimeError", ""),
    ("raise mod.AppError('custom')", "AppError", "custom"),
    ("1 / 0", "ZeroDivisionError", "division by zero"),
])
def test_exception_error_type_is_the_class_name_and_message_its_str(lam: Any, make_function: Any, raise_stmt: str,
                                                                    etype: str, message: str) -> None:
    files = {"mod.py": "class AppError(Exception):\n    pass\n",
             "app.py": f"import mod\ndef handler(e, c):\n    {raise_stmt}\n"}
    name = make_function(files)
    payload, resp = invoke_json(lam, name, {})
    assert resp["FunctionError"] == "Unhandled"
    assert (payload["errorType"], payload["errorMessage"]) == (etype, message)


def test_stack_trace_entries_are_formatted_frames_of_the_user_code(lam: Any, make_function: Any) -> None:
    files = {"app.py": "import helper\ndef handler(e, c):\n    return helper.fail()\n",
             "helper.py": "def fail():\n    raise ValueError('deep')\n"}
    name = make_function(files)
    payload, _ = invoke_json(lam, name, {})
    trace = payload["stackTrace"]
    assert len(trace) == 2
    assert re.fullmatch(r'  File "[^"]*app\.py", line 3, in handler\n    return helper\.fail\(\)\n', trace[0])
    assert re.fullmatch(r'  File "[^"]*helper\.py", line 2, in fail\n    raise ValueError\(\'deep\'\)\n', trace[1])


def test_init_error_payload_shape(lam: Any, make_function: Any) -> None:
    name = make_function({"app.py": "import not_installed_anywhere\ndef handler(e, c):\n    return 1\n"})
    payload, resp = invoke_json(lam, name, {})
    assert resp["FunctionError"] == "Unhandled"
    assert set(payload) == {"errorMessage", "errorType", "requestId", "stackTrace"}
    assert payload["stackTrace"] == []


def test_malformed_handler_message(lam: Any, make_function: Any) -> None:
    name = make_function(handler="app")
    payload, _ = invoke_json(lam, name, {})
    assert payload == {"errorMessage": "Bad handler 'app': not enough values to unpack (expected 2, got 1)",
                       "errorType": "Runtime.MalformedHandlerName", "requestId": "", "stackTrace": []}


def test_builtin_module_as_handler_module_is_a_conflict(lam: Any, make_function: Any) -> None:
    name = make_function({"sys.py": "def handler(e, c):\n    return 1\n"}, handler="sys.handler")
    payload, _ = invoke_json(lam, name, {})
    assert payload["errorType"] == "Runtime.BuiltInModuleConflict"
    assert payload["errorMessage"] == "Cannot use built-in module sys as a handler module"


def test_init_error_is_retried_on_the_next_invocation(lam: Any, make_function: Any, tmp_path: Any) -> None:
    flag = tmp_path / "ready"
    code = f"import os\nif not os.path.exists({str(flag)!r}):\n    raise RuntimeError('not yet')\n" \
           "def handler(e, c):\n    return 'up'\n"
    name = make_function({"app.py": code})
    payload, _ = invoke_json(lam, name, {})
    assert (payload["errorType"], payload["errorMessage"]) == ("RuntimeError", "not yet")
    flag.write_text("x")
    assert invoke_json(lam, name, {})[0] == "up"


@pytest.mark.parametrize("expr,type_name", [("{1, 2}", "set"), ("bytearray(b'x')", "bytearray"),
                                             ("__import__('datetime').date(2020, 1, 1)", "date")])
def test_unserialisable_result_message(lam: Any, make_function: Any, expr: str, type_name: str) -> None:
    name = make_function({"app.py": f"def handler(e, c):\n    return {expr}\n"})
    payload, resp = invoke_json(lam, name, {})
    assert resp["FunctionError"] == "Unhandled"
    assert payload["errorType"] == "Runtime.MarshalError"
    assert payload["errorMessage"] == f"Unable to marshal response: Object of type {type_name} is not JSON serializable"
    assert invoke_json(lam, name, {})[1]["FunctionError"] == "Unhandled"   # the worker carries on


def test_decimal_and_non_ascii_results(lam: Any, make_function: Any) -> None:
    code = "from decimal import Decimal\ndef handler(e, c):\n    return {'n': Decimal('1.5'), 'i': Decimal('3'), 's': 'é☃'}\n"
    name = make_function({"app.py": code})
    assert invoke_json(lam, name, {})[0] == {"n": 1.5, "i": 3, "s": "é☃"}


def test_timeout_message_uses_the_configured_seconds(lam: Any, make_function: Any) -> None:
    name = make_function({"app.py": "import time\ndef handler(e, c):\n    time.sleep(60)\n"}, Timeout=2)
    payload, resp = invoke_json(lam, name, {})
    assert resp["FunctionError"] == "Unhandled"
    assert payload["errorType"] == "Sandbox.Timedout"
    rid = resp["ResponseMetadata"]["RequestId"]
    assert payload["errorMessage"] == f"RequestId: {rid} Error: Task timed out after 2.00 seconds"


# --- log tail ---------------------------------------------------------------------------------------
def test_log_tail_lines_have_aws_shapes(lam: Any, make_function: Any) -> None:
    name = make_function()
    _, resp = invoke_json(lam, name, {"action": "echo"}, LogType="Tail")
    lines = base64.b64decode(resp["LogResult"]).decode().splitlines()
    rid = resp["ResponseMetadata"]["RequestId"]
    assert lines[0] == f"START RequestId: {rid} Version: $LATEST"
    assert lines[-2] == f"END RequestId: {rid}"
    report = lines[-1]
    assert re.match(rf"REPORT RequestId: {rid}\tDuration: \d+\.\d\d ms\tBilled Duration: \d+ ms\t"
                    r"Memory Size: 128 MB\tMax Memory Used: \d+ MB\t(Init Duration: \d+\.\d\d ms\t)?$", report)
    # a warm invocation reports no init duration
    _, resp = invoke_json(lam, name, {"action": "echo"}, LogType="Tail")
    assert "Init Duration" not in base64.b64decode(resp["LogResult"]).decode()


def test_log_tail_holds_only_this_invocation(lam: Any, make_function: Any) -> None:
    name = make_function()
    invoke_json(lam, name, {"action": "print", "text": "first"})
    _, resp = invoke_json(lam, name, {"action": "print", "text": "second"}, LogType="Tail")
    log = base64.b64decode(resp["LogResult"]).decode()
    assert "printed second" in log and "printed first" not in log


# --- configuration updates reach the running code -------------------------------------------------
def test_update_handler_timeout_and_memory_reach_the_next_invocation(lam: Any, make_function: Any) -> None:
    code = ("def handler(e, c):\n    return ['one', c.memory_limit_in_mb, c.get_remaining_time_in_millis()]\n"
            "def other(e, c):\n    return ['two', c.memory_limit_in_mb, c.get_remaining_time_in_millis()]\n")
    name = make_function({"app.py": code})
    assert invoke_json(lam, name, {})[0][:2] == ["one", "128"]
    out = lam.update_function_configuration(FunctionName=name, Handler="app.other", Timeout=30, MemorySize=1024)
    assert (out["State"], out["LastUpdateStatus"]) == ("Active", "Successful")
    lam.get_waiter("function_updated_v2").wait(FunctionName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 2})
    which, memory, remaining = invoke_json(lam, name, {})[0]
    assert (which, memory) == ("two", "1024")
    assert 25000 < remaining <= 30000


def test_update_code_reports_the_new_sha_and_size(lam: Any, make_function: Any) -> None:
    import hashlib

    name = make_function()
    package = make_zip({"app.py": "def handler(e, c):\n    return 'new'\n", "data.txt": "x" * 1000})
    out = lam.update_function_code(FunctionName=name, ZipFile=package)
    assert out["CodeSha256"] == base64.b64encode(hashlib.sha256(package).digest()).decode()
    assert out["CodeSize"] == len(package)
    assert (out["State"], out["LastUpdateStatus"]) == ("Active", "Successful")
    conf = lam.get_function(FunctionName=name)["Configuration"]
    assert (conf["CodeSha256"], conf["CodeSize"]) == (out["CodeSha256"], len(package))
    assert invoke_json(lam, name, {})[0] == "new"


# --- validation messages -------------------------------------------------------------------------
@pytest.mark.parametrize("field,value,message", [
    ("Timeout", 0, "Value '0' at 'timeout' failed to satisfy constraint: Member must have value greater than or equal to 1"),
    ("Timeout", 901, "Value '901' at 'timeout' failed to satisfy constraint: Member must have value less than or equal to 900"),
    ("MemorySize", 127, ("Value '127' at 'memorySize' failed to satisfy constraint: Member must have value greater "
                         "than or equal to 128")),
    ("MemorySize", 10241, ("Value '10241' at 'memorySize' failed to satisfy constraint: Member must have value less "
                           "than or equal to 10240")),
])
def test_limits_are_validated_with_aws_messages(raw: Any, make_function: Any, field: str, value: int,
                                                message: str) -> None:
    name = make_function()
    with pytest.raises(ClientError) as e:
        raw.update_function_configuration(FunctionName=name, **{field: value})
    assert _code(e) == ("ValidationException", 400)
    assert e.value.response["Error"]["Message"] == f"1 validation error detected: {message}"


def test_role_is_validated_against_the_pattern(raw: Any, make_function: Any) -> None:
    name = make_function()
    with pytest.raises(ClientError) as e:
        raw.update_function_configuration(FunctionName=name, Role="arn:aws:iam::123:role/short-account")
    assert _code(e) == ("ValidationException", 400)
    assert "at 'role' failed to satisfy constraint" in e.value.response["Error"]["Message"]


def test_warm_state_survives_but_not_an_update(lam: Any, make_function: Any) -> None:
    name = make_function()
    assert [invoke_json(lam, name, {"action": "echo"})[0]["calls"] for _ in range(3)] == [1, 2, 3]
    lam.update_function_configuration(FunctionName=name, Description="new environment")
    assert invoke_json(lam, name, {"action": "echo"})[0]["calls"] == 1


def test_dry_run_has_no_payload_and_runs_nothing_even_with_tail(lam: Any, make_function: Any) -> None:
    name = make_function()
    t0 = time.monotonic()
    resp = lam.invoke(FunctionName=name, InvocationType="DryRun", LogType="Tail")
    assert resp["StatusCode"] == 204
    assert resp["Payload"].read() == b""
    assert "LogResult" not in resp and "FunctionError" not in resp
    assert time.monotonic() - t0 < 5


def test_request_id_over_http_is_the_invocation_request_id_once(lambda_client: Any, make_function: Any) -> None:
    name = make_function({"app.py": "def handler(e, c):\n    return c.aws_request_id\n"}, client=lambda_client)
    rid, resp = invoke_json(lambda_client, name, {})
    assert resp["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"] == rid     # one header, not two
    # other operations keep answering a request id of their own
    other = lambda_client.get_function(FunctionName=name)["ResponseMetadata"]["RequestId"]
    assert other and other != rid


def test_asynchronous_retries_keep_the_request_id(lam: Any, make_function: Any, runtime: Any, tmp_path: Any) -> None:
    code = "def handler(e, c):\n    open(e['path'], 'a').write(c.aws_request_id + '\\n')\n    raise RuntimeError('again')\n"
    name = make_function({"app.py": code})
    saved = runtime.async_retry_delays
    runtime.async_retry_delays = (0.05, 0.05)
    try:
        path = tmp_path / "ids"
        resp = lam.invoke(FunctionName=name, InvocationType="Event", Payload=json.dumps({"path": str(path)}).encode())
        ids = wait_for(lambda: path.exists() and len(lines := path.read_text().split()) == 3 and lines, timeout=20)
    finally:
        runtime.async_retry_delays = saved
    assert ids == [resp["ResponseMetadata"]["RequestId"]] * 3


@pytest.mark.parametrize("field,header,value,allowed", [
    ("InvocationType", "invocationType", "Bogus", "[Event, RequestResponse, DryRun]"),
    ("LogType", "logType", "Full", "[None, Tail]"),
])
def test_invoke_enums_outside_the_model_are_validation_errors(raw: Any, make_function: Any, field: str, header: str,
                                                              value: str, allowed: str) -> None:
    name = make_function()
    with pytest.raises(ClientError) as e:
        raw.invoke(FunctionName=name, Payload=b"{}", **{field: value})
    assert _code(e) == ("ValidationException", 400)
    assert e.value.response["Error"]["Message"] == (
        f"1 validation error detected: Value '{value}' at '{header}' failed to satisfy constraint: "
        f"Member must satisfy enum value set: {allowed}")


def test_handler_module_may_be_dotted(lam: Any, make_function: Any) -> None:
    name = make_function({"pkg/__init__.py": "", "pkg/mod.py": "def go(e, c):\n    return __name__\n"},
                         handler="pkg.mod.go")
    assert invoke_json(lam, name, {})[0] == "pkg.mod"


def test_working_directory_is_the_task_root(lam: Any, make_function: Any) -> None:
    code = "import os\ndef handler(e, c):\n    return [os.getcwd(), os.environ['LAMBDA_TASK_ROOT'], open('data.txt').read()]\n"
    name = make_function({"app.py": code, "data.txt": "bundled"})
    cwd, root, data = invoke_json(lam, name, {})[0]
    assert (cwd, data) == (root, "bundled")


def test_output_of_the_init_phase_is_in_the_first_log_tail_only(lam: Any, make_function: Any) -> None:
    name = make_function({"app.py": "print('at init')\ndef handler(e, c):\n    return 1\n"})
    _, first = invoke_json(lam, name, {}, LogType="Tail")
    _, second = invoke_json(lam, name, {}, LogType="Tail")
    assert base64.b64decode(first["LogResult"]).decode().startswith("at init\nSTART RequestId:")
    assert "at init" not in base64.b64decode(second["LogResult"]).decode()


def test_a_coroutine_handler_is_a_marshal_error(lam: Any, make_function: Any) -> None:
    # AWS's Python runtime does not await handlers: the coroutine is the (unserialisable) result
    name = make_function({"app.py": "async def handler(e, c):\n    return 1\n"})
    payload, _ = invoke_json(lam, name, {})
    assert payload["errorType"] == "Runtime.MarshalError"
    assert payload["errorMessage"] == "Unable to marshal response: Object of type coroutine is not JSON serializable"


def test_client_context_reaches_synchronous_invocations_only(lam: Any, make_function: Any, tmp_path: Any) -> None:
    # botocore's model: "Lambda passes the ClientContext object to your function for synchronous invocations only."
    code = "def handler(e, c):\n    open(e['path'], 'w').write(repr(c.client_context))\n"
    name = make_function({"app.py": code})
    cc = base64.b64encode(json.dumps({"custom": {"k": "v"}}).encode()).decode()
    path = tmp_path / "cc"
    lam.invoke(FunctionName=name, InvocationType="Event", ClientContext=cc,
               Payload=json.dumps({"path": str(path)}).encode())
    assert wait_for(lambda: path.exists() and path.read_text(), timeout=10) == "None"
    lam.invoke(FunctionName=name, ClientContext=cc, Payload=json.dumps({"path": str(path)}).encode())
    assert path.read_text() != "None"


def test_a_qualifier_in_the_name_must_match_the_qualifier_parameter(lam: Any, make_function: Any) -> None:
    name = make_function()
    with pytest.raises(lam.exceptions.InvalidParameterValueException) as e:
        lam.invoke(FunctionName=f"{name}:1", Qualifier="$LATEST", Payload=b"{}")
    assert e.value.response["Error"]["Message"] == \
        "The derived qualifier from the function name does not match the specified qualifier."
    assert invoke_json(lam, f"{name}:$LATEST", {"action": "echo"}, Qualifier="$LATEST")[0]["event"] == {"action": "echo"}


def test_the_server_environment_does_not_leak_into_the_function(lam: Any, make_function: Any,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDDYDB_CONFORMANCE_SECRET", "server-only")
    monkeypatch.setenv("AWS_PROFILE", "someone")
    name = make_function()     # a new function: its worker starts after the variables were set
    env, _ = invoke_json(lam, name, {"action": "env", "names": ["EDDYDB_CONFORMANCE_SECRET", "AWS_PROFILE"]})
    assert env == {"EDDYDB_CONFORMANCE_SECRET": None, "AWS_PROFILE": None}


def test_an_invocation_in_flight_finishes_on_the_old_code_while_new_ones_run_the_new(lam: Any, make_function: Any,
                                                                                      tmp_path: Any) -> None:
    go, started = tmp_path / "go", tmp_path / "started"
    v1 = (f"import os, time\ndef handler(e, c):\n    open({str(started)!r}, 'w').write('x')\n    end = time.time() + 15\n"
          f"    while not os.path.exists({str(go)!r}) and time.time() < end:\n        time.sleep(0.01)\n    return 'v1'\n")
    name = make_function({"app.py": v1}, Timeout=30)
    first: list[Any] = []
    t = threading.Thread(target=lambda: first.append(invoke_json(lam, name, {})[0]))
    t.start()
    try:
        wait_for(started.exists, timeout=10)
        lam.update_function_code(FunctionName=name, ZipFile=make_zip({"app.py": "def handler(e, c):\n    return 'v2'\n"}))
        assert invoke_json(lam, name, {})[0] == "v2"
    finally:
        go.write_text("go")
        t.join(20)
    assert first == ["v1"]
    assert invoke_json(lam, name, {})[0] == "v2"


def test_context_log_writes_any_object_to_the_log(lam: Any, make_function: Any) -> None:
    code = "def handler(e, c):\n    c.log('plain line\\n')\n    c.log({'k': 1})\n    return 'ok'\n"
    name = make_function({"app.py": code})
    payload, resp = invoke_json(lam, name, {}, LogType="Tail")
    assert payload == "ok" and "FunctionError" not in resp
    log = base64.b64decode(resp["LogResult"]).decode()
    assert "plain line\n" in log and "{'k': 1}" in log


def test_the_usual_logger_setup_logs_info_in_aws_format(lam: Any, make_function: Any) -> None:
    code = ("import logging\nlogging.basicConfig(level=logging.DEBUG)   # a no-op: the runtime's handler is there\n"
            "logger = logging.getLogger()\nlogger.setLevel(logging.INFO)\n"
            "def handler(e, c):\n    logger.info('hello %s', 'there')\n    logger.debug('not shown')\n    return 1\n")
    name = make_function({"app.py": code})
    _, resp = invoke_json(lam, name, {}, LogType="Tail")
    log = base64.b64decode(resp["LogResult"]).decode()
    rid = resp["ResponseMetadata"]["RequestId"]
    info = rf"^\[INFO\]\t\d{{4}}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{{3}}Z\t{rid}\thello there$"
    assert re.search(info, log, re.MULTILINE), log
    assert "not shown" not in log
