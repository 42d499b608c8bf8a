"""JSON on the hot path: `dumps` through pydantic-core (4x `json.dumps`), `is_plain_json`."""

from __future__ import annotations

import json
import math
from typing import Any, TypeVar

from pydantic_core import PydanticSerializationError, to_json


def dumps(value: object) -> bytes:
    """UTF-8 JSON with no spaces; what `json.dumps` writes, but non-ASCII as UTF-8, not escapes.

    For what pydantic-core cannot write (a lone surrogate in a string, a type it does not
    know) it is `json.dumps`, with its escapes and its errors.
    """
    try:
        return to_json(value)
    except PydanticSerializationError:
        return json.dumps(value, separators=(",", ":")).encode("ascii")


_T = TypeVar("_T")

# Containers whose builder vouched for them: id -> the container, held so that no other object
# can take its id while it is here. Each is trusted once (the next check takes it out), and
# only the newest few are kept: one that is never checked does not stay.
_VOUCHED: dict[int, object] = {}
_VOUCHED_MAX = 64


def vouch_plain(value: _T) -> _T:
    """Mark `value`, just built by code that guarantees `is_plain_json(value)`, so the next
    check of it answers True without walking it. The caller must not change it meanwhile.

    Used where the walk would be repeated: a meeting card (~150 values), whose writer checks
    each value as it writes it (`cards.elements`), and a record `Records` has just checked,
    which the store then encodes. A marker type would do for records, but not for cards:
    msrest writes a dict subclass in an activity as its `str()`."""
    if len(_VOUCHED) >= _VOUCHED_MAX:
        del _VOUCHED[next(iter(_VOUCHED))]
    _VOUCHED[id(value)] = value
    return value


def is_plain_json(value: object) -> bool:
    """Whether jsonpickle would write `value` as it is: JSON types only (exactly), finite
    floats, no key it would read back as one of its `py/` tags, no container twice (jsonpickle
    writes `py/id` references for those)."""
    if _VOUCHED.pop(id(value), None) is value:
        return True
    seen: set[int] = set()
    pending: list[Any] = [value]
    while pending:
        item = pending.pop()
        kind = type(item)
        if kind is str or kind is int or kind is bool or item is None:
            continue
        if kind is float:
            if not math.isfinite(item):
                return False
            continue
        if kind is not dict and kind is not list:
            return False
        if id(item) in seen:
            return False
        seen.add(id(item))
        if kind is list:
            pending.extend(item)
            continue
        for key in item:
            if type(key) is not str or key.startswith("py/"):
                return False
        pending.extend(item.values())
    return True
