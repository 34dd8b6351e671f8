"""The Lambda REST API for functions, in AWS's shapes (botocore's `lambda` model):
CreateFunction, GetFunction, GetFunctionConfiguration, ListFunctions,
UpdateFunctionCode, UpdateFunctionConfiguration, DeleteFunction, Invoke,
InvokeAsync, tags, plus eddydb's own code-download and log routes.

Handlers are `(inst, params, query, headers, body) -> (status, headers, body) | Future`,
listed in `ROUTES` and mounted by control/routes.py; server/router.py calls them and
turns the `EddyError`s they raise into Lambda's REST-JSON errors. Writes go through
`inst.engine.writer.run` (the single write path); invocations through `inst.functions`.
"""
from __future__ import annotations

import base64
import binascii
import datetime as _dt
import hashlib
import io
import json
import os
import re
import shutil
import time
import uuid
import zipfile
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

import orjson

from eddydb.model.errors import (
    InvalidParameterValueException,
    InvalidRequestContentException,
    LambdaResourceNotFoundException,
    PreconditionFailedException,
    RequestTooLargeException,
    ResourceConflictException,
    ValidationException,
)
from eddydb.triggers.runtime import (
    DEFAULT_MEMORY,
    DEFAULT_TIMEOUT,
    InvokeResult,
    encode_log_result,
    function_arn,
    parse_function_ref,
)

__all__ = [
    "LOCAL_CODE_BUCKETS",
    "ROUTES",
    "InvalidRequestContentException",
    "PreconditionFailedException",
    "public_config",
    "resolve_name",
]

# Code={"S3Bucket": "file", "S3Key": "/abs/dir"} runs code from a local directory (eddydb's
# extension; "hot-reload" is accepted too, as other local emulators name it).
LOCAL_CODE_BUCKETS = ("file", "hot-reload")
SYNC_PAYLOAD_LIMIT = 6 * 1024 * 1024
ASYNC_PAYLOAD_LIMIT = 1024 * 1024
MAX_TIMEOUT = 900
MAX_MEMORY = 10240
ENV_LIMIT = 4096
_NAME_RX = re.compile(r"[a-zA-Z0-9_-]{1,64}")
_ENV_KEY_RX = re.compile(r"[a-zA-Z][a-zA-Z0-9_]*")
_ROLE_RX = re.compile(r"arn:(aws[a-zA-Z-]*)?:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+")
_SUPPORTED_RUNTIMES = ("python3.8", "python3.9", "python3.10", "python3.11", "python3.12", "python3.13",
                       "python3.14", "python3.15")
_DEPRECATED_RUNTIMES = ("python2.7", "python3.6", "python3.7")
_RESERVED_ENV = frozenset((
    "_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR",
))
_JSON = {"Content-Type": "application/json"}
_REQUEST_ID = "x-amzn-RequestId"   # the server answers a route's own request id when it names one



# --- helpers ------------------------------------------------------------------------------
def _now_stamp() -> str:
    return _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000"


def _json_body(body: bytes) -> dict[str, Any]:
    if not body:
        return {}
    try:
        out = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise InvalidRequestContentException("Could not parse request body into json: the body is not JSON") from None
    if not isinstance(out, dict):
        raise InvalidRequestContentException("Could not parse request body into json: expected a JSON object")
    return out


def _ok(status: int, obj: Any) -> tuple[int, dict[str, str], bytes]:
    return status, _JSON, orjson.dumps(obj)


def public_config(config: dict[str, Any]) -> dict[str, Any]:
    """The FunctionConfiguration as AWS returns it (eddydb's private "_" keys removed)."""
    return {k: v for k, v in config.items() if not k.startswith("_")}


def _arn(inst: Any, name: str) -> str:
    return function_arn(inst.settings.region, inst.settings.account, name)


def _not_found(inst: Any, name: str, qualifier: str | None = None) -> LambdaResourceNotFoundException:
    arn = _arn(inst, name) + (f":{qualifier}" if qualifier else "")
    return LambdaResourceNotFoundException(f"Function not found: {arn}")


def resolve_name(inst: Any, ref: str | None, query: dict | None = None) -> str:
    """A FunctionName parameter -> the function's name; only $LATEST exists as a qualifier."""
    if not ref:
        raise InvalidParameterValueException("FunctionName is required")
    name, qualifier = parse_function_ref(ref)
    if query:
        q = _q(query, "Qualifier")
        if q is not None:
            if qualifier is not None and qualifier != q:
                raise InvalidParameterValueException(
                    "The derived qualifier from the function name does not match the specified qualifier.")
            qualifier = q
    if not _NAME_RX.fullmatch(name):
        raise ValidationException(
            f"1 validation error detected: Value '{ref}' at 'functionName' failed to satisfy constraint: "
            "Member must satisfy regular expression pattern: (arn:(aws[a-zA-Z-]*)?:lambda:)?"
            r"([a-z]{2}(-gov)?-[a-z]+-\d{1}:)?(\d{12}:)?(function:)?([a-zA-Z0-9-_]+)(:(\$LATEST|[a-zA-Z0-9-_]+))?")
    if qualifier not in (None, "$LATEST"):
        raise _not_found(inst, name, qualifier)
    return name


