"""The mapping coordinator wakes for shards that may need a processor, not for every commit:
commits to a stream no mapping reads stop waking it once it has seen their shard, and a mapping
created on that stream later still gets its records."""
from __future__ import annotations

import pytest
from triggers_support import create_stream_table
from util import wait_for

import eddydb


@pytest.fixture
def db(tmp_path):
    d = eddydb.open(str(tmp_path / "data"))
    yield d
    d.close()


def _put(client, key: str) -> None:
    client.put_item(TableName="orders", Item={"pk": {"S": key}})


def test_commits_to_a_stream_without_mappings_stop_waking_the_coordinator(db):
    client = db.client("dynamodb")
    create_stream_table(client, "orders")
    mgr = db.instance.mappings
    passes = []
    real_tick = mgr._tick
    mgr._tick = lambda: (passes.append(1), real_tick())[1]
    _put(client, "first")
    wait_for(lambda: mgr._quiet_shards, message="the coordinator to look at the new shard")
    before = len(passes)
    for i in range(200):
        _put(client, f"k{i}")
    # 200 commits; a pass every tick_seconds (0.5 s) may still happen, but not one per commit
    assert len(passes) - before < 20


def test_a_mapping_created_after_its_shards_went_quiet_gets_their_records(db):
    client = db.client("dynamodb")
    create_stream_table(client, "orders")
    mgr = db.instance.mappings
    _put(client, "before")
    wait_for(lambda: mgr._quiet_shards, message="the coordinator to look at the new shard")
    seen: list[str] = []
    db.on_change("orders", lambda event: seen.extend(r["dynamodb"]["Keys"]["pk"]["S"] for r in event["Records"]),
                 starting_position="TRIM_HORIZON", batch_size=10)
    _put(client, "after")
    wait_for(lambda: seen == ["before", "after"], timeout=20, message=lambda: f"records seen: {seen}")
