"""Property: for random sequences of put / update / delete / conditional put / transaction on a few
keys, replaying the stream's images reproduces the table, every OldImage is exactly the previous
state and every eventName matches it (INSERT from absent, MODIFY, REMOVE)."""
from __future__ import annotations

import itertools

import pytest
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from streamutil import read_stream, stream_arn
from util import client_config

KEYS = ["a", "b", "c"]
_names = itertools.count()

value = st.one_of(
    st.integers(-3, 3).map(lambda n: {"N": str(n)}),
    st.sampled_from(["x", "y"]).map(lambda s: {"S": s}),
    st.sampled_from([["p"], ["p", "q"]]).map(lambda ss: {"SS": ss}),
    st.dictionaries(st.sampled_from(["m1", "m2"]), st.integers(0, 1).map(lambda n: {"N": str(n)}),
                    max_size=2).map(lambda m: {"M": m}),
)
attrs = st.dictionaries(st.sampled_from(["u", "v", "w"]), value, max_size=3)
key = st.sampled_from(KEYS)
op = st.one_of(
    st.tuples(st.just("put"), key, attrs),
    st.tuples(st.just("put_if_absent"), key, attrs),
    st.tuples(st.just("set"), key, st.sampled_from(["u", "v"]), value),
    st.tuples(st.just("remove"), key, st.sampled_from(["u", "v", "w"])),
    st.tuples(st.just("add"), key, st.integers(-1, 1)),
    st.tuples(st.just("delete"), key),
    st.tuples(st.just("transact"), st.lists(st.tuples(key, attrs, st.booleans()), min_size=1, max_size=3,
                                            unique_by=lambda t: t[0])),
)


@pytest.fixture(scope="module")
def clients(eddy_embedded):
    return eddy_embedded.client("dynamodb", config=client_config()), \
        eddy_embedded.client("dynamodbstreams", config=client_config())


def _apply(ddb, table, o):
    kind = o[0]
    if kind == "put":
        ddb.put_item(TableName=table, Item={"pk": {"S": o[1]}, **o[2]})
    elif kind == "put_if_absent":
        try:
            ddb.put_item(TableName=table, Item={"pk": {"S": o[1]}, **o[2]}, ConditionExpression="attribute_not_exists(pk)")
        except ClientError as e:
            assert e.response["Error"]["Code"] == "ConditionalCheckFailedException"
    elif kind == "set":
        ddb.update_item(TableName=table, Key={"pk": {"S": o[1]}}, UpdateExpression="SET #a = :v",
                        ExpressionAttributeNames={"#a": o[2]}, ExpressionAttributeValues={":v": o[3]})
    elif kind == "remove":
        ddb.update_item(TableName=table, Key={"pk": {"S": o[1]}}, UpdateExpression="REMOVE #a",
                        ExpressionAttributeNames={"#a": o[2]})
    elif kind == "add":
        try:
            ddb.update_item(TableName=table, Key={"pk": {"S": o[1]}}, UpdateExpression="ADD n :d",
                            ExpressionAttributeValues={":d": {"N": str(o[2])}})
        except ClientError as e:
            assert e.response["Error"]["Code"] == "ValidationException"
    elif kind == "delete":
        ddb.delete_item(TableName=table, Key={"pk": {"S": o[1]}})
    else:
        items = []
        for k, a, delete in o[1]:
            if delete:
                items.append({"Delete": {"TableName": table, "Key": {"pk": {"S": k}}}})
            else:
                items.append({"Put": {"TableName": table, "Item": {"pk": {"S": k}, **a}}})
        ddb.transact_write_items(TransactItems=items)


def _canon(v):
    """Value-equality form of an attribute value (sets unordered)."""
    (t, x), = v.items()
    if t in ("SS", "NS", "BS"):
        return (t, frozenset(x))
    if t == "M":
        return (t, frozenset((k, _canon(y)) for k, y in x.items()))
    if t == "L":
        return (t, tuple(_canon(y) for y in x))
    return (t, x)


def _item(d):
    return None if d is None else frozenset((k, _canon(v)) for k, v in d.items())


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(op, min_size=1, max_size=12))
def test_replaying_the_stream_reproduces_the_table(clients, ops):
    ddb, streams = clients
    table = f"prop-{next(_names)}"
    ddb.create_table(TableName=table, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                     BillingMode="PAY_PER_REQUEST",
                     StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
    try:
        for o in ops:
            _apply(ddb, table, o)
        state: dict[str, dict] = {}
        for r in read_stream(streams, stream_arn(ddb, table)):
            k = r["dynamodb"]["Keys"]["pk"]["S"]
            before = state.get(k)
            assert _item(r["dynamodb"].get("OldImage")) == _item(before)
            if r["eventName"] == "INSERT":
                assert before is None
            else:
                assert before is not None
            if r["eventName"] == "REMOVE":
                assert "NewImage" not in r["dynamodb"]
                del state[k]
            else:
                assert _item(r["dynamodb"]["NewImage"]) != _item(before)  # no record for a no-op
                state[k] = r["dynamodb"]["NewImage"]
        table_items = {i["pk"]["S"]: i for i in ddb.scan(TableName=table, ConsistentRead=True)["Items"]}
        assert {k: _item(v) for k, v in state.items()} == {k: _item(v) for k, v in table_items.items()}
    finally:
        ddb.delete_table(TableName=table)
