"""The one expression tree: nodes for conditions, operands and update actions, plus bound results.

The parser (`parser.py`) and the legacy translator (`legacy.py`) build these nodes;
`evaluate.py` and `update.py` walk them. Trees are immutable and cached per
expression text; the per-request part (ExpressionAttributeValues) lives in the
bound wrappers `Condition`, `UpdatePlan`, `KeyCondition`, `Projection`.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

__all__ = [
    "AddAction",
    "And",
    "Arith",
    "Between",
    "Compare",
    "Condition",
    "DeleteAction",
    "Function",
    "IfNotExists",
    "In",
    "KeyCondition",
    "ListAppend",
    "Literal",
    "Node",
    "Not",
    "Or",
    "Path",
    "PathRef",
    "Projection",
    "RemoveAction",
    "SetAction",
    "Size",
    "UpdatePlan",
    "UpdateTree",
    "ValueRef",
    "format_path",
    "path_clashes",
]

# A document path: top-level attribute name, then map keys (str) and list indexes (int).
Path = tuple[str | int, ...]


def format_path(path: Path) -> str:
    """Path as DynamoDB prints it in messages: [a, b, [2]]."""
    return "[" + ", ".join(f"[{p}]" if isinstance(p, int) else p for p in path) + "]"


def path_clashes(paths: list[Path]) -> Iterator[tuple[str, Path, Path]]:
    """(kind, earlier path, later path) for each pair of paths one update or projection may not
    hold together: "overlap" when one is a prefix of (or equal to) the other, "conflict" when a
    list index and a map key stand at the same position after a common prefix."""
    for i, p in enumerate(paths):
        for q in paths[:i]:
            kind = None
            for a, b in zip(q, p):
                if a == b and type(a) is type(b):
                    continue
                if isinstance(a, int) != isinstance(b, int):
                    kind = "conflict"
                break
            else:
                kind = "overlap"
            if kind is not None:
                yield kind, q, p


# --- operands ----------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class PathRef:
    path: Path


@dataclass(frozen=True, slots=True)
class ValueRef:
    name: str  # ":v" looked up in the bound values


@dataclass(frozen=True, slots=True)
class Literal:
    value: dict  # an attribute value (legacy parameters bind their values directly)


@dataclass(frozen=True, slots=True)
class Size:
    path: PathRef | ValueRef | Size  # size(path), or of a constant :value


@dataclass(frozen=True, slots=True)
class Arith:
    op: str  # "+" | "-"
    left: Operand
    right: Operand


@dataclass(frozen=True, slots=True)
class IfNotExists:
    path: PathRef
    default: Operand


@dataclass(frozen=True, slots=True)
class ListAppend:
    left: Operand
    right: Operand


Operand = PathRef | ValueRef | Literal | Size | Arith | IfNotExists | ListAppend


# --- conditions --------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Compare:
    op: str  # "=", "<>", "<", "<=", ">", ">="
    left: Operand
    right: Operand


@dataclass(frozen=True, slots=True)
class Between:
    operand: Operand
    low: Operand
    high: Operand


@dataclass(frozen=True, slots=True)
class In:
    operand: Operand
    options: tuple[Operand, ...]


@dataclass(frozen=True, slots=True)
class And:
    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class Or:
    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class Not:
    operand: Node


@dataclass(frozen=True, slots=True)
class Function:
    name: str  # attribute_exists | attribute_not_exists | attribute_type | begins_with | contains
    args: tuple[Operand, ...]


Node = Compare | Between | In | And | Or | Not | Function


# --- update actions ------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class SetAction:
    path: Path
    value: Operand


@dataclass(frozen=True, slots=True)
class RemoveAction:
    path: Path


@dataclass(frozen=True, slots=True)
class AddAction:
    path: Path
    value: Operand


@dataclass(frozen=True, slots=True)
class DeleteAction:
    path: Path
    value: Operand


@dataclass(frozen=True, slots=True)
class UpdateTree:
    sets: tuple[SetAction, ...] = ()
    removes: tuple[RemoveAction, ...] = ()
    adds: tuple[AddAction, ...] = ()
    deletes: tuple[DeleteAction, ...] = ()

    def target_paths(self) -> list[Path]:
        return ([a.path for a in self.sets] + [a.path for a in self.removes]
                + [a.path for a in self.adds] + [a.path for a in self.deletes])


# --- bound results (tree + this request's values) ---------------------------------
@dataclass(slots=True)
class Condition:
    """A condition/filter ready to evaluate: `evaluate(cond, item)`."""

    tree: Node
    values: dict[str, dict] = field(default_factory=dict)
    names_used: frozenset[str] = frozenset()
    values_used: frozenset[str] = frozenset()
    attributes: frozenset[str] = frozenset()  # top-level attributes referenced (filter-on-key checks)
    nested: frozenset[str] = frozenset()  # top-level attributes of paths that go inside them (a.b, a[0])


@dataclass(slots=True)
class UpdatePlan:
    """An update ready to apply: `apply_update(plan, item)`."""

    tree: UpdateTree
    values: dict[str, dict] = field(default_factory=dict)
    names_used: frozenset[str] = frozenset()
    values_used: frozenset[str] = frozenset()
    legacy: bool = False  # from AttributeUpdates: type errors use the legacy message
    nested: frozenset[str] = frozenset()  # top-level attributes of paths that go inside them (a.b, a[0])

    def only_deletes(self) -> bool:
        """Only REMOVE/DELETE actions: on a missing item DynamoDB creates nothing."""
        t = self.tree
        return not t.sets and not t.adds and bool(t.removes or t.deletes)

    def top_level_names(self) -> set[str]:
        """Top-level attributes this update may modify (for the key-attribute check)."""
        return {p[0] for p in self.tree.target_paths() if isinstance(p[0], str)}


@dataclass(slots=True)
class KeyCondition:
    """A Query's key condition: hash equality plus an optional sort-key condition.

    range_op is None, "=", "<", "<=", ">", ">=", "BETWEEN" or "begins_with";
    range_values holds its 0, 1 or 2 attribute values.
    """

    hash_value: dict
    range_op: str | None = None
    range_values: tuple[dict, ...] = ()
    hash_name: str = ""
    range_name: str | None = None
    names_used: frozenset[str] = frozenset()
    values_used: frozenset[str] = frozenset()


class Projection(list):
    """List of document paths to return (a plain list of `Path` plus usage info)."""

    names_used: frozenset[str] = frozenset()
    values_used: frozenset[str] = frozenset()
    nested: frozenset[str] = frozenset()  # top-level attributes of paths that go inside them (a.b, a[0])
