"""SqliteStorage beyond the contract: durability, separate processes, an event loop never held."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from bot.storage import ConflictError, Records, SqliteStorage, StorageError

if TYPE_CHECKING:
    from conftest import Children


async def test_data_survives_closing_and_reopening(tmp_path: Path) -> None:
    database = tmp_path / "nested" / "dirs" / "bot.sqlite3"
    async with SqliteStorage(database) as storage:
        await storage.write({"k": {"v": 1}})
        etag = (await storage.read(["k"]))["k"]["e_tag"]

    async with SqliteStorage(database) as reopened:
        assert (await reopened.read(["k"]))["k"] == {"v": 1, "e_tag": etag}


async def test_the_database_uses_wal_and_one_file(tmp_path: Path) -> None:
    database = tmp_path / "bot.sqlite3"
    async with SqliteStorage(str(database)) as storage:
        await storage.write({"k": {"v": 1}})

        with sqlite3.connect(database) as raw:
            assert raw.execute("PRAGMA journal_mode").fetchone() == ("wal",)
            assert raw.execute("SELECT count(*) FROM store_items").fetchone() == (1,)


def _settings(connection: sqlite3.Connection) -> tuple[int, int, int, int]:
    def pragma(name: str) -> int:
        return int(connection.execute(f"PRAGMA {name}").fetchone()[0])

    return (
        pragma("synchronous"),  # 1 is NORMAL
        pragma("busy_timeout"),
        pragma("wal_autocheckpoint"),  # SQLite's own checkpoints, at its default
        threading.get_ident(),
    )


async def test_statements_run_off_the_loop_on_a_connection_that_waits_for_locks(
    tmp_path: Path,
) -> None:
    async with SqliteStorage(tmp_path / "bot.sqlite3", busy_timeout=2.5) as storage:
        settings = await storage._run(_settings)

    assert settings[:3] == (1, 2500, 1000)
    assert settings[3] != threading.get_ident()


async def test_closing_waits_for_work_already_started(tmp_path: Path) -> None:
    storage = SqliteStorage(tmp_path / "bot.sqlite3")
    writes = [asyncio.ensure_future(storage.write({f"k{i}": {"v": i}})) for i in range(10)]
    await asyncio.sleep(0)

    await storage.close()
    await asyncio.gather(*writes)

    async with SqliteStorage(tmp_path / "bot.sqlite3") as reopened:
        assert len(await reopened.read([f"k{i}" for i in range(10)])) == 10


async def test_a_file_that_is_not_a_database_fails_at_open(tmp_path: Path) -> None:
    database = tmp_path / "bot.sqlite3"
    database.write_bytes(b"this is not a database" * 100)

    with pytest.raises(StorageError, match=r"bot\.sqlite3"):
        async with SqliteStorage(database):
            pass


def test_an_empty_path_is_rejected() -> None:
    with pytest.raises(ValueError, match="path"):
        SqliteStorage("")


async def test_writers_on_separate_connections_to_one_file_conflict(tmp_path: Path) -> None:
    database = tmp_path / "bot.sqlite3"
    stores = [SqliteStorage(database) for _ in range(4)]
    try:
        await stores[0].write({"k": {"writer": None}})
        etag = (await stores[0].read(["k"]))["k"]["e_tag"]

        outcomes = await asyncio.gather(
            *(
                store.write({"k": {"writer": f"{s}-{i}", "e_tag": etag}})
                for s, store in enumerate(stores)
                for i in range(5)
            ),
            return_exceptions=True,
        )
    finally:
        for store in stores:
            await store.close()

    assert sum(outcome is None for outcome in outcomes) == 1
    assert all(isinstance(o, ConflictError) for o in outcomes if o is not None)


async def _race_in_processes(
    children: Children, database: Path, key: str, etag: str, shape: str, count: int
) -> list[str]:
    """Start `count` processes, let all of them write at once, return what each reported."""
    processes = [await children.spawn("race", database, key, etag, shape) for _ in range(count)]
    for process in processes:
        assert await children.read_line(process) == "ready"
    for process in processes:
        await children.send_line(process, "go")
    outcomes = [await children.read_line(process) for process in processes]
    for process in processes:
        assert await asyncio.wait_for(process.wait(), 30) == 0
    return outcomes


async def test_processes_racing_with_the_same_stale_etag_have_one_winner(
    tmp_path: Path, children: Children
) -> None:
    database = tmp_path / "bot.sqlite3"
    async with SqliteStorage(database) as storage:
        await storage.write({"k": {"writer": "parent"}})
        etag = (await storage.read(["k"]))["k"]["e_tag"]

        outcomes = await _race_in_processes(children, database, "k", etag, "dict", count=4)

        winners = [outcome for outcome in outcomes if outcome.startswith("won ")]
        assert len(winners) == 1
        assert outcomes.count("conflict") == 3
        assert (await storage.read(["k"]))["k"]["writer"] == int(winners[0].split()[1])


async def test_processes_racing_the_sso_dedup_write_on_a_new_file_have_one_winner(
    tmp_path: Path, children: Children
) -> None:
    # The file does not exist yet: the processes also race to create it and its schema.
    database = tmp_path / "fresh" / "bot.sqlite3"

    outcomes = await _race_in_processes(
        children, database, "msteams/conv/exchange-1", "exchange-1", "store-item", count=4
    )

    assert sum(outcome.startswith("won ") for outcome in outcomes) == 1
    assert outcomes.count("conflict") == 3


async def test_updates_from_several_processes_are_all_applied(
    tmp_path: Path, children: Children
) -> None:
    database = tmp_path / "bot.sqlite3"
    processes = [await children.spawn("append", database, "ledger", "25") for _ in range(3)]
    for process in processes:
        assert await children.read_line(process) == "ready"
    for process in processes:
        await children.send_line(process, "go")
    writers = [(await children.read_line(process)).split()[1] for process in processes]
    for process in processes:
        assert await asyncio.wait_for(process.wait(), 30) == 0

    async with SqliteStorage(database) as storage:
        value, _ = await Records(storage, namespace="race").get("ledger")
    assert value is not None
    assert sorted(map(tuple, value["items"])) == sorted(
        (int(writer), n) for writer in writers for n in range(25)
    )


async def test_waiting_for_another_process_lock_does_not_block_the_event_loop(
    tmp_path: Path, children: Children
) -> None:
    database = tmp_path / "bot.sqlite3"
    async with SqliteStorage(database) as storage:
        holder = await children.spawn("hold", database, 1.0)
        assert await children.read_line(holder) == "locked"

        ticks = 0
        longest_gap = 0.0
        writing = True

        async def tick() -> None:
            nonlocal ticks, longest_gap
            last = time.monotonic()
            while writing:
                await asyncio.sleep(0)
                now = time.monotonic()
                longest_gap = max(longest_gap, now - last)
                last = now
                ticks += 1

        ticker = asyncio.create_task(tick())
        started = time.monotonic()
        await storage.write({"k": {"v": 1}})
        waited = time.monotonic() - started
        writing = False
        await ticker

        assert await children.read_line(holder) == "released"
        assert waited > 0.5, "the write should have waited for the other process's lock"
        assert ticks > 1000
        assert longest_gap < 0.5
        assert (await storage.read(["k"]))["k"]["v"] == 1


async def test_a_lock_held_past_the_busy_timeout_is_a_storage_error(
    tmp_path: Path, children: Children
) -> None:
    database = tmp_path / "bot.sqlite3"
    async with SqliteStorage(database, busy_timeout=0.2) as storage:
        holder = await children.spawn("hold", database, 1.5)
        assert await children.read_line(holder) == "locked"

        with pytest.raises(StorageError, match="locked"):
            await storage.write({"k": {"v": 1}})

        # Reads are not blocked by a writer in WAL mode, alone or in a group with writes.
        assert await storage.read(["k"]) == {}
        write, read = await asyncio.gather(
            storage.write({"k": {"v": 2}}), storage.read(["k"]), return_exceptions=True
        )
        assert isinstance(write, StorageError)
        assert read == {}
