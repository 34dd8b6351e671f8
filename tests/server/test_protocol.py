"""The wire protocol of the HTTP server, spoken raw (http.client / sockets) the way SDKs speak
it: JSON 1.0 targets, the headers SDKs check, error bodies, keep-alive, pipelining, gzip."""
from __future__ import annotations

import gzip
import http.client
import json
import re
import socket
import threading
import zlib
from urllib.parse import urlsplit

import pytest

TARGET = "DynamoDB_20120810."
# Any signature is accepted; DynamoDB only insists that there is one.
AUTH = ("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/dynamodb/aws4_request, "
        "SignedHeaders=host;x-amz-date;x-amz-target, Signature=" + "0" * 64)
RAW_AUTH = b"Authorization: " + AUTH.encode() + b"\r\n"


def _conn(url: str) -> http.client.HTTPConnection:
    u = urlsplit(url)
    return http.client.HTTPConnection(u.hostname, u.port, timeout=10)


def _post(url: str, op: str | None, body: bytes | str, headers: dict | None = None):
    c = _conn(url)
    h = {"Content-Type": "application/x-amz-json-1.0", "Authorization": AUTH}
    if op is not None:
        h["X-Amz-Target"] = op if "." in op else TARGET + op
    h.update(headers or {})
    c.request("POST", "/", body=body, headers=h)
    r = c.getresponse()
    data = r.read()
    c.close()
    return r, data


@pytest.fixture
def url(eddy_server):
    return eddy_server.url


def test_health_check_answers_like_dynamodb(url):
    c = _conn(url)
    c.request("GET", "/")
    r = c.getresponse()
    assert r.status == 200
    assert r.read().decode() == "healthy: " + urlsplit(url).netloc


def test_health_check_in_json_has_status_and_version(url):
    c = _conn(url)
    c.request("GET", "/", headers={"Accept": "application/json"})
    r = c.getresponse()
    body = json.loads(r.read())
    assert r.status == 200
    assert r.getheader("Content-Type") == "application/json"
    assert body["status"] == "ok"
    assert body["version"]


@pytest.mark.parametrize("path", ["/abc", "/-", "/index.htm", "/health"])
def test_health_check_is_only_on_the_root_path(url, path):
    c = _conn(url)
    c.request("GET", path)
    r = c.getresponse()
    r.read()
    assert 400 <= r.status <= 404


def test_every_response_has_crc32_of_its_body(url):
    for op, body in (("ListTables", "{}"), ("NoSuchOperation", "{}"), ("ListTables", "{not json")):
        r, data = _post(url, op, body)
        assert int(r.getheader("x-amz-crc32")) == zlib.crc32(data)
        assert int(r.getheader("Content-Length")) == len(data)


def test_every_response_has_a_uuid_request_id_unique_per_request(url):
    ids = set()
    for _ in range(5):
        r, _ = _post(url, "ListTables", "{}")
        rid = r.getheader("x-amzn-RequestId")
        assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", rid)
        ids.add(rid)
    assert len(ids) == 5


def test_dynamodb_responses_are_amz_json(url):
    r, data = _post(url, "ListTables", "{}")
    assert r.status == 200
    assert r.getheader("Content-Type") == "application/x-amz-json-1.0"
    assert "TableNames" in json.loads(data)


def test_malformed_json_is_serialization_exception(url):
    r, data = _post(url, "ListTables", '{"Limit": 3')
    assert r.status == 400
    assert json.loads(data)["__type"].endswith("#SerializationException")


def test_json_that_is_not_an_object_is_serialization_exception(url):
    r, data = _post(url, "ListTables", "[1, 2]")
    assert r.status == 400
    assert json.loads(data)["__type"].endswith("#SerializationException")


def test_unknown_operation_is_unknown_operation_exception(url):
    r, data = _post(url, "DoSomethingElse", "{}")
    assert r.status == 400
    assert json.loads(data)["__type"] == "com.amazon.coral.service#UnknownOperationException"


def test_unknown_api_version_is_unknown_operation_exception(url):
    r, data = _post(url, "DynamoDB_20111205.ListTables", "{}")
    assert r.status == 400
    assert json.loads(data)["__type"].endswith("#UnknownOperationException")


@pytest.mark.parametrize("headers", [{}, {"X-Amz-Target": ""}])
def test_missing_or_blank_target_is_unknown_operation_exception(url, headers):
    r, data = _post(url, None, "{}", headers)
    assert r.status == 400
    assert json.loads(data)["__type"].endswith("#UnknownOperationException")


