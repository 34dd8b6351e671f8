"""The one parser: condition, filter, key-condition, update and projection expressions.

A hand-written recursive-descent parser over `tokens.tokenize` building `tree` nodes.
Parsing is cached on (expression text, kind, ExpressionAttributeNames); the
per-request ExpressionAttributeValues are checked and bound by the public
`parse_*` functions without re-parsing. Called by the api layer (through
`request.compile_request` or directly) and by the engine.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from eddydb.expressions.reserved import RESERVED_WORDS
from eddydb.expressions.tokens import Token, tokenize
from eddydb.expressions.tree import (
    AddAction,
    And,
    Arith,
    Between,
    Compare,
    Condition,
    DeleteAction,
    Function,
    IfNotExists,
    In,
    KeyCondition,
    ListAppend,
    Node,
    Not,
    Or,
    Path,
    PathRef,
    Projection,
    RemoveAction,
    SetAction,
    Size,
    UpdatePlan,
    UpdateTree,
    ValueRef,
    format_path,
    path_clashes,
)
from eddydb.model.errors import EddyError, SerializationException, ValidationException
from eddydb.model.values import compare_values, validate_value

__all__ = [
    "format_value",
    "parse_condition",
    "parse_key_condition",
    "parse_projection",
    "parse_update",
]

# The words each grammar reads as its own keywords, never as an attribute name (a syntax error there).
# Elsewhere they are plain names: REMOVE is no reserved word, so a condition or projection may name
# it bare, and the others are reserved words ("Attribute name is a reserved keyword"), as dynalite's
# grammars, built against DynamoDB, have it.
_CONDITION_KEYWORDS = frozenset(("AND", "OR", "NOT", "BETWEEN", "IN"))
_KEYWORDS = {
    "UpdateExpression": frozenset(("SET", "REMOVE", "ADD", "DELETE")),
    "ProjectionExpression": frozenset(),
}
_COMPARATORS = frozenset(("=", "<>", "<", "<=", ">", ">="))
_CONDITION_FUNCS = {  # name -> number of operands
    "attribute_exists": 1,
    "attribute_not_exists": 1,
    "attribute_type": 2,
    "begins_with": 2,
    "contains": 2,
    "size": 1,
}
_UPDATE_FUNCS = {"if_not_exists": 2, "list_append": 2}
_MAX_IN = 100
# Parentheses and NOT/AND/OR are parsed without recursion (see `_Parser.condition`); function
# calls nested inside operands are bounded instead (no valid condition nests them more than twice;
# a 4 KB update expression fits about 250 nested list_append calls).
_MAX_CALL_NESTING_CONDITION = 32
_MAX_CALL_NESTING_UPDATE = 300
_TOO_DEEP = "The expression has too many nested levels"
_MAX_EXPRESSION_BYTES = 4096
# DynamoDB's quota: at most 300 operators or functions in one expression (comparators, BETWEEN, IN,
# AND, OR, NOT, + and -, function calls; SET's "=" is not one). The wording of the error is AWS's
# style, not confirmed against the service.
_MAX_OPERATORS = 300
# "((a = :v))": DynamoDB (and moto and dynalite after it) rejects a parenthesis that only wraps
# another parenthesis in condition and filter expressions.
_REDUNDANT_PARENS = "The expression has redundant parentheses;"
_PARENS_CHECKED = ("ConditionExpression", "FilterExpression")
HUMAN_TYPES = {
    "S": "STRING", "N": "NUMBER", "B": "BINARY", "SS": "STRING SET", "NS": "NUMBER SET",
    "BS": "BINARY SET", "M": "MAP", "L": "LIST", "BOOL": "BOOLEAN", "NULL": "NULL",
}
_VALID_TYPE_NAMES = ("S", "SS", "N", "NS", "B", "BS", "BOOL", "NULL", "L", "M")
_SIZED = ("S", "B", "SS", "NS", "BS", "L", "M")  # what size() measures
_ANY_TYPE = "{NS,SS,L,BS,N,M,B,BOOL,NULL,S}"  # DynamoDB's name for "a path, of any type" in messages


def format_value(av: dict) -> str:
    """An attribute value as DynamoDB prints it in messages: {N:2}."""
    ((t, v),) = av.items()
    return "{" + f"{t}:{v}" + "}"


class _SyntaxError(Exception):
    pass


@dataclass(frozen=True, slots=True)
class _Parsed:
    tree: Any
    names_used: frozenset[str]
    values_used: frozenset[str]
    # constant-operand checks run against each request's values: (category, check, args...)
    checks: tuple[tuple[Any, ...], ...]
    attributes: frozenset[str] = frozenset()  # top-level attribute names the paths refer to
    nested: frozenset[str] = frozenset()  # top-level names of paths with a '.' or '[i]' after them
    # Errors found while parsing: ((category, unit, message), ...). Reported together with the
    # per-request ones (undefined values, operand types) as `_raise_first_error` chooses.
    errors: tuple[tuple[str, int, str], ...] = ()
    refs: tuple[tuple[str, int], ...] = ()  # ("#name" or ":value", unit) in textual order, first occurrences
    undefined: frozenset[str] = frozenset()  # "#name"s the ExpressionAttributeNames do not define


# Which of several errors in one expression DynamoDB reports (as dynalite, which was checked
# against the service, orders them). "ref" is an undefined #name or :value: condition kinds
# report whichever comes first in the text; update and projection ones names before values.
_CONDITION_ORDER = ("parens", "unknown_function", "misused_function", "reserved", "ref", "arity", "distinct",
                    "function")
# In a condition these come from its first comparison or function that has any of them.
_GROUPED = frozenset(("ref", "arity", "distinct", "function"))
_ERROR_ORDER = {
    "ConditionExpression": _CONDITION_ORDER,
    "FilterExpression": _CONDITION_ORDER,
    "KeyConditionExpression": _CONDITION_ORDER,
    "UpdateExpression": ("reserved", "unknown_function", "misused_function", "section", "name", "value", "overlap",
                         "conflict", "operand", "arity", "function"),
    "ProjectionExpression": ("reserved", "name", "overlap", "conflict"),
}


class _Group:
    """An open parenthesis of a condition: its finished OR terms, the AND terms of the current
    OR term, and how many NOTs stood before the parenthesis."""

    __slots__ = ("ands", "last_paren", "nots", "ors", "terms")

    def __init__(self) -> None:
        self.ors: list[Node] = []
        self.ands: list[Node] = []
        self.nots = 0
        self.terms = 0             # not_exprs in this group
        self.last_paren = False    # the last one was a bare parenthesised group


def _negate(node: Node, nots: int) -> Node:
    """`node` under `nots` NOTs. Conditions are two-valued, so only the parity matters; an even
    count keeps one NOT NOT pair so that callers rejecting NOT (key conditions) still see it."""
    if nots == 0:
        return node
    inner, k = node, 0
    while type(inner) is Not and k < 2:
        inner, k = inner.operand, k + 1
    total = nots + k
    return Not(inner) if total % 2 else Not(Not(inner))


def _balanced(op: Callable[[Node, Node], Node], terms: list[Node]) -> Node:
    """`a op b op c ...` as a balanced tree (same meaning and left-to-right order; depth log n)."""
    while len(terms) > 1:
        terms = [op(terms[k], terms[k + 1]) if k + 1 < len(terms) else terms[k] for k in range(0, len(terms), 2)]
    return terms[0]


class _Parser:
    def __init__(self, text: str, kind: str, names: dict[str, str]) -> None:
        self.text = text
        self.kind = kind
        self.keywords = _KEYWORDS.get(kind, _CONDITION_KEYWORDS)
        self.names = names
        self.toks = tokenize(text)
        self.i = 0
        self.names_used: set[str] = set()
        self.values_used: set[str] = set()
        self.checks: list[tuple[Any, ...]] = []
        self.attributes: set[str] = set()
        self.nested: set[str] = set()
        self.errors: list[tuple[str, int, str]] = []  # non-syntax errors: (category, unit, message)
        self.refs: dict[str, int] = {}   # "#name"/":value" token -> its unit, in textual order
        # A condition's comparisons and functions are its units: DynamoDB reports the errors of the
        # first unit that has any (see `_GROUPED`). Update and projection expressions are one unit.
        self.unit = 0
        self.undefined: set[str] = set()
        self.calls = 0  # function calls currently open inside operands
        self.operators = 0  # operators and function calls seen (DynamoDB allows 300)

    # --- helpers ---------------------------------------------------------------
    def error(self, message: str) -> ValidationException:
        return ValidationException(f"Invalid {self.kind}: {message}")

    def semantic_error(self, message: str, category: str = "function") -> None:
        self.errors.append((category, self.unit, message))

    def check(self, category: str, what: str, *args: Any) -> None:
        """A check of constant operands, run against each request's values (`_check_message`)."""
        self.checks.append((category, self.unit, what, *args))

    @property
    def tok(self) -> Token:
        return self.toks[self.i]

    def peek(self, k: int = 1) -> Token:
        j = min(self.i + k, len(self.toks) - 1)
        return self.toks[j]

    def advance(self) -> Token:
        t = self.toks[self.i]
        if t.kind != "EOF":
            self.i += 1
        return t

    def is_op(self, text: str) -> bool:
        t = self.tok
        return t.kind == "OP" and t.text == text

    def is_kw(self, word: str) -> bool:
        t = self.tok
        return t.kind == "NAME" and t.text.upper() == word

    def expect_op(self, text: str) -> None:
        if not self.is_op(text):
            self.fail()
        self.i += 1

    def fail(self) -> None:
        raise _SyntaxError()

    def syntax_message(self) -> str:
        toks, i = self.toks, self.i
        t = toks[i]
        if t.kind == "EOF":
            first = toks[max(i - 2, 0)]
            near = self.text[first.start:t.start].rstrip() if i > 0 else ""
        else:
            first = toks[i - 1] if i > 0 else t
            last = toks[i + 1] if toks[i + 1].kind != "EOF" else t
            near = self.text[first.start:last.end]
        return f'Syntax error; token: "{t.text}", near: "{near}"'

    def run(self, rule: Callable[[], Any]) -> _Parsed:
        if not self.text.strip():
            raise self.error("The expression can not be empty;")
        if len(self.text.encode("utf-8")) > _MAX_EXPRESSION_BYTES:
            raise self.error(
                "Expression size has exceeded the maximum allowed size; "
                f"expression size: {len(self.text.encode('utf-8'))}"
            )
        try:
            tree = rule()
            if self.tok.kind != "EOF":
                self.fail()
        except _SyntaxError:
            raise self.error(self.syntax_message()) from None
        except RecursionError:  # defensive: nesting is bounded above, this should not happen
            raise self.error(_TOO_DEEP) from None
        if self.operators > _MAX_OPERATORS:
            raise self.error(f"The expression contains too many operators; operator count: {self.operators}")
        return _Parsed(tree, frozenset(self.names_used), frozenset(self.values_used), tuple(self.checks),
                       frozenset(self.attributes), frozenset(self.nested), tuple(self.errors),
                       tuple(self.refs.items()), frozenset(self.undefined))

    # --- paths and operands -------------------------------------------------------
    def name_element(self) -> str:
        t = self.tok
        if t.kind == "NAME":
            if t.text.upper() in self.keywords:
                self.fail()
            if t.text.upper() in RESERVED_WORDS:
                self.semantic_error(f"Attribute name is a reserved keyword; reserved keyword: {t.text}", "reserved")
            self.i += 1
            return t.text
        if t.kind == "HNAME":
            self.i += 1
            self.names_used.add(t.text)
            self.refs.setdefault(t.text, self.unit)
            real = self.names.get(t.text)
            if real is None:
                self.undefined.add(t.text)
                return t.text
            return real
        self.fail()
        raise AssertionError

    def path(self) -> Path:
        elems: list[str | int] = [self.name_element()]
        self.attributes.add(elems[0])  # type: ignore[arg-type]
        while True:
            if self.is_op("."):
                self.i += 1
                elems.append(self.name_element())
            elif self.is_op("["):
                self.i += 1
                t = self.tok
                if t.kind != "NUM":
                    self.fail()
                self.i += 1
                self.expect_op("]")
                elems.append(int(t.text))
            else:
                if len(elems) > 1:
                    self.nested.add(elems[0])  # type: ignore[arg-type]
                return tuple(elems)

    def value_ref(self) -> ValueRef:
        t = self.advance()
        self.values_used.add(t.text)
        self.refs.setdefault(t.text, self.unit)
        return ValueRef(t.text)

    def nest(self, limit: int) -> None:
        self.calls += 1
        if self.calls > limit:
            raise self.error(_TOO_DEEP)

    def call_args(self) -> list[Any]:
        self.expect_op("(")
        self.operators += 1
        self.nest(_MAX_CALL_NESTING_CONDITION)
        args = [self.operand()]
        while self.is_op(","):
            self.i += 1
            args.append(self.operand())
        self.expect_op(")")
        self.calls -= 1
        return args

    def function_call(self) -> tuple[str, list[Any]]:
        name = self.advance().text
        return name, self.call_args()

    def check_arity(self, name: str, args: list[Any], want: int) -> None:
        if len(args) != want:
            self.semantic_error(
                "Incorrect number of operands for operator or function; "
                f"operator or function: {name}, number of operands: {len(args)}",
                "arity",
            )

    def require_path(self, name: str, arg: Any) -> None:
        if not isinstance(arg, PathRef):
            self.semantic_error(f"Operator or function requires a document path; operator or function: {name}")

    def check_distinct(self, op: str, a: Any, b: Any) -> None:
        """DynamoDB rejects comparing a document path with itself (a = a, contains(a, a))."""
        if type(a) is PathRef and type(b) is PathRef and a.path == b.path:
            self.semantic_error(
                "The first operand must be distinct from the remaining operands for this operator or function; "
                f"operator: {op}, first operand: {format_path(a.path)}",
                "distinct",
            )

    def operand_types(self, op: str, arg: Any, allowed: tuple[str, ...]) -> None:
        """`arg` must have one of the `allowed` types: checked per request for a :value; a size(...)
        is a number; a path's type is unknown until the item is read."""
        if type(arg) is ValueRef:
            if arg.name:
                self.check("function", "operand_type", op, arg.name, allowed)
        elif type(arg) is Size and "N" not in allowed:
            self.semantic_error(f"Incorrect operand type for operator or function; operator or function: {op}, "
                                "operand type: N")

    def size(self, args: list[Any]) -> Size:
        """size(operand): of a path, or of a constant :value (a string, binary, set, list or map)."""
        self.check_arity("size", args, 1)
        self.operand_types("size", args[0], _SIZED)
        return Size(args[0])

    def misused(self, name: str) -> None:
        self.semantic_error(f"The function is not allowed to be used this way in an expression; function: {name}",
                            "misused_function")

    def operand(self) -> Any:
        """An operand of a condition: path, :value or size(operand)."""
        t = self.tok
        if t.kind == "VALUE":
            return self.value_ref()
        if t.kind == "NAME" and self.peek().kind == "OP" and self.peek().text == "(":
            name, args = self.function_call()
            if name == "size":
                return self.size(args)
            if name in _CONDITION_FUNCS or name in _UPDATE_FUNCS:
                self.misused(name)
                return ValueRef("")
            self.semantic_error(f"Invalid function name; function: {name}", "unknown_function")
            return ValueRef("")
        if t.kind in ("NAME", "HNAME"):
            return PathRef(self.path())
        self.fail()

    # --- conditions ------------------------------------------------------------------
    def condition(self) -> Node:
        """condition := and_expr (OR and_expr)*; and_expr := not_expr (AND not_expr)*;
        not_expr := NOT not_expr | '(' condition ')' | primary.

        Parsed with an explicit stack of open parentheses (no recursion), so a 4 KB expression
        of nested parentheses needs no deep Python stack. AND/OR chains become balanced trees and
        NOT NOT x becomes x (conditions are two-valued), so evaluating a tree stays shallow too."""
        stack: list[_Group] = []
        group = _Group()
        check_parens = self.kind in _PARENS_CHECKED
        while True:
            nots = 0
            while self.is_kw("NOT"):
                self.i += 1
                nots += 1
            self.operators += nots
            if self.is_op("("):
                self.i += 1
                group.nots = nots
                stack.append(group)
                group = _Group()
                continue
            node = _negate(self.primary(), nots)
            paren = False
            while True:  # after a complete not_expr: AND / OR / end of this group
                group.ands.append(node)
                group.terms += 1
                group.last_paren = paren
                if self.is_kw("AND"):
                    self.i += 1
                    self.operators += 1
                    break
                group.ors.append(_balanced(And, group.ands))
                group.ands = []
                if self.is_kw("OR"):
                    self.i += 1
                    self.operators += 1
                    break
                result = _balanced(Or, group.ors)
                if not stack:
                    return result
                self.expect_op(")")
                if check_parens and group.terms == 1 and group.last_paren:
                    self.semantic_error(_REDUNDANT_PARENS, "parens")
                group = stack.pop()
                node = _negate(result, group.nots)
                paren = group.nots == 0

    def primary(self) -> Node:
        """A comparison or a boolean function (parentheses are handled by `condition`)."""
        self.unit += 1
        t = self.tok
        if t.kind == "NAME" and self.peek().kind == "OP" and self.peek().text == "(":
            name = t.text
            self.i += 1
            args = self.call_args()
            nxt = self.tok
            compared = (nxt.kind == "OP" and nxt.text in _COMPARATORS) or self.is_kw("BETWEEN") or self.is_kw("IN")
            if name == "size":
                size = self.size(args)
                if compared:
                    return self.comparison(size)
                self.misused(name)
                return Function("attribute_exists", (PathRef(("",)),))
            if name in _CONDITION_FUNCS:
                func = self.boolean_function(name, args)
                if not compared:
                    return func
                self.misused(name)  # a boolean function is no operand: attribute_exists(a) = :v
            elif name in _UPDATE_FUNCS:
                self.misused(name)
            else:
                self.semantic_error(f"Invalid function name; function: {name}", "unknown_function")
            if not compared:
                return Function("attribute_exists", (PathRef(("",)),))
            return self.comparison(ValueRef(""))
        left = self.operand()
        return self.comparison(left)

    def boolean_function(self, name: str, args: list[Any]) -> Node:
        self.check_arity(name, args, _CONDITION_FUNCS[name])
        if len(args) == 2:
            self.check_distinct(name, args[0], args[1])
        if args:
            if name in ("attribute_exists", "attribute_not_exists", "attribute_type"):
                self.require_path(name, args[0])
            if name == "attribute_type" and len(args) == 2:
                want = args[1]
                if type(want) is ValueRef:
                    if want.name:
                        self.check("function", "attribute_type", want.name)
                elif type(want) in (PathRef, Size):
                    # the type name must be a constant string: a path could be of any type
                    shown = "N" if type(want) is Size else _ANY_TYPE
                    self.semantic_error("Incorrect operand type for operator or function; "
                                        f"operator or function: attribute_type, operand type: {shown}")
            if name == "begins_with":
                for a in args:
                    self.operand_types(name, a, ("S", "B"))
        return Function(name, tuple(args))

    def comparison(self, left: Any) -> Node:
        t = self.tok
        if t.kind == "OP" and t.text in _COMPARATORS:
            self.i += 1
            self.operators += 1
            right = self.operand()
            self.check_distinct(t.text, left, right)
            if t.text not in ("=", "<>"):
                for a in (left, right):
                    if isinstance(a, ValueRef) and a.name:
                        self.check("function", "operand_type", t.text, a.name, ("S", "N", "B"))
            return Compare(t.text, left, right)
        if self.is_kw("BETWEEN"):
            self.i += 1
            self.operators += 1
            low = self.operand()
            if not self.is_kw("AND"):
                self.fail()
            self.i += 1
            high = self.operand()
            for a in (left, low, high):
                if isinstance(a, ValueRef) and a.name:
                    self.check("function", "operand_type", "BETWEEN", a.name, ("S", "N", "B"))
            if isinstance(low, ValueRef) and isinstance(high, ValueRef) and low.name and high.name:
                self.check("function", "between", low.name, high.name)
            return Between(left, low, high)
        if self.is_kw("IN"):
            self.i += 1
            self.operators += 1
            self.expect_op("(")
            options = [self.operand()]
            while self.is_op(","):
                self.i += 1
                options.append(self.operand())
            self.expect_op(")")
            if len(options) > _MAX_IN:
                self.semantic_error(
                    f"The IN operator is provided with too many operands; number of operands: {len(options)}"
                )
            return In(left, tuple(options))
        self.fail()
        raise AssertionError

    # --- update ----------------------------------------------------------------------
    def update(self) -> UpdateTree:
        sections: dict[str, list[Any]] = {}
        while self.tok.kind != "EOF":
            t = self.tok
            word = t.text.upper() if t.kind == "NAME" else ""
            if word not in ("SET", "REMOVE", "ADD", "DELETE"):
                self.fail()
            if word in sections:
                self.semantic_error(f'The "{word}" section can only be used once in an update expression;',
                                    "section")
            self.i += 1
            actions: list[Any] = sections.setdefault(word, [])
            while True:
                if word == "SET":
                    path = self.path()
                    self.expect_op("=")
                    actions.append(SetAction(path, self.set_value()))
                elif word == "REMOVE":
                    actions.append(RemoveAction(self.path()))
                else:
                    path = self.path()
                    if self.tok.kind != "VALUE":
                        self.fail()
                    ref = self.value_ref()
                    self.check("operand", word.lower(), ref.name)
                    actions.append((AddAction if word == "ADD" else DeleteAction)(path, ref))
                if not self.is_op(","):
                    break
                self.i += 1
        tree = UpdateTree(
            tuple(sections.get("SET", ())), tuple(sections.get("REMOVE", ())),
            tuple(sections.get("ADD", ())), tuple(sections.get("DELETE", ())),
        )
        # in textual order, so "path one" is the one written first
        self.check_overlaps([a.path for acts in sections.values() for a in acts])
        return tree

    def check_overlaps(self, paths: list[Path]) -> None:
        """One path a prefix of (or equal to) another overlaps; a list index and a map key at the
        same position after a common prefix conflict. The first pair of each kind is kept."""
        for kind, q, p in path_clashes(paths):
            self.semantic_error(
                f"Two document paths {kind} with each other; must remove or rewrite one of these paths; "
                f"path one: {format_path(q)}, path two: {format_path(p)}",
                kind,
            )

    def set_value(self) -> Any:
        # DynamoDB allows one pair of parentheses around the whole value and one around each
        # operand (so "((a))" but not "(((a)))", and no arithmetic nested in arithmetic).
        if self.is_op("("):
            self.i += 1
            inner = self._set_arith(self.set_term())
            self.expect_op(")")
            if isinstance(inner, Arith):
                return inner
            return self._set_arith(inner)
        return self._set_arith(self.set_term())

    def set_term(self) -> Any:
        """An operand, possibly in parentheses."""
        if self.is_op("("):
            self.i += 1
            op = self.set_operand()
            self.expect_op(")")
            return op
        return self.set_operand()

    def _set_arith(self, left: Any) -> Any:
        t = self.tok
        if t.kind == "OP" and t.text in ("+", "-"):
            self.i += 1
            self.operators += 1
            right = self.set_term()
            for a in (left, right):
                if isinstance(a, ValueRef) and a.name:
                    self.check("function", "operand_type", t.text, a.name, ("N",))
            return Arith(t.text, left, right)
        return left

    def set_operand(self) -> Any:
        t = self.tok
        if t.kind == "VALUE":
            return self.value_ref()
        if t.kind == "NAME" and self.peek().kind == "OP" and self.peek().text == "(":
            name = self.advance().text
            self.expect_op("(")
            self.operators += 1
            self.nest(_MAX_CALL_NESTING_UPDATE)
            args = [self.set_term()]
            while self.is_op(","):
                self.i += 1
                args.append(self.set_term())
            self.expect_op(")")
            self.calls -= 1
            if name in _UPDATE_FUNCS:
                self.check_arity(name, args, 2)
                if len(args) != 2:
                    return ValueRef("")
                if name == "if_not_exists":
                    self.require_path(name, args[0])
                    return IfNotExists(args[0], args[1])
                for a in args:
                    if isinstance(a, ValueRef) and a.name:
                        self.check("function", "operand_type", name, a.name, ("L",))
                return ListAppend(args[0], args[1])
            if name in _CONDITION_FUNCS:
                self.semantic_error(f"The function is not allowed in an update expression; function: {name}",
                                    "misused_function")
            else:
                self.semantic_error(f"Invalid function name; function: {name}", "unknown_function")
            return ValueRef("")
        if t.kind in ("NAME", "HNAME"):
            return PathRef(self.path())
        self.fail()

    # --- projection ------------------------------------------------------------------
    def projection(self) -> list[Path]:
        paths = [self.path()]
        while self.is_op(","):
            self.i += 1
            paths.append(self.path())
        self.check_overlaps(paths)
        return paths


