"""Concurrent writers on one item, through boto3 (HTTP server and embedded): conditional
updates are serialised, so no update is lost and none is applied twice."""
from __future__ import annotations

import threading
from typing import Any

from botocore.exceptions import ClientError


def _run_threads(n: int, fn) -> list[BaseException]:
    errors: list[BaseException] = []
    barrier = threading.Barrier(n)

    def run(i: int) -> None:
        try:
            barrier.wait(10)
            fn(i)
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return errors


def _counter(client: Any, table: str) -> int:
    item = client.get_item(TableName=table, Key={"pk": {"S": "counter"}}, ConsistentRead=True)["Item"]
    return int(item["n"]["N"])


def test_conditional_increments_lose_no_update(dynamodb, make_table):
    table = make_table()
    dynamodb.put_item(TableName=table, Item={"pk": {"S": "counter"}, "n": {"N": "0"}})
    successes = [0] * 8
    conflicts = [0] * 8

    def worker(i: int) -> None:
        for _ in range(15):
            while True:
                seen = _counter(dynamodb, table)
                try:
                    dynamodb.update_item(
                        TableName=table, Key={"pk": {"S": "counter"}},
                        UpdateExpression="SET n = :new", ConditionExpression="n = :seen",
                        ExpressionAttributeValues={":new": {"N": str(seen + 1)}, ":seen": {"N": str(seen)}})
                except ClientError as e:
                    if e.response["Error"]["Code"] != "ConditionalCheckFailedException":
                        raise
                    conflicts[i] += 1
                    continue
                successes[i] += 1
                break

    errors = _run_threads(8, worker)
    assert not errors, errors[:3]
    assert sum(successes) == 8 * 15
    assert _counter(dynamodb, table) == sum(successes)


def test_concurrent_atomic_adds_all_count(dynamodb, make_table):
    table = make_table()

    def worker(i: int) -> None:
        for _ in range(25):
            dynamodb.update_item(TableName=table, Key={"pk": {"S": "counter"}}, UpdateExpression="ADD n :one",
                                 ExpressionAttributeValues={":one": {"N": "1"}})

    errors = _run_threads(8, worker)
    assert not errors, errors[:3]
    assert _counter(dynamodb, table) == 200


def test_only_one_of_many_racing_creates_wins(dynamodb, make_table):
    table = make_table()
    winners: list[int] = []

    def worker(i: int) -> None:
        try:
            dynamodb.put_item(TableName=table, Item={"pk": {"S": "once"}, "owner": {"N": str(i)}},
                              ConditionExpression="attribute_not_exists(pk)")
            winners.append(i)
        except ClientError as e:
            if e.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise

    errors = _run_threads(16, worker)
    assert not errors, errors[:3]
    assert len(winners) == 1
    item = dynamodb.get_item(TableName=table, Key={"pk": {"S": "once"}}, ConsistentRead=True)["Item"]
    assert item["owner"]["N"] == str(winners[0])
