"""FunctionRuntime directly: in-process callables (the embedded `db.on_change` path), the worker
pool's size limit and concurrency, shutdown killing workers, workers outliving no server, the
function-reference parser and the context object."""
from __future__ import annotations

import json
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fn_support import invoke_json, make_zip
from hypothesis import given
from hypothesis import strategies as st
from util import ServerProcess, make_client, wait_for


# --- in-process callables ----------------------------------------------------------------------
def test_callable_gets_event_and_context(runtime: Any, fname: str) -> None:
    seen: dict[str, Any] = {}

    def fn(event: Any, context: Any) -> Any:
        seen["event"] = event
        seen["ctx"] = (context.function_name, context.memory_limit_in_mb, context.invoked_function_arn,
                       context.get_remaining_time_in_millis())
        return {"ok": True}

    runtime.register_callable(fname, fn, timeout=60)
    try:
        res = runtime.invoke(fname, b'{"Records": [1, 2]}')
    finally:
        runtime.unregister_callable(fname)
    assert res.function_error is None
    assert json.loads(res.payload) == {"ok": True}
    assert seen["event"] == {"Records": [1, 2]}
    name, mem, arn, remaining = seen["ctx"]
    assert (name, mem) == (fname, "128")
    assert arn == f"arn:aws:lambda:us-east-1:000000000000:function:{fname}"
    assert 55_000 < remaining <= 60_000


def test_callable_accepts_an_event_object(runtime: Any, fname: str) -> None:
    runtime.register_callable(fname, lambda e, c: e["n"] + 1)
    try:
        assert runtime.invoke(fname, {"n": 41}).payload == b"42"
    finally:
        runtime.unregister_callable(fname)


def test_callable_exception_is_a_function_error(runtime: Any, fname: str) -> None:
    def fn(event: Any, context: Any) -> Any:
        raise RuntimeError("callable failed")

    runtime.register_callable(fname, fn)
    try:
        res = runtime.invoke(fname, b"{}", log_tail=True)
    finally:
        runtime.unregister_callable(fname)
    assert res.function_error == "Unhandled"
    err = json.loads(res.payload)
    assert err["errorType"] == "RuntimeError"
    assert err["errorMessage"] == "callable failed"
    assert err["stackTrace"] and "in fn" in err["stackTrace"][-1]
    assert "[ERROR] RuntimeError: callable failed" in res.log_tail
    with open(runtime.log_path(fname)) as f:
        assert "callable failed" in f.read()


def test_callable_is_visible_to_exists_but_not_to_the_api(runtime: Any, lam: Any, fname: str) -> None:
    runtime.register_callable(fname, lambda e, c: None)
    try:
        assert runtime.exists(fname)
        with pytest.raises(lam.exceptions.ResourceNotFoundException):
            lam.get_function(FunctionName=fname)
    finally:
        runtime.unregister_callable(fname)
    assert not runtime.exists(fname)


def test_invoke_of_unknown_name_raises_not_found(runtime: Any) -> None:
    from eddydb.model.errors import LambdaResourceNotFoundException

    with pytest.raises(LambdaResourceNotFoundException):
        runtime.invoke("nobody-home", b"{}")


def test_invoke_result_has_duration_and_request_id(runtime: Any, make_function: Any) -> None:
    name = make_function()
    res = runtime.invoke(name, b'{"action": "echo"}')
    assert res.duration_ms >= 0
    assert len(res.request_id) == 36


# --- the pool ------------------------------------------------------------------------------------
def test_pool_runs_up_to_function_workers_in_parallel(lam: Any, make_function: Any, fdb: Any) -> None:
    assert fdb.settings.function_workers == 2
    code = "import os, time\ndef handler(e, c):\n    time.sleep(0.3)\n    return os.getpid()\n"
    name = make_function({"app.py": code})
    with ThreadPoolExecutor(6) as ex:
        pids = list(ex.map(lambda _: invoke_json(lam, name, {})[0], range(6)))
    assert len(set(pids)) == 2


