"""`dumps`: JSON as UTF-8 bytes through pydantic-core's serializer (4x `json.dumps`)."""

from __future__ import annotations

import json

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
