"""Differences found by comparing eddydb's read/write results with dynalite's, fixed on the
eddydb side (today's DynamoDB behaviour): one test per defect."""
from __future__ import annotations

from conformance.cfutil import raises

V = "ValidationException"
_KEY_PATH = r"Key attributes must be scalars; list random access '\[\]' and map lookup '.' are not allowed: IndexKey: l1"


def _lsi_table(mk, ddb):
    t = mk("pk", "sk", lsi={"byl": ("pk", "l1:S")})
    ddb.put_item(TableName=t, Item={"pk": {"S": "a"}, "sk": {"S": "1"}, "l1": {"S": "x"}, "g": {"S": "v"}})
    return t


def test_batch_get_projection_into_index_key_is_refused_as_in_get_item(ddb, mk):
    t = _lsi_table(mk, ddb)
    key = {"pk": {"S": "a"}, "sk": {"S": "1"}}
    with raises(V, _KEY_PATH):
        ddb.get_item(TableName=t, Key=key, ProjectionExpression="g, l1.z")
    with raises(V, _KEY_PATH):
        ddb.batch_get_item(RequestItems={t: {"Keys": [key], "ProjectionExpression": "g, l1.z"}})


def test_transact_get_projection_into_index_key_is_refused_as_in_get_item(ddb, mk):
    t = _lsi_table(mk, ddb)
    key = {"pk": {"S": "a"}, "sk": {"S": "1"}}
    with raises(V, _KEY_PATH):
        ddb.transact_get_items(TransactItems=[{"Get": {"TableName": t, "Key": key,
                                                       "ProjectionExpression": "g, #l[0]",
                                                       "ExpressionAttributeNames": {"#l": "l1"}}}])
