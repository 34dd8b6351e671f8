"""ProjectionExpression: document paths and `project`."""
from __future__ import annotations

import pytest

from eddydb.expressions import parse_projection, project
from eddydb.model.errors import ValidationException

ITEM = {
    "a": {"S": "x"},
    "b": {"N": "1"},
    "m": {"M": {"x": {"N": "1"}, "y": {"M": {"z": {"S": "deep"}, "w": {"S": "other"}}}}},
    "l": {"L": [{"S": "l0"}, {"M": {"k": {"S": "v"}, "j": {"S": "u"}}}, {"S": "l2"}]},
}


def test_top_level_attributes():
    assert project(ITEM, parse_projection("a, b, nope")) == {"a": {"S": "x"}, "b": {"N": "1"}}


def test_nested_map_paths():
    assert project(ITEM, parse_projection("m.y.z")) == {"m": {"M": {"y": {"M": {"z": {"S": "deep"}}}}}}
    assert project(ITEM, parse_projection("m.x, m.y.w")) == {
        "m": {"M": {"x": {"N": "1"}, "y": {"M": {"w": {"S": "other"}}}}}}


def test_list_indexes_keep_index_order():
    assert project(ITEM, parse_projection("l[2], l[0]")) == {"l": {"L": [{"S": "l0"}, {"S": "l2"}]}}
    assert project(ITEM, parse_projection("l[1].k")) == {"l": {"L": [{"M": {"k": {"S": "v"}}}]}}


def test_missing_nested_parts_are_omitted():
    assert project(ITEM, parse_projection("m.nope, l[7], a.b, nope.x")) == {}


def test_names():
    assert project(ITEM, parse_projection("#m.#y", {"#m": "m", "#y": "x"})) == {"m": {"M": {"x": {"N": "1"}}}}


def test_projection_of_none_item():
    assert project(None, parse_projection("a")) is None


def test_overlapping_projection_paths():
    with pytest.raises(ValidationException) as e:
        parse_projection("m, m.x")
    assert e.value.message == ("Invalid ProjectionExpression: Two document paths overlap with each other; must remove "
                               "or rewrite one of these paths; path one: [m], path two: [m, x]")
    with pytest.raises(ValidationException, match="overlap"):
        parse_projection("a, a")
    with pytest.raises(ValidationException, match="conflict"):
        parse_projection("a[0], a.b")


def test_projection_errors():
    with pytest.raises(ValidationException, match='^Invalid ProjectionExpression: Syntax error; token: "<EOF>"'):
        parse_projection("a,")
    with pytest.raises(ValidationException, match="reserved keyword: size"):
        parse_projection("size")
    with pytest.raises(ValidationException, match="^Invalid ProjectionExpression: An expression attribute name used "
                       "in the document path is not defined; attribute name: #x$"):
        parse_projection("#x")


def test_projection_records_names_used():
    assert parse_projection("#a, b", {"#a": "a"}).names_used == {"#a"}
