"""PartiQL for DynamoDB: the statement language of ExecuteStatement, BatchExecuteStatement and
ExecuteTransaction, parsed into the expressions package's trees (one evaluator for everything).

Used by api/partiql.py: `parse(text)` (cached), `bind(statement, parameters)`, and the key analysis
in `keys` that decides between Query and Scan and finds a write's primary key.
"""
from __future__ import annotations

from eddydb.partiql.keys import KeyRange, conjuncts, key_equalities, key_range, operand_av
from eddydb.partiql.lexer import MALFORMED, tokenize
from eddydb.partiql.parser import parse
from eddydb.partiql.statements import Delete, Exists, Insert, Select, Statement, Template, Update
from eddydb.partiql.values import PARAMETER_COUNT, bind, template_value

__all__ = [
    "MALFORMED",
    "PARAMETER_COUNT",
    "Delete",
    "Exists",
    "Insert",
    "KeyRange",
    "Select",
    "Statement",
    "Template",
    "Update",
    "bind",
    "conjuncts",
    "key_equalities",
    "key_range",
    "operand_av",
    "parse",
    "template_value",
    "tokenize",
]
