"""The eTag rules and JSON encoding shared by every MeetBot store, so they behave identically."""

from __future__ import annotations

import json
import math
import os
from contextlib import suppress
from typing import Any

from jsonpickle.pickler import Pickler  # type: ignore[import-untyped]
from jsonpickle.unpickler import Unpickler  # type: ignore[import-untyped]

from bot.core.fastjson import dumps
from bot.storage.errors import ConflictError

ANY_ETAG = "*"
ETAG_FIELD = "e_tag"


def validate_key(key: object) -> str:
    """Return `key` if it can be stored: any `str` that is valid Unicode (no lone surrogates)."""
    if not isinstance(key, str):
        raise TypeError(f"storage keys must be str, not {type(key).__name__}")
    try:
        key.encode("utf-8")
    except UnicodeEncodeError as error:
        raise ValueError(f"storage key {key!r} is not valid Unicode") from error
    return key


def requested_etag(value: object) -> str | None:
    """The eTag a write of `value` is conditional on: `None` and "*" mean unconditional."""
    raw: Any = (
        value.get(ETAG_FIELD) if isinstance(value, dict) else getattr(value, ETAG_FIELD, None)
    )
    if raw is None:
        return None
    etag = str(raw)
    if etag == "":
        raise ValueError("e_tag is empty: use None or '*' for an unconditional write")
    return etag


def check_precondition(key: str, requested: str | None, current: str | None) -> None:
    """Raise `ConflictError` unless a write conditional on `requested` may replace `current`.

    Same rule as botbuilder's MemoryStorage: an absent key (`current is None`) accepts any
    eTag, which is what lets the SSO middleware's first write with a fresh eTag succeed.
    """
    if current is None or requested is None or requested == ANY_ETAG:
        return
    if requested != current:
        raise ConflictError(key, requested, current)


def new_etag() -> str:
    """A fresh eTag for a stored version; never equal to a caller-chosen or earlier eTag."""
    return os.urandom(16).hex()  # as unguessable as uuid4().hex, without the UUID object


def stamp_etag(value: object, etag: str) -> None:
    """Record the eTag of the version just written on the caller's object, where possible."""
    if isinstance(value, dict):
        value[ETAG_FIELD] = etag
        return
    # Objects with __slots__ or read-only attributes simply keep their old eTag.
    with suppress(AttributeError, TypeError):
        setattr(value, ETAG_FIELD, etag)


def is_plain_json(value: object) -> bool:
    """Whether jsonpickle would write `value` as it is: JSON types only (exactly), finite
    floats, no key it would read back as one of its `py/` tags, no container twice (jsonpickle
    writes `py/id` references for those)."""
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


def encode(value: object) -> str:
    """JSON for `value` without its eTag, in jsonpickle's form (as botbuilder-azure stores it).

    jsonpickle adds a `py/object` type marker to objects, so `StoreItem`s and the dialog
    state objects that ConversationState holds come back as the same classes. Plain JSON
    (the bot's own records) is written as it is, which is what jsonpickle writes for it too,
    at a fraction of the cost.
    """
    if isinstance(value, dict) and is_plain_json(value):
        plain = {key: item for key, item in value.items() if key != ETAG_FIELD}
        return dumps(plain).decode("utf-8")
    flat = Pickler(unpicklable=True).flatten(value, reset=True)
    if isinstance(flat, dict):
        flat.pop(ETAG_FIELD, None)
    return json.dumps(flat, separators=(",", ":"))


def decode(document: str, etag: str) -> Any:
    """A fresh object from `encode`'s JSON, carrying `etag` as its `e_tag` (dicts stay dicts)."""
    flat = json.loads(document)
    if isinstance(flat, dict):
        flat[ETAG_FIELD] = etag
    if '"py/' not in document:
        # No jsonpickle tag anywhere: restoring would only copy what json.loads just built.
        return flat
    return Unpickler(safe=True).restore(flat, reset=True)