def _names_key(names: dict[str, str] | None) -> tuple[tuple[str, str], ...]:
    return tuple(names.items()) if names else ()


@lru_cache(maxsize=4096)
def _parse_cached(text: str, kind: str, names_key: tuple[tuple[str, str], ...]) -> _Parsed:
    p = _Parser(text, kind, dict(names_key))
    if kind == "UpdateExpression":
        return p.run(p.update)
    if kind == "ProjectionExpression":
        return p.run(p.projection)
    return p.run(p.condition)


def parse_tree(text: str, kind: str, names: dict[str, str] | None) -> _Parsed:
    """Parse (cached) an expression of `kind` into a tree; raises ValidationException."""
    if type(text) is not str:
        raise ValidationException(f"Invalid {kind}: The expression can not be empty;")
    return _parse_cached(text, kind, _names_key(names))


# --- binding values ----------------------------------------------------------------

def _bind_values(parsed: _Parsed, kind: str, values: dict[str, Any] | None) -> dict[str, dict]:
    """The request's values of the expression's :placeholders, validated; raises the expression's
    error (a parse error, an undefined #name or :value, an operand of the wrong type) if it has one."""
    values = values or {}
    if parsed.errors or parsed.undefined:
        _raise_first_error(parsed, kind, values)
    if not parsed.values_used:
        return {}
    bound: dict[str, dict] = {}
    for name in sorted(parsed.values_used):
        av = values.get(name)
        if av is None:
            _raise_first_error(parsed, kind, values)
        bound[name] = _validate_value(name, av)
    for check in parsed.checks:
        if _check_message(check, bound) is not None:
            _raise_first_error(parsed, kind, values)
    return bound


