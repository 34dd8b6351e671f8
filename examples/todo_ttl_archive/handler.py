"""Lambda handler: moves expired to-do tasks into `todoListTaskArchived`.

Its event source mapping only passes REMOVE records made by TTL expiry (FilterCriteria on
userIdentity), so tasks a user deletes are not archived. Runs unchanged on AWS."""
import os
import time

import boto3

ARCHIVE = os.environ.get("ARCHIVE_TABLE", "todoListTaskArchived")
ddb = boto3.client("dynamodb")


def handler(event, context):
    for record in event["Records"]:
        item = dict(record["dynamodb"]["OldImage"])
        item["archivedAt"] = {"N": str(int(time.time()))}
        ddb.put_item(TableName=ARCHIVE, Item=item)
