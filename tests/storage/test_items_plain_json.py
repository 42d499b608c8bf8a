"""Plain JSON records skip jsonpickle, and are stored and read exactly as jsonpickle does."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonpickle.pickler import Pickler  # type: ignore[import-untyped]
from jsonpickle.unpickler import Unpickler  # type: ignore[import-untyped]

from bot.storage.items import ETAG_FIELD, decode, encode, is_plain_json


def jsonpickle_encode(value: object) -> str:
    flat = Pickler(unpicklable=True).flatten(value, reset=True)
    if isinstance(flat, dict):
        flat.pop(ETAG_FIELD, None)
    return json.dumps(flat, separators=(",", ":"))


def jsonpickle_decode(document: str, etag: str) -> Any:
    flat = json.loads(document)
    if isinstance(flat, dict):
        flat[ETAG_FIELD] = etag
    return Unpickler(safe=True).restore(flat, reset=True)


leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=8),
    st.sampled_from(["py/object", "py/id", '"py/tuple"']),
)
keys = st.one_of(st.text(max_size=6), st.sampled_from(["py/object", "py/tuple", "py/id", "e_tag"]))
value = st.recursive(
    leaf,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.tuples(inner),
        st.dictionaries(keys, inner, max_size=4),
    ),
    max_leaves=25,
)


@settings(max_examples=1000, deadline=None)
@given(st.dictionaries(keys, value, max_size=5))
def test_records_are_encoded_and_decoded_as_jsonpickle_does(record: dict[str, Any]) -> None:
    document = jsonpickle_encode(record)
    # The same JSON value; plain records may write non-ASCII as UTF-8 rather than escapes.
    assert json.dumps(json.loads(encode(record))) == json.dumps(json.loads(document))
    document = encode(record)
    ours, theirs = decode(document, "etag-1"), jsonpickle_decode(document, "etag-1")
    assert json.dumps(ours) == json.dumps(theirs)
    assert type(ours) is type(theirs)


def test_a_container_held_twice_still_goes_through_jsonpickle() -> None:
    shared = [1, 2]
    record = {"a": shared, "b": shared}
    assert encode(record) == jsonpickle_encode(record)
    assert '"py/id"' in encode(record)


def test_the_etag_is_not_stored_and_comes_back_last() -> None:
    document = encode({"e_tag": "x", "data": {"n": 1}})
    assert document == '{"data":{"n":1}}'
    assert list(decode(document, "etag-2").items()) == [("data", {"n": 1}), ("e_tag", "etag-2")]


@settings(max_examples=1000, deadline=None)
@given(value)
def test_a_value_is_plain_json_only_if_jsonpickle_writes_it_as_it_is(candidate: Any) -> None:
    if is_plain_json(candidate):
        flat = Pickler(unpicklable=True).flatten(candidate, reset=True)
        assert json.dumps(flat) == json.dumps(candidate)


@pytest.mark.parametrize(
    "candidate",
    [
        {"py/object": "x"},
        {"k": (1, 2)},
        {"k": {1}},
        {1: "int key"},
        {"k": float("inf")},
        {"k": b"bytes"},
        {"k": object()},
    ],
    ids=["py-tag-key", "tuple", "set", "int-key", "inf", "bytes", "object"],
)
def test_values_jsonpickle_would_change_are_not_plain_json(candidate: object) -> None:
    assert not is_plain_json(candidate)


def test_a_container_held_twice_is_not_plain_json_but_equal_copies_are() -> None:
    shared = {"n": 1}
    assert not is_plain_json({"a": shared, "b": shared})
    assert is_plain_json({"a": {"n": 1}, "b": {"n": 1}})
    assert is_plain_json({"a": "same string", "b": "same string"})  # only containers count


def test_a_value_is_checked_again_every_time() -> None:
    record: dict[str, Any] = {"n": [1]}
    assert is_plain_json(record)
    record["n"].append({1})
    assert not is_plain_json(record)
