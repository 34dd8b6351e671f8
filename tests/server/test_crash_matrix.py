"""Crash matrix: `kill -9` of `eddydb serve` (the whole process group, at a random moment under a
boto3 load from several threads), restart on the same data directory, and check from the outside,
with the default worker count (2 on a multi-core Linux box: worker 0 writes, worker 1 reads and
forwards) and with `--workers 1`:

- every acknowledged PutItem, UpdateItem, DeleteItem, BatchWriteItem and TransactWriteItems is there
  (or gone, for deletes); the one write in flight per thread is applied wholly or not at all, and a
  TransactWriteItems retried with its ClientRequestToken after the restart is applied exactly once;
- a GSI whose key changes with every write matches the table exactly; an acknowledged write reads
  back strongly consistent on whichever worker answers;
- the NEW_AND_OLD_IMAGES stream, read across all shards following lineage, replays per key exactly
  to the item (no record for an uncommitted write, none missing, images chained), sequence numbers
  are unique, increase along each shard and its lineage, and writes after a restart get numbers
  above every pre-crash record; a reader keeping its shard iterators across the crashes reads each
  shard exactly once through;
- conditional writes after the restart see the pre-crash state (no lost update);
- a table created, updated (GSI added, stream enabled, disabled, enabled again) or deleted just
  before the crash is whole or absent, with its index backfilled and its stream usable;
- a trigger resumes from its checkpoint: every record delivered at least once, none before an
  earlier one of its key; a mapping created or updated just before the crash is kept and settles.

Assertions hold for any kill timing; only where the kill lands is random.
"""
from __future__ import annotations

import contextlib
import itertools
import json
import os
import random
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import pytest
from botocore.exceptions import BotoCoreError, ClientError, ConnectionError, HTTPClientError
from streams.streamutil import all_shards, read_shard
from triggers.triggers_support import make_zip
from util import ServerProcess, make_client, wait_for

pytestmark = pytest.mark.slow

WORKERS = [pytest.param([], id="default-workers"), pytest.param(["--workers", "1"], id="workers-1")]
ROUNDS = 2   # kill -9 rounds per test
STREAM_ARGS = ["--stream-retention", "unlimited", "--stream-partitions", "2", "--shard-rollover", "1s"]

State = tuple[int, int] | None      # (v, n) of an item, None when absent


# --- reading a stream, checking its shape ----------------------------------------------------------
def _seq(record: dict) -> int:
    return int(record["dynamodb"]["SequenceNumber"])


def read_checked_stream(streams: Any, arn: str) -> list[dict]:
    """Every record of the stream, shard by shard following lineage, after checking what holds for
    any stream: parents listed before children, sequence numbers unique, strictly increasing along
    a shard and from a parent to its children, inside each shard's SequenceNumberRange. Each record
    gets `_root` (the lineage root of its shard) added."""
    shards = all_shards(streams, arn)
    root: dict[str, str] = {}
    last: dict[str, int] = {}
    records: list[dict] = []
    for sh in shards:
        sid, parent = sh["ShardId"], sh.get("ParentShardId")
        assert parent is None or parent in root, f"shard {sid} listed before its parent {parent}"
        root[sid] = root[parent] if parent else sid
        rng = sh["SequenceNumberRange"]
        start, end = int(rng["StartingSequenceNumber"]), rng.get("EndingSequenceNumber")
        floor = last.get(parent, -1) if parent else -1
        for rec in read_shard(streams, arn, sid):
            s = _seq(rec)
            assert s > floor, f"shard {sid}: sequence number {s} not above {floor} (previous record or parent)"
            assert s >= start and (end is None or s <= int(end)), f"shard {sid}: {s} outside {rng}"
            floor = s
            rec["_root"] = root[sid]
            records.append(rec)
        last[sid] = floor
    seqs = [_seq(r) for r in records]
    assert len(seqs) == len(set(seqs)), "duplicate sequence numbers"
    assert len({r["eventID"] for r in records}) == len(records), "duplicate eventIDs"
    return records


def _image_state(img: dict | None) -> State:
    return None if not img else (int(img["v"]["N"]), int(img["n"]["N"]))


