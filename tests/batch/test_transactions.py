"""TransactWriteItems and TransactGetItems through boto3: all-or-nothing, cancellation reasons in
request order, one operation per item, limits, ClientRequestToken idempotency, snapshot gets."""
from __future__ import annotations

import uuid

import pytest
from botocore.exceptions import ClientError
from util import table_stream_records


def _err(exc: pytest.ExceptionInfo) -> tuple[str, str]:
    e = exc.value.response["Error"]
    return e["Code"], e["Message"]


def _key(pk: str) -> dict:
    return {"pk": {"S": pk}}


def _get(ddb, t: str, pk: str) -> dict | None:
    return ddb.get_item(TableName=t, Key=_key(pk), ConsistentRead=True).get("Item")


def test_transaction_applies_every_kind_of_write(ddb, make_table):
    t = make_table()
    ddb.put_item(TableName=t, Item={"pk": {"S": "upd"}, "n": {"N": "1"}})
    ddb.put_item(TableName=t, Item={"pk": {"S": "del"}})
    ddb.put_item(TableName=t, Item={"pk": {"S": "chk"}, "ok": {"BOOL": True}})
    ddb.transact_write_items(TransactItems=[
        {"Put": {"TableName": t, "Item": {"pk": {"S": "new"}}, "ConditionExpression": "attribute_not_exists(pk)"}},
        {"Update": {"TableName": t, "Key": _key("upd"), "UpdateExpression": "ADD n :one",
                    "ExpressionAttributeValues": {":one": {"N": "1"}}}},
        {"Delete": {"TableName": t, "Key": _key("del")}},
        {"ConditionCheck": {"TableName": t, "Key": _key("chk"), "ConditionExpression": "ok = :t",
                            "ExpressionAttributeValues": {":t": {"BOOL": True}}}},
    ])
    assert _get(ddb, t, "new") == {"pk": {"S": "new"}}
    assert _get(ddb, t, "upd")["n"] == {"N": "2"}
    assert _get(ddb, t, "del") is None


