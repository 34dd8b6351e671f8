"""The function runtime: runs a Lambda function's handler for an invocation.

`FunctionRuntime.invoke(name, payload)` is what control/functions.py (the Invoke API)
and triggers/mappings.py (event source mappings) call. Stored functions run in warm,
reused worker processes (triggers/worker.py), one pool per function, isolated from the
server: a crash, `sys.exit`, `os._exit` or a timeout of user code is a function error
and its worker is replaced. Callables registered with `register_callable` (the embedded
`db.on_change`) run in the calling thread with the same context and error shapes.
"""
from __future__ import annotations

import base64
import datetime as _dt
import io
import os
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import uuid
import zipfile
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import orjson

from eddydb.model.errors import LambdaResourceNotFoundException, TooManyRequestsException
from eddydb.triggers.context import LambdaContext
from eddydb.triggers.marshal import MarshalError, marshal_response

__all__ = [
    "DEFAULT_MEMORY",
    "DEFAULT_TIMEOUT",
    "LOG_TAIL_BYTES",
    "RESPONSE_LIMIT",
    "FunctionRuntime",
    "InvokeResult",
    "TooManyRequestsException",
    "function_arn",
    "parse_function_ref",
]

LOG_TAIL_BYTES = 4096
DEFAULT_TIMEOUT = 3
DEFAULT_MEMORY = 128
IDLE_TIMEOUT = 600.0          # seconds a warm worker may sit unused before it is stopped
LOG_MAX_BYTES = 32 << 20      # a function log above this is copied to <name>.log.1 and truncated
HOUSEKEEPING_INTERVAL = 15.0
ASYNC_RETRY_DELAYS = (60.0, 120.0)   # AWS retries a failed asynchronous invocation twice, 1 then 2 minutes later
ASYNC_THROTTLE_DELAYS = (1.0, 300.0)  # a throttled one: "exponentially from 1 second ... to a maximum of 5 minutes"
RESPONSE_LIMIT = 6291556      # AWS's limit on a synchronous invocation's response
_INIT_TIMEOUT = 10.0          # Lambda's init phase limit, not counted in the function's Timeout
_HEADER = struct.Struct("!II")
_WORKER_PY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "worker.py")
_BOOT = ("import importlib.util as u,sys;s=u.spec_from_file_location('_eddydb_worker',sys.argv.pop(1));"
         "m=u.module_from_spec(s);s.loader.exec_module(m);m.main()")
