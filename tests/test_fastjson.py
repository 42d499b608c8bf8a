"""`bot.core.fastjson.dumps` writes the JSON `json.dumps` writes."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.fastjson import dumps

values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**80), max_value=2**80),
        st.floats(),
        st.text(alphabet=st.characters(codec=None), max_size=8),  # lone surrogates too
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.text(max_size=6), inner, max_size=4),
    ),
    max_leaves=25,
)


@pytest.mark.slow  # 2000 examples, several seconds
@settings(max_examples=2000, deadline=None)
@given(values)
def test_dumps_writes_the_same_json_value_as_json_dumps(value: object) -> None:
    ours = dumps(value)
    assert json.dumps(json.loads(ours)) == json.dumps(json.loads(json.dumps(value)))


def test_compact_non_ascii_as_utf8_and_a_lone_surrogate_escaped() -> None:
    assert dumps({"a": [1, 2.5, None]}) == b'{"a":[1,2.5,null]}'
    assert dumps({"subject": "Café ☕"}) == '{"subject":"Café ☕"}'.encode()
    assert dumps({"subject": "\ud800"}) == b'{"subject":"\\ud800"}'
