"""Functions over HTTP on the real server: the wire protocol boto3 sees (status codes, error
headers, log headers), a handler that uses boto3 to reach back into eddydb with no
configuration, and `eddydb logs` reading a function's log."""
from __future__ import annotations

import base64
import json
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from typing import Any

import pytest
from fn_support import APP, invoke_json, make_zip
from util import wait_for

CALLBACK = '''
import boto3

def handler(event, context):
    ddb = boto3.client("dynamodb")
    ddb.put_item(TableName=event["table"], Item={"pk": {"S": context.aws_request_id}, "v": {"S": "from-lambda"}})
    got = ddb.get_item(TableName=event["table"], Key={"pk": {"S": context.aws_request_id}}, ConsistentRead=True)
    return got["Item"]["v"]["S"]
'''


@pytest.fixture
def srv_function(lambda_client: Any, make_function: Any) -> Any:
    def factory(files: dict[str, str] | None = None, **kw: Any) -> str:
        return make_function(files, client=lambda_client, **kw)

    return factory


def test_create_and_invoke_over_http(lambda_client: Any, srv_function: Any) -> None:
    name = srv_function()
    conf = lambda_client.get_function_configuration(FunctionName=name)
    assert conf["State"] == "Active"
    payload, resp = invoke_json(lambda_client, name, {"action": "echo", "x": 1})
    assert resp["StatusCode"] == 200
    assert resp["ResponseMetadata"]["HTTPHeaders"]["x-amz-executed-version"] == "$LATEST"
    assert payload["event"] == {"action": "echo", "x": 1}


def test_function_error_header_over_http(lambda_client: Any, srv_function: Any) -> None:
    name = srv_function()
    payload, resp = invoke_json(lambda_client, name, {"action": "raise", "message": "nope"}, LogType="Tail")
    assert resp["ResponseMetadata"]["HTTPHeaders"]["x-amz-function-error"] == "Unhandled"
    assert resp["FunctionError"] == "Unhandled"
    assert payload["errorType"] == "ValueError" and payload["errorMessage"] == "nope"
    assert "[ERROR] ValueError: nope" in base64.b64decode(resp["LogResult"]).decode()


def test_errors_over_http_raise_the_modelled_exceptions(lambda_client: Any, srv_function: Any) -> None:
    with pytest.raises(lambda_client.exceptions.ResourceNotFoundException) as e:
        lambda_client.get_function(FunctionName="no-such-function-http")
    assert e.value.response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-errortype"] == "ResourceNotFoundException"
    name = srv_function()
    with pytest.raises(lambda_client.exceptions.ResourceConflictException):
        srv_function(name=name)
    with pytest.raises(lambda_client.exceptions.InvalidParameterValueException):
        lambda_client.update_function_configuration(FunctionName=name, Runtime="ruby3.3")


def test_event_and_dry_run_over_http(lambda_client: Any, srv_function: Any) -> None:
    name = srv_function()
    assert lambda_client.invoke(FunctionName=name, InvocationType="Event", Payload=b"{}")["StatusCode"] == 202
    assert lambda_client.invoke(FunctionName=name, InvocationType="DryRun")["StatusCode"] == 204


def test_timeout_and_crash_do_not_take_the_server_down(lambda_client: Any, srv_function: Any,
                                                       eddy_server: Any) -> None:
    name = srv_function(Timeout=1)
    assert invoke_json(lambda_client, name, {"action": "sleep", "seconds": 10})[0]["errorType"] == "Sandbox.Timedout"
    assert invoke_json(lambda_client, name, {"action": "os_exit"})[0]["errorType"] == "Runtime.ExitError"
    assert invoke_json(lambda_client, name, {"action": "segfault"})[0]["errorType"] == "Runtime.ExitError"
    assert eddy_server.proc.poll() is None
    assert invoke_json(lambda_client, name, {"action": "echo"})[0]["event"] == {"action": "echo"}


def test_handler_reaches_eddydb_with_boto3_and_no_configuration(lambda_client: Any, srv_function: Any,
                                                                dynamodb_server: Any, make_table: Any) -> None:
    table = make_table()
    name = srv_function({"app.py": CALLBACK}, Timeout=30)
    payload, resp = invoke_json(lambda_client, name, {"table": table})
    assert "FunctionError" not in resp, payload
    assert payload == "from-lambda"
    items = dynamodb_server.scan(TableName=table)["Items"]
    assert [i["v"]["S"] for i in items] == ["from-lambda"]


def test_code_download_location(lambda_client: Any, srv_function: Any) -> None:
    package = make_zip({"app.py": APP})
    name = srv_function(code={"ZipFile": package})
    location = lambda_client.get_function(FunctionName=name)["Code"]["Location"]
    with urllib.request.urlopen(location, timeout=10) as r:
        assert r.read() == package


