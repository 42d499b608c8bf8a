"""`ClosableStorage`: the bot's key-value store, opened at start-up and closed at shutdown."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from types import TracebackType
from typing import Any, Self


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
