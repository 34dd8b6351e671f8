"""Invoke through boto3: RequestResponse, Event, DryRun, LogType Tail, the error shapes of an
unhandled exception, a timeout, an exit or a crash of the worker (each recovered from), the
context object, the environment, and code reload."""
from __future__ import annotations

import base64
import json
import os
import time
from typing import Any

import pytest
from fn_support import APP, invoke_json, make_zip
from util import wait_for


def test_request_response_returns_the_handler_result(lam: Any, make_function: Any) -> None:
    name = make_function()
    payload, resp = invoke_json(lam, name, {"action": "echo", "n": [1, 2.5, "x"]})
    assert resp["StatusCode"] == 200
    assert resp["ExecutedVersion"] == "$LATEST"
    assert "FunctionError" not in resp
    assert payload["event"] == {"action": "echo", "n": [1, 2.5, "x"]}


def test_invoke_without_payload_passes_an_empty_event(lam: Any, make_function: Any) -> None:
    name = make_function()
    payload, _ = invoke_json(lam, name)
    assert payload == {}


def test_handler_returning_none_gives_null(lam: Any, make_function: Any) -> None:
    name = make_function({"app.py": "def handler(e, c):\n    return None\n"})
    resp = lam.invoke(FunctionName=name, Payload=b"{}")
    assert resp["Payload"].read() == b"null"


def test_worker_is_warm_and_reused(lam: Any, make_function: Any) -> None:
    name = make_function()
    first, _ = invoke_json(lam, name, {"action": "echo"})
    second, _ = invoke_json(lam, name, {"action": "echo"})
    assert second["calls"] == first["calls"] + 1


def test_unhandled_exception_shape(lam: Any, make_function: Any) -> None:
    name = make_function()
    payload, resp = invoke_json(lam, name, {"action": "raise", "message": "it broke"})
    assert resp["StatusCode"] == 200
    assert resp["FunctionError"] == "Unhandled"
    assert payload["errorMessage"] == "it broke"
    assert payload["errorType"] == "ValueError"
    assert isinstance(payload["stackTrace"], list) and payload["stackTrace"]
    assert "in handler" in payload["stackTrace"][-1]
    assert "worker.py" not in "".join(payload["stackTrace"])
    # the worker survives a handled-by-runtime exception
    _, resp = invoke_json(lam, name, {"action": "echo"})
    assert "FunctionError" not in resp


def test_unserialisable_result_is_a_marshal_error(lam: Any, make_function: Any) -> None:
    name = make_function()
    payload, resp = invoke_json(lam, name, {"action": "unserialisable"})
    assert resp["FunctionError"] == "Unhandled"
    assert payload["errorType"] == "Runtime.MarshalError"
    assert payload["errorMessage"].startswith("Unable to marshal response:")


def test_log_type_tail_returns_the_invocation_log(lam: Any, make_function: Any) -> None:
    name = make_function()
    _, resp = invoke_json(lam, name, {"action": "print", "text": "hello"}, LogType="Tail")
    log = base64.b64decode(resp["LogResult"]).decode()
    assert "START RequestId:" in log and "Version: $LATEST" in log
    assert "printed hello" in log
    assert "to stderr" in log
    assert "[WARNING]" in log and "warned 1" in log
    assert "info is below" not in log
    assert "END RequestId:" in log
    assert "REPORT RequestId:" in log and "Duration:" in log and "Memory Size: 128 MB" in log


def test_log_tail_is_at_most_4kb(lam: Any, make_function: Any) -> None:
    name = make_function()
    _, resp = invoke_json(lam, name, {"action": "big_print", "n": 20000}, LogType="Tail")
    log = base64.b64decode(resp["LogResult"])
    assert len(log) <= 4096
    assert log.rstrip().splitlines()[-1].startswith(b"REPORT RequestId:")