def test_cancellation_reasons_are_in_request_order_and_nothing_is_written(ddb, make_table):
    t = make_table()
    ddb.put_item(TableName=t, Item={"pk": {"S": "exists"}, "v": {"S": "old"}})
    with pytest.raises(ClientError) as exc:
        ddb.transact_write_items(TransactItems=[
            {"Put": {"TableName": t, "Item": {"pk": {"S": "a"}}}},
            {"Put": {"TableName": t, "Item": {"pk": {"S": "exists"}, "v": {"S": "new"}},
                     "ConditionExpression": "attribute_not_exists(pk)",
                     "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}},
            {"Delete": {"TableName": t, "Key": _key("b")}},
            {"ConditionCheck": {"TableName": t, "Key": _key("missing"),
                                "ConditionExpression": "attribute_exists(pk)"}},
        ])
    code, msg = _err(exc)
    assert code == "TransactionCanceledException"
    assert msg == ("Transaction cancelled, please refer cancellation reasons for specific reasons "
                   "[None, ConditionalCheckFailed, None, ConditionalCheckFailed]")
    reasons = exc.value.response["CancellationReasons"]
    assert reasons[0] == {"Code": "None"}
    assert reasons[1] == {"Code": "ConditionalCheckFailed", "Message": "The conditional request failed",
                          "Item": {"pk": {"S": "exists"}, "v": {"S": "old"}}}
    assert reasons[2] == {"Code": "None"}
    assert reasons[3] == {"Code": "ConditionalCheckFailed", "Message": "The conditional request failed"}
    assert _get(ddb, t, "a") is None
    assert _get(ddb, t, "exists")["v"] == {"S": "old"}


def test_update_type_error_is_a_validation_error_reason(ddb, make_table):
    t = make_table()
    ddb.put_item(TableName=t, Item={"pk": {"S": "s"}, "n": {"S": "text"}})
    with pytest.raises(ClientError) as exc:
        ddb.transact_write_items(TransactItems=[
            {"Put": {"TableName": t, "Item": {"pk": {"S": "a"}}}},
            {"Update": {"TableName": t, "Key": _key("s"), "UpdateExpression": "SET n = n + :one",
                        "ExpressionAttributeValues": {":one": {"N": "1"}}}},
        ])
    assert _err(exc)[0] == "TransactionCanceledException"
    reasons = exc.value.response["CancellationReasons"]
    assert reasons[0] == {"Code": "None"}
    assert reasons[1]["Code"] == "ValidationError"
    assert _get(ddb, t, "a") is None


def test_multiple_operations_on_one_item(ddb, make_table):
    t = make_table()
    with pytest.raises(ClientError) as exc:
        ddb.transact_write_items(TransactItems=[
            {"Put": {"TableName": t, "Item": {"pk": {"S": "a"}}}},
            {"Delete": {"TableName": t, "Key": _key("a")}},
        ])
    assert _err(exc) == ("ValidationException", "Transaction request cannot include multiple operations on one item")


def test_more_than_100_items(ddb, make_table):
    t = make_table()
    with pytest.raises(ClientError) as exc:
        ddb.transact_write_items(TransactItems=[{"Put": {"TableName": t, "Item": {"pk": {"S": f"k{i}"}}}}
                                                for i in range(101)])
    code, msg = _err(exc)
    assert code == "ValidationException" and "less than or equal to 100" in msg


def test_hundred_items_is_fine(ddb, make_table):
    t = make_table()
    ddb.transact_write_items(TransactItems=[{"Put": {"TableName": t, "Item": {"pk": {"S": f"k{i}"}}}}
                                            for i in range(100)])
    assert ddb.scan(TableName=t, Select="COUNT")["Count"] == 100


def test_item_with_two_actions_is_invalid(ddb, make_table):
    t = make_table()
    with pytest.raises(ClientError) as exc:
        ddb.transact_write_items(TransactItems=[{"Put": {"TableName": t, "Item": {"pk": {"S": "a"}}},
                                                 "Delete": {"TableName": t, "Key": _key("a")}}])
    assert _err(exc)[0] == "ValidationException"


def test_missing_table(ddb):
    with pytest.raises(ClientError) as exc:
        ddb.transact_write_items(TransactItems=[{"Put": {"TableName": "no-such-table-xyz",
                                                         "Item": {"pk": {"S": "a"}}}}])
    assert _err(exc)[0] == "ResourceNotFoundException"


def test_client_request_token_makes_it_idempotent(ddb, make_table):
    t = make_table()
    token = str(uuid.uuid4())
    items = [{"Update": {"TableName": t, "Key": _key("c"), "UpdateExpression": "ADD n :one",
                         "ExpressionAttributeValues": {":one": {"N": "1"}}}}]
    ddb.transact_write_items(TransactItems=items, ClientRequestToken=token)
    ddb.transact_write_items(TransactItems=items, ClientRequestToken=token)
    assert _get(ddb, t, "c")["n"] == {"N": "1"}
    ddb.transact_write_items(TransactItems=items, ClientRequestToken=str(uuid.uuid4()))
    assert _get(ddb, t, "c")["n"] == {"N": "2"}


def test_same_token_with_other_parameters_is_a_mismatch(ddb, make_table):
    t = make_table()
    token = str(uuid.uuid4())
    ddb.transact_write_items(TransactItems=[{"Put": {"TableName": t, "Item": {"pk": {"S": "a"}}}}],
                             ClientRequestToken=token)
    with pytest.raises(ClientError) as exc:
        ddb.transact_write_items(TransactItems=[{"Put": {"TableName": t, "Item": {"pk": {"S": "b"}}}}],
                                 ClientRequestToken=token)
    assert _err(exc)[0] == "IdempotentParameterMismatchException"
    assert _get(ddb, t, "b") is None


def test_cancelled_transaction_does_not_bind_its_token(ddb, make_table):
    t = make_table()
    token = str(uuid.uuid4())
    items = [{"Put": {"TableName": t, "Item": {"pk": {"S": "a"}}, "ConditionExpression": "attribute_exists(pk)"}}]
    with pytest.raises(ClientError):
        ddb.transact_write_items(TransactItems=items, ClientRequestToken=token)
    ddb.put_item(TableName=t, Item={"pk": {"S": "a"}, "v": {"N": "1"}})
    ddb.transact_write_items(TransactItems=items, ClientRequestToken=token)
    assert _get(ddb, t, "a") == {"pk": {"S": "a"}}


def test_transaction_consumed_capacity_counts_double(ddb, make_table):
    t = make_table()
    r = ddb.transact_write_items(TransactItems=[{"Put": {"TableName": t, "Item": {"pk": {"S": "a"}}}}],
                                 ReturnConsumedCapacity="TOTAL")
    (cc,) = r["ConsumedCapacity"]
    assert cc["TableName"] == t and cc["CapacityUnits"] == 2.0


def test_transact_get_items_in_order_with_missing_and_projection(ddb, make_table):
    t = make_table()
    u = make_table(("pk", "S"), ("sk", "N"))
    ddb.put_item(TableName=t, Item={"pk": {"S": "a"}, "x": {"S": "1"}, "y": {"S": "2"}})
    ddb.put_item(TableName=u, Item={"pk": {"S": "b"}, "sk": {"N": "5"}})
    r = ddb.transact_get_items(TransactItems=[
        {"Get": {"TableName": u, "Key": {"pk": {"S": "b"}, "sk": {"N": "5"}}}},
        {"Get": {"TableName": t, "Key": _key("missing")}},
        {"Get": {"TableName": t, "Key": _key("a"), "ProjectionExpression": "x"}},
    ])
    assert r["Responses"] == [{"Item": {"pk": {"S": "b"}, "sk": {"N": "5"}}}, {}, {"Item": {"x": {"S": "1"}}}]


def test_transact_get_duplicate_item(ddb, make_table):
    t = make_table()
    with pytest.raises(ClientError) as exc:
        ddb.transact_get_items(TransactItems=[{"Get": {"TableName": t, "Key": _key("a")}},
                                              {"Get": {"TableName": t, "Key": _key("a")}}])
    assert _err(exc) == ("ValidationException", "Transaction request cannot include multiple operations on one item")


def test_transact_get_more_than_100(ddb, make_table):
    t = make_table()
    with pytest.raises(ClientError) as exc:
        ddb.transact_get_items(TransactItems=[{"Get": {"TableName": t, "Key": _key(f"k{i}")}} for i in range(101)])
    assert _err(exc)[0] == "ValidationException"


def test_transaction_with_stream_records_each_change(dynamodb_server, streams, make_table):
    ddb = dynamodb_server
    t = make_table(stream="NEW_AND_OLD_IMAGES")
    ddb.transact_write_items(TransactItems=[{"Put": {"TableName": t, "Item": {"pk": {"S": "a"}}}},
                                            {"Put": {"TableName": t, "Item": {"pk": {"S": "b"}}}}])
    records = table_stream_records(ddb, streams, t)
    assert sorted((r["eventName"], r["dynamodb"]["Keys"]["pk"]["S"]) for r in records) == [
        ("INSERT", "a"), ("INSERT", "b")]


def test_concurrent_transfers_conserve_the_total(eddy_embedded, make_table):
    """Transfers as transactions (conditional debit + credit) from several threads: all-or-nothing
    means the total never changes and no balance goes negative."""
    import random
    import threading

    from util import client_config

    ddb = eddy_embedded.client("dynamodb", config=client_config())
    t = make_table(client=ddb)
    accounts = [f"acct{i}" for i in range(6)]
    for a in accounts:
        ddb.put_item(TableName=t, Item={"pk": {"S": a}, "bal": {"N": "10"}})
    errors: list[BaseException] = []

    def worker(seed: int) -> None:
        rnd = random.Random(seed)
        try:
            for _ in range(40):
                src, dst = rnd.sample(accounts, 2)
                try:
                    ddb.transact_write_items(TransactItems=[
                        {"Update": {"TableName": t, "Key": _key(src), "UpdateExpression": "SET bal = bal - :one",
                                    "ConditionExpression": "bal >= :one",
                                    "ExpressionAttributeValues": {":one": {"N": "1"}}}},
                        {"Update": {"TableName": t, "Key": _key(dst), "UpdateExpression": "SET bal = bal + :one",
                                    "ExpressionAttributeValues": {":one": {"N": "1"}}}},
                    ])
                except ClientError as e:
                    assert e.response["Error"]["Code"] == "TransactionCanceledException"
        except BaseException as e:  # noqa: BLE001 - reported by the main thread
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors
    balances = [int(_get(ddb, t, a)["bal"]["N"]) for a in accounts]
    assert sum(balances) == 60 and min(balances) >= 0
