"""The PartiQL tokenizer: DynamoDB's dialect of PartiQL statements split into tokens.

Produces `Token(kind, text, value, start)` for `parser.py`: bare identifiers (keywords are bare
identifiers matched case-insensitively by the parser), "quoted" identifiers, 'string' literals
('' escapes a quote), numbers, `?` parameters and punctuation (`<<`, `>>`, `<=`, `!=` ...).
"""
from __future__ import annotations

import re
from typing import NamedTuple

from eddydb.model.errors import ValidationException

__all__ = ["MALFORMED", "Token", "tokenize"]

MALFORMED = "Statement wasn't well formed, can't be processed: "


class Token(NamedTuple):
    kind: str    # IDENT | QIDENT | STR | NUM | PARAM | OP | EOF
    text: str    # source text (for messages)
    value: str   # identifier name / string contents / number text / operator
    start: int


_TOKEN_RE = re.compile(
    r"""(?:
      (?P<IDENT>[A-Za-z_$][A-Za-z0-9_$]*)
     |(?P<QIDENT>"(?:[^"]|"")*")
     |(?P<STR>'(?:[^']|'')*')
     |(?P<NUM>(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)
     |(?P<PARAM>\?)
     |(?P<OP><<|>>|<>|!=|<=|>=|[=<>(),.\[\]{}:*+\-;])
    )""",
    re.VERBOSE | re.DOTALL,
)
_SPACE_RE = re.compile(r"(?:\s+|--[^\n]*(?:\n|$)|/\*.*?\*/)*", re.DOTALL)


def tokenize(text: str) -> list[Token]:
    """Tokens of a statement, ending with an EOF token; ValidationException on a stray character
    or an unterminated string/identifier."""
    out: list[Token] = []
    pos = 0
    n = len(text)
    while True:
        pos = _SPACE_RE.match(text, pos).end()  # type: ignore[union-attr]
        if pos >= n:
            break
        m = _TOKEN_RE.match(text, pos)
        if m is None:
            ch = text[pos]
            if ch in "'\"":
                raise ValidationException(f"{MALFORMED}Unterminated literal at position {pos + 1}")
            raise ValidationException(f"{MALFORMED}Unexpected character '{ch}' at position {pos + 1}")
        kind = m.lastgroup
        assert kind is not None
        raw = m.group(kind)
        if kind == "QIDENT":
            value = raw[1:-1].replace('""', '"')
        elif kind == "STR":
            value = raw[1:-1].replace("''", "'")
        else:
            value = raw
        out.append(Token(kind, raw, value, pos))
        pos = m.end()
    out.append(Token("EOF", "<EOF>", "", n))
    return out
