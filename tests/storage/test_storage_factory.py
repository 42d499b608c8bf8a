"""`create_storage` builds the configured store and refuses process memory in production."""

from __future__ import annotations

from pathlib import Path

import pytest
from botbuilder.core import MemoryStorage

from bot.storage import Records, SqliteStorage, StrictMemoryStorage, create_storage


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
    with pytest.raises(ValueError, match="STORAGE='blob'"):
        create_storage("blob", sqlite_path="unused.sqlite3", production=False)  # type: ignore[arg-type]


def test_records_refuse_botbuilder_memory_storage() -> None:
    with pytest.raises(TypeError, match="StrictMemoryStorage"):
        Records(MemoryStorage(), namespace="pending")