def _validate_value(name: str, av: Any) -> dict:
    try:
        return validate_value(av)
    except SerializationException:  # bad base64 is a request-parsing error, wherever the value sits
        raise
    except EddyError as e:
        raise ValidationException(f"ExpressionAttributeValues contains invalid value: {e.message} for key {name}"
                                  ) from None


def _raise_first_error(parsed: _Parsed, kind: str, values: dict[str, Any]) -> None:
    """Raise the one error DynamoDB reports among all of the expression's (`_ERROR_ORDER`)."""
    order = _ERROR_ORDER.get(kind, _CONDITION_ORDER)
    merged = "ref" in order
    found = list(parsed.errors)
    for ref, unit in parsed.refs:
        if ref[0] == "#":
            if ref not in parsed.undefined:
                continue
            category = "ref" if merged else "name"
            message = f"An expression attribute name used in the document path is not defined; attribute name: {ref}"
        else:
            if ref in values:
                continue
            category = "ref" if merged else "value"
            message = f"An expression attribute value used in expression is not defined; attribute value: {ref}"
        found.append((category, unit, message))
    bound = {name: _validate_value(name, values[name]) for name in sorted(parsed.values_used) if name in values}
    for check in parsed.checks:
        failed = _check_message(check, bound)
        if failed is not None:
            found.append((check[0], check[1], failed))
    if merged:
        grouped = [e for e in found if e[0] in _GROUPED]
        if grouped:
            first_unit = min(e[1] for e in grouped)
            found = [e for e in found if e[0] not in _GROUPED or e[1] == first_unit]
    for category in order:
        for cat, _, message in found:
            if cat == category:
                raise ValidationException(f"Invalid {kind}: {message}")
    raise AssertionError(f"no error to report in {found}")  # pragma: no cover - callers saw one