def _q(query: dict, key: str) -> str | None:
    v = query.get(key)
    if isinstance(v, list):
        v = v[0] if v else None
    return v


def _get_config(inst: Any, name: str) -> dict[str, Any]:
    with inst.store.read() as r:
        config = r.get_function(name)
    if config is None:
        raise _not_found(inst, name)
    return config


def _validate_runtime(runtime: Any) -> str:
    if not isinstance(runtime, str) or not runtime:
        raise InvalidParameterValueException("Runtime and Handler are mandatory parameters for functions created "
                                             "with deployment packages.")
    if runtime in _DEPRECATED_RUNTIMES:
        raise InvalidParameterValueException(
            f"The runtime parameter of {runtime} is no longer supported for creating or updating AWS Lambda "
            "functions. We recommend you use the new runtime (python3.12) while creating or updating functions.")
    if runtime not in _SUPPORTED_RUNTIMES:
        raise InvalidParameterValueException(
            f"The runtime parameter of {runtime} is not supported by eddydb: functions run on python3.x "
            f"({', '.join(_SUPPORTED_RUNTIMES)}).")
    return runtime


def _validate_handler(handler: Any) -> str:
    if not isinstance(handler, str) or not handler:
        raise InvalidParameterValueException("Runtime and Handler are mandatory parameters for functions created "
                                             "with deployment packages.")
    if len(handler) > 128 or re.search(r"\s", handler):
        raise ValidationException(
            f"1 validation error detected: Value '{handler}' at 'handler' failed to satisfy constraint: "
            "Member must satisfy regular expression pattern: [^\\s]+")
    return handler


