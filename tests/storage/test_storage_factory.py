"""`create_storage` builds the configured store, refuses process memory in production."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.storage import SqliteStorage, StrictMemoryStorage, create_storage
from bot.storage.blob import AzureBlobStorage
from tests.replicas import Azurite, azurite_connection_string, drop_container


async def test_sqlite_is_built_on_the_given_path(tmp_path: Path) -> None:
    path = tmp_path / "state" / "bot.sqlite3"
    async with create_storage("sqlite", sqlite_path=str(path), production=True) as storage:
        assert isinstance(storage, SqliteStorage)
        await storage.write({"k": {"v": 1}})
    assert path.exists()


def test_memory_is_allowed_outside_production() -> None:
    storage = create_storage("memory", sqlite_path="unused.sqlite3", production=False)

    assert isinstance(storage, StrictMemoryStorage)


def test_memory_in_production_is_refused_naming_the_setting() -> None:
    with pytest.raises(ValueError, match="STORAGE"):
        create_storage("memory", sqlite_path="unused.sqlite3", production=True)


def test_an_unknown_kind_is_refused_naming_the_setting() -> None:
    with pytest.raises(ValueError, match="STORAGE='cosmos'"):
        create_storage("cosmos", sqlite_path="unused.sqlite3", production=False)  # type: ignore[arg-type]


async def test_blob_is_built_on_the_given_account_and_container(azurite: Azurite) -> None:
    storage = create_storage(
        "blob",
        sqlite_path="unused.sqlite3",
        production=True,
        blob_connection_string=azurite.connection_string,
        blob_container="meetbot-factory",
    )
    async with storage:
        assert isinstance(storage, AzureBlobStorage)
        assert storage.container == "meetbot-factory"
        await storage.write({"k": {"v": 1}})
    await drop_container(azurite, "meetbot-factory")


def test_blob_without_a_connection_string_is_refused_naming_the_setting() -> None:
    with pytest.raises(ValueError, match="AZURE_STORAGE_CONNECTION_STRING"):
        create_storage(
            "blob", sqlite_path="unused.sqlite3", production=True, blob_container="meetbot"
        )


@pytest.mark.parametrize("container", ["", "Meetbot_State"])
def test_blob_with_a_bad_container_name_is_refused_naming_the_setting(container: str) -> None:
    with pytest.raises(ValueError, match="AZURE_STORAGE_CONTAINER"):
        create_storage(
            "blob",
            sqlite_path="unused.sqlite3",
            production=True,
            blob_connection_string=azurite_connection_string(10000),
            blob_container=container,
        )


def test_blob_with_a_malformed_connection_string_is_refused_without_echoing_it() -> None:
    with pytest.raises(ValueError, match="AZURE_STORAGE_CONNECTION_STRING") as raised:
        create_storage(
            "blob",
            sqlite_path="unused.sqlite3",
            production=True,
            blob_connection_string="AccountKey=hunter2-secret",
            blob_container="meetbot",
        )

    assert "hunter2-secret" not in str(raised.value)