def _type_of(av: dict) -> str:
    return next(iter(av))


def _check_message(check: tuple[Any, ...], values: dict[str, dict]) -> str | None:
    """The error of one constant-operand check (category, unit, what, args...) against the request's
    values, or None when it passes (or its value is undefined: reported as such instead)."""
    what = check[2]
    if what == "operand_type":
        _, _, _, op, name, allowed = check
        if name not in values:
            return None
        t = _type_of(values[name])
        if t not in allowed:
            return f"Incorrect operand type for operator or function; operator or function: {op}, operand type: {t}"
    elif what == "between":
        if check[3] not in values or check[4] not in values:
            return None
        low, high = values[check[3]], values[check[4]]
        if _type_of(low) != _type_of(high):
            return ("The BETWEEN operator requires same data type for lower and upper bounds; "
                    f"lower bound operand: AttributeValue: {format_value(low)}, "
                    f"upper bound operand: AttributeValue: {format_value(high)}")
        c = compare_values(low, high)
        if c is not None and c > 0:
            return ("The BETWEEN operator requires upper bound to be greater than or equal to lower "
                    f"bound; lower bound operand: AttributeValue: {format_value(low)}, "
                    f"upper bound operand: AttributeValue: {format_value(high)}")
    elif what == "attribute_type":
        av = values.get(check[3])
        if av is None:
            return None
        t = _type_of(av)
        if t != "S":
            return f"Incorrect operand type for operator or function; operator or function: attribute_type, operand type: {t}"
        if av["S"] not in _VALID_TYPE_NAMES:
            return (f"Invalid attribute type name found; type: {av['S']}, "
                    "valid types: { B, NULL, SS, BOOL, L, BS, N, NS, S, M }")
    elif what in ("add", "delete"):
        av = values.get(check[3])
        if av is None:
            return None
        t = _type_of(av)
        ok = ("N", "SS", "NS", "BS") if what == "add" else ("SS", "NS", "BS")
        if t not in ok:
            return (f"Incorrect operand type for operator or function; "
                    f"operator: {what.upper()}, operand type: {HUMAN_TYPES[t]}")
    return None