def test_log_tail_of_an_exception_has_the_traceback(lam: Any, make_function: Any) -> None:
    name = make_function()
    _, resp = invoke_json(lam, name, {"action": "raise", "message": "bad"}, LogType="Tail")
    log = base64.b64decode(resp["LogResult"]).decode()
    assert "[ERROR] ValueError: bad" in log
    assert "Traceback (most recent call last):" in log


def test_no_log_result_without_tail(lam: Any, make_function: Any) -> None:
    name = make_function()
    _, resp = invoke_json(lam, name, {"action": "print"})
    assert "LogResult" not in resp


def test_output_goes_to_the_function_log_file(lam: Any, make_function: Any, runtime: Any) -> None:
    name = make_function()
    invoke_json(lam, name, {"action": "print", "text": "in-the-file"})
    text = _read(runtime.log_path(name))
    assert "printed in-the-file" in text
    assert "START RequestId:" in text and "REPORT RequestId:" in text


def test_event_invocation_is_asynchronous(lam: Any, make_function: Any, tmp_path: Any) -> None:
    go, marker = tmp_path / "go", tmp_path / "ran"
    # the handler only finishes once the test, after Invoke returned, says go
    code = (f"import os, time\ndef handler(e, c):\n    end = time.time() + 20\n"
            f"    while not os.path.exists({str(go)!r}) and time.time() < end:\n        time.sleep(0.01)\n"
            f"    if os.path.exists({str(go)!r}):\n        open({str(marker)!r}, 'w').write('x')\n")
    name = make_function({"app.py": code}, Timeout=30)
    resp = lam.invoke(FunctionName=name, InvocationType="Event", Payload=b'{"a": 1}')
    assert resp["StatusCode"] == 202
    assert resp["Payload"].read() == b""
    assert not marker.exists()
    go.write_text("go")
    wait_for(marker.exists, timeout=20)


def test_dry_run_answers_204_without_running(lam: Any, make_function: Any, tmp_path: Any) -> None:
    marker = tmp_path / "ran"
    name = make_function({"app.py": f"def handler(e, c):\n    open({str(marker)!r}, 'w').write('x')\n"})
    resp = lam.invoke(FunctionName=name, InvocationType="DryRun")
    assert resp["StatusCode"] == 204
    assert not marker.exists()


def test_invoke_async_api(lam: Any, make_function: Any, tmp_path: Any) -> None:
    marker = tmp_path / "ran"
    name = make_function({"app.py": f"def handler(e, c):\n    open({str(marker)!r}, 'w').write(str(e))\n"})
    resp = lam.invoke_async(FunctionName=name, InvokeArgs=b'{"k": 1}')
    assert resp["Status"] == 202
    wait_for(marker.exists, timeout=10)


# --- isolation: timeouts, exits, crashes -------------------------------------------------------
def test_timeout_kills_the_worker_and_recovers(lam: Any, make_function: Any) -> None:
    name = make_function(Timeout=1)
    pid, _ = invoke_json(lam, name, {"action": "pid"})
    t0 = time.monotonic()
    payload, resp = invoke_json(lam, name, {"action": "sleep", "seconds": 30})
    assert time.monotonic() - t0 < 20   # the handler would sleep 30 s
    assert resp["FunctionError"] == "Unhandled"
    assert payload["errorType"] == "Sandbox.Timedout"
    assert payload["errorMessage"].endswith("Task timed out after 1.00 seconds")
    assert not _alive(pid)
    again, resp = invoke_json(lam, name, {"action": "pid"})
    assert "FunctionError" not in resp and again != pid


def test_endless_loop_times_out(lam: Any, make_function: Any) -> None:
    name = make_function(Timeout=1)
    payload, resp = invoke_json(lam, name, {"action": "spin"})
    assert resp["FunctionError"] == "Unhandled"
    assert "Task timed out after 1.00 seconds" in payload["errorMessage"]
    assert invoke_json(lam, name, {"action": "echo"})[0]["event"] == {"action": "echo"}


