"""The parsed PartiQL statements: SELECT, INSERT, UPDATE, DELETE and EXISTS (transactions only).

Conditions and update actions are `eddydb.expressions.tree` nodes, so the one evaluator runs them.
Values are `Literal` nodes, or `ValueRef(":pN")` for the N-th `?` parameter and `ValueRef(":cN")` for
a collection literal with parameters inside (`Template`), both filled in per request by `bind`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from eddydb.expressions.tree import Node, Path, UpdateTree

__all__ = ["Delete", "Exists", "Insert", "Select", "Statement", "Template", "Update"]


@dataclass(frozen=True, slots=True)
class Template:
    """A value literal that is not constant: ("param", i) | ("lit", av) | ("list"|"set", (T, ...))
    | ("map", ((key, T), ...))."""
    kind: str
    data: Any


@dataclass(frozen=True, slots=True)
class _Base:
    table: str
    params: int                        # number of `?` in the statement
    templates: tuple[tuple[str, Template], ...] = field(default=(), kw_only=True)
    type_operands: tuple[str, ...] = field(default=(), kw_only=True)   # ValueRefs naming an attribute_type type


@dataclass(frozen=True, slots=True)
class Select(_Base):
    index: str | None = None
    projection: tuple[Path, ...] | None = None   # None: SELECT *
    where: Node | None = None
    order_by: tuple[tuple[Path, bool], ...] = ()   # ORDER BY terms: (path, descending)


@dataclass(frozen=True, slots=True)
class Insert(_Base):
    item: Template = Template("map", ())


@dataclass(frozen=True, slots=True)
class Update(_Base):
    actions: UpdateTree = field(default_factory=UpdateTree)
    where: Node | None = None
    returning: str = "NONE"            # NONE | ALL_OLD | UPDATED_OLD | ALL_NEW | UPDATED_NEW


@dataclass(frozen=True, slots=True)
class Delete(_Base):
    where: Node | None = None
    returning: str = "NONE"            # NONE | ALL_OLD


@dataclass(frozen=True, slots=True)
class Exists(_Base):
    """EXISTS(SELECT * FROM t WHERE <key> [AND cond]): a transaction's condition check."""
    where: Node | None = None


Statement = Select | Insert | Update | Delete | Exists
