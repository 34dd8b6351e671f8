"""A function's execution environment: the child process that imports the user's
handler once and runs invocations sent by triggers/runtime.py over two pipes.

Started by `FunctionRuntime` (never imported by the server itself): loaded by file
path so that neither eddydb's packages nor the server's modules shadow user code;
it needs only the standard library, orjson and context.py and marshal.py beside it.

Wire format, both directions: `!II` (meta length, body length), orjson meta, raw body.
  worker -> runtime, once:  {"t": "ready", "init_ms": float, "error": dict | None, "log": str}
  runtime -> worker:        {"id": request id, "dl": deadline epoch ms, "arn": str, "tail": bool, "cc": dict|None}
                            body = the event JSON as the client sent it
  worker -> runtime:        {"t": "result", "ok": bool, "dur": ms, "log": str (when tail)}
                            body = the result JSON, or the error JSON when not ok
stdout/stderr (fd 1 and 2) are the function's log file, opened for append by the runtime.
"""
from __future__ import annotations

import contextlib
import importlib
import importlib.util
import json
import logging
import os
import resource
import struct
import sys
import time
import traceback
from typing import Any

import orjson

__all__ = ["main"]

_HEADER = struct.Struct("!II")
_TAIL_KEEP = 8192


class _Capture:
    """Where print(), sys.stderr and logging go: appended straight to the log file
    (so `eddydb logs -f` sees it live) and kept for the invocation's log tail."""

    encoding = "utf-8"
    errors = "replace"
    closed = False
    line_buffering = True
    newlines = None

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.parts: list[str] = []
        self.size = 0
        self.buffer = _BinaryCapture(self)

    def write(self, s: str) -> int:
        if not s:
            return 0
        data = s.encode("utf-8", "replace")
        view = memoryview(data)
        while view:
            try:
                n = os.write(self.fd, view)
            except InterruptedError:
                continue
            except OSError:
                break
            view = view[n:]
        self.parts.append(s)
        self.size += len(s)
        if self.size > 4 * _TAIL_KEEP:
            keep = "".join(self.parts)[-_TAIL_KEEP:]
            self.parts = [keep]
            self.size = len(keep)
        return len(s)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def take(self) -> str:
        out = "".join(self.parts)
        self.parts = []
        self.size = 0
        return out

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        return self.fd

    def readable(self) -> bool:
        return False

    def writable(self) -> bool:
        return True


class _BinaryCapture:
    """`sys.stdout.buffer`: bytes written by code that bypasses the text layer."""

    closed = False

    def __init__(self, text: _Capture) -> None:
        self._text = text

    def write(self, b: bytes) -> int:
        self._text.write(bytes(b).decode("utf-8", "replace"))
        return len(b)

    def flush(self) -> None:
        pass

    def fileno(self) -> int:
        return self._text.fd

    def isatty(self) -> bool:
        return False


class _LambdaFormatter(logging.Formatter):
    """AWS's text log format: `[LEVEL]\\t<utc time>Z\\t<request id>\\t<message>`."""

    converter = time.gmtime  # type: ignore[assignment]

    def __init__(self, worker: _Worker) -> None:
        super().__init__("[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s",
                         "%Y-%m-%dT%H:%M:%S")
        self._worker = worker

    def format(self, record: logging.LogRecord) -> str:
        record.aws_request_id = self._worker.request_id
        return super().format(record) + "\n"


class _LambdaHandler(logging.Handler):
    def __init__(self, capture: _Capture) -> None:
        super().__init__()
        self._capture = capture

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._capture.write(self.format(record))
        except Exception:  # noqa: BLE001 - logging must never fail an invocation
            self.handleError(record)


def _loads(data: bytes) -> Any:
    if not data:
        return {}
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return json.loads(data)


def _stack(tb: Any) -> list[str]:
    # Frames without their columns, as AWS's runtime formats them: no carets (Python 3.11+).
    return traceback.format_list([traceback.FrameSummary(f.filename, f.lineno, f.name, line=f.line)
                                  for f in traceback.extract_tb(tb)])


def _sibling(name: str) -> Any:
    """triggers/<name>.py, loaded by file path (eddydb's package is not importable here)."""
    here = os.path.dirname(os.path.abspath(__file__))
    spec = importlib.util.spec_from_file_location(f"_eddydb_lambda_{name}", os.path.join(here, f"{name}.py"))
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


