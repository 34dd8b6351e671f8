"""PartiQL writes reach the table's stream like any other write: one record per changed item, with the
old and new images captured in the write transaction; failed statements leave no record."""
from __future__ import annotations

from typing import Any

from pqutil import error_of, run
from util import table_stream_records, wait_for


def records(client: Any, streams: Any, table: str) -> list[dict]:
    return sorted(table_stream_records(client, streams, table), key=lambda r: int(r["dynamodb"]["SequenceNumber"]))


def test_each_partiql_write_is_one_stream_record(dynamodb: Any, partiql_streams: Any, make_table: Any) -> None:
    table = make_table(("pk", "S"), stream=True)
    run(dynamodb, f"INSERT INTO \"{table}\" VALUE {{'pk': 'a', 'n': 1}}")
    error_of(run, dynamodb, f"INSERT INTO \"{table}\" VALUE {{'pk': 'a', 'n': 9}}")          # duplicate: no record
    run(dynamodb, f"UPDATE \"{table}\" SET n = n + 1 WHERE pk = 'a'")
    error_of(run, dynamodb, f"UPDATE \"{table}\" SET n = 0 WHERE pk = 'a' AND n = 7")         # condition: no record
    run(dynamodb, f"UPDATE \"{table}\" SET n = 2 WHERE pk = 'a'")                             # no change: no record
    dynamodb.execute_transaction(TransactStatements=[
        {"Statement": f"INSERT INTO \"{table}\" VALUE {{'pk': 'b'}}"}])
    dynamodb.batch_execute_statement(Statements=[
        {"Statement": f"DELETE FROM \"{table}\" WHERE pk = 'a'"},
        {"Statement": f"DELETE FROM \"{table}\" WHERE pk = 'zzz'"}])                             # absent: no record
    def four() -> list[dict] | None:
        got = records(dynamodb, partiql_streams, table)
        return got if len(got) >= 4 else None

    recs = wait_for(four, timeout=10)
    assert [r["eventName"] for r in recs] == ["INSERT", "MODIFY", "INSERT", "REMOVE"]
    a = {"pk": {"S": "a"}}
    assert recs[0]["dynamodb"]["Keys"] == a
    assert recs[0]["dynamodb"]["NewImage"] == {"pk": {"S": "a"}, "n": {"N": "1"}}
    assert "OldImage" not in recs[0]["dynamodb"]
    assert recs[1]["dynamodb"]["OldImage"] == {"pk": {"S": "a"}, "n": {"N": "1"}}
    assert recs[1]["dynamodb"]["NewImage"] == {"pk": {"S": "a"}, "n": {"N": "2"}}
    assert recs[2]["dynamodb"]["NewImage"] == {"pk": {"S": "b"}}
    assert recs[3]["dynamodb"]["OldImage"] == {"pk": {"S": "a"}, "n": {"N": "2"}}
    assert "NewImage" not in recs[3]["dynamodb"]
    assert len(records(dynamodb, partiql_streams, table)) == 4
