"""To-do lists whose task count is maintained by a stream trigger.

Creates `todoListTask` (listId, taskId) with a stream and `todoListStats` (listId), deploys
handler.py as a Lambda function with an event source mapping on the stream, adds and removes
tasks, and checks that every list's taskCount matches its tasks. Run: python examples/todo_counts/run.py
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from local import client, deploy, local_server, wait_enabled, wait_until  # noqa: E402


def main() -> None:
    with local_server() as url:
        ddb, lam = client("dynamodb", url), client("lambda", url)
        ddb.create_table(TableName="todoListTask",
                         KeySchema=[{"AttributeName": "listId", "KeyType": "HASH"},
                                    {"AttributeName": "taskId", "KeyType": "RANGE"}],
                         AttributeDefinitions=[{"AttributeName": "listId", "AttributeType": "S"},
                                               {"AttributeName": "taskId", "AttributeType": "S"}],
                         BillingMode="PAY_PER_REQUEST",
                         StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"})
        ddb.create_table(TableName="todoListStats", KeySchema=[{"AttributeName": "listId", "KeyType": "HASH"}],
                         AttributeDefinitions=[{"AttributeName": "listId", "AttributeType": "S"}],
                         BillingMode="PAY_PER_REQUEST")
        stream = ddb.describe_table(TableName="todoListTask")["Table"]["LatestStreamArn"]
        deploy(lam, "todoTaskCounter", os.path.join(HERE, "handler.py"))
        mapping = lam.create_event_source_mapping(EventSourceArn=stream, FunctionName="todoTaskCounter",
                                                  StartingPosition="LATEST", BatchSize=25)
        wait_enabled(lam, mapping["UUID"])

        tasks = {"groceries": ["milk", "eggs", "bread", "coffee"], "work": ["report", "review"], "home": ["plants"]}
        for list_id, names in tasks.items():
            for name in names:
                ddb.put_item(TableName="todoListTask",
                             Item={"listId": {"S": list_id}, "taskId": {"S": name}, "title": {"S": name.title()}})
        ddb.delete_item(TableName="todoListTask", Key={"listId": {"S": "groceries"}, "taskId": {"S": "coffee"}})
        ddb.put_item(TableName="todoListTask",   # an update of an existing task: MODIFY, no change in count
                     Item={"listId": {"S": "work"}, "taskId": {"S": "report"}, "title": {"S": "Report (v2)"}})
        expected = {"groceries": 3, "work": 2, "home": 1}

        def counts():
            items = ddb.scan(TableName="todoListStats")["Items"]
            return {i["listId"]["S"]: int(i["taskCount"]["N"]) for i in items}

        wait_until(lambda: counts() == expected, 20, f"task counts {expected}")
        for list_id, n in sorted(counts().items()):
            print(f"{list_id}: {n} task(s)")
        print("OK: todoListStats matches todoListTask")


if __name__ == "__main__":
    main()
