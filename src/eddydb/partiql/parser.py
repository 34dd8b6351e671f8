"""The PartiQL parser: a hand-written recursive-descent parser for DynamoDB's PartiQL dialect.

`parse(text)` (cached on the statement text) returns a `statements.Statement` whose conditions and
update actions are expression-tree nodes (`eddydb.expressions.tree`), so PartiQL conditions run on
the same evaluator as ConditionExpression. Called by the api layer (api/partiql.py) through
`binding.bind`, which fills in the statement's `?` parameters.
"""
from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

from eddydb.expressions.tree import (
    AddAction,
    And,
    Arith,
    Between,
    Compare,
    DeleteAction,
    Function,
    IfNotExists,
    In,
    ListAppend,
    Literal,
    Node,
    Not,
    Or,
    Path,
    PathRef,
    RemoveAction,
    SetAction,
    Size,
    UpdateTree,
    ValueRef,
    format_path,
    path_clashes,
)
from eddydb.model.errors import ValidationException
from eddydb.model.values import normalize_number
from eddydb.partiql.lexer import MALFORMED, Token, tokenize
from eddydb.partiql.reserved import RESERVED_WORDS
from eddydb.partiql.statements import Delete, Exists, Insert, Select, Statement, Template, Update
from eddydb.partiql.values import check_type_name, template_value

__all__ = ["parse"]