# --- the mixed write load and its model -------------------------------------------------------------
@dataclass
class _Model:
    """What each key must hold: the committed states in commit order (only changes, starting from
    absent). Each thread owns its keys, so the order of its acknowledged writes is the commit order."""

    threads: int
    keys_per_thread: int
    history: dict[str, list[State]] = field(default_factory=dict)
    # v values are unique per write; phase[v] = in which phase (round) the write was sent
    phase_of: dict[int, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for t in range(self.threads):
            for k in self.keys(t):
                self.history[k] = []

    def keys(self, t: int) -> list[str]:
        return [f"t{t}-k{i}" for i in range(self.keys_per_thread)]

    def state(self, k: str) -> State:
        h = self.history[k]
        return h[-1] if h else None

    def commit(self, changes: dict[str, State]) -> None:
        for k, s in changes.items():
            if s != self.state(k):
                self.history[k].append(s)


def _cond(state: State) -> tuple[str, dict]:
    if state is None:
        return "attribute_not_exists(pk)", {}
    return "v = :pv AND n = :pn", {":pv": {"N": str(state[0])}, ":pn": {"N": str(state[1])}}


def _g(s: tuple[int, int]) -> str:
    """The GSI key of a state: items move between index partitions as they change."""
    return f"g{s[0] % 3}"


def _item(k: str, s: tuple[int, int]) -> dict:
    return {"pk": {"S": k}, "v": {"N": str(s[0])}, "n": {"N": str(s[1])}, "g": {"S": _g(s)}, "pad": {"S": k * 20}}


_SET = "SET v = :v, g = :g ADD n :one"


def _set_values(new: State) -> dict:
    assert new is not None
    return {":v": {"N": str(new[0])}, ":g": {"S": _g(new)}, ":one": {"N": "1"}}


def _check_gsi(client: Any, table: str, model: _Model) -> None:
    """The GSI holds exactly the table's items, under their current key: no entry left behind by a
    write the crash cut, none missing."""
    for g in ("g0", "g1", "g2"):
        got: dict[str, State] = {}
        kw: dict[str, Any] = {"TableName": table, "IndexName": "byg", "KeyConditionExpression": "g = :g",
                              "ExpressionAttributeValues": {":g": {"S": g}}}
        while True:
            page = client.query(**kw)
            for it in page["Items"]:
                assert it["pk"]["S"] not in got, f"{it['pk']['S']} twice in the index under {g}"
                got[it["pk"]["S"]] = _image_state(it)
            if "LastEvaluatedKey" not in page:
                break
            kw["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        want = {k: model.state(k) for k in model.history if model.state(k) is not None and _g(model.state(k)) == g}
        assert got == want, f"index partition {g}: {got}, table says {want}"


class _MixedLoad:
    """One thread per key group, each sending a random mix of the five write operations on its own
    keys until the server goes away. `pending[t]` is the write in flight when it did."""

    def __init__(self, url: str, table: str, model: _Model, phase: int, seed: int) -> None:
        self.url, self.table, self.model, self.phase = url, table, model, phase
        self.seed = seed
        self.lock = threading.Lock()
        self.acked = 0
        self.pending: dict[int, tuple[str, dict[str, State], tuple[str, dict]]] = {}
        self.errors: list[str] = []
        self.threads = [threading.Thread(target=self._run, args=(t,), daemon=True) for t in range(model.threads)]

    def start(self) -> None:
        for th in self.threads:
            th.start()

    def join(self) -> None:
        for th in self.threads:
            th.join(30)
            assert not th.is_alive(), "a writer thread hangs after the kill"

    def _v(self, t: int, i: int) -> int:
        v = (self.phase * 100 + t) * 1_000_000 + i
        self.model.phase_of[v] = self.phase
        return v

    def _run(self, t: int) -> None:
        rng = random.Random(self.seed * 1000 + t)
        client = make_client("dynamodb", self.url, read_timeout=10, connect_timeout=2)
        keys = self.model.keys(t)
        st = self.model.state
        i = 0
        while True:
            i += 1
            kind = rng.choice(["put", "update", "cond", "delete", "batch", "txn"])
            ks = rng.sample(keys, 4)
            a, b, c, d = ks
            changes: dict[str, State]
            try:
                if kind == "put":
                    changes = {a: (self._v(t, i), 0)}
                    req = ("put_item", {"Item": _item(a, changes[a])})
                elif kind in ("update", "cond"):
                    old = st(a)
                    changes = {a: (self._v(t, i), (old[1] + 1) if old else 1)}
                    kw: dict[str, Any] = {"Key": {"pk": {"S": a}}, "UpdateExpression": _SET,
                                          "ExpressionAttributeValues": _set_values(changes[a])}
                    if kind == "cond":
                        expr, vals = _cond(old)
                        kw["ConditionExpression"] = expr
                        kw["ExpressionAttributeValues"].update(vals)
                    req = ("update_item", kw)
                elif kind == "delete":
                    changes = {a: None}
                    req = ("delete_item", {"Key": {"pk": {"S": a}}})
                elif kind == "batch":
                    changes = {a: (self._v(t, i), 0), b: (self._v(t, i + 500_000), 0), c: None}
                    req = ("batch_write_item", {"RequestItems": {self.table: [
                        {"PutRequest": {"Item": _item(a, changes[a])}},
                        {"PutRequest": {"Item": _item(b, changes[b])}},
                        {"DeleteRequest": {"Key": {"pk": {"S": c}}}}]}})
                else:
                    old_a, old_b, old_d = st(a), st(b), st(d)
                    changes = {a: (self._v(t, i), 0), b: (self._v(t, i + 500_000), (old_b[1] + 1) if old_b else 1),
                               c: None}
                    ca, va = _cond(old_a)
                    cd, vd = _cond(old_d)
                    items: list[dict] = [
                        {"Put": {"TableName": self.table, "Item": _item(a, changes[a]), "ConditionExpression": ca,
                                 **({"ExpressionAttributeValues": va} if va else {})}},
                        {"Update": {"TableName": self.table, "Key": {"pk": {"S": b}},
                                    "UpdateExpression": _SET, "ExpressionAttributeValues": _set_values(changes[b])}},
                        {"Delete": {"TableName": self.table, "Key": {"pk": {"S": c}}}},
                        {"ConditionCheck": {"TableName": self.table, "Key": {"pk": {"S": d}}, "ConditionExpression": cd,
                                            **({"ExpressionAttributeValues": vd} if vd else {})}},
                    ]
                    req = ("transact_write_items", {"TransactItems": items,
                                                    "ClientRequestToken": f"p{self.phase}-t{t}-{i}"})
                with self.lock:
                    self.pending[t] = (kind, changes, req)
                method, kwargs = req
                if method not in ("batch_write_item", "transact_write_items"):
                    kwargs["TableName"] = self.table
                resp = getattr(client, method)(**kwargs)
                if kind == "batch" and resp.get("UnprocessedItems"):
                    # refused items are not applied; the rest are
                    with self.lock:
                        self.errors.append(f"unexpected UnprocessedItems: {resp['UnprocessedItems']}")
                    return
            except ClientError as e:
                status = e.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
                if status < 500:   # a definite answer: with an exact model no write may be refused
                    with self.lock:
                        self.errors.append(f"{kind} {changes}: {e}")
                        self.pending.pop(t, None)
                return   # 5xx (a worker lost its writer): in flight, may or may not have committed
            except (ConnectionError, HTTPClientError):
                return   # connection refused/reset: the server was killed
            except BotoCoreError as e:
                with self.lock:
                    self.errors.append(f"{kind} {changes}: {e!r}")
                    self.pending.pop(t, None)
                return
            with self.lock:
                self.model.commit(changes)
                self.pending.pop(t, None)
                self.acked += 1
            if i % 3 == 0:   # read your write: a strongly consistent read (on any worker) sees it
                try:
                    got = client.get_item(TableName=self.table, Key={"pk": {"S": a}}, ConsistentRead=True).get("Item")
                except (ConnectionError, HTTPClientError):
                    return
                except ClientError as e:
                    with self.lock:
                        self.errors.append(f"GetItem {a}: {e}")
                    return
                if _image_state(got) != st(a):
                    with self.lock:
                        self.errors.append(f"{a}: GetItem after an acknowledged {kind} read {got}, want {st(a)}")
                    return


def _scan_states(client: Any, table: str) -> dict[str, State]:
    out: dict[str, State] = {}
    kw: dict[str, Any] = {"TableName": table, "ConsistentRead": True}
    while True:
        page = client.scan(**kw)
        for it in page["Items"]:
            out[it["pk"]["S"]] = _image_state(it)
        if "LastEvaluatedKey" not in page:
            return out
        kw["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _resolve(model: _Model, load: _MixedLoad, actual: dict[str, State]) -> None:
    """Decide, from the table after the restart, whether each in-flight write committed; check that
    everything acknowledged is there and that a transaction in flight is wholly applied or not."""
    for kind, changes, _ in load.pending.values():
        applied = {}
        for k, new in changes.items():
            old, got = model.state(k), actual.get(k)
            if new == old:
                continue   # a delete of a missing item: nothing to tell
            assert got in (old, new), f"{k} holds {got}: neither the acknowledged {old} nor the in-flight {new} ({kind})"
            applied[k] = got == new
        if kind == "txn":
            assert len(set(applied.values())) <= 1, f"transaction half applied: {applied} of {changes}"
        model.commit({k: new for k, new in changes.items() if applied.get(k)})
    for k in model.history:
        assert actual.get(k) == model.state(k), (
            f"{k}: table holds {actual.get(k)}, acknowledged writes say {model.state(k)} "
            f"(history {model.history[k][-4:]})")


def _retry_pending_transactions(client: Any, model: _Model, load: _MixedLoad) -> None:
    """The in-flight TransactWriteItems sent again with its ClientRequestToken, as botocore retries
    it: applied now if it had not committed, a no-op if it had; either way it is there once."""
    for kind, changes, (_, kwargs) in load.pending.values():
        if kind != "txn":
            continue
        client.transact_write_items(**kwargs)
        model.commit(changes)
        for k, new in changes.items():
            got = client.get_item(TableName=kwargs["TransactItems"][0]["Put"]["TableName"], Key={"pk": {"S": k}},
                                  ConsistentRead=True).get("Item")
            assert _image_state(got) == new, f"{k}: {_image_state(got)} after the retried transaction, want {new}"


class _StreamTail:
    """A reader following the stream with GetRecords while the server is killed and restarted,
    keeping its shard iterators across the restarts (children once their parent is read to its
    end). What it saw, shard by shard, must be the stream: nothing twice, nothing skipped, nothing
    that did not commit."""

    def __init__(self, url: str, arn: str) -> None:
        self.url, self.arn = url, arn
        self.seen: dict[str, list[int]] = {}
        self.iters: dict[str, str] = {}
        self.done: set[str] = set()
        self.errors: list[str] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        streams = make_client("dynamodbstreams", self.url, read_timeout=5, connect_timeout=1)
        while not self.stop.is_set():
            try:
                for sh in all_shards(streams, self.arn):
                    sid, parent = sh["ShardId"], sh.get("ParentShardId")
                    if sid not in self.iters and sid not in self.done and (parent is None or parent in self.done):
                        self.iters[sid] = streams.get_shard_iterator(
                            StreamArn=self.arn, ShardId=sid, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
                        self.seen.setdefault(sid, [])
                for sid, it in list(self.iters.items()):
                    resp = streams.get_records(ShardIterator=it)
                    self.seen[sid] += [_seq(r) for r in resp["Records"]]
                    if resp.get("NextShardIterator") is None:
                        self.done.add(sid)
                        del self.iters[sid]
                    else:
                        self.iters[sid] = resp["NextShardIterator"]
            except (ConnectionError, HTTPClientError):
                pass   # the server is down: go on with the same iterators once it is back
            except ClientError as e:
                if e.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) < 500:
                    self.errors.append(str(e))
                    return
            self.stop.wait(0.05)

    def check(self, records: list[dict]) -> None:
        """Once caught up with `records` (the whole stream), what it saw per shard is exactly them."""
        streams = make_client("dynamodbstreams", self.url)
        want = {sh["ShardId"]: [_seq(r) for r in read_shard(streams, self.arn, sh["ShardId"])]
                for sh in all_shards(streams, self.arn)}
        assert sorted(s for w in want.values() for s in w) == sorted(_seq(r) for r in records)
        wait_for(lambda: self.errors or all(self.seen.get(sid, [])[-1:] == w[-1:] for sid, w in want.items() if w),
                 timeout=30, message=lambda: f"the tail to catch up: {len(self.seen)} shards")
        assert not self.errors, self.errors
        for sid, w in want.items():
            assert self.seen.get(sid, []) == w, (
                f"shard {sid}: the tail read {len(self.seen.get(sid, []))} records across the restarts, the shard "
                f"holds {len(w)}; missing {sorted(set(w) - set(self.seen.get(sid, [])))[:5]}, "
                f"extra {sorted(set(self.seen.get(sid, [])) - set(w))[:5]}")

    def close(self) -> None:
        self.stop.set()
        self.thread.join(10)


def _check_stream_replays(model: _Model, records: list[dict]) -> None:
    """Per key, the records in sequence order are exactly the committed changes, images chained."""
    by_key: dict[str, list[dict]] = {}
    for r in sorted(records, key=_seq):
        by_key.setdefault(r["dynamodb"]["Keys"]["pk"]["S"], []).append(r)
    assert set(by_key) <= set(model.history), f"records of unknown keys: {set(by_key) - set(model.history)}"
    for k, hist in model.history.items():
        recs = by_key.get(k, [])
        assert len({r["_root"] for r in recs}) <= 1, f"{k}: records in more than one shard lineage"
        prev: State = None
        got: list[State] = []
        for r in recs:
            dd = r["dynamodb"]
            old, new = _image_state(dd.get("OldImage")), _image_state(dd.get("NewImage"))
            assert old == prev, f"{k}: OldImage {old} but the previous record left {prev}"
            want = "INSERT" if old is None else ("REMOVE" if new is None else "MODIFY")
            assert r["eventName"] == want, f"{k}: {r['eventName']} for {old} -> {new}"
            got.append(new)
            prev = new
        assert got == hist, f"{k}: stream replays {got[-5:]}, committed changes are {hist[-5:]}"


def _check_phases(model: _Model, records: list[dict]) -> None:
    """Writes of a later phase (after a restart, or sent after the previous phase ended) get higher
    sequence numbers than every record of the earlier phases."""
    top: dict[int, int] = {}
    low: dict[int, int] = {}
    for r in records:
        img = r["dynamodb"].get("NewImage")
        if not img:
            continue
        p = model.phase_of[int(img["v"]["N"])]
        top[p] = max(top.get(p, 0), _seq(r))
        low[p] = min(low.get(p, 1 << 80), _seq(r))
    phases = sorted(top)
    for p, q in itertools.pairwise(phases):
        assert low[q] > top[p], f"phase {q} starts at sequence number {low[q]}, phase {p} reached {top[p]}"


def _conditional_writes_after_restart(client: Any, table: str, model: _Model, phase: int) -> None:
    """Invariant 3: a condition on the pre-crash state holds, one on an older state fails."""
    for k in model.history:
        cur = model.state(k)
        hist = model.history[k]
        stale: State = hist[-2] if len(hist) >= 2 else (None if cur is not None else (1, 1))
        expr, vals = _cond(stale)
        with pytest.raises(ClientError) as exc:
            client.put_item(TableName=table, Item=_item(k, (0, 0)), ConditionExpression=expr,
                            **({"ExpressionAttributeValues": vals} if vals else {}))
        assert exc.value.response["Error"]["Code"] == "ConditionalCheckFailedException", (k, stale, cur)
        new = ((phase * 100 + 99) * 1_000_000 + len(hist), 7)
        model.phase_of[new[0]] = phase
        expr, vals = _cond(cur)
        client.put_item(TableName=table, Item=_item(k, new), ConditionExpression=expr,
                        **({"ExpressionAttributeValues": vals} if vals else {}))
        model.commit({k: new})


def _kill_during_startup(srv: ServerProcess, delay: float) -> None:
    """Start the server and SIGKILL its process group `delay` seconds later, ready or not."""
    env = dict(os.environ)
    env.pop("EDDYDB_PORT", None)
    env.update(srv.env or {})   # the server's own store (PostgreSQL under `make test-postgres`)
    with open(srv.log_path, "ab") as log:
        proc = subprocess.Popen(srv.command(), stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    time.sleep(delay)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


@pytest.mark.parametrize("workers", WORKERS)
def test_mixed_writes_and_their_stream_survive_kill9_rounds(tmp_path, workers):
    rng = random.Random()
    srv = ServerProcess(tmp_path / "data", args=[*STREAM_ARGS, *workers], log_path=tmp_path / "server.log")
    srv.start()
    try:
        ddb = make_client("dynamodb", srv.url)
        ddb.create_table(TableName="mixed", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                         AttributeDefinitions=_ad("pk", "g"), BillingMode="PAY_PER_REQUEST",
                         GlobalSecondaryIndexes=[{"IndexName": "byg",
                                                  "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                                                  "Projection": {"ProjectionType": "ALL"}}],
                         StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
        model = _Model(threads=4, keys_per_thread=5)
        tail = _StreamTail(srv.url, ddb.describe_table(TableName="mixed")["Table"]["LatestStreamArn"])
        phase = 0
        for rnd in range(ROUNDS):
            phase += 1
            load = _MixedLoad(srv.url, "mixed", model, phase, seed=rng.randrange(1 << 30))
            load.start()
            target = rng.randint(40, 200)
            wait_for(lambda load=load, target=target: load.errors or load.acked >= target, timeout=60,
                     message=f"{target} acknowledged writes before kill {rnd}")
            time.sleep(rng.uniform(0, 0.05))
            srv.kill9()
            load.join()
            assert not load.errors, load.errors[:3]
            if rnd == 1:   # and a second crash while the restarted server is still coming up
                _kill_during_startup(srv, rng.uniform(0, 0.6))
            srv.start()

            ddb = make_client("dynamodb", srv.url)
            _resolve(model, load, _scan_states(ddb, "mixed"))
            _retry_pending_transactions(ddb, model, load)
            _check_gsi(ddb, "mixed", model)
            phase += 1
            _conditional_writes_after_restart(ddb, "mixed", model, phase)
            streams = make_client("dynamodbstreams", srv.url)
            arn = ddb.describe_table(TableName="mixed")["Table"]["LatestStreamArn"]
            records = read_checked_stream(streams, arn)
            _check_stream_replays(model, records)
            _check_phases(model, records)
        tail.check(records)
    finally:
        tail.close()
        srv.kill9()


# --- tables created and changed just before the crash -----------------------------------------------
def _ad(*names: str) -> list[dict]:
    return [{"AttributeName": n, "AttributeType": "S"} for n in names]


class _TableChurn:
    """Creates tables in a loop: `ta<i>` with a GSI and a stream in CreateTable, and an item; `tb<i>`
    plain, then an item, then UpdateTable adding a GSI, enabling its stream, disabling it, enabling
    it again (a new stream); then `ta<i>` is deleted. `done` holds every
    step acknowledged, `sent` every step sent."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.sent: list[tuple[str, str]] = []
        self.done: set[tuple[str, str]] = set()
        self.errors: list[str] = []
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _step(self, name: str, what: str, fn: Any) -> None:
        self.sent.append((name, what))
        fn()
        self.done.add((name, what))

    def _run(self) -> None:
        c = make_client("dynamodb", self.url, read_timeout=10, connect_timeout=2)
        pk = [{"AttributeName": "pk", "KeyType": "HASH"}]
        try:
            for i in range(10_000):
                a, b = f"ta{i}", f"tb{i}"
                self._step(a, "create", lambda a=a: c.create_table(
                    TableName=a, KeySchema=pk, AttributeDefinitions=_ad("pk", "g"), BillingMode="PAY_PER_REQUEST",
                    GlobalSecondaryIndexes=[{"IndexName": "gsi1", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                                             "Projection": {"ProjectionType": "ALL"}}],
                    StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}))
                self._step(a, "item", lambda a=a: c.put_item(TableName=a, Item={"pk": {"S": "x"}, "g": {"S": "gx"}}))
                self._step(b, "create", lambda b=b: c.create_table(
                    TableName=b, KeySchema=pk, AttributeDefinitions=_ad("pk"), BillingMode="PAY_PER_REQUEST"))
                self._step(b, "item", lambda b=b: c.put_item(TableName=b, Item={"pk": {"S": "x"}, "h": {"S": "hx"}}))
                self._step(b, "gsi", lambda b=b: c.update_table(
                    TableName=b, AttributeDefinitions=_ad("pk", "h"), GlobalSecondaryIndexUpdates=[{"Create": {
                        "IndexName": "gsi2", "KeySchema": [{"AttributeName": "h", "KeyType": "HASH"}],
                        "Projection": {"ProjectionType": "ALL"}}}]))
                self._step(b, "stream", lambda b=b: c.update_table(
                    TableName=b, StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}))
                self._step(b, "stream-off", lambda b=b: c.update_table(
                    TableName=b, StreamSpecification={"StreamEnabled": False}))
                self._step(b, "stream-again", lambda b=b: c.update_table(
                    TableName=b, StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"}))
                self._step(a, "delete", lambda a=a: c.delete_table(TableName=a))
        except ClientError as e:
            if e.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) < 500:
                self.errors.append(str(e))
        except (ConnectionError, HTTPClientError):
            pass   # the server was killed
        except BotoCoreError as e:
            self.errors.append(repr(e))


def _exists(ddb: Any, name: str) -> dict | None:
    try:
        return ddb.describe_table(TableName=name)["Table"]
    except ClientError as e:
        assert e.response["Error"]["Code"] == "ResourceNotFoundException", e
        return None


def _check_index(ddb: Any, table: str, index: str, attr: str, value: str, item_there: bool) -> None:
    got = ddb.query(TableName=table, IndexName=index, KeyConditionExpression="#a = :v",
                    ExpressionAttributeNames={"#a": attr}, ExpressionAttributeValues={":v": {"S": value}})["Items"]
    assert [i["pk"]["S"] for i in got] == (["x"] if item_there else []), f"{table}.{index}: {got}"


def _check_stream_works(ddb: Any, streams: Any, table: str, desc: dict, item: dict, before: list[str]) -> None:
    """The stream is enabled, holds a record for exactly the writes `before`, and records a new one."""
    arn = desc["LatestStreamArn"]
    sd = streams.describe_stream(StreamArn=arn)["StreamDescription"]
    assert sd["StreamStatus"] == "ENABLED" and sd["Shards"], sd
    ddb.put_item(TableName=table, Item=item)
    recs = read_checked_stream(streams, arn)
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in recs] == [*before, item["pk"]["S"]], recs


def test_tables_created_or_updated_just_before_kill9_are_whole_or_absent(tmp_path):
    rng = random.Random()
    srv = ServerProcess(tmp_path / "data", log_path=tmp_path / "server.log")
    srv.start()
    try:
        churn = _TableChurn(srv.url)
        churn.thread.start()
        steps = rng.randint(4, 24)
        wait_for(lambda: churn.errors or len(churn.done) >= steps or not churn.thread.is_alive(), timeout=60,
                 message=f"{steps} table steps acknowledged")
        time.sleep(rng.uniform(0, 0.03))
        srv.kill9()
        churn.thread.join(30)
        assert not churn.thread.is_alive()
        assert not churn.errors, churn.errors
        srv.start()

        ddb = make_client("dynamodb", srv.url)
        streams = make_client("dynamodbstreams", srv.url)
        names = list(dict.fromkeys(n for n, _ in churn.sent))
        listed = set()
        kw: dict[str, Any] = {}
        while True:
            page = ddb.list_tables(**kw)
            listed |= set(page["TableNames"])
            if "LastEvaluatedTableName" not in page:
                break
            kw["ExclusiveStartTableName"] = page["LastEvaluatedTableName"]
        for name in names:
            desc = _exists(ddb, name)
            done = {w for n, w in churn.done if n == name}
            if desc is None:
                assert "create" not in done or (name, "delete") in churn.sent, f"acknowledged CreateTable {name} lost"
                assert name not in listed
                if "create" in done:   # deleted: its stream stays readable, DISABLED, every shard closed
                    arns = [s["StreamArn"] for s in streams.list_streams(TableName=name)["Streams"]]
                    assert len(arns) == 1, arns
                    sd = streams.describe_stream(StreamArn=arns[0])["StreamDescription"]
                    assert sd["StreamStatus"] == "DISABLED", sd
                    assert all("EndingSequenceNumber" in sh["SequenceNumberRange"] for sh in sd["Shards"]), sd
                    read_checked_stream(streams, arns[0])
                continue
            assert "delete" not in done, f"acknowledged DeleteTable {name}, the table is still there"
            assert name in listed
            assert desc["TableStatus"] == "ACTIVE", desc
            gsis = {g["IndexName"]: g for g in desc.get("GlobalSecondaryIndexes", [])}
            item = ddb.get_item(TableName=name, Key={"pk": {"S": "x"}}, ConsistentRead=True).get("Item")
            assert bool(item) or "item" not in done, f"acknowledged item of {name} lost"
            if name.startswith("ta"):
                # created in one request with its GSI and stream: all of it
                assert set(gsis) == {"gsi1"} and gsis["gsi1"]["IndexStatus"] == "ACTIVE", desc
                assert desc.get("StreamSpecification", {}).get("StreamEnabled"), desc
                _check_index(ddb, name, "gsi1", "g", "gx", bool(item))
                _check_stream_works(ddb, streams, name, desc, {"pk": {"S": "after"}, "g": {"S": "gy"}},
                                    ["x"] if item else [])
                got = ddb.query(TableName=name, IndexName="gsi1", KeyConditionExpression="g = :v",
                                ExpressionAttributeValues={":v": {"S": "gy"}})["Items"]
                assert [i["pk"]["S"] for i in got] == ["after"]
            else:
                assert set(gsis) <= {"gsi2"}, desc
                assert "gsi2" in gsis or "gsi" not in done, f"acknowledged GSI of {name} lost"
                if "gsi2" in gsis:   # backfilled in the same transaction that added it
                    assert gsis["gsi2"]["IndexStatus"] == "ACTIVE" and not gsis["gsi2"].get("Backfilling"), desc
                    _check_index(ddb, name, "gsi2", "h", "hx", bool(item))
                stream_on = bool(desc.get("StreamSpecification", {}).get("StreamEnabled"))
                arns = [x["StreamArn"] for x in streams.list_streams(TableName=name)["Streams"]]
                want = 2 if "stream-again" in done else 1 if "stream" in done else 0
                assert want <= len(arns) <= want + 1, f"{name}: streams {arns} after {done}"
                assert arns[-1:] == ([desc["LatestStreamArn"]] if "LatestStreamArn" in desc else []), (arns, desc)
                assert not stream_on or len(arns) > 1 or "stream-off" not in done, f"{name}: disabling lost"
                for i, sarn in enumerate(arns):
                    sd = streams.describe_stream(StreamArn=sarn)["StreamDescription"]
                    on = i == len(arns) - 1 and stream_on
                    assert sd["StreamStatus"] == ("ENABLED" if on else "DISABLED"), sd
                    assert on or all("EndingSequenceNumber" in sh["SequenceNumberRange"] for sh in sd["Shards"]), sd
                    assert not read_checked_stream(streams, sarn), f"{name}: records without writes in {sarn}"
                if stream_on:
                    _check_stream_works(ddb, streams, name, desc, {"pk": {"S": "after"}, "h": {"S": "hy"}}, [])
        # and the server goes on creating tables
        ddb.create_table(TableName="later", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                         AttributeDefinitions=_ad("pk"), BillingMode="PAY_PER_REQUEST")
        ddb.put_item(TableName="later", Item={"pk": {"S": "x"}})
    finally:
        srv.kill9()


# --- a trigger across kill -9 rounds ----------------------------------------------------------------
# One JSON line per invocation, with a leading newline so a line cut by kill -9 never swallows the next.
RECORDER = r'''
import json, os

def handler(event, context):
    recs = [[r["dynamodb"]["Keys"]["pk"]["S"], r["dynamodb"]["SequenceNumber"]] for r in event["Records"]]
    with open(os.environ["OUT"], "a") as f:
        f.write("\n" + json.dumps(recs) + "\n")
'''


def _deliveries(path: str) -> list[tuple[str, str]]:
    if not os.path.exists(path):
        return []
    out: list[tuple[str, str]] = []
    with open(path) as f:
        for line in f:
            try:
                out += [tuple(x) for x in json.loads(line)] if line.strip() else []
            except ValueError:
                continue   # cut by kill -9: that invocation had not returned, it is retried
    return out


def test_a_trigger_resumes_from_its_checkpoint_across_kill9_rounds(tmp_path):
    rng = random.Random()
    out = str(tmp_path / "deliveries.jsonl")
    srv = ServerProcess(tmp_path / "data", args=STREAM_ARGS, log_path=tmp_path / "server.log")
    srv.start()
    try:
        ddb = make_client("dynamodb", srv.url)
        lam = make_client("lambda", srv.url)
        ddb.create_table(TableName="trig", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                         AttributeDefinitions=_ad("pk"), BillingMode="PAY_PER_REQUEST",
                         StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
        arn = ddb.describe_table(TableName="trig")["Table"]["LatestStreamArn"]
        lam.create_function(FunctionName="rec", Runtime="python3.12", Role="arn:aws:iam::000000000000:role/x",
                            Handler="app.handler", Code={"ZipFile": make_zip({"app.py": RECORDER})}, Timeout=30,
                            Environment={"Variables": {"OUT": out}})
        rec_uuid = lam.create_event_source_mapping(EventSourceArn=arn, FunctionName="rec",
                                                   StartingPosition="TRIM_HORIZON", BatchSize=5)["UUID"]
        updated = False   # an UpdateEventSourceMapping just before the first kill
        late = str(tmp_path / "late.jsonl")   # a second mapping, created just before the last kill
        lam.create_function(FunctionName="late", Runtime="python3.12", Role="arn:aws:iam::000000000000:role/x",
                            Handler="app.handler", Code={"ZipFile": make_zip({"app.py": RECORDER})}, Timeout=30,
                            Environment={"Variables": {"OUT": late}})
        late_mapped = False
        model = _Model(threads=3, keys_per_thread=4)
        for rnd in range(ROUNDS):
            load = _MixedLoad(srv.url, "trig", model, rnd + 1, seed=rng.randrange(1 << 30))
            load.start()
            target = rng.randint(30, 120)
            wait_for(lambda load=load, target=target: load.errors or (
                load.acked >= target and len(_deliveries(out)) >= target // 3), timeout=60,
                message=f"{target} writes acknowledged and some delivered before kill {rnd}")
            if rnd == 0:
                try:
                    make_client("lambda", srv.url, read_timeout=10).update_event_source_mapping(
                        UUID=rec_uuid, BatchSize=3)
                    updated = True
                except (ConnectionError, HTTPClientError):
                    pass
            if rnd == 1:
                try:
                    make_client("lambda", srv.url, read_timeout=10).create_event_source_mapping(
                        EventSourceArn=arn, FunctionName="late", StartingPosition="TRIM_HORIZON", BatchSize=7)
                    late_mapped = True
                except (ConnectionError, HTTPClientError):
                    pass
            time.sleep(rng.uniform(0, 0.05))
            srv.kill9()
            load.join()
            assert not load.errors, load.errors[:3]
            srv.start()
            _resolve(model, load, _scan_states(make_client("dynamodb", srv.url), "trig"))

        streams = make_client("dynamodbstreams", srv.url)
        records = read_checked_stream(streams, arn)
        _check_stream_replays(model, records)
        mappings = {m["FunctionArn"].rsplit(":", 1)[-1]: m
                    for m in make_client("lambda", srv.url).list_event_source_mappings(EventSourceArn=arn)[
                        "EventSourceMappings"]}
        assert "rec" in mappings
        assert "late" in mappings or not late_mapped, "acknowledged CreateEventSourceMapping lost"
        assert mappings["rec"]["BatchSize"] == 3 or not updated, "acknowledged UpdateEventSourceMapping lost"
        lam = make_client("lambda", srv.url)
        for m in mappings.values():   # a state the crash interrupted (Creating, Updating) settles
            wait_for(lambda m=m: lam.get_event_source_mapping(UUID=m["UUID"])["State"] == "Enabled", timeout=30,
                     message=f"mapping of {m['FunctionArn']} Enabled after the restarts")
        for path in (out, late) if "late" in mappings else (out,):
            _check_deliveries(path, records)
    finally:
        srv.kill9()


def _check_deliveries(path: str, records: list[dict]) -> None:
    """Every record delivered at least once; per key, none before all the earlier ones."""
    want = {r["dynamodb"]["SequenceNumber"] for r in records}
    wait_for(lambda: want <= {s for _, s in _deliveries(path)}, timeout=60,
             message=lambda: f"all {len(want)} records delivered to {os.path.basename(path)} after the restarts "
                             f"(missing {len(want - {s for _, s in _deliveries(path)})})")
    key_of = {r["dynamodb"]["SequenceNumber"]: r["dynamodb"]["Keys"]["pk"]["S"] for r in records}
    per_key: dict[str, list[str]] = {}
    for r in sorted(records, key=_seq):
        per_key.setdefault(key_of[r["dynamodb"]["SequenceNumber"]], []).append(r["dynamodb"]["SequenceNumber"])
    seen: set[str] = set()
    for key, sq in _deliveries(path):
        assert sq in key_of and key_of[sq] == key, f"delivered a record the stream does not have: {key} {sq}"
        earlier = per_key[key][:per_key[key].index(sq)]
        skipped = [s for s in earlier if s not in seen]
        assert not skipped, f"{key}: {sq} delivered before {skipped}"
        seen.add(sq)