class _Fault(Exception):
    """An error of the runtime itself (import, handler lookup, marshalling), shaped like AWS's."""

    def __init__(self, error_type: str, message: str, stack: list[str] | None = None) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.stack = stack or []


def _load_handler(spec: str) -> Any:
    try:
        modname, fname = spec.rsplit(".", 1)
    except ValueError as e:
        raise _Fault("Runtime.MalformedHandlerName", f"Bad handler '{spec}': {e}") from None
    if modname.split(".")[0] in sys.builtin_module_names:
        raise _Fault("Runtime.BuiltInModuleConflict", f"Cannot use built-in module {modname} as a handler module")
    try:
        module = importlib.import_module(modname.replace("/", "."))
    except ImportError as e:
        raise _Fault("Runtime.ImportModuleError", f"Unable to import module '{modname}': {e}") from None
    except SyntaxError as e:
        trace = [f'  File "{e.filename}" Line {e.lineno}\n    {e.text}']
        raise _Fault("Runtime.UserCodeSyntaxError", f"Syntax error in module '{modname}': {e}", trace) from None
    try:
        return getattr(module, fname)
    except AttributeError:
        raise _Fault("Runtime.HandlerNotFound", f"Handler '{fname}' missing on module '{modname}'") from None


class _Worker:
    def __init__(self, rfd: int, wfd: int) -> None:
        self.rfd = rfd
        self.wfd = wfd
        self.request_id = ""
        env = os.environ
        self.function_name = env.get("AWS_LAMBDA_FUNCTION_NAME", "")
        self.version = env.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.memory = env.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        self.log_group = env.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream = env.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
        self.capture = _Capture(1)
        self.handler: Any = None
        self.init_error: dict | None = None
        self.init_ms = 0.0
        self.first = True
        self.context_cls = _sibling("context").LambdaContext
        marshal = _sibling("marshal")
        self.marshal_response = marshal.marshal_response
        self.marshal_error = marshal.MarshalError

    # -- pipe ---------------------------------------------------------------
    def _read_exact(self, n: int) -> bytes | None:
        chunks = []
        while n:
            try:
                chunk = os.read(self.rfd, n)
            except InterruptedError:
                continue
            if not chunk:
                return None
            chunks.append(chunk)
            n -= len(chunk)
        return b"".join(chunks)

    def read(self) -> tuple[dict, bytes] | None:
        head = self._read_exact(_HEADER.size)
        if head is None:
            return None
        mlen, blen = _HEADER.unpack(head)
        meta = self._read_exact(mlen) if mlen else b"{}"
        body = self._read_exact(blen) if blen else b""
        if meta is None or body is None:
            return None
        return orjson.loads(meta), body

    def send(self, meta: dict, body: bytes = b"") -> None:
        m = orjson.dumps(meta)
        data = memoryview(_HEADER.pack(len(m), len(body)) + m + body)
        while data:
            n = os.write(self.wfd, data)
            data = data[n:]

    # -- phases -------------------------------------------------------------
    def init(self) -> None:
        t0 = time.perf_counter()
        try:
            self.handler = _load_handler(os.environ.get("_HANDLER", ""))
        except _Fault as f:
            self.init_error = {"errorMessage": f.message, "errorType": f.error_type, "requestId": "",
                               "stackTrace": f.stack}
        except Exception as e:  # noqa: BLE001 - module code raising at import is the user's init error
            self.init_error = {"errorMessage": str(e), "errorType": type(e).__name__, "requestId": "",
                               "stackTrace": _stack(e.__traceback__)}
        self.init_ms = (time.perf_counter() - t0) * 1000.0
        if self.init_error is not None:
            err = self.init_error
            self.capture.write(f"[ERROR] {err['errorType']}: {err['errorMessage']}\n"
                               "Traceback (most recent call last):\n" + "".join(err["stackTrace"]))
            self.capture.write(f"INIT_REPORT Init Duration: {self.init_ms:.2f} ms\tPhase: init\tStatus: error\t"
                               f"Error Type: {err['errorType']}\n")
        self.send({"t": "ready", "init_ms": self.init_ms, "error": self.init_error})

    def invoke(self, meta: dict, body: bytes) -> None:
        rid = meta["id"]
        self.request_id = rid
        cap = self.capture
        cap.write(f"START RequestId: {rid} Version: {self.version}\n")
        t0 = time.perf_counter()
        ok = False
        if self.init_error is not None:
            out = orjson.dumps(self.init_error)
        else:
            try:
                event = _loads(body)
            except ValueError as e:
                out = orjson.dumps({"errorMessage": f"Unable to unmarshal input: {e}", "errorType": "Runtime.UnmarshalError",
                              "requestId": rid, "stackTrace": []})
            else:
                ctx = self.context_cls(
                    function_name=self.function_name, function_version=self.version,
                    invoked_function_arn=meta.get("arn", ""), memory_limit_in_mb=self.memory, aws_request_id=rid,
                    log_group_name=self.log_group, log_stream_name=self.log_stream, deadline_ms=meta["dl"],
                    client_context=meta.get("cc"))
                try:
                    result = self.handler(event, ctx)
                except Exception as e:  # noqa: BLE001 - the user's exception is the function error
                    out = self._error(rid, type(e).__name__, str(e), _stack(e.__traceback__)[1:] or
                                      _stack(e.__traceback__))
                else:
                    try:
                        out = self.marshal_response(result)
                        ok = True
                    except self.marshal_error as e:
                        out = self._error(rid, "Runtime.MarshalError", e.message, [])
        dur = (time.perf_counter() - t0) * 1000.0
        self._finish(rid, dur)
        reply: dict[str, Any] = {"t": "result", "ok": ok, "dur": dur}
        if meta.get("tail"):
            reply["log"] = cap.take()
        else:
            cap.take()
        self.request_id = ""
        self.send(reply, out)

    def _error(self, rid: str, etype: str, msg: str, stack: list[str]) -> bytes:
        self.capture.write(f"[ERROR] {etype}: {msg}\nTraceback (most recent call last):\n" + "".join(stack))
        if stack and not stack[-1].endswith("\n"):
            self.capture.write("\n")
        return orjson.dumps({"errorMessage": msg, "errorType": etype, "requestId": rid, "stackTrace": stack})

    def _finish(self, rid: str, dur: float) -> None:
        mem = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
        billed = max(int(dur + 0.999999), 1)
        init = f"Init Duration: {self.init_ms:.2f} ms\t" if self.first else ""
        self.first = False
        self.capture.write(f"END RequestId: {rid}\nREPORT RequestId: {rid}\tDuration: {dur:.2f} ms\t"
                           f"Billed Duration: {billed} ms\tMemory Size: {self.memory} MB\t"
                           f"Max Memory Used: {mem} MB\t{init}\n")

    def run(self) -> None:
        self.init()
        while True:
            msg = self.read()
            if msg is None:
                return
            self.invoke(*msg)


