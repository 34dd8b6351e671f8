"""The Lambda control plane as boto3 sees it, probed where the existing tests do not reach:
constraints of botocore's `lambda` model that the server must enforce itself (client-side
validation off), and documented limits of AWS's responses."""
from __future__ import annotations

import contextlib
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError
from fn_support import APP, ROLE, make_zip
from util import client_config


@pytest.fixture(scope="module")
def raw(fdb: Any) -> Any:
    """A lambda client that sends what it is given: the server's own validation answers."""
    return fdb.client("lambda", config=client_config(parameter_validation=False))


def _create(client: Any, name: str, **kwargs: Any) -> dict[str, Any]:
    params: dict[str, Any] = {"FunctionName": name, "Runtime": "python3.12", "Role": ROLE,
                              "Handler": "app.handler", "Code": {"ZipFile": make_zip({"app.py": APP})}}
    params.update(kwargs)
    return client.create_function(**params)


def _code(e: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    return e.value.response["Error"]["Code"], e.value.response["ResponseMetadata"]["HTTPStatusCode"]


@pytest.mark.parametrize("archs", [["sparc"], ["x86_64", "arm64"], []])
def test_create_rejects_architectures_outside_the_model(raw: Any, lam: Any, fname: str, archs: list[str]) -> None:
    # ArchitecturesList: exactly one of x86_64 | arm64
    with pytest.raises(ClientError) as e:
        _create(raw, fname, Architectures=archs)
    assert _code(e) == ("ValidationException", 400)
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_function(FunctionName=fname)


def test_create_echoes_arm64(make_function: Any, lam: Any) -> None:
    name = make_function(Architectures=["arm64"])
    assert lam.get_function_configuration(FunctionName=name)["Architectures"] == ["arm64"]


def test_update_code_rejects_architectures_outside_the_model(raw: Any, make_function: Any, lam: Any) -> None:
    name = make_function()
    with pytest.raises(ClientError) as e:
        raw.update_function_code(FunctionName=name, ZipFile=make_zip({"app.py": APP}), Architectures=["sparc"])
    assert _code(e) == ("ValidationException", 400)
    assert lam.get_function_configuration(FunctionName=name)["Architectures"] == ["x86_64"]


def test_create_rejects_ephemeral_storage_below_512(raw: Any, fname: str) -> None:
    with pytest.raises(ClientError) as e:
        _create(raw, fname, EphemeralStorage={"Size": 100})
    assert _code(e) == ("ValidationException", 400)


def test_create_rejects_an_unknown_tracing_mode(raw: Any, fname: str) -> None:
    with pytest.raises(ClientError) as e:
        _create(raw, fname, TracingConfig={"Mode": "Sometimes"})
    assert _code(e) == ("ValidationException", 400)


def test_list_functions_returns_at_most_50_per_page_even_with_a_higher_max_items(lam: Any) -> None:
    # "ListFunctions returns a maximum of 50 items in each response, even if you set the number higher."
    prefix = f"cap-{uuid.uuid4().hex[:6]}"
    names = [f"{prefix}-{i:02d}" for i in range(51)]
    try:
        for name in names:
            _create(lam, name)
        resp = lam.list_functions(MaxItems=1000)
        assert len(resp["Functions"]) == 50
        assert resp.get("NextMarker")
        listed = [f["FunctionName"] for page in lam.get_paginator("list_functions").paginate(
            PaginationConfig={"PageSize": 1000}) for f in page["Functions"]]
        assert set(names) <= set(listed)
        assert len(listed) == len(set(listed))
    finally:
        for name in names:
            with contextlib.suppress(ClientError):
                lam.delete_function(FunctionName=name)


def test_deleting_the_latest_qualifier_is_invalid_and_keeps_the_function(make_function: Any, lam: Any) -> None:
    name = make_function()
    with pytest.raises(lam.exceptions.InvalidParameterValueException) as e:
        lam.delete_function(FunctionName=name, Qualifier="$LATEST")
    assert "$LATEST version cannot be deleted without deleting the function" in e.value.response["Error"]["Message"]
    assert lam.get_function(FunctionName=name)["Configuration"]["FunctionName"] == name


def test_list_functions_rejects_a_function_version_outside_the_enum(raw: Any) -> None:
    with pytest.raises(ClientError) as e:
        raw.list_functions(FunctionVersion="SOME")
    assert _code(e) == ("ValidationException", 400)
