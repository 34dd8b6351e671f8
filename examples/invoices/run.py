"""Invoice transactions: a total per invoice aggregated by one trigger, zero-amount transactions
sent to a notification table by a second, filtered trigger on the same stream.

Run: python examples/invoices/run.py
"""
import json
import os
import sys
from decimal import Decimal

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from local import client, deploy, local_server, wait_enabled, wait_until  # noqa: E402

ZERO_AMOUNT = {"eventName": ["INSERT"], "dynamodb": {"NewImage": {"amount": {"N": [{"numeric": ["=", 0]}]}}}}


def _table(ddb, name, hash_key, range_key=None, stream=False):
    keys = [{"AttributeName": hash_key, "KeyType": "HASH"}]
    attrs = [{"AttributeName": hash_key, "AttributeType": "S"}]
    if range_key:
        keys.append({"AttributeName": range_key, "KeyType": "RANGE"})
        attrs.append({"AttributeName": range_key, "AttributeType": "S"})
    extra = {"StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}} if stream else {}
    ddb.create_table(TableName=name, KeySchema=keys, AttributeDefinitions=attrs, BillingMode="PAY_PER_REQUEST",
                     **extra)


def main() -> None:
    with local_server() as url:
        ddb, lam = client("dynamodb", url), client("lambda", url)
        _table(ddb, "invoiceTransactions", "invoiceId", "transactionId", stream=True)
        _table(ddb, "invoiceTotals", "invoiceId")
        _table(ddb, "invoiceNotifications", "notificationId")
        stream = ddb.describe_table(TableName="invoiceTransactions")["Table"]["LatestStreamArn"]
        deploy(lam, "invoiceAggregate", os.path.join(HERE, "aggregate.py"), "handler.handler")
        deploy(lam, "invoiceNotifyZero", os.path.join(HERE, "notify_zero.py"), "handler.handler")
        m1 = lam.create_event_source_mapping(EventSourceArn=stream, FunctionName="invoiceAggregate",
                                             StartingPosition="LATEST", BatchSize=100,
                                             MaximumBatchingWindowInSeconds=1)
        m2 = lam.create_event_source_mapping(EventSourceArn=stream, FunctionName="invoiceNotifyZero",
                                             StartingPosition="LATEST",
                                             FilterCriteria={"Filters": [{"Pattern": json.dumps(ZERO_AMOUNT)}]})
        wait_enabled(lam, m1["UUID"])
        wait_enabled(lam, m2["UUID"])

        transactions = [("INV-1", "t1", "19.99"), ("INV-1", "t2", "5.01"), ("INV-2", "t1", "0"),
                        ("INV-2", "t2", "100"), ("INV-3", "t1", "0.00"), ("INV-1", "t3", "75")]
        for invoice, tx, amount in transactions:
            ddb.put_item(TableName="invoiceTransactions", Item={
                "invoiceId": {"S": invoice}, "transactionId": {"S": tx}, "amount": {"N": amount}})
        expected = {}
        for invoice, _, amount in transactions:
            expected[invoice] = expected.get(invoice, Decimal(0)) + Decimal(amount)

        def totals():
            items = ddb.scan(TableName="invoiceTotals")["Items"]
            return {i["invoiceId"]["S"]: Decimal(i["total"]["N"]) for i in items}

        def notified():
            items = ddb.scan(TableName="invoiceNotifications")["Items"]
            return sorted((i["invoiceId"]["S"], i["transactionId"]["S"]) for i in items)

        wait_until(lambda: totals() == expected, 20, f"invoice totals {expected}")
        wait_until(lambda: notified() == [("INV-2", "t1"), ("INV-3", "t1")], 20, "two zero-amount notifications")
        for invoice, total in sorted(totals().items()):
            print(f"{invoice}: total {total}")
        print("zero-amount notifications:", notified())
        print("OK: totals aggregated, zero-amount transactions notified")


if __name__ == "__main__":
    main()
