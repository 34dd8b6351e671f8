"""Lambda handler: keeps `todoListStats.taskCount` equal to the number of tasks of each list.

Runs unchanged on AWS Lambda with a DynamoDB stream trigger on `todoListTask`. On eddydb the
function's boto3 talks to eddydb through AWS_ENDPOINT_URL, which eddydb sets for it."""
import os

import boto3

STATS = os.environ.get("STATS_TABLE", "todoListStats")
ddb = boto3.client("dynamodb")


def handler(event, context):
    delta = {}
    for record in event["Records"]:
        list_id = record["dynamodb"]["Keys"]["listId"]["S"]
        if record["eventName"] == "INSERT":
            delta[list_id] = delta.get(list_id, 0) + 1
        elif record["eventName"] == "REMOVE":
            delta[list_id] = delta.get(list_id, 0) - 1
    for list_id, n in delta.items():
        if n:
            ddb.update_item(TableName=STATS, Key={"listId": {"S": list_id}},
                            UpdateExpression="ADD taskCount :n", ExpressionAttributeValues={":n": {"N": str(n)}})
    return {"lists": len(delta)}
