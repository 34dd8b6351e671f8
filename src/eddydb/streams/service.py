"""The stream/shard service of one database: stream catalog, lineage, iterators, reads, the push
notifier and the background upkeep (shard rollover, retention, streams of dropped tables).

`Instance` builds one as `inst.streams`; api/streams.py (the Streams API), the trigger layer
(`read`, `shards`, `subscribe`) and the CLI use it. Reads go straight to storage snapshots; every
change goes through the engine's writer.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import orjson

from eddydb.engine import changelog
from eddydb.engine.changelog import SEQ_BASE
from eddydb.model.errors import ResourceNotFoundException, TrimmedDataAccessException, ValidationException
from eddydb.streams.iterators import decode_iterator, encode_iterator
from eddydb.streams.notifier import Notifier
from eddydb.streams.records import StreamRecord, wire_record_bytes
from eddydb.streams.retention import trim
from eddydb.streams.shards import ShardInfo, StreamInfo, rollover_due, shard_info, stream_info

__all__ = ["ITERATOR_TYPES", "MAX_BYTES", "MAX_RECORDS", "ShardInfo", "StreamInfo", "StreamRecord", "StreamService"]

log = logging.getLogger("eddydb.streams")

ITERATOR_TYPES = ("TRIM_HORIZON", "LATEST", "AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER", "AT_TIMESTAMP")
MAX_RECORDS = 1000
MAX_BYTES = 1 << 20


def _stream_not_found(arn: str) -> ResourceNotFoundException:
    return ResourceNotFoundException(f"Requested resource not found: Stream: {arn} not found")


def _shard_not_found(arn: str, shard_id: str) -> ResourceNotFoundException:
    return ResourceNotFoundException(f"Requested resource not found: Shard: {shard_id} in Stream: {arn} not found")


class StreamService:
    """Streams of one database (see module docstring)."""

    def __init__(self, engine: Any, store: Any, settings: Any) -> None:
        self.engine = engine
        self.store = store
        self.settings = settings
        if getattr(store, "settings", None) is None:
            try:  # lets engine/changelog find this instance's partitions and rollover inside the txn
                store.settings = settings
            except AttributeError:
                pass
        changelog.configure(settings)
        self._shard_cache = None
        if hasattr(store, "__dict__") and hasattr(engine, "writer"):
            from eddydb.storage.sqlite.streams import shard_cache

            # The open-shard cache may serve lookups only between commits that changed no shards.
            self._shard_cache = shard_cache(store)
            engine.writer.add_commit_listener(self._shard_cache.committed, before_resolve=True)
        self.notifier = Notifier()
        engine.add_commit_listener(self.notifier.on_commit)
        # Commits by other processes on the same store reach this process only through the store's
        # hint, which costs the store a thread (and on PostgreSQL a connection and a poll every
        # 200 ms): asked for on the first subscribe() or wait(), as only those listen for them.
        self._watch = getattr(store, "watch_changes", None)
        self._watch_lock = threading.Lock()
        self._unwatch: Callable[[], None] | None = None
        self._upkeep_lock = threading.Lock()
        self._next_trim = 0.0          # when retention may next have something to remove
        self._tables_changed = True    # look for streams of dropped tables at the next upkeep
        engine.add_commit_listener(self._on_commit_upkeep)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # --- catalog --------------------------------------------------------------------------------
    def list_streams(self, table_name: str | None = None, limit: int = 100,
                     exclusive_start_arn: str | None = None) -> tuple[list[StreamInfo], str | None]:
        """Streams (of one table, if given) in ARN order; the second value is LastEvaluatedStreamArn."""
        rows = self.store.read().list_streams(table_name, exclusive_start_arn, limit + 1)
        out = [stream_info(r) for r in rows[:limit]]
        return out, (out[-1].arn if len(rows) > limit else None)

    def stream(self, arn: str) -> StreamInfo:
        row = self.store.read().get_stream(arn)
        if row is None:
            raise _stream_not_found(arn)
        return stream_info(row)

    def shards(self, stream_arn: str) -> list[ShardInfo]:
        """Every (untrimmed) shard of a stream, parents before children."""
        return [shard_info(r) for r in self.store.read().list_shards(stream_arn)]

    def shard(self, shard_id: str) -> ShardInfo | None:
        row = self.store.read().get_shard(shard_id)
        return None if row is None else shard_info(row)

    def describe_stream(self, arn: str, limit: int = 100, exclusive_start_shard_id: str | None = None,
                        child_of: str | None = None) -> tuple[StreamInfo, list[ShardInfo], str | None]:
        """(stream, page of shards, LastEvaluatedShardId)."""
        with self.store.read() as r:
            row = r.get_stream(arn)
            if row is None:
                raise _stream_not_found(arn)
            shards = [shard_info(s) for s in r.list_shards(arn)]
        if child_of is not None:
            shards = [s for s in shards if s.parent_shard_id == child_of]
        if exclusive_start_shard_id is not None:
            ids = [s.shard_id for s in shards]
            if exclusive_start_shard_id in ids:
                shards = shards[ids.index(exclusive_start_shard_id) + 1:]
            else:  # a trimmed shard: ids start with their creation time, so order by id
                shards = [s for s in shards if s.shard_id > exclusive_start_shard_id]
        page = shards[:limit]
        return stream_info(row), page, (page[-1].shard_id if len(shards) > limit else None)

    # --- positions and reads -----------------------------------------------------------------------
    def get_shard_iterator(self, stream_arn: str, shard_id: str, iterator_type: str,
                           sequence_number: str | None = None, timestamp: float | None = None) -> str:
        """A shard iterator (GetShardIterator semantics and errors); `timestamp` (epoch seconds) is
        AT_TIMESTAMP's position."""
        with self.store.read() as r:
            if r.get_stream(stream_arn) is None:
                raise _stream_not_found(stream_arn)
            row = r.get_shard(shard_id)
            if row is None or row[1] != stream_arn:
                raise _shard_not_found(stream_arn, shard_id)
            shard = shard_info(row)
            if iterator_type == "TRIM_HORIZON":
                after = shard.horizon
            elif iterator_type == "LATEST":
                after = _latest(r, shard)
            elif iterator_type == "AT_TIMESTAMP":
                if timestamp is None:
                    raise ValidationException("Timestamp is required for ShardIteratorType AT_TIMESTAMP")
                if timestamp > time.time():
                    raise ValidationException(f"Invalid Timestamp {timestamp}: it is in the future")
                # the first record at or after it; a trimmed position reads from the trim horizon, and
                # a time after the newest record reads what comes next (LATEST)
                first = r.first_seq_at_or_after(shard_id, timestamp)
                after = _latest(r, shard) if first is None else max(first - 1, shard.horizon)
            elif iterator_type in ("AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER"):
                if sequence_number is None:
                    raise ValidationException(f"SequenceNumber is required for ShardIteratorType {iterator_type}")
                n = _parse_seq(sequence_number)
                top = shard.end_seq
                if top is None:
                    top = max(r.last_stream_seq(shard_id) or 0, shard.start_seq, shard.trim_seq or 0)
                if n < shard.start_seq or n > top:
                    raise ValidationException(
                        f"Invalid SequenceNumber {sequence_number} for shard {shard_id}: it is outside the "
                        "shard's sequence number range")
                after = n - 1 if iterator_type == "AT_SEQUENCE_NUMBER" else n
                if shard.trim_seq is not None and after < shard.trim_seq:
                    raise _trimmed(shard_id)
            else:
                raise ValidationException(f"Invalid ShardIteratorType: {iterator_type}")
        return encode_iterator(stream_arn, shard_id, after)

    def get_records(self, iterator: str, limit: int = MAX_RECORDS,
                    max_bytes: int = MAX_BYTES) -> tuple[list[bytes], str | None]:
        """GetRecords: (wire record bytes, NextShardIterator or None once a closed shard is exhausted)."""
        it = decode_iterator(iterator)
        with self.store.read() as r:
            row = r.get_shard(it.shard_id)
            if row is None or row[1] != it.stream_arn:
                if r.get_stream(it.stream_arn) is None:
                    raise _stream_not_found(it.stream_arn)
                if row is None:  # the shard itself aged out of retention
                    raise _trimmed(it.shard_id)
                raise _shard_not_found(it.stream_arn, it.shard_id)
            shard = shard_info(row)
            if shard.trim_seq is not None and it.after_seq < shard.trim_seq:
                raise _trimmed(it.shard_id)
            rows, more = _read_capped(r, it.shard_id, it.after_seq, limit, max_bytes)
        out = [wire_record_bytes(raw) for _seq, _created, raw in rows]
        after = rows[-1][0] if rows else it.after_seq
        if shard.end_seq is not None and (after >= shard.end_seq or not more):
            return out, None
        return out, encode_iterator(it.stream_arn, it.shard_id, after)

    def read(self, shard_id: str, after_seq: int | None, limit: int,
             max_bytes: int = MAX_BYTES) -> list[StreamRecord]:
        """Records of a shard with seq > after_seq (None = from the trim horizon), at most `limit`
        records and about `max_bytes` (at least one record). TrimmedDataAccessException if `after_seq`
        is older than the horizon. Records carry no eventSourceARN."""
        with self.store.read() as r:
            row = r.get_shard(shard_id)
            if row is None:
                raise _trimmed(shard_id)
            shard = shard_info(row)
            if after_seq is None:
                after_seq = shard.horizon
            elif shard.trim_seq is not None and after_seq < shard.trim_seq:
                raise _trimmed(shard_id)
            rows, _more = _read_capped(r, shard_id, after_seq, limit, max_bytes)
        out = [StreamRecord(seq, created, orjson.loads(raw)) for seq, created, raw in rows]
        return out

    def latest_seq(self, shard_id: str) -> int:
        """The position just after a shard's newest record (LATEST as an after_seq)."""
        with self.store.read() as r:
            row = r.get_shard(shard_id)
            if row is None:
                raise _trimmed(shard_id)
            return _latest(r, shard_info(row))

    # --- push -------------------------------------------------------------------------------------
    def subscribe(self, callback: Callable[[set[str]], None]) -> Callable[[], None]:
        """callback(shard_ids) right after each commit that appended to (or closed) those shards,
        on the writer thread: keep it quick (set an event, queue a wake-up). Returns unsubscribe."""
        self._watch_other_processes()
        return self.notifier.subscribe(callback)

    def generation(self) -> int:
        """A counter that moves whenever a commit touched some shard (pair with `wait`)."""
        return self.notifier.generation

    def wait(self, generation: int, timeout: float | None = None) -> int:
        """Block until some shard grew after `generation` (or timeout); returns the new generation."""
        self._watch_other_processes()
        return self.notifier.wait(generation, timeout)

    def _watch_other_processes(self) -> None:
        if self._watch is None or self._unwatch is not None:
            return
        with self._watch_lock:
            if self._unwatch is None and not self._stop.is_set():
                self._unwatch = self._watch(lambda shards: self.notifier.on_commit({"shards": shards}))

    # --- upkeep ---------------------------------------------------------------------------------
    def maintain(self, now: float | None = None, *, full: bool = False) -> None:
        """One round of upkeep: rollover of due shards, closing streams of dropped tables, retention.
        Cheap when idle: reads first (no write transaction unless something is due), looks for
        orphaned streams only after a table changed, and scans for trimmable data only when the
        oldest data it knows of has reached the horizon (`full` forces every check)."""
        now = time.time() if now is None else now
        rollover = self.settings.shard_rollover
        retention = self.settings.stream_retention
        reader = self.store.read()
        due_rollover = bool(rollover) and any(now - s[6] >= rollover for s in reader.open_shards())
        orphans: list[tuple[str, str]] = []
        if self._tables_changed or full:
            self._tables_changed = False
            orphans = self._orphan_streams(reader)
        if due_rollover or orphans:
            def upkeep(txn: Any) -> None:
                if due_rollover:
                    rollover_due(txn, rollover, now)
                for arn, name in orphans:
                    if _is_orphan(txn, arn, name):
                        changelog.close_stream_shards(txn, arn, now)

            self.engine.writer.run(upkeep)
        if retention is None or (now < self._next_trim and not full):
            return
        with self._upkeep_lock:
            self._next_trim = float("inf")
        budget = 20_000
        while self.engine.writer.run(lambda txn: trim(txn, retention, now, budget)) >= budget:
            if self._stop.is_set():
                break
        oldest = self._oldest_data(reader)
        with self._upkeep_lock:
            self._next_trim = min(self._next_trim, oldest + retention)

    def _on_commit_upkeep(self, notes: dict[str, set]) -> None:
        if "tables" in notes:
            self._tables_changed = True
        retention = self.settings.stream_retention
        if retention is not None and "shards" in notes:
            due = time.time() + retention
            if due < self._next_trim:
                with self._upkeep_lock:
                    self._next_trim = min(self._next_trim, due)

    def _orphan_streams(self, reader: Any) -> list[tuple[str, str]]:
        return [(s[0], s[1]) for s in reader.list_streams() if s[5] == "ENABLED" and _is_orphan(reader, s[0], s[1])]

    @staticmethod
    def _oldest_data(reader: Any) -> float:
        """The time of the oldest thing retention will remove: a record, a closed shard, a disabled stream."""
        oldest = float("inf")
        for s in reader.all_shards():
            rec = reader.read_stream_records(s[0], -1, 1)
            if rec:
                oldest = min(oldest, rec[0][1])
            elif s[5] is not None and s[7] is not None:
                oldest = min(oldest, s[7])
        for st in reader.list_streams():
            if st[5] == "DISABLED" and st[8] is not None:
                oldest = min(oldest, st[8])
        return oldest

    def start_background(self, interval: float | None = None) -> None:
        """Start the upkeep thread (rollover, retention, orphaned streams)."""
        if self._thread is not None:
            return
        if interval is None:
            interval = 1.0
            if self.settings.shard_rollover:
                interval = min(interval, max(0.01, self.settings.shard_rollover / 4))
            if self.settings.stream_retention is not None:
                interval = min(interval, max(0.01, self.settings.stream_retention / 4))
        self._stop.clear()

        def loop() -> None:
            while not self._stop.wait(interval):
                try:
                    self.maintain()
                except Exception:
                    if not self._stop.is_set():
                        log.exception("stream upkeep failed")

        self._thread = threading.Thread(target=loop, name="eddydb-streams", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        with self._watch_lock:
            if self._unwatch is not None:
                self._unwatch()
        self.notifier.wake_all()
        t, self._thread = self._thread, None
        if t is not None and t is not threading.current_thread():
            t.join(10)
        remove = getattr(self.engine, "remove_commit_listener", None)
        if remove is not None:
            remove(self.notifier.on_commit)
            remove(self._on_commit_upkeep)
        if self._shard_cache is not None:
            self.engine.writer.remove_commit_listener(self._shard_cache.committed)


def _is_orphan(txn: Any, arn: str, table_name: str) -> bool:
    """An ENABLED stream whose table is gone or no longer points at it (the table was dropped)."""
    meta = txn.load_table(table_name)
    if meta is None:
        return True
    stream = meta.get("stream") or {}
    return stream.get("arn") != arn or not stream.get("enabled")


def _read_capped(reader: Any, shard_id: str, after_seq: int, limit: int,
                 max_bytes: int) -> tuple[list[tuple[int, float, bytes]], bool]:
    """Records of a shard after `after_seq`: at most `limit` and `max_bytes` of them (at least one).
    Fetched in chunks sized by the records seen so far, so a shard of 400 KB items is never loaded
    1000 records (hundreds of MB) at a time to answer with 1 MB. The flag: more records may follow
    (the page stopped at `limit` or `max_bytes`, not at the shard's last record)."""
    out: list[tuple[int, float, bytes]] = []
    total = 0
    chunk = min(limit, 8)
    while True:
        want = min(chunk, limit - len(out))
        rows = reader.read_stream_records(shard_id, after_seq, want)
        for row in rows:
            if out and total + len(row[2]) > max_bytes:
                return out, True
            out.append(row)
            total += len(row[2])
        if len(rows) < want:
            return out, False
        if len(out) >= limit:
            return out, True
        after_seq = rows[-1][0]
        chunk = (max_bytes - total) // max(1, total // len(out)) + 1


def _latest(reader: Any, shard: ShardInfo) -> int:
    """The position just after a shard's newest record (its end once closed)."""
    if shard.end_seq is not None:
        return shard.end_seq
    last = reader.last_stream_seq(shard.shard_id)
    return shard.horizon if last is None else max(last, shard.horizon)


def _parse_seq(text: str) -> int:
    # isascii: isdigit() alone admits digits like "²" that int() rejects (a 500)
    if not isinstance(text, str) or not text.isascii() or not text.isdigit() or not 21 <= len(text) <= 40:
        raise ValidationException(f"Invalid SequenceNumber: {text}")
    n = int(text) - SEQ_BASE
    if n < 0:
        raise ValidationException(f"Invalid SequenceNumber: {text}")
    return n


def _trimmed(shard_id: str) -> TrimmedDataAccessException:
    return TrimmedDataAccessException(
        f"The requested position in shard {shard_id} is beyond the trim horizon: the records have been "
        "trimmed by the stream's retention")
