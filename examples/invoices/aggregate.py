"""Lambda handler: adds each new invoice transaction's amount to its invoice's total in `invoiceTotals`.

Stream trigger on `invoiceTransactions` (invoiceId, transactionId, amount). Runs unchanged on AWS."""
import os
from decimal import Decimal

import boto3

TOTALS = os.environ.get("TOTALS_TABLE", "invoiceTotals")
ddb = boto3.client("dynamodb")


def handler(event, context):
    sums = {}
    for record in event["Records"]:
        if record["eventName"] != "INSERT":
            continue
        image = record["dynamodb"]["NewImage"]
        invoice = image["invoiceId"]["S"]
        sums[invoice] = sums.get(invoice, Decimal(0)) + Decimal(image["amount"]["N"])
    for invoice, amount in sums.items():
        ddb.update_item(TableName=TOTALS, Key={"invoiceId": {"S": invoice}},
                        UpdateExpression="ADD #total :a, #count :one",
                        ExpressionAttributeNames={"#total": "total", "#count": "transactions"},
                        ExpressionAttributeValues={":a": {"N": str(amount)}, ":one": {"N": "1"}})
