"""The one write path: an item changes from `old` to `new` inside the writer's transaction.

`apply_change` writes/deletes the item row (with its TTL `expires`), maintains every secondary
index entry (with its projection; sparse when the index key is absent or mistyped), and, when the
table's stream is enabled and the change changed something, appends the stream record through
`engine.changelog.record_change`. Called by PutItem/UpdateItem/DeleteItem (engine/items.py),
BatchWriteItem, TransactWriteItems and the TTL sweeper. `backfill_index` builds a new GSI.
"""
from __future__ import annotations

import orjson

from eddydb.engine import changelog
from eddydb.engine.catalog import IndexMeta, TableMeta
from eddydb.model.keys import encode_key, partition_hash
from eddydb.model.size import value_size
from eddydb.model.values import values_equal
from eddydb.storage.base import WriteTxn

__all__ = ["apply_change", "backfill_index", "expires_of", "index_entry", "item_key", "project_for_index",
           "projected_names"]

_dumps = orjson.dumps


def item_key(table: TableMeta, item: dict) -> tuple[int, bytes, bytes]:
    """(phash, pk, sk) storage key of an item (or a key dict) of `table` (attributes assumed valid)."""
    ks = table.key
    pk = encode_key(item[ks.hash_name])
    sk = b"" if ks.range_name is None else encode_key(item[ks.range_name])
    return partition_hash(pk), pk, sk


def expires_of(table: TableMeta, item: dict | None) -> float | None:
    """The `expires` column value: the TTL attribute's Number when TTL is enabled, else None."""
    attr = table.ttl_attribute
    if attr is None or item is None:
        return None
    v = item.get(attr)
    if v is None or "N" not in v:
        return None
    try:
        return float(v["N"])
    except (ValueError, OverflowError):
        return None


def projected_names(index: IndexMeta, table: TableMeta | None = None) -> dict[str, None]:
    """The attribute names a KEYS_ONLY/INCLUDE index entry keeps (ordered): index keys, table keys,
    INCLUDEd attributes."""
    names: list[str] = list(index.key.names())
    if table is not None:
        names.extend(table.key.names())
    if index.projection_type == "INCLUDE":
        names.extend(index.non_key_attributes)
    return dict.fromkeys(names)


def project_for_index(index: IndexMeta, item: dict, table: TableMeta | None = None) -> dict:
    """The attributes an index entry keeps: ALL, or table+index keys (KEYS_ONLY) plus INCLUDEd ones."""
    if index.projection_type == "ALL":
        return item
    return {n: item[n] for n in projected_names(index, table) if n in item}


def index_entry(index: IndexMeta, item: dict | None, table: TableMeta | None = None,
                item_bytes: bytes | None = None) -> tuple[int, bytes, bytes, bytes] | None:
    """(phash(ipk), ipk, isk, projected item bytes) of `item` in `index`, or None when the item is not
    in the index (sparse: a key attribute missing or not of the declared type)."""
    if item is None:
        return None
    ks = index.key
    hv = item.get(ks.hash_name)
    if hv is None or ks.hash_type not in hv:
        return None
    if ks.range_name is not None:
        rv = item.get(ks.range_name)
        if rv is None or ks.range_type not in rv:
            return None
        isk = encode_key(rv)
    else:
        isk = b""
    ipk = encode_key(hv)
    if index.projection_type == "ALL" and item_bytes is not None:
        data = item_bytes
    else:
        data = _dumps(project_for_index(index, item, table))
    return partition_hash(ipk), ipk, isk, data


def apply_change(txn: WriteTxn, table: TableMeta, key: dict, old: dict | None, new: dict | None,
                 *, user_identity: dict | None = None,
                 storage_key: tuple[int, bytes, bytes] | None = None, new_bytes: bytes | None = None,
                 row_written: bool = False) -> None:
    """Write `new` (None = delete) over `old` (None = absent) at `key`, with indexes and stream record.

    `storage_key` is the (phash, pk, sk) of `key` and `new_bytes` the orjson bytes of `new` when the
    caller already computed them; `row_written` when the caller already inserted `new`'s row
    (`insert_item_if_absent`), so only indexes and the stream record remain."""
    if old is None and new is None:
        return
    phash, pk, sk = storage_key if storage_key is not None else item_key(table, key)
    tid = table.table_id
    if new is None:
        new_bytes = None
        txn.delete_item(tid, phash, pk, sk)
    else:
        if new_bytes is None:
            new_bytes = _dumps(new)
        if not row_written:
            txn.put_item(tid, phash, pk, sk, new_bytes, expires_of(table, new))
    if table.indexes:
        for index in table.indexes.values():
            o = index_entry(index, old, table)
            n = index_entry(index, new, table, new_bytes)
            if o is not None and (n is None or o[0] != n[0] or o[1] != n[1] or o[2] != n[2]):
                txn.delete_index_entry(index.index_id, o[0], o[1], o[2], pk, sk)
            if n is not None and n != o:
                txn.put_index_entry(index.index_id, n[0], n[1], n[2], pk, sk, n[3])
    if (table.stream is not None and table.stream.enabled
            and (old is None or new is None or not values_equal({"M": old}, {"M": new}))):
        changelog.record_change(txn, table, old, new, user_identity=user_identity)


def _key_violation(index: IndexMeta, item: dict) -> bool:
    """An index key value that writes reject (empty, or over 2048/1024 bytes). An existing item with
    one is left out of a new GSI: DynamoDB reports it as an index key violation, it does not index it."""
    ks = index.key
    for name, typ, limit in ((ks.hash_name, ks.hash_type, 2048), (ks.range_name, ks.range_type, 1024)):
        if name is None or typ == "N":
            continue
        av = item[name]
        if av[typ] == "" or (len(av[typ]) * 4 > limit and value_size(av) > limit):
            return True
    return False


def backfill_index(txn: WriteTxn, table: TableMeta, index: IndexMeta) -> int:
    """Add an entry to `index` for every current item of `table` (new GSI); returns entries written."""
    n = 0
    after = None
    while True:
        rows = list(txn.scan_items(table.table_id, after, 0, 1 << 32, 1000))
        if not rows:
            return n
        for phash, pk, sk, data in rows:
            item = orjson.loads(data)
            e = index_entry(index, item, table, data)
            if e is not None and not _key_violation(index, item):
                txn.put_index_entry(index.index_id, e[0], e[1], e[2], pk, sk, e[3])
                n += 1
        last = rows[-1]
        after = (last[0], last[1], last[2])