def _watch_parent() -> None:
    """Exit when the server is gone, even in the middle of a handler that never returns
    (an idle worker already exits on end of file of its request pipe)."""
    import threading

    parent = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(1.0)
            if os.getppid() != parent:
                os._exit(0)

    threading.Thread(target=watch, name="eddydb-parent-watch", daemon=True).start()


def main(argv: list[str] | None = None) -> None:
    """Entry point of the worker process: `main([request_fd, response_fd])`."""
    import faulthandler

    args = sys.argv[1:] if argv is None else argv
    rfd, wfd = int(args[0]), int(args[1])
    sys.argv[:] = [os.path.abspath(__file__)]
    os.set_inheritable(rfd, False)   # programs the handler starts must not hold the runtime's pipes
    os.set_inheritable(wfd, False)
    faulthandler.enable()       # a segfault in user code leaves its traceback in the log
    task_root = os.environ.get("LAMBDA_TASK_ROOT") or os.getcwd()
    sys.path[:] = [p for p in sys.path if p not in ("", ".", os.getcwd())]
    sys.path.insert(0, task_root)
    _watch_parent()
    worker = _Worker(rfd, wfd)
    sys.stdout = worker.capture  # type: ignore[assignment]
    sys.stderr = worker.capture  # type: ignore[assignment]
    with contextlib.suppress(Exception):
        sys.stdin.close()
    root = logging.getLogger()
    handler = _LambdaHandler(worker.capture)
    handler.setFormatter(_LambdaFormatter(worker))
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    worker.run()


if __name__ == "__main__":
    main()