def test_timeout_is_written_to_the_log(lam: Any, make_function: Any, runtime: Any) -> None:
    name = make_function(Timeout=1)
    _, resp = invoke_json(lam, name, {"action": "sleep", "seconds": 30}, LogType="Tail")
    assert "Task timed out after 1.00 seconds" in base64.b64decode(resp["LogResult"]).decode()
    assert "Task timed out after 1.00 seconds" in _read(runtime.log_path(name))


@pytest.mark.parametrize("event,reason", [
    ({"action": "exit", "code": 3}, "Runtime exited with error: exit status 3"),
    ({"action": "os_exit", "code": 7}, "Runtime exited with error: exit status 7"),
    ({"action": "exit", "code": 0}, "Runtime exited without providing a reason"),
    ({"action": "segfault"}, "Runtime exited with error: signal: segmentation fault"),
])
def test_worker_exit_is_a_function_error_and_the_worker_is_replaced(lam: Any, make_function: Any,
                                                                     event: dict, reason: str) -> None:
    name = make_function()
    pid, _ = invoke_json(lam, name, {"action": "pid"})
    payload, resp = invoke_json(lam, name, event)
    assert resp["StatusCode"] == 200
    assert resp["FunctionError"] == "Unhandled"
    assert payload["errorType"] == "Runtime.ExitError"
    assert payload["errorMessage"].startswith("RequestId: ")
    assert payload["errorMessage"].endswith(f"Error: {reason}")
    new_pid, resp = invoke_json(lam, name, {"action": "pid"})
    assert "FunctionError" not in resp and new_pid != pid


def _read(path: str) -> str:
    with open(path) as f:
        return f.read()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is dead too
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except OSError:
        return False


# --- init errors -------------------------------------------------------------------------------
def test_import_error_is_runtime_import_module_error(lam: Any, make_function: Any) -> None:
    name = make_function({"app.py": "import no_such_module_here\ndef handler(e, c):\n    return 1\n"})
    payload, resp = invoke_json(lam, name, {})
    assert resp["FunctionError"] == "Unhandled"
    assert payload["errorType"] == "Runtime.ImportModuleError"
    assert payload["errorMessage"] == "Unable to import module 'app': No module named 'no_such_module_here'"


def test_missing_module_is_runtime_import_module_error(lam: Any, make_function: Any) -> None:
    name = make_function(handler="nothere.handler")
    payload, _ = invoke_json(lam, name, {})
    assert payload["errorType"] == "Runtime.ImportModuleError"
    assert payload["errorMessage"] == "Unable to import module 'nothere': No module named 'nothere'"


def test_syntax_error_is_runtime_user_code_syntax_error(lam: Any, make_function: Any) -> None:
    name = make_function({"app.py": "def handler(e, c)\n    return 1\n"})
    payload, resp = invoke_json(lam, name, {}, LogType="Tail")
    assert resp["FunctionError"] == "Unhandled"
    assert payload["errorType"] == "Runtime.UserCodeSyntaxError"
    assert payload["errorMessage"].startswith("Syntax error in module 'app':")
    assert "Runtime.UserCodeSyntaxError" in base64.b64decode(resp["LogResult"]).decode()


def test_missing_handler_function_is_runtime_handler_not_found(lam: Any, make_function: Any) -> None:
    name = make_function(handler="app.nothere")
    payload, _ = invoke_json(lam, name, {})
    assert payload["errorType"] == "Runtime.HandlerNotFound"
    assert payload["errorMessage"] == "Handler 'nothere' missing on module 'app'"


def test_malformed_handler_name(lam: Any, make_function: Any) -> None:
    name = make_function(handler="app")
    payload, _ = invoke_json(lam, name, {})
    assert payload["errorType"] == "Runtime.MalformedHandlerName"


