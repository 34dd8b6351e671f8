"""The one tokenizer for every DynamoDB expression kind.

Produces (kind, text, start, end) tuples for `parser.py`. Unknown characters become
a BAD token so the parser reports them as DynamoDB does ("Syntax error; token: ...").
"""
from __future__ import annotations

import re
from typing import NamedTuple

__all__ = ["Token", "tokenize"]


class Token(NamedTuple):
    kind: str   # NAME | HNAME | VALUE | NUM | OP | BAD | EOF
    text: str
    start: int
    end: int


_TOKEN_RE = re.compile(
    r"""\s*(?:
      (?P<NAME>[A-Za-z_][A-Za-z0-9_]*)
     |(?P<HNAME>\#[A-Za-z0-9_]+)
     |(?P<VALUE>:[A-Za-z0-9_]+)
     |(?P<NUM>[0-9]+)
     |(?P<OP><>|<=|>=|[=<>(),.\[\]+\-])
     |(?P<BAD>.)
    )""",
    re.VERBOSE | re.DOTALL,
)
_SPACE_RE = re.compile(r"\s*")


def tokenize(text: str) -> list[Token]:
    """Split expression text into tokens, always ending with an EOF token."""
    out: list[Token] = []
    pos = 0
    n = len(text)
    match = _TOKEN_RE.match
    while True:
        pos = _SPACE_RE.match(text, pos).end()  # type: ignore[union-attr]
        if pos >= n:
            break
        m = match(text, pos)
        assert m is not None
        kind = m.lastgroup
        assert kind is not None
        start = m.start(kind)
        out.append(Token(kind, m.group(kind), start, m.end()))
        pos = m.end()
    out.append(Token("EOF", "<EOF>", n, n))
    return out