def test_concurrent_invocations_each_get_their_own_answer(runtime: Any, make_function: Any) -> None:
    name = make_function()
    errors: list[str] = []

    def worker(i: int) -> None:
        for j in range(20):
            res = runtime.invoke(name, json.dumps({"action": "echo", "i": i, "j": j}).encode())
            got = json.loads(res.payload)["event"]
            if got != {"action": "echo", "i": i, "j": j}:
                errors.append(f"{i}/{j}: {got}")

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_warm_starts_a_worker_before_the_first_invocation(runtime: Any, make_function: Any) -> None:
    name = make_function()
    runtime.warm(name)
    pool = runtime._pools[name]
    assert pool.total == 1 and len(pool.idle) == 1
    pid = json.loads(runtime.invoke(name, b'{"action": "pid"}').payload)
    assert pid == pool.idle[0].proc.pid


def test_close_kills_the_workers(tmp_path: Any) -> None:
    import eddydb

    db = eddydb.open(str(tmp_path / "data"), background=False)
    lam = db.client("lambda")
    lam.create_function(FunctionName="f", Runtime="python3.12", Role="arn:aws:iam::000000000000:role/r",
                        Handler="app.handler",
                        Code={"ZipFile": make_zip({"app.py": "import os\ndef handler(e, c):\n    return os.getpid()\n"})})
    pid = invoke_json(lam, "f", {})[0]
    db.close()
    wait_for(lambda: not _alive(pid), timeout=5)


def test_close_ends_running_invocations_at_once(tmp_path: Any) -> None:
    import eddydb

    db = eddydb.open(str(tmp_path / "data"), background=False)
    lam = db.client("lambda")
    lam.create_function(FunctionName="slow", Runtime="python3.12", Role="arn:aws:iam::000000000000:role/r",
                        Handler="app.handler", Timeout=600,
                        Code={"ZipFile": make_zip({"app.py": "import time\ndef handler(e, c):\n    time.sleep(600)\n"})})
    runtime = db.instance.functions
    runtime.warm("slow")
    fut = runtime.submit("slow", b"{}")
    wait_for(lambda: runtime._pools["slow"].busy, timeout=10)
    db.close()
    res = fut.result(timeout=10)
    assert res.function_error == "Unhandled"
    assert json.loads(res.payload)["errorType"] == "Runtime.ExitError"


def test_idle_workers_are_stopped_and_logs_rotated(tmp_path: Any) -> None:
    import eddydb

    db = eddydb.open(str(tmp_path / "data"), background=False)
    runtime = db.instance.functions
    runtime.idle_timeout = 0.3
    runtime.housekeeping_interval = 0.1
    runtime.log_max_bytes = 1000
    lam = db.client("lambda")
    lam.create_function(FunctionName="f", Runtime="python3.12", Role="arn:aws:iam::000000000000:role/r",
                        Handler="app.handler",
                        Code={"ZipFile": make_zip({"app.py": "import os\ndef handler(e, c):\n    print('y' * 2000)\n"
                                                             "    return os.getpid()\n"})})
    try:
        pid = invoke_json(lam, "f", {})[0]
        wait_for(lambda: not _alive(pid), timeout=10)
        log = runtime.log_path("f")
        wait_for(lambda: os.path.getsize(log) == 0 and os.path.getsize(log + ".1") > 2000, timeout=10)
        runtime.log_max_bytes = 1 << 30       # no second rotation while we read
        again = invoke_json(lam, "f", {})[0]
        assert again != pid
        with open(log) as f:
            assert "REPORT RequestId:" in f.read()
    finally:
        db.close()


def test_in_memory_database_keeps_code_and_logs_in_a_temporary_directory() -> None:
    import eddydb

    db = eddydb.open(None, background=False)
    lam = db.client("lambda")
    lam.create_function(FunctionName="f", Runtime="python3.12", Role="arn:aws:iam::000000000000:role/r",
                        Handler="app.handler", Code={"ZipFile": make_zip({"app.py": "def handler(e, c):\n    print('x')\n"})})
    invoke_json(lam, "f", {})
    root = db.instance.functions.root
    assert os.path.isfile(os.path.join(root, "logs", "f.log"))
    db.close()
    assert not os.path.exists(root)


