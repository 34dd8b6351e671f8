"""The storage interface: transactions over items, index entries, table metadata (and, in the
other concerns' mixins, stream records, shards, checkpoints, leases, functions).

The engine, streams and triggers talk to storage only through these classes; every byte of SQL
lives in a backend (`storage/sqlite`, later `storage/postgres`). Keys are the order-preserving
bytes of `model.keys.encode_key`; `phash = partition_hash(pk)`; items are orjson bytes of the
wire-format dict.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from typing import Any, Self

__all__ = ["IndexRow", "ItemRow", "ReadTxn", "Store", "WriteTxn"]

# Rows the item queries yield (plain tuples: the hot path allocates nothing more):
ItemRow = tuple  # (phash: int, pk: bytes, sk: bytes, item: bytes)
IndexRow = tuple  # (phash: int, ipk: bytes, isk: bytes, pk: bytes, sk: bytes, item: bytes)


class ReadTxn(ABC):
    """Reads. Outside a `with` block every call sees the last commit; inside `with store.read() as r:`
    all calls see one snapshot. Usable only from the thread that obtained it."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    # --- table catalog ------------------------------------------------------------------
    @abstractmethod
    def load_tables(self) -> list[dict]:
        """Every table's metadata JSON (dicts as `TableMeta.to_json` produced them)."""

    @abstractmethod
    def catalog_version(self) -> int:
        """A counter bumped by every table metadata change (`next_id("catalog")`)."""

    @abstractmethod
    def load_table(self, name: str) -> dict | None:
        """One table's metadata JSON, or None."""

    # --- items ----------------------------------------------------------------------------
    @abstractmethod
    def get_item(self, table_id: int, phash: int, pk: bytes, sk: bytes) -> bytes | None:
        """The stored item bytes at that key, or None."""

    @abstractmethod
    def query_items(self, table_id: int, phash: int, pk: bytes, lo: bytes | None, lo_incl: bool,
                    hi: bytes | None, hi_incl: bool, forward: bool, limit: int | None) -> Iterator[ItemRow]:
        """One partition's items with lo <(=) sk <(=) hi (None = unbounded), in sk order (or reverse)."""

    @abstractmethod
    def scan_items(self, table_id: int, after: tuple | None, phash_lo: int, phash_hi: int,
                   limit: int | None) -> Iterator[ItemRow]:
        """Items in (phash, pk, sk) order, strictly after `after` = (phash, pk, sk) if given,
        with phash_lo <= phash < phash_hi (a parallel-scan segment)."""

    @abstractmethod
    def count_items(self, table_id: int) -> int: ...

    @abstractmethod
    def table_size(self, table_id: int) -> int:
        """Sum of stored item bytes (an approximation of DynamoDB's TableSizeBytes)."""

    @abstractmethod
    def expired_items(self, table_id: int, lo: float, hi: float, limit: int) -> list[ItemRow]:
        """Items whose `expires` is in [lo, hi), oldest first (TTL sweeps)."""

    # --- index entries -----------------------------------------------------------------------
    @abstractmethod
    def query_index(self, index_id: int, phash: int, ipk: bytes, lo: bytes | None, lo_incl: bool,
                    hi: bytes | None, hi_incl: bool, forward: bool, after: tuple | None,
                    limit: int | None) -> Iterator[IndexRow]:
        """Entries of one index partition by index sort key range, in (isk, pk, sk) order (or reverse);
        `after` = (isk, pk, sk) excludes everything up to and including that position."""

    @abstractmethod
    def scan_index(self, index_id: int, after: tuple | None, phash_lo: int, phash_hi: int,
                   limit: int | None) -> Iterator[IndexRow]:
        """Entries in (phash, ipk, isk, pk, sk) order strictly after `after` (that 5-tuple)."""

    @abstractmethod
    def count_index(self, index_id: int) -> int: ...

    @abstractmethod
    def index_size(self, index_id: int) -> int: ...


class WriteTxn(ReadTxn):
    """The one writer transaction (a group-commit batch). Only the writer thread holds it."""

    notes: dict[str, set]

    def mark(self) -> Any:
        """A cheap marker of this transaction's state for `unwind`, or None when the store cannot
        tell whether rows changed since (the writer then puts a savepoint around each function)."""
        return None

    def unwind(self, mark: Any) -> bool:
        """Return to `mark` when no row changed since it (only in-memory state to restore): True.
        False when something was written since: only a savepoint could have undone that alone."""
        return False

    @abstractmethod
    def savepoint(self) -> None: ...

    @abstractmethod
    def rollback_to_savepoint(self) -> None: ...

    @abstractmethod
    def release_savepoint(self) -> None: ...

    @abstractmethod
    def commit(self) -> None: ...

    @abstractmethod
    def rollback(self) -> None: ...

    @abstractmethod
    def next_id(self, kind: str) -> int:
        """The next value of a persisted counter (1, 2, ...): table ids, index ids, ..."""

    @abstractmethod
    def save_table(self, name: str, table_id: int, meta: dict) -> None: ...

    @abstractmethod
    def delete_table(self, name: str) -> None: ...

    @abstractmethod
    def put_item(self, table_id: int, phash: int, pk: bytes, sk: bytes, item: bytes,
                 expires: float | None) -> None: ...

    @abstractmethod
    def insert_item_if_absent(self, table_id: int, phash: int, pk: bytes, sk: bytes, item: bytes,
                              expires: float | None) -> bool:
        """Insert the item unless one exists at the key; True if it was inserted (nothing changes otherwise)."""

    @abstractmethod
    def delete_item(self, table_id: int, phash: int, pk: bytes, sk: bytes) -> None: ...

    @abstractmethod
    def set_expires(self, table_id: int, phash: int, pk: bytes, sk: bytes, expires: float | None) -> None: ...

    @abstractmethod
    def drop_table_items(self, table_id: int) -> None: ...

    @abstractmethod
    def put_index_entry(self, index_id: int, phash: int, ipk: bytes, isk: bytes, pk: bytes, sk: bytes,
                        item: bytes) -> None: ...

    @abstractmethod
    def delete_index_entry(self, index_id: int, phash: int, ipk: bytes, isk: bytes, pk: bytes,
                           sk: bytes) -> None: ...

    @abstractmethod
    def drop_index(self, index_id: int) -> None: ...


class Store(ABC):
    """One database's storage."""

    # Whether a write batch is short enough (local disk, no network round trips) to run on an
    # event-loop thread (engine/writer.py, inline batches). A networked store keeps its waits on
    # the writer thread, where they release the GIL and block nobody's reads.
    inline_writes: bool = False

    @abstractmethod
    def read(self) -> ReadTxn:
        """A read transaction for the calling thread (sees the last commit)."""

    @abstractmethod
    def begin_write(self) -> WriteTxn:
        """Begin the writer transaction (only a thread running a writer batch calls this)."""

    @abstractmethod
    def close(self) -> None: ...