def test_exception_at_import_is_reported_with_its_type(lam: Any, make_function: Any) -> None:
    name = make_function({"app.py": "raise KeyError('cfg')\ndef handler(e, c):\n    return 1\n"})
    payload, resp = invoke_json(lam, name, {})
    assert resp["FunctionError"] == "Unhandled"
    assert payload["errorType"] == "KeyError"


def test_handler_in_a_package(lam: Any, make_function: Any) -> None:
    name = make_function({"pkg/__init__.py": "", "pkg/mod.py": "from .helper import v\ndef go(e, c):\n    return v\n",
                          "pkg/helper.py": "v = 42\n"}, handler="pkg/mod.go")
    assert invoke_json(lam, name, {})[0] == 42


# --- context and environment -------------------------------------------------------------------
def test_context_fields(lam: Any, make_function: Any) -> None:
    name = make_function(MemorySize=256, Timeout=5)
    cc = base64.b64encode(json.dumps({"custom": {"k": "v"}, "env": {"e": "1"}}).encode()).decode()
    payload, _ = invoke_json(lam, name, {"action": "context"}, ClientContext=cc)
    assert payload["function_name"] == name
    assert payload["function_version"] == "$LATEST"
    assert payload["invoked_function_arn"] == f"arn:aws:lambda:us-east-1:000000000000:function:{name}"
    assert payload["memory_limit_in_mb"] == "256"
    assert len(payload["aws_request_id"]) == 36
    assert payload["log_group_name"] == f"/aws/lambda/{name}"
    assert "[$LATEST]" in payload["log_stream_name"]
    assert payload["identity"] == [None, None]
    assert payload["client_context"] == {"custom": {"k": "v"}, "env": {"e": "1"}}
    assert 4000 < payload["remaining"] <= 5000


def test_each_invocation_has_its_own_request_id(lam: Any, make_function: Any) -> None:
    name = make_function()
    ids = {invoke_json(lam, name, {"action": "context"})[0]["aws_request_id"] for _ in range(3)}
    assert len(ids) == 3


def test_environment_variables(lam: Any, make_function: Any, fdb: Any) -> None:
    names = ["AWS_ENDPOINT_URL", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
             "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_VERSION", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
             "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME", "LAMBDA_TASK_ROOT", "_HANDLER", "MINE"]
    name = make_function(Environment={"Variables": {"MINE": "value"}}, MemorySize=512)
    env, _ = invoke_json(lam, name, {"action": "env", "names": names})
    # an embedded database gets a loopback listener so that handlers' boto3 calls reach it
    assert env["AWS_ENDPOINT_URL"] == fdb.settings.extra["public_url"]
    assert env["AWS_ENDPOINT_URL"].startswith("http://127.0.0.1:")
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "us-east-1"
    assert env["AWS_ACCESS_KEY_ID"] and env["AWS_SECRET_ACCESS_KEY"]
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == name
    assert env["AWS_LAMBDA_FUNCTION_VERSION"] == "$LATEST"
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "512"
    assert env["AWS_LAMBDA_LOG_GROUP_NAME"] == f"/aws/lambda/{name}"
    assert env["AWS_LAMBDA_LOG_STREAM_NAME"] == \
        invoke_json(lam, name, {"action": "context"})[0]["log_stream_name"]
    assert os.path.isfile(os.path.join(env["LAMBDA_TASK_ROOT"], "app.py"))
    assert env["_HANDLER"] == "app.handler"
    assert env["MINE"] == "value"


def test_configuration_update_reaches_new_invocations(lam: Any, make_function: Any) -> None:
    name = make_function(Environment={"Variables": {"MINE": "one"}})
    assert invoke_json(lam, name, {"action": "env", "names": ["MINE"]})[0] == {"MINE": "one"}
    lam.update_function_configuration(FunctionName=name, Environment={"Variables": {"MINE": "two"}})
    assert invoke_json(lam, name, {"action": "env", "names": ["MINE"]})[0] == {"MINE": "two"}