# --- public parse functions -------------------------------------------------------------

def parse_condition(expr: str, names: dict[str, str] | None = None, values: dict[str, Any] | None = None,
                    *, kind: str = "ConditionExpression") -> Condition:
    """Parse a ConditionExpression (kind="FilterExpression" for filters) and bind its values."""
    parsed = parse_tree(expr, kind, names)
    return Condition(parsed.tree, _bind_values(parsed, kind, values), parsed.names_used, parsed.values_used,
                     parsed.attributes, parsed.nested)


def parse_update(expr: str, names: dict[str, str] | None = None, values: dict[str, Any] | None = None
                 ) -> UpdatePlan:
    """Parse an UpdateExpression and bind its values."""
    parsed = parse_tree(expr, "UpdateExpression", names)
    return UpdatePlan(parsed.tree, _bind_values(parsed, "UpdateExpression", values),
                      parsed.names_used, parsed.values_used, nested=parsed.nested)


def parse_projection(expr: str, names: dict[str, str] | None = None) -> Projection:
    """Parse a ProjectionExpression into a list of document paths."""
    parsed = parse_tree(expr, "ProjectionExpression", names)
    if parsed.errors or parsed.undefined:
        _raise_first_error(parsed, "ProjectionExpression", {})
    out = Projection(parsed.tree)
    out.names_used = parsed.names_used
    out.nested = parsed.nested
    return out


