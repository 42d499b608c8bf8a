"""`create_storage`: picks the bot's state store from configuration (`STORAGE`)."""

from __future__ import annotations

from typing import Literal

from bot.storage.base import ClosableStorage
from bot.storage.memory import StrictMemoryStorage
from bot.storage.sqlite import SqliteStorage

StorageKind = Literal["memory", "sqlite", "blob"]


def create_storage(
    kind: StorageKind,
    *,
    sqlite_path: str,
    production: bool,
    blob_connection_string: str = "",
    blob_container: str = "",
) -> ClosableStorage:
    """Build the configured store; the caller opens it at start-up and closes it at shutdown.

    "sqlite" serves every process on one machine; "blob" (Azure Blob Storage, Azurite
    locally) serves replicas on several machines.
    """
    if kind == "memory":
        if production:
            raise ValueError(
                "STORAGE=memory keeps pending sign-ins, SSO deduplication records, "
                "conversation references and meetings only in this process; "
                "set STORAGE=sqlite or STORAGE=blob in production"
            )
        return StrictMemoryStorage()
    if kind == "sqlite":
        return SqliteStorage(sqlite_path)
    if kind == "blob":
        return _blob_storage(blob_connection_string, blob_container)
    raise ValueError(
        f"STORAGE={kind!r} is not a known storage kind; use 'sqlite', 'blob' or 'memory'"
    )


def _blob_storage(connection_string: str, container: str) -> ClosableStorage:
    if not connection_string.strip():
        raise ValueError("STORAGE=blob needs AZURE_STORAGE_CONNECTION_STRING")
    # Imported here: the Azure SDK takes 0.4 s to import, and only STORAGE=blob needs it.
    from bot.storage.blob import AzureBlobStorage, valid_container_name

    if not valid_container_name(container):
        raise ValueError(
            f"AZURE_STORAGE_CONTAINER={container!r} is not a valid container name: 3-63 "
            "lowercase letters, digits and single hyphens, starting with a letter or digit"
        )
    try:
        return AzureBlobStorage(connection_string, container)
    except ValueError:
        raise ValueError(
            "AZURE_STORAGE_CONNECTION_STRING is not a valid connection string"
        ) from None