# Words that cannot be bare identifiers (quote them: "value"): DynamoDB's list and RETURNING's words.
_RESERVED = RESERVED_WORDS | {"RETURNING", "MODIFIED", "OLD", "NEW"}
_COMPARATORS = {"=": "=", "<>": "<>", "!=": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_CONDITION_FUNCS = {"begins_with": 2, "contains": 2, "attribute_type": 2, "attribute_exists": 1,
                    "attribute_not_exists": 1}
_MAX_DEPTH = 64
_ANY_TYPE = "{NS,SS,L,BS,N,M,B,BOOL,NULL,S}"   # DynamoDB's name for "a path, of any type" in messages
_RETURNING = {("ALL", "OLD"): "ALL_OLD", ("MODIFIED", "OLD"): "UPDATED_OLD", ("ALL", "NEW"): "ALL_NEW",
              ("MODIFIED", "NEW"): "UPDATED_NEW"}


def _balanced(op: Callable[[Node, Node], Node], terms: list[Node]) -> Node:
    """`a op b op c ...` as a balanced tree (depth log n: the evaluator recurses)."""
    while len(terms) > 1:
        terms = [op(terms[k], terms[k + 1]) if k + 1 < len(terms) else terms[k] for k in range(0, len(terms), 2)]
    return terms[0]


class _Parser:
    def __init__(self, text: str) -> None:
        self.toks = tokenize(text)
        self.i = 0
        self.params = 0
        self.templates: list[tuple[str, Template]] = []
        self.type_operands: list[str] = []
        self.depth = 0

    # --- token helpers -------------------------------------------------------------------------
    @property
    def tok(self) -> Token:
        return self.toks[self.i]

    def _error(self, what: str | None = None) -> ValidationException:
        t = self.tok
        if what is None:
            what = "unexpected end of statement" if t.kind == "EOF" else f"unexpected token {t.text}"
        return ValidationException(f"{MALFORMED}{what} at position {t.start + 1}")

    def _is_kw(self, *words: str) -> bool:
        t = self.tok
        return t.kind == "IDENT" and t.value.upper() in words

    def _accept_kw(self, word: str) -> bool:
        if self._is_kw(word):
            self.i += 1
            return True
        return False

    def _expect_kw(self, word: str) -> None:
        if not self._accept_kw(word):
            raise self._error(f"expected {word}" + ("" if self.tok.kind == "EOF" else f", found {self.tok.text}"))

    def _is_op(self, *ops: str) -> bool:
        t = self.tok
        return t.kind == "OP" and t.value in ops

    def _accept_op(self, op: str) -> bool:
        if self._is_op(op):
            self.i += 1
            return True
        return False

    def _expect_op(self, op: str) -> None:
        if not self._accept_op(op):
            raise self._error(f"expected '{op}'" + ("" if self.tok.kind == "EOF" else f", found {self.tok.text}"))

    def _identifier(self, what: str = "identifier") -> str:
        t = self.tok
        if t.kind == "QIDENT" or (t.kind == "IDENT" and t.value.upper() not in _RESERVED):
            if t.value == "":
                raise self._error("empty identifier")
            self.i += 1
            return t.value
        raise self._error(f"expected {what}" + ("" if t.kind == "EOF" else f", found {t.text}"))

    def _nest(self) -> None:
        self.depth += 1
        if self.depth > _MAX_DEPTH:
            raise self._error("statement nested too deeply")

    # --- statements ------------------------------------------------------------------------------
    def statement(self) -> Statement:
        if self._accept_kw("SELECT"):
            out: Statement = self._select()
        elif self._accept_kw("INSERT"):
            out = self._insert()
        elif self._accept_kw("UPDATE"):
            out = self._update()
        elif self._accept_kw("DELETE"):
            out = self._delete()
        elif self._accept_kw("EXISTS"):
            self._expect_op("(")
            self._expect_kw("SELECT")
            sel = self._select()
            self._expect_op(")")
            if sel.projection is not None or sel.index is not None or sel.order_by:
                raise ValidationException("Unsupported operation: EXISTS takes SELECT * FROM a table WHERE a key "
                                          "and an optional condition")
            out = Exists(sel.table, sel.params, templates=sel.templates, type_operands=sel.type_operands,
                         where=sel.where)
        else:
            raise self._error("expected SELECT, INSERT, UPDATE, DELETE or EXISTS")
        self._accept_op(";")
        if self.tok.kind != "EOF":
            raise self._error()
        return out

    def _finish(self, cls: Any, **kw: Any) -> Any:
        return cls(params=self.params, templates=tuple(self.templates), type_operands=tuple(self.type_operands), **kw)

    def _select(self) -> Select:
        projection: tuple[Path, ...] | None = None
        if not self._accept_op("*"):
            paths = [self._path()]
            while self._accept_op(","):
                paths.append(self._path())
            projection = tuple(paths)
        self._expect_kw("FROM")
        table = self._identifier("table name")
        index = None
        if self._accept_op("."):
            index = self._identifier("index name")
        where = None
        if self._accept_kw("WHERE"):
            where = self._condition()
        order: list[tuple[Path, bool]] = []
        if self._accept_kw("ORDER"):
            self._expect_kw("BY")
            while True:
                path = self._path()
                desc = self._accept_kw("DESC")
                if not desc:
                    self._accept_kw("ASC")
                order.append((path, desc))
                if not self._accept_op(","):
                    break
        return self._finish(Select, table=table, index=index, projection=projection, where=where,
                            order_by=tuple(order))

    def _insert(self) -> Insert:
        self._expect_kw("INTO")
        table = self._identifier("table name")
        if self._is_kw("VALUES"):
            raise ValidationException("Unsupported operation: INSERT takes one item: VALUE {...}")
        self._expect_kw("VALUE")
        if not self._is_op("{") and self.tok.kind != "PARAM":
            raise self._error("INSERT expects a tuple: VALUE {...}")
        item = self._value()
        return self._finish(Insert, table=table, item=item)

    def _update(self) -> Update:
        table = self._identifier("table name")
        sets: list[SetAction] = []
        removes: list[RemoveAction] = []
        adds: list[AddAction] = []
        deletes: list[DeleteAction] = []
        paths: list[Path] = []   # in textual order, so "path one" is the one written first
        clauses = 0
        while True:
            if self._accept_kw("SET"):
                while True:
                    paths.append(self._set_item(sets, adds, deletes))
                    if not self._accept_op(","):
                        break
            elif self._accept_kw("REMOVE"):
                while True:
                    removes.append(RemoveAction(self._path()))
                    paths.append(removes[-1].path)
                    if not self._accept_op(","):
                        break
            else:
                break
            clauses += 1
        if not clauses:
            raise self._error("expected SET or REMOVE")
        for kind, one, two in path_clashes(paths):   # as an UpdateExpression would
            raise ValidationException(f"Two document paths {kind} with each other; must remove or rewrite one of "
                                      f"these paths; path one: {format_path(one)}, path two: {format_path(two)}")
        self._expect_kw("WHERE")
        where = self._condition()
        returning = self._returning(("ALL_OLD", "UPDATED_OLD", "ALL_NEW", "UPDATED_NEW"))
        tree = UpdateTree(tuple(sets), tuple(removes), tuple(adds), tuple(deletes))
        return self._finish(Update, table=table, actions=tree, where=where, returning=returning)

    def _delete(self) -> Delete:
        self._expect_kw("FROM")
        table = self._identifier("table name")
        self._expect_kw("WHERE")
        where = self._condition()
        returning = self._returning(("ALL_OLD",))
        return self._finish(Delete, table=table, where=where, returning=returning)

    def _returning(self, allowed: tuple[str, ...]) -> str:
        if not self._accept_kw("RETURNING"):
            return "NONE"
        first, second = self.toks[self.i], self.toks[min(self.i + 1, len(self.toks) - 1)]
        rv = _RETURNING.get((first.value.upper(), second.value.upper())) \
            if first.kind == "IDENT" and second.kind == "IDENT" else None
        if rv is None:
            raise self._error("expected ALL OLD, MODIFIED OLD, ALL NEW or MODIFIED NEW after RETURNING")
        self.i += 2
        self._expect_op("*")
        if rv not in allowed:
            raise ValidationException(f"Unsupported operation: RETURNING {first.value.upper()} {second.value.upper()} * "
                                      "is not supported here")
        return rv

    def _set_item(self, sets: list, adds: list, deletes: list) -> Path:
        """One `path = value` of a SET clause, added to its action list; returns the path."""
        path = self._path()
        self._expect_op("=")
        if self.tok.kind == "IDENT" and self.tok.value.lower() in ("set_add", "set_delete") \
                and self.toks[self.i + 1].value == "(":
            fname = self.tok.value.lower()
            self.i += 2
            target = self._path()
            if target != path:
                raise ValidationException(f"Unsupported operation: {fname} must name the attribute it updates")
            self._expect_op(",")
            value = self._operand_value()
            self._expect_op(")")
            (adds if fname == "set_add" else deletes).append(
                (AddAction if fname == "set_add" else DeleteAction)(path, value))
            return path
        left = self._set_term()
        if self._is_op("+", "-"):
            op = self.tok.value
            self.i += 1
            left = Arith(op, left, self._set_term())
        sets.append(SetAction(path, left))
        return path

    def _set_term(self) -> Any:
        t = self.tok
        if t.kind == "IDENT" and self.toks[self.i + 1].value == "(" and self.toks[self.i + 1].kind == "OP":
            name = t.value.lower()
            if name in ("list_append", "if_not_exists"):
                self.i += 2
                self._nest()
                if name == "if_not_exists":
                    a: Any = PathRef(self._path())
                else:
                    a = self._set_term()
                self._expect_op(",")
                b = self._set_term()
                self._expect_op(")")
                self.depth -= 1
                return ListAppend(a, b) if name == "list_append" else IfNotExists(a, b)
            raise ValidationException(f"Unsupported operation: function {t.value} in SET")
        if self._starts_path():
            return PathRef(self._path())
        return self._operand_value()

    # --- conditions ---------------------------------------------------------------------------------
    def _condition(self) -> Node:
        terms = [self._and()]
        while self._accept_kw("OR"):
            terms.append(self._and())
        return _balanced(Or, terms)

    def _and(self) -> Node:
        terms = [self._not()]
        while self._accept_kw("AND"):
            terms.append(self._not())
        return _balanced(And, terms)

    def _not(self) -> Node:
        nots = 0
        while self._accept_kw("NOT"):
            nots += 1
        node = self._predicate()
        return Not(node) if nots % 2 else node

    def _predicate(self) -> Node:
        if self._accept_op("("):
            self._nest()
            inner = self._condition()
            self._expect_op(")")
            self.depth -= 1
            return inner
        t = self.tok
        if t.kind == "IDENT" and self.toks[self.i + 1].kind == "OP" and self.toks[self.i + 1].value == "(":
            name = t.value.lower()
            if name in _CONDITION_FUNCS:
                return self._function(name)
            if name != "size":
                raise ValidationException(f"Unsupported operation: function {t.value}")
        left = self._operand()
        if self._accept_kw("IS"):
            negate = self._accept_kw("NOT")
            if type(left) is not PathRef:
                raise self._error("IS needs an attribute path on its left")
            if self._accept_kw("MISSING"):
                test: Node = Function("attribute_not_exists", (left,))
            elif self._accept_kw("NULL"):
                test = Or(Function("attribute_not_exists", (left,)),
                          Function("attribute_type", (left, Literal({"S": "NULL"}))))
            else:
                raise self._error("expected MISSING or NULL after IS")
            return Not(test) if negate else test
        negate = self._accept_kw("NOT")
        if self._accept_kw("BETWEEN"):
            low = self._operand()
            self._expect_kw("AND")
            node: Node = Between(left, low, self._operand())
        elif self._accept_kw("IN"):
            node = In(left, self._in_list())
        elif negate:
            raise self._error("expected BETWEEN or IN after NOT")
        elif self.tok.kind == "OP" and self.tok.value in _COMPARATORS:
            op = _COMPARATORS[self.tok.value]
            self.i += 1
            if self._accept_kw("MISSING"):
                return self._missing(left, op)
            node = Compare(op, left, self._operand())
        else:
            raise self._error()
        return Not(node) if negate else node

    def _missing(self, left: Any, op: str) -> Node:
        if type(left) is not PathRef or op not in ("=", "<>"):
            raise self._error("MISSING compares with = or <> to an attribute path")
        return Function("attribute_not_exists" if op == "=" else "attribute_exists", (left,))

    def _in_list(self) -> tuple[Any, ...]:
        close = "]" if self._accept_op("[") else None
        if close is None:
            self._expect_op("(")
            close = ")"
        options = [self._operand()]
        while self._accept_op(","):
            options.append(self._operand())
        self._expect_op(close)
        if len(options) > 100:
            raise ValidationException("Unsupported operation: IN takes at most 100 values")
        return tuple(options)

    def _function(self, name: str) -> Node:
        self.i += 2
        args = [self._operand()]
        while self._accept_op(","):
            args.append(self._operand())
        self._expect_op(")")
        if len(args) != _CONDITION_FUNCS[name]:
            raise ValidationException(f"{MALFORMED}function {name} takes {_CONDITION_FUNCS[name]} argument(s)")
        if type(args[0]) is not PathRef:
            raise ValidationException(f"{MALFORMED}the first argument of {name} must be an attribute path")
        if name == "attribute_type":   # the type is checked now (a literal) or when bound (a parameter)
            if type(args[1]) is Literal:
                check_type_name(args[1].value)
            elif type(args[1]) is ValueRef:
                self.type_operands.append(args[1].name)
            else:   # a path or size(): the type name must be a value
                raise ValidationException("Incorrect operand type for operator or function; operator or function: "
                                          "attribute_type, operand type: " + ("N" if type(args[1]) is Size else _ANY_TYPE))
        return Function(name, tuple(args))

    def _operand(self) -> Any:
        t = self.tok
        if t.kind == "IDENT" and t.value.lower() == "size" and self._is_call():
            self.i += 2
            path = PathRef(self._path())
            self._expect_op(")")
            return Size(path)
        if self._starts_path():
            return PathRef(self._path())
        return self._operand_value()

    def _is_call(self) -> bool:
        nxt = self.toks[self.i + 1]
        return nxt.kind == "OP" and nxt.value == "("

    def _starts_path(self) -> bool:
        t = self.tok
        return t.kind == "QIDENT" or (t.kind == "IDENT" and t.value.upper() not in _RESERVED)

    # --- paths and values -----------------------------------------------------------------------
    def _path(self) -> Path:
        parts: list[str | int] = [self._identifier("attribute name")]
        while True:
            if self._accept_op("."):
                parts.append(self._identifier("attribute name"))
            elif self._accept_op("["):
                t = self.tok
                if t.kind == "NUM" and t.value.isdigit():
                    parts.append(int(t.value))
                elif t.kind == "STR":
                    parts.append(t.value)
                else:
                    raise self._error("expected a list index or a quoted map key inside [ ]")
                self.i += 1
                self._expect_op("]")
            else:
                return tuple(parts)

    def _operand_value(self) -> Any:
        """A value operand of a condition or SET: Literal, or a ValueRef bound per request."""
        tpl = self._value()
        if tpl.kind == "param":
            return ValueRef(f":p{tpl.data}")
        av = template_value(tpl, None)
        if av is not None:
            return Literal(av)
        name = f":c{len(self.templates)}"
        self.templates.append((name, tpl))
        return ValueRef(name)

    def _value(self) -> Template:
        t = self.tok
        k = t.kind
        if k == "STR":
            self.i += 1
            return Template("lit", {"S": t.value})
        if k == "NUM":
            self.i += 1
            return Template("lit", {"N": normalize_number(t.value)})
        if k == "PARAM":
            self.i += 1
            self.params += 1
            return Template("param", self.params - 1)
        if k == "OP" and t.value in ("-", "+") and self.toks[self.i + 1].kind == "NUM":
            self.i += 2
            text = self.toks[self.i - 1].value
            return Template("lit", {"N": normalize_number("-" + text if t.value == "-" else text)})
        if k == "IDENT":
            word = t.value.upper()
            if word in ("TRUE", "FALSE"):
                self.i += 1
                return Template("lit", {"BOOL": word == "TRUE"})
            if word == "NULL":
                self.i += 1
                return Template("lit", {"NULL": True})
            if word == "MISSING":
                raise self._error("MISSING is only allowed in IS [NOT] MISSING and = / <> comparisons")
        if k == "OP" and t.value in ("[", "<<", "{"):
            self.i += 1
            self._nest()
            out = self._collection(t.value)
            self.depth -= 1
            return out
        raise self._error("expected a value" + ("" if k == "EOF" else f", found {t.text}"))

    def _collection(self, opener: str) -> Template:
        close = {"[": "]", "<<": ">>", "{": "}"}[opener]
        if opener == "{":
            pairs: list[tuple[str, Template]] = []
            if not self._accept_op(close):
                while True:
                    key = self.tok
                    if key.kind != "STR":
                        raise self._error("expected a 'string' key in a tuple")
                    self.i += 1
                    self._expect_op(":")
                    pairs.append((key.value, self._value()))
                    if not self._accept_op(","):
                        break
                self._expect_op(close)
            return Template("map", tuple(pairs))
        members: list[Template] = []
        if not self._accept_op(close):
            while True:
                members.append(self._value())
                if not self._accept_op(","):
                    break
            self._expect_op(close)
        return Template("list" if opener == "[" else "set", tuple(members))


@lru_cache(maxsize=1024)
def parse(text: str) -> Statement:
    """The statement of a PartiQL text (ValidationException for syntax errors and unsupported forms)."""
    return _Parser(text).statement()
