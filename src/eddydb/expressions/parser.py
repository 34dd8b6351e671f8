"""The one parser: condition, filter, key-condition, update and projection expressions.

A hand-written recursive-descent parser over `tokens.tokenize` building `tree` nodes.
Parsing is cached on (expression text, kind, ExpressionAttributeNames); the
per-request ExpressionAttributeValues are checked and bound by the public
`parse_*` functions without re-parsing. Called by the api layer (through
`request.compile_request` or directly) and by the engine.
"""
from __future__ import annotations

from collections.abc import Callable
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

_KEYWORDS = frozenset(("AND", "OR", "NOT", "BETWEEN", "IN", "SET", "REMOVE", "ADD", "DELETE"))
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
    # constant-operand checks run against each request's values: (check, args...)
    checks: tuple[tuple[Any, ...], ...]
    attributes: frozenset[str] = frozenset()  # top-level attribute names the paths refer to


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
        self.names = names
        self.toks = tokenize(text)
        self.i = 0
        self.names_used: set[str] = set()
        self.values_used: set[str] = set()
        self.checks: list[tuple[Any, ...]] = []
        self.attributes: set[str] = set()
        self.reserved: str | None = None
        self.undefined_name: str | None = None
        self.semantic: str | None = None  # first non-syntax error found while parsing
        self.calls = 0  # function calls currently open inside operands
        self.operators = 0  # operators and function calls seen (DynamoDB allows 300)

    # --- helpers ---------------------------------------------------------------
    def error(self, message: str) -> ValidationException:
        return ValidationException(f"Invalid {self.kind}: {message}")

    def semantic_error(self, message: str) -> None:
        if self.semantic is None:
            self.semantic = message

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
        if self.reserved is not None:
            raise self.error(f"Attribute name is a reserved keyword; reserved keyword: {self.reserved}")
        if self.undefined_name is not None:
            raise self.error(
                "An expression attribute name used in the document path is not defined; "
                f"attribute name: {self.undefined_name}"
            )
        if self.semantic is not None:
            raise self.error(self.semantic)
        return _Parsed(tree, frozenset(self.names_used), frozenset(self.values_used), tuple(self.checks),
                       frozenset(self.attributes))

    # --- paths and operands -------------------------------------------------------
    def name_element(self) -> str:
        t = self.tok
        if t.kind == "NAME":
            if t.text.upper() in _KEYWORDS:
                self.fail()
            if self.reserved is None and t.text.upper() in RESERVED_WORDS:
                self.reserved = t.text
            self.i += 1
            return t.text
        if t.kind == "HNAME":
            self.i += 1
            self.names_used.add(t.text)
            real = self.names.get(t.text)
            if real is None:
                if self.undefined_name is None:
                    self.undefined_name = t.text
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
                return tuple(elems)

    def value_ref(self) -> ValueRef:
        t = self.advance()
        self.values_used.add(t.text)
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
                f"operator or function: {name}, number of operands: {len(args)}"
            )

    def require_path(self, name: str, arg: Any) -> None:
        if not isinstance(arg, PathRef):
            self.semantic_error(f"Operator or function requires a document path; operator or function: {name}")

    def operand(self) -> Any:
        """An operand of a condition: path, :value or size(path)."""
        t = self.tok
        if t.kind == "VALUE":
            return self.value_ref()
        if t.kind == "NAME" and self.peek().kind == "OP" and self.peek().text == "(":
            name, args = self.function_call()
            if name == "size":
                self.check_arity(name, args, 1)
                self.require_path(name, args[0])
                return Size(args[0]) if isinstance(args[0], PathRef) else Size(PathRef(("",)))
            if name in _CONDITION_FUNCS or name in _UPDATE_FUNCS:
                self.semantic_error(f"The function is not allowed to be used this way in an expression; function: {name}")
                return ValueRef("")
            self.semantic_error(f"Invalid function name; function: {name}")
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
                    self.semantic_error(_REDUNDANT_PARENS)
                group = stack.pop()
                node = _negate(result, group.nots)
                paren = group.nots == 0

    def primary(self) -> Node:
        """A comparison or a boolean function (parentheses are handled by `condition`)."""
        t = self.tok
        if t.kind == "NAME" and self.peek().kind == "OP" and self.peek().text == "(":
            name = t.text
            self.i += 1
            args = self.call_args()
            if name == "size":
                self.check_arity(name, args, 1)
                self.require_path(name, args[0])
                nxt = self.tok
                if (nxt.kind == "OP" and nxt.text in _COMPARATORS) or self.is_kw("BETWEEN") or self.is_kw("IN"):
                    return self.comparison(Size(args[0]) if isinstance(args[0], PathRef) else ValueRef(""))
                self.semantic_error(f"The function is not allowed to be used this way in an expression; function: {name}")
                return Function("attribute_exists", (PathRef(("",)),))
            if name in _CONDITION_FUNCS:
                return self.boolean_function(name, args)
            if name in _UPDATE_FUNCS:
                self.semantic_error(f"The function is not allowed to be used this way in an expression; function: {name}")
            else:
                self.semantic_error(f"Invalid function name; function: {name}")
            if self.tok.kind == "EOF" or self.is_op(")") or self.is_kw("AND") or self.is_kw("OR"):
                return Function("attribute_exists", (PathRef(("",)),))
            return self.comparison(ValueRef(""))
        left = self.operand()
        return self.comparison(left)

    def boolean_function(self, name: str, args: list[Any]) -> Node:
        self.check_arity(name, args, _CONDITION_FUNCS[name])
        if args:
            if name in ("attribute_exists", "attribute_not_exists", "attribute_type"):
                self.require_path(name, args[0])
            if name == "attribute_type" and len(args) == 2 and isinstance(args[1], ValueRef):
                self.checks.append(("attribute_type", args[1].name))
            if name == "begins_with":
                for a in args:
                    if isinstance(a, ValueRef):
                        self.checks.append(("operand_type", name, a.name, ("S", "B")))
        return Function(name, tuple(args))

    def comparison(self, left: Any) -> Node:
        t = self.tok
        if t.kind == "OP" and t.text in _COMPARATORS:
            self.i += 1
            self.operators += 1
            right = self.operand()
            if t.text not in ("=", "<>"):
                for a in (left, right):
                    if isinstance(a, ValueRef):
                        self.checks.append(("operand_type", t.text, a.name, ("S", "N", "B")))
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
                if isinstance(a, ValueRef):
                    self.checks.append(("operand_type", "BETWEEN", a.name, ("S", "N", "B")))
            if isinstance(low, ValueRef) and isinstance(high, ValueRef):
                self.checks.append(("between", low.name, high.name))
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
                raise self.error(f'The "{word}" section can only be used once in an update expression;')
            self.i += 1
            actions: list[Any] = []
            sections[word] = actions
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
                    self.checks.append((word.lower(), ref.name))
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
        same position after a common prefix conflict."""
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
                    self.semantic_error(
                        f"Two document paths {kind} with each other; must remove or rewrite one of these paths; "
                        f"path one: {format_path(q)}, path two: {format_path(p)}"
                    )
                    return

    def set_value(self) -> Any:
        left = self.set_operand()
        t = self.tok
        if t.kind == "OP" and t.text in ("+", "-"):
            self.i += 1
            self.operators += 1
            right = self.set_operand()
            for a in (left, right):
                if isinstance(a, ValueRef):
                    self.checks.append(("operand_type", t.text, a.name, ("N",)))
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
            args = [self.set_operand()]
            while self.is_op(","):
                self.i += 1
                args.append(self.set_operand())
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
                    if isinstance(a, ValueRef):
                        self.checks.append(("operand_type", name, a.name, ("L",)))
                return ListAppend(args[0], args[1])
            if name in _CONDITION_FUNCS:
                self.semantic_error(f"The function is not allowed in an update expression; function: {name}")
            else:
                self.semantic_error(f"Invalid function name; function: {name}")
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
    if not parsed.values_used:
        return {}
    values = values or {}
    bound: dict[str, dict] = {}
    for name in sorted(parsed.values_used):
        av = values.get(name)
        if av is None:
            raise ValidationException(
                f"Invalid {kind}: An expression attribute value used in expression is not defined; "
                f"attribute value: {name}"
            )
        try:
            bound[name] = validate_value(av)
        except SerializationException:  # bad base64 is a request-parsing error, wherever the value sits
            raise
        except EddyError as e:
            raise ValidationException(f"ExpressionAttributeValues contains invalid value: {e.message} for key {name}"
                                      ) from None
    for check in parsed.checks:
        _run_check(check, kind, bound)
    return bound


def _type_of(av: dict) -> str:
    return next(iter(av))


def _run_check(check: tuple[Any, ...], kind: str, values: dict[str, dict]) -> None:
    what = check[0]
    if what == "operand_type":
        _, op, name, allowed = check
        t = _type_of(values[name])
        if t not in allowed:
            raise ValidationException(
                f"Invalid {kind}: Incorrect operand type for operator or function; "
                f"operator or function: {op}, operand type: {t}"
            )
    elif what == "between":
        low, high = values[check[1]], values[check[2]]
        if _type_of(low) != _type_of(high):
            raise ValidationException(
                f"Invalid {kind}: The BETWEEN operator requires same data type for lower and upper bounds; "
                f"lower bound operand: AttributeValue: {format_value(low)}, "
                f"upper bound operand: AttributeValue: {format_value(high)}"
            )
        c = compare_values(low, high)
        if c is not None and c > 0:
            raise ValidationException(
                f"Invalid {kind}: The BETWEEN operator requires upper bound to be greater than or equal to lower "
                f"bound; lower bound operand: AttributeValue: {format_value(low)}, "
                f"upper bound operand: AttributeValue: {format_value(high)}"
            )
    elif what == "attribute_type":
        av = values[check[1]]
        t = _type_of(av)
        if t != "S":
            raise ValidationException(
                f"Invalid {kind}: Incorrect operand type for operator or function; "
                f"operator or function: attribute_type, operand type: {t}"
            )
        if av["S"] not in _VALID_TYPE_NAMES:
            raise ValidationException(
                f"Invalid {kind}: Invalid attribute type name found; type: {av['S']}, "
                "valid types: { B, NULL, SS, BOOL, L, BS, N, NS, S, M }"
            )
    elif what in ("add", "delete"):
        t = _type_of(values[check[1]])
        ok = ("N", "SS", "NS", "BS") if what == "add" else ("SS", "NS", "BS")
        if t not in ok:
            raise ValidationException(
                f"Invalid {kind}: Incorrect operand type for operator or function; "
                f"operator: {what.upper()}, operand type: {HUMAN_TYPES[t]}"
            )


# --- public parse functions -------------------------------------------------------------

def parse_condition(expr: str, names: dict[str, str] | None = None, values: dict[str, Any] | None = None,
                    *, kind: str = "ConditionExpression") -> Condition:
    """Parse a ConditionExpression (kind="FilterExpression" for filters) and bind its values."""
    parsed = parse_tree(expr, kind, names)
    return Condition(parsed.tree, _bind_values(parsed, kind, values), parsed.names_used, parsed.values_used,
                     parsed.attributes)


def parse_update(expr: str, names: dict[str, str] | None = None, values: dict[str, Any] | None = None
                 ) -> UpdatePlan:
    """Parse an UpdateExpression and bind its values."""
    parsed = parse_tree(expr, "UpdateExpression", names)
    return UpdatePlan(parsed.tree, _bind_values(parsed, "UpdateExpression", values),
                      parsed.names_used, parsed.values_used)


def parse_projection(expr: str, names: dict[str, str] | None = None) -> Projection:
    """Parse a ProjectionExpression into a list of document paths."""
    parsed = parse_tree(expr, "ProjectionExpression", names)
    out = Projection(parsed.tree)
    out.names_used = parsed.names_used
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


def _key_operands(operands: list[Any]) -> None:
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
    shape = _key_shape(expr, _names_key(names), key.hash_name, key.range_name)
    bound = _bind_values(parsed, _KEY_KIND, values)
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
