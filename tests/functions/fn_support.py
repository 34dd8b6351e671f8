"""Shared helpers of the functions tests: the test handler module, deployment packages built in
memory, invoking with JSON in and out."""
from __future__ import annotations

import io
import json
import zipfile
from typing import Any

__all__ = ["APP", "ROLE", "invoke_json", "make_zip"]

ROLE = "arn:aws:iam::000000000000:role/eddydb-test"

# One handler module for most tests; the event says what to do.
APP = '''
import json, logging, os, sys, time

log = logging.getLogger()
STARTED = time.time()
CALLS = []

def handler(event, context):
    CALLS.append(1)
    action = event.get("action") if isinstance(event, dict) else None
    if action == "echo":
        return {"event": event, "calls": len(CALLS)}
    if action == "print":
        print("printed", event.get("text", ""))
        sys.stderr.write("to stderr\\n")
        log.warning("warned %s", 1)
        log.info("info is below the default level")
        return "ok"
    if action == "raise":
        raise ValueError(event.get("message", "boom"))
    if action == "sleep":
        time.sleep(event["seconds"])
        return "slept"
    if action == "exit":
        sys.exit(event.get("code", 1))
    if action == "os_exit":
        os._exit(event.get("code", 7))
    if action == "segfault":
        import ctypes
        ctypes.string_at(0)
    if action == "spin":
        while True:
            pass
    if action == "context":
        return {
            "function_name": context.function_name,
            "function_version": context.function_version,
            "invoked_function_arn": context.invoked_function_arn,
            "memory_limit_in_mb": context.memory_limit_in_mb,
            "aws_request_id": context.aws_request_id,
            "log_group_name": context.log_group_name,
            "log_stream_name": context.log_stream_name,
            "identity": [context.identity.cognito_identity_id, context.identity.cognito_identity_pool_id],
            "client_context": (None if context.client_context is None else
                               {"custom": context.client_context.custom, "env": context.client_context.env}),
            "remaining": context.get_remaining_time_in_millis(),
        }
    if action == "env":
        return {k: os.environ.get(k) for k in event["names"]}
    if action == "pid":
        return os.getpid()
    if action == "unserialisable":
        return object()
    if action == "big_print":
        print("x" * event["n"])
        return "ok"
    return event
'''

def make_zip(files: dict[str, str | bytes]) -> bytes:
    """A deployment package holding `files` (name -> content)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content in files.items():
            zf.writestr(name, content)
    return buf.getvalue()


def invoke_json(client: Any, name: str, event: Any = None, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
    """Invoke and parse: (decoded payload, response)."""
    if event is not None:
        kwargs["Payload"] = json.dumps(event).encode()
    resp = client.invoke(FunctionName=name, **kwargs)
    raw = resp["Payload"].read()
    return (json.loads(raw) if raw else None), resp