# --- key conditions -------------------------------------------------------------------------

_FLIP = {"=": "=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
_KEY_KIND = "KeyConditionExpression"


@dataclass(frozen=True, slots=True)
class _KeyShape:
    hash_value: str            # value placeholder
    range_op: str | None
    range_values: tuple[str, ...]
    range_name: str | None


def _leaves(node: Node, out: list[Node]) -> None:
    if isinstance(node, And):
        _leaves(node.left, out)
        _leaves(node.right, out)
    else:
        out.append(node)


def _key_attr(operand: Any) -> str | None:
    if isinstance(operand, PathRef) and len(operand.path) == 1 and isinstance(operand.path[0], str):
        return operand.path[0]
    return None


def _key_operands(operands: Sequence[Any]) -> None:
    """DynamoDB's checks of one key condition's operands, in their order: a single attribute name,
    a top-level one."""
    attr = None
    for operand in operands:
        if isinstance(operand, PathRef):
            if attr is not None:
                raise ValidationException(
                    "Invalid condition in KeyConditionExpression: Multiple attribute names used in one condition")
            if len(operand.path) > 1:
                raise ValidationException("KeyConditionExpressions cannot have conditions on nested attributes")
            attr = operand
    if attr is None:
        raise ValidationException("Invalid condition in KeyConditionExpression: No key attribute specified")


def _key_leaf(leaf: Node) -> tuple[str, str, tuple[str, ...]]:
    """(attribute, op, value placeholders) of one key-condition leaf."""
    if isinstance(leaf, (Or, Not)):
        raise ValidationException(f"Invalid operator used in KeyConditionExpression: {type(leaf).__name__.upper()}")
    if isinstance(leaf, In):
        raise ValidationException("Invalid operator used in KeyConditionExpression: IN")
    if isinstance(leaf, Function):
        if leaf.name != "begins_with":
            raise ValidationException(f"Invalid operator used in KeyConditionExpression: {leaf.name}")
        _key_operands(leaf.args)
        attr = _key_attr(leaf.args[0])
        if attr is None or not isinstance(leaf.args[1], ValueRef):
            raise ValidationException("Query key condition not supported")
        return attr, "begins_with", (leaf.args[1].name,)
    if isinstance(leaf, Between):
        _key_operands([leaf.operand, leaf.low, leaf.high])
        attr = _key_attr(leaf.operand)
        if attr is None or not isinstance(leaf.low, ValueRef) or not isinstance(leaf.high, ValueRef):
            raise ValidationException("Query key condition not supported")
        return attr, "BETWEEN", (leaf.low.name, leaf.high.name)
    assert isinstance(leaf, Compare)
    if leaf.op == "<>":
        raise ValidationException("Invalid operator used in KeyConditionExpression: <>")
    if isinstance(leaf.left, Size) or isinstance(leaf.right, Size):
        raise ValidationException("Invalid operator used in KeyConditionExpression: size")
    _key_operands([leaf.left, leaf.right])
    left, right, op = leaf.left, leaf.right, leaf.op
    if isinstance(left, ValueRef) and isinstance(right, PathRef):
        left, right, op = right, left, _FLIP[op]
    attr = _key_attr(left)
    if attr is None or not isinstance(right, ValueRef):
        raise ValidationException("Query key condition not supported")
    return attr, op, (right.name,)


@lru_cache(maxsize=1024)
def _key_shape(text: str, names_key: tuple[tuple[str, str], ...], hash_name: str, range_name: str | None
               ) -> _KeyShape:
    parsed = _parse_cached(text, _KEY_KIND, names_key)
    leaves: list[Node] = []
    _leaves(parsed.tree, leaves)
    conds: dict[str, tuple[str, tuple[str, ...]]] = {}
    for leaf in leaves:
        attr, op, vals = _key_leaf(leaf)
        if attr in conds:
            raise ValidationException(
                "Invalid KeyConditionExpression: KeyConditionExpressions must only contain one condition per key"
            )
        conds[attr] = (op, vals)
    if hash_name not in conds:
        raise ValidationException(f"Query condition missed key schema element: {hash_name}")
    for attr in conds:
        if attr != hash_name and attr != range_name:
            # a non-key attribute: DynamoDB names the missing range key, if there is one to miss
            if range_name is None or range_name in conds:
                raise ValidationException("Query key condition not supported")
            raise ValidationException(f"Query condition missed key schema element: {range_name}")
    hop, hvals = conds[hash_name]
    if hop != "=":
        raise ValidationException("Query key condition not supported")
    if range_name is not None and range_name in conds:
        rop, rvals = conds[range_name]
        return _KeyShape(hvals[0], rop, rvals, range_name)
    return _KeyShape(hvals[0], None, (), range_name)


def parse_key_condition(expr: str, names: dict[str, str] | None, values: dict[str, Any] | None,
                        key: Any) -> KeyCondition:
    """Parse a KeyConditionExpression against a key schema (engine.catalog.KeySchema-like:
    hash_name, hash_type, range_name, range_type) and bind its values."""
    parsed = parse_tree(expr, _KEY_KIND, names)
    bound = _bind_values(parsed, _KEY_KIND, values)
    shape = _key_shape(expr, _names_key(names), key.hash_name, key.range_name)
    hv = bound[shape.hash_value]
    if _type_of(hv) != key.hash_type:
        raise ValidationException(
            "One or more parameter values were invalid: Condition parameter type does not match schema type"
        )
    rvals = tuple(bound[v] for v in shape.range_values)
    for rv in rvals:
        if _type_of(rv) != key.range_type:
            if shape.range_op == "begins_with" and key.range_type == "N":
                raise ValidationException(
                    "Invalid KeyConditionExpression: Incorrect operand type for operator or function; "
                    f"operator or function: begins_with, operand type: {_type_of(rv)}"
                )
            raise ValidationException(
                "One or more parameter values were invalid: Condition parameter type does not match schema type"
            )
    if shape.range_op == "begins_with" and key.range_type == "N":
        raise ValidationException(
            "Invalid KeyConditionExpression: Incorrect operand type for operator or function; "
            "operator or function: begins_with, operand type: N"
        )
    return KeyCondition(hv, shape.range_op, rvals, key.hash_name, shape.range_name,
                        parsed.names_used, parsed.values_used)