def _logs(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "eddydb", "logs", *args], capture_output=True, text=True, check=False,
                          timeout=60)


def test_logs_command_reads_the_data_directory(lambda_client: Any, srv_function: Any, eddy_server: Any) -> None:
    name = srv_function()
    invoke_json(lambda_client, name, {"action": "print", "text": "for-the-cli"})
    out = _logs(name, "--data", str(eddy_server.data_dir))
    assert out.returncode == 0, out.stderr
    assert "printed for-the-cli" in out.stdout
    assert "REPORT RequestId:" in out.stdout
    last = _logs(name, "--data", str(eddy_server.data_dir), "-n", "1")
    assert last.stdout.startswith("REPORT RequestId:") and last.stdout.count("\n") == 1


def test_logs_command_asks_the_server(lambda_client: Any, srv_function: Any, eddy_server: Any) -> None:
    name = srv_function()
    invoke_json(lambda_client, name, {"action": "print", "text": "over-http"})
    out = _logs(name, "--endpoint", eddy_server.url)
    assert out.returncode == 0, out.stderr
    assert "printed over-http" in out.stdout
    missing = _logs("no-such-function-logs", "--endpoint", eddy_server.url)
    assert missing.returncode != 0
    assert "Function not found" in missing.stderr


def test_logs_follow_prints_new_lines(lambda_client: Any, srv_function: Any, eddy_server: Any) -> None:
    name = srv_function()
    invoke_json(lambda_client, name, {"action": "print", "text": "before"})
    proc = subprocess.Popen([sys.executable, "-m", "eddydb", "logs", name, "-f", "--data", str(eddy_server.data_dir)],
                            stdout=subprocess.PIPE, text=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(proc.stdout.readline, "")), daemon=True)
    reader.start()
    try:
        wait_for(lambda: any("printed before" in line for line in lines), timeout=15)
        invoke_json(lambda_client, name, {"action": "print", "text": "after"})
        wait_for(lambda: any("printed after" in line for line in lines), timeout=15)
    finally:
        proc.kill()
        proc.wait()


def test_invoke_payload_is_passed_through_unchanged(lambda_client: Any, srv_function: Any) -> None:
    name = srv_function()
    event = {"action": "echo", "unicode": "héllo ✓", "nested": {"a": [None, True, 1.5]}}
    resp = lambda_client.invoke(FunctionName=name, Payload=json.dumps(event).encode())
    assert json.loads(resp["Payload"].read())["event"] == event


def _raw(url: str, method: str, body: bytes = b"", headers: dict[str, str] | None = None) -> tuple[int, dict, bytes]:
    req = urllib.request.Request(url, data=body or None, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def test_raw_http_error_shapes(eddy_server: Any, srv_function: Any) -> None:
    base = f"{eddy_server.url}/2015-03-31/functions"
    status, headers, body = _raw(base, "POST", b"{not json", {"Content-Type": "application/json"})
    assert status == 400
    assert headers["x-amzn-ErrorType"] == "InvalidRequestContentException"
    assert json.loads(body)["Type"] == "User"
    name = srv_function()
    status, headers, _ = _raw(f"{base}/{name}/invocations", "POST", b"{}", {"X-Amz-Invocation-Type": "Sometimes"})
    assert (status, headers["x-amzn-ErrorType"]) == (400, "ValidationException")  # a model enum, as AWS answers
    status, headers, _ = _raw(f"{base}/{name}/invocations", "POST", b"{}", {"X-Amz-Log-Type": "Everything"})
    assert (status, headers["x-amzn-ErrorType"]) == (400, "ValidationException")
    status, headers, body = _raw(f"{base}/no-such-function-raw", "GET")
    assert status == 404
    assert headers["x-amzn-ErrorType"] == "ResourceNotFoundException"
    assert json.loads(body)["Message"].startswith("Function not found: arn:aws:lambda:")
    status, _, body = _raw(f"{base}/{name}/invocations", "POST", b'{"action": "echo"}')
    assert status == 200 and json.loads(body)["event"] == {"action": "echo"}


def test_invoke_by_arn_over_http(lambda_client: Any, srv_function: Any) -> None:
    name = srv_function()
    arn = lambda_client.get_function_configuration(FunctionName=name)["FunctionArn"]
    assert invoke_json(lambda_client, arn, {"action": "echo"})[0]["event"] == {"action": "echo"}
    assert invoke_json(lambda_client, name, {"action": "echo"}, Qualifier="$LATEST")[0]["event"] == {"action": "echo"}