# --- code reload ---------------------------------------------------------------------------------
def test_update_code_starts_new_workers(lam: Any, make_function: Any) -> None:
    name = make_function({"app.py": "import os\ndef handler(e, c):\n    return ['v1', os.getpid()]\n"})
    v1, pid1 = invoke_json(lam, name, {})[0]
    lam.update_function_code(FunctionName=name, ZipFile=make_zip(
        {"app.py": "import os\ndef handler(e, c):\n    return ['v2', os.getpid()]\n"}))
    v2, pid2 = invoke_json(lam, name, {})[0]
    assert (v1, v2) == ("v1", "v2")
    assert pid1 != pid2
    wait_for(lambda: not _alive(pid1), timeout=5)


def test_local_directory_code_reloads_when_files_change(lam: Any, make_function: Any, tmp_path: Any) -> None:
    code = tmp_path / "src"
    code.mkdir()
    (code / "app.py").write_text("from helper import V\ndef handler(e, c):\n    return V\n")
    (code / "helper.py").write_text("V = 'one'\n")
    name = make_function(code={"S3Bucket": "file", "S3Key": str(code)})
    conf = lam.get_function(FunctionName=name)
    assert conf["Code"]["Location"] == f"file://{os.path.realpath(code)}"
    assert invoke_json(lam, name, {})[0] == "one"
    (code / "helper.py").write_text("V = 'two'\n")
    assert invoke_json(lam, name, {})[0] == "two"
    (code / "extra.py").write_text("W = 'three'\n")
    (code / "app.py").write_text("from extra import W\ndef handler(e, c):\n    return W\n")
    assert invoke_json(lam, name, {})[0] == "three"


def test_local_directory_with_a_syntax_error_recovers_once_fixed(lam: Any, make_function: Any,
                                                                 tmp_path: Any) -> None:
    code = tmp_path / "src"
    code.mkdir()
    (code / "app.py").write_text("def handler(e, c):\n    return 'ok'\n")
    name = make_function(code={"S3Bucket": "hot-reload", "S3Key": str(code)})
    assert invoke_json(lam, name, {})[0] == "ok"
    (code / "app.py").write_text("def handler(e, c)\n    return 'ok'\n")
    assert invoke_json(lam, name, {})[0]["errorType"] == "Runtime.UserCodeSyntaxError"
    (code / "app.py").write_text("def handler(e, c):\n    return 'fixed'\n")
    assert invoke_json(lam, name, {})[0] == "fixed"


def test_update_code_from_zip_to_local_directory(lam: Any, make_function: Any, tmp_path: Any) -> None:
    name = make_function({"app.py": "def handler(e, c):\n    return 'zip'\n"})
    (tmp_path / "app.py").write_text("def handler(e, c):\n    return 'dir'\n")
    lam.update_function_code(FunctionName=name, S3Bucket="file", S3Key=str(tmp_path))
    assert invoke_json(lam, name, {})[0] == "dir"


# --- invoke errors -------------------------------------------------------------------------------
def test_invoke_unknown_function_is_not_found(lam: Any) -> None:
    with pytest.raises(lam.exceptions.ResourceNotFoundException) as e:
        lam.invoke(FunctionName="no-such-function", Payload=b"{}")
    assert e.value.response["Error"]["Message"] == \
        "Function not found: arn:aws:lambda:us-east-1:000000000000:function:no-such-function"
    for itype in ("Event", "DryRun"):
        with pytest.raises(lam.exceptions.ResourceNotFoundException):
            lam.invoke(FunctionName="no-such-function", InvocationType=itype)


def test_invoke_with_invalid_json_is_invalid_request_content(lam: Any, make_function: Any) -> None:
    name = make_function()
    with pytest.raises(lam.exceptions.InvalidRequestContentException) as e:
        lam.invoke(FunctionName=name, Payload=b"{not json")
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert e.value.response["Error"]["Message"].startswith("Could not parse request body into json")


