"""Shard leases in storage: one holder at a time, renewal, expiry, immediate takeover from a dead
process of this host, and checkpoints refused to a process that lost the lease."""
from __future__ import annotations

import subprocess
import sys

import pytest

import eddydb
from eddydb.triggers.checkpoints import Checkpoints
from eddydb.triggers.leases import LeaseLost, new_owner_id, owner_is_dead, take_leases


@pytest.fixture
def inst():
    db = eddydb.open(None, background=False)
    yield db.instance
    db.close()


def take(inst, owner, now, ttl=6.0, pairs=(("m", "s1"),)):
    return inst.engine.writer.run(lambda txn: take_leases(txn, list(pairs), owner, now, ttl))


def test_one_holder_until_the_lease_expires(inst):
    a, b = "otherhost:1:a", "otherhost:2:b"
    assert take(inst, a, 100.0) == {("m", "s1")}
    assert take(inst, b, 101.0) == set(), "held by a"
    assert take(inst, a, 104.0) == {("m", "s1")}, "a renews"
    assert take(inst, b, 109.0) == set(), "renewed until 110"
    assert take(inst, b, 110.5) == {("m", "s1")}, "expired: b takes over"
    assert take(inst, a, 111.0) == set()


def test_a_dead_local_owner_is_taken_over_at_once(inst):
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    dead = f"{new_owner_id().split(':')[0]}:{proc.pid}:x"
    assert owner_is_dead(dead)
    assert not owner_is_dead(new_owner_id())
    assert take(inst, dead, 100.0) == {("m", "s1")}
    assert take(inst, new_owner_id(), 101.0) == {("m", "s1")}, "its process is gone: no need to wait"
    remote = "otherhost:9:z"
    assert take(inst, remote, 200.0) == {("m", "s1")}
    assert take(inst, new_owner_id(), 201.0) == set(), "a remote owner is trusted until its lease expires"


def test_checkpoint_needs_the_lease(inst):
    me, other = "otherhost:1:me", "otherhost:2:other"
    inst.engine.writer.run(lambda txn: txn.save_mapping("m", b'{"UUID": "m"}'))
    take(inst, me, 1e12)
    cp = Checkpoints(inst, "m", me)
    cp.save("s1", 42)
    assert cp.load("s1") == (42, False)
    take(inst, other, 2e12)   # me's lease expired long ago
    with pytest.raises(LeaseLost):
        cp.save("s1", 43)
    assert cp.load("s1") == (42, False)
