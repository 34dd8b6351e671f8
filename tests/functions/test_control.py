"""The Lambda control plane for functions through boto3: CreateFunction, GetFunction,
GetFunctionConfiguration, ListFunctions, UpdateFunctionCode, UpdateFunctionConfiguration,
DeleteFunction, tags, and every error they answer."""
from __future__ import annotations

import base64
import hashlib
import os
import re
from typing import Any

import pytest
from botocore.exceptions import ClientError, ParamValidationError
from fn_support import APP, ROLE, invoke_json, make_zip

ARN_RX = re.compile(r"arn:aws:lambda:us-east-1:000000000000:function:(.+)")


def _create(lam: Any, name: str, **kw: Any) -> dict[str, Any]:
    params: dict[str, Any] = {"FunctionName": name, "Runtime": "python3.12", "Role": ROLE,
                              "Handler": "app.handler", "Code": {"ZipFile": make_zip({"app.py": APP})}}
    params.update(kw)
    return lam.create_function(**params)


def test_create_function_returns_the_configuration(lam: Any, fname: str) -> None:
    package = make_zip({"app.py": APP})
    resp = _create(lam, fname, Code={"ZipFile": package}, Description="d", Timeout=7, MemorySize=256,
                   Environment={"Variables": {"A": "1"}})
    try:
        assert resp["ResponseMetadata"]["HTTPStatusCode"] == 201
        assert resp["FunctionName"] == fname
        assert resp["FunctionArn"] == f"arn:aws:lambda:us-east-1:000000000000:function:{fname}"
        assert resp["Runtime"] == "python3.12"
        assert resp["Handler"] == "app.handler"
        assert resp["Role"] == ROLE
        assert resp["Description"] == "d"
        assert resp["Timeout"] == 7
        assert resp["MemorySize"] == 256
        assert resp["Environment"] == {"Variables": {"A": "1"}}
        assert resp["CodeSha256"] == base64.b64encode(hashlib.sha256(package).digest()).decode()
        assert resp["CodeSize"] == len(package)
        assert resp["Version"] == "$LATEST"
        assert resp["State"] == "Active"
        assert resp["LastUpdateStatus"] == "Successful"
        assert resp["PackageType"] == "Zip"
        assert resp["RevisionId"]
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000", resp["LastModified"])
    finally:
        lam.delete_function(FunctionName=fname)


def test_create_defaults_timeout_3_and_memory_128(lam: Any, make_function: Any) -> None:
    name = make_function()
    conf = lam.get_function_configuration(FunctionName=name)
    assert conf["Timeout"] == 3
    assert conf["MemorySize"] == 128
    assert "Environment" not in conf


def test_function_active_waiter_passes_at_once(lam: Any, make_function: Any) -> None:
    name = make_function()
    lam.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 2})


def test_create_existing_function_is_a_conflict(lam: Any, make_function: Any) -> None:
    name = make_function()
    with pytest.raises(lam.exceptions.ResourceConflictException) as e:
        _create(lam, name)
    assert e.value.response["Error"]["Message"] == f"Function already exist: {name}"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409


def test_get_function_has_configuration_code_and_tags(lam: Any, make_function: Any) -> None:
    name = make_function(Tags={"team": "a"})
    resp = lam.get_function(FunctionName=name)
    assert resp["Configuration"]["FunctionName"] == name
    assert resp["Code"]["RepositoryType"] == "S3"
    assert resp["Code"]["Location"].endswith(f"/eddydb/functions/{name}/code")
    assert resp["Tags"] == {"team": "a"}


@pytest.mark.parametrize("ref", ["name", "arn", "partial", "latest"])
def test_function_name_may_be_a_name_an_arn_or_qualified(lam: Any, make_function: Any, ref: str) -> None:
    name = make_function()
    arn = f"arn:aws:lambda:us-east-1:000000000000:function:{name}"
    value = {"name": name, "arn": arn, "partial": f"000000000000:function:{name}", "latest": f"{name}:$LATEST"}[ref]
    assert lam.get_function_configuration(FunctionName=value)["FunctionArn"] == arn


