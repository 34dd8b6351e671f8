"""Shard leases: which process handles a (mapping, shard) pair when several eddydb processes
share one store. A lease is a row (owner id, expiry) written through the writer; the holder renews
it, a crashed holder's lease expires (or is taken at once when its process is seen dead on this
host) and another process takes over. Used by `triggers.mappings` (the coordinator) and
`triggers.checkpoints` (a checkpoint is only written by the lease holder).
"""
from __future__ import annotations

import os
import socket
import uuid as _uuid
from collections.abc import Iterable

__all__ = ["LeaseLost", "new_owner_id", "owner_is_dead", "take_leases"]


class LeaseLost(Exception):
    """This process no longer holds the lease of the shard it was processing."""


def new_owner_id() -> str:
    """host:pid:random — unique per process start, and tells whether the holder still lives."""
    return f"{socket.gethostname()}:{os.getpid()}:{_uuid.uuid4().hex[:8]}"


def owner_is_dead(owner: str) -> bool:
    """True only when `owner` is a process of this host that no longer exists."""
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return _is_zombie(pid)


def _is_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().split(b") ", 1)[1][:1] == b"Z"
    except (OSError, IndexError):
        return False


def take_leases(txn, pairs: Iterable[tuple[str, str]], owner: str, now: float, ttl: float) -> set[tuple[str, str]]:
    """Inside a write transaction: acquire or renew each (mapping uuid, shard id); returns those held."""
    held = set()
    for uuid, shard_id in pairs:
        if txn.take_lease(uuid, shard_id, owner, now, now + ttl):
            held.add((uuid, shard_id))
            continue
        current = txn.load_lease(uuid, shard_id)
        # the write transaction holds the store's write lock: nobody else can take it meanwhile
        if current is not None and owner_is_dead(current[0]) and \
                txn.take_lease(uuid, shard_id, owner, float("inf"), now + ttl):
            held.add((uuid, shard_id))
    return held
