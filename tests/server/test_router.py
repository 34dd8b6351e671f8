"""server/router.py and api/dispatch.py without any transport: fake operation handlers and
fake Lambda REST routes, so each routing and error-mapping rule is checked on its own."""
from __future__ import annotations

import gzip
import re
from concurrent.futures import Future

import orjson
import pytest

from eddydb.api import dispatch
from eddydb.model.errors import (
    ConditionalCheckFailedException,
    InvalidParameterValueException,
    LambdaResourceNotFoundException,
    ValidationException,
)
from eddydb.server import router


def _done(value=None, exc=None) -> Future:
    f: Future = Future()
    if exc is not None:
        f.set_exception(exc)
    else:
        f.set_result(value)
    return f


@pytest.fixture
def fake_ops(monkeypatch):
    calls = []

    def echo(inst, req):
        calls.append((inst, req))
        return {"Echo": req}

    ops = {
        "DynamoDB_20120810.Echo": echo,
        "DynamoDB_20120810.Raw": lambda inst, req: b'{"raw":true}',
        "DynamoDB_20120810.Invalid": lambda inst, req: (_ for _ in ()).throw(ValidationException("bad input")),
        "DynamoDB_20120810.Bug": lambda inst, req: 1 / 0,
        "DynamoDB_20120810.Write": lambda inst, req: _done({"Written": True}),
        "DynamoDB_20120810.WriteRaw": lambda inst, req: _done(b"{}"),
        "DynamoDB_20120810.WriteFails": lambda inst, req: _done(exc=ConditionalCheckFailedException(
            item={"pk": {"S": "a"}})),
        "DynamoDB_20120810.WriteBug": lambda inst, req: _done(exc=KeyError("x")),
        "DynamoDBStreams_20120810.ListStreams": lambda inst, req: {"Streams": []},
    }
    monkeypatch.setattr(dispatch, "_TARGETS", ops)
    return calls


def _post(target, body=b"{}", headers=None, inst="INST"):
    h = {"x-amz-target": target} if target is not None else {}
    h["authorization"] = "AWS4-HMAC-SHA256 Credential=x/20260101/us-east-1/dynamodb/aws4_request"
    h.update(headers or {})
    res = router.route(inst, "POST", "/", h, body)
    if isinstance(res, router.Deferred):
        res = res.finish()
    status, headers, body = res
    return status, headers, orjson.loads(body) if body else None


def test_target_reaches_its_handler_with_the_instance_and_parsed_body(fake_ops):
    status, headers, body = _post("DynamoDB_20120810.Echo", b'{"a": [1, "x"]}')
    assert (status, body) == (200, {"Echo": {"a": [1, "x"]}})
    assert headers["Content-Type"] == "application/x-amz-json-1.0"
    assert fake_ops == [("INST", {"a": [1, "x"]})]


def test_streams_target_prefix_is_routed(fake_ops):
    assert _post("DynamoDBStreams_20120810.ListStreams")[2] == {"Streams": []}


def test_handler_may_return_raw_json_bytes(fake_ops):
    assert _post("DynamoDB_20120810.Raw")[2] == {"raw": True}


def test_empty_body_is_an_empty_request(fake_ops):
    assert _post("DynamoDB_20120810.Echo", b"")[2] == {"Echo": {}}


def test_eddy_error_becomes_status_type_and_message(fake_ops):
    status, _, body = _post("DynamoDB_20120810.Invalid")
    assert status == 400
    assert body == {"__type": "com.amazon.coral.validate#ValidationException", "message": "bad input"}


def test_unexpected_exception_is_500_internal_server_error(fake_ops, caplog):
    status, _, body = _post("DynamoDB_20120810.Bug")
    assert status == 500
    assert body["__type"].endswith("#InternalServerError")
    assert "ZeroDivisionError" in caplog.text


def test_future_result_is_the_response(fake_ops):
    res = router.route(None, "POST", "/", {"x-amz-target": "DynamoDB_20120810.Write"}, b"{}", trusted=True)
    assert isinstance(res, router.Deferred)
    assert orjson.loads(res.finish()[2]) == {"Written": True}
    assert _post("DynamoDB_20120810.WriteRaw")[2] == {}


def test_future_exception_keeps_its_extra_fields(fake_ops):
    status, _, body = _post("DynamoDB_20120810.WriteFails")
    assert status == 400
    assert body["__type"].endswith("#ConditionalCheckFailedException")
    assert body["Item"] == {"pk": {"S": "a"}}


def test_future_with_unexpected_exception_is_500(fake_ops):
    status, _, _body = _post("DynamoDB_20120810.WriteBug")
    assert status == 500


@pytest.mark.parametrize("target", [None, "", "DynamoDB_20120810", "DynamoDB_20120810.Nope", "Nope.Echo"])
def test_missing_or_unknown_target_is_unknown_operation(fake_ops, target):
    status, _, body = _post(target)
    assert status == 400
    assert body["__type"] == "com.amazon.coral.service#UnknownOperationException"


@pytest.mark.parametrize("raw", [b"{", b"nul", b'"str"', b"[1]", b"\xff\xfe"])
def test_bad_json_is_serialization_exception(fake_ops, raw):
    status, _, body = _post("DynamoDB_20120810.Echo", raw)
    assert status == 400
    assert body["__type"] == "com.amazon.coral.service#SerializationException"