@pytest.mark.slow
def test_workers_exit_when_the_server_is_killed(tmp_path: Any) -> None:
    pidfile = tmp_path / "busy.pid"
    spin = f"import os\ndef handler(e, c):\n    open({str(pidfile)!r}, 'w').write(str(os.getpid()))\n    while True:\n        pass\n"
    with ServerProcess(tmp_path / "data") as srv:
        lam = make_client("lambda", srv.url)
        role = "arn:aws:iam::000000000000:role/r"
        lam.create_function(FunctionName="idle", Runtime="python3.12", Role=role, Handler="app.handler",
                            Code={"ZipFile": make_zip({"app.py": "import os\ndef handler(e, c):\n    return os.getpid()\n"})})
        lam.create_function(FunctionName="busy", Runtime="python3.12", Role=role, Handler="app.handler", Timeout=900,
                            Code={"ZipFile": make_zip({"app.py": spin})})
        idle = invoke_json(lam, "idle", {})[0]
        lam.invoke(FunctionName="busy", InvocationType="Event", Payload=b"{}")
        busy = int(wait_for(lambda: pidfile.exists() and pidfile.read_text(), timeout=10))
        assert _alive(idle) and _alive(busy)
        srv.kill9()
        wait_for(lambda: not _alive(idle), timeout=10)
        wait_for(lambda: not _alive(busy), timeout=10)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except OSError:
        return False


# --- pure helpers --------------------------------------------------------------------------------
@pytest.mark.parametrize("ref,expected", [
    ("f", ("f", None)),
    ("f:$LATEST", ("f", "$LATEST")),
    ("arn:aws:lambda:us-east-1:000000000000:function:f", ("f", None)),
    ("arn:aws:lambda:us-east-1:000000000000:function:f:3", ("f", "3")),
    ("000000000000:function:f", ("f", None)),
    ("000000000000:function:f:alias", ("f", "alias")),
])
def test_parse_function_ref(ref: str, expected: tuple[str, str | None]) -> None:
    from eddydb.triggers.runtime import parse_function_ref

    assert parse_function_ref(ref) == expected


def test_context_remaining_time_never_negative() -> None:
    from eddydb.triggers.context import LambdaContext

    ctx = LambdaContext(function_name="f", function_version="$LATEST", invoked_function_arn="arn", memory_limit_in_mb=128,
                        aws_request_id="r", log_group_name="g", log_stream_name="s",
                        deadline_ms=time.time() * 1000 - 5000)
    assert ctx.get_remaining_time_in_millis() == 0
    assert ctx.memory_limit_in_mb == "128"
    assert ctx.client_context is None
    assert ctx.identity.cognito_identity_id is None


def test_log_result_encoding_keeps_the_last_4kb() -> None:
    import base64

    from eddydb.triggers.runtime import encode_log_result

    text = "a" * 5000 + "END"
    decoded = base64.b64decode(encode_log_result(text))
    assert len(decoded) == 4096 and decoded.endswith(b"END")


def test_unpack_zip_ignores_paths_outside_the_directory(tmp_path: Any) -> None:
    from eddydb.triggers.runtime import unpack_zip

    unpack_zip(make_zip({"ok.py": "x = 1\n", "../evil.py": "x = 2\n", "sub/inner.py": "y = 1\n"}),
               str(tmp_path / "code"))
    assert (tmp_path / "code" / "ok.py").exists()
    assert (tmp_path / "code" / "sub" / "inner.py").exists()
    assert not (tmp_path / "evil.py").exists()


_names = st.from_regex(r"[a-zA-Z0-9_-]{1,64}", fullmatch=True)
_qualifiers = st.one_of(st.none(), st.just("$LATEST"), st.from_regex(r"[a-zA-Z0-9_-]{1,20}", fullmatch=True))


@given(name=_names, qualifier=_qualifiers, form=st.sampled_from(["name", "arn", "partial"]))
def test_parse_function_ref_round_trips(name: str, qualifier: str | None, form: str) -> None:
    from eddydb.triggers.runtime import parse_function_ref

    ref = {"name": name, "arn": f"arn:aws:lambda:eu-west-1:123456789012:function:{name}",
           "partial": f"123456789012:function:{name}"}[form]
    if qualifier is not None:
        ref += f":{qualifier}"
    assert parse_function_ref(ref) == (name, qualifier)
