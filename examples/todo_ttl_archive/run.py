"""To-do tasks expire (Time to Live) into `todoListTaskArchived` through a stream trigger on the
REMOVE records of TTL deletes.

eddydb deletes an item within a second of its TTL attribute passing (the server's sweeper; or
`eddydb ttl sweep` / `db.ttl_sweep()` to make it happen now). Run: python examples/todo_ttl_archive/run.py
"""
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from local import client, deploy, local_server, wait_enabled, wait_until  # noqa: E402

TTL_DELETES = {"eventName": ["REMOVE"],
               "userIdentity": {"type": ["Service"], "principalId": ["dynamodb.amazonaws.com"]}}


def main() -> None:
    with local_server() as url:
        ddb, lam = client("dynamodb", url), client("lambda", url)
        for name, stream in (("todoListTask", True), ("todoListTaskArchived", False)):
            extra = {"StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}} \
                if stream else {}
            ddb.create_table(TableName=name,
                             KeySchema=[{"AttributeName": "listId", "KeyType": "HASH"},
                                        {"AttributeName": "taskId", "KeyType": "RANGE"}],
                             AttributeDefinitions=[{"AttributeName": "listId", "AttributeType": "S"},
                                                   {"AttributeName": "taskId", "AttributeType": "S"}],
                             BillingMode="PAY_PER_REQUEST", **extra)
        ddb.update_time_to_live(TableName="todoListTask",
                                TimeToLiveSpecification={"Enabled": True, "AttributeName": "expiresAt"})
        stream = ddb.describe_table(TableName="todoListTask")["Table"]["LatestStreamArn"]
        deploy(lam, "todoTaskArchiver", os.path.join(HERE, "handler.py"))
        mapping = lam.create_event_source_mapping(EventSourceArn=stream, FunctionName="todoTaskArchiver",
                                                  StartingPosition="LATEST",
                                                  FilterCriteria={"Filters": [{"Pattern": json.dumps(TTL_DELETES)}]})
        wait_enabled(lam, mapping["UUID"])

        now = int(time.time())
        tasks = [("home", "water-plants", now - 60),     # already expired: archived within a second
                 ("home", "taxes", now + 3600),          # expires in an hour: stays
                 ("work", "standup", now + 2),           # expires in two seconds: archived
                 ("work", "old-ticket", None)]           # no TTL: deleted by the user below, not archived
        for list_id, task, expires in tasks:
            item = {"listId": {"S": list_id}, "taskId": {"S": task}, "title": {"S": task.replace("-", " ")}}
            if expires is not None:
                item["expiresAt"] = {"N": str(expires)}
            ddb.put_item(TableName="todoListTask", Item=item)
        ddb.delete_item(TableName="todoListTask", Key={"listId": {"S": "work"}, "taskId": {"S": "old-ticket"}})

        def archived():
            return sorted((i["listId"]["S"], i["taskId"]["S"]) for i in ddb.scan(TableName="todoListTaskArchived")["Items"])

        wait_until(lambda: archived() == [("home", "water-plants"), ("work", "standup")], 20, "two archived tasks")
        remaining = sorted((i["listId"]["S"], i["taskId"]["S"]) for i in ddb.scan(TableName="todoListTask")["Items"])
        assert remaining == [("home", "taxes")], remaining
        print("archived:", archived())
        print("still open:", remaining)
        print("OK: expired tasks archived, user-deleted task not archived")


if __name__ == "__main__":
    main()
