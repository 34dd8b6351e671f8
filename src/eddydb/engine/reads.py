"""Reads: GetItem, Query and Scan over a table or one of its secondary indexes.

DynamoDB's paging semantics live here: Limit counts items *evaluated* (before the filter), a
page stops after 1 MB of items read, LastEvaluatedKey is the last evaluated item's key (table
key plus index key for index reads), Query walks one partition's sort-key range forward or
backward, Scan walks (partition-hash, pk, sk) order and a parallel-scan segment is a hash range;
an LSI filter reading attributes the index does not project sees the table item; with
ttl_hide_expired, expired items are evaluated but never match. Called by api/items.py and
api/batch.py with a `ReadTxn` of the calling thread.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from eddydb.engine import exprs
from eddydb.engine.catalog import IndexMeta, TableMeta
from eddydb.engine.writes import item_key, projected_names
from eddydb.model.errors import ValidationException
from eddydb.model.keys import encode_key, partition_hash
from eddydb.model.size import item_size
from eddydb.storage.base import ReadTxn

__all__ = [
    "PAGE_BYTES",
    "RANGE_OPS",
    "Page",
    "get_item",
    "get_item_raw",
    "last_key_of",
    "query",
    "scan",
]

PAGE_BYTES = 1 << 20
_HASH_SPACE = 1 << 32
_loads = orjson.loads

# Key-condition sort-key operators, in either spelling (expression operator or legacy name).
RANGE_OPS = {"=": "EQ", "EQ": "EQ", "<": "LT", "LT": "LT", "<=": "LE", "LE": "LE", ">": "GT", "GT": "GT",
             ">=": "GE", "GE": "GE", "BETWEEN": "BETWEEN", "between": "BETWEEN",
             "begins_with": "BEGINS_WITH", "BEGINS_WITH": "BEGINS_WITH"}


class Page:
    """One page of a Query/Scan: the items that passed the filter (projected), counts, and the
    items evaluated (their DynamoDB size, `size`, is what capacity is charged for)."""

    __slots__ = ("_evaluated", "_size", "count", "items", "last_key", "raw_items", "scanned")

    def __init__(self) -> None:
        self.items: list[dict] = []
        self.count = 0
        self.scanned = 0
        self.last_key: dict | None = None
        self._evaluated: list[dict] = []
        self._size: int | None = None
        self.raw_items: list[bytes] | None = None   # raw mode: the stored bytes of every item, in order

    @property
    def evaluated(self) -> list[dict]:
        """The items (index entries, for an index read) the page evaluated, before the filter."""
        if self.raw_items is not None:
            return [_loads(r) for r in self.raw_items]
        return self._evaluated

    @property
    def size(self) -> int:
        """Sum of the DynamoDB sizes of the items evaluated (computed on first use)."""
        if self._size is None:
            if self.raw_items is not None:
                self._size = sum(item_size(_loads(r)) for r in self.raw_items)
            else:
                self._size = sum(item_size(i) for i in self._evaluated)
        return self._size


def get_item_raw(r: ReadTxn, table: TableMeta, key: dict) -> bytes | None:
    """Stored orjson bytes of the item at `key` (validated key), or None."""
    phash, pk, sk = item_key(table, key)
    return r.get_item(table.table_id, phash, pk, sk)


def get_item(r: ReadTxn, table: TableMeta, key: dict) -> dict | None:
    raw = get_item_raw(r, table, key)
    return None if raw is None else _loads(raw)


def last_key_of(table: TableMeta, index: IndexMeta | None, item: dict) -> dict:
    """LastEvaluatedKey of an item: the table key, plus the index key attributes for index reads."""
    out = {}
    for n in table.key.names():
        if n in item:
            out[n] = item[n]
    if index is not None:
        for n in index.key.names():
            if n in item:
                out[n] = item[n]
    return out


def _successor(prefix: bytes) -> bytes | None:
    """Smallest byte string greater than every string starting with `prefix` (None: no bound)."""
    b = bytearray(prefix)
    while b and b[-1] == 0xFF:
        b.pop()
    if not b:
        return None
    b[-1] += 1
    return bytes(b)


def _row_limit(limit: int | None) -> int | None:
    """The row count storage may stop at: Limit, unless it is above PAGE_BYTES. Every item is at
    least one byte, so the 1 MB page stops first (and such a Limit may not fit a 64-bit SQL integer)."""
    return limit if limit is not None and limit <= PAGE_BYTES else None


def _bounds(range_op: str | None, values: list[dict] | None) -> tuple[bytes | None, bool, bytes | None, bool]:
    if range_op is None:
        return None, True, None, True
    op = RANGE_OPS[range_op]
    v = values or []
    if op == "EQ":
        e = encode_key(v[0])
        return e, True, e, True
    if op == "LT":
        return None, True, encode_key(v[0]), False
    if op == "LE":
        return None, True, encode_key(v[0]), True
    if op == "GT":
        return encode_key(v[0]), False, None, True
    if op == "GE":
        return encode_key(v[0]), True, None, True
    if op == "BETWEEN":
        return encode_key(v[0]), True, encode_key(v[1]), True
    p = encode_key(v[0])
    return p, True, _successor(p), False


def _in_range(e: bytes, lo: bytes | None, lo_incl: bool, hi: bytes | None, hi_incl: bool) -> bool:
    if lo is not None and (e < lo or (e == lo and not lo_incl)):
        return False
    return not (hi is not None and (e > hi or e == hi and not hi_incl))


def _collect(page: Page, rows: Any, table: TableMeta, index: IndexMeta | None, limit: int | None,
             filter_fn: Callable[[dict], bool] | None, project_fn: Callable[[dict], dict] | None,
             count_only: bool, item_col: int) -> Page:
    """Evaluate rows until Limit items or 1 MB; the filter runs after the counting.

    The stored JSON is never shorter than DynamoDB's item size, so its length bounds the page size
    from above; exact sizes are computed only once that bound reaches 1 MB."""
    evaluated = page._evaluated
    approx = 0
    exact: int | None = None
    n = 0
    item = None
    for row in rows:
        raw = row[item_col]
        item = _loads(raw)
        n += 1
        evaluated.append(item)
        if exact is None:
            approx += len(raw)
            if approx >= PAGE_BYTES:
                exact = sum(item_size(i) for i in evaluated)
        else:
            exact += item_size(item)
        if filter_fn is None or filter_fn(item):
            page.count += 1
            if not count_only:
                page.items.append(item if project_fn is None else project_fn(item))
        if (limit is not None and n >= limit) or (exact is not None and exact >= PAGE_BYTES):
            page.last_key = last_key_of(table, index, item)
            break
    page.scanned = n
    if exact is not None:
        page._size = exact
    return page


def _collect_raw(page: Page, rows: Any, table: TableMeta, index: IndexMeta | None, limit: int | None,
                 item_col: int) -> Page:
    """`_collect` without filter or projection: keeps the stored bytes (decoding only the last item
    for LastEvaluatedKey, or every item once the page nears 1 MB)."""
    raws: list[bytes] = []
    page.raw_items = raws
    approx = 0
    exact: int | None = None
    n = 0
    for row in rows:
        raw = row[item_col]
        n += 1
        raws.append(raw)
        if exact is None:
            approx += len(raw)
            if approx >= PAGE_BYTES:
                exact = sum(item_size(_loads(x)) for x in raws)
        else:
            exact += item_size(_loads(raw))
        if (limit is not None and n >= limit) or (exact is not None and exact >= PAGE_BYTES):
            page.last_key = last_key_of(table, index, _loads(raw))
            break
    page.scanned = page.count = n
    if exact is not None:
        page._size = exact
    return page


def _filter_fn(node: Any, fetch: Callable[[dict], dict] | None = None) -> Callable[[dict], bool] | None:
    if node is None:
        return None
    evaluate = exprs.fn("evaluate")
    if fetch is not None:
        return lambda entry: bool(evaluate(node, fetch(entry)))
    return lambda item: bool(evaluate(node, item))


def _filter_fetch(r: ReadTxn, table: TableMeta, index: IndexMeta | None, node: Any) -> Callable[[dict], dict] | None:
    """For an LSI whose projection lacks an attribute the filter reads: the entry's table item, which
    DynamoDB fetches from the table (a GSI filters its entries as they are)."""
    if node is None or index is None or index.kind != "LSI" or index.projection_type == "ALL":
        return None
    if getattr(node, "attributes", frozenset()) <= projected_names(index, table).keys():
        return None

    def fetch(entry: dict) -> dict:
        raw = r.get_item(table.table_id, *item_key(table, entry))
        return entry if raw is None else _loads(raw)
    return fetch


def _match_fn(r: ReadTxn, table: TableMeta, index: IndexMeta | None, node: Any,
              hide: Callable[[dict], bool] | None) -> Callable[[dict], bool] | None:
    """What an evaluated item must pass to count: not hidden (`hide`, the ttl_hide_expired predicate,
    judges the table item when an index entry does not project the TTL attribute), then the filter."""
    ffn = _filter_fn(node, _filter_fetch(r, table, index, node))
    if hide is None:
        return ffn
    hfn = hide
    if index is not None and index.projection_type != "ALL" and table.ttl_attribute not in projected_names(index, table):
        def hfn(entry: dict) -> bool:
            raw = r.get_item(table.table_id, *item_key(table, entry))
            return raw is not None and hide(_loads(raw))
    if ffn is None:
        return lambda item: not hfn(item)
    return lambda item: not hfn(item) and ffn(item)


def _project_fn(paths: Any) -> Callable[[dict], dict] | None:
    if paths is None:
        return None
    project = exprs.fn("project")
    return lambda item: project(item, paths)


def query(r: ReadTxn, table: TableMeta, index: IndexMeta | None, hash_value: dict, range_op: str | None = None,
          range_values: list[dict] | None = None, *, forward: bool = True, limit: int | None = None,
          start_key: dict | None = None, filter: Any = None, projection: Any = None,
          count_only: bool = False, raw: bool = False, hide: Callable[[dict], bool] | None = None) -> Page:
    """One page of a Query (validated inputs: hash_value of the right type, start_key of the right shape).
    `raw` (no filter/projection): the page keeps stored bytes in `raw_items` instead of `items`; `hide`:
    items that read as absent (evaluated, never counted)."""
    ks = index.key if index is not None else table.key
    lo, lo_incl, hi, hi_incl = _bounds(range_op, range_values)
    pkb = encode_key(hash_value)
    phash = partition_hash(pkb)
    page = Page()
    ffn, pfn = _match_fn(r, table, index, filter, hide), _project_fn(projection)
    if index is None:
        if start_key is not None:
            if ks.range_name is None:
                return page     # a partition of one item, already returned
            after = encode_key(start_key[ks.range_name])
            if forward:
                if lo is None or after >= lo:
                    lo, lo_incl = after, False
            elif hi is None or after <= hi:
                hi, hi_incl = after, False
        rows = r.query_items(table.table_id, phash, pkb, lo, lo_incl, hi, hi_incl, forward, _row_limit(limit))
        if raw and ffn is None and pfn is None and not count_only:
            return _collect_raw(page, rows, table, None, limit, 3)
        return _collect(page, rows, table, None, limit, ffn, pfn, count_only, 3)
    after_t = None
    if start_key is not None:
        isk = b"" if ks.range_name is None else encode_key(start_key[ks.range_name])
        _ph, tpk, tsk = item_key(table, start_key)
        after_t = (isk, tpk, tsk)
    rows = r.query_index(index.index_id, phash, pkb, lo, lo_incl, hi, hi_incl, forward, after_t, _row_limit(limit))
    if raw and ffn is None and pfn is None and not count_only:
        return _collect_raw(page, rows, table, index, limit, 5)
    return _collect(page, rows, table, index, limit, ffn, pfn, count_only, 5)


def segment_range(segment: int | None, total: int | None) -> tuple[int, int]:
    if segment is None or total is None:
        return 0, _HASH_SPACE
    return segment * _HASH_SPACE // total, (segment + 1) * _HASH_SPACE // total


def scan(r: ReadTxn, table: TableMeta, index: IndexMeta | None, *, segment: int | None = None,
         total_segments: int | None = None, limit: int | None = None, start_key: dict | None = None,
         filter: Any = None, projection: Any = None, count_only: bool = False, raw: bool = False,
         hide: Callable[[dict], bool] | None = None) -> Page:
    """One page of a Scan of the table or an index (parallel segment = partition-hash range); `raw` and
    `hide` as in `query`."""
    lo, hi = segment_range(segment, total_segments)
    page = Page()
    ffn, pfn = _match_fn(r, table, index, filter, hide), _project_fn(projection)
    if index is None:
        after = None
        if start_key is not None:
            after = item_key(table, start_key)
            if not lo <= after[0] < hi:
                raise ValidationException("The provided Exclusive start key does not map to the provided segment")
        rows = r.scan_items(table.table_id, after, lo, hi, _row_limit(limit))
        if raw and ffn is None and pfn is None and not count_only:
            return _collect_raw(page, rows, table, None, limit, 3)
        return _collect(page, rows, table, None, limit, ffn, pfn, count_only, 3)
    after_i = None
    if start_key is not None:
        ks = index.key
        ipk = encode_key(start_key[ks.hash_name])
        isk = b"" if ks.range_name is None else encode_key(start_key[ks.range_name])
        _ph, tpk, tsk = item_key(table, start_key)
        after_i = (partition_hash(ipk), ipk, isk, tpk, tsk)
        if not lo <= after_i[0] < hi:
            raise ValidationException("The provided Exclusive start key does not map to the provided segment")
    rows = r.scan_index(index.index_id, after_i, lo, hi, _row_limit(limit))
    if raw and ffn is None and pfn is None and not count_only:
        return _collect_raw(page, rows, table, index, limit, 5)
    return _collect(page, rows, table, index, limit, ffn, pfn, count_only, 5)
