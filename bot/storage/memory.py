"""`StrictMemoryStorage`: an in-process store for tests and local runs, with real eTag conflicts."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from typing import Any

from bot.storage.base import ClosableStorage
from bot.storage.errors import StorageError
from bot.storage.items import (
    check_precondition,
    decode,
    encode,
    new_etag,
    requested_etag,
    stamp_etag,
    validate_key,
)


class StrictMemoryStorage(ClosableStorage):
    """Keeps values in a dict, with exactly `SqliteStorage`'s eTag rules and JSON round trip.

    botbuilder's `MemoryStorage` is not used because it stamps an eTag only on items whose
    stored version already had one, so the first rewrite of an item written with a
    caller-chosen eTag is accepted: two of three duplicate SSO token exchanges get through.
    It also hands out its stored objects, so a caller's edits change the store.
    Values are kept as JSON, so anything that would not survive SQLite fails here too.
    """

    def __init__(self) -> None:
        self._items: dict[str, tuple[str, str]] = {}  # key -> (etag, JSON document)
        # Writes are atomic per event loop anyway; the lock keeps them so across threads.
        self._lock = threading.Lock()
        self._closed = False

    async def read(self, keys: Iterable[str] | None) -> dict[str, Any]:
        self._ensure_open()
        wanted = list(dict.fromkeys(validate_key(key) for key in keys or ()))
        with self._lock:
            found = {key: self._items[key] for key in wanted if key in self._items}
        return {key: decode(document, etag) for key, (etag, document) in found.items()}

    async def write(self, changes: Mapping[str, object] | None) -> None:
        self._ensure_open()
        if changes is None:
            raise ValueError("Changes are required when writing")
        prepared = [
            (validate_key(key), requested_etag(value), encode(value))
            for key, value in changes.items()
        ]
        written: dict[str, str] = {}
        with self._lock:
            for key, requested, _document in prepared:
                current = self._items.get(key)
                check_precondition(key, requested, None if current is None else current[0])
            for key, _requested, document in prepared:
                written[key] = new_etag()
                self._items[key] = (written[key], document)
        for key, value in changes.items():
            stamp_etag(value, written[key])

    async def delete(self, keys: Iterable[str] | None) -> None:
        self._ensure_open()
        doomed = [validate_key(key) for key in keys or ()]
        with self._lock:
            for key in doomed:
                self._items.pop(key, None)

    async def keys(self, prefix: str) -> list[str]:
        self._ensure_open()
        with self._lock:
            return sorted(key for key in self._items if key.startswith(prefix))

    async def close(self) -> None:
        self._closed = True

    def _ensure_open(self) -> None:
        if self._closed:
            raise StorageError("StrictMemoryStorage is closed")