_PASS_ENV = ("PATH", "HOME", "LANG", "LANGUAGE", "TMPDIR", "PYTHONPATH", "VIRTUAL_ENV", "SYSTEMROOT", "TZ",
             "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "COVERAGE_PROCESS_START")
_SIGNAL_NAMES: dict[int, str] = {
    signal.SIGKILL: "killed", signal.SIGSEGV: "segmentation fault", signal.SIGABRT: "aborted",
    signal.SIGTERM: "terminated", signal.SIGBUS: "bus error", signal.SIGFPE: "floating point exception",
    signal.SIGILL: "illegal instruction", signal.SIGINT: "interrupt", signal.SIGHUP: "hangup",
    signal.SIGPIPE: "broken pipe",
}



@dataclass
class InvokeResult:
    """The outcome of one invocation, as the Invoke API reports it."""

    payload: bytes                      # the handler's JSON result, or the error JSON
    function_error: str | None = None   # "Unhandled" when the function failed
    log_tail: str = ""                  # the invocation's log (last 4 KB) when asked for
    duration_ms: float = 0.0
    request_id: str = ""
    status: int = 200                   # 200 RequestResponse, 202 Event, 204 DryRun


def function_arn(region: str, account: str, name: str) -> str:
    return f"arn:aws:lambda:{region}:{account}:function:{name}"


def parse_function_ref(ref: str) -> tuple[str, str | None]:
    """A FunctionName parameter (name, `name:qualifier`, full or partial ARN) -> (name, qualifier)."""
    parts = ref.split(":")
    if len(parts) >= 7 and parts[0] == "arn":             # arn:aws:lambda:region:account:function:name[:q]
        return parts[6], (parts[7] if len(parts) > 7 else None)
    if len(parts) >= 3 and parts[1] == "function":         # account:function:name[:q]
        return parts[2], (parts[3] if len(parts) > 3 else None)
    if len(parts) == 2:                                    # name:qualifier
        return parts[0], parts[1]
    return ref, None


def _now_iso() -> str:
    return _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _tail(text: str) -> str:
    data = text.encode("utf-8", "replace")
    if len(data) <= LOG_TAIL_BYTES:
        return text
    return data[-LOG_TAIL_BYTES:].decode("utf-8", "ignore")


def _error_payload(etype: str, message: str, request_id: str = "", stack: list[str] | None = None) -> bytes:
    return orjson.dumps({"errorMessage": message, "errorType": etype, "requestId": request_id,
                         "stackTrace": stack or []})


def _too_large(size: int) -> bytes:
    return orjson.dumps({"errorMessage": f"Response payload size ({size} bytes) exceeded maximum allowed payload size "
                                         f"({RESPONSE_LIMIT} bytes).", "errorType": "Function.ResponseSizeTooLarge"})


def _dir_signature(path: str) -> tuple[int, int]:
    """A cheap fingerprint of a code directory: changes when a file is added, removed or edited."""
    count = 0
    acc = 0
    stack = [path]
    while stack:
        d = stack.pop()
        try:
            it = os.scandir(d)
        except OSError:
            continue
        with it:
            for e in it:
                if e.name.startswith(".") or e.name == "__pycache__":
                    continue
                try:
                    if e.is_dir(follow_symlinks=True):
                        stack.append(e.path)
                        continue
                    st = e.stat()
                except OSError:
                    continue
                count += 1
                acc ^= hash((e.path, st.st_mtime_ns, st.st_size))
    return count, acc


@dataclass
class _Spec:
    """What a worker of one function revision is started with."""

    name: str
    arn: str
    task_root: str
    env: dict[str, str]
    timeout: float
    memory: int
    key: tuple


class _Timeout(Exception):
    pass


class _CodeMissing(Exception):
    """A local code directory that no longer exists."""


class _Proc:
    """The runtime's side of one worker process."""

    def __init__(self, spec: _Spec, log_fd: int) -> None:
        r1, w1 = os.pipe()   # requests: runtime -> worker
        r2, w2 = os.pipe()   # replies: worker -> runtime
        try:
            self.proc = subprocess.Popen(
                # the last argument only names the process in `ps`
                [sys.executable, "-c", _BOOT, _WORKER_PY, str(r1), str(w2), f"eddydb-function:{spec.name}"],
                pass_fds=(r1, w2),
                stdin=subprocess.DEVNULL, stdout=log_fd, stderr=log_fd, env=spec.env, cwd=spec.task_root,
                start_new_session=True, close_fds=True)
        except BaseException:
            for fd in (r1, w1, r2, w2):
                os.close(fd)
            raise
        os.close(r1)
        os.close(w2)
        self.wfd = w1
        self.rfd = r2
        self.spec = spec
        self.buf = bytearray()
        self.poller = select.poll()
        self.poller.register(r2, select.POLLIN | select.POLLHUP | select.POLLERR)
        self.ready = False
        self.init_error: dict | None = None
        self.dead = False
        self.last_used = time.monotonic()

    def alive(self) -> bool:
        return not self.dead and self.proc.poll() is None

    # -- pipe ---------------------------------------------------------------
    def _fill(self, deadline: float) -> bool:
        """Reads what the worker wrote; False on EOF; _Timeout past the deadline."""
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise _Timeout()
            # wake up now and then: a child the handler forked may hold the reply pipe open after the
            # worker itself died, so end of file alone would not tell
            if self.poller.poll(min(left, 0.25) * 1000.0):
                try:
                    chunk = os.read(self.rfd, 1 << 16)
                except InterruptedError:
                    continue
                if not chunk:
                    return False
                self.buf += chunk
                return True
            if self.proc.poll() is not None:
                return False

    def recv(self, deadline: float) -> tuple[dict, bytes] | None:
        """One frame from the worker; None when it died."""
        buf = self.buf
        while len(buf) < 8:
            if not self._fill(deadline):
                return None
        mlen, blen = _HEADER.unpack_from(buf)
        total = 8 + mlen + blen
        while len(buf) < total:
            if not self._fill(deadline):
                return None
        meta = orjson.loads(bytes(buf[8:8 + mlen]))
        body = bytes(buf[8 + mlen:total])
        del buf[:total]
        return meta, body

    def send(self, meta: dict, body: bytes) -> bool:
        m = orjson.dumps(meta)
        data = memoryview(_HEADER.pack(len(m), len(body)) + m + body)
        try:
            while data:
                n = os.write(self.wfd, data)
                data = data[n:]
        except OSError:      # BrokenPipeError: the worker is gone
            return False
        return True

    def wait_ready(self) -> bool:
        """Waits for the worker's init phase; False if it died or overran the init limit."""
        if self.ready:
            return True
        try:
            msg = self.recv(time.monotonic() + _INIT_TIMEOUT)
        except _Timeout:
            self.kill()
            return False
        if msg is None:
            return False
        self.ready = True
        self.init_error = msg[0].get("error")
        return True

    def signal_kill(self) -> None:
        """SIGKILL only (the thread waiting on this worker sees end of file and cleans up)."""
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    def kill(self) -> None:
        """Kills the worker and everything it started; reaps it."""
        if not self.dead:
            self.dead = True
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            try:
                self.proc.kill()
            except OSError:
                pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        for fd in (self.wfd, self.rfd):
            try:
                os.close(fd)
            except OSError:
                pass
        self.wfd = self.rfd = -1

    def exit_reason(self) -> str:
        """Why the worker exited, worded as Lambda does."""
        try:
            rc = self.proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            self.kill()
            rc = self.proc.returncode
        if rc is None:
            return "Runtime exited without providing a reason"
        if rc < 0:
            return f"Runtime exited with error: signal: {_SIGNAL_NAMES.get(-rc, str(-rc))}"
        if rc == 0:
            return "Runtime exited without providing a reason"
        return f"Runtime exited with error: exit status {rc}"


class _Pool:
    """Warm workers of one function revision (up to `size`), started on demand."""

    def __init__(self, spec: _Spec, size: int, log_fd: int) -> None:
        self.spec = spec
        self.size = max(1, size)
        self.log_fd = log_fd
        self.idle: list[_Proc] = []
        self.busy: set[_Proc] = set()
        self.total = 0
        self.retired = False
        self.cond = threading.Condition()

    def acquire(self) -> _Proc | None:
        """An idle or new worker; None when this pool was retired while waiting."""
        dead: list[_Proc] = []
        try:
            with self.cond:
                while True:
                    if self.retired:
                        return None
                    while self.idle:
                        p = self.idle.pop()
                        if p.alive():
                            self.busy.add(p)
                            return p
                        self.total -= 1
                        dead.append(p)
                    if self.total < self.size:
                        self.total += 1
                        break
                    self.cond.wait()
        finally:
            for p in dead:
                p.kill()
        try:
            proc = _Proc(self.spec, self.log_fd)
        except BaseException:
            with self.cond:
                self.total -= 1
                self.cond.notify()
            raise
        with self.cond:
            self.busy.add(proc)
            if self.retired:        # closed while this worker was starting
                proc.signal_kill()
        return proc

    def release(self, proc: _Proc, reusable: bool) -> None:
        with self.cond:
            self.busy.discard(proc)
            keep = reusable and not self.retired and proc.alive()
            if keep:
                proc.last_used = time.monotonic()
                self.idle.append(proc)
            else:
                self.total -= 1
            self.cond.notify()
        if not keep:
            proc.kill()

    def warm(self) -> None:
        """Starts one worker ahead of the first invocation (if none is up)."""
        with self.cond:
            if self.retired or self.total > 0:
                return
            self.total += 1
        try:
            p = _Proc(self.spec, self.log_fd)
        except BaseException:
            with self.cond:
                self.total -= 1
            raise
        self.release(p, True)

    def reap_idle(self, older_than: float) -> None:
        """Stops workers idle since before `older_than` (monotonic), as Lambda recycles idle environments."""
        with self.cond:
            old = [p for p in self.idle if p.last_used < older_than]
            if not old:
                return
            self.idle = [p for p in self.idle if p.last_used >= older_than]
            self.total -= len(old)
            self.cond.notify_all()
        for p in old:
            p.kill()

    def retire(self, *, kill_busy: bool = False) -> None:
        """No more invocations here: idle workers stop now; busy ones after their invocation, or at
        once with `kill_busy` (shutdown: their invocations end as runtime exits)."""
        with self.cond:
            self.retired = True
            idle, self.idle = self.idle, []
            self.total -= len(idle)
            busy = list(self.busy)
            self.cond.notify_all()
        for p in idle:
            p.kill()
        if kill_busy:
            for p in busy:
                p.signal_kill()


@dataclass
class _Callable:
    fn: Callable[[Any, Any], Any]
    timeout: float
    memory: int


class FunctionRuntime:
    """Runs functions for one Instance: worker pools per function, in-process callables."""

    def __init__(self, inst: Any) -> None:
        self._inst = inst
        self._settings = inst.settings
        self._lock = threading.RLock()
        self._pools: dict[str, _Pool] = {}
        self._callables: dict[str, _Callable] = {}
        self._log_fds: dict[str, int] = {}
        self._dir_sigs: dict[str, tuple[float, float, tuple[int, int]]] = {}
        self._executor: ThreadPoolExecutor | None = None
        self._tmp: str | None = None
        self._root: str | None = None
        self._closed = False
        extra = getattr(self._settings, "extra", None) or {}
        self.idle_timeout = float(extra.get("function_idle_timeout", IDLE_TIMEOUT))
        self.log_max_bytes = int(extra.get("function_log_max_bytes", LOG_MAX_BYTES))
        self.housekeeping_interval = HOUSEKEEPING_INTERVAL
        self._stop = threading.Event()
        self._housekeeper: threading.Thread | None = None
        self._loopback: Callable[[], None] | None = None
        self._timers: set[threading.Timer] = set()
        self.async_retry_delays: tuple[float, ...] = tuple(
            float(d) for d in extra.get("function_async_retry_delays", ASYNC_RETRY_DELAYS))
        first, cap = (float(d) for d in extra.get("function_async_throttle_delays", ASYNC_THROTTLE_DELAYS))
        self.async_throttle_delays: tuple[float, float] = (first, cap)

    # -- places -------------------------------------------------------------
    @property
    def root(self) -> str:
        """The directory holding functions/ (unpacked code) and logs/: the data directory, or a
        temporary one for an in-memory database."""
        if self._root is None:
            with self._lock:
                if self._root is None:
                    data = self._settings.data
                    if data and not self._settings.in_memory:
                        root = os.path.abspath(data)
                    else:
                        self._tmp = tempfile.mkdtemp(prefix="eddydb-functions-")
                        root = self._tmp
                    os.makedirs(os.path.join(root, "logs"), exist_ok=True)
                    self._root = root
        return self._root

    def log_path(self, name: str) -> str:
        """The log file of function `name` (`eddydb logs` reads it)."""
        return os.path.join(self.root, "logs", f"{name}.log")

    def code_dir(self, name: str, sha_hex: str) -> str:
        return os.path.join(self.root, "functions", name, sha_hex)

    def _log_fd(self, name: str) -> int:
        fd = self._log_fds.get(name)
        if fd is None:
            with self._lock:
                fd = self._log_fds.get(name)
                if fd is None:
                    path = self.log_path(name)
                    os.makedirs(os.path.dirname(path), exist_ok=True)
                    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
                    self._log_fds[name] = fd
        return fd

    def _log(self, name: str, text: str) -> None:
        if self._closed:
            return
        try:
            os.write(self._log_fd(name), text.encode("utf-8", "replace"))
        except OSError:
            pass

    # -- configuration ---------------------------------------------------------
    def describe(self, name: str) -> dict[str, Any] | None:
        """The stored configuration of a function (with eddydb's private "_" keys), or None."""
        with self._inst.store.read() as r:
            return r.get_function(name)

    def exists(self, name: str) -> bool:
        """True for a stored function or a registered callable."""
        return name in self._callables or self.describe(name) is not None

    def arn(self, name: str) -> str:
        return function_arn(self._settings.region, self._settings.account, name)

    def endpoint_url(self, *, serve: bool = False) -> str:
        """This server's URL as functions should call it (AWS_ENDPOINT_URL of the workers).

        An embedded database (`eddydb.open`) has no server: with `serve`, a loopback HTTP
        listener for this instance is started on a free port the first time, so handlers'
        boto3 calls reach the same database rather than whatever listens on the default port."""
        extra = getattr(self._settings, "extra", None)
        public = (extra or {}).get("public_url")
        if public:
            return str(public).rstrip("/")
        if serve and extra is not None and self._loopback is None:
            url = self._start_loopback()
            if url is not None:
                return url
        host = self._settings.host
        if host in ("0.0.0.0", "", "::", "[::]"):
            host = "127.0.0.1"
        if ":" in host and not host.startswith("["):
            host = f"[{host}]"
        return f"http://{host}:{self._settings.port}"

    def _start_loopback(self) -> str | None:
        with self._lock:
            if self._loopback is not None or self._closed:
                return self._settings.extra.get("public_url")
            try:
                url, stop = _serve_loopback(self._inst)
            except Exception:  # noqa: BLE001 - without a listener functions still run; only callbacks fail
                traceback.print_exc()
                self._loopback = lambda: None
                return None
            self._loopback = stop
            self._settings.extra["public_url"] = url
            return url

    def _spec(self, name: str, config: dict[str, Any]) -> _Spec:
        priv = config.get("_code") or {}
        if priv.get("kind") == "dir":
            task_root = priv["path"]
            if not os.path.isdir(task_root):
                raise _CodeMissing(task_root)
            code_key: Any = self._local_signature(name, task_root)
        else:
            sha_hex = priv.get("sha", "")
            task_root = self._ensure_unpacked(name, sha_hex)
            code_key = sha_hex
        memory = int(config.get("MemorySize") or DEFAULT_MEMORY)
        timeout = float(config.get("Timeout") or DEFAULT_TIMEOUT)
        reserved = config.get("_concurrency")
        key = (config.get("RevisionId"), code_key, reserved)
        pool = self._pools.get(name)
        if pool is not None and pool.spec.key == key:
            return pool.spec
        region = self._settings.region
        today = time.strftime("%Y/%m/%d", time.gmtime())
        env = {k: os.environ[k] for k in _PASS_ENV if k in os.environ}
        for k, v in os.environ.items():
            if k.startswith("LC_"):
                env[k] = v
        env.update({
            "AWS_ENDPOINT_URL": self.endpoint_url(serve=True),
            "AWS_REGION": region,
            "AWS_DEFAULT_REGION": region,
            "AWS_ACCESS_KEY_ID": "eddydb",
            "AWS_SECRET_ACCESS_KEY": "eddydb",
            "AWS_LAMBDA_FUNCTION_NAME": name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory),
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": f"{today}/[$LATEST]{uuid.uuid4().hex}",
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{config.get('Runtime') or 'python3.11'}",
            "LAMBDA_TASK_ROOT": task_root,
            "LAMBDA_RUNTIME_DIR": os.path.dirname(_WORKER_PY),
            "_HANDLER": config.get("Handler") or "",
            "PYTHONUNBUFFERED": "1",
        })
        if priv.get("kind") == "dir":
            # pyc files record source mtimes in whole seconds: an edit within the same second
            # would run stale bytecode. Local code is small; compile it fresh.
            env["PYTHONDONTWRITEBYTECODE"] = "1"
        variables = (config.get("Environment") or {}).get("Variables") or {}
        env.update({str(k): str(v) for k, v in variables.items()})
        return _Spec(name=name, arn=self.arn(name), task_root=task_root, env=env, timeout=timeout,
                     memory=memory, key=key)

    def _local_signature(self, name: str, path: str) -> tuple[int, int]:
        """The code directory's fingerprint, rescanned at each invocation (or at most every second
        when the directory is large enough that scanning costs more than 5 ms)."""
        now = time.monotonic()
        cached = self._dir_sigs.get(name)
        if cached is not None and now < cached[0]:
            return cached[2]
        t0 = time.perf_counter()
        sig = _dir_signature(path)
        cost = time.perf_counter() - t0
        self._dir_sigs[name] = (now + (1.0 if cost > 0.005 else 0.0), cost, sig)
        return sig

    def _ensure_unpacked(self, name: str, sha_hex: str) -> str:
        target = self.code_dir(name, sha_hex)
        if os.path.isdir(target):
            return target
        with self._inst.store.read() as r:
            code = r.get_function_code(name)
        if code is None:
            raise LambdaResourceNotFoundException(f"Function not found: {self.arn(name)}")
        unpack_zip(code, target)
        return target

    def _pool(self, name: str, config: dict[str, Any]) -> _Pool:
        spec = self._spec(name, config)
        with self._lock:
            if self._closed:
                raise RuntimeError("the function runtime is closed")
            pool = self._pools.get(name)
            if pool is not None and pool.spec.key == spec.key:
                return pool
            old = pool
            reserved = spec.key[2]
            size = reserved if reserved else self._settings.function_workers
            pool = _Pool(spec, size, self._log_fd(name))
            self._pools[name] = pool
            if self._housekeeper is None:
                self._housekeeper = threading.Thread(target=self._housekeeping, name="eddydb-functions-housekeeping",
                                                     daemon=True)
                self._housekeeper.start()
        if old is not None:
            old.retire()
        return pool

    def forget(self, name: str) -> None:
        """Drops the warm workers of `name` (its code or configuration changed, or it was deleted)."""
        with self._lock:
            pool = self._pools.pop(name, None)
            self._dir_sigs.pop(name, None)
        if pool is not None:
            pool.retire()

    def warm(self, name: str) -> None:
        """Starts a worker for `name` now so the first invocation finds it warm (no-op for callables)."""
        if name in self._callables:
            return
        config = self.describe(name)
        if config is not None:
            self._pool(name, config).warm()

    # -- in-process callables ------------------------------------------------
    def register_callable(self, name: str, fn: Callable[[Any, Any], Any], *, timeout: float = 900.0,
                          memory: int = DEFAULT_MEMORY) -> None:
        """Makes `invoke(name, ...)` call `fn(event, context)` in-process (embedded `db.on_change`)."""
        self._callables[name] = _Callable(fn, float(timeout), int(memory))

    def unregister_callable(self, name: str) -> None:
        self._callables.pop(name, None)

    # -- invocation ------------------------------------------------------------
    def invoke(self, name: str, payload: bytes | Any = b"", *, invocation_type: str = "RequestResponse",
               log_tail: bool = False, client_context: dict | None = None,
               request_id: str | None = None) -> InvokeResult:
        """Runs function `name` (a name or ARN) on `payload` (event JSON bytes; a JSON-able object
        is accepted too). RequestResponse blocks until the handler returned; Event queues the
        invocation and returns at once (status 202); DryRun only checks the function exists (204).
        `request_id` is the invocation's `context.aws_request_id` (the Invoke API answers it as
        x-amzn-RequestId, as AWS does); a new one by default. LambdaResourceNotFoundException when
        there is no such function."""
        name = parse_function_ref(name)[0]
        fn = self._callables.get(name)
        config = None
        if fn is None:
            config = self.describe(name)
            if config is None:
                raise LambdaResourceNotFoundException(f"Function not found: {self.arn(name)}")
        if invocation_type == "DryRun":
            return InvokeResult(b"", status=204)
        if config is not None and config.get("_concurrency") == 0 and invocation_type != "Event":
            raise TooManyRequestsException("Rate Exceeded.", Reason="ReservedFunctionConcurrentInvocationLimitExceeded")
        rid = request_id or str(uuid.uuid4())
        if invocation_type == "Event":
            self._pool_executor().submit(self._invoke_async, name, payload, client_context, 0, time.time(), rid)
            return InvokeResult(b"", status=202, request_id=rid)
        if fn is not None:
            return self._invoke_callable(name, fn, payload, log_tail, client_context, rid)
        assert config is not None
        return self._invoke_worker(name, config, payload, log_tail, client_context, rid)

    def submit(self, name: str, payload: bytes | Any = b"", **kwargs: Any) -> Future[InvokeResult]:
        """`invoke` on the runtime's thread pool (the server's Invoke handler awaits this future)."""
        return self._pool_executor().submit(self.invoke, name, payload, **kwargs)

    def _pool_executor(self) -> ThreadPoolExecutor:
        if self._executor is None:
            with self._lock:
                if self._closed:
                    raise RuntimeError("the function runtime is closed")
                if self._executor is None:
                    self._executor = ThreadPoolExecutor(max_workers=64, thread_name_prefix="eddydb-invoke")
        return self._executor

    def _invoke_async(self, name: str, payload: Any, client_context: dict | None, attempt: int,
                      queued_at: float, request_id: str, throttles: int = 0) -> None:
        """One attempt of an Event invocation; a function error is retried as AWS does (by default
        twice, one then two minutes later, under the same request id), within the function's
        EventInvokeConfig. A throttle (reserved concurrency 0) is not a function error: as on AWS the
        event goes back to the queue and is tried again, backing off from 1 second to 5 minutes, until
        it runs or is older than MaximumEventAgeInSeconds; it uses none of the retry attempts."""
        try:
            res = self.invoke(name, payload, client_context=client_context, request_id=request_id)
        except TooManyRequestsException:
            first, cap = self.async_throttle_delays
            self._schedule_async(name, payload, client_context, attempt, queued_at, request_id,
                                 min(first * 2 ** throttles, cap), throttles + 1, "throttled")
            return
        except Exception:  # noqa: BLE001 - an async invocation has no caller to tell
            self._log(name, f"{_now_iso()}\tasynchronous invocation failed\n{traceback.format_exc()}")
            return
        if not res.function_error or self._closed:
            return
        retries = int(self._event_invoke_config(name).get("MaximumRetryAttempts", 2))
        if attempt >= retries or attempt >= len(self.async_retry_delays):
            self._log(name, f"{_now_iso()}\t{res.request_id}\tasynchronous invocation failed after "
                            f"{attempt + 1} attempt(s); event dropped\n")
            return
        self._schedule_async(name, payload, client_context, attempt + 1, queued_at, request_id,
                             self.async_retry_delays[attempt], throttles, "failed")

    def _event_invoke_config(self, name: str) -> dict[str, Any]:
        return (self.describe(name) or {}).get("_event_invoke") or {}  # type: ignore[no-any-return]

    def _schedule_async(self, name: str, payload: Any, client_context: dict | None, attempt: int,
                        queued_at: float, request_id: str, delay: float, throttles: int, why: str) -> None:
        """Runs the Event invocation again `delay` seconds from now, unless the event would then be
        older than the function's MaximumEventAgeInSeconds (then it is dropped, and logged)."""
        if self._closed:
            return
        max_age = float(self._event_invoke_config(name).get("MaximumEventAgeInSeconds", 21600))
        if time.time() + delay - queued_at > max_age:
            self._log(name, f"{_now_iso()}\t{request_id}\tasynchronous invocation {why}; event older than "
                            f"MaximumEventAgeInSeconds ({max_age:.0f}); event dropped\n")
            return
        timer = threading.Timer(delay, self._retry_async,
                                args=(name, payload, client_context, attempt, queued_at, request_id, throttles))
        timer.daemon = True
        with self._lock:
            if self._closed:
                return
            self._timers.add(timer)
        timer.start()

    def _retry_async(self, name: str, payload: Any, client_context: dict | None, attempt: int,
                     queued_at: float, request_id: str, throttles: int) -> None:
        with self._lock:
            self._timers = {t for t in self._timers if t.is_alive() and t is not threading.current_thread()}
            if self._closed:
                return
        try:
            self._pool_executor().submit(self._invoke_async, name, payload, client_context, attempt, queued_at,
                                         request_id, throttles)
        except RuntimeError:    # the executor is shut down
            pass

    def _invoke_worker(self, name: str, config: dict[str, Any], payload: Any, log_tail: bool,
                       client_context: dict | None, rid: str) -> InvokeResult:
        body = payload if isinstance(payload, (bytes, bytearray, memoryview)) else orjson.dumps(payload)
        while True:
            try:
                pool = self._pool(name, config)
            except _CodeMissing as e:
                module = (config.get("Handler") or "").rsplit(".", 1)[0]
                text = f"Unable to import module '{module}': the code directory {e} does not exist"
                self._log(name, f"[ERROR] Runtime.ImportModuleError: {text}\n")
                return InvokeResult(_error_payload("Runtime.ImportModuleError", text, rid), "Unhandled", "", 0.0, rid)
            proc = pool.acquire()
            if proc is not None:
                break
            # the pool was retired while we waited: the code or configuration changed, run the new one
            fresh = self.describe(name)
            if fresh is None:
                raise LambdaResourceNotFoundException(f"Function not found: {self.arn(name)}")
            config = fresh
        spec = pool.spec
        log_fd = pool.log_fd
        start_offset = os.fstat(log_fd).st_size if log_tail else 0
        reusable = False
        t0 = time.monotonic()
        try:
            if not proc.wait_ready():
                return self._died(spec, proc, rid, t0, log_tail, start_offset)
            meta = {"id": rid, "dl": (time.time() + spec.timeout) * 1000.0, "arn": spec.arn, "tail": log_tail}
            if client_context is not None:
                meta["cc"] = client_context
            if not proc.send(meta, bytes(body)):
                return self._died(spec, proc, rid, t0, log_tail, start_offset)
            t0 = time.monotonic()
            try:
                msg = proc.recv(t0 + spec.timeout)
            except _Timeout:
                return self._timed_out(spec, proc, rid, t0, log_tail, start_offset)
            if msg is None:
                return self._died(spec, proc, rid, t0, log_tail, start_offset)
            reply, out = msg
            ok = reply.get("ok", False)
            if ok and len(out) > RESPONSE_LIMIT:
                ok = False
                out = _too_large(len(out))
            # Lambda runs init again for the next invocation after an init failure: drop such a worker.
            reusable = proc.init_error is None
            return InvokeResult(out, None if ok else "Unhandled", _tail(reply.get("log", "")) if log_tail else "",
                                reply.get("dur", 0.0), rid)
        finally:
            pool.release(proc, reusable)

    def _failure_tail(self, name: str, start_offset: int) -> str:
        try:
            with open(self.log_path(name), "rb") as f:
                f.seek(0, os.SEEK_END)
                end = f.tell()
                f.seek(max(start_offset, end - LOG_TAIL_BYTES))
                return f.read().decode("utf-8", "ignore")
        except OSError:
            return ""

    def _timed_out(self, spec: _Spec, proc: _Proc, rid: str, t0: float, log_tail: bool,
                   start_offset: int) -> InvokeResult:
        proc.kill()
        dur = (time.monotonic() - t0) * 1000.0
        msg = f"Task timed out after {spec.timeout:.2f} seconds"
        self._log(spec.name, f"{_now_iso()} {rid} {msg}\n\nEND RequestId: {rid}\n"
                             f"REPORT RequestId: {rid}\tDuration: {dur:.2f} ms\tBilled Duration: {int(dur) + 1} ms\t"
                             f"Memory Size: {spec.memory} MB\tMax Memory Used: 0 MB\tStatus: timeout\n")
        return InvokeResult(orjson.dumps({"errorType": "Sandbox.Timedout",
                                          "errorMessage": f"RequestId: {rid} Error: {msg}"}),
                            "Unhandled", self._failure_tail(spec.name, start_offset) if log_tail else "", dur, rid)

    def _died(self, spec: _Spec, proc: _Proc, rid: str, t0: float, log_tail: bool,
              start_offset: int) -> InvokeResult:
        reason = proc.exit_reason()
        proc.kill()
        dur = (time.monotonic() - t0) * 1000.0
        self._log(spec.name, f"RequestId: {rid} Error: {reason}\nRuntime.ExitError\nEND RequestId: {rid}\n"
                             f"REPORT RequestId: {rid}\tDuration: {dur:.2f} ms\tBilled Duration: {int(dur) + 1} ms\t"
                             f"Memory Size: {spec.memory} MB\tMax Memory Used: 0 MB\tStatus: error\t"
                             f"Error Type: Runtime.ExitError\n")
        return InvokeResult(orjson.dumps({"errorType": "Runtime.ExitError",
                                          "errorMessage": f"RequestId: {rid} Error: {reason}"}),
                            "Unhandled", self._failure_tail(spec.name, start_offset) if log_tail else "", dur, rid)

    def _invoke_callable(self, name: str, c: _Callable, payload: Any, log_tail: bool,
                         client_context: dict | None, rid: str) -> InvokeResult:
        if isinstance(payload, (bytes, bytearray, memoryview)):
            event = orjson.loads(payload) if len(payload) else {}
        else:
            event = payload
        ctx = LambdaContext(
            function_name=name, function_version="$LATEST", invoked_function_arn=self.arn(name),
            memory_limit_in_mb=c.memory, aws_request_id=rid, log_group_name=f"/aws/lambda/{name}",
            log_stream_name=f"{time.strftime('%Y/%m/%d', time.gmtime())}/[$LATEST]eddydb-in-process",
            deadline_ms=(time.time() + c.timeout) * 1000.0, client_context=client_context)
        t0 = time.perf_counter()
        error: str | None = None
        lines = [f"START RequestId: {rid} Version: $LATEST\n"]
        try:
            result = c.fn(event, ctx)
            try:
                out = marshal_response(result)
            except MarshalError as e:
                error = "Unhandled"
                out = _error_payload("Runtime.MarshalError", e.message, rid)
            else:
                if len(out) > RESPONSE_LIMIT:
                    error = "Unhandled"
                    out = _too_large(len(out))
        except Exception as e:  # noqa: BLE001 - the user's exception is the function error
            error = "Unhandled"
            # frames without their columns, as AWS's runtime formats them: no carets (Python 3.11+)
            stack = traceback.format_list([traceback.FrameSummary(f.filename, f.lineno, f.name, line=f.line)
                                           for f in traceback.extract_tb(e.__traceback__)])[1:]
            out = _error_payload(type(e).__name__, str(e), rid, stack)
            lines.append(f"[ERROR] {type(e).__name__}: {e}\nTraceback (most recent call last):\n{''.join(stack)}")
        except KeyboardInterrupt:
            raise
        except BaseException as e:  # noqa: BLE001 - the runtime ends: a function error, as in a worker
            # sys.exit() (or another BaseException such as asyncio.CancelledError) ends AWS's runtime:
            # a Runtime.ExitError function error, as in a worker process. Escaping, it killed the
            # calling shard processor, which restarted and invoked the batch again without end.
            error = "Unhandled"
            code = (e.code if isinstance(e.code, int) or e.code is None else 1) if isinstance(e, SystemExit) else 1
            reason = (f"Runtime exited with error: exit status {code}" if code
                      else "Runtime exited without providing a reason")
            out = orjson.dumps({"errorType": "Runtime.ExitError", "errorMessage": f"RequestId: {rid} Error: {reason}"})
            lines.append(f"RequestId: {rid} Error: {reason}\nRuntime.ExitError\n")
        dur = (time.perf_counter() - t0) * 1000.0
        lines.append(f"END RequestId: {rid}\nREPORT RequestId: {rid}\tDuration: {dur:.2f} ms\t"
                     f"Billed Duration: {int(dur) + 1} ms\tMemory Size: {c.memory} MB\t\n")
        text = "".join(lines)
        self._log(name, text)
        return InvokeResult(out, error, _tail(text) if log_tail else "", dur, rid)

    # -- housekeeping ------------------------------------------------------------
    def _housekeeping(self) -> None:
        while not self._stop.wait(self.housekeeping_interval):
            try:
                self.housekeep()
            except Exception:  # noqa: BLE001 - housekeeping must never stop; the next round retries
                traceback.print_exc()

    def housekeep(self) -> None:
        """One round: stop workers idle longer than `idle_timeout`, rotate logs over `log_max_bytes`."""
        cutoff = time.monotonic() - self.idle_timeout
        with self._lock:
            pools = list(self._pools.values())
            names = list(self._log_fds)
        for pool in pools:
            pool.reap_idle(cutoff)
        for name in names:
            self._rotate(name)

    def _rotate(self, name: str) -> None:
        path = self.log_path(name)
        try:
            if os.path.getsize(path) <= self.log_max_bytes:
                return
            # copy, then truncate in place: workers keep appending to the same (O_APPEND) file
            shutil.copyfile(path, path + ".1")
            os.truncate(path, 0)
        except OSError:
            pass

    # -- lifecycle -------------------------------------------------------------
    def close(self) -> None:
        """Stops every worker and the invocation threads; removes the temporary directory."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._stop.set()
            timers, self._timers = self._timers, set()
            for t in timers:
                t.cancel()
            pools = list(self._pools.values())
            self._pools.clear()
            executor, self._executor = self._executor, None
        for p in pools:
            p.retire(kill_busy=True)
        if self._loopback is not None:
            self._loopback()
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)
        with self._lock:
            fds, self._log_fds = self._log_fds, {}
        for fd in fds.values():
            try:
                os.close(fd)
            except OSError:
                pass
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)


def _serve_loopback(inst: Any) -> tuple[str, Callable[[], None]]:
    """Serves `inst` over HTTP on 127.0.0.1:<free port> from a daemon thread (embedded databases);
    returns (url, stop)."""
    import asyncio
    import socket

    from eddydb.server.http import HttpServer

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    sock.setblocking(False)
    port = sock.getsockname()[1]
    loop = asyncio.new_event_loop()
    server = HttpServer(inst, loop)
    started = threading.Event()
    failure: list[BaseException] = []

    def run() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(server.start(sock))
        except BaseException as e:  # noqa: BLE001 - reported to the starting thread
            failure.append(e)
            started.set()
            return
        started.set()
        loop.run_forever()
        loop.close()

    thread = threading.Thread(target=run, name="eddydb-functions-loopback", daemon=True)
    thread.start()
    started.wait(10)
    if failure:
        raise failure[0]

    def stop() -> None:
        async def _shutdown() -> None:
            await server.shutdown(timeout=2.0)
            loop.stop()

        if loop.is_running():
            asyncio.run_coroutine_threadsafe(_shutdown(), loop)
            thread.join(5)

    return f"http://127.0.0.1:{port}", stop


def unpack_zip(code: bytes, target: str) -> None:
    """Unpacks a deployment package into `target` atomically (a half-written directory is never used)."""
    parent = os.path.dirname(target)
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=".unpack-", dir=parent)
    try:
        with zipfile.ZipFile(io.BytesIO(code)) as zf:
            for info in zf.infolist():
                dest = os.path.realpath(os.path.join(tmp, info.filename))
                if not dest.startswith(os.path.realpath(tmp) + os.sep) and dest != os.path.realpath(tmp):
                    continue          # no writing outside the code directory ("zip slip")
                zf.extract(info, tmp)
                mode = (info.external_attr >> 16) & 0o777
                if mode and not info.is_dir():
                    os.chmod(dest, mode | 0o400)
        try:
            os.rename(tmp, target)
        except OSError:
            if not os.path.isdir(target):   # lost a race with another unpacker: theirs is as good
                raise
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def encode_log_result(text: str) -> str:
    """The X-Amz-Log-Result header: base64 of the last 4 KB of the invocation's log."""
    data = text.encode("utf-8", "replace")[-LOG_TAIL_BYTES:]
    return base64.b64encode(data).decode("ascii")


__all__ += ["encode_log_result", "unpack_zip"]
