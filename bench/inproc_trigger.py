"""In-process trigger throughput, run as its own process by bench/suites/triggers.py:

    python bench/inproc_trigger.py N DATA_DIR

Opens `eddydb.open(DATA_DIR)` (durable), writes N items to a table with a NEW_IMAGE stream through
the embedded boto3 client, then registers `db.on_change(table, fn, batch_size=100, starting from
TRIM_HORIZON)` and times until `fn` has seen N records. Prints one JSON line.
"""
from __future__ import annotations

import json
import sys
import threading
import time


def main() -> int:
    n, data = int(sys.argv[1]), sys.argv[2]
    try:
        import eddydb
        db = eddydb.open(data)
    except Exception as e:  # noqa: BLE001
        print(json.dumps({"skipped": f"eddydb.open failed: {e!r}"[:300]}))
        return 0
    try:
        ddb = db.client("dynamodb")
        ddb.create_table(TableName="inproc", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                         AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                         BillingMode="PAY_PER_REQUEST",
                         StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"})
        t0 = time.perf_counter()
        for b in range(n // 25):
            ddb.batch_write_item(RequestItems={"inproc": [
                {"PutRequest": {"Item": {"pk": {"S": f"i{b}-{j}"}, "n": {"N": str(b)}, "s": {"S": "x" * 64}}}}
                for j in range(25)]})
        load_s = time.perf_counter() - t0
        seen = [0]
        batches = [0]
        done = threading.Event()
        first = [0.0]

        def fn(event, *args):
            if not first[0]:
                first[0] = time.perf_counter()
            seen[0] += len(event["Records"])
            batches[0] += 1
            if seen[0] >= n:
                done.set()

        attempts = [{"batch_size": 100, "starting_position": "TRIM_HORIZON"},
                    {"BatchSize": 100, "StartingPosition": "TRIM_HORIZON"},
                    {"batch_size": 100}]
        t0 = time.perf_counter()
        err = None
        for kw in attempts:
            try:
                db.on_change("inproc", fn, **kw)
                err = None
                break
            except TypeError as e:
                err = e
            except (AttributeError, ImportError, NotImplementedError) as e:
                print(json.dumps({"skipped": f"db.on_change not available yet: {e!r}"[:300]}))
                return 0
        if err is not None:
            print(json.dumps({"skipped": f"db.on_change signature not understood: {err!r}"[:300]}))
            return 0
        done.wait(max(120, n / 1000))
        secs = time.perf_counter() - t0
        print(json.dumps({"records": n, "delivered": seen[0], "batches": batches[0],
                          "avg_batch": round(seen[0] / batches[0], 1) if batches[0] else 0,
                          "seconds": round(secs, 3), "records_per_s": round(seen[0] / secs, 1),
                          "first_batch_after_s": round(first[0] - t0, 3) if first[0] else None,
                          "load_items_per_s": round(n / load_s, 1)}))
        return 0
    finally:
        db.close()


if __name__ == "__main__":
    sys.exit(main())
