"""`ClosableStorage`: the bot's key-value store, opened at start-up and closed at shutdown."""

from __future__ import annotations

import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping
from types import TracebackType
from typing import Any, Self

from bot.storage.errors import ConflictError, StorageError
from bot.storage.items import ETAG_FIELD

UPDATE_ATTEMPTS = 5


class ClosableStorage(ABC):
    """A key-value store with eTag concurrency that is real, and an explicit lifetime.

    It has the `read`/`write`/`delete` shape of botbuilder's `Storage` without subclassing
    it, so botbuilder components that take a `Storage` (ConversationState, the SSO token
    exchange middleware) use it by duck typing, and this package does not import botbuilder.

    Rules shared by every implementation (see `bot.storage.items`):
    values are dicts or objects (e.g. `StoreItem`); `read` returns fresh copies with the
    stored eTag in `e_tag`; `write` is conditional on the value's `e_tag` unless it is
    missing or "*", assigns a new eTag to every version, sets it on the written value, and
    applies all of `changes` or none; a lost precondition raises `ConflictError`.
    """

    @abstractmethod
    async def read(self, keys: Iterable[str] | None) -> dict[str, Any]:
        """The stored values (dicts or objects, as written) of those `keys` that exist."""

    @abstractmethod
    async def write(self, changes: Mapping[str, object] | None) -> None:
        """Store every value in `changes` atomically, or raise `ConflictError` and store none."""

    @abstractmethod
    async def delete(self, keys: Iterable[str] | None) -> None:
        """Remove `keys` unconditionally; missing keys are ignored."""

    @abstractmethod
    async def keys(self, prefix: str) -> list[str]:
        """The keys that start with `prefix`, in order: read from the store's key index,
        without reading values (keys stored under a hashed name are not listed)."""

    async def update(self, key: str, change: Callable[[Any | None], dict[str, Any]]) -> None:
        """Replace the value of `key` (None when absent) with `change(value)`, atomically: a
        version written meanwhile by anyone else is read again and changed again.

        `change` must be a pure function of its argument. This reads, then writes on the
        condition of the eTag read; stores that can do both in one transaction do.
        """
        for _attempt in range(UPDATE_ATTEMPTS):
            current = (await self.read([key])).get(key)
            etag = current.get(ETAG_FIELD) if isinstance(current, dict) else None
            new = change(current)
            # Absent: a fresh eTag no stored version can have makes the write create-only.
            new[ETAG_FIELD] = etag if etag is not None else f"create-{uuid.uuid4().hex}"
            try:
                await self.write({key: new})
                return
            except ConflictError:
                continue
        raise StorageError(f"{key!r} kept changing: gave up after {UPDATE_ATTEMPTS} attempts")

    async def open(self) -> None:
        """Acquire resources now so a misconfiguration fails at start-up, not on first use."""
        return  # by default there is nothing to acquire before first use

    @abstractmethod
    async def close(self) -> None:
        """Release resources; later calls raise `StorageError`. Closing twice is allowed."""

    async def __aenter__(self) -> Self:
        try:
            await self.open()
        except BaseException:
            await self.close()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()