def test_invoke_with_a_bad_client_context(lam: Any, make_function: Any) -> None:
    name = make_function()
    with pytest.raises(lam.exceptions.InvalidRequestContentException):
        lam.invoke(FunctionName=name, Payload=b"{}", ClientContext="%%%not base64")


def test_invoke_over_6mb_is_too_large(lam: Any, make_function: Any) -> None:
    name = make_function()
    big = json.dumps({"x": "a" * (6 * 1024 * 1024)}).encode()
    with pytest.raises(lam.exceptions.RequestTooLargeException) as e:
        lam.invoke(FunctionName=name, Payload=big)
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 413


def test_large_payload_round_trips(lam: Any, make_function: Any) -> None:
    name = make_function()
    event = {"action": "echo", "blob": "z" * (2 * 1024 * 1024)}
    assert invoke_json(lam, name, event)[0]["event"] == event


def test_unused_app_constant_is_valid_python() -> None:
    compile(APP, "app.py", "exec")


def test_response_over_6mb_is_a_function_error(lam: Any, make_function: Any) -> None:
    name = make_function({"app.py": "def handler(e, c):\n    return 'x' * (7 * 1024 * 1024)\n"})
    payload, resp = invoke_json(lam, name, {})
    assert resp["FunctionError"] == "Unhandled"
    assert payload["errorType"] == "Function.ResponseSizeTooLarge"


def test_binary_stdout_reaches_the_log(lam: Any, make_function: Any) -> None:
    name = make_function({"app.py": "import sys\ndef handler(e, c):\n    sys.stdout.buffer.write(b'raw bytes\\n')\n"})
    _, resp = invoke_json(lam, name, {}, LogType="Tail")
    assert "FunctionError" not in resp
    assert "raw bytes" in base64.b64decode(resp["LogResult"]).decode()


def test_removed_local_directory_is_an_import_error(lam: Any, make_function: Any, tmp_path: Any) -> None:
    import shutil

    code = tmp_path / "gone"
    code.mkdir()
    (code / "app.py").write_text("def handler(e, c):\n    return 1\n")
    name = make_function(code={"S3Bucket": "file", "S3Key": str(code)})
    assert invoke_json(lam, name, {})[0] == 1
    shutil.rmtree(code)
    payload, resp = invoke_json(lam, name, {})
    assert resp["FunctionError"] == "Unhandled"
    assert payload["errorType"] == "Runtime.ImportModuleError"


@pytest.mark.parametrize("raw", [b'"just a string"', b"[1, 2, 3]", b"123", b"null", b'{"f": 1.5, "t": true}'])
def test_any_json_value_is_an_event(lam: Any, make_function: Any, raw: bytes) -> None:
    name = make_function({"app.py": "def handler(e, c):\n    return e\n"})
    resp = lam.invoke(FunctionName=name, Payload=raw)
    assert "FunctionError" not in resp
    assert json.loads(resp["Payload"].read()) == json.loads(raw)


def test_worker_death_is_seen_even_if_a_forked_child_holds_the_pipe(lam: Any, make_function: Any) -> None:
    code = ("import os, time\ndef handler(e, c):\n    if os.fork() == 0:\n        time.sleep(30)\n        os._exit(0)\n"
            "    os._exit(5)\n")
    name = make_function({"app.py": code}, Timeout=20)
    t0 = time.monotonic()
    payload, _ = invoke_json(lam, name, {})
    assert time.monotonic() - t0 < 15     # not the 20 s timeout
    assert payload["errorType"] == "Runtime.ExitError"
    assert payload["errorMessage"].endswith("exit status 5")


