"""Shared pieces of the trigger tests: the recording stream handler (deployed as a Lambda
function; it appends what it received to the JSON-lines file named by its OUT variable) and the
zip packaging. Behaviour is driven by the items written:
- `poison: true`          -> the invocation fails (raises; with REPORT=1 it reports the record instead)
- `fail_times: n`         -> fails the first n invocations that contain this key
- `sleep: seconds`        -> sleeps (timeouts)
Environment: OUT (the log file), REPORT=1 (ReportBatchItemFailures responses), WINDOW=1 (count
records in the tumbling-window state), BAD=<json> (return this JSON as the response).
"""
from __future__ import annotations

import io
import zipfile

ROLE = "arn:aws:iam::000000000000:role/eddydb-test"

HANDLER = r'''
import json, os, time

OUT = os.environ["OUT"]


def _log(entry):
    with open(OUT, "a") as f:
        # a leading newline too: a line cut by kill -9 never swallows the next entry
        f.write("\n" + json.dumps(entry) + "\n")


def _bump(key):
    path = OUT + ".count-" + key
    n = int(open(path).read()) if os.path.exists(path) else 0
    with open(path, "w") as f:
        f.write(str(n + 1))
    return n


def handler(event, context):
    recs = event.get("Records", [])
    images = [r["dynamodb"].get("NewImage") or r["dynamodb"].get("OldImage") or {} for r in recs]
    entry = {
        "keys": [r["dynamodb"]["Keys"]["pk"]["S"] for r in recs],
        "seqs": [r["dynamodb"]["SequenceNumber"] for r in recs],
        "names": [r["eventName"] for r in recs],
        "arns": [r.get("eventSourceARN") for r in recs],
        "vals": [int(i["v"]["N"]) if "v" in i else None for i in images],
        "t": time.time(),
        "pid": os.getpid(),
        "rid": context.aws_request_id,
    }
    for k in ("window", "state", "isFinalInvokeForWindow", "isWindowTerminatedEarly", "shardId", "eventSourceARN"):
        if k in event:
            entry[k] = event[k]
    if os.environ.get("BAD"):
        _log(entry)
        return json.loads(os.environ["BAD"])
    failed = []
    for r, img in zip(recs, images):
        if "sleep" in img:
            time.sleep(float(img["sleep"]["N"]))
        if img.get("poison", {}).get("BOOL"):
            failed.append(r)
        elif "fail_times" in img and _bump(r["dynamodb"]["Keys"]["pk"]["S"]) < int(img["fail_times"]["N"]):
            failed.append(r)
    entry["failed"] = [r["dynamodb"]["Keys"]["pk"]["S"] for r in failed]
    _log(entry)
    if os.environ.get("WINDOW"):
        state = dict(event.get("state") or {})
        state["count"] = state.get("count", 0) + len(recs)
        return {"state": state, "batchItemFailures": []}
    if failed:
        if os.environ.get("REPORT"):
            return {"batchItemFailures": [{"itemIdentifier": r["dynamodb"]["SequenceNumber"]} for r in failed]}
        raise RuntimeError("poison: " + ",".join(entry["failed"]))
    return None
'''



def create_stream_table(ddb, name: str, view: str = "NEW_AND_OLD_IMAGES") -> str:
    """Create a table keyed by the string `pk` with a stream of `view`; returns the stream ARN."""
    return ddb.create_table(
        TableName=name, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": view},
    )["TableDescription"]["LatestStreamArn"]


def create_handler_function(lam, name: str) -> None:
    """Create the Lambda function `name` running HANDLER (python3.12, app.handler)."""
    lam.create_function(FunctionName=name, Runtime="python3.12", Role=ROLE, Handler="app.handler",
                        Code={"ZipFile": make_zip({"app.py": HANDLER})})


def make_zip(files: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content in files.items():
            zf.writestr(name, content)
    return buf.getvalue()