def test_get_unknown_function_is_not_found(lam: Any) -> None:
    with pytest.raises(lam.exceptions.ResourceNotFoundException) as e:
        lam.get_function(FunctionName="no-such-function")
    err = e.value.response
    assert err["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert err["Error"]["Message"] == \
        "Function not found: arn:aws:lambda:us-east-1:000000000000:function:no-such-function"


def test_unknown_qualifier_is_not_found(lam: Any, make_function: Any) -> None:
    name = make_function()
    with pytest.raises(lam.exceptions.ResourceNotFoundException) as e:
        lam.get_function(FunctionName=name, Qualifier="7")
    assert e.value.response["Error"]["Message"].endswith(f"function:{name}:7")


def test_get_function_configuration_of_unknown_function_is_not_found(lam: Any) -> None:
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_function_configuration(FunctionName="no-such-function")


def test_list_functions_pages_with_marker(lam: Any, make_function: Any) -> None:
    names = {make_function() for _ in range(3)}
    seen: list[str] = []
    marker = None
    pages = 0
    while True:
        kw: dict[str, Any] = {"MaxItems": 2}
        if marker:
            kw["Marker"] = marker
        resp = lam.list_functions(**kw)
        pages += 1
        assert len(resp["Functions"]) <= 2
        seen += [f["FunctionName"] for f in resp["Functions"]]
        marker = resp.get("NextMarker")
        if not marker:
            break
    assert names <= set(seen)
    assert len(seen) == len(set(seen))
    assert seen == sorted(seen)
    assert pages >= 2


def test_list_functions_paginator(lam: Any, make_function: Any) -> None:
    names = {make_function() for _ in range(2)}
    pages = lam.get_paginator("list_functions").paginate(PaginationConfig={"PageSize": 1})
    listed = [f["FunctionName"] for page in pages for f in page["Functions"]]
    assert names <= set(listed)


def test_list_functions_rejects_bad_max_items(lam: Any) -> None:
    with pytest.raises(lam.exceptions.InvalidParameterValueException):
        lam.list_functions(MaxItems=10001)


def test_update_function_configuration(lam: Any, make_function: Any) -> None:
    name = make_function()
    before = lam.get_function_configuration(FunctionName=name)
    resp = lam.update_function_configuration(FunctionName=name, Timeout=10, MemorySize=512, Description="new",
                                             Environment={"Variables": {"K": "v"}}, Handler="app.other",
                                             Runtime="python3.11")
    assert resp["Timeout"] == 10
    assert resp["MemorySize"] == 512
    assert resp["Description"] == "new"
    assert resp["Environment"] == {"Variables": {"K": "v"}}
    assert resp["Handler"] == "app.other"
    assert resp["Runtime"] == "python3.11"
    assert resp["RevisionId"] != before["RevisionId"]
    assert resp["CodeSha256"] == before["CodeSha256"]
    assert lam.get_function_configuration(FunctionName=name)["Timeout"] == 10


def test_update_configuration_with_empty_variables_removes_environment(lam: Any, make_function: Any) -> None:
    name = make_function(Environment={"Variables": {"K": "v"}})
    lam.update_function_configuration(FunctionName=name, Environment={"Variables": {}})
    assert "Environment" not in lam.get_function_configuration(FunctionName=name)


def test_update_with_stale_revision_id_fails_the_precondition(lam: Any, make_function: Any) -> None:
    name = make_function()
    rev = lam.get_function_configuration(FunctionName=name)["RevisionId"]
    lam.update_function_configuration(FunctionName=name, Timeout=5, RevisionId=rev)
    with pytest.raises(lam.exceptions.PreconditionFailedException) as e:
        lam.update_function_configuration(FunctionName=name, Timeout=6, RevisionId=rev)
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 412
    with pytest.raises(lam.exceptions.PreconditionFailedException):
        lam.update_function_code(FunctionName=name, ZipFile=make_zip({"app.py": APP}), RevisionId=rev)


def test_update_function_code_changes_sha_and_code(lam: Any, make_function: Any) -> None:
    name = make_function({"app.py": "def handler(e, c):\n    return 1\n"})
    assert invoke_json(lam, name, {})[0] == 1
    package = make_zip({"app.py": "def handler(e, c):\n    return 2\n"})
    resp = lam.update_function_code(FunctionName=name, ZipFile=package)
    assert resp["CodeSha256"] == base64.b64encode(hashlib.sha256(package).digest()).decode()
    assert resp["CodeSize"] == len(package)
    assert invoke_json(lam, name, {})[0] == 2


def test_update_function_code_dry_run_changes_nothing(lam: Any, make_function: Any) -> None:
    name = make_function({"app.py": "def handler(e, c):\n    return 1\n"})
    before = lam.get_function_configuration(FunctionName=name)
    lam.update_function_code(FunctionName=name, ZipFile=make_zip({"app.py": "def handler(e, c):\n    return 2\n"}),
                             DryRun=True)
    assert lam.get_function_configuration(FunctionName=name)["CodeSha256"] == before["CodeSha256"]
    assert invoke_json(lam, name, {})[0] == 1


def test_update_unknown_function_is_not_found(lam: Any) -> None:
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.update_function_configuration(FunctionName="no-such-function", Timeout=5)
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.update_function_code(FunctionName="no-such-function", ZipFile=make_zip({"app.py": APP}))


def test_delete_function(lam: Any, fname: str) -> None:
    _create(lam, fname)
    resp = lam.delete_function(FunctionName=fname)
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_function(FunctionName=fname)
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.delete_function(FunctionName=fname)
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.invoke(FunctionName=fname)


def test_deleted_function_name_can_be_reused(lam: Any, fname: str) -> None:
    _create(lam, fname, Code={"ZipFile": make_zip({"app.py": "def handler(e, c):\n    return 'old'\n"})})
    assert invoke_json(lam, fname, {})[0] == "old"
    lam.delete_function(FunctionName=fname)
    _create(lam, fname, Code={"ZipFile": make_zip({"app.py": "def handler(e, c):\n    return 'new'\n"})})
    try:
        assert invoke_json(lam, fname, {})[0] == "new"
    finally:
        lam.delete_function(FunctionName=fname)


def test_tags(lam: Any, make_function: Any) -> None:
    name = make_function(Tags={"a": "1"})
    arn = lam.get_function_configuration(FunctionName=name)["FunctionArn"]
    assert lam.list_tags(Resource=arn)["Tags"] == {"a": "1"}
    lam.tag_resource(Resource=arn, Tags={"b": "2", "c": "3"})
    assert lam.list_tags(Resource=arn)["Tags"] == {"a": "1", "b": "2", "c": "3"}
    lam.untag_resource(Resource=arn, TagKeys=["a"])
    assert lam.list_tags(Resource=arn)["Tags"] == {"b": "2", "c": "3"}


# --- validation --------------------------------------------------------------------------------
@pytest.mark.parametrize("runtime", ["nodejs20.x", "java21", "python2.7", "python3.7"])
def test_create_rejects_runtimes_other_than_python3(lam: Any, fname: str, runtime: str) -> None:
    with pytest.raises(lam.exceptions.InvalidParameterValueException) as e:
        _create(lam, fname, Runtime=runtime)
    assert runtime in e.value.response["Error"]["Message"]
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_create_without_runtime_is_invalid(lam: Any, fname: str) -> None:
    with pytest.raises(lam.exceptions.InvalidParameterValueException) as e:
        lam.create_function(FunctionName=fname, Role=ROLE, Handler="app.handler",
                            Code={"ZipFile": make_zip({"app.py": APP})})
    assert e.value.response["Error"]["Message"] == \
        "Runtime and Handler are mandatory parameters for functions created with deployment packages."


def test_create_without_handler_is_invalid(lam: Any, fname: str) -> None:
    with pytest.raises(lam.exceptions.InvalidParameterValueException):
        lam.create_function(FunctionName=fname, Role=ROLE, Runtime="python3.12",
                            Code={"ZipFile": make_zip({"app.py": APP})})


def test_create_with_a_corrupt_zip_is_invalid(lam: Any, fname: str) -> None:
    with pytest.raises(lam.exceptions.InvalidParameterValueException) as e:
        _create(lam, fname, Code={"ZipFile": b"this is not a zip file"})
    assert e.value.response["Error"]["Message"] == \
        "Could not unzip uploaded file. Please check your file, then try to upload again."


def test_create_with_an_s3_bucket_is_invalid(lam: Any, fname: str) -> None:
    with pytest.raises(lam.exceptions.InvalidParameterValueException) as e:
        _create(lam, fname, Code={"S3Bucket": "my-bucket", "S3Key": "code.zip"})
    assert "NoSuchBucket" in e.value.response["Error"]["Message"]


def test_create_with_a_missing_local_directory_is_invalid(lam: Any, fname: str, tmp_path: Any) -> None:
    with pytest.raises(lam.exceptions.InvalidParameterValueException):
        _create(lam, fname, Code={"S3Bucket": "file", "S3Key": str(tmp_path / "absent")})
    with pytest.raises(lam.exceptions.InvalidParameterValueException):
        _create(lam, fname, Code={"S3Bucket": "file", "S3Key": "relative/dir"})


def test_create_without_code_source_is_invalid(lam: Any, fname: str) -> None:
    with pytest.raises(lam.exceptions.InvalidParameterValueException):
        _create(lam, fname, Code={})


def test_create_with_image_package_is_invalid(lam: Any, fname: str) -> None:
    with pytest.raises(lam.exceptions.InvalidParameterValueException):
        lam.create_function(FunctionName=fname, Role=ROLE, PackageType="Image", Code={"ImageUri": "x:latest"})


@pytest.mark.parametrize("field,value", [("Timeout", 901), ("MemorySize", 10241)])
def test_create_rejects_out_of_range_limits(lam: Any, fname: str, field: str, value: int) -> None:
    with pytest.raises(ClientError) as e:
        _create(lam, fname, **{field: value})
    assert e.value.response["Error"]["Code"] == "ValidationException"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_client_side_validation_catches_small_limits(lam: Any, fname: str) -> None:
    with pytest.raises(ParamValidationError):
        _create(lam, fname, Timeout=0)


def test_create_rejects_reserved_environment_variables(lam: Any, fname: str) -> None:
    with pytest.raises(lam.exceptions.InvalidParameterValueException) as e:
        _create(lam, fname, Environment={"Variables": {"AWS_REGION": "x", "OK": "1"}})
    assert "Reserved keys used in this request: AWS_REGION" in e.value.response["Error"]["Message"]


def test_create_rejects_environment_over_4kb(lam: Any, fname: str) -> None:
    with pytest.raises(lam.exceptions.InvalidParameterValueException) as e:
        _create(lam, fname, Environment={"Variables": {"BIG": "x" * 5000}})
    assert "exceeded the 4KB limit" in e.value.response["Error"]["Message"]


def test_create_rejects_a_bad_function_name(lam: Any) -> None:
    with pytest.raises(ClientError) as e:
        _create(lam, "bad name!")
    assert e.value.response["Error"]["Code"] == "ValidationException"


def test_create_rejects_a_bad_role(lam: Any, fname: str) -> None:
    with pytest.raises(ClientError) as e:
        _create(lam, fname, Role="not-a-role")
    assert e.value.response["Error"]["Code"] == "ValidationException"


def test_update_configuration_validates_like_create(lam: Any, make_function: Any) -> None:
    name = make_function()
    with pytest.raises(lam.exceptions.InvalidParameterValueException):
        lam.update_function_configuration(FunctionName=name, Runtime="nodejs20.x")
    with pytest.raises(ClientError):
        lam.update_function_configuration(FunctionName=name, Timeout=100000)
    with pytest.raises(lam.exceptions.InvalidParameterValueException):
        lam.update_function_configuration(FunctionName=name, Environment={"Variables": {"LAMBDA_TASK_ROOT": "x"}})
    assert lam.get_function_configuration(FunctionName=name)["Runtime"] == "python3.12"


def test_code_survives_restart(tmp_path: Any) -> None:
    import eddydb

    data = str(tmp_path / "data")
    with eddydb.open(data, background=False) as db:
        lam = db.client("lambda")
        _create(lam, "durable", Code={"ZipFile": make_zip({"app.py": "def handler(e, c):\n    return 'kept'\n"})})
        assert invoke_json(lam, "durable", {})[0] == "kept"
    # the unpacked copy goes away; the zip in the store is the source of truth
    import shutil

    shutil.rmtree(os.path.join(data, "functions"))
    with eddydb.open(data, background=False) as db:
        assert invoke_json(db.client("lambda"), "durable", {})[0] == "kept"


def test_list_versions_by_function_has_only_latest(lam: Any, make_function: Any) -> None:
    name = make_function()
    versions = lam.list_versions_by_function(FunctionName=name)["Versions"]
    assert [v["Version"] for v in versions] == ["$LATEST"]
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.list_versions_by_function(FunctionName="no-such-function")


def test_account_settings_count_the_functions(lam: Any, make_function: Any) -> None:
    before = lam.get_account_settings()["AccountUsage"]
    make_function()
    after = lam.get_account_settings()["AccountUsage"]
    assert after["FunctionCount"] == before["FunctionCount"] + 1
    assert after["TotalCodeSize"] > before["TotalCodeSize"]


def test_reserved_concurrency_zero_throttles(lam: Any, make_function: Any) -> None:
    name = make_function()
    assert lam.get_function_concurrency(FunctionName=name).get("ReservedConcurrentExecutions") is None
    assert lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=0)[
        "ReservedConcurrentExecutions"] == 0
    assert lam.get_function(FunctionName=name)["Concurrency"] == {"ReservedConcurrentExecutions": 0}
    with pytest.raises(lam.exceptions.TooManyRequestsException) as e:
        lam.invoke(FunctionName=name, Payload=b"{}")
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert e.value.response["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"
    lam.delete_function_concurrency(FunctionName=name)
    assert lam.get_function_concurrency(FunctionName=name).get("ReservedConcurrentExecutions") is None
    assert invoke_json(lam, name, {"action": "echo"})[0]["event"] == {"action": "echo"}


def test_reserved_concurrency_sizes_the_worker_pool(lam: Any, make_function: Any) -> None:
    from concurrent.futures import ThreadPoolExecutor

    code = "import os, time\ndef handler(e, c):\n    time.sleep(0.2)\n    return os.getpid()\n"
    name = make_function({"app.py": code})
    lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=1)
    with ThreadPoolExecutor(3) as ex:
        pids = list(ex.map(lambda _: invoke_json(lam, name, {})[0], range(3)))
    assert len(set(pids)) == 1


def test_concurrency_of_unknown_function_is_not_found(lam: Any) -> None:
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.put_function_concurrency(FunctionName="no-such-function", ReservedConcurrentExecutions=1)
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_function_concurrency(FunctionName="no-such-function")
