"""DynamoDB expressions: one tokenizer, one parser, one tree, one evaluator.

Condition, filter, key-condition, update and projection expressions (and the legacy
parameters translated into the same tree). Parse once (cached), evaluate many.
Used by `api` (validation via `compile_request`) and `engine` (evaluate/apply/project).
"""
from __future__ import annotations

from eddydb.expressions import legacy
from eddydb.expressions.evaluate import evaluate, project, resolve_path
from eddydb.expressions.parser import parse_condition, parse_key_condition, parse_projection, parse_update
from eddydb.expressions.request import Compiled, check_attribute_maps, check_usage, compile_request
from eddydb.expressions.tree import Condition, KeyCondition, Path, Projection, UpdatePlan
from eddydb.expressions.update import apply_update

__all__ = [
    "Compiled",
    "Condition",
    "KeyCondition",
    "Path",
    "Projection",
    "UpdatePlan",
    "apply_update",
    "check_attribute_maps",
    "check_usage",
    "compile_request",
    "evaluate",
    "legacy",
    "parse_condition",
    "parse_key_condition",
    "parse_projection",
    "parse_update",
    "project",
    "resolve_path",
]