def test_gzip_body_is_decoded(fake_ops):
    _, _, body = _post("DynamoDB_20120810.Echo", gzip.compress(b'{"z": 1}'), {"content-encoding": "gzip"})
    assert body == {"Echo": {"z": 1}}


def test_unsigned_request_is_refused_unless_trusted(fake_ops):
    status, _, body = router.route(None, "POST", "/", {"x-amz-target": "DynamoDB_20120810.Echo"}, b"{}")
    assert status == 400
    assert orjson.loads(body)["__type"].endswith("#MissingAuthenticationTokenException")
    status, _, body = router.route(None, "POST", "/", {"x-amz-target": "DynamoDB_20120810.Echo"}, b"{}", trusted=True)
    assert status == 200
    presigned = "/?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=abc"
    assert router.route(None, "POST", presigned, {"x-amz-target": "DynamoDB_20120810.Echo"}, b"{}")[0] == 200


def test_health_check():
    status, _, body = router.route(None, "GET", "/", {"host": "db.local:8000"}, b"")
    assert (status, body) == (200, b"healthy: db.local:8000")
    status, _, body = router.route(None, "GET", "/", {"accept": "application/json"}, b"")
    assert status == 200 and orjson.loads(body)["status"] == "ok"


# --- Lambda REST routes -------------------------------------------------------------------------
@pytest.fixture
def fake_routes(monkeypatch):
    seen = []

    def get_fn(inst, params, query, headers, body):
        seen.append((params, query, headers, body))
        if params["name"] == "missing":
            raise LambdaResourceNotFoundException(f"Function not found: {params['name']}")
        return 200, None, {"FunctionName": params["name"]}

    def invoke(inst, params, query, headers, body):
        return _done((200, {"Content-Type": "application/json", "X-Amz-Executed-Version": "$LATEST"}, body))

    def bad(inst, params, query, headers, body):
        return _done(exc=InvalidParameterValueException("nope"))

    routes = [
        ("GET", re.compile(r"/2015-03-31/functions/(?P<name>[^/]+)"), get_fn),
        ("POST", r"/2015-03-31/functions/(?P<name>[^/]+)/invocations", invoke),
        ("POST", r"/2015-03-31/bad", bad),
    ]
    monkeypatch.setattr(router, "_ROUTES", [(m, re.compile(p) if isinstance(p, str) else p, h) for m, p, h in routes])
    return seen


def test_rest_route_gets_unquoted_params_and_query(fake_routes):
    status, headers, body = router.route(None, "GET", "/2015-03-31/functions/arn%3Aaws%3Alambda%3Afn?Qualifier=1",
                                         {"x-a": "b"}, b"")
    assert status == 200 and headers["Content-Type"] == "application/json"
    assert orjson.loads(body) == {"FunctionName": "arn:aws:lambda:fn"}
    assert fake_routes[0][:2] == ({"name": "arn:aws:lambda:fn"}, {"Qualifier": "1"})


def test_rest_route_future_response_keeps_headers(fake_routes):
    res = router.route(None, "POST", "/2015-03-31/functions/f/invocations", {}, b'{"x":1}')
    status, headers, body = res.finish()
    assert (status, body) == (200, b'{"x":1}')
    assert headers["X-Amz-Executed-Version"] == "$LATEST"


def test_rest_route_errors_carry_error_type_header(fake_routes):
    status, headers, body = router.route(None, "GET", "/2015-03-31/functions/missing", {}, b"")
    assert status == 404
    assert headers["x-amzn-ErrorType"] == "ResourceNotFoundException"
    assert orjson.loads(body)["Message"] == "Function not found: missing"
    status, headers, body = router.route(None, "POST", "/2015-03-31/bad", {}, b"").finish()
    assert status == 400 and headers["x-amzn-ErrorType"] == "InvalidParameterValueException"


def test_repeated_query_keys_become_a_list(fake_routes):
    router.route(None, "GET", "/2015-03-31/functions/f?tagKeys=a&tagKeys=b&tagKeys=c&x=1", {}, b"")
    assert fake_routes[-1][1] == {"tagKeys": ["a", "b", "c"], "x": "1"}


def test_unknown_rest_path_is_404_and_wrong_method_405(fake_routes):
    assert router.route(None, "GET", "/2015-03-31/nothing/here", {}, b"")[0] == 404
    assert router.route(None, "DELETE", "/2015-03-31/bad", {}, b"")[0] == 405


def test_prepare_builds_every_request_check_before_the_first_request():
    """A server builds its request checks at start (api.dispatch.prepare), so the first request of an
    operation does not wait ~150 ms for botocore's service model."""
    from eddydb.api import dispatch

    dispatch.prepare()
    assert set(dispatch._CHECKS) >= set(dispatch.handlers())
    with pytest.raises(Exception) as e:   # and the prepared checks are the ones requests use
        dispatch._CHECKS["DynamoDB_20120810.GetItem"]({"TableName": 7})
    assert type(e.value).__name__ in ("SerializationException", "ValidationException")