def test_embedded_handler_reaches_the_same_database_with_boto3(lam: Any, make_function: Any, fdb: Any) -> None:
    ddb = fdb.client("dynamodb")
    table = f"embedded-callback-{os.getpid()}"
    ddb.create_table(TableName=table, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
    code = ("import boto3\ndef handler(e, c):\n    d = boto3.client('dynamodb')\n"
            "    d.put_item(TableName=e['t'], Item={'pk': {'S': 'from-worker'}})\n    return 'ok'\n")
    try:
        name = make_function({"app.py": code}, Timeout=30)
        payload, resp = invoke_json(lam, name, {"t": table})
        assert "FunctionError" not in resp, payload
        assert ddb.get_item(TableName=table, Key={"pk": {"S": "from-worker"}})["Item"] == {"pk": {"S": "from-worker"}}
    finally:
        ddb.delete_table(TableName=table)


# --- asynchronous retries --------------------------------------------------------------------------
FAILING = "def handler(e, c):\n    open(e['path'], 'a').write('x')\n    raise RuntimeError('always')\n"


@pytest.fixture
def quick_retries(runtime: Any) -> Any:
    saved = runtime.async_retry_delays
    runtime.async_retry_delays = (0.05, 0.1)
    yield runtime
    runtime.async_retry_delays = saved


def _wait_dropped(runtime: Any, name: str) -> None:
    wait_for(lambda: "event dropped" in _read(runtime.log_path(name)), timeout=20)


def test_failed_event_invocation_is_retried_twice(lam: Any, make_function: Any, quick_retries: Any,
                                                  tmp_path: Any) -> None:
    name = make_function({"app.py": FAILING})
    attempts = tmp_path / "attempts"
    lam.invoke(FunctionName=name, InvocationType="Event", Payload=json.dumps({"path": str(attempts)}).encode())
    _wait_dropped(quick_retries, name)
    assert attempts.read_text() == "xxx"


def test_event_invoke_config_limits_the_retries(lam: Any, make_function: Any, quick_retries: Any,
                                                tmp_path: Any) -> None:
    name = make_function({"app.py": FAILING})
    out = lam.put_function_event_invoke_config(FunctionName=name, MaximumRetryAttempts=0)
    assert out["MaximumRetryAttempts"] == 0 and out["MaximumEventAgeInSeconds"] == 21600
    assert out["FunctionArn"].endswith(f"function:{name}:$LATEST")
    attempts = tmp_path / "attempts"
    lam.invoke(FunctionName=name, InvocationType="Event", Payload=json.dumps({"path": str(attempts)}).encode())
    _wait_dropped(quick_retries, name)
    assert attempts.read_text() == "x"


def test_event_invoke_config_api(lam: Any, make_function: Any) -> None:
    name = make_function()
    with pytest.raises(lam.exceptions.ResourceNotFoundException) as e:
        lam.get_function_event_invoke_config(FunctionName=name)
    assert "doesn't have an EventInvokeConfig" in e.value.response["Error"]["Message"]
    lam.put_function_event_invoke_config(FunctionName=name, MaximumRetryAttempts=1, MaximumEventAgeInSeconds=120)
    lam.update_function_event_invoke_config(FunctionName=name, MaximumRetryAttempts=0)
    got = lam.get_function_event_invoke_config(FunctionName=name)
    assert (got["MaximumRetryAttempts"], got["MaximumEventAgeInSeconds"]) == (0, 120)
    lam.update_function_configuration(FunctionName=name, Timeout=9)     # other updates keep it
    assert lam.get_function_event_invoke_config(FunctionName=name)["MaximumRetryAttempts"] == 0
    lam.delete_function_event_invoke_config(FunctionName=name)
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_function_event_invoke_config(FunctionName=name)
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.delete_function_event_invoke_config(FunctionName=name)
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.put_function_event_invoke_config(FunctionName="no-such-function", MaximumRetryAttempts=1)
    with pytest.raises(lam.exceptions.InvalidParameterValueException):
        lam.put_function_event_invoke_config(
            FunctionName=name, DestinationConfig={"OnFailure": {"Destination": "arn:aws:sqs:us-east-1:000000000000:q"}})
