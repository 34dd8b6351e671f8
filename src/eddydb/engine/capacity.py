"""ConsumedCapacity by DynamoDB's unit arithmetic: reads in 4 KB units (eventually consistent
reads cost half), writes in 1 KB units, plus the writes of every secondary index an item change
touches. Query/Scan sum the sizes of the items read, then round up.

Called by api/items.py and api/batch.py when a request sets ReturnConsumedCapacity.
"""
from __future__ import annotations

from typing import Any

from eddydb.engine.catalog import IndexMeta, TableMeta
from eddydb.engine.writes import index_entry, project_for_index
from eddydb.model.size import item_size

__all__ = ["Consumed", "consumed_read", "consumed_write", "index_write_units", "read_units", "write_units"]

_READ_UNIT = 4096
_WRITE_UNIT = 1024


def read_units(size: int, consistent: bool) -> float:
    """Units of reading `size` bytes (at least one unit; half for eventually consistent reads)."""
    units = max(1, -(-size // _READ_UNIT))
    return float(units) if consistent else units / 2


def write_units(size: int) -> float:
    return float(max(1, -(-size // _WRITE_UNIT)))


class Consumed:
    """Accumulates units per table / index and renders the AWS ConsumedCapacity shape."""

    __slots__ = ("gsi", "kind", "lsi", "split", "table", "table_units", "total")

    def __init__(self, table: str, kind: str, split: bool = False) -> None:
        self.table = table
        self.kind = kind                    # "read" | "write"
        # Transactions (TransactWriteItems, TransactGetItems, ExecuteTransaction) also name the units:
        # every Capacity carries ReadCapacityUnits or WriteCapacityUnits beside CapacityUnits.
        self.split = split
        self.total = 0.0
        self.table_units = 0.0
        self.gsi: dict[str, float] = {}
        self.lsi: dict[str, float] = {}

    def add_table(self, units: float) -> None:
        self.total += units
        self.table_units += units

    def add_index(self, index: IndexMeta, units: float) -> None:
        self.total += units
        d = self.gsi if index.kind == "GSI" else self.lsi
        d[index.name] = d.get(index.name, 0.0) + units

    def render(self, mode: str | None) -> dict[str, Any] | None:
        if mode not in ("TOTAL", "INDEXES"):
            return None
        out: dict[str, Any] = {"TableName": self.table, **self._capacity(self.total)}
        if mode == "INDEXES":
            out["Table"] = self._capacity(self.table_units)
            if self.gsi:
                out["GlobalSecondaryIndexes"] = {n: self._capacity(u) for n, u in self.gsi.items()}
            if self.lsi:
                out["LocalSecondaryIndexes"] = {n: self._capacity(u) for n, u in self.lsi.items()}
        return out

    def _capacity(self, units: float) -> dict[str, float]:
        if not self.split:
            return {"CapacityUnits": units}
        kind = "ReadCapacityUnits" if self.kind == "read" else "WriteCapacityUnits"
        return {"CapacityUnits": units, kind: units}


def consumed_read(table: TableMeta, size: int, consistent: bool, mode: str | None,
                  index: IndexMeta | None = None, fetched: int = 0) -> dict[str, Any] | None:
    """ConsumedCapacity of a read of `size` bytes (GetItem: one item; Query/Scan: the sum). An index
    read charges `size` to the index, and `fetched` (the table items an LSI read fetched for
    attributes it does not project, rounded apart) to the table."""
    if mode not in ("TOTAL", "INDEXES"):
        return None
    c = Consumed(table.name, "read")
    units = read_units(size, consistent)
    if index is None:
        c.add_table(units)
    else:
        c.add_index(index, units)
        if fetched:
            c.add_table(read_units(fetched, consistent))
    return c.render(mode)


def index_write_units(table: TableMeta, old: dict | None, new: dict | None) -> list[tuple[IndexMeta, float]]:
    """Write units each secondary index spends on an item change old -> new."""
    out = []
    for index in table.indexes.values():
        okey = index_entry(index, old, table)
        nkey = index_entry(index, new, table)
        units = 0.0
        if okey is not None and nkey is not None and old is not None and new is not None:
            if okey[:3] != nkey[:3]:
                units = write_units(item_size(project_for_index(index, old, table))) + \
                    write_units(item_size(project_for_index(index, new, table)))
            elif okey[3] != nkey[3]:
                units = write_units(item_size(project_for_index(index, new, table)))
        elif okey is not None and old is not None:
            units = write_units(item_size(project_for_index(index, old, table)))
        elif nkey is not None and new is not None:
            units = write_units(item_size(project_for_index(index, new, table)))
        if units:
            out.append((index, units))
    return out


def consumed_write(table: TableMeta, old: dict | None, new: dict | None, mode: str | None) -> dict[str, Any] | None:
    """ConsumedCapacity of one item write: the larger of old/new size in 1 KB units, plus index writes."""
    if mode not in ("TOTAL", "INDEXES"):
        return None
    c = Consumed(table.name, "write")
    size = max(item_size(old) if old else 0, item_size(new) if new else 0)
    c.add_table(write_units(size))
    if table.indexes:
        for index, units in index_write_units(table, old, new):
            c.add_index(index, units)
    return c.render(mode)
