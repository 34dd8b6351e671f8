"""Lambda handler: records a notification for each zero-amount invoice transaction.

Its event source mapping filters the stream (FilterCriteria: NewImage.amount numeric = 0), so this
function only ever sees zero-amount transactions."""
import os

import boto3

NOTIFICATIONS = os.environ.get("NOTIFICATIONS_TABLE", "invoiceNotifications")
ddb = boto3.client("dynamodb")


def handler(event, context):
    for record in event["Records"]:
        image = record["dynamodb"]["NewImage"]
        ddb.put_item(TableName=NOTIFICATIONS, Item={
            "notificationId": {"S": record["eventID"]},
            "invoiceId": image["invoiceId"],
            "transactionId": image["transactionId"],
            "message": {"S": "zero-amount transaction"},
        })