def test_gzip_request_body_is_accepted(url):
    body = gzip.compress(b'{"Limit": 5}')
    r, data = _post(url, "ListTables", body, {"Content-Encoding": "gzip"})
    assert r.status == 200, data
    assert "TableNames" in json.loads(data)


def test_corrupt_gzip_body_is_serialization_exception(url):
    r, data = _post(url, "ListTables", b"\x1f\x8bnot really gzip", {"Content-Encoding": "gzip"})
    assert r.status == 400
    assert json.loads(data)["__type"].endswith("#SerializationException")


def test_chunked_request_body_is_accepted(url):
    c = _conn(url)
    c.putrequest("POST", "/")
    c.putheader("X-Amz-Target", TARGET + "ListTables")
    c.putheader("Authorization", AUTH)
    c.putheader("Transfer-Encoding", "chunked")
    c.endheaders()
    for piece in (b'{"Li', b'mit": ', b"5}"):
        c.send(b"%x\r\n%s\r\n" % (len(piece), piece))
    c.send(b"0\r\n\r\n")
    r = c.getresponse()
    assert r.status == 200, r.read()


def test_unknown_rest_path_is_404(url):
    c = _conn(url)
    c.request("GET", "/no/such/path")
    r = c.getresponse()
    r.read()
    assert r.status == 404
    assert r.getheader("x-amz-crc32") is not None


def test_head_has_headers_but_no_body(url):
    c = _conn(url)
    c.request("HEAD", "/")
    r = c.getresponse()
    assert r.status == 200
    assert r.read() == b""
    assert int(r.getheader("Content-Length")) > 0


def test_keep_alive_serves_many_requests_on_one_connection(url):
    c = _conn(url)
    for _ in range(50):
        c.request("POST", "/", body="{}", headers={"X-Amz-Target": TARGET + "ListTables", "Authorization": AUTH})
        r = c.getresponse()
        r.read()
        assert r.status == 200
    sock = c.sock
    c.request("GET", "/")
    c.getresponse().read()
    assert c.sock is sock  # never reconnected


def test_connection_close_is_honoured(url):
    c = _conn(url)
    c.request("GET", "/", headers={"Connection": "close"})
    r = c.getresponse()
    r.read()
    assert r.getheader("Connection") == "close"
    assert r.will_close


def test_pipelined_requests_are_answered_in_order(url):
    u = urlsplit(url)
    reqs = b""
    for limit in range(1, 11):
        body = b'{"Limit": %d}' % limit
        reqs += (b"POST / HTTP/1.1\r\nHost: x\r\n%sX-Amz-Target: DynamoDB_20120810.%s\r\nContent-Length: %d\r\n\r\n%s"
                 % (RAW_AUTH, b"ListTables" if limit % 2 else b"Nope", len(body), body))
    with socket.create_connection((u.hostname, u.port), timeout=10) as s:
        s.sendall(reqs)
        f = s.makefile("rb")
        statuses = []
        for _ in range(10):
            status = int(f.readline().split()[1])
            length = 0
            while True:
                line = f.readline()
                if line in (b"\r\n", b""):
                    break
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            f.read(length)
            statuses.append(status)
    assert statuses == [200 if n % 2 else 400 for n in range(1, 11)]


def test_many_concurrent_keep_alive_connections(url):
    errors: list[BaseException] = []
    n_conns, n_reqs = 64, 20
    barrier = threading.Barrier(n_conns)

    def client() -> None:
        try:
            c = _conn(url)
            c.connect()
            barrier.wait(10)
            for _ in range(n_reqs):
                c.request("POST", "/", body="{}", headers={"X-Amz-Target": TARGET + "ListTables", "Authorization": AUTH})
                r = c.getresponse()
                data = r.read()
                assert r.status == 200 and zlib.crc32(data) == int(r.getheader("x-amz-crc32"))
            c.close()
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=client) for _ in range(n_conns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors[:3]


def test_garbage_request_line_gets_400_and_close(url):
    u = urlsplit(url)
    with socket.create_connection((u.hostname, u.port), timeout=10) as s:
        s.sendall(b"THIS IS NOT HTTP\r\n\r\n")
        data = s.recv(4096)
        assert data.startswith(b"HTTP/1.1 400")


def test_expect_100_continue_is_answered(url):
    u = urlsplit(url)
    body = b"{}"
    with socket.create_connection((u.hostname, u.port), timeout=10) as s:
        s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: DynamoDB_20120810.ListTables\r\n" + RAW_AUTH +
                  b"Expect: 100-continue\r\nContent-Length: %d\r\n\r\n" % len(body))
        first = s.recv(4096)
        assert first.startswith(b"HTTP/1.1 100 Continue")
        s.sendall(body)
        rest = first.split(b"\r\n\r\n", 1)[1]
        while b"\r\n\r\n" not in rest:
            rest += s.recv(4096)
        assert rest.startswith(b"HTTP/1.1 200")