def _validate_int(value: Any, field: str, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidParameterValueException(f"{field[0].upper()}{field[1:]} must be an integer")
    if value < lo:
        raise ValidationException(f"1 validation error detected: Value '{value}' at '{field}' failed to satisfy "
                                  f"constraint: Member must have value greater than or equal to {lo}")
    if value > hi:
        raise ValidationException(f"1 validation error detected: Value '{value}' at '{field}' failed to satisfy "
                                  f"constraint: Member must have value less than or equal to {hi}")
    return value


def _validate_enum(value: str, field: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValidationException(f"1 validation error detected: Value '{value}' at '{field}' failed to satisfy "
                                  f"constraint: Member must satisfy enum value set: [{', '.join(allowed)}]")


def _validate_environment(env: Any) -> dict[str, Any]:
    if not isinstance(env, dict):
        raise InvalidParameterValueException("Environment must be an object with a Variables map")
    variables = env.get("Variables") or {}
    if not isinstance(variables, dict) or not all(isinstance(v, str) for v in variables.values()):
        raise InvalidParameterValueException("Environment.Variables must map names to string values")
    bad = [k for k in variables if not _ENV_KEY_RX.fullmatch(k)]
    if bad:
        raise ValidationException(
            "1 validation error detected: Value at 'environment.variables' failed to satisfy constraint: Map keys "
            "must satisfy constraint: [Member must satisfy regular expression pattern: [a-zA-Z]([a-zA-Z0-9_])+]")
    reserved = sorted(k for k in variables if k in _RESERVED_ENV)
    if reserved:
        raise InvalidParameterValueException(
            "Lambda was unable to configure your environment variables because the environment variables you have "
            "provided contains reserved keys that are currently not supported for modification. Reserved keys used "
            f"in this request: {', '.join(reserved)}")
    measured = orjson.dumps(variables).decode()
    if len(measured.encode()) > ENV_LIMIT:
        raise InvalidParameterValueException(
            "Lambda was unable to configure your environment variables because the environment variables you have "
            f"provided exceeded the 4KB limit. String measured: {measured}")
    return {"Variables": dict(variables)}


def _dir_digest(path: str) -> tuple[str, int]:
    """(base64 sha256, size) of a code directory's files, in path order."""
    h = hashlib.sha256()
    size = 0
    for dirpath, dirnames, filenames in os.walk(path):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d != "__pycache__")
        for fn in sorted(filenames):
            if fn.startswith("."):
                continue
            full = os.path.join(dirpath, fn)
            try:
                with open(full, "rb") as f:
                    data = f.read()
            except OSError:
                continue
            h.update(os.path.relpath(full, path).encode() + b"\0" + data)
            size += len(data)
    return base64.b64encode(h.digest()).decode(), size


def _read_code(code: dict[str, Any]) -> tuple[dict[str, Any], bytes | None, str, int]:
    """A FunctionCode (or UpdateFunctionCode request) -> (private code descriptor, zip bytes or None,
    CodeSha256, CodeSize). InvalidParameterValueException when it names nothing eddydb can run."""
    zip_b64 = code.get("ZipFile")
    bucket = code.get("S3Bucket")
    key = code.get("S3Key")
    if code.get("ImageUri"):
        raise InvalidParameterValueException(
            "eddydb runs Zip-packaged python functions: pass Code.ZipFile, or Code.S3Bucket \"file\" with "
            "Code.S3Key the absolute path of a local directory.")
    if zip_b64 is not None:
        if bucket or key:
            raise InvalidParameterValueException("Please do not provide other FunctionCode parameters when "
                                                 "providing a ZipFile.")
        try:
            data = base64.b64decode(zip_b64, validate=True) if isinstance(zip_b64, str) else bytes(zip_b64)
        except (binascii.Error, TypeError, ValueError):
            raise InvalidParameterValueException("Could not unzip uploaded file. Please check your file, then try "
                                                 "to upload again.") from None
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                bad = zf.testzip()
        except (zipfile.BadZipFile, ValueError, OSError):
            bad = "<unreadable>"
        if bad is not None:
            raise InvalidParameterValueException("Could not unzip uploaded file. Please check your file, then try "
                                                 "to upload again.")
        digest = hashlib.sha256(data).digest()
        return ({"kind": "zip", "sha": digest.hex()}, data, base64.b64encode(digest).decode(), len(data))
    if bucket or key:
        if bucket not in LOCAL_CODE_BUCKETS:
            raise InvalidParameterValueException(
                "Error occurred while GetObject. S3 Error Code: NoSuchBucket. S3 Error Message: The specified bucket "
                "does not exist (eddydb has no S3: use Code.S3Bucket \"file\" with Code.S3Key a local directory)")
        if not isinstance(key, str) or not os.path.isabs(key):
            raise InvalidParameterValueException(
                f"Code.S3Key must be the absolute path of a local directory when Code.S3Bucket is \"{bucket}\"")
        path = os.path.realpath(key)
        if not os.path.isdir(path):
            raise InvalidParameterValueException(f"Code.S3Key is not a directory: {key}")
        sha, size = _dir_digest(path)
        return {"kind": "dir", "path": path}, None, sha, size
    raise InvalidParameterValueException("Please provide a source for function code: Code.ZipFile, or "
                                         "Code.S3Bucket \"file\" with Code.S3Key a local directory.")


def _validate_architectures(archs: Any) -> list[str]:
    # ArchitecturesList in the model: exactly one member of the Architecture enum
    if not isinstance(archs, list) or len(archs) != 1:
        bound = "greater than or equal to 1" if isinstance(archs, list) and not archs else "less than or equal to 1"
        raise ValidationException(f"1 validation error detected: Value '{archs}' at 'architectures' failed to "
                                  f"satisfy constraint: Member must have length {bound}")
    if archs[0] not in ("x86_64", "arm64"):
        raise ValidationException(f"1 validation error detected: Value '[{archs[0]}]' at 'architectures' failed to "
                                  "satisfy constraint: Member must satisfy constraint: [Member must satisfy enum "
                                  "value set: [x86_64, arm64]]")
    return list(archs)


def _validate_model_shapes(req: dict[str, Any]) -> None:
    """The model's constraints on the echoed structures (EphemeralStorage, TracingConfig)."""
    storage = req.get("EphemeralStorage")
    if storage is not None:
        size = storage.get("Size") if isinstance(storage, dict) else None
        _validate_int(size, "ephemeralStorage.size", 512, 32768)
    tracing = req.get("TracingConfig")
    if tracing is not None:
        mode = tracing.get("Mode") if isinstance(tracing, dict) else None
        if mode is not None and mode not in ("Active", "PassThrough"):
            raise ValidationException(f"1 validation error detected: Value '{mode}' at 'tracingConfig.mode' failed "
                                      "to satisfy constraint: Member must satisfy enum value set: "
                                      "[Active, PassThrough]")


_OPTIONAL_ECHO = ("DeadLetterConfig", "KMSKeyArn", "TracingConfig", "EphemeralStorage", "LoggingConfig",
                  "Architectures", "VpcConfig")


def _apply_config(config: dict[str, Any], req: dict[str, Any], *, creating: bool) -> None:
    """Validates and applies the configuration fields of a Create/UpdateFunctionConfiguration request."""
    if "Runtime" in req or creating:
        config["Runtime"] = _validate_runtime(req.get("Runtime"))
    if "Handler" in req or creating:
        config["Handler"] = _validate_handler(req.get("Handler"))
    if "Role" in req or creating:
        role = req.get("Role")
        if not isinstance(role, str) or not _ROLE_RX.fullmatch(role):
            raise ValidationException(
                f"1 validation error detected: Value '{role}' at 'role' failed to satisfy constraint: Member must "
                r"satisfy regular expression pattern: arn:(aws[a-zA-Z-]*)?:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+")
        config["Role"] = role
    if "Description" in req or creating:
        desc = req.get("Description") or ""
        if not isinstance(desc, str) or len(desc) > 256:
            raise ValidationException("1 validation error detected: Value at 'description' failed to satisfy "
                                      "constraint: Member must have length less than or equal to 256")
        config["Description"] = desc
    if req.get("Timeout") is not None:
        config["Timeout"] = _validate_int(req["Timeout"], "timeout", 1, MAX_TIMEOUT)
    elif creating:
        config["Timeout"] = DEFAULT_TIMEOUT
    if req.get("MemorySize") is not None:
        config["MemorySize"] = _validate_int(req["MemorySize"], "memorySize", 128, MAX_MEMORY)
    elif creating:
        config["MemorySize"] = DEFAULT_MEMORY
    if "Environment" in req and req["Environment"] is not None:
        env = _validate_environment(req["Environment"])
        if env["Variables"]:
            config["Environment"] = env
        else:
            config.pop("Environment", None)
    if req.get("Layers"):
        raise InvalidParameterValueException("eddydb does not support Lambda layers: vendor the code into the "
                                             "function's package or directory")
    if req.get("Architectures") is not None:
        _validate_architectures(req["Architectures"])
    _validate_model_shapes(req)
    for key in _OPTIONAL_ECHO:
        if req.get(key) is not None:
            config[key] = req[key]
    if creating:
        config.setdefault("TracingConfig", {"Mode": "PassThrough"})
        config.setdefault("Architectures", ["x86_64"])
        config.setdefault("EphemeralStorage", {"Size": 512})
    config["LoggingConfig"] = {"LogFormat": "Text", **(config.get("LoggingConfig") or {}),
                               "LogGroup": f"/aws/lambda/{config['FunctionName']}"}


def _touch(config: dict[str, Any]) -> None:
    config["LastModified"] = _now_stamp()
    config["RevisionId"] = str(uuid.uuid4())
    config["State"] = "Active"
    config["LastUpdateStatus"] = "Successful"


def _check_revision(config: dict[str, Any], req: dict[str, Any]) -> None:
    rev = req.get("RevisionId")
    if rev is not None and rev != config.get("RevisionId"):
        raise PreconditionFailedException("The Revision Id provided does not match the latest Revision Id. Call the "
                                          "GetFunction/GetAlias API to retrieve the latest Revision Id")


def _code_location(inst: Any, config: dict[str, Any]) -> dict[str, Any]:
    priv = config.get("_code") or {}
    if priv.get("kind") == "dir":
        return {"RepositoryType": "S3", "Location": "file://" + priv["path"]}
    return {"RepositoryType": "S3",
            "Location": f"{inst.functions.endpoint_url()}/eddydb/functions/{config['FunctionName']}/code"}


# --- operations ----------------------------------------------------------------------------
def create_function(inst: Any, params: dict, query: dict, headers: Any, body: bytes):
    req = _json_body(body)
    ref = req.get("FunctionName")
    if not isinstance(ref, str) or not ref:
        raise InvalidParameterValueException("FunctionName is required")
    name = resolve_name(inst, ref)
    if (req.get("PackageType") or "Zip") != "Zip":
        raise InvalidParameterValueException("eddydb runs Zip-packaged python functions (PackageType Zip)")
    code = req.get("Code")
    if not isinstance(code, dict):
        raise InvalidParameterValueException("Code is required")
    config: dict[str, Any] = {"FunctionName": name, "FunctionArn": _arn(inst, name)}
    _apply_config(config, req, creating=True)
    priv, data, sha, size = _read_code(code)
    config.update({"CodeSize": size, "CodeSha256": sha, "Version": "$LATEST", "PackageType": "Zip",
                   "SnapStart": {"ApplyOn": "None", "OptimizationStatus": "Off"}})
    _touch(config)
    config["_code"] = priv
    tags = req.get("Tags") or {}
    if not isinstance(tags, dict):
        raise InvalidParameterValueException("Tags must be a map of strings")
    if tags:
        config["_tags"] = tags
    ordered = _ordered(config)
    inserted = inst.engine.writer.run(lambda txn: txn.insert_function(name, ordered, data, time.time()))
    if not inserted:
        raise ResourceConflictException(f"Function already exist: {name}")
    inst.functions.forget(name)
    return _ok(201, public_config(ordered))


_ORDER = ("FunctionName", "FunctionArn", "Runtime", "Role", "Handler", "CodeSize", "Description", "Timeout",
          "MemorySize", "LastModified", "CodeSha256", "Version", "Environment", "TracingConfig", "RevisionId",
          "State", "LastUpdateStatus", "PackageType", "Architectures", "EphemeralStorage", "SnapStart",
          "LoggingConfig")


def _ordered(config: dict[str, Any]) -> dict[str, Any]:
    out = {k: config[k] for k in _ORDER if k in config}
    out.update({k: v for k, v in config.items() if k not in out})
    return out


def get_function(inst: Any, params: dict, query: dict, headers: Any, body: bytes):
    name = resolve_name(inst, params.get("FunctionName"), query)
    config = _get_config(inst, name)
    out: dict[str, Any] = {"Configuration": public_config(config), "Code": _code_location(inst, config)}
    if config.get("_tags"):
        out["Tags"] = config["_tags"]
    if config.get("_concurrency") is not None:
        out["Concurrency"] = {"ReservedConcurrentExecutions": config["_concurrency"]}
    return _ok(200, out)


def get_function_configuration(inst: Any, params: dict, query: dict, headers: Any, body: bytes):
    name = resolve_name(inst, params.get("FunctionName"), query)
    return _ok(200, public_config(_get_config(inst, name)))


def list_functions(inst: Any, params: dict, query: dict, headers: Any, body: bytes):
    version = _q(query, "FunctionVersion")
    if version is not None and version != "ALL":
        raise ValidationException(f"1 validation error detected: Value '{version}' at 'functionVersion' failed to "
                                  "satisfy constraint: Member must satisfy enum value set: [ALL]")
    raw = _q(query, "MaxItems")
    limit = 50
    if raw is not None:
        try:
            limit = int(raw)
        except ValueError:
            raise InvalidParameterValueException(f"Invalid MaxItems: {raw}") from None
        if not 1 <= limit <= 10000:
            raise InvalidParameterValueException(f"MaxItems must be between 1 and 10000, got {raw}")
    marker = _q(query, "Marker") or None
    after = None
    if marker:
        try:
            after = base64.urlsafe_b64decode(marker.encode()).decode()
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise InvalidParameterValueException(f"Invalid Marker: {marker}") from None
    # "ListFunctions returns a maximum of 50 items in each response, even if you set the number higher."
    limit = min(limit, 50)
    with inst.store.read() as r:
        rows = r.list_functions(after, limit + 1)
    out: dict[str, Any] = {"Functions": [public_config(c) for c in rows[:limit]]}
    if len(rows) > limit:
        out["NextMarker"] = base64.urlsafe_b64encode(rows[limit - 1]["FunctionName"].encode()).decode()
    return _ok(200, out)


def update_function_code(inst: Any, params: dict, query: dict, headers: Any, body: bytes):
    name = resolve_name(inst, params.get("FunctionName"))
    req = _json_body(body)
    config = _get_config(inst, name)
    _check_revision(config, req)
    if req.get("Architectures") is not None:
        config["Architectures"] = _validate_architectures(req["Architectures"])
    priv, data, sha, size = _read_code(req)
    config.update({"CodeSha256": sha, "CodeSize": size, "_code": priv})
    _touch(config)
    if req.get("DryRun"):
        return _ok(200, public_config(config))
    expected = req.get("RevisionId")

    def write(txn: Any) -> bool:
        if expected is not None:
            cur = txn.get_function(name)
            if cur is None or cur.get("RevisionId") != expected:
                return False
        return txn.update_function(name, config, data, replace_code=True)

    if not inst.engine.writer.run(write):
        _get_config(inst, name)      # 404 when deleted meanwhile
        raise PreconditionFailedException("The Revision Id provided does not match the latest Revision Id. Call the "
                                          "GetFunction/GetAlias API to retrieve the latest Revision Id")
    inst.functions.forget(name)
    return _ok(200, public_config(config))


def update_function_configuration(inst: Any, params: dict, query: dict, headers: Any, body: bytes):
    name = resolve_name(inst, params.get("FunctionName"))
    req = _json_body(body)
    config = _get_config(inst, name)
    _check_revision(config, req)
    _apply_config(config, req, creating=False)
    _touch(config)
    expected = req.get("RevisionId")

    def write(txn: Any) -> bool:
        if expected is not None:
            cur = txn.get_function(name)
            if cur is None or cur.get("RevisionId") != expected:
                return False
        return txn.update_function(name, _ordered(config))

    if not inst.engine.writer.run(write):
        _get_config(inst, name)
        raise PreconditionFailedException("The Revision Id provided does not match the latest Revision Id. Call the "
                                          "GetFunction/GetAlias API to retrieve the latest Revision Id")
    inst.functions.forget(name)
    return _ok(200, public_config(_ordered(config)))


def delete_function(inst: Any, params: dict, query: dict, headers: Any, body: bytes):
    name = resolve_name(inst, params.get("FunctionName"), query)
    # A qualifier names a version to delete; $LATEST is the function itself and is refused.
    if (_q(query, "Qualifier") or parse_function_ref(params.get("FunctionName") or "")[1]) == "$LATEST":
        raise InvalidParameterValueException("$LATEST version cannot be deleted without deleting the function.")
    if not inst.engine.writer.run(lambda txn: txn.delete_function(name)):
        raise _not_found(inst, name)
    runtime = inst.functions
    runtime.forget(name)
    shutil.rmtree(os.path.join(runtime.root, "functions", name), ignore_errors=True)
    return 204, _JSON, b""


def _header(headers: Any, name: str) -> str | None:
    v = headers.get(name)
    if v is None and hasattr(headers, "items"):
        for k, val in headers.items():
            if k.lower() == name:
                return val
    return v


def _check_payload(body: bytes) -> None:
    """InvalidRequestContentException unless the payload is JSON (any JSON value)."""
    try:
        orjson.loads(body)
        return
    except orjson.JSONDecodeError as e:
        err = e
    try:
        json.loads(body)        # orjson refuses numbers beyond a double (1e400), which are valid JSON
        return
    except ValueError:
        pass
    raise InvalidRequestContentException(
        f"Could not parse request body into json: Could not parse payload into json: {err}") from None


def invoke(inst: Any, params: dict, query: dict, headers: Any, body: bytes):
    name = resolve_name(inst, params.get("FunctionName"), query)
    itype = _header(headers, "x-amz-invocation-type") or "RequestResponse"
    _validate_enum(itype, "invocationType", ("Event", "RequestResponse", "DryRun"))
    log_type = _header(headers, "x-amz-log-type") or "None"
    _validate_enum(log_type, "logType", ("None", "Tail"))
    limit = ASYNC_PAYLOAD_LIMIT if itype == "Event" else SYNC_PAYLOAD_LIMIT
    if len(body) > limit:
        raise RequestTooLargeException(f"Request must be smaller than {limit} bytes for the InvokeFunction operation")
    if body:
        _check_payload(body)
    client_context = None
    cc = _header(headers, "x-amz-client-context")
    if cc:
        try:
            client_context = orjson.loads(base64.b64decode(cc))
        except (binascii.Error, orjson.JSONDecodeError, ValueError):
            raise InvalidRequestContentException("Client context must be a valid Base64-encoded JSON object.") from None
        if not isinstance(client_context, dict):
            raise InvalidRequestContentException("Client context must be a valid Base64-encoded JSON object.")
    runtime = inst.functions
    # The response's request id is the invocation's (context.aws_request_id, START/END/REPORT), as on AWS.
    rid = str(uuid.uuid4())
    if itype != "RequestResponse":
        # "Lambda passes the ClientContext object to your function for synchronous invocations only."
        res = runtime.invoke(name, body, invocation_type=itype, request_id=rid)
        return res.status, {"Content-Type": "application/json", "X-Amz-Executed-Version": "$LATEST",
                            _REQUEST_ID: rid}, b""
    if not runtime.exists(name):
        raise _not_found(inst, name)
    inner = runtime.submit(name, body, log_tail=log_type == "Tail", client_context=client_context, request_id=rid)
    outer: Future = Future()

    def done(f: Future) -> None:
        try:
            res: InvokeResult = f.result()
        except BaseException as e:  # noqa: BLE001 - handed to the router, which shapes the error
            outer.set_exception(e)
            return
        h = {"Content-Type": "application/json", "X-Amz-Executed-Version": "$LATEST", _REQUEST_ID: rid}
        if res.function_error:
            h["X-Amz-Function-Error"] = res.function_error
        if log_type == "Tail":
            h["X-Amz-Log-Result"] = encode_log_result(res.log_tail)
        outer.set_result((200, h, res.payload))

    inner.add_done_callback(done)
    return outer


def invoke_async(inst: Any, params: dict, query: dict, headers: Any, body: bytes):
    """InvokeAsync (deprecated by AWS, still in the model): an Event invocation answering {"Status": 202}."""
    name = resolve_name(inst, params.get("FunctionName"))
    if len(body) > ASYNC_PAYLOAD_LIMIT:
        raise RequestTooLargeException(
            f"Request must be smaller than {ASYNC_PAYLOAD_LIMIT} bytes for the InvokeFunction operation")
    if body:
        _check_payload(body)
    inst.functions.invoke(name, body, invocation_type="Event")
    return _ok(202, {"Status": 202})


def list_versions_by_function(inst: Any, params: dict, query: dict, headers: Any, body: bytes):
    """Only $LATEST exists (no PublishVersion): one version, the function itself."""
    name = resolve_name(inst, params.get("FunctionName"))
    return _ok(200, {"Versions": [public_config(_get_config(inst, name))]})


def get_account_settings(inst: Any, params: dict, query: dict, headers: Any, body: bytes):
    with inst.store.read() as r:
        configs = r.list_functions(None, 1 << 30)
    return _ok(200, {
        "AccountLimit": {"TotalCodeSize": 80530636800, "CodeSizeUnzipped": 262144000, "CodeSizeZipped": 52428800,
                         "ConcurrentExecutions": 1000, "UnreservedConcurrentExecutions": 1000},
        "AccountUsage": {"TotalCodeSize": sum(int(c.get("CodeSize") or 0) for c in configs),
                         "FunctionCount": len(configs)},
    })


# --- reserved concurrency -------------------------------------------------------------------------
def _set_concurrency(inst: Any, name: str, value: int | None) -> bool:
    def write(txn: Any) -> bool:
        config = txn.get_function(name)
        if config is None:
            return False
        if value is None:
            config.pop("_concurrency", None)
        else:
            config["_concurrency"] = value
        return txn.update_function(name, config)

    if not inst.engine.writer.run(write):
        raise _not_found(inst, name)
    inst.functions.forget(name)
    return True


def put_function_concurrency(inst: Any, params: dict, query: dict, headers: Any, body: bytes):
    """ReservedConcurrentExecutions: the function's worker pool size; 0 throttles every invocation."""
    name = resolve_name(inst, params.get("FunctionName"))
    value = _json_body(body).get("ReservedConcurrentExecutions")
    if value is None:
        raise InvalidParameterValueException("ReservedConcurrentExecutions is required")
    _validate_int(value, "reservedConcurrentExecutions", 0, 1000)
    _set_concurrency(inst, name, value)
    return _ok(200, {"ReservedConcurrentExecutions": value})


def get_function_concurrency(inst: Any, params: dict, query: dict, headers: Any, body: bytes):
    name = resolve_name(inst, params.get("FunctionName"))
    value = _get_config(inst, name).get("_concurrency")
    return _ok(200, {} if value is None else {"ReservedConcurrentExecutions": value})


def delete_function_concurrency(inst: Any, params: dict, query: dict, headers: Any, body: bytes):
    name = resolve_name(inst, params.get("FunctionName"))
    _set_concurrency(inst, name, None)
    return 204, _JSON, b""


# --- asynchronous invocation configuration ----------------------------------------------------
def _event_invoke_out(inst: Any, name: str, cfg: dict[str, Any]) -> dict[str, Any]:
    return {"LastModified": cfg["LastModified"], "FunctionArn": f"{_arn(inst, name)}:$LATEST",
            "MaximumRetryAttempts": cfg["MaximumRetryAttempts"],
            "MaximumEventAgeInSeconds": cfg["MaximumEventAgeInSeconds"], "DestinationConfig": {}}


def _put_event_invoke(inst: Any, params: dict, query: dict, body: bytes, *, replace: bool):
    name = resolve_name(inst, params.get("FunctionName"), query)
    req = _json_body(body)
    if req.get("DestinationConfig") and any(req["DestinationConfig"].get(k) for k in ("OnSuccess", "OnFailure")):
        raise InvalidParameterValueException("eddydb does not deliver asynchronous invocation records to "
                                             "destinations (event source mappings do: see DestinationConfig there)")
    retries = req.get("MaximumRetryAttempts")
    age = req.get("MaximumEventAgeInSeconds")
    if retries is not None:
        _validate_int(retries, "maximumRetryAttempts", 0, 2)
    if age is not None:
        _validate_int(age, "maximumEventAgeInSeconds", 60, 21600)

    def write(txn: Any) -> dict[str, Any] | None:
        config = txn.get_function(name)
        if config is None:
            return None
        old = {} if replace else dict(config.get("_event_invoke") or {})
        cfg = {"MaximumRetryAttempts": retries if retries is not None else old.get("MaximumRetryAttempts", 2),
               "MaximumEventAgeInSeconds": age if age is not None else old.get("MaximumEventAgeInSeconds", 21600),
               "LastModified": time.time()}
        config["_event_invoke"] = cfg
        txn.update_function(name, config)
        return cfg

    cfg = inst.engine.writer.run(write)
    if cfg is None:
        raise _not_found(inst, name)
    return _ok(200, _event_invoke_out(inst, name, cfg))


def put_function_event_invoke_config(inst: Any, params: dict, query: dict, headers: Any, body: bytes):
    return _put_event_invoke(inst, params, query, body, replace=True)


def update_function_event_invoke_config(inst: Any, params: dict, query: dict, headers: Any, body: bytes):
    return _put_event_invoke(inst, params, query, body, replace=False)


def _no_event_invoke_config(inst: Any, name: str) -> LambdaResourceNotFoundException:
    return LambdaResourceNotFoundException(f"The function {_arn(inst, name)}:$LATEST doesn't have an EventInvokeConfig")


def get_function_event_invoke_config(inst: Any, params: dict, query: dict, headers: Any, body: bytes):
    name = resolve_name(inst, params.get("FunctionName"), query)
    cfg = _get_config(inst, name).get("_event_invoke")
    if not cfg:
        raise _no_event_invoke_config(inst, name)
    return _ok(200, _event_invoke_out(inst, name, cfg))


def delete_function_event_invoke_config(inst: Any, params: dict, query: dict, headers: Any, body: bytes):
    name = resolve_name(inst, params.get("FunctionName"), query)

    def write(txn: Any) -> str:
        config = txn.get_function(name)
        if config is None:
            return "function"
        if not config.pop("_event_invoke", None):
            return "config"
        txn.update_function(name, config)
        return ""

    missing = inst.engine.writer.run(write)
    if missing == "function":
        raise _not_found(inst, name)
    if missing == "config":
        raise _no_event_invoke_config(inst, name)
    return 204, _JSON, b""


# --- tags ------------------------------------------------------------------------------------
def _tag_target(inst: Any, params: dict) -> str:
    ref = params.get("Resource") or params.get("ARN") or ""
    if not ref.startswith("arn:"):
        raise InvalidParameterValueException(f"Invalid ARN: {ref}")
    return resolve_name(inst, ref)


def _mapping_uuid(params: dict) -> str | None:
    """The UUID of an event source mapping ARN (tags of mappings live with the mapping)."""
    ref = params.get("Resource") or params.get("ARN") or ""
    _, sep, uuid = ref.partition(":event-source-mapping:")
    return uuid if sep and ref.startswith("arn:") else None


def list_tags(inst: Any, params: dict, query: dict, headers: Any, body: bytes):
    uuid = _mapping_uuid(params)
    if uuid is not None:
        return _ok(200, {"Tags": inst.mappings.tags(uuid)})
    name = _tag_target(inst, params)
    return _ok(200, {"Tags": _get_config(inst, name).get("_tags") or {}})


def _retag(inst: Any, name: str, change: Callable[[dict[str, str]], None]) -> None:
    def write(txn: Any) -> bool:
        config = txn.get_function(name)
        if config is None:
            return False
        tags = dict(config.get("_tags") or {})
        change(tags)
        config["_tags"] = tags
        return txn.update_function(name, config)

    if not inst.engine.writer.run(write):
        raise _not_found(inst, name)


def tag_resource(inst: Any, params: dict, query: dict, headers: Any, body: bytes):
    uuid = _mapping_uuid(params)
    name = _tag_target(inst, params) if uuid is None else None
    tags = _json_body(body).get("Tags")
    if not isinstance(tags, dict) or not all(isinstance(v, str) for v in tags.values()):
        raise InvalidParameterValueException("Tags must be a map of strings")
    if name is None:
        inst.mappings.retag(uuid, lambda t: t.update(tags))
    else:
        _retag(inst, name, lambda t: t.update(tags))
    return 204, _JSON, b""


def untag_resource(inst: Any, params: dict, query: dict, headers: Any, body: bytes):
    uuid = _mapping_uuid(params)
    name = _tag_target(inst, params) if uuid is None else None
    keys = query.get("tagKeys") or []
    if isinstance(keys, str):
        keys = [keys]

    def drop(t: dict[str, str]) -> None:
        for k in keys:
            t.pop(k, None)

    if name is None:
        inst.mappings.retag(uuid, drop)
    else:
        _retag(inst, name, drop)
    return 204, _JSON, b""


# --- eddydb's own routes -----------------------------------------------------------------------
def download_code(inst: Any, params: dict, query: dict, headers: Any, body: bytes):
    """GET /eddydb/functions/{name}/code: the zip that GetFunction's Code.Location points at."""
    name = resolve_name(inst, params.get("FunctionName"))
    config = _get_config(inst, name)
    with inst.store.read() as r:
        data = r.get_function_code(name)
    if data is None:
        priv = config.get("_code") or {}
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            root = priv.get("path", "")
            for dirpath, dirnames, filenames in os.walk(root):
                dirnames[:] = [d for d in dirnames if not d.startswith(".") and d != "__pycache__"]
                for fn in filenames:
                    full = os.path.join(dirpath, fn)
                    zf.write(full, os.path.relpath(full, root))
        data = buf.getvalue()
    return 200, {"Content-Type": "application/zip"}, data


def read_log(inst: Any, params: dict, query: dict, headers: Any, body: bytes):
    """GET /eddydb/logs/{name}?offset=N: the function's log from byte N (`eddydb logs` over HTTP).
    The X-Eddydb-Log-Size header is the offset to ask for next."""
    name = params.get("FunctionName") or ""
    if not _NAME_RX.fullmatch(name):
        raise InvalidParameterValueException(f"Invalid function name: {name}")
    try:
        offset = int(_q(query, "offset") or 0)
    except ValueError:
        raise InvalidParameterValueException("offset must be an integer") from None
    path = inst.functions.log_path(name)
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            if offset < 0:
                offset = max(size + offset, 0)
            offset = min(offset, size)
            f.seek(offset)
            data = f.read(size - offset)
    except FileNotFoundError:
        if not inst.functions.exists(name):
            raise _not_found(inst, name) from None
        data, size = b"", 0
    return 200, {"Content-Type": "text/plain; charset=utf-8", "X-Eddydb-Log-Size": str(size)}, data


_FN = r"(?P<FunctionName>[^/]+)"
_V = "/2015-03-31"
ROUTES: list[tuple[str, re.Pattern[str], Callable[..., Any]]] = [
    ("POST", re.compile(rf"{_V}/functions/?"), create_function),
    ("GET", re.compile(rf"{_V}/functions/?"), list_functions),
    ("GET", re.compile(rf"{_V}/functions/{_FN}/?"), get_function),
    ("DELETE", re.compile(rf"{_V}/functions/{_FN}/?"), delete_function),
    ("GET", re.compile(rf"{_V}/functions/{_FN}/configuration/?"), get_function_configuration),
    ("PUT", re.compile(rf"{_V}/functions/{_FN}/configuration/?"), update_function_configuration),
    ("PUT", re.compile(rf"{_V}/functions/{_FN}/code/?"), update_function_code),
    ("GET", re.compile(rf"{_V}/functions/{_FN}/versions/?"), list_versions_by_function),
    ("GET", re.compile(r"/2016-08-19/account-settings/?"), get_account_settings),
    ("PUT", re.compile(rf"/2017-10-31/functions/{_FN}/concurrency/?"), put_function_concurrency),
    ("DELETE", re.compile(rf"/2017-10-31/functions/{_FN}/concurrency/?"), delete_function_concurrency),
    ("GET", re.compile(rf"/2019-09-30/functions/{_FN}/concurrency/?"), get_function_concurrency),
    ("PUT", re.compile(rf"/2019-09-25/functions/{_FN}/event-invoke-config/?"), put_function_event_invoke_config),
    ("POST", re.compile(rf"/2019-09-25/functions/{_FN}/event-invoke-config/?"), update_function_event_invoke_config),
    ("GET", re.compile(rf"/2019-09-25/functions/{_FN}/event-invoke-config/?"), get_function_event_invoke_config),
    ("DELETE", re.compile(rf"/2019-09-25/functions/{_FN}/event-invoke-config/?"), delete_function_event_invoke_config),
    ("POST", re.compile(rf"{_V}/functions/{_FN}/invocations/?"), invoke),
    ("POST", re.compile(rf"/2014-11-13/functions/{_FN}/invoke-async/?"), invoke_async),
    ("GET", re.compile(r"/2017-03-31/tags/(?P<Resource>[^/]+)/?"), list_tags),
    ("POST", re.compile(r"/2017-03-31/tags/(?P<Resource>[^/]+)/?"), tag_resource),
    ("DELETE", re.compile(r"/2017-03-31/tags/(?P<Resource>[^/]+)/?"), untag_resource),
    ("GET", re.compile(rf"/eddydb/functions/{_FN}/code/?"), download_code),
    ("GET", re.compile(rf"/eddydb/logs/{_FN}/?"), read_log),
]
