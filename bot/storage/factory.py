"""`create_storage`: picks the bot's state store from configuration (`STORAGE`)."""

from __future__ import annotations

from typing import Literal

from bot.storage.base import ClosableStorage
from bot.storage.memory import StrictMemoryStorage
from bot.storage.sqlite import SqliteStorage

StorageKind = Literal["memory", "sqlite"]


def create_storage(kind: StorageKind, *, sqlite_path: str, production: bool) -> ClosableStorage:
    """Build the configured store; the caller opens it at start-up and closes it at shutdown.

    "blob" (botbuilder-azure's BlobStorage, Azurite locally) is meant to become a third kind.
    """
    if kind == "memory":
        if production:
            raise ValueError(
                "STORAGE=memory keeps pending sign-ins, SSO deduplication records, "
                "conversation references and meetings only in this process; "
                "set STORAGE=sqlite in production"
            )
        return StrictMemoryStorage()
    if kind == "sqlite":
        return SqliteStorage(sqlite_path)
    raise ValueError(f"STORAGE={kind!r} is not a known storage kind; use 'sqlite' or 'memory'")