def test_expect_100_continue_from_an_http_1_0_client_gets_no_interim_answer(url):
    u = urlsplit(url)
    body = b"{}"
    with socket.create_connection((u.hostname, u.port), timeout=10) as s:
        s.sendall(b"POST / HTTP/1.0\r\nHost: x\r\nX-Amz-Target: DynamoDB_20120810.ListTables\r\n" + RAW_AUTH +
                  b"Expect: 100-continue\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
        answer = b""
        while chunk := s.recv(4096):  # HTTP/1.0 without keep-alive: the server closes after it
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 200"), answer[:100]
    assert b"100 Continue" not in answer


def test_request_without_signature_is_missing_authentication_token(url):
    c = _conn(url)
    c.request("POST", "/", body="{}", headers={"X-Amz-Target": TARGET + "ListTables"})
    r = c.getresponse()
    body = json.loads(r.read())
    assert r.status == 400
    assert body["__type"] == "com.amazon.coral.service#MissingAuthenticationTokenException"
    assert body["message"] == "Request is missing Authentication Token"


def test_any_credentials_and_region_are_accepted(url):
    import boto3
    from util import client_config

    for region, key in (("eu-west-3", "AKIAANYTHING"), ("ap-southeast-2", "x")):
        client = boto3.client("dynamodb", endpoint_url=url, region_name=region, aws_access_key_id=key,
                              aws_secret_access_key="whatever", config=client_config())
        assert "TableNames" in client.list_tables()


def test_request_over_16_mib_is_refused_with_413(url):
    u = urlsplit(url)
    size = (16 << 20) + 1024
    with socket.create_connection((u.hostname, u.port), timeout=30) as s:
        s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: DynamoDB_20120810.PutItem\r\n" + RAW_AUTH +
                  b"Content-Length: %d\r\n\r\n" % size)
        try:
            chunk = b"x" * 65536
            for _ in range(size // len(chunk) + 1):
                s.sendall(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed before reading everything
        data = s.recv(4096)
    assert data.startswith(b"HTTP/1.1 413")


def test_bad_base64_is_serialization_exception_in_expression_attribute_values_too(url, make_table):
    t = make_table()
    for where in ({"Item": {"pk": {"S": "a"}, "b": {"B": "!!"}}},
                  {"Item": {"pk": {"S": "a"}}, "ConditionExpression": "b = :v",
                   "ExpressionAttributeValues": {":v": {"L": [{"B": "!!!!"}]}}}):
        r, data = _post(url, "PutItem", json.dumps({"TableName": t, **where}))
        assert r.status == 400
        assert json.loads(data)["__type"] == "com.amazon.coral.service#SerializationException", data


def test_streams_api_errors_are_named_in_the_dynamodb_namespace(eddy_server):
    # shared/reference/streams-and-triggers.md, Protocol: {"__type": "com.amazonaws.dynamodb.v20120810#<Name>"}
    arn = "arn:aws:dynamodb:us-east-1:000000000000:table/nope/stream/2026-01-01T00:00:00.000"
    r, data = _post(eddy_server.url, "DynamoDBStreams_20120810.DescribeStream", json.dumps({"StreamArn": arn}))
    assert r.status == 400
    assert json.loads(data)["__type"] == "com.amazonaws.dynamodb.v20120810#ResourceNotFoundException"
    r, data = _post(eddy_server.url, "DynamoDBStreams_20120810.GetShardIterator", json.dumps(
        {"StreamArn": arn, "ShardId": "shardId-1", "ShardIteratorType": "SOMEWHERE"}))
    assert r.status == 400
    assert json.loads(data)["__type"] == "com.amazonaws.dynamodb.v20120810#ValidationException"
    r, data = _post(eddy_server.url, "DynamoDBStreams_20120810.ListStreams", b"{not json")
    assert r.status == 400
    assert json.loads(data)["__type"] == "com.amazonaws.dynamodb.v20120810#SerializationException"


def test_data_plane_validation_errors_keep_coral_namespace(eddy_server):
    r, data = _post(eddy_server.url, "GetItem", json.dumps({"TableName": "t", "Key": {}, "Limit": "x"}))
    assert r.status == 400
    assert json.loads(data)["__type"].startswith("com.amazon.coral.")
