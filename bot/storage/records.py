"""`Records`: the bot's own JSON records on a `ClosableStorage`, with typed eTag handling."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from bot.storage.base import ClosableStorage
from bot.storage.errors import ConflictError, is_conflict
from bot.storage.items import ANY_ETAG, ETAG_FIELD, is_plain_json

JsonObject = dict[str, Any]

_DATA_FIELD = "data"


class Records:
    """JSON objects stored under `<namespace>/<key>`, each version with an eTag.

    The namespace keeps these keys apart from botbuilder's own (`msteams/...`).
    `create` is exactly-once because every `ClosableStorage` checks eTags atomically and
    gives every version a fresh eTag of its own (botbuilder's `MemoryStorage`, which keeps
    caller-chosen eTags, is not one).
    """

    def __init__(self, storage: ClosableStorage, *, namespace: str) -> None:
        if not namespace or "/" in namespace:
            raise ValueError(f"namespace must be non-empty and contain no '/', got {namespace!r}")
        self._storage = storage
        self._prefix = f"{namespace}/"

    def storage_key(self, key: str) -> str:
        return self._prefix + key

    async def get(self, key: str) -> tuple[JsonObject | None, str | None]:
        """The record and its eTag, or `(None, None)` if there is none."""
        storage_key = self.storage_key(key)
        item = (await self._storage.read([storage_key])).get(storage_key)
        if item is None:
            return None, None
        if not isinstance(item, dict) or not isinstance(item.get(_DATA_FIELD), dict):
            raise TypeError(f"{storage_key!r} does not hold a MeetBot record")
        etag = item.get(ETAG_FIELD)
        return item[_DATA_FIELD], None if etag is None else str(etag)

    async def put(self, key: str, value: JsonObject, etag: str | None = None) -> None:
        """Store `value`; with `etag`, only if the stored version still has that eTag.

        Raises `ConflictError` if it does not. As in botbuilder's Storage, a conditional
        write to a key that does not exist (any more) succeeds.
        """
        await self._write(key, value, ANY_ETAG if etag is None else etag)

    async def create(self, key: str, value: JsonObject) -> bool:
        """Store `value` only if `key` has no record; True for exactly one of racing callers."""
        # The stores accept any eTag for an absent key, and compare it with their own
        # eTag for a present one; a random eTag never equals that, so the write fails.
        try:
            await self._write(key, value, f"create-{uuid.uuid4().hex}")
        except ConflictError:
            return False
        return True

    async def update(self, key: str, change: Callable[[JsonObject | None], JsonObject]) -> None:
        """Replace the record with `change(record)` (None when absent), atomically: a version
        written by anyone else meanwhile is changed again, never overwritten."""
        storage_key = self.storage_key(key)

        def document(stored: Any) -> dict[str, Any]:
            record = stored.get(_DATA_FIELD) if isinstance(stored, dict) else None
            if stored is not None and not isinstance(record, dict):
                raise TypeError(f"{storage_key!r} does not hold a MeetBot record")
            value = change(record)
            if not isinstance(value, dict) or not is_plain_json(value):
                raise TypeError(f"{storage_key!r}: a record must be a plain JSON object")
            return {_DATA_FIELD: value}

        await self._storage.update(storage_key, document)

    async def delete(self, key: str) -> None:
        await self._storage.delete([self.storage_key(key)])

    async def keys(self, prefix: str) -> list[str]:
        """The keys of this namespace's records that start with `prefix`, in order."""
        cut = len(self._prefix)
        return [key[cut:] for key in await self._storage.keys(self.storage_key(prefix))]

    async def _write(self, key: str, value: JsonObject, etag: str) -> None:
        storage_key = self.storage_key(key)
        # Only plain JSON: stores write objects through jsonpickle, which would store a
        # `py/...` key, a set or a shared list as something other than the record.
        if not isinstance(value, dict) or not is_plain_json(value):
            raise TypeError(f"{storage_key!r}: a record must be a plain JSON object")
        # Stores encode what they are given before they first await, so later changes to
        # `value` by the caller cannot reach the store.
        try:
            await self._storage.write({storage_key: {_DATA_FIELD: value, ETAG_FIELD: etag}})
        except ConflictError:
            raise
        except Exception as error:
            if is_conflict(error):
                raise ConflictError(storage_key, etag, None) from error
            raise
