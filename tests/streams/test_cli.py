"""`eddydb stream tail TABLE`: JSON lines and the readable diff, from the start or live (LATEST),
against the session server."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading

from click.testing import CliRunner

from eddydb.cli.stream import render_change, stream


def test_tail_json_from_start(dynamodb_server, eddy_server, make_table):
    name = make_table(stream=True)
    dynamodb_server.put_item(TableName=name, Item={"pk": {"S": "a"}, "v": {"N": "1"}})
    dynamodb_server.put_item(TableName=name, Item={"pk": {"S": "a"}, "v": {"N": "2"}})
    dynamodb_server.delete_item(TableName=name, Key={"pk": {"S": "a"}})
    res = CliRunner().invoke(stream, ["tail", name, "--endpoint-url", eddy_server.url, "--json", "--from-start",
                                      "--max-records", "3"])
    assert res.exit_code == 0, res.output
    lines = [json.loads(x) for x in res.stdout.splitlines() if x.startswith("{")]
    assert [r["eventName"] for r in lines] == ["INSERT", "MODIFY", "REMOVE"]
    assert lines[1]["dynamodb"]["OldImage"]["v"] == {"N": "1"}
    assert isinstance(lines[0]["dynamodb"]["ApproximateCreationDateTime"], int)


def test_tail_without_stream_fails_clearly(dynamodb_server, eddy_server, make_table):
    name = make_table()
    res = CliRunner().invoke(stream, ["tail", name, "--endpoint-url", eddy_server.url])
    assert res.exit_code != 0 and "no enabled stream" in res.output


def test_tail_follows_live_changes_from_latest(dynamodb_server, eddy_server, make_table):
    name = make_table(stream=True)
    dynamodb_server.put_item(TableName=name, Item={"pk": {"S": "before"}})
    env = dict(os.environ, EDDYDB_ENDPOINT=eddy_server.url, NO_COLOR="1")
    proc = subprocess.Popen([sys.executable, "-m", "eddydb", "stream", "tail", name, "--max-records", "2",
                             "--poll", "0.02"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
    try:
        ready = threading.Event()
        threading.Thread(target=lambda: (proc.stderr.readline(), ready.set()), daemon=True).start()
        assert ready.wait(30), "tail did not start"
        # LATEST is taken before the banner is printed: these writes come after it.
        dynamodb_server.put_item(TableName=name, Item={"pk": {"S": "live"}, "v": {"N": "1"}})
        dynamodb_server.update_item(TableName=name, Key={"pk": {"S": "live"}}, UpdateExpression="SET v = :v, w = :w",
                                    ExpressionAttributeValues={":v": {"N": "2"}, ":w": {"S": "new"}})
        out, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0
    assert "before" not in out
    assert "INSERT" in out and "MODIFY" in out and 'pk="live"' in out
    assert "~ v: 1 -> 2" in out and '+ w: "new"' in out


def test_render_change_diff_lines():
    rec = {"eventName": "MODIFY", "dynamodb": {
        "Keys": {"pk": {"S": "k"}}, "SequenceNumber": "100000000000000000042",
        "OldImage": {"pk": {"S": "k"}, "a": {"N": "1"}, "gone": {"BOOL": True}, "same": {"SS": ["x"]}},
        "NewImage": {"pk": {"S": "k"}, "a": {"N": "2"}, "added": {"M": {"x": {"NULL": True}}}, "same": {"SS": ["x"]}},
    }}
    lines = [text for _style, text in render_change(rec)]
    assert lines[0].split()[1:3] == ["MODIFY", 'pk="k"']
    assert lines[1:] == ["    ~ a: 1 -> 2", '    + added: {"x": null}', "    - gone: true"]
