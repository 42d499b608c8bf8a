"""The small interfaces the bot's use cases depend on (state records, user tokens)."""

from __future__ import annotations

from typing import Any, Protocol


class RecordStore(Protocol):
    """JSON records by key, in the bot's state store (durable outside unit tests)."""

    async def get(self, key: str) -> tuple[dict[str, Any] | None, str | None]:
        """The record and its eTag (None, None when absent)."""
        ...

    async def put(self, key: str, value: dict[str, Any], etag: str | None = None) -> None:
        """Write; with an eTag, only if the record is unchanged since it was read."""
        ...

    async def create(self, key: str, value: dict[str, Any]) -> bool:
        """Write only if absent; True for exactly one of any number of concurrent callers."""
        ...

    async def delete(self, key: str) -> None: ...
