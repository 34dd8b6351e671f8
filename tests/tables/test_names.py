"""Properties of the pure validation helpers of api/tables.py (hypothesis)."""
from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from eddydb.api.tables import CoralErrors, validate_table_name
from eddydb.engine.tables import resolve_table_name
from eddydb.model.errors import ValidationException

_OK = re.compile(r"[a-zA-Z0-9_.-]{3,255}")


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=300))
def test_a_name_is_accepted_exactly_when_dynamodb_accepts_it(name):
    try:
        assert validate_table_name(name) == name
        accepted = True
    except ValidationException:
        accepted = False
    assert accepted == bool(_OK.fullmatch(name))


@given(st.from_regex(_OK, fullmatch=True))
def test_a_table_arn_resolves_to_its_name(name):
    arn = f"arn:aws:dynamodb:us-east-1:123456789012:table/{name}"
    assert resolve_table_name(arn) == name
    if len(arn) <= 1024:
        assert validate_table_name(arn) == name


@given(st.lists(st.sampled_from(["a", "b", "c"]), min_size=1, max_size=4))
def test_coral_errors_count_and_join(paths):
    errs = CoralErrors()
    for p in paths:
        errs.null(p)
    with pytest.raises(ValidationException) as exc:
        errs.raise_if_any()
    n = len(paths)
    assert exc.value.message.startswith(f"{n} validation error{'s' if n > 1 else ''} detected: ")
    assert exc.value.message.count("Member must not be null") == n
